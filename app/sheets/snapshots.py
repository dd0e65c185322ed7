"""A record as the audit trail keeps it (a snapshot: column name -> JSON value, parents by
id), and back: what undo, restore and the history screens read."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ..models import STAMP_FIELDS
from .declare import Problem, Sheet, error, sheets
from .rows import describe_key, fk_column, json_value, with_parent_columns
from .sorting import is_sort_key


def snapshot(obj) -> dict:
    """The record's stored values (every column but the stamps), as the trail keeps them."""
    mapper = inspect(type(obj))
    return {c.key: json_value(getattr(obj, c.key)) for c in mapper.column_attrs
            if c.key not in STAMP_FIELDS and not is_sort_key(c.columns[0])}


def snapshot_columns(model) -> list:
    """The columns `snapshot` keeps, for a Core select (labelled by attribute name)."""
    return [c.columns[0].label(c.key) for c in inspect(model).column_attrs
            if c.key not in STAMP_FIELDS and not is_sort_key(c.columns[0])]


def row_snapshot(row) -> dict:
    """`snapshot` of a record read as a Core row of `snapshot_columns`."""
    return {k: json_value(val) for k, val in row._mapping.items()}


def restore_value(sheet: Sheet, name: str, value):
    """A JSON-kept value back to its column's Python type."""
    if value is None:
        return None
    col = sheet.model.__table__.c[name]
    try:
        py = col.type.python_type
    except NotImplementedError:
        return value
    if py is dt.date:
        return dt.date.fromisoformat(value)
    if py is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if py is Decimal:
        return Decimal(value)
    return value


def record_from_snapshot(sheet: Sheet, snap: dict,
                         session: Session) -> tuple[dict, list[Problem]]:
    """A snapshot as a record of the list's fields (parents as instances), for a restore;
    a parent that no longer exists is a problem."""
    record = {c.field: restore_value(sheet, c.field, snap.get(c.field)) for c in sheet.stored}
    problems = []
    for rel, cols in sheet.relations.items():
        attr, target = fk_column(sheet.model, rel)
        pid = snap.get(attr.key)
        parent = session.get(target, pid) if pid is not None else None
        record[rel] = parent
        if pid is not None and parent is None:
            parent_sheet = sheets.for_model(target)
            title = parent_sheet.title if parent_sheet else target.__name__
            problems.append(error(cols[-1].field, f"这一版本所属的「{title}」记录（#{pid}）已被删除："
                                                  f"请先恢复或重新录入该「{title}」记录"))
    for name in sheet.links:  # a link to a record deleted since is dropped, not a problem
        attr, target = fk_column(sheet.model, name)
        pid = snap.get(attr.key)
        record[name] = session.get(target, pid) if pid is not None else None
    return with_parent_columns(sheet, record), problems


def label_from_snapshot(sheet: Sheet, snap: dict, session: Session) -> str:
    """How people name the record a snapshot is of (its key values)."""
    record = dict(snap)
    for rel in sheet.relations:
        attr, target = fk_column(sheet.model, rel)
        pid = snap.get(attr.key)
        record[rel] = session.get(target, pid) if pid is not None else None
    with_parent_columns(sheet, record)
    for name in sheet.key:
        if name not in sheet.relations and name in record:
            record[name] = restore_value(sheet, name, record[name])
    return describe_key(sheet, record)
