"""盲审批次: the batches of blind reviews (年度 + 期次 + 盲审类别), reviewed and published as a
whole, and corrected only by a new, visible revision (spec §2.7).

    草稿 --审核通过--> 已审核 --发布--> 已发布 --撤回修订 (revision + 1)--> 草稿
                      已审核 --退回--> 草稿

A batch row (qd_review_batch) is created on demand: a (year, period, category) that reviews
name but that has no row is a 草稿 of revision 1. Reviews of an approved or published batch
are read-only everywhere (Sheet.locked of the reviews list: forms, API, import, undo).

Each action owns its transaction, locks its batch first (lock_batches: the lock every write
to its reviews takes too, so that a save and an approval sent at the same moment are one
after the other) and raises BatchRefused (Chinese) for a transition the batch's status does
not allow; the views only call them. Each transition is on the audit trail (source 流程操作:
status old → new, the reason of a withdrawal).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from . import audit
from .lists.agencies import (
    BATCH_APPROVED,
    BATCH_DRAFT,
    BATCH_PUBLISHED,
    REVIEW_CATEGORIES,
    REVIEW_GRADES,
    Review,
    ReviewBatch,
    lock_batches,
)
from .models import now
from .sheets.snapshots import snapshot

PUBLISHED_EVENT, WITHDRAWN_EVENT = "发布", "撤回修订"
TRAIL = "review_batches"  # the batches' slug on the audit trail
audit.subject(TRAIL, "盲审批次", {"status": "状态", "revision": "修订版本",
                                  "approved_on": "审核时间", "published_on": "发布时间"})


class BatchRefused(Exception):
    """The action does not apply to the batch as it is now; the message says why."""


@dataclass
class BatchRow:
    """One line of the 盲审批次 screen."""
    year: int
    period: int
    category: str
    reports: int = 0
    grades: dict[str, int] = field(default_factory=dict)
    batch: ReviewBatch | None = None  # None: no row yet (a draft of revision 1)

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.year, self.period, self.category)

    @property
    def name(self) -> str:
        return batch_name(self.key)

    @property
    def status(self) -> str:
        return self.batch.status if self.batch is not None else BATCH_DRAFT

    @property
    def revision(self) -> int:
        return (self.batch.revision or 1) if self.batch is not None else 1

    @property
    def history(self) -> list[dict]:
        return list(self.batch.history or []) if self.batch is not None else []


def batch_name(key: tuple) -> str:
    year, period, category = key
    return f"{year}年第{period}期{category}"


def batch_rows(session: Session, key: tuple | None = None) -> list[BatchRow]:
    """Every batch the reviews name, or that has a row, with its report and grade counts:
    one grouped query over the reviews, one over the batch rows (with their users)."""
    grade_counts = [sa.func.sum(sa.case((Review.grade == g, 1), else_=0)) for g in REVIEW_GRADES]
    stmt = (sa.select(Review.year, Review.period, Review.category, sa.func.count(), *grade_counts)
            .group_by(Review.year, Review.period, Review.category))
    batches = sa.select(ReviewBatch).options(selectinload(ReviewBatch.approved_by),
                                             selectinload(ReviewBatch.published_by))
    if key is not None:
        stmt = stmt.where(Review.year == key[0], Review.period == key[1],
                          Review.category == key[2])
        batches = batches.where(ReviewBatch.year == key[0], ReviewBatch.period == key[1],
                                ReviewBatch.category == key[2])
    rows: dict[tuple, BatchRow] = {}
    for year, period, category, n, *counts in session.execute(stmt):
        rows[(year, period, category)] = BatchRow(
            year, period, category, int(n), dict(zip(REVIEW_GRADES, (int(c or 0) for c in counts))))
    for b in session.scalars(batches):
        row = rows.setdefault(b.key, BatchRow(b.year, b.period, b.category,
                                              grades=dict.fromkeys(REVIEW_GRADES, 0)))
        row.batch = b

    def order(r: BatchRow):
        rank = REVIEW_CATEGORIES.index(r.category) if r.category in REVIEW_CATEGORIES else 99
        return (-r.year, -r.period, rank, r.category)
    return sorted(rows.values(), key=order)


# ---------------------------------------------------------------------------- actions
def _user_name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    from flask_appbuilder.security.sqla.models import User
    user = session.get(User, user_id)
    if user is None:
        return f"#{user_id}"
    name = f"{user.last_name or ''}{user.first_name or ''}".strip()
    return f"{name}（{user.username}）" if name else user.username


def _batch_for_update(session: Session, key: tuple) -> ReviewBatch:
    """The batch row, locked until the action commits (lock_batches: the same lock every
    write to its reviews takes first); created (草稿, revision 1) when the reviews name a
    batch that has none yet. A batch no review names is not one."""
    batch = lock_batches(session, [key])[key]
    if batch is not None:
        return batch
    year, period, category = key
    exists = session.scalar(sa.select(Review.id).where(
        Review.year == year, Review.period == period, Review.category == category).limit(1))
    if exists is None:
        raise BatchRefused(f"{batch_name(key)}没有任何盲审结果，不是一个批次：请先录入或导入盲审结果")
    # The key is held by lock_batches: no one else can be creating this row meanwhile.
    batch = ReviewBatch(year=year, period=period, category=category, status=BATCH_DRAFT,
                        revision=1, history=[])
    session.add(batch)
    session.flush()
    return batch


def _act(session: Session, key: tuple, change, what: str, user_id: int | None,
         reason: str | None = None) -> ReviewBatch:
    """Run one transition in its own transaction, recorded on the audit trail: committed, or
    rolled back and re-raised."""
    try:
        batch = _batch_for_update(session, key)
        before = snapshot(batch)
        change(batch)
        session.flush()
        actor = audit.Actor(user_id=user_id, source=audit.WORKFLOW, reason=reason)
        audit.write_changes(session, [audit.change_row(
            TRAIL, batch.id, "update", before, snapshot(batch), actor,
            record_key=batch_name(key), version_after=batch.version, summary=what)])
        session.commit()
        return batch
    except Exception:
        session.rollback()
        raise


def _require(batch: ReviewBatch, status: str, action: str) -> None:
    if batch.status != status:
        raise BatchRefused(f"{batch_name(batch.key)}当前状态为「{batch.status}」，"
                           f"只有「{status}」的批次才能{action}")


def approve(session: Session, key: tuple, user_id: int | None) -> ReviewBatch:
    """审核通过: 草稿 → 已审核. From now on its reviews are read-only."""
    def change(batch):
        _require(batch, BATCH_DRAFT, "审核通过")
        batch.status, batch.approved_on, batch.approved_by_fk = BATCH_APPROVED, now(), user_id
    return _act(session, key, change, "审核通过", user_id)


def send_back(session: Session, key: tuple, user_id: int | None) -> ReviewBatch:
    """退回: 已审核 → 草稿, so that its reviews may be corrected before publication."""
    def change(batch):
        _require(batch, BATCH_APPROVED, "退回")
        batch.status, batch.approved_on, batch.approved_by_fk = BATCH_DRAFT, None, None
    return _act(session, key, change, "退回", user_id)


def publish(session: Session, key: tuple, user_id: int | None) -> ReviewBatch:
    """发布: 已审核 → 已发布, recorded in the batch's history."""
    def change(batch):
        _require(batch, BATCH_APPROVED, "发布")
        stamp = now()
        batch.status, batch.published_on, batch.published_by_fk = BATCH_PUBLISHED, stamp, user_id
        batch.history = [*(batch.history or []), _event(session, PUBLISHED_EVENT, batch, stamp,
                                                        user_id)]
    return _act(session, key, change, "发布", user_id)


def withdraw(session: Session, key: tuple, user_id: int | None, note: str) -> ReviewBatch:
    """撤回修订: 已发布 → 草稿 of the next revision. The publication stays in the history, with
    who withdrew it, when and why; the reviews become editable for the correction."""
    note = (note or "").strip()
    if not note:
        raise BatchRefused("请填写撤回修订的原因：它将与本批次的发布记录一起留档")

    def change(batch):
        _require(batch, BATCH_PUBLISHED, "撤回修订")
        event = _event(session, WITHDRAWN_EVENT, batch, now(), user_id, note[:500])
        batch.history = [*(batch.history or []), event]
        batch.revision = (batch.revision or 1) + 1
        batch.status = BATCH_DRAFT
        batch.approved_on = batch.approved_by_fk = None
        batch.published_on = batch.published_by_fk = None
    return _act(session, key, change, "撤回修订", user_id, note[:500])


def _event(session: Session, name: str, batch: ReviewBatch, stamp: dt.datetime,
           user_id: int | None, note: str = "") -> dict:
    reports = session.scalar(sa.select(sa.func.count()).select_from(Review).where(
        Review.year == batch.year, Review.period == batch.period,
        Review.category == batch.category))
    return {"event": name, "revision": batch.revision or 1, "on": stamp.isoformat(sep=" "),
            "by": _user_name(session, user_id), "by_id": user_id, "reports": reports,
            "note": note}


ACTIONS = {"approve": ("审核通过", approve), "send_back": ("退回", send_back),
           "publish": ("发布", publish)}
# Which action buttons a batch of each status shows.
ACTIONS_BY_STATUS = {BATCH_DRAFT: ("approve",), BATCH_APPROVED: ("publish", "send_back"),
                     BATCH_PUBLISHED: ("withdraw",)}
