"""Demo data: the spreadsheets in seed/, loaded through the import engine like any upload."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from . import db
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
