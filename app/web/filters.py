"""List filters: 是/否 on booleans and derived values, the _flt_ arguments read with checks,
and one Filters object per request (FAB shares one between requests: #2366)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import has_request_context
from flask_appbuilder.models.filters import BaseFilter

from .security import request_cache

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
