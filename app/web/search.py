"""A list's search box and the tags of its active filters.

`?q=王 化工`: every word must occur (case-insensitively) in one of the list's text columns —
its key, its declared search fields, and for a parent field the parent's own (an agency's
name or credit code). One OR-ed ILIKE per word across those columns, joined like a preset
(app/web/presets.py): the page, its count, its export and a bulk edit of "the whole filtered
list" all apply it. ID numbers are searched only by those who may see them whole (spec §1:
the others may not search on the number).

The tags: each active filter (the search words, each of FAB's `_flt_` filters) as text with
a link to the same page without it.
"""
from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.models.filters import BaseFilter
from werkzeug.datastructures import MultiDict

from ..sheets import types as t
from ..sheets.declare import Sheet
from .columns import parent_sheet
from .security import can_see_id_numbers

ARG = "q"
MAX_WORDS = 5
TEXT_TYPES = (t.Text, t.Enum, t.Multi, t.CreditCode, t.Phone, t.Email, t.IdNumber)
PAGING = re.compile(r"^(page|psize)_")


def _text_columns(sheet: Sheet, names) -> list:
    """The model columns of these fields that hold text a clerk would type into a search."""
    out = []
    for name in names:
        if name in sheet.relations or name not in {c.field for c in sheet.stored}:
            continue
        col = sheet.column(name)
        if not isinstance(col.type, TEXT_TYPES):
            continue
        if col.sensitive and not can_see_id_numbers():
            continue
        out.append(getattr(sheet.model, name))
    return out


def box_fields(sheet: Sheet) -> list[str]:
    """The fields the search box looks in, key first, in declaration order."""
    names = [k for k in sheet.key] + [f for f in sheet.search if f not in sheet.key]
    return list(dict.fromkeys(names))


def search_labels(sheet: Sheet) -> list[str]:
    """What the search box says it looks in (姓名、专家编号 …)."""
    out = []
    for name in box_fields(sheet):
        if name in sheet.relations:
            out.append(sheet.label(name) if parent_sheet(sheet, name) is None
                       else parent_sheet(sheet, name).title)
        elif _text_columns(sheet, [name]):
            out.append(sheet.label(name))
    return list(dict.fromkeys(out))


def text_condition(sheet: Sheet, text: str):
    """The SQL condition of the words of `text` (None when there is nothing to search)."""
    words = [w for w in re.split(r"\s+", (text or "").strip()) if w][:MAX_WORDS]
    if not words:
        return None
    names = box_fields(sheet)
    own = _text_columns(sheet, names)
    parents = []
    for rel in (n for n in names if n in sheet.relations):
        psheet = parent_sheet(sheet, rel)
        if psheet is not None:
            columns = _text_columns(psheet, box_fields(psheet))
            if columns:
                parents.append((getattr(sheet.model, rel), columns))
    if not own and not parents:
        return None

    def matches(word):
        alternatives = [c.icontains(word, autoescape=True) for c in own]
        alternatives += [rel.has(sa.or_(*(c.icontains(word, autoescape=True) for c in cols)))
                         for rel, cols in parents]
        return sa.or_(*alternatives)
    return sa.and_(*(matches(w) for w in words))


class FilterText(BaseFilter):
    """The search box as a FAB filter, so that FAB's count and page queries both apply it."""
    name = "包含"
    arg_name = "qd_text"
    from_code = True  # its value is an SQL condition built here, not a typed value

    def apply(self, query, value):
        return query.filter(value)


def with_text_search(filters, sheet: Sheet, args):
    """`filters` joined with the search words of `args` (a new Filters: FAB's may be shared)."""
    condition = text_condition(sheet, args.get(ARG, "")) if sheet is not None else None
    if condition is None:
        return filters
    datamodel = filters.datamodel
    extra = SimpleNamespace(filters=[FilterText(datamodel.get_pk_name(), datamodel)],
                            values=[condition])
    return filters.get_joined_filters(extra)


# ---------------------------------------------------------------------------- tags
def without(args, key: str, value: str | None = None) -> str:
    """The query string of `args` without one argument (one value of it), paging reset."""
    kept = MultiDict()
    for k, v in args.items(multi=True):
        if PAGING.match(k) or (k == key and (value is None or v == value)):
            continue
        kept.add(k, v)
    return urlencode(list(kept.items(multi=True)))


def _value_text(view, column: str, value: str) -> str:
    """A filter's value as people read it: a parent by its name, not its id."""
    sheet = view.sheet
    if sheet is not None and column in sheet.relations and str(value).isdigit():
        model = sa.inspect(sheet.model).relationships[column].mapper.class_
        parent = current_app.appbuilder.session.get(model, int(value))
        return str(parent) if parent is not None else f"#{value}（已删除）"
    return str(value)


def filter_tags(view, args) -> list[dict]:
    """The active filters of a list page as tags: {text, remove (query string without it)}."""
    tags = []
    text = (args.get(ARG) or "").strip()
    if text:
        tags.append({"text": f"搜索：{text}", "remove": without(args, ARG), "arg": ARG})
    usable = view._filters.get_search_filters()
    for arg, value in args.items(multi=True):
        match = re.fullmatch(r"_flt_(\d)_(.+)", arg)
        if not match or match[2] not in usable or not str(value).strip():
            continue
        index, column = int(match[1]), match[2]
        if index >= len(usable[column]):
            continue
        label = view.label_columns.get(column, column)
        operation = str(usable[column][index].name)
        tags.append({"text": f"{label} {operation} {_value_text(view, column, value)}",
                     "remove": without(args, arg, value), "arg": arg})
    return tags
