"""The model interface of a list's screens and API: FAB's SQLAInterface taught the declaration
(parents eagerly loaded, derived values in the list's own query, the declared order, filters
that do not reveal masked values, writes through the record commands)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy.orm import joinedload

from ..sheets import records
from ..sheets.declare import sheets
from ..sheets.records import Draft
from ..sheets.rows import stored_values
from ..sheets.sorting import declared_order, order_expressions
from .columns import is_boolean, is_hybrid
from .commands import web_actor
from .filters import FilterYesNo
from .security import can_see_id_numbers


class SaveRefused(Exception):
    """A record command refused a write; the message says why in Chinese."""


class SheetInterface(SQLAInterface):
    """FAB's model interface, taught the declaration: parents eagerly loaded, derived values
    computed in the list's own query, the declared order, writes through the record commands.

    FAB creates interfaces of related models with the model alone, hence the signature.
    """

    def __init__(self, obj, session=None):
        super().__init__(obj, session)
        self.sheet = sheets.for_model(obj)
        self.derived_columns: tuple[str, ...] = ()  # hybrids a list shows (set by the view)
        self.default_order: tuple[str, str] | None = None

    @classmethod
    def for_sheet(cls, sheet) -> SheetInterface:
        datamodel = cls(sheet.model)
        datamodel.default_order = (sheet.order_by[0], "asc") if sheet.order_by else None
        return datamodel

    # -- filters
    def get_filters(self, search_columns=None, search_filters=None):
        names = list(search_columns or ())
        hybrids = [n for n in names if self.sheet is not None and is_hybrid(self.obj, n)]
        filters = super().get_filters([n for n in names if n not in hybrids], search_filters)
        filters.search_columns = names  # FAB cannot filter hybrids: FilterYesNo below
        # Copies: FAB's Filters keeps these dicts as class attributes when empty.
        filters._search_filters = dict(filters._search_filters)
        filters._all_filters = dict(filters._all_filters)
        for name in names:
            if is_boolean(self.sheet, name):
                filters._search_filters[name] = filters._all_filters[name] = [
                    FilterYesNo(name, self)]
        if self.sheet is not None and not can_see_id_numbers():
            # "starts with"/"contains" on a masked number would reveal it digit by digit:
            # who may not see it may only look a whole number up.
            for c in self.sheet.stored:
                if c.sensitive and c.field in filters._search_filters:
                    filters._search_filters[c.field] = filters._all_filters[c.field] = [
                        f for f in filters._all_filters[c.field] if type(f) is FilterEqual]
        return filters

    # -- reading
    @property
    def sheet_order(self) -> list:
        """The declared order: texts by pinyin, enumerations as their dictionary lists them
        (app/sheets/sorting.py)."""
        if self.sheet is None:
            return [self.get_pk()]
        return declared_order(self.sheet)

    def apply_order_by(self, query, order_column, order_direction, aliases_mapping=None,
                       bypass_many_to_many=False, add_pk=False):
        """A column clicked in the list (or the API's order_column): by its sort key (pinyin,
        a dictionary's order) when it has one, then the id (a stable page order)."""
        stored = {c.field for c in self.sheet.stored} if self.sheet is not None else set()
        if order_column not in stored:
            return super().apply_order_by(query, order_column, order_direction,
                                          aliases_mapping, bypass_many_to_many, add_pk)
        direction = sa.asc if order_direction == "asc" else sa.desc
        return query.order_by(*(direction(e) for e in order_expressions(self.sheet, order_column)),
                              direction(self.get_pk()))

    def _eager(self, select_columns) -> list:
        if self.sheet is None:
            return []
        joined = {c.split(".", 1)[0] for c in select_columns or () if "." in c}
        return [joinedload(getattr(self.obj, rel)) for rel in self.sheet.relations
                if rel not in joined]  # FAB joins dotted columns' parents itself

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        query = self.session.query(self.obj)
        count = self.query_count(query, filters, select_columns)
        # The declared order (several columns) stands in for FAB's one-column default.
        declared = (order_column, order_direction) in (("", ""), self.default_order)
        if declared:
            order_column = order_direction = ""
        query = self.apply_all(query, filters, order_column, order_direction,
                               None if declared else page, None if declared else page_size,
                               select_columns, outer_default_load)
        if declared:
            query = self.apply_pagination(query.order_by(*self.sheet_order), page, page_size)
        query = query.options(*self._eager(select_columns))
        derived = [] if select_columns else list(self.derived_columns)
        if derived:
            query = query.add_columns(*(getattr(self.obj, n).label(f"qd_{n}") for n in derived))
        result = []
        for row in query.all():
            item = row if isinstance(row, self.obj) else row[0]
            if derived:
                item._qd_derived = dict(zip(derived, row[len(row) - len(derived):]))
            result.append(item)
        return count, result

    def _value(self, item, col: str):
        derived = getattr(item, "_qd_derived", None)
        if derived and col in derived:
            return derived[col]
        if col.startswith("link_"):  # a row link (一项一表): its formatter needs the pk
            return item.id
        return self._get_attr_value(item, col)

    def get_values(self, lst, list_columns):
        for item in lst:
            yield {col: self._value(item, col) for col in list_columns}

    def get_values_item(self, item, show_columns):
        return [self._value(item, col) for col in show_columns]

    # -- writing: every write of a list record is a record command (app/sheets/records.py).
    # The screens and the API call the commands themselves; these cover anything else in FAB
    # that writes through the interface, so that nothing bypasses the checks and the trail.
    def _run(self, result) -> bool:
        if not result.ok:
            raise SaveRefused("；".join(p.message for p in result.problems))
        return True

    def add(self, item, commit=True):
        if self.sheet is None:  # a model that is no list (FAB's related interfaces)
            return super().add(item, commit)
        draft = Draft(stored_values(self.sheet, item))
        return self._run(records.create(self.session, self.sheet, draft, web_actor()))

    def edit(self, item, commit=True):
        if self.sheet is None:
            return super().edit(item, commit)
        draft = Draft(stored_values(self.sheet, item))
        self.session.rollback()  # the item's pending changes: the command writes them
        return self._run(records.update(self.session, self.sheet, item.id, draft, web_actor()))

    def delete(self, item, commit=True):
        if self.sheet is None:
            return super().delete(item, commit)
        return self._run(records.delete(self.session, self.sheet, item.id, web_actor()))
