"""Counting and paging a list at a million rows (used by datamodel.SheetInterface.query).

- A page is read in two short statements: the ids of the page, from the list's order index
  alone (a deep page skips index entries, not table rows), then those rows with their
  parents. Pages past the middle of the list are read from its end, in the reverse order,
  so the deepest page skips no more than half the list.
- The count: exact while the table is small (below QINGDAN_EXACT_COUNT_ROWS by the
  database's own estimate); on a larger table the estimate itself when nothing is filtered
  ("约 1,000,000"), and a count that stops at QINGDAN_COUNT_CAP when something is ("超过
  10,000"). SQLite counts exactly at any size (it has no estimate, and counts fast).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

DEFAULT_EXACT_COUNT_ROWS = 200_000
DEFAULT_COUNT_CAP = 10_000


class ApproxCount(int):
    """The database's estimate of a table's rows: an int to FAB's paging, "约 N" to people."""

    exact = False

    def __str__(self):
        return f"约 {int(self):,}"


class AtLeastCount(int):
    """A count stopped at the cap: an int to FAB's paging, "超过 N" to people."""

    exact = False

    def __str__(self):
        return f"超过 {int(self):,}"


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def table_estimate(session, table: sa.Table) -> int | None:
    """The database's own estimate of the table's rows (no scan), or None without one."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        value = session.execute(sa.text(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
            {"t": table.name}).scalar()
    elif dialect in ("mysql", "mariadb"):
        value = session.execute(sa.text(
            "SELECT table_rows FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = :t"), {"t": table.name}).scalar()
    else:
        return None
    return None if value is None or value < 0 else int(value)


def count_rows(session, id_query, table: sa.Table, filtered: bool) -> int:
    """How many rows id_query (a Query of ids, filters applied) gives, by the policy above."""
    estimate = table_estimate(session, table)
    if estimate is None or estimate < _config("QINGDAN_EXACT_COUNT_ROWS",
                                              DEFAULT_EXACT_COUNT_ROWS):
        return exact_count(id_query)
    if not filtered:
        return ApproxCount(estimate)
    cap = _config("QINGDAN_COUNT_CAP", DEFAULT_COUNT_CAP)
    n = session.execute(sa.select(sa.func.count()).select_from(
        id_query.order_by(None).limit(cap + 1).subquery())).scalar()
    return AtLeastCount(cap) if n > cap else n


def exact_count(id_query) -> int:
    return id_query.order_by(None).count()


def page_window(count: int, page: int | None, page_size: int | None):
    """(offset, limit, reversed) of the page: from the list's start, or — past the middle of
    an exactly counted list — from its end in the reverse order."""
    if not page_size:
        return 0, None, False
    start = (page or 0) * page_size
    if getattr(count, "exact", True) is False or start < count / 2:
        return start, page_size, False
    from_end = count - start - page_size   # rows after this page
    if from_end < 0:
        return 0, max(page_size + from_end, 0), True
    return from_end, page_size, True


def reversed_order(clauses) -> list:
    """The same order, every column's direction turned round."""
    out = []
    for clause in clauses:
        modifier = getattr(clause, "modifier", None)
        element = getattr(clause, "element", clause)
        if modifier is sa.sql.operators.desc_op:
            out.append(sa.asc(element))
        else:
            out.append(sa.desc(element if modifier is sa.sql.operators.asc_op else clause))
    return out
