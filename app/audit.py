"""The audit trail, written: who changed which record, when, from where, and how.

Every write path records its changes itself, explicitly, because only it knows where the
change came from and why: the record commands (app/sheets/records.py: screens, API, restore),
the import engine (in bulk, with its batch), the undo of an import, the review-batch actions.
All of them build their rows with `change_row`, so the trail has the same columns whatever
the path. `guard()` is the safety net: a list record written through the ORM by anything else
(a script, a shell) is still recorded, as source "other".

Reading the trail (a record's history, the 操作日志) is app/web/history.py.
"""
from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from .models import Change, ExportRecord, Record, current_user_id, now

SCREEN, API, IMPORT, UNDO, RESTORE, WORKFLOW, OTHER = (
    "screen", "api", "import", "undo", "restore", "workflow", "other")
SOURCES = {SCREEN: "页面", API: "接口", IMPORT: "导入", UNDO: "撤销导入", RESTORE: "恢复",
           WORKFLOW: "流程操作", OTHER: "其他"}
ACTIONS = {"create": "新增", "update": "更新", "delete": "删除"}
# Creations that bring a deleted record back under its id: its history goes on. Any other
# creation under an id that is in the trail is another record (SQLite reuses the highest id
# after it is deleted), whose history starts there.
REVIVALS = (RESTORE, UNDO)
# Trail subjects that are not lists (their rows are written by their own workflow):
# slug -> (title, {attribute: label}).
SUBJECTS: dict[str, tuple[str, dict[str, str]]] = {}


@dataclass(frozen=True)
class Actor:
    """Who writes, and from where: what every command is given and the trail keeps."""
    user_id: int | None = None
    source: str = OTHER
    reason: str | None = None
    batch_id: int | None = None          # the import batch (imports and their undo)
    restored_version: int | None = None  # a restore: the version brought back
    see_ids: bool = True                 # may messages quote ID numbers whole

    def mask(self, text: str) -> str:
        if self.see_ids:
            return text
        from .sheets.values import mask_id_number
        return mask_id_number(text)


def history_start(slug: str, record_id: int):
    """SQL: the id of the trail row where the history of the record now under this id
    starts (its latest creation other than a revival), or NULL."""
    from sqlalchemy import func, select
    return (select(func.max(Change.id))
            .where(Change.slug == slug, Change.record_id == record_id,
                   Change.action == "create", Change.source.not_in(REVIVALS))
            .scalar_subquery())


def subject(slug: str, title: str, labels: dict[str, str]) -> None:
    """Declare a trail subject that is not a list (e.g. 盲审批次)."""
    SUBJECTS[slug] = (title, labels)


def change_row(slug: str, record_id: int, action: str, before: dict | None,
               after: dict | None, actor: Actor, *, record_key: str = "",
               version_after: int | None = None, on=None, summary: str | None = None) -> dict:
    """One row of the trail, as every path writes it."""
    return dict(slug=slug, record_id=record_id, action=action, before=before, after=after,
                version_after=version_after, changed_on=on or now(),
                changed_by_fk=actor.user_id, source=actor.source, batch_id=actor.batch_id,
                record_key=(record_key or "")[:255] or None,
                reason=(actor.reason or None), restored_version=actor.restored_version,
                summary=summary)


def complete_creations(session: Session, changes) -> None:
    """Give the creations the trail keeps without their record (an import's: for a row it
    created, the record is its own "after", and 100,000 copies of it were half the import's
    trail) the record as created: the `before` of the record's next change, else the record
    as it is now. Set as loaded, never written back. Every reader of `after` calls this."""
    from sqlalchemy import select
    from sqlalchemy.orm.attributes import set_committed_value

    from .sheets import keys
    from .sheets.declare import sheets
    from .sheets.snapshots import row_snapshot, snapshot_columns
    wanted = [c for c in changes if c.action == "create" and c.after is None
              and sheets.get(c.slug) is not None]
    groups: dict[str, list] = defaultdict(list)
    for c in wanted:
        groups[c.slug].append(c)
    for slug, group in groups.items():
        ids = sorted({c.record_id for c in group})
        since = min(c.id for c in group)
        later: dict[int, list] = defaultdict(list)  # record id -> [(change id, before)]
        for chunk in keys.id_chunks(session, ids):
            later_rows = session.execute(
                select(Change.record_id, Change.id, Change.before)
                .where(Change.slug == slug, keys.ids_in(session, Change.record_id, chunk),
                       Change.id > since).order_by(Change.id))
            for record_id, change_id, before in later_rows:
                later[record_id].append((change_id, before))
        after = {c.id: next((b for i, b in later[c.record_id] if i > c.id), None)
                 for c in group}
        model = sheets[slug].model
        now_ids = sorted({c.record_id for c in group if after[c.id] is None})
        current = {}
        for chunk in keys.id_chunks(session, now_ids):
            for row in session.execute(select(*snapshot_columns(model))
                                       .where(keys.ids_in(session, model.id, chunk))):
                current[row.id] = row_snapshot(row)
        for c in group:
            set_committed_value(c, "after", after[c.id] or current.get(c.record_id))


def write_changes(session: Session, rows: list[dict]) -> None:
    """Insert trail rows in bulk, in the caller's transaction: through the driver's own bulk
    path (app/sheets/bulk.py), the table, not the entity (`insert(Change)` would take the
    ORM's bulk path, row dicts and all)."""
    from .sheets.bulk import insert_rows
    insert_rows(session, Change.__table__, rows)


def record_export(session: Session, sheet, rows: int, *, user_id: int | None,
                  source: str = "web", filters: str = "") -> None:
    """An export of a list that holds ID numbers (the caller commits)."""
    session.add(ExportRecord(slug=sheet.slug, list_title=sheet.title, created_by_fk=user_id,
                             source=source, rows=rows, filters=filters or None,
                             created_on=now()))


# ---------------------------------------------------------------------------- the safety net
def recorded(session: Session, obj) -> None:
    """Tell the guard that the caller records this object's change itself."""
    session.info.setdefault("qd_recorded", weakref.WeakSet()).add(obj)


def _after_flush(session: Session, _ctx) -> None:
    from .sheets.declare import sheets
    from .sheets.snapshots import snapshot

    done = session.info.get("qd_recorded") or ()
    rows = []
    actor = Actor(user_id=current_user_id(), source=OTHER)
    for obj, action in ([(o, "create") for o in session.new]
                        + [(o, "update") for o in session.dirty]
                        + [(o, "delete") for o in session.deleted]):
        if not isinstance(obj, Record) or obj in done:
            continue
        sheet = sheets.for_model(type(obj))
        if sheet is None:
            continue
        if action == "update" and not session.is_modified(obj, include_collections=False):
            continue
        before = _before(obj) if action != "create" else None
        after = snapshot(obj) if action != "delete" else None
        if action == "update" and before == after:
            continue
        rows.append(change_row(sheet.slug, obj.id, action, before, after, actor,
                               version_after=None if action == "delete" else obj.version))
    if rows:
        session.connection().execute(insert(Change), rows)


def _before(obj) -> dict:
    """An object's values as loaded, before this flush's changes."""
    from sqlalchemy import inspect

    from .models import STAMP_FIELDS
    from .sheets.rows import json_value
    state = inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        if attr.key in STAMP_FIELDS:
            continue
        hist = state.attrs[attr.key].history
        value = (hist.deleted or hist.unchanged or [getattr(obj, attr.key)])[0]
        out[attr.key] = json_value(value)
    return out


def _forget(session: Session, *_args) -> None:
    session.info.pop("qd_recorded", None)


_listening = False


def guard() -> None:
    """Record ORM writes of list records that no path recorded (source "other")."""
    global _listening
    if not _listening:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)
        _listening = True
