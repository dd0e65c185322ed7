"""盲审批次: the batches of blind reviews (年度 + 期次 + 盲审类别), reviewed by two people and
published as a whole, and corrected only by a new, visible revision (spec §2.7).

    草稿 --提交审核 (科员)--> 待审核 --审核通过 (科长)--> 已审核 --发布 (科长)--> 已发布
     ^  <------------------ 退回 (科长, with a reason) --------'                      |
     '------------------ 撤回修订 (科长, with a reason; revision + 1) ------------------'

A clerk prepares a batch and submits it; only a 科长 approves it or returns it with a reason
(back to 草稿, marked 退回 until it is submitted again), and only a 科长 publishes it. The one
who submitted a revision cannot approve it (setting REVIEW_SELF_APPROVAL relaxes this for a
one-person office). Reviews of a 待审核, 已审核 or 已发布 batch are read-only everywhere
(Sheet.locked of the reviews list: forms, API, import, undo): from submission on, what the
科长 approves is what the clerk submitted.

A batch row (qd_review_batch) is created on demand: a (year, period, category) that reviews
name but that has no row is a 草稿 of revision 1.

Each action is one command here: it owns its transaction, locks its batch first (lock_batches:
the lock every write to its reviews takes too, so that a save and a submission sent at the
same moment are one after the other), refuses with a Chinese reason (BatchRefused) what the
batch's status, the reason or the four-eyes rule does not allow, and is on the audit trail
(source 流程操作: status old → new, the reason) and in the batch's history. Given `seen`
(`digest` of the batch when its confirmation page was shown), it also refuses when the batch
or its reviews changed since: a confirmation says exactly what the action then does.

The batches as the screens read them, and the confirmation of an action, are
app/batch_summary.py; what each publication made public, app/publications.py.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import audit
from .lists.agencies import (
    BATCH_APPROVED,
    BATCH_DRAFT,
    BATCH_PUBLISHED,
    BATCH_SUBMITTED,
    Review,
    ReviewBatch,
    lock_batches,
)
from .models import now
from .settings import setting
from .sheets.snapshots import snapshot

SUBMITTED_EVENT, RETURNED_EVENT, APPROVED_EVENT = "提交审核", "退回", "审核通过"
PUBLISHED_EVENT, WITHDRAWN_EVENT = "发布", "撤回修订"
TRAIL = "review_batches"  # the batches' slug on the audit trail
audit.subject(TRAIL, "盲审批次", {
    "status": "状态", "revision": "修订版本", "submitted_on": "提交时间",
    "returned_on": "退回时间", "return_reason": "退回原因", "approved_on": "审核时间",
    "published_on": "发布时间"})


class BatchRefused(Exception):
    """The action does not apply to the batch as it is now; the message says why."""


def batch_name(key: tuple) -> str:
    year, period, category = key
    return f"{year}年第{period}期{category}"


def of_batch(key: tuple):
    """SQL: the reviews of the batch `key`."""
    year, period, category = key
    return (Review.year == year, Review.period == period, Review.category == category)


# ---------------------------------------------------------------------------- the rules
@dataclass(frozen=True)
class Transition:
    label: str                 # 提交审核 …, as buttons, messages and the trail say it
    sources: tuple[str, ...]   # the statuses it applies to
    approver: bool = True      # a 科长's action (PERM_PUBLISH); else a clerk's (PERM_SUBMIT)
    reason: str = ""           # asked for, and why (empty: no reason asked)


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(SUBMITTED_EVENT, (BATCH_DRAFT,), approver=False),
    "approve": Transition(APPROVED_EVENT, (BATCH_SUBMITTED,)),
    "send_back": Transition(RETURNED_EVENT, (BATCH_SUBMITTED, BATCH_APPROVED),
                            reason="提交人将在「盲审批次」中看到它，据此修改后重新提交审核"),
    "publish": Transition(PUBLISHED_EVENT, (BATCH_APPROVED,)),
    "withdraw": Transition(WITHDRAWN_EVENT, (BATCH_PUBLISHED,),
                           reason="它将与本批次的发布记录一起留档"),
}
# Which actions a batch of each status offers, in the order of the buttons.
ACTIONS_BY_STATUS = {status: tuple(a for a, t in TRANSITIONS.items() if status in t.sources)
                     for status in (BATCH_DRAFT, BATCH_SUBMITTED, BATCH_APPROVED,
                                    BATCH_PUBLISHED)}


def refusal(action: str, key: tuple, status: str, revision: int, submitted_by: int | None,
            user_id: int | None, reports: int) -> str | None:
    """Why `user_id` may not take `action` on a batch in this state (None: they may)."""
    t = TRANSITIONS[action]
    name = batch_name(key)
    if status not in t.sources:
        allowed = "」或「".join(t.sources)
        return f"{name}当前状态为「{status}」，只有「{allowed}」的批次才能{t.label}"
    if reports == 0 and action in ("submit", "approve", "publish"):
        return f"{name}现在没有任何盲审结果，无可{t.label}的内容：请先录入或导入盲审结果"
    if (action == "approve" and user_id is not None and submitted_by == user_id
            and not setting("REVIEW_SELF_APPROVAL")):
        return (f"{name}（第{revision}版）是您提交审核的：提交人不能审核通过自己提交的同一版本，"
                "请由另一位科长审核通过。只有一人可以审核的科室，可由管理员开启设置 "
                "REVIEW_SELF_APPROVAL")
    return None


def reviews_state(session: Session, key: tuple) -> list[tuple[int, int]]:
    """(id, version) of each review of the batch."""
    return [tuple(r) for r in session.execute(
        sa.select(Review.id, Review.version).where(*of_batch(key)).order_by(Review.id))]


def digest(status: str, revision: int, reviews: list[tuple[int, int]]) -> str:
    """A fingerprint of a batch as it is: its status, revision and every review's version.
    A confirmation page carries it (app/batch_summary.py: Confirmation.state); the action
    refuses when the batch no longer matches it."""
    text = f"{status}|{revision}|" + ",".join(f"{i}:{v}" for i, v in reviews)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


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
    exists = session.scalar(sa.select(Review.id).where(*of_batch(key)).limit(1))
    if exists is None:
        raise BatchRefused(f"{batch_name(key)}没有任何盲审结果，不是一个批次：请先录入或导入盲审结果")
    # The key is held by lock_batches: no one else can be creating this row meanwhile.
    batch = ReviewBatch(year=year, period=period, category=category, status=BATCH_DRAFT,
                        revision=1, history=[])
    session.add(batch)
    session.flush()
    return batch


def _act(session: Session, key: tuple, action: str, change, user_id: int | None,
         reason: str | None = None, seen: str | None = None) -> ReviewBatch:
    """Run one transition in its own transaction, checked against the batch as locked, in
    the batch's history and on the audit trail: committed, or rolled back and re-raised."""
    t = TRANSITIONS[action]
    try:
        batch = _batch_for_update(session, key)
        reviews = reviews_state(session, key)
        if seen is not None and seen != digest(batch.status, batch.revision or 1, reviews):
            raise BatchRefused(f"{batch_name(key)}在您打开确认页之后已有变化（状态、版本或盲审结果"
                               f"已被修改），本次{t.label}未执行：请查看最新情况后重新确认")
        why = refusal(action, key, batch.status, batch.revision or 1, batch.submitted_by_fk,
                      user_id, len(reviews))
        if why:
            raise BatchRefused(why)
        before, stamp = snapshot(batch), now()
        event = _event(session, t.label, batch, stamp, user_id, len(reviews), reason or "")
        change(batch, stamp)
        batch.history = [*(batch.history or []), event]
        session.flush()
        actor = audit.Actor(user_id=user_id, source=audit.WORKFLOW, reason=reason)
        audit.write_changes(session, [audit.change_row(
            TRAIL, batch.id, "update", before, snapshot(batch), actor,
            record_key=batch_name(key), version_after=batch.version, summary=t.label)])
        session.commit()
        return batch
    except Exception:
        session.rollback()
        raise


def _reason(action: str, text: str | None) -> str:
    t = TRANSITIONS[action]
    text = (text or "").strip()[:500]
    if not text:
        raise BatchRefused(f"请填写{t.label}的原因：{t.reason}")
    return text


def submit(session: Session, key: tuple, user_id: int | None, *,
           seen: str | None = None) -> ReviewBatch:
    """提交审核: 草稿 → 待审核, by the clerk who prepared it. Its reviews are read-only now."""
    def change(batch, stamp):
        batch.status, batch.submitted_on, batch.submitted_by_fk = BATCH_SUBMITTED, stamp, user_id
        batch.returned_on = batch.returned_by_fk = batch.return_reason = None
    return _act(session, key, "submit", change, user_id, seen=seen)


def approve(session: Session, key: tuple, user_id: int | None, *,
            seen: str | None = None) -> ReviewBatch:
    """审核通过: 待审核 → 已审核, by a 科长 other than the one who submitted (unless
    REVIEW_SELF_APPROVAL)."""
    def change(batch, stamp):
        batch.status, batch.approved_on, batch.approved_by_fk = BATCH_APPROVED, stamp, user_id
    return _act(session, key, "approve", change, user_id, seen=seen)


def send_back(session: Session, key: tuple, user_id: int | None, reason: str, *,
              seen: str | None = None) -> ReviewBatch:
    """退回: 待审核 or 已审核 → 草稿 marked 退回, with the reason the submitter reads; its
    reviews may be corrected and the batch submitted again."""
    reason = _reason("send_back", reason)

    def change(batch, stamp):
        batch.status, batch.approved_on, batch.approved_by_fk = BATCH_DRAFT, None, None
        batch.returned_on, batch.returned_by_fk, batch.return_reason = stamp, user_id, reason
    return _act(session, key, "send_back", change, user_id, reason, seen)


def publish(session: Session, key: tuple, user_id: int | None, *,
            seen: str | None = None) -> ReviewBatch:
    """发布: 已审核 → 已发布 (app/publications.py keeps what it made public)."""
    def change(batch, stamp):
        batch.status, batch.published_on, batch.published_by_fk = BATCH_PUBLISHED, stamp, user_id
    return _act(session, key, "publish", change, user_id, seen=seen)


def withdraw(session: Session, key: tuple, user_id: int | None, note: str, *,
             seen: str | None = None) -> ReviewBatch:
    """撤回修订: 已发布 → 草稿 of the next revision. The publication stays in the history, with
    who withdrew it, when and why; the reviews become editable for the correction, which is
    submitted, approved and published again as the new revision."""
    note = _reason("withdraw", note)

    def change(batch, _stamp):
        batch.revision = (batch.revision or 1) + 1
        batch.status = BATCH_DRAFT
        batch.submitted_on = batch.submitted_by_fk = None
        batch.returned_on = batch.returned_by_fk = batch.return_reason = None
        batch.approved_on = batch.approved_by_fk = None
        batch.published_on = batch.published_by_fk = None
    return _act(session, key, "withdraw", change, user_id, note, seen)


COMMANDS = {"submit": submit, "approve": approve, "send_back": send_back, "publish": publish,
            "withdraw": withdraw}


def run(session: Session, action: str, key: tuple, user_id: int | None,
        reason: str | None = None, *, seen: str | None = None) -> ReviewBatch:
    """The command of `action` (what the confirmation page posts)."""
    command = COMMANDS[action]
    if TRANSITIONS[action].reason:
        return command(session, key, user_id, reason, seen=seen)
    return command(session, key, user_id, seen=seen)


def _event(session: Session, name: str, batch: ReviewBatch, stamp: dt.datetime,
           user_id: int | None, reports: int, note: str = "") -> dict:
    """One entry of the batch's history (the revision the action is taken on)."""
    return {"event": name, "revision": batch.revision or 1, "on": stamp.isoformat(sep=" "),
            "by": _user_name(session, user_id), "by_id": user_id, "reports": reports,
            "note": note}


# ---------------------------------------------------------------------------- who is waited for
def awaiting_approval_by(user_id: int | None) -> sa.ColumnElement[bool]:
    """SQL on qd_review_batch: 待审核, and not submitted by `user_id` (who may not approve it)
    unless REVIEW_SELF_APPROVAL. The 科长's queue on the dashboard."""
    condition = ReviewBatch.status == BATCH_SUBMITTED
    if user_id is not None and not setting("REVIEW_SELF_APPROVAL"):
        condition = sa.and_(condition, sa.or_(ReviewBatch.submitted_by_fk.is_(None),
                                              ReviewBatch.submitted_by_fk != user_id))
    return condition


def returned_to(user_id: int | None) -> sa.ColumnElement[bool]:
    """SQL on qd_review_batch: a 草稿 sent back (退回) to the clerk who submitted it."""
    return sa.and_(ReviewBatch.status == BATCH_DRAFT, ReviewBatch.returned_on.is_not(None),
                   ReviewBatch.submitted_by_fk == user_id)
