"""The change history of every list record written through the ORM (screens and API).

Imports write their history themselves, in bulk, with the batch they belong to; this
listener covers one-at-a-time edits, so that every change to a list leaves a trace.
"""
from __future__ import annotations

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from .models import Change, Record, current_user_id, now
from .sheets.declare import sheets
from .sheets.engine import json_value

_SKIP = {"created_on", "changed_on", "created_by_fk", "changed_by_fk"}
_listening = False


def _values(obj, *, before: bool = False) -> dict:
    out = {}
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in _SKIP:
            continue
        hist = state.attrs[attr.key].history
        if before and hist.deleted:
            out[attr.key] = json_value(hist.deleted[0])
        elif before and hist.unchanged:
            out[attr.key] = json_value(hist.unchanged[0])
        else:
            out[attr.key] = json_value(getattr(obj, attr.key))
    return out


def _after_flush(session: Session, _ctx) -> None:
    rows = []
    stamp, user = now(), current_user_id()
    for obj, action in ([(o, "create") for o in session.new]
                        + [(o, "update") for o in session.dirty]
                        + [(o, "delete") for o in session.deleted]):
        if not isinstance(obj, Record):
            continue
        sheet = sheets.for_model(type(obj))
        if sheet is None:
            continue
        if action == "update" and not session.is_modified(obj, include_collections=False):
            continue
        before = _values(obj, before=True) if action != "create" else None
        after = _values(obj) if action != "delete" else None
        if action == "update" and before == after:
            continue
        rows.append(dict(slug=sheet.slug, record_id=obj.id, action=action, before=before,
                         after=after, version_after=None if action == "delete" else obj.version,
                         changed_on=stamp, changed_by_fk=user))
    if rows:
        session.connection().execute(insert(Change), rows)


def listen() -> None:
    global _listening
    if not _listening:
        event.listen(Session, "after_flush", _after_flush)
        _listening = True
