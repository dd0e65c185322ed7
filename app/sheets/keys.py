"""Natural keys, compared as lists.md §1 says: after the normalisation every text value gets.

`APJ-（沪）-001` and `APJ-(沪)-001` are the same key, within one file and against the
register: a match key folds width, spacing and case (values.key_form). Records are looked
up in bulk by their exact keys first (one IN query per chunk); only when some keys with a
text part are not found so, one scan of the key columns finds the records whose keys differ
from the file's only in that way.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import values as v
from .rows import in_chunks, where_in
from .types import Text


def match_key(key: tuple) -> tuple:
    return tuple(v.key_form(part) for part in key)


def is_loose(types: Iterable) -> bool:
    """Whether keys made of values of these types can differ in width, spacing or case."""
    return any(isinstance(t, Text) for t in types)


def find_by_keys(session: Session, model, attrs: list, keys: Iterable[tuple], *,
                 loose: bool) -> dict[tuple, list]:
    """match key -> the records of `model` whose `attrs` have that key, exact matches first."""
    wanted = sorted(set(keys), key=repr)
    found: dict[tuple, list] = defaultdict(list)
    seen: set[int] = set()
    for chunk in in_chunks(wanted):
        for obj in session.scalars(select(model).where(where_in(attrs, chunk))):
            found[match_key(tuple(getattr(obj, a.key) for a in attrs))].append(obj)
            seen.add(obj.id)
    missing = {match_key(k) for k in wanted} - set(found)
    if loose and missing:
        ids = [row[0] for row in session.execute(select(model.id, *attrs))
               if row[0] not in seen and match_key(tuple(row[1:])) in missing]
        for chunk in in_chunks(ids):
            for obj in session.scalars(select(model).where(model.id.in_(chunk))):
                found[match_key(tuple(getattr(obj, a.key) for a in attrs))].append(obj)
    return found


def pick(candidates: list, attrs: list, key: tuple) -> list:
    """The record whose key is exactly this one, if any; else all that match loosely."""
    exact = [c for c in candidates if tuple(getattr(c, a.key) for a in attrs) == key]
    return exact or candidates
