"""Declaring a list once: its columns, key and rules.

A list module (app/lists/…) writes one `Sheet` per model. Everything else — the admin
screen's labels and filters, the template, import, export and API — is derived from it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .types import ValueType, is_sensitive


@dataclass(frozen=True)
class Col:
    """One spreadsheet column bound to one model attribute.

    `field` is an attribute of the model, or "relation.attribute" for a column that names a
    parent record (e.g. "agency.credit_code": the agency is looked up by its credit code).
    With `info=True` the column only repeats a parent's attribute for people's benefit
    (e.g. "agency.name"): it is exported, and on import a mismatch is a warning.
    """
    header: str
    field: str
    type: ValueType
    required: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""
    info: bool = False
    export_header: str | None = None  # when the header written must differ (环节序号)
    unique: bool = False  # unique when given, apart from the key (专家编号)
    # How a two-row header may name the column, group and part read together, beyond its
    # header and aliases: 聘期 over 起 reads 聘期起 (lists.md §1 Headers).
    group_forms: tuple[str, ...] = ()

    @property
    def relation(self) -> str | None:
        return self.field.split(".", 1)[0] if "." in self.field else None

    @property
    def attr(self) -> str:
        return self.field.rsplit(".", 1)[-1]

    @property
    def out_header(self) -> str:
        return self.export_header or self.header

    @property
    def sensitive(self) -> bool:
        return is_sensitive(self.type)

    @property
    def label(self) -> str:
        return self.header


@dataclass(frozen=True)
class Problem:
    """An error (or, with warning=True, a warning) about one field of one record."""
    field: str | None
    message: str
    warning: bool = False


def error(field: str | None, message: str) -> Problem:
    return Problem(field, message)


def warning(field: str | None, message: str) -> Problem:
    return Problem(field, message, warning=True)


# A rule sees one record as a dict: model fields by name, parents as model instances under
# the relation name, informational columns under their dotted name. It yields Problems.
Rule = Callable[[dict], Iterable[Problem]]


@dataclass(frozen=True)
class Ref:
    """How a parent named by dotted columns is looked up, when the columns alone are not enough.

    `within` maps an attribute of the parent to a relation of this record that it must equal:
    an exempt deposit's policy is looked up by its number *within the deposit's enterprise*.
    """
    within: dict[str, str] = field(default_factory=dict)


@dataclass
class Sheet:
    slug: str
    title: str
    model: type
    key: tuple[str, ...]
    columns: Sequence[Col]
    rules: Sequence[Rule] = ()
    group: str = ""
    order_by: tuple[str, ...] = ()
    refs: dict[str, Ref] = field(default_factory=dict)
    search: tuple[str, ...] = ()      # fields clerks look records up by (screen filters)
    list_fields: tuple[str, ...] = ()  # columns of the list screen; default: the first few
    # Fills derived values (a review's grade from its score) in a record before it is
    # compared and written: bulk writes bypass the ORM's own events.
    derive: Callable[[dict], dict] | None = None
    # Records that may not be written (a review of a published batch): given the session and
    # records as dicts (fields by name; for a stored record its stored values, for a new or
    # changed one its values after the change; an import's undo passes the audit trail's
    # snapshots, by column name), the reason each one is locked, or None. Answered in bulk
    # (one query for all records); used by forms, API, import and undo.
    locked: Callable[[object, list[dict]], list[str | None]] | None = None

    def __post_init__(self):
        self.columns = tuple(self.columns)
        self.rules = tuple(self.rules)
        fields = [c.field for c in self.columns]
        if len(set(fields)) != len(fields):
            raise ValueError(f"{self.slug}: a field is declared twice")
        for k in self.key:
            if k not in fields and k not in self.relations:
                raise ValueError(f"{self.slug}: key field {k!r} has no column")

    def lock_reasons(self, session, records: list[dict]) -> list[str | None]:
        """`locked` for these records (all None when the list declares no lock)."""
        if self.locked is None or not records:
            return [None] * len(records)
        return list(self.locked(session, records))

    # -- derived views of the declaration --------------------------------------------
    @property
    def stored(self) -> tuple[Col, ...]:
        """Columns written to this model's own attributes."""
        return tuple(c for c in self.columns if c.relation is None)

    @property
    def relations(self) -> dict[str, tuple[Col, ...]]:
        """Parent relation -> the columns that look it up (informational ones excluded)."""
        out: dict[str, list[Col]] = {}
        for c in self.columns:
            if c.relation and not c.info:
                out.setdefault(c.relation, []).append(c)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def info_columns(self) -> tuple[Col, ...]:
        return tuple(c for c in self.columns if c.info)

    def column(self, field_name: str) -> Col:
        for c in self.columns:
            if c.field == field_name:
                return c
        raise KeyError(field_name)

    def label(self, field_name: str) -> str:
        """The Chinese label of a field or relation (for messages and screens)."""
        for c in self.columns:
            if c.field == field_name:
                return c.header
        if field_name in self.relations:
            return "、".join(c.header for c in self.relations[field_name])
        return field_name

    def check(self, record: dict) -> Iterator[Problem]:
        """Required fields and cross-field rules; used by import, forms and the API alike."""
        for c in self.columns:
            if not c.required or c.info:
                continue
            given = record.get(c.field) not in (None, "")
            if c.relation:  # a form gives the parent itself, a spreadsheet its key columns
                given = given or record.get(c.relation) is not None
            if not given:
                yield error(c.field, f"「{c.header}」为必填项，不能为空")
        for rule in self.rules:
            yield from rule(record)


class Registry:
    """Every declared list, in dependency order (parents before children)."""

    def __init__(self):
        self._sheets: dict[str, Sheet] = {}

    def add(self, *sheets: Sheet) -> None:
        for s in sheets:
            if s.slug in self._sheets:
                raise ValueError(f"list {s.slug!r} declared twice")
            self._sheets[s.slug] = s

    def __getitem__(self, slug: str) -> Sheet:
        return self._sheets[slug]

    def get(self, slug: str) -> Sheet | None:
        return self._sheets.get(slug)

    def __iter__(self):
        return iter(self._sheets.values())

    def __len__(self):
        return len(self._sheets)

    def for_model(self, model: type) -> Sheet | None:
        return next((s for s in self if s.model is model), None)


sheets = Registry()
