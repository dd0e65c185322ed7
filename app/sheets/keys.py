"""Natural keys, compared as lists.md §1 says: after the normalisation every text value gets.

`APJ-（沪）-001` and `APJ-(沪)-001` are the same key, within one file and against the
register: a match key folds width, spacing and case (values.key_form). Records are looked
up in bulk by their exact keys first (`lookup`: one query per chunk of keys); only when some
keys with a text part are not found so, and the table holds records other than those found,
one streamed scan of the key columns finds the records whose keys differ from the file's
only in that way (O(table), once per lookup, never per row).

On PostgreSQL a chunk of keys is one array parameter (`= ANY(:keys)`, or a join to
`unnest()` for a key of several columns), not an IN list of hundreds of parameters: psycopg
prepares a statement run five times, and PostgreSQL's generic plan for a long IN list may
scan the table per query, where its plan for an array keeps to the key's index.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from operator import itemgetter

from sqlalchemy import and_, any_, bindparam, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from . import values as v
from .rows import CHUNK, in_chunks
from .types import Text

PG_CHUNK = 5000  # keys per array parameter (PostgreSQL): no parameter count to keep within


def match_key(key: tuple) -> tuple:
    if len(key) == 1:  # most keys: asked once a row of an import
        return (v.key_form(key[0]),)
    return tuple(map(v.key_form, key))


def is_loose(types: Iterable) -> bool:
    """Whether keys made of values of these types can differ in width, spacing or case."""
    return any(isinstance(t, Text) for t in types)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunk_size(session: Session) -> int:
    return PG_CHUNK if is_postgresql(session) else CHUNK


def key_in(session: Session, attrs: list, keys: list[tuple]):
    """SQL: `attrs` have one of these keys (exact). See the module's docstring for PostgreSQL."""
    if is_postgresql(session):
        arrays = [bindparam(None, [k[i] for k in keys], type_=ARRAY(a.type))
                  for i, a in enumerate(attrs)]
        if len(attrs) == 1:
            return attrs[0] == any_(arrays[0])
        names = [f"k{i}" for i in range(len(attrs))]
        wanted = func.unnest(*arrays).table_valued(*names).render_derived()
        return tuple_(*attrs).in_(select(*(wanted.c[n] for n in names)))
    if len(attrs) == 1:
        return attrs[0].in_([k[0] for k in keys])
    # Not `(a, b) IN ((…), …)`: SQLite scans the whole key index for that, once per query.
    return or_(*(and_(*(a == part for a, part in zip(attrs, key))) for key in keys))


def ids_in(session: Session, id_column, ids: list[int]):
    """SQL: the id is one of these (an array on PostgreSQL, as `key_in`)."""
    if is_postgresql(session):
        return id_column == any_(bindparam(None, list(ids), type_=ARRAY(id_column.type)))
    return id_column.in_(ids)


def id_chunks(session: Session, ids: list[int]) -> Iterator[list[int]]:
    return in_chunks(ids, chunk_size(session))


def lookup_statement(session: Session, model, attrs: list, keys: list[tuple], columns=None):
    """The SELECT of one chunk of keys: `columns` (default: the id and the key columns)."""
    columns = columns if columns is not None else [model.id, *attrs]
    return select(*columns).where(key_in(session, attrs, keys))


def find_rows(session: Session, model, attrs: list, keys: Iterable[tuple], *, loose: bool,
              columns: list | None = None) -> dict[tuple, list]:
    """match key -> the rows (Core: `columns`, which must include the id and `attrs`;
    default the id and the key columns) of the records of `model` whose `attrs` have that
    key, exact matches first. No ORM objects: an import of many rows matches thousands.
    `keys` may be a dict, key -> its match key, when the caller has worked them out."""
    columns = columns if columns is not None else [model.id, *attrs]
    names = [a.key for a in attrs]
    found: dict[tuple, list] = defaultdict(list)
    # A key found as given is not folded again.
    folded = keys if isinstance(keys, dict) else {key: match_key(key) for key in set(keys)}
    if len(folded) > chunk_size(session) and _empty(session, model):
        return found  # a first import: one query instead of one per chunk of keys
    wanted = sorted(folded, key=repr)
    n_found = 0
    for chunk in in_chunks(wanted, chunk_size(session)):
        result = session.execute(lookup_statement(session, model, attrs, chunk, columns))
        key_of = _key_getter(list(result.keys()), names)
        rows = result.all()
        for row in rows:
            key = key_of(row)
            found[folded.get(key) or match_key(key)].append(row)
        n_found += len(rows)
    missing = set(folded.values()) - set(found)
    if loose and missing and _others_exist(session, model, n_found):
        seen = {row.id for rows in found.values() for row in rows}
        ids = []
        scan = select(model.id, *attrs).execution_options(yield_per=10_000)
        for row in session.execute(scan):
            if row[0] not in seen and match_key(tuple(row[1:])) in missing:
                ids.append(row[0])
        for chunk in id_chunks(session, ids):
            for row in session.execute(select(*columns).where(ids_in(session, model.id, chunk))):
                found[match_key(tuple(getattr(row, n) for n in names))].append(row)
    return found


def _key_getter(keys: list[str], names: list[str]):
    """row -> the tuple of its values of `names` (the key), read by position: an import
    matches thousands of rows, and a Core row is slower to read by name."""
    positions = [keys.index(n) for n in names]
    if len(positions) == 1:
        (i,) = positions
        return lambda row: (row[i],)
    return itemgetter(*positions)  # of several positions: a tuple


def _empty(session: Session, model) -> bool:
    return session.scalar(select(model.id).limit(1)) is None


def _others_exist(session: Session, model, n_found: int) -> bool:
    """Whether the table holds records other than the `n_found` already matched exactly (an
    empty table, or one whose records were all found, needs no scan)."""
    return (session.scalar(select(func.count()).select_from(model)) or 0) > n_found


def find_by_keys(session: Session, model, attrs: list, keys: Iterable[tuple], *,
                 loose: bool) -> dict[tuple, list]:
    """match key -> the records (ORM instances) of `model` whose `attrs` have that key,
    exact matches first: parents, which the rows then refer to as instances."""
    rows = find_rows(session, model, attrs, keys, loose=loose)
    ids = [row.id for matched in rows.values() for row in matched]
    objects = {}
    for chunk in id_chunks(session, ids):
        objects.update((o.id, o) for o in session.scalars(
            select(model).where(ids_in(session, model.id, chunk))))
    return {mk: [objects[row.id] for row in matched if row.id in objects]
            for mk, matched in rows.items()}


def pick(candidates: list, attrs: list, key: tuple) -> list:
    """The record whose key is exactly this one, if any; else all that match loosely."""
    if len(candidates) < 2:  # most keys: the one record, whichever way it matched
        return list(candidates)
    exact = [c for c in candidates if tuple(getattr(c, a.key) for a in attrs) == key]
    return exact or candidates
