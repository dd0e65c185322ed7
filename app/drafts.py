"""Import drafts: an uploaded file waiting between preview and confirmation.

Several app processes share one database and no disk, so the file itself is kept here, with
the options it was uploaded with and the fingerprint of the plan the clerk was shown. A draft
belongs to the user who uploaded it; it is removed once imported, drafts older than MAX_AGE
are purged whenever someone uploads, and a clerk keeps at most QINGDAN_MAX_OPEN_DRAFTS.

The plan is kept too, as the preview shows it: a summary on the draft (counts, notes, file
problems) and one small row per file row (qd_import_draft_row: texts as shown, long values
cut), so that any process pages a preview with one query instead of reading and planning the
file again. Confirming still plans the file afresh and compares fingerprints.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session, deferred

from .models import FileContent, now
from .sheets.rows import name_field, value_text

MAX_AGE = dt.timedelta(days=1)
ACTIONS = ("create", "update", "unchanged", "error", "delete")
INSERT_CHUNK = 1000  # preview rows per INSERT (executemany)


def _new_id() -> str:
    # Unguessable: the id appears in URLs, and a draft holds a whole file of personal data.
    return uuid.uuid4().hex


class ImportDraft(Model):
    __tablename__ = "qd_import_draft"

    id = Column(String(32), primary_key=True, default=_new_id)
    slug = Column(String(40), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    file_name = Column(String(255), nullable=False)
    # Loaded only when asked for (confirm, error workbook): a preview page does not need it.
    content = deferred(Column(FileContent, nullable=False))
    options = Column(JSON, nullable=False, default=dict)  # {"complete": bool, "valid_only": bool}
    fingerprint = Column(String(64), nullable=True)        # of the plan last shown
    # The plan last shown, summed up (PreviewSummary.as_json); None: not kept (a draft from
    # before plans were kept), planned again on its next preview.
    summary = Column(JSON, nullable=True)
    created_on = Column(DateTime, nullable=False, default=now, index=True)

    @property
    def complete(self) -> bool:
        return bool((self.options or {}).get("complete"))

    @property
    def valid_only(self) -> bool:
        return bool((self.options or {}).get("valid_only"))


class ImportDraftRow(Model):
    """One row of a draft's preview, as shown (unmasked: masking depends on who looks)."""
    __tablename__ = "qd_import_draft_row"

    draft_id = Column(String(32), ForeignKey("qd_import_draft.id", ondelete="CASCADE",
                                             name="fk_qd_import_draft_row_draft"),
                      primary_key=True)
    seq = Column(Integer, primary_key=True, autoincrement=False)  # order in the preview
    action = Column(String(10), nullable=False)
    data = Column(JSON, nullable=False)  # PreviewRow.as_json

    __table_args__ = (Index("ix_qd_import_draft_row_action", "draft_id", "action", "seq"),)


def purge_old_drafts(session: Session, *, older_than: dt.timedelta = MAX_AGE) -> int:
    """Remove abandoned drafts (the caller commits). Their preview rows go with them."""
    result = session.execute(delete(ImportDraft)
                             .where(ImportDraft.created_on < now() - older_than))
    return result.rowcount or 0


def discard_oldest_drafts(session: Session, user_id: int, keep: int) -> list[str]:
    """Keep the user's `keep` newest drafts, discard the others (the caller commits); returns
    the file names of those discarded, oldest first."""
    rows = session.execute(select(ImportDraft.id, ImportDraft.file_name)
                           .where(ImportDraft.user_id == user_id)
                           .order_by(ImportDraft.created_on.desc(), ImportDraft.id)).all()
    doomed = rows[max(keep, 0):]
    if doomed:
        session.execute(delete(ImportDraft).where(ImportDraft.id.in_([r.id for r in doomed])))
    return [r.file_name for r in reversed(doomed)]


# ---------------------------------------------------------------------------- the kept plan
# A value is never cut inside a run of letters and digits: an ID number cut in half would
# escape the masking of ID numbers, which is applied to whole numbers when the page is shown.
_WORD_TAIL = re.compile(r"[\dA-Za-zＡ-Ｚａ-ｚ]+$")
_WORDY = re.compile(r"[\dA-Za-zＡ-Ｚａ-ｚ]")


def shorten(text: str | None, limit: int) -> str:
    """The text cut to `limit` characters with "…" (a preview; the error workbook keeps
    values whole)."""
    text = "" if text is None else str(text)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if _WORDY.match(text[limit]):
        cut = _WORD_TAIL.sub("", cut)
    return cut + "…"


@dataclass
class ShownIssue:
    sheet: str
    row: int
    column: str
    value: str
    message: str
    warning: bool = False

    def as_json(self) -> list:
        return [self.sheet, self.row, self.column, self.value, self.message, int(self.warning)]

    @classmethod
    def from_json(cls, data: list) -> ShownIssue:
        sheet, row, column, value, message, warning = data
        return cls(sheet, row, column, value, message, bool(warning))


@dataclass
class PreviewRow:
    """One row of the preview, its texts as shown before masking."""
    sheet: str
    row: int
    action: str
    label: str
    extra: str                            # a name beside a key that may be masked
    changes: list[tuple[str, str, str]]   # (field label, old, new)
    values: list[tuple[str, str]]         # (header, value as it will be stored)
    issues: list[ShownIssue]

    def as_json(self) -> dict:
        return {"s": self.sheet, "r": self.row, "k": self.label, "x": self.extra,
                "c": [list(c) for c in self.changes], "v": [list(v) for v in self.values],
                "i": [i.as_json() for i in self.issues]}

    @classmethod
    def from_json(cls, action: str, d: dict) -> PreviewRow:
        return cls(d["s"], d["r"], action, d["k"], d.get("x") or "",
                   [tuple(c) for c in d["c"]], [tuple(v) for v in d["v"]],
                   [ShownIssue.from_json(i) for i in d["i"]])


@dataclass
class PreviewSummary:
    """What the preview shows above the rows; the template reads it as `plan`."""
    counts: dict[str, int]
    error_count: int
    warning_count: int
    writable: bool
    file_size: int
    notes: list[str] = field(default_factory=list)
    file_issues: list[ShownIssue] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"counts": self.counts, "errors": self.error_count,
                "warnings": self.warning_count, "writable": self.writable,
                "file_size": self.file_size, "notes": self.notes,
                "file_issues": [i.as_json() for i in self.file_issues]}

    @classmethod
    def from_json(cls, d: dict) -> PreviewSummary:
        return cls(dict(d["counts"]), d["errors"], d["warnings"], d["writable"],
                   d["file_size"], list(d["notes"]),
                   [ShownIssue.from_json(i) for i in d["file_issues"]])


def _issue(i, limit: int) -> ShownIssue:
    return ShownIssue(i.sheet, i.row, shorten(i.column, limit), shorten(i.value, limit),
                      shorten(i.message, limit), i.warning)


def preview_rows(plan, rows, limit: int):
    """The rows as the preview shows them (PreviewRows), long values cut to `limit`."""
    sheet = plan.sheet
    relations = sheet.relations
    beside = name_field(sheet)
    shown = [(c.field, c.header) for c in sheet.columns]
    present = [(f, h) for f, h in shown if f in plan.present_fields]
    labels: dict[str, str] = {}
    to_text = {c.field: c.type.to_text for c in sheet.columns}

    def text(name, value):
        if value is None:
            return ""
        if name in to_text and name not in relations:
            return shorten(to_text[name](value), limit)
        return shorten(value_text(sheet, name, value, relations), limit)

    for r in rows:
        changes = [(labels.setdefault(name, sheet.label(name)), text(name, old), text(name, new))
                   for name, (old, new) in r.changes.items()]
        values = []
        if r.action != "error":
            for f, header in (shown if r.action == "delete" else present):
                value = text(f, r.record.get(f))
                if value:
                    values.append((header, value))
        name = r.record.get(beside) if beside else None
        yield PreviewRow(r.sheet, r.row, r.action, shorten(r.label, limit),
                         shorten(name, limit) if isinstance(name, str) else "", changes,
                         values, [_issue(i, limit) for i in r.issues])


def keep_plan(session: Session, draft: ImportDraft, plan, *, limit: int) -> PreviewSummary:
    """Keep the plan with the draft, as its preview shows it (replacing any kept before),
    with the fingerprint confirming compares with. The caller commits."""
    every = plan.rows + plan.deletions  # a deletion a child blocks is an error row too
    summary = PreviewSummary(
        counts={a: sum(1 for r in every if r.action == a) for a in ACTIONS},
        error_count=len(plan.errors), warning_count=len(plan.warnings),
        writable=plan.writable, file_size=plan.file_size,
        notes=[shorten(n, limit) for n in plan.notes],
        file_issues=[_issue(i, limit) for i in plan.file_issues])
    draft.summary = summary.as_json()
    draft.fingerprint = plan.fingerprint()
    session.flush()
    session.execute(delete(ImportDraftRow).where(ImportDraftRow.draft_id == draft.id))
    for start in range(0, len(every), INSERT_CHUNK):  # a chunk at a time: memory stays flat
        chunk = preview_rows(plan, every[start:start + INSERT_CHUNK], limit)
        session.execute(insert(ImportDraftRow), [
            {"draft_id": draft.id, "seq": seq, "action": r.action, "data": r.as_json()}
            for seq, r in enumerate(chunk, start)])
    return summary


def kept_summary(draft: ImportDraft) -> PreviewSummary | None:
    return PreviewSummary.from_json(draft.summary) if draft.summary else None


def kept_rows(session: Session, draft: ImportDraft, *, action: str = "", offset: int = 0,
              limit: int = 50) -> list[PreviewRow]:
    """One page of the kept preview (all rows, or those of one action): one query."""
    stmt = select(ImportDraftRow.action, ImportDraftRow.data).where(
        ImportDraftRow.draft_id == draft.id)
    if action:
        stmt = stmt.where(ImportDraftRow.action == action)
    stmt = stmt.order_by(ImportDraftRow.seq).offset(offset).limit(limit)
    return [PreviewRow.from_json(a, d) for a, d in session.execute(stmt)]
