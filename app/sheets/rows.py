"""Records on their way to the database: a row of a batch (one spreadsheet row, or the one
record of a form or API save), the problems found in it, and the small helpers every step
shares (keys, parents, values as JSON, bulk lookups in chunks).

An import is a batch of many rows; a form save, an API call or a restore is a batch of one.
The checking steps (app/sheets/checking.py) work on these rows, whatever their source.
"""
from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import inspect, tuple_

from .declare import Sheet

CHUNK = 500            # keys per IN (...) query


@dataclass
class Issue:
    sheet: str
    row: int
    column: str
    value: str
    message: str
    warning: bool = False
    field: str | None = None  # the list's field it is about (None: the whole record or row)
    # A problem of the file as a whole (not of one sheet or row): nothing can be imported,
    # not even the valid rows. A sheet whose header cannot be used is not one of them.
    blocking: bool = True

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "value": self.value, "message": self.message}

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」第 {self.row} 行" + (f"「{self.column}」列" if self.column else "")
        value = f"（值：「{self.value}」）" if self.value else ""
        return f"{where}{value}：{self.message}"


class _Nothing(dict):
    """The shared empty default of a row's mappings: read-only, so that a step assigns a
    mapping of its own rather than filling the one all rows share."""
    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("a RowPlan's empty default mapping is shared: assign a new one")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return "_NOTHING"


class _Absent:
    __slots__ = ()

    def __reduce__(self):
        return "ABSENT"

    def __repr__(self) -> str:
        return "ABSENT"


_NOTHING: Mapping = _Nothing()
ABSENT = _Absent()   # a cell RawCells holds no text for (a 同上 with nothing above it)


class RawCells(Mapping):
    """RowPlan.raw of a spreadsheet row: field -> the cell as written, kept as one tuple of
    texts beside the sheet's one index (field -> position) rather than a dict per row."""
    __slots__ = ("_index", "_texts")

    def __init__(self, index: dict, texts: tuple):
        self._index, self._texts = index, texts

    def __getitem__(self, name):
        text = self._texts[self._index[name]]
        if text is ABSENT:
            raise KeyError(name)
        return text

    def get(self, name, default=None):
        i = self._index.get(name)
        if i is None:
            return default
        text = self._texts[i]
        return default if text is ABSENT else text

    def __contains__(self, name) -> bool:
        i = self._index.get(name)
        return i is not None and self._texts[i] is not ABSENT

    def __iter__(self):
        return (name for name, i in self._index.items() if self._texts[i] is not ABSENT)

    def __len__(self) -> int:
        return sum(1 for text in self._texts if text is not ABSENT)

    def __repr__(self) -> str:
        return f"RawCells({dict(self)!r})"


class RowPlan:
    """One row of a batch on its way through the checks. Many thousands of these live at
    once in an import, so the object is small: slots, and the mappings a row of a sheet
    shares (its headers) or rarely has (changes, stored values) are shared read-only empty
    ones until a step assigns its own. Assign these, never update them in place."""
    __slots__ = ("sheet", "row", "action", "record", "raw", "changes", "issues", "key",
                 "existing_id", "existing_version", "label", "derived", "headers", "stored",
                 "found", "matches")

    def __init__(self, sheet: str, row: int, action: str = "error", record: dict | None = None,
                 raw: Mapping | None = None, changes: Mapping | None = None,
                 issues: list[Issue] | None = None, key: tuple | None = None,
                 existing_id: int | None = None, existing_version: int | None = None,
                 label: str = "", derived=frozenset(), headers: Mapping | None = None,
                 stored: Mapping | None = None, found: object | None = None,
                 matches=()):
        self.sheet = sheet
        self.row = row
        self.action = action                  # create / update / unchanged / delete / error
        self.record = {} if record is None else record   # field -> clean value (relations: instances)
        self.raw = _NOTHING if raw is None else raw      # field -> the cell as written, for messages
        self.changes = _NOTHING if changes is None else changes   # field -> (old, new)
        self.issues = [] if issues is None else issues
        self.key = key
        self.existing_id = existing_id
        self.existing_version = existing_version
        self.label = label                    # how a person names the record (key values)
        self.derived = derived                # fields the Sheet derived (not in the file)
        self.headers = _NOTHING if headers is None else headers   # field -> header as written
        self.stored = _NOTHING if stored is None else stored      # field -> the existing value
        self.found = found                    # the stored record that has this row's key
        # The stored records whose key matches this row's (keys.py): the exact one, or else
        # those that differ only in width, spacing or case — more than one cannot be chosen.
        self.matches = matches

    def __repr__(self) -> str:
        return (f"RowPlan(sheet={self.sheet!r}, row={self.row!r}, action={self.action!r}, "
                f"record={self.record!r}, issues={self.issues!r})")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if not i.warning]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.warning]

    def refuse(self, message: str, field: str | None = None, *, column: str = "",
               value: str = "") -> None:
        """An error that stops this row from being written."""
        self.issues.append(Issue(self.sheet, self.row, column, value, message, field=field))
        self.action, self.changes = "error", {}


@contextmanager
def plan_settled():
    """While a plan is checked or written: the objects that exist now (its rows, the app)
    are left out of the cycle collector's passes (gc.freeze), what is made meanwhile is
    collected as usual. Its full passes over 100,000 rows, again and again, cost a second
    of the checks and one or two of the writing."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# ---------------------------------------------------------------------------- values
def json_value(value):
    """A value as JSON can keep it (the audit trail, fingerprints)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "id") and hasattr(value, "__table__"):
        return value.id
    return value


def same_value(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return a is not None and b is not None and Decimal(a) == Decimal(b)
        except Exception:
            return False
    if isinstance(a, dt.datetime):
        a = a.date() if not isinstance(b, dt.datetime) else a
    return a == b


# ---------------------------------------------------------------------------- keys and parents
def fk_column(model, relation: str):
    """The local foreign-key attribute of a many-to-one relation."""
    rel = inspect(model).relationships[relation]
    (col,) = rel.local_columns
    return getattr(model, col.key), rel.mapper.class_


def key_attr(sheet: Sheet, name: str):
    """The model attribute a key part compares: the FK for a relation, else the column."""
    if name in sheet.relations:
        return fk_column(sheet.model, name)[0]
    return getattr(sheet.model, name)


def record_key(sheet: Sheet, record: dict, relations: dict | None = None) -> tuple | None:
    """`relations`: sheet.relations, when the caller has it (it is computed on each call)."""
    relations = sheet.relations if relations is None else relations
    parts = []
    for name in sheet.key:
        value = record.get(name)
        if name in relations:
            value = value.id if value is not None else None
        if value is None:
            return None
        parts.append(value)
    return tuple(parts)


def describe_key(sheet: Sheet, record: dict, relations: dict | None = None) -> str:
    relations = sheet.relations if relations is None else relations
    out = []
    for name in sheet.key:
        if name in relations:
            out.extend(str(record.get(c.field) or "") for c in relations[name])
        else:
            col = sheet.column(name)
            out.append(col.type.to_text(record.get(name)))
    return " / ".join(out)


def stored_values(sheet: Sheet, obj) -> dict:
    """A stored record as the list's fields (parents and links as instances, the parents'
    lookup columns under the dotted names), as rules, locks and commands see a record."""
    out = {c.field: getattr(obj, c.field) for c in sheet.stored}
    for rel in [*sheet.relations, *sheet.links]:
        out[rel] = getattr(obj, rel)
    return with_parent_columns(sheet, out)


def with_parent_columns(sheet: Sheet, record: dict) -> dict:
    """The record with each parent's lookup columns ("agency.credit_code") filled from the
    parent instance, as a spreadsheet row would give them."""
    for rel, cols in sheet.relations.items():
        if rel in record:
            parent = record[rel]
            for c in cols:
                record[c.field] = getattr(parent, c.attr) if parent is not None else None
    return record


def in_chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def where_in(attrs: list, keys: list[tuple]):
    if len(attrs) == 1:
        return attrs[0].in_([k[0] for k in keys])
    return tuple_(*attrs).in_(keys)


def value_text(sheet, name: str, value, relations: dict | None = None) -> str:
    """A value of a field (or a parent record, for a relation) as a person reads it.
    `relations`: sheet.relations, when the caller has it (it is computed on each call)."""
    if value is None:
        return ""
    relations = sheet.relations if relations is None else relations
    if name in relations:
        return " / ".join(str(getattr(value, c.attr) or "") for c in relations[name])
    try:
        return sheet.column(name).type.to_text(value)
    except KeyError:
        return str(value)


def name_beside(sheet, record: dict) -> str:
    """A record's name, shown beside its key: beside a key that may be masked (an ID number),
    its first required text (姓名), or masked records would all look alike; beside a key of
    codes (2015版 / XK-0101-00), its name (权力名称, 事项名称), or a clerk must know the codes."""
    field = name_field(sheet)
    value = record.get(field) if field else None
    return value if isinstance(value, str) else ""


def name_field(sheet) -> str | None:
    """The field named beside the key (see name_beside), or None."""
    relations = sheet.relations
    if any(sheet.column(k).sensitive for k in sheet.key if k not in relations):
        return next((c.field for c in sheet.stored
                     if c.required and not c.sensitive and c.field not in sheet.key), None)
    return next((c.field for c in sheet.stored
                 if c.field not in sheet.key and not c.sensitive
                 and (c.field == "name" or c.field.endswith("_name"))), None)
