"""Review batches waiting for someone: the dashboard counts them, the 盲审批次 page lists them
(`/review-batches/?queue=<name>`), both through the one SQL query of each queue.

The two-person workflow (app/reviews.py) has a 科长 wait for the batches submitted for
approval by someone else (待审核; their own too with REVIEW_SELF_APPROVAL) and for the
approved ones to publish; a clerk for the batches returned (退回) to them, who submitted them,
and, with the other clerks, for the drafts of a later revision (withdrawn for correction).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ..lists.agencies import BATCH_APPROVED, BATCH_DRAFT, BATCH_SUBMITTED, Review, ReviewBatch
from ..reviews import awaiting_approval_by, returned_to
from .security import PERM_PUBLISH, PERM_SUBMIT, has_permission

PERM_EDIT_REVIEWS = ("can_edit", "ReviewsView")


@dataclass(frozen=True)
class BatchQueue:
    name: str
    label: str
    status: str
    permission: tuple[str, str]   # who the queue is for
    # Further SQL condition on the batch row (e.g. the current user submitted it); a batch
    # that has no row yet (a draft of revision 1) is in the queue only when there is none.
    where: Callable[[int | None], sa.ColumnElement[bool]] | None = None
    # Whom else the queue is not for (a 科长 edits reviews too, but corrects as the approver).
    unless: tuple[str, str] | None = None

    def is_for_current_user(self) -> bool:
        return has_permission(self.permission) and not (
            self.unless is not None and has_permission(self.unless))

    def keys(self, user_id: int | None) -> sa.Select:
        """(year, period, category) of the batches in the queue."""
        rows = sa.select(ReviewBatch.year, ReviewBatch.period, ReviewBatch.category).where(
            ReviewBatch.status == self.status)
        if self.where is not None:
            rows = rows.where(self.where(user_id))
        if self.status != BATCH_DRAFT or self.where is not None:
            return rows
        # Batches the reviews name that have no row yet are drafts of revision 1.
        rowless = (sa.select(Review.year, Review.period, Review.category).distinct()
                   .where(~sa.exists().where(ReviewBatch.year == Review.year,
                                             ReviewBatch.period == Review.period,
                                             ReviewBatch.category == Review.category)))
        return sa.union(rows, rowless)

    def count(self, session, user_id: int | None) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(
            self.keys(user_id).subquery()))

    def key_set(self, session, user_id: int | None) -> set[tuple]:
        return {tuple(r) for r in session.execute(self.keys(user_id))}


QUEUES: dict[str, BatchQueue] = {q.name: q for q in (
    BatchQueue("to_approve", "待审核的盲审批次", BATCH_SUBMITTED, PERM_PUBLISH,
               where=awaiting_approval_by),
    BatchQueue("to_publish", "已审核待发布的盲审批次", BATCH_APPROVED, PERM_PUBLISH),
    BatchQueue("returned", "退回给我修改的盲审批次", BATCH_DRAFT, PERM_SUBMIT, where=returned_to),
    BatchQueue("to_correct", "撤回修订、待更正的盲审批次", BATCH_DRAFT, PERM_EDIT_REVIEWS,
               where=lambda _user: ReviewBatch.revision > 1, unless=PERM_PUBLISH),
)}


def queue_named(name: str | None) -> BatchQueue | None:
    return QUEUES.get(name or "")
