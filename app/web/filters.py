"""List filters: 是/否 on booleans and derived values, the _flt_ arguments read with checks,
filter values read as their column compares them, and one Filters object per request (FAB
shares one between requests: #2366)."""
from __future__ import annotations

import copy
import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import has_request_context
from flask_appbuilder.models.filters import BaseFilter

from ..per_request import request_cache
from ..sheets.values import ValueProblem
from .errors import BadInput
from .fab_fixes import is_id

YES = {"是", "y", "Y", "1", "true", "True", "yes"}


class FilterYesNo(BaseFilter):
    """是/否 on a boolean column or a boolean derived value (双资质 is SQL: two EXISTS)."""
    name = "等于"
    arg_name = "qd_yes_no"

    def apply(self, query, value):
        expr = getattr(self.model, self.column_name)
        return query.filter(expr if str(value).strip() in YES else sa.not_(expr))


def apply_filter_args(filters, args, search_only: bool = True) -> None:
    """Fill `filters` from _flt_<index>_<column> arguments, as FAB's get_filter_args does
    with request.args, for any args (the export passes the list page's query string).
    `search_only=False` also takes a parent that is not searchable (FAB's add links from a
    record's related lists prefill the parent so). An index out of range is ignored."""
    filters.clear_filters()
    usable = filters.get_search_filters() if search_only else filters._all_filters
    for arg in args:
        match = re.fullmatch(r"_flt_(\d)_(.+)", arg)
        if not match or match[2] not in usable:
            continue
        index, column = int(match[1]), match[2]
        if index < min(len(usable[column]), len(filters._all_filters.get(column, ()))):
            filters.add_filter_index(column, index, args.getlist(arg))


class PerRequestFilters:
    """FAB keeps one Filters object per view and fills it from every request's arguments:
    under threads, pages showed other requests' filter values and rows (FAB #2366). Here
    each request gets its own object (FAB's code keeps working on `self._filters`)."""

    @property
    def _filters(self):
        if not has_request_context():
            return self.new_filters()
        store = request_cache("filters")
        if id(self) not in store:
            store[id(self)] = self.new_filters()
        return store[id(self)]

    @_filters.setter
    def _filters(self, _shared):
        pass  # FAB assigns its one shared object at start-up: never used

    def new_filters(self):
        return self.datamodel.get_filters(self.search_columns,
                                          getattr(self, "search_filters", None))


# ---------------------------------------------------------------------------- filter values
# FAB hands a filter's value to SQL as it came: a number to `ilike` (TypeError), a number
# compared with a text column (PostgreSQL: "operator does not exist"), a 20-digit number or
# "abc" for an integer or amount (DataError). Here each is read as its column compares it,
# or refused with a Chinese 400.
TEXT_OPERATIONS = {"sw", "nsw", "ew", "new", "ct", "nct"}
INT_RANGE = (-2**31, 2**31 - 1)  # INTEGER on PostgreSQL and MariaDB
NUMERIC_LIMIT = Decimal(10) ** 15


def checked_filters(filters):
    """A copy of `filters` with every value as its column can compare it (BadInput if none)."""
    if not filters or not filters.filters:
        return filters
    out = copy.copy(filters)
    out.values = [_values(flt, value) for flt, value in zip(filters.filters, filters.values)]
    return out


def _values(flt, value):
    if callable(value) or flt.arg_name in ("eqf", "inf") or getattr(flt, "from_code", False):
        return value  # a function of the code's own base filters, or a named filter (presets)
    if flt.arg_name in ("in", "not_in") or isinstance(value, (list, tuple)):
        return [_value(flt, v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return _value(flt, value)


def _label(flt) -> str:
    sheet = getattr(flt.datamodel, "sheet", None)
    return sheet.label(flt.column_name) if sheet is not None else flt.column_name


def _declared(flt):
    sheet = getattr(flt.datamodel, "sheet", None)
    try:
        return sheet.column(flt.column_name) if sheet is not None else None
    except KeyError:
        return None


def _value(flt, value):
    label = _label(flt)
    if isinstance(value, (dict, list, tuple)) or value is None:
        raise BadInput(f"「{label}」的筛选值应为一段文字或一个数字。")
    dm, name = flt.datamodel, flt.column_name
    if isinstance(flt, FilterYesNo) or flt.arg_name in TEXT_OPERATIONS \
            or dm.is_string(name) or dm.is_text(name):
        return value if isinstance(value, str) else str(value)
    if isinstance(value, str) and not value.strip():
        return value  # empty: FAB's own meaning (no value)
    if dm.is_relation(name):
        if not is_id(value):
            raise BadInput(f"「{label}」的筛选值应为所选记录的 id（正整数）。")
        return int(value)
    if dm.is_integer(name):
        return _integer(value, label)
    if dm.is_numeric(name) or dm.is_float(name):
        return _number(value, label)
    if dm.is_date(name):
        return _date(value, label, _declared(flt))
    return value


def _integer(value, label: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d{1,12}", text) \
            or not INT_RANGE[0] <= int(text) <= INT_RANGE[1]:
        raise BadInput(f"「{label}」的筛选值应为整数（-2147483648 到 2147483647）。")
    return int(text)


def _number(value, label: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite() \
            or abs(number) >= NUMERIC_LIMIT:
        raise BadInput(f"「{label}」的筛选值应为数字，如 300000 或 85.5。")
    return number


def _date(value, label: str, col) -> dt.date:
    try:
        parsed = col.type.parse(value) if col is not None else dt.date.fromisoformat(str(value))
    except (ValueProblem, ValueError, TypeError):
        parsed = None
    if not isinstance(parsed, dt.date):
        raise BadInput(f"「{label}」的筛选值应为日期，如 2015-03-01。")
    return parsed
