"""盲审批次 as the screens read them: every batch with its report and grade counts, its
history with each publication marked (现行, 已撤回, 已被第 N 版更正), and what an action would
do to it, for its confirmation page (the commands are app/reviews.py; what the public sees
of each revision, app/publications.py: published_batches)."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from .lists.agencies import (
    BATCH_DRAFT,
    BATCH_PUBLISHED,
    REVIEW_CATEGORIES,
    REVIEW_GRADES,
    Agency,
    Review,
    ReviewBatch,
)
from .reviews import (
    PUBLISHED_EVENT,
    TRANSITIONS,
    Transition,
    batch_name,
    digest,
    of_batch,
    refusal,
    reviews_state,
)
from .settings import setting


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
    def status_text(self) -> str:
        """草稿（退回） for a draft a 科长 sent back, else the status."""
        return f"{BATCH_DRAFT}（退回）" if self.returned else self.status

    @property
    def returned(self) -> bool:
        return self.batch is not None and self.batch.returned

    @property
    def revision(self) -> int:
        return (self.batch.revision or 1) if self.batch is not None else 1

    @property
    def history(self) -> list[dict]:
        return history_rows(self.batch) if self.batch is not None else []


def batch_rows(session: Session, key: tuple | None = None) -> list[BatchRow]:
    """Every batch the reviews name, or that has a row, with its report and grade counts:
    one grouped query over the reviews, one over the batch rows (with their users)."""
    grade_counts = [sa.func.sum(sa.case((Review.grade == g, 1), else_=0)) for g in REVIEW_GRADES]
    stmt = (sa.select(Review.year, Review.period, Review.category, sa.func.count(), *grade_counts)
            .group_by(Review.year, Review.period, Review.category))
    batches = sa.select(ReviewBatch).options(
        selectinload(ReviewBatch.submitted_by), selectinload(ReviewBatch.returned_by),
        selectinload(ReviewBatch.approved_by), selectinload(ReviewBatch.published_by))
    if key is not None:
        stmt = stmt.where(*of_batch(key))
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


def history_rows(batch: ReviewBatch) -> list[dict]:
    """The batch's history, oldest first; each publication marked 现行, 已撤回（第 N 版更正中） or
    已被第 N 版更正 (the old revision stays, superseded by the next one published)."""
    events = list(batch.history or [])
    published = [e.get("revision") or 1 for e in events if e.get("event") == PUBLISHED_EVENT]
    out = []
    for e in events:
        mark = ""
        if e.get("event") == PUBLISHED_EVENT:
            revision = e.get("revision") or 1
            later = [r for r in published if r > revision]
            if later:
                mark = f"已被第 {min(later)} 版更正"
            elif batch.status == BATCH_PUBLISHED and (batch.revision or 1) == revision:
                mark = "现行"
            else:
                mark = f"已撤回，第 {batch.revision} 版更正中"
        out.append({**e, "mark": mark})
    return out


# ---------------------------------------------------------------------------- confirmation
@dataclass
class Confirmation:
    """What an action would do to a batch, as its confirmation page says it."""
    action: str
    row: BatchRow
    agencies: list[tuple[str, str, int, dict[str, int]]]  # name, credit code, reports, grades
    effect: str
    refused: str | None
    state: str

    @property
    def transition(self) -> Transition:
        return TRANSITIONS[self.action]


def confirmation(session: Session, key: tuple, action: str,
                 user_id: int | None) -> Confirmation | None:
    """The confirmation of `action` on the batch `key` (None: no review names the batch)."""
    rows = batch_rows(session, key)
    if not rows:
        return None
    row = rows[0]
    grade_counts = [sa.func.sum(sa.case((Review.grade == g, 1), else_=0)) for g in REVIEW_GRADES]
    agencies = [(name, code, int(n), dict(zip(REVIEW_GRADES, (int(c or 0) for c in counts))))
                for name, code, n, *counts in session.execute(
                    sa.select(Agency.name, Agency.credit_code, sa.func.count(), *grade_counts)
                    .join(Review.agency).where(*of_batch(key))
                    .group_by(Agency.id, Agency.name, Agency.credit_code)
                    .order_by(Agency.name, Agency.credit_code))]
    batch = row.batch
    refused = refusal(action, key, row.status, row.revision,
                      batch.submitted_by_fk if batch is not None else None, user_id, row.reports)
    return Confirmation(action, row, agencies, _effect(action, row, len(agencies)), refused,
                        digest(row.status, row.revision, reviews_state(session, key)))


def _effect(action: str, row: BatchRow, agencies: int) -> str:
    n, r = row.reports, row.revision
    what = f"这 {n} 份报告（{agencies} 家机构）"
    if action == "submit":
        four_eyes = "" if setting("REVIEW_SELF_APPROVAL") else "提交人不能审核通过自己提交的批次。"
        return (f"提交后，{what}的盲审结果将锁定、不能修改，等待科长审核：科长审核通过后可以发布，"
                f"或退回并说明原因。{four_eyes}")
    if action == "approve":
        return f"审核通过后，{what}的盲审结果仍不能修改，可由科长发布；发布前如需修改，请退回。"
    if action == "send_back":
        submitter = row.batch.submitted_by if row.batch is not None else None
        who = f"提交人{submitter}" if submitter else "提交人"
        return (f"退回后，本批次回到草稿，盲审结果可以修改；退回原因显示在本批次的页面上，"
                f"{who}修改后可重新提交审核。")
    if action == "publish":
        return (f"发布后，{what}的盲审结果将作为第 {r} 版在公开页面公布并留档；此后如需更正，"
                f"只能撤回修订（版本号加一，第 {r} 版的发布留档可查）。")
    return (f"撤回后，第 {r} 版从公开页面撤下（公开页面注明已撤回更正中，不再显示得分），"
            f"批次成为第 {r + 1} 版草稿，{what}的盲审结果可以修改，改好后重新提交审核、审核通过、"
            f"发布；第 {r} 版的发布留档保留，更正版发布后标为“已被第 {r + 1} 版更正”。")


