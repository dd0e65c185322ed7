"""Which records an export holds, fetched in a stream.

`export_rows` reads plain rows (Core): the stored values of the sheet's columns, parents'
values by outer joins, in the list's order. No model instances are built, so an export of
100,000 records costs the rows alone. `records_for_export` (model instances) remains for
whoever needs the objects.
"""
from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, joinedload

from .declare import Sheet
from .sorting import declared_order

STREAM_CHUNK = 1000


def export_query(sheet: Sheet, stmt: Select | None = None) -> Select:
    """The list's records in its display order, parents loaded with them (no query per row)."""
    model = sheet.model
    stmt = select(model) if stmt is None else stmt
    for rel in {c.relation for c in sheet.columns if c.relation}:
        stmt = stmt.options(joinedload(getattr(model, rel)))
    return stmt.order_by(None).order_by(*declared_order(sheet))  # pinyin, dictionaries


def records_for_export(sheet: Sheet, stmt: Select, session: Session) -> Iterator:
    """Stream the records: memory stays flat however long the list is."""
    result = session.execute(stmt.execution_options(yield_per=STREAM_CHUNK))
    for obj in result.scalars():
        yield obj
        # Keep the identity map from growing with every row streamed.
        session.expunge(obj)


def export_select(sheet: Sheet, stmt: Select | None = None) -> Select:
    """The columns an export writes, for the records `stmt` selects (a `select(model)` with
    the list page's filters, or None for all), in the list's order: one value per column of
    the sheet, a dotted column read from its parent through an outer join."""
    model = sheet.model
    mapper = sa.inspect(model)
    parents = {}
    for rel in dict.fromkeys(c.relation for c in sheet.columns if c.relation):
        prop = mapper.relationships[rel]
        parents[rel] = (aliased(prop.mapper.class_, name=f"qd_{rel}"), prop)
    columns = [getattr(parents[c.relation][0], c.attr) if c.relation else getattr(model, c.attr)
               for c in sheet.columns]
    stmt = select(model) if stmt is None else stmt
    stmt = stmt.with_only_columns(*columns, maintain_column_froms=True)
    for parent, prop in parents.values():
        (fk,) = prop.local_columns
        (pk,) = prop.mapper.primary_key
        stmt = stmt.outerjoin(parent, getattr(model, fk.key) == getattr(parent, pk.key))
    return stmt.order_by(None).order_by(*declared_order(sheet))


def export_rows(sheet: Sheet, stmt: Select | None, session: Session) -> Iterator[tuple]:
    """Stream the rows of export_select: what writer.write_export_rows takes. Through the
    session's connection: plain rows, without the ORM's loading (a third of their cost)."""
    result = session.connection().execute(export_select(sheet, stmt).execution_options(
        yield_per=STREAM_CHUNK))
    for row in result:
        yield tuple(row)


def count_at_most(stmt: Select | None, sheet: Sheet, session: Session, limit: int) -> int:
    """How many records `stmt` selects, counting no further than `limit` (cheap on any
    table: whether an export is large enough to run in the background)."""
    model = sheet.model
    stmt = select(model) if stmt is None else stmt
    ids = stmt.with_only_columns(model.id, maintain_column_froms=True).order_by(None)
    return session.scalar(select(sa.func.count()).select_from(ids.limit(limit).subquery()))
