"""The indexes a list needs at scale, derived from its declaration in one place.

A list screen at a million rows must not sort or scan the table for a page:
- its default order (Sheet.order_by, then id, the tie-breaker of every page) has one
  composite index, so page 1 and the ids of a deep page are read from the index alone: on
  the columns the order really sorts on (a text's pinyin key, an enumeration's dictionary
  position: app/sheets/sorting.py);
- every searched field (Sheet.search; a parent's foreign key for a searched relation) has
  one index `ix_<table>_<column>`, unless the key (a unique constraint) starts with it, or
  (but for free text) another index does:
    * a free-text field (a Text column: 姓名, 工作单位, 编号) is searched by part — FAB's
      以…开始 / 包含 filters are ILIKE — so on PostgreSQL its index is a trigram index
      (pg_trgm, GIN), which also answers 等于; SQLite and MariaDB, which cannot search
      text by part with an index, get a b-tree on the column (equality, sorting);
    * any other field (enumerations, dates, numbers) gets a b-tree on (column, id): it
      filters, and a click on the column's header sorts by it with the same tie-breaker
      as every page, from the index alone; a parent (foreign key) gets a b-tree on itself.
  An index a list model declares itself on such a column (`index=True`) is replaced by
  this one, under the same name;
- every named filter that says which columns it selects by (`Preset(index=...)`: the
  dashboard counts it) has one composite index on them.

`declare_list_indexes(sheets)` applies this to the models' tables once every list is
declared (app/lists/__init__.py), so migrations autogenerate the indexes and
tests/test_roundtrip.py holds models and migrations to the same set. A new list gets its
indexes from its declaration.

Known trade-off: on PostgreSQL a free-text column has no b-tree, so sorting a huge list by
姓名 alone sorts the (filtered) rows; the default order and every other column are indexed.
(With a b-tree beside the trigram index PostgreSQL's planner prefers scanning the b-tree
for ILIKE, which is far slower on CJK text.)
"""
from __future__ import annotations

import sqlalchemy as sa

from .declare import Sheet
from .types import LongText, Text

# MariaDB/MySQL: an index entry is at most 3072 bytes (utf8mb4: 4 bytes a character), so
# longer strings are indexed by a prefix. VARCHAR(255) fits whole.
MYSQL_MAX_INDEXED_CHARS = 255

IndexSpec = tuple[str, tuple[str, ...], dict]  # name, column names, dialect options


def _fk_column(table: sa.Table, relation: str) -> sa.Column:
    # Mappers are not configured yet when lists are declared: the relation's foreign key is
    # found by the project's naming rule (relation "agency" -> column "agency_id").
    column = table.c.get(f"{relation}_id")
    if column is None or not column.foreign_keys:
        raise ValueError(f"{table.name}: relation {relation!r} has no foreign key "
                         f"column {relation}_id")
    return column


def _column(sheet: Sheet, table: sa.Table, name: str) -> sa.Column | None:
    if name in sheet.relations or (name not in table.c and f"{name}_id" in table.c):
        return _fk_column(table, name)
    return table.c.get(name)  # None for a derived value (双资质): not a column


def _leading(table: sa.Table, replaceable: set[str]) -> set[str]:
    """Columns that already lead the primary key, a unique constraint or an index that is
    not one of ours to replace."""
    out = {c.name for c in list(table.primary_key.columns)[:1]}
    for ix in table.indexes:
        cols = list(ix.columns)
        if cols and ix.name not in replaceable:
            out.add(cols[0].name)
    for uq in table.constraints:
        if isinstance(uq, sa.UniqueConstraint) and len(uq.columns):
            out.add(list(uq.columns)[0].name)
    return out


def _unique_leading(table: sa.Table) -> set[str]:
    return {list(uq.columns)[0].name for uq in table.constraints
            if isinstance(uq, (sa.UniqueConstraint, sa.PrimaryKeyConstraint)) and len(uq.columns)}


def _mysql_lengths(columns) -> dict:
    lengths = {c.name: MYSQL_MAX_INDEXED_CHARS for c in columns
               if isinstance(c.type, sa.String) and (c.type.length or 10**6) >
               MYSQL_MAX_INDEXED_CHARS}
    return {"mysql_length": lengths} if lengths else {}


def _free_text(sheet: Sheet, name: str) -> bool:
    """A field people look up by part of its text: a Text column (not an enumeration, nor
    an ID number, which whoever may not see it looks up whole)."""
    try:
        kind = sheet.column(name).type
    except KeyError:
        return False
    return isinstance(kind, Text) and not isinstance(kind, LongText)


def _order_columns(sheet: Sheet, table: sa.Table, name: str) -> list[sa.Column] | None:
    """The columns ordering by `name` sorts on (app/sheets/sorting.py `order_expressions`):
    a text's pinyin key then the text, an enumeration's dictionary position, or the column."""
    from .sorting import choice_fields, key_name, sort_fields
    if name in sort_fields(sheet):
        return [table.c[key_name(name)], table.c[name]]
    if name in choice_fields(sheet):
        return [table.c[key_name(name)]]
    column = _column(sheet, table, name)
    return None if column is None else [column]


def _order_index(sheet: Sheet, table: sa.Table, covered: set[str]) -> IndexSpec | None:
    order, parts = [], 0
    for name in sheet.order_by:  # up to the first part that is not a column (an expression)
        columns = _order_columns(sheet, table, name)
        if columns is None:
            break
        order += columns
        parts += 1
    if not order:
        return None
    whole = parts == len(sheet.order_by)
    if not whole and order[0].name in covered:
        return None  # only a prefix is indexable, and an index has it already
    if any(isinstance(uq, sa.UniqueConstraint) and [c.name for c in uq.columns] ==
           [c.name for c in order] for uq in table.constraints):
        return None  # the key is the order: its unique index serves
    cols = [*order, table.c.id] if whole else order
    return f"ix_{table.name}_order", tuple(c.name for c in cols), _mysql_lengths(cols)


def list_indexes(sheet: Sheet) -> list[IndexSpec]:
    """The indexes the list's screens need (see the module's docstring)."""
    table: sa.Table = sheet.model.__table__
    searched = [(n, c) for n, c in ((n, _column(sheet, table, n)) for n in sheet.search)
                if c is not None]
    ours = {f"ix_{table.name}_{c.name}" for _n, c in searched}
    covered = _leading(table, replaceable=ours)
    wanted: list[IndexSpec] = []
    order = _order_index(sheet, table, covered)
    if order is not None:
        wanted.append(order)
        covered.add(order[1][0])
    for preset in sheet.presets.values():  # the dashboard's counts, from an index alone
        if preset.index and all(wanted_name != f"ix_{table.name}_{'_'.join(preset.index)}"
                                for wanted_name, _c, _o in wanted):
            cols = [table.c[c] for c in preset.index]
            wanted.append((f"ix_{table.name}_{'_'.join(preset.index)}", tuple(preset.index),
                           _mysql_lengths(cols)))
    keys = _unique_leading(table)
    for name, column in searched:
        if isinstance(column.type, sa.Text):
            continue  # a long text (内容) is never a useful key
        free_text = _free_text(sheet, name)
        # A free-text field needs its trigram index even where a b-tree leads with it
        # (the list's order), unless it is a key (looked up whole by its unique index).
        if column.name in (keys if free_text else covered):
            continue
        covered.add(column.name)
        index_name = f"ix_{table.name}_{column.name}"
        if free_text:
            wanted.append((index_name, (column.name,), dict(
                postgresql_using="gin", postgresql_ops={column.name: "gin_trgm_ops"},
                **_mysql_lengths([column]))))
        elif column.foreign_keys:
            # A parent filters (its records) but is not a sort column; MariaDB keeps the
            # index of a foreign key for itself, so it stays what it is.
            wanted.append((index_name, (column.name,), {}))
        else:
            cols = [column, table.c.id]
            wanted.append((index_name, (column.name, "id"), _mysql_lengths(cols)))
    return wanted


def declare_list_indexes(registry) -> None:
    """Attach every list's indexes to its table, replacing the model's own of the same
    name (idempotent)."""
    for sheet in registry:
        table = sheet.model.__table__
        for name, columns, options in list_indexes(sheet):
            same = next((ix for ix in table.indexes if ix.name == name), None)
            if same is not None:
                if tuple(c.name for c in same.columns) == columns and \
                        same.kwargs == options:
                    continue
                table.indexes.discard(same)
            # An Index of the table's own columns is attached to the table.
            sa.Index(name, *(table.c[c] for c in columns), **options)
