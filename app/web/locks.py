"""Which records of a list may not be written now, and why — as the screens show it, before
anyone tries: a locked row has no 编辑 / 删除 (it says why instead), and its edit page opens
read-only with the reason and a link to where the lock can be lifted.

`Sheet.locked` answers at the moment of a write and locks what it answers for (a review's
batch, SELECT … FOR UPDATE) until the write commits; a page being read must take no lock.
So each list with a lock has a reader here that only reads, in one query per page: the
write path still decides, and refuses with the same reason.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for

from ..lists.agencies import ReviewBatch, batch_lock_reason


@dataclass(frozen=True)
class LockReader:
    """How the screens read one list's locks: `reasons(session, records)` -> {id: reason}
    for the locked ones; `link(record)` -> (label, url) of the page that lifts the lock."""
    reasons: Callable
    link: Callable


def _review_reasons(session, reviews) -> dict[int, str]:
    keys = {(r.year, r.period, r.category) for r in reviews}
    if not keys:
        return {}
    batches = {b.key: b for b in session.scalars(sa.select(ReviewBatch).where(
        sa.tuple_(ReviewBatch.year, ReviewBatch.period, ReviewBatch.category).in_(keys)))}
    out = {}
    for r in reviews:
        reason = batch_lock_reason(batches.get((r.year, r.period, r.category)))
        if reason:
            out[r.id] = reason
    return out


def _review_link(review) -> tuple[str, str]:
    return (f"{review.year}年第{review.period}期{review.category}（盲审批次）",
            url_for("ReviewBatchesView.show", year=review.year, period=review.period,
                    category=review.category))


READERS: dict[str, LockReader] = {"reviews": LockReader(_review_reasons, _review_link)}


def lock_reasons(sheet, session, records) -> dict[int, str]:
    """{record id: why it may not be written} for these records (none when unlocked)."""
    reader = READERS.get(sheet.slug)
    return reader.reasons(session, list(records)) if reader and records else {}


def lock_link(sheet, record) -> tuple[str, str] | None:
    reader = READERS.get(sheet.slug)
    return reader.link(record) if reader else None
