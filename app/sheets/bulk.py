"""Many rows into one table through the driver's own bulk path, in the caller's transaction.

An import writes 100,000 records and as many trail rows. Through SQLAlchemy's executemany
each row is a parameter dict that the compiler walks column by column (half the time of the
write at that size); here the values go to the driver as tuples, converted a column at a
time by the columns' own bind processors, and:

- PostgreSQL: `COPY … FROM STDIN` (psycopg), the ids taken from the table's sequence first
  (`nextval` × n in one statement), so the rows go in with their ids;
- SQLite: the driver's executemany of one prepared INSERT; the ids are the next ones after
  the highest (what SQLite would choose itself: the tables have no AUTOINCREMENT), taken in
  the write transaction, which no other writer can enter until it ends;
- MariaDB/MySQL: the driver's executemany (PyMySQL sends a multi-row INSERT); the ids, where
  wanted, through SQLAlchemy (`INSERT … RETURNING` is not there for many rows at once).

What SQLAlchemy would add is added here too: Python-side column defaults, the values' bind
processors (dates, booleans, JSON), and a conflict raised as sqlalchemy's IntegrityError.
"""
from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import JSON, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def insert_rows(session: Session, table, rows: list[dict], *, ids: bool = False
                ) -> list[int] | None:
    """Insert these rows (dicts of column name → value; rows may name different columns).
    With ids=True (PostgreSQL and SQLite: `takes_ids`), returns the new ids in the order of
    `rows`; on SQLite the transaction must have written already (see `_take_ids`)."""
    if not rows:
        return [] if ids else None
    dialect = session.get_bind().dialect.name
    new_ids = None
    if ids:
        if not takes_ids(session):
            raise ValueError(f"{dialect}: insert with RETURNING instead")
        new_ids = _take_ids(session, table, len(rows), dialect)
        rows = [{**row, "id": i} for row, i in zip(rows, new_ids)]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    for names, group in groups.items():
        columns = [table.c[n] for n in names]
        columns += [c for c in table.columns if c.name not in names and _python_default(c)]
        tuples = _tuples(session, columns, group, copy=dialect == "postgresql")
        if dialect == "postgresql":
            _copy(session, table, columns, tuples)
        else:
            marks = ", ".join("?" if dialect == "sqlite" else "%s" for _ in columns)
            quote = session.get_bind().dialect.identifier_preparer
            sql = (f"INSERT INTO {quote.format_table(table)} "
                   f"({', '.join(quote.quote(c.name) for c in columns)}) VALUES ({marks})")
            session.connection().exec_driver_sql(sql, tuples)
    return new_ids


def takes_ids(session: Session) -> bool:
    """Whether insert_rows can hand the new ids back on this database."""
    return session.get_bind().dialect.name in ("postgresql", "sqlite")


def _take_ids(session: Session, table, n: int, dialect: str) -> list[int]:
    if dialect == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        return list(session.scalars(select(func.nextval(sequence))
                                    .select_from(func.generate_series(1, n))))
    # Safe only inside a transaction that has written already (apply_plan: its batch row),
    # so it holds SQLite's write lock and no other writer can take ids in between.
    top = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return list(range(top + 1, top + 1 + n))


def _python_default(column):
    default = column.default
    return default is not None and (default.is_scalar or default.is_callable)


def _tuples(session: Session, columns, rows: list[dict], *, copy: bool) -> list[tuple]:
    """The rows as tuples in the order of `columns`, each value as the driver takes it."""
    dialect = session.get_bind().dialect
    out = []
    for c in columns:
        name = c.name
        if name in rows[0]:
            values = [row[name] for row in rows]
        else:
            arg = c.default.arg
            values = [arg(None) if c.default.is_callable else arg] * len(rows)
        if copy and isinstance(c.type, JSON):
            # COPY's text: JSON as text, which the server reads as json (None as JSON null,
            # as the type's own bind processor has it)
            null, dumps = c.type.none_as_null, dialect._json_serializer or json.dumps
            values = [None if v is None and null else dumps(v) for v in values]
        else:
            process = c.type._cached_bind_processor(dialect)
            if process is not None:
                values = _processed(values, process, isinstance(c.type, JSON))
        out.append(values)
    return list(zip(*out))


def _processed(values: list, process, unhashable: bool) -> list:
    """Each value through the bind processor; each distinct one once (stamps, dictionaries,
    dates repeat), but for JSON, whose values are dicts."""
    if unhashable:
        return [process(v) for v in values]
    done: dict = {}
    out = []
    for v in values:
        try:
            out.append(done[v])
        except KeyError:
            out.append(done.setdefault(v, process(v)))
    return out


def _copy(session: Session, table, columns, tuples: list[tuple]) -> None:
    """PostgreSQL: COPY the tuples in, on the session's own connection (its transaction)."""
    raw = session.connection().connection.driver_connection
    quote = session.get_bind().dialect.identifier_preparer
    sql = (f"COPY {quote.format_table(table)} "
           f"({', '.join(quote.quote(c.name) for c in columns)}) FROM STDIN")
    errors = session.get_bind().dialect.dbapi.IntegrityError
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in tuples:
                copy.write_row(row)
    except errors as exc:
        raise IntegrityError(sql, None, exc) from exc
