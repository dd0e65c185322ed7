"""The audit trail, read: a record's 变更记录, an import batch's changes and the 操作日志 show
each change as people read it — when, who, from where, the record, each field old → new, the
reason — with ID numbers masked for whoever may not see them whole."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..audit import ACTIONS, SOURCES, SUBJECTS, complete_creations, history_start
from ..models import Change
from ..sheets.declare import Sheet, sheets
from ..sheets.rows import fk_column, value_text
from ..sheets.snapshots import label_from_snapshot, restore_value
from ..sheets.values import mask_id_number
from .columns import record_label
from .security import PERM_RESTORE, can_see_id_numbers, has_permission

SKIPPED = ("id", "version")
HISTORY_LIMIT = 200  # entries on a record's page; the 操作日志 has them all


def user_name(user) -> str:
    if user is None:
        return "（系统）"
    name = f"{user.last_name or ''}{user.first_name or ''}".strip()
    return f"{name}（{user.username}）" if name else user.username


def list_title(slug: str) -> str:
    sheet = sheets.get(slug)
    if sheet is not None:
        return sheet.title
    return SUBJECTS.get(slug, (slug, {}))[0]


class _Reader:
    """How one list's snapshots read: field labels in declaration order, values as text,
    parents by their key, ID numbers masked unless the user may see them."""

    def __init__(self, slug: str, see_ids: bool):
        self.sheet: Sheet | None = sheets.get(slug)
        self.see_ids = see_ids
        self.fks: dict[str, str] = {}
        if self.sheet is None:
            self.labels = dict(SUBJECTS.get(slug, ("", {}))[1])
            return
        sheet = self.sheet
        self.fks = {fk_column(sheet.model, rel)[0].key: rel for rel in sheet.relations}
        self.labels = {}
        for c in sheet.columns:
            name = c.relation or c.field
            if c.info:
                continue
            key = fk_column(sheet.model, name)[0].key if c.relation else c.field
            self.labels.setdefault(key, sheet.label(name))
        for name, link in sheet.links.items():  # 盲审报告 of an interview
            key = fk_column(sheet.model, name)[0].key
            self.fks[key], self.labels[key] = name, link.label
        self.sensitive = {c.field: c for c in sheet.stored if c.sensitive}

    def mask(self, text: str) -> str:
        return text if self.see_ids else (mask_id_number(text) or "")

    def text(self, key: str, value) -> str:
        if value is None or value == "":
            return ""
        sheet = self.sheet
        if sheet is None:
            return str(value)
        if key in self.fks:
            rel = self.fks[key]
            parent = current_app.appbuilder.session.get(fk_column(sheet.model, rel)[1], value)
            return value_text(sheet, rel, parent) if parent is not None else f"#{value}（已删除）"
        text = value_text(sheet, key, restore_value(sheet, key, value))
        if key in self.sensitive and not self.see_ids:  # each by its column: 1958-… whole
            return self.sensitive[key].masked(text) or ""
        return text

    def fields(self, c: Change) -> list[tuple[str, str, str]]:
        """(label, old, new) of each field the change touched (all given ones for a creation
        or deletion)."""
        before, after = c.before or {}, c.after or {}
        out = []
        for key, label in self.labels.items():
            old, new = before.get(key), after.get(key)
            if key in SKIPPED or old == new or (c.action != "update" and old in (None, "")
                                                 and new in (None, "")):
                continue
            out.append((label, self.text(key, old), self.text(key, new)))
        return out

    def label(self, c: Change) -> str:
        snap = c.after or c.before or {}
        sheet = self.sheet
        if sheet is None:
            return c.record_key or f"#{c.record_id}"
        key = c.record_key or label_from_snapshot(sheet, snap, current_app.appbuilder.session)
        mask = self.mask if any(sheet.column(k).sensitive for k in sheet.key
                                if k not in sheet.relations) else (lambda t: t)
        return record_label(sheet, key or f"#{c.record_id}", snap, mask)


def change_rows(changes: list[Change], *, current_version: int | None = None) -> list[dict]:
    """The changes as the templates show them (one dict each)."""
    complete_creations(current_app.appbuilder.session, changes)
    see_ids, may_restore = can_see_id_numbers(), has_permission(PERM_RESTORE)
    readers: dict[str, _Reader] = {}
    out = []
    for c in changes:
        reader = readers.get(c.slug) or readers.setdefault(c.slug, _Reader(c.slug, see_ids))
        version = c.version_after if c.action != "delete" else None
        out.append(dict(
            id=c.id, on=c.changed_on, who=user_name(c.changed_by), slug=c.slug,
            list_title=list_title(c.slug), record_id=c.record_id, label=reader.label(c),
            action=ACTIONS.get(c.action, c.action), source=SOURCES.get(c.source, c.source),
            fields=reader.fields(c), reason=c.reason or "", batch_id=c.batch_id,
            version=version, restored_version=c.restored_version, summary=c.summary or "",
            restorable=(may_restore and reader.sheet is not None
                        and (c.after if c.action != "delete" else c.before) is not None
                        and (current_version is None or version != current_version))))
    return out


def record_history(sheet: Sheet, record_id: int) -> list[dict]:
    """A record's 变更记录, newest first."""
    session = current_app.appbuilder.session
    start = history_start(sheet.slug, record_id)
    changes = session.scalars(
        sa.select(Change).options(joinedload(Change.changed_by))
        .where(Change.slug == sheet.slug, Change.record_id == record_id,
               Change.id >= sa.func.coalesce(start, 0))
        .order_by(Change.id.desc()).limit(HISTORY_LIMIT)).all()
    current = session.scalar(sa.select(sheet.model.version).where(sheet.model.id == record_id))
    return change_rows(changes, current_version=current)


# ---------------------------------------------------------------------------- the 操作日志
LOG_FILTERS = ("user", "list", "record", "since", "until", "source", "batch")


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def log_filters(args) -> dict[str, str]:
    """The 操作日志's filters as given (unknown arguments ignored)."""
    return {k: (args.get(k) or "").strip() for k in LOG_FILTERS if (args.get(k) or "").strip()}


def log_query(filters: dict[str, str]) -> sa.Select:
    """The trail filtered by user, list, record (its key, or #id), date range, source and
    import batch; newest first. A filter that cannot apply (a date that is no date) is
    ignored."""
    stmt = sa.select(Change).options(joinedload(Change.changed_by))
    if filters.get("user", "").isdigit():
        stmt = stmt.where(Change.changed_by_fk == int(filters["user"]))
    if filters.get("list"):
        stmt = stmt.where(Change.slug == filters["list"])
    record = filters.get("record", "")
    if record.startswith("#") and record[1:].isdigit():
        stmt = stmt.where(Change.record_id == int(record[1:]))
    elif record:
        stmt = stmt.where(Change.record_key.contains(record, autoescape=True))
    if since := _date(filters.get("since")):
        stmt = stmt.where(Change.changed_on >= dt.datetime.combine(since, dt.time()))
    if until := _date(filters.get("until")):
        stmt = stmt.where(Change.changed_on < dt.datetime.combine(until, dt.time())
                          + dt.timedelta(days=1))
    if filters.get("source") in SOURCES:
        stmt = stmt.where(Change.source == filters["source"])
    if filters.get("batch", "").isdigit():
        stmt = stmt.where(Change.batch_id == int(filters["batch"]))
    return stmt.order_by(Change.id.desc())


def subjects() -> list[tuple[str, str]]:
    """(slug, title) of everything the trail may name: the lists, then the other subjects."""
    return [(s.slug, s.title) for s in sheets] + [(k, t) for k, (t, _l) in SUBJECTS.items()]
