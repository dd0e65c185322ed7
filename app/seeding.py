"""Demo data: the spreadsheets in seed/, loaded through the import engine like any upload,
and one review batch published through the two-person workflow (publish_demo_batch)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from . import db
from .lists.agencies import Review, ReviewBatch
from .reviews import approve, batch_name, of_batch, publish, submit
from .sheets.declare import sheets
from .sheets.engine import apply_plan, build_plan

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"


def lists_are_empty() -> bool:
    return all(db.session.scalar(select(func.count()).select_from(s.model)) == 0
               for s in sheets)


def load_seed(force: bool = False) -> Iterator[str]:
    """Import seed/<slug>.xlsx for every list that has one, parents first."""
    if not force and not lists_are_empty():
        yield "已有清单数据，跳过演示数据（--force 可强制导入）。"
        return
    for sheet in sheets:
        path = SEED_DIR / f"{sheet.slug}.xlsx"
        if not path.exists():
            continue
        data = path.read_bytes()
        plan = build_plan(sheet, data, path.name, session=db.session)
        if plan.errors:
            raise RuntimeError(f"演示数据 {path.name} 有错误：{plan.errors[0]}")
        apply_plan(plan, session=db.session, source="seed", data=data)
        yield f"{sheet.title}：导入 {plan.count('create')} 条，更新 {plan.count('update')} 条。"


# The demo's published batch: the public pages (/public/reviews/) show results on a fresh
# install. The other batches stay drafts, for the clerk to submit.
DEMO_BATCH = (2016, 1, "安全评价报告")


def publish_demo_batch(submitter_id: int, approver_id: int) -> Iterator[str]:
    """Publish DEMO_BATCH as the workflow does it (app/reviews.py): submitted by one demo
    account, approved and published by another (a 科长). Only a draft no one has touched yet
    (no batch row): a second start, or a batch already handled, is left as it is."""
    year, period, category = DEMO_BATCH
    name = batch_name(DEMO_BATCH)
    if db.session.scalar(select(ReviewBatch.id).where(
            ReviewBatch.year == year, ReviewBatch.period == period,
            ReviewBatch.category == category)) is not None:
        return
    if db.session.scalar(select(Review.id).where(*of_batch(DEMO_BATCH)).limit(1)) is None:
        return
    submit(db.session, DEMO_BATCH, submitter_id)
    approve(db.session, DEMO_BATCH, approver_id)
    publish(db.session, DEMO_BATCH, approver_id)
    yield f"盲审批次：{name}已提交审核、审核通过并发布（演示）。"
