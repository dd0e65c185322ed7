"""Which records an export holds, fetched in a stream."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

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

