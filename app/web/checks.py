"""The checks a form or API save runs before it writes: the importer's rules (`sheet.check()`),
the natural key's uniqueness and the locks (`Sheet.locked`)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..sheets.declare import Sheet, error
from ..sheets.engine import describe_key, key_attr, record_key
from ..sheets.values import mask_id_number
from .privacy import told
from .security import can_see_id_numbers


class RuleViolation(Exception):
    """A record the rules refuse: {field: [Chinese messages]} (None = the whole record)."""

    def __init__(self, messages: dict):
        super().__init__(messages)
        self.messages = messages


def rule_problems(sheet: Sheet, record: dict, record_id=None):
    """`sheet.check()` — the importer's rules — plus the natural key's uniqueness."""
    derive = getattr(sheet, "derive", None)
    if derive is not None:
        record = derive(dict(record))
    yield from map(told, sheet.check(record))  # no hidden digits in what a user is told
    key = record_key(sheet, record)
    if key is None:
        return
    model = sheet.model
    stmt = sa.select(model.id).where(*(key_attr(sheet, k) == v for k, v in zip(sheet.key, key)))
    if record_id is not None:
        stmt = stmt.where(model.id != int(record_id))
    session = current_app.appbuilder.session
    with session.no_autoflush:  # an API update's pending changes are not written yet
        taken = session.scalar(stmt.limit(1)) is not None
    if taken:
        labels = "、".join(f"「{sheet.label(k)}」" for k in sheet.key)
        shown = describe_key(sheet, record)
        if any(sheet.column(k).sensitive for k in sheet.key if k not in sheet.relations) \
                and not can_see_id_numbers():
            shown = mask_id_number(shown)
        yield error(sheet.key[-1], f"已有{labels}相同的记录（{shown}）：请核对，"
                                   "或到列表中编辑已有的那条记录")


def lock_reason(sheet: Sheet, records: list[dict]) -> str | None:
    """Why one of these records may not be written (`Sheet.locked`: a review of a published
    batch), or None."""
    session = current_app.appbuilder.session
    with session.no_autoflush:  # an API update's pending changes are not written yet
        return next(filter(None, sheet.lock_reasons(session, records)), None)


def original_values(sheet: Sheet, item) -> dict:
    """An API-updated record's values as stored, before the request's changes."""
    state = sa.inspect(item)
    out = {}
    for name in [c.field for c in sheet.stored] + list(sheet.relations):
        history = state.attrs[name].history
        out[name] = history.deleted[0] if history.deleted else getattr(item, name)
    return out


def target_field(name: str | None, fields) -> str | None:
    """The form or API field a problem belongs to: a relation's lookup column ("agency.
    credit_code") is its relation's field ("agency"); None is the whole record."""
    if name is None:
        return None
    if name in fields:
        return name
    relation = name.split(".", 1)[0]
    return relation if relation in fields else None
