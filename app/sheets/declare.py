"""Declaring a list once: its columns, key and rules.

A list module (app/lists/…) writes one `Sheet` per model and adds it to the registry
`sheets`. Everything else — the admin screen's labels, filters and menu entry, the template,
import, export and API, the database's key constraint — is derived from it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import configure_mappers

from .types import ValueType, is_sensitive

INFO_NOTE = "仅供核对，不导入"  # what an informational column is, wherever it is described


@dataclass(frozen=True)
class Col:
    """One spreadsheet column bound to one model attribute.

    Options (all but the first three are optional):

    header
        The column's Chinese header, as the template writes it and the spec names it
        (「统一社会信用代码」). Also the field's label on screens, in messages and in the API.
    field
        The model attribute the column fills: a column name ("credit_code"), or
        "relation.attribute" for a column that names a parent record ("agency.credit_code":
        the agency is looked up by its credit code; the record stores the parent itself).
    type
        A `ValueType` instance (app/sheets/types.py: Text(20), Enum((…)), Date(), Amount() …):
        how a cell is read, checked, written back and described in the template.
    required
        The value may not be empty (import, forms and API alike). Marked with "*" in the
        template. Default False.
    aliases
        Other headers the importer accepts for this column (old templates: 「号牌」 for
        「车牌号」). Matched after the same normalisation as the header. Default ().
    note
        A short help text for clerks: the template's header comment and instructions sheet,
        and the form field's description. Default "".
    info
        The column only repeats a parent's attribute for people to read ("agency.name"): it
        is exported, never imported; on import a mismatch is a warning. Default False.
    export_header
        The header written to templates and exports when it must differ from `header`
        (「环节序号」, where 「序号」 is the template's row number). Default None: `header`.
    unique
        Unique whenever given, apart from the key (专家编号): enforced by import, forms and
        API, and in the database by a constraint named uq_<table>_<column>, which the
        registry adds when the model does not declare one (see `Registry.seal`).
        Default False.
    rule_notes
        Help texts the list's rules give about this column (`dates_in_order` says 「应晚于…」),
        filled in by the Sheet from its rules; part of `column_help`. Not set by hand.
    sensitive
        Personal data: roles without the right to see ID numbers get it masked (`masked`), and
        may not filter, search or sort on it. Default None: as the type says (身份证号码 is).
    derived_from
        The column this one can be computed from (出生日期 from 身份证号码): a value that gives
        away part of a masked one must be as hidden as it (so also `sensitive`), and changes
        only together with it. Default "".
    group_forms
        How a two-row header may name the column, group and part read together, beyond its
        header and aliases: 「聘期」 over 「起」 reads 「聘期起」 (lists.md §1 Headers).
        Default ().
    """
    header: str
    field: str
    type: ValueType
    required: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""
    info: bool = False
    export_header: str | None = None
    unique: bool = False
    rule_notes: tuple[str, ...] = ()
    group_forms: tuple[str, ...] = ()
    sensitive: bool | None = None
    derived_from: str = ""

    def __post_init__(self):
        if self.sensitive is None:
            object.__setattr__(self, "sensitive", is_sensitive(self.type))

    @property
    def relation(self) -> str | None:
        return self.field.split(".", 1)[0] if "." in self.field else None

    @property
    def attr(self) -> str:
        return self.field.rsplit(".", 1)[-1]

    @property
    def out_header(self) -> str:
        return self.export_header or self.header

    def masked(self, text: str | None) -> str | None:
        """The value as shown to who may not see it (`sensitive` columns)."""
        return self.type.mask(text) if text else text

    def shows_masked(self, sent, stored) -> bool:
        """Is `sent` the stored value exactly as a masked screen or API showed it? Then it
        was sent back unchanged, and the stored value is kept."""
        if not self.sensitive or stored is None or stored == "" or not isinstance(sent, str):
            return False
        return sent.strip() == self.masked(self.type.to_text(stored))

    @property
    def label(self) -> str:
        return self.header


# Parts of a column's note that speak of the spreadsheet, not of what the value is.
SPREADSHEET_HINTS = ("文本格式", "本列", "单元格")


def column_help(col: Col, *, for_form: bool = False) -> tuple[str, ...]:
    """What a clerk needs to know to fill a column — its type and allowed values, its note,
    what the list's rules ask of it, whether it is imported at all — in the same words in the
    template's comments, its instructions sheet and the form. Each said once: a note the type
    already says (请将本列设为文本格式) is not repeated.

    for_form: the help of the web form's field instead, which speaks of the form: no type
    words where a dropdown or the date picker shows the choices, no spreadsheet hints (请设为
    文本格式), and a note that begins as the type's help does (0–100 …) not said twice."""
    if for_form:
        return _form_help(col)
    out: list[str] = []
    for part in (col.type.describe(), col.note, *col.rule_notes, INFO_NOTE if col.info else ""):
        if part and not any(part in said for said in out):
            out.append(part)
    return tuple(out)


def _form_help(col: Col) -> tuple[str, ...]:
    note = "；".join(p for p in col.note.split("；")
                    if p and not any(h in p for h in SPREADSHEET_HINTS))
    out: list[str] = []
    for part in (col.type.describe_for_form(), note, *col.rule_notes):
        head = part.split("，", 1)[0]
        if part and not any(part in said or said.split("，", 1)[0] == head for said in out):
            out.append(part)
    return tuple(out)


@dataclass(frozen=True)
class Problem:
    """An error (or, with warning=True, a warning) about one field of one record.

    `masked`: the message for who may not see the record's sensitive values, when `message`
    quotes one of them or a value derived from one (None: `message` tells nothing hidden)."""
    field: str | None
    message: str
    warning: bool = False
    masked: str | None = None


def error(field: str | None, message: str, masked: str | None = None) -> Problem:
    return Problem(field, message, masked=masked)


def warning(field: str | None, message: str, masked: str | None = None) -> Problem:
    return Problem(field, message, warning=True, masked=masked)


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


# -- publishing and named filters --------------------------------------------------------
@dataclass(frozen=True)
class Public:
    """What of a list the public may see (/public/, open data): an explicit allow-list.

    `fields` are columns' fields, a public parent's attribute ("power.name") or a derived
    value of the model (双资质); nothing else of the list ever reaches a public page or
    download. `where()` is the SQL condition of the records that are public (None: all).
    `listed=False`: the records are public only as a published batch stored them
    (报告盲审结果, app/publications.py), never read live.
    """
    fields: tuple[str, ...]
    where: Callable[[], Any] | None = None
    listed: bool = True


@dataclass(frozen=True)
class Preset:
    """A named filter of a list's screen (`?preset=<name>`), e.g. the certificates that expire
    within the warning window: `where()` is its SQL condition, evaluated per request (today,
    settings); `label` may be a function too (it names the window from the settings).

    `index` names the columns the condition selects by, those compared for equality first,
    then the one compared by range (("status", "expires_on")): the list gets an index on them
    (app/sheets/indexes.py), so that the dashboard counts the preset from the index alone
    however large the list grows."""
    label: str | Callable[[], str]
    where: Callable[[], Any]
    index: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label() if callable(self.label) else self.label


@dataclass(frozen=True)
class Link:
    """An optional reference to another list's record that the screens set and show, outside
    the bureau's spreadsheet (so not in templates, imports, exports or the API): an interview's
    盲审报告, the report it was opened from.

    `label` names it on forms and pages. `start`, when given, is a button on the linked
    record's page ("发起警示约谈") that opens this list's add form with the link set; `prefill`
    (linked record -> {field: value}) is what that form starts with (the agency, the reason).
    """
    label: str
    start: str = ""
    prefill: Callable[[Any], dict] | None = None


@dataclass
class Sheet:
    """One list: a model and how its records look as a spreadsheet, a screen and an API.

    A list module (app/lists/…) declares one Sheet per model and adds it to `sheets`; the
    screens, menu entry, filters, template, import, export, command line and REST API are
    derived from it. Options (all but the first five are optional):

    slug
        The list's code: URLs (/vehicles/list/, /api/v1/vehicles/), the command line
        (`flask lists export vehicles …`) and file names. Lower case ASCII.
    title
        The list's Chinese name (危险货物运输车辆): menu entry, page titles, sheet name.
    model
        The SQLAlchemy model, a subclass of `app.models.Record`.
    key
        The fields that identify a record (the natural key): an import updates the record
        with the same key and creates the others. A field or a relation whose columns name
        a parent ("agency"). Unique in the database: a constraint uq_<table>_key over the
        key's columns, which the registry adds when the model does not declare one.
    columns
        The `Col`s, in the template's order (the spec's order).
    rules
        Cross-field checks, functions record -> iterable of `Problem` (see `Rule`), run by
        import, forms and API alike after the types and required fields. Default ().
    group
        The menu group (权责清单, 技术服务机构 …) the list appears under; lists sharing a
        group share a menu. Default "": a group of its own named 清单.
    menu_order
        The list's place in the menu: entries are added in ascending `menu_order`, then in
        registry order; a group sits where its first list does. Default None: after the
        numbered lists. (The registry's own order is the dependency order, below.)
    order_by
        Model attributes records are listed and exported in. Default (): by id.
    refs
        Relation -> `Ref`: how a parent is looked up when its columns alone are not enough
        (an exempting policy by number within the deposit's enterprise). Default {}.
    search
        The fields clerks look records up by: the list screen's filters (and the API's).
        Boolean `computed` values are added. Default ().
    list_fields
        The columns of the list screen: fields, relations or `computed` names. Default ():
        the first six fields of the declaration.
    computed
        Values computed from the stored ones, never typed: model attribute -> its label
        ({"dual_qualified": "双资质"}). A plain property is shown on the record's page (and
        in the list when named in `list_fields`); a hybrid property usable in SQL can also
        be listed, ordered and, when boolean, filtered 是/否. Default {}.
    derive
        record -> record: fills derived stored values (a review's grade from its score)
        before a record is compared and written, on every path (bulk writes bypass the
        ORM's events). Default None.
    locked
        (session, records) -> the reason each record may not be written, or None (a review
        of a published batch). Records come as dicts (fields by name; for a stored record
        its stored values, for a new or changed one its values after the change; an
        import's undo passes the audit trail's snapshots, by column name). Answered in bulk
        (one query for all); used by forms, API, import and undo. Default None.
    public
        `Public(fields, where, listed)`: what the public pages and open data may show of this
        list (an allow-list of fields; `where`, the SQL condition of the records shown).
        A field holding personal data is refused here. Default None: nothing is public.
    presets
        Named filters of the list's screen, {name: Preset(label, where)}, opened as
        `?preset=name` (the dashboard links to them). Default {}.
    links
        {relation: Link(label, start, prefill)}: optional references to another list's record
        set on the screens only (an interview's 盲审报告). Written by the record commands when
        a draft gives them, kept by imports and API writes, which never name them. Default {}.
    """
    slug: str
    title: str
    model: type
    key: tuple[str, ...]
    columns: Sequence[Col]
    rules: Sequence[Rule] = ()
    group: str = ""
    menu_order: int | None = None
    order_by: tuple[str, ...] = ()
    refs: dict[str, Ref] = field(default_factory=dict)
    search: tuple[str, ...] = ()
    list_fields: tuple[str, ...] = ()
    computed: dict[str, str] = field(default_factory=dict)
    derive: Callable[[dict], dict] | None = None
    locked: Callable[[object, list[dict]], list[str | None]] | None = None
    # What the public may see of this list (None: nothing), and the named filters of its
    # screen (the dashboard links to them).
    public: Public | None = None
    presets: dict[str, Preset] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    def __post_init__(self):
        self.columns = tuple(self.columns)
        self._bind_rules()
        fields = [c.field for c in self.columns]
        if len(set(fields)) != len(fields):
            raise ValueError(f"{self.slug}: a field is declared twice")
        for k in self.key:
            if k not in fields and k not in self.relations:
                raise ValueError(f"{self.slug}: key field {k!r} has no column")
        for c in self.columns:
            if c.derived_from and (c.derived_from not in fields
                                   or not self.column(c.derived_from).sensitive
                                   or not c.sensitive):
                raise ValueError(f"{self.slug}: {c.field} is derived from {c.derived_from!r}, "
                                 "which must be a sensitive column, and be sensitive itself")
        for name in self.computed:
            if not hasattr(self.model, name):
                raise ValueError(f"{self.slug}: computed value {name!r} is not an attribute "
                                 f"of {self.model.__name__}")
        for name in self.links:
            if name in fields or name in self.relations:
                raise ValueError(f"{self.slug}: link {name!r} is also a column")
        for f in self.public.fields if self.public else ():
            if f in fields and self.column(f).sensitive:
                raise ValueError(f"{self.slug}: {f!r} holds personal data and cannot be public")

    def _bind_rules(self) -> None:
        """Rules made by a factory (app/sheets/rules.py) are bound to this Sheet's labels, and
        the help they give is added to their columns (column_help)."""
        checks, notes = [], {}
        for rule in self.rules:
            if hasattr(rule, "bind"):
                check, help_texts = rule.bind(self)
                for name, text in help_texts.items():
                    notes.setdefault(name, []).append(text)
                rule = check
            checks.append(rule)
        self.rules = tuple(checks)
        self.columns = tuple(replace(c, rule_notes=c.rule_notes + tuple(notes[c.field]))
                             if c.field in notes else c for c in self.columns)

    def lock_reasons(self, session, records: list[dict]) -> list[str | None]:
        """`locked` for these records (all None when the list declares no lock)."""
        if self.locked is None or not records:
            return [None] * len(records)
        return list(self.locked(session, records))

    # -- derived views of the declaration --------------------------------------------
    # Asked for every row of an import: worked out once for the columns as they are (a
    # declaration's columns are replaced, never changed in place, so their tuple is the key).
    def _derived(self) -> dict:
        cached = self.__dict__.get("_qd_derived")
        if cached is None or cached[0] is not self.columns:
            relations: dict[str, list[Col]] = {}
            for c in self.columns:
                if c.relation and not c.info:
                    relations.setdefault(c.relation, []).append(c)
            cached = (self.columns, {
                "stored": tuple(c for c in self.columns if c.relation is None),
                "relations": {k: tuple(v) for k, v in relations.items()},
                "info": tuple(c for c in self.columns if c.info),
                "by_field": {c.field: c for c in reversed(self.columns)},
            })
            self.__dict__["_qd_derived"] = cached
        return cached[1]

    def memo(self, name: str, compute: Callable[[Sheet], Any]):
        """`compute(self)`, worked out once per declaration like the views below: for what
        another module derives from a list's declaration on a hot path (its sort keys)."""
        derived = self._derived()
        if name not in derived:
            derived[name] = compute(self)
        return derived[name]

    @property
    def stored(self) -> tuple[Col, ...]:
        """Columns written to this model's own attributes."""
        return self._derived()["stored"]

    @property
    def relations(self) -> dict[str, tuple[Col, ...]]:
        """Parent relation -> the columns that look it up (informational ones excluded).
        A new dict each time: callers may change theirs."""
        return dict(self._derived()["relations"])

    @property
    def info_columns(self) -> tuple[Col, ...]:
        return self._derived()["info"]

    def column(self, field_name: str) -> Col:
        try:
            return self._derived()["by_field"][field_name]  # the first of that field
        except KeyError:
            raise KeyError(field_name) from None

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
        for name, relation, header in self.memo("required", _required):
            if record.get(name) in (None, ""):
                # a form gives the parent itself, a spreadsheet its key columns
                if relation is None or record.get(relation) is None:
                    yield error(name, f"「{header}」为必填项，不能为空")
        for rule in self.rules:
            yield from rule(record)


def _required(sheet: Sheet) -> tuple[tuple[str, str | None, str], ...]:
    """(field, relation, header) of each required column that is imported."""
    return tuple((c.field, c.relation, c.header) for c in sheet.columns
                 if c.required and not c.info)


class Registry:
    """Every declared list, in dependency order: a list comes after the lists its records
    name as parents (an agency before its certificates, a policy before the deposits it
    exempts), and otherwise in menu order (`Sheet.menu_order`, then order of declaration).

    `seal()` runs once every list is declared (app/lists/__init__.py does it): it fixes
    that order and gives each model the unique constraints its declaration implies, so
    that a new list needs no more than its model and its Sheet.
    """

    def __init__(self):
        self._declared: dict[str, Sheet] = {}
        self._order: list[Sheet] | None = None
        self._sealed = False

    def add(self, *sheets: Sheet) -> None:
        for s in sheets:
            if s.slug in self._declared:
                raise ValueError(f"list {s.slug!r} declared twice")
            self._declared[s.slug] = s
        self._order = None
        if self._sealed:  # a list declared late still gets its constraints and its place
            self.seal()

    def seal(self) -> None:
        """Resolve the models' relations, add the implied unique constraints, fix the order."""
        configure_mappers()
        declared = list(self._declared.values())
        from .sorting import add_sort_columns
        for sheet in declared:
            _add_implied_constraints(sheet)
            add_sort_columns(sheet)  # <text>_sort beside each listed text (pinyin order)
        self._order = _dependency_order(declared, self.parents)
        self._sealed = True

    def parents(self, sheet: Sheet) -> list[Sheet]:
        """The declared lists whose records this list's records name (through `relations`)."""
        by_model = {s.model: s for s in self._declared.values()}
        relationships = sa.inspect(sheet.model).relationships
        found = (by_model.get(relationships[rel].mapper.class_) for rel in sheet.relations)
        parents = {p.slug: p for p in found if p is not None and p is not sheet}
        return list(parents.values())

    def menu(self) -> list[Sheet]:
        """The lists in menu order (`Sheet.menu_order`, then registry order)."""
        ordered = list(self)
        return sorted(ordered, key=lambda s: (s.menu_order is None, s.menu_order or 0,
                                              ordered.index(s)))

    def _ordered(self) -> list[Sheet]:
        if self._order is None:
            self.seal()
        return self._order

    def __getitem__(self, slug: str) -> Sheet:
        return self._declared[slug]

    def get(self, slug: str) -> Sheet | None:
        return self._declared.get(slug)

    def __iter__(self):
        return iter(self._ordered())

    def __len__(self):
        return len(self._declared)

    def for_model(self, model: type) -> Sheet | None:
        return next((s for s in self if s.model is model), None)


def key_columns(sheet: Sheet) -> tuple[str, ...]:
    """The table columns of a list's key: a relation stands for its foreign key columns."""
    mapper = sa.inspect(sheet.model)
    out: list[str] = []
    for k in sheet.key:
        if k in sheet.relations:
            local = mapper.relationships[k].local_columns
            out += [c.name for c in mapper.local_table.c if c in local]
        else:
            out.append(mapper.columns[k].name)
    return tuple(out)


def _unique_column_sets(table: sa.Table) -> list[set[str]]:
    """The column sets the table already keeps unique (constraints and unique indexes)."""
    sets = [{c.name for c in con.columns} for con in table.constraints
            if isinstance(con, sa.UniqueConstraint)]
    return sets + [{c.name for c in ix.columns} for ix in table.indexes if ix.unique]


def _add_implied_constraints(sheet: Sheet) -> None:
    """The key, and every `Col(unique=True)`, unique in the database: a named constraint
    (uq_<table>_key, uq_<table>_<column>) unless the model declares one over those columns.
    Alembic's autogenerate sees them like any declared in the model."""
    table = sa.inspect(sheet.model).local_table
    wanted = {f"uq_{table.name}_key": key_columns(sheet)}
    for col in sheet.stored:
        if col.unique:
            name = sa.inspect(sheet.model).columns[col.attr].name
            wanted[f"uq_{table.name}_{name}"] = (name,)
    for name, columns in wanted.items():
        if set(columns) not in _unique_column_sets(table):
            table.append_constraint(sa.UniqueConstraint(*columns, name=name))


def _dependency_order(declared: list[Sheet], parents_of) -> list[Sheet]:
    """Parents before children (a topological order); among the lists free to come next,
    the first in menu order."""
    rank = {s.slug: (s.menu_order is None, s.menu_order or 0, i) for i, s in enumerate(declared)}
    by_slug = {s.slug: s for s in declared}
    waiting = {s.slug: {p.slug for p in parents_of(s)} for s in declared}
    order: list[Sheet] = []
    while waiting:
        ready = [slug for slug, parents in waiting.items() if not parents]
        if not ready:
            raise ValueError("lists name each other as parents in a cycle: "
                             + ", ".join(sorted(waiting)))
        slug = min(ready, key=rank.__getitem__)
        order.append(by_slug[slug])
        del waiting[slug]
        for parents in waiting.values():
            parents.discard(slug)
    return order


sheets = Registry()
