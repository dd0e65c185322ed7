"""The model interface of a list's screens and API: FAB's SQLAInterface taught the declaration
(parents eagerly loaded, derived values in the list's own query, the declared order, filters
that do not reveal masked values and whose values are checked, writes through the record
commands)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy.orm import joinedload

from ..sheets import records
from ..sheets.declare import sheets
from ..sheets.records import Draft
from ..sheets.rows import stored_values
from ..sheets.sorting import declared_order, order_expressions
from . import paging
from .columns import is_boolean, is_hybrid
from .commands import web_actor
from .filters import FilterYesNo, checked_filters
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
        hidden = self.hidden_fields()
        if hidden:
            # A filter on a masked value is an oracle: "starts with" reveals it digit by
            # digit, and even "equal to" answers 1 or 0 for each guess (a birth date has
            # some 20,000 likely values). Who may not see it may not filter on it at all.
            filters.search_columns = [n for n in names if n not in hidden]
            for name in hidden:
                filters._search_filters.pop(name, None)
                filters._all_filters.pop(name, None)
        return filters

    def hidden_fields(self) -> set[str]:
        """The sensitive fields (身份证号码, 出生日期) of a user who may not see them."""
        if self.sheet is None or can_see_id_numbers():
            return set()
        return {c.field for c in self.sheet.stored if c.sensitive}

    def apply_filters(self, query, filters):
        return super().apply_filters(query, checked_filters(filters))

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
        """One page: its ids first (from the order index alone), then those rows with their
        parents and derived values; count and depth handled by app/web/paging.py."""
        if self.sheet is None or "." in (order_column or ""):
            return super().query(filters, order_column, order_direction, page, page_size,
                                 select_columns, outer_default_load)
        ids = self.apply_filters(self.session.query(self.obj.id), self.get_inner_filters(filters))
        filtered = bool(filters is not None and filters.filters)
        count = paging.count_rows(self.session, ids, self.obj.__table__, filtered)
        if getattr(count, "exact", True) is False and not filtered and page_size and \
                (page or 0) * page_size >= count / 2:
            count = paging.exact_count(ids)  # a page near the end: counted to find it
        # The declared order (several columns) stands in for FAB's one-column default.
        if (order_column, order_direction) in (("", ""), self.default_order):
            order = self.sheet_order
        else:
            direction = sa.desc if order_direction == "desc" else sa.asc
            stored = {c.field for c in self.sheet.stored}
            keys = (order_expressions(self.sheet, order_column) if order_column in stored
                    else [getattr(self.obj, order_column)])  # by pinyin, dictionary order
            order = [*(direction(e) for e in keys), direction(self.get_pk())]
        offset, limit, backwards = paging.page_window(count, page, page_size)
        if limit == 0:
            return count, []
        ids = ids.order_by(*(paging.reversed_order(order) if backwards else order))
        page_ids = [row[0] for row in ids.offset(offset or None).limit(limit).all()]
        if backwards:
            page_ids.reverse()
        if not page_ids:
            return count, []
        query = self.apply_all(self.session.query(self.obj).filter(self.obj.id.in_(page_ids)),
                               select_columns=select_columns,
                               outer_default_load=outer_default_load)
        query = query.options(*self._eager(select_columns))
        derived = [] if select_columns else list(self.derived_columns)
        if derived:
            query = query.add_columns(*(getattr(self.obj, n).label(f"qd_{n}") for n in derived))
        by_id = {}
        for row in query.all():
            item = row if isinstance(row, self.obj) else row[0]
            if derived:
                item._qd_derived = dict(zip(derived, row[len(row) - len(derived):]))
            by_id[item.id] = item
        return count, [by_id[i] for i in page_ids if i in by_id]

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
