"""The model interface of a list's screens and API: FAB's SQLAInterface taught the declaration
(parents eagerly loaded, derived values in the list's own query, the declared order, filters
that do not reveal masked values, Chinese messages on refused writes)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..sheets.declare import sheets
from . import paging
from .columns import is_boolean, is_hybrid
from .filters import FilterYesNo
from .security import can_see_id_numbers, request_cache


class SaveRefused(Exception):
    """The database refused a write; the message says why in Chinese."""


class StaleRecord(SaveRefused):
    """The record changed between being read and being written (the ORM's version check)."""


def _save_message(exc: BaseException, action: str) -> str:
    cause = exc.__cause__ or exc
    if isinstance(cause, StaleDataError):
        return "这条记录已被他人修改，本次修改未保存：请刷新后重新编辑。"
    if isinstance(cause, IntegrityError):
        if action == "delete":
            return "这条记录仍被其他记录引用（如资质证书、盲审结果、约谈、抵押金或保单），不能删除：请先处理这些记录。"
        return "与已有记录重复，或缺少必填内容，未保存：请核对编号等不能重复的项目。"
    return "数据库出错，未保存：请稍后重试，或联系管理员。"


class SheetInterface(SQLAInterface):
    """FAB's model interface, taught the declaration: parents eagerly loaded, derived values
    computed in the list's own query, the declared order, Chinese messages on failed writes.

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
        names = self.sheet.order_by if self.sheet is not None else ()
        return [getattr(self.obj, n) for n in names] + [self.get_pk()]

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
            order = [direction(getattr(self.obj, order_column)), direction(self.get_pk())]
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

    # -- writing
    def _write(self, write, item, commit: bool, action: str) -> None:
        try:
            write(item, commit)
        except (SQLAlchemyError, DatabaseException) as exc:
            self.session.rollback()
            message = _save_message(exc, action)
            if has_request_context():
                request_cache("save")["error"] = message
            stale = isinstance(exc.__cause__ or exc, StaleDataError)
            raise (StaleRecord if stale else SaveRefused)(message) from None

    def add(self, item, commit=True):
        self._write(super().add, item, commit, "add")

    def edit(self, item, commit=True):
        self._write(super().edit, item, commit, "edit")

    def delete(self, item, commit=True):
        self._write(super().delete, item, commit, "delete")
