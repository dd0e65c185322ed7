"""The allow-list of what is public, read from the declarations (`Sheet.public`): every public
page, download and JSON document is built from these fields and nothing else.

A field is a column's field, a public parent's attribute ("power.name") or a derived value
(双资质, 有效状态). Its JSON key has no dot ("agency_name").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...sheets import types as t
from ...sheets.declare import Col, Sheet, sheets
from ..columns import is_boolean, parent_sheet, yes_no

# The batch a published review belongs to, and its revision: public facts of every review
# download, besides the review list's own public fields.
BATCH_FIELDS = (("revision", "版本", "integer"), ("state", "版本状态", "string"),
                ("published_on", "发布日期", "date"))
STATES = {"current": "现行", "superseded": "已更正", "withdrawn": "已撤回"}


@dataclass(frozen=True)
class PublicField:
    name: str                 # as declared: "name", "agency.name", "dual_qualified"
    label: str                # the Chinese header
    col: Col | None           # the column whose type reads and writes it (None: derived)
    kind: str                 # JSON type: string, integer, number, boolean, date

    @property
    def key(self) -> str:
        return self.name.replace(".", "_")

    @property
    def long(self) -> bool:
        return self.col is not None and isinstance(self.col.type, t.LongText)


def _kind(sheet: Sheet, col: Col | None, name: str) -> str:
    if col is None:  # a computed value (双资质)
        return "boolean" if is_boolean(sheet, name) else "string"
    vt = col.type
    if isinstance(vt, t.Boolean):
        return "boolean"
    if isinstance(vt, t.Integer):
        return "integer"
    if isinstance(vt, (t.Score, t.Amount)):
        return "number"
    if isinstance(vt, t.Date):
        return "date"
    return "string"


def _column(sheet: Sheet, name: str) -> Col | None:
    """The column that types a field: the list's own, or the parent list's for "rel.attr"."""
    for c in sheet.columns:
        if c.field == name:
            return c
    if "." in name:
        rel, attr = name.split(".", 1)
        parent = parent_sheet(sheet, rel)
        if parent is not None:
            return next((c for c in parent.columns if c.field == attr), None)
    return None


def _label(sheet: Sheet, name: str, col: Col | None) -> str:
    if name in sheet.computed:
        return f"{sheet.computed[name]}（今日）"
    own = next((c for c in sheet.columns if c.field == name), None)
    return (own or col).header if (own or col) else name


def public_fields(sheet: Sheet) -> list[PublicField]:
    """The public fields of a list, in declared order ([] when nothing of it is public)."""
    if sheet.public is None:
        return []
    out = []
    for name in sheet.public.fields:
        col = _column(sheet, name)
        if col is None and name not in sheet.computed:
            raise ValueError(f"{sheet.slug}: public field {name!r} is neither a column nor "
                             "a derived value")
        if col is not None and col.sensitive:
            raise ValueError(f"{sheet.slug}: {name!r} holds personal data and cannot be public")
        out.append(PublicField(name, _label(sheet, name, col), col, _kind(sheet, col, name)))
    return out


def field(sheet: Sheet, name: str) -> PublicField:
    return next(f for f in public_fields(sheet) if f.name == name)


def listed_sheets() -> list[Sheet]:
    """The lists the public reads live (the review results only as published in a batch)."""
    return [s for s in sheets if s.public is not None and s.public.listed]


def public_select(sheet: Sheet) -> sa.Select:
    """Every public record of a list, in its declared order."""
    model = sheet.model
    stmt = sa.select(model)
    if sheet.public.where is not None:
        stmt = stmt.where(sheet.public.where())
    order = [getattr(model, n) for n in sheet.order_by] + [model.id]
    return stmt.order_by(*order)


# ---------------------------------------------------------------------------- values
def value_of(obj, f: PublicField):
    """The live value of a public field of a record (None along an empty parent)."""
    for part in f.name.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def record_of(obj, fields: list[PublicField]) -> dict:
    return {f.name: value_of(obj, f) for f in fields}


def text(f: PublicField, value) -> str:
    """As people read it on a page."""
    if value is None or value == "":
        return ""
    if f.col is None:
        return yes_no(value) if isinstance(value, bool) else str(value)
    return f.col.type.to_text(value)


def json_value(f: PublicField, value):
    """As the JSON documents carry it (see openapi.py)."""
    if value is None:
        return None
    if f.kind == "boolean":
        return bool(value)
    if f.kind == "integer":
        return int(value)
    if f.kind == "number":
        return float(Decimal(str(value)))
    if f.kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return text(f, value)


def cell_value(f: PublicField, value):
    """As a spreadsheet cell holds it (numbers and dates typed, the rest as read)."""
    if value is None:
        return None
    if f.kind in ("integer", "date"):
        return value
    if f.kind == "number":
        return float(Decimal(str(value)))
    return text(f, value)


def allow_list() -> dict[str, set[str]]:
    """Slug -> the names of its public fields (the test checks every page against this)."""
    return {s.slug: {f.name for f in public_fields(s)} for s in sheets}
