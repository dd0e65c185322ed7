"""The list screens and the lists' REST API, generated from the declarations (app/lists/…).

`build(sheet)` turns one Sheet into a ModelView (list, show, add, edit, delete) and a
ModelRestApi (/api/v1/<slug>/): labels, columns, filters, forms and rules all come from the
declaration, so a twelfth list needs no code here. The only hand-written view is the power's
"一项一表" page (PowersView). The import screens (app/web/imports.py) call `view_for()` and
`filtered_query()` to export what a list page shows.

What FAB does not do for us, and is done here once:
- rules: forms and API run the importer's parsers and `sheet.check()` (same messages);
- filters are built per request (FAB shares one object between requests: #2366);
- list pages load parents and derived values in the page's query (no query per row);
- paging arguments are bounded and a non-number is ignored (FAB: no bound, HTTP 500);
- ID numbers are masked for everyone without PERM_SEE_ID, in pages, forms and API;
- optimistic locking across an edit form's round-trip (FAB re-reads the record on POST, so
  "last save wins"): the form carries `_version`, a PUT may send "version" (409 if stale).
"""
from __future__ import annotations

import itertools
import os
import re

import sqlalchemy as sa
from flask import abort, current_app, flash, has_request_context, request, url_for
from flask_appbuilder import IndexView as FabIndexView
from flask_appbuilder import ModelRestApi, ModelView, expose, has_access
from flask_appbuilder import baseviews as fab_baseviews
from flask_appbuilder import views as fab_views
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    DatePickerWidget,
    Select2Widget,
)
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.hybrid import HybridExtensionType
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..sheets import types as t
from ..sheets.declare import Col, Sheet, error, sheets
from ..sheets.engine import describe_key, key_attr, record_key, stored_values
from ..sheets.values import ValueProblem, mask_id_number
from .security import (
    PERM_EXPORT,
    PERM_IMPORT,
    can_export,
    can_see_id_numbers,
    has_permission,
    request_cache,
)

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000  # beyond any list; keeps OFFSET a sane number
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# Copies of FAB templates that hard-code English; searched before FAB's own (see register()).
OVERRIDES = os.path.join(TEMPLATES, "overrides")
# Menu order within and across groups (the registry's is dependency order: policies come
# before deposits there, because a deposit may name its exempting policy).
MENU_ORDER = ("powers", "responsibilities", "reforms", "experts", "agencies", "qualifications",
              "reviews", "interviews", "enterprises", "deposits", "policies")

# Values derived from the stored ones, never typed: shown (and, when boolean, filtered 是/否)
# wherever a list's model has them. Label by attribute name.
DERIVED = {"dual_qualified": "双资质", "validity": "有效状态", "expired": "已过期"}
YES = {"是", "y", "Y", "1", "true", "True", "yes"}
EMPTY_CHOICE = SelectChoice("", "")


# ---------------------------------------------------------------------------- small helpers
def _is_hybrid(model, name: str) -> bool:
    desc = sa.inspect(model).all_orm_descriptors.get(name)
    return desc is not None and desc.extension_type is HybridExtensionType.HYBRID_PROPERTY


def _is_property(model, name: str) -> bool:
    return isinstance(getattr(model, name, None), property)


def _derived(model) -> list[str]:
    return [n for n in DERIVED if _is_hybrid(model, n) or _is_property(model, n)]


def _yes_no(value) -> str:
    return "" if value is None else ("是" if value else "否")


def _shown(col: Col, value) -> str:
    """A stored value as people read it; ID numbers masked unless the user may see them."""
    if value is None or value == "":
        return ""
    text = col.type.to_text(value)
    if col.sensitive and not can_see_id_numbers():
        return mask_id_number(text)
    return text


def _camel(slug: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", slug) if p)


def _screen_fields(sheet: Sheet) -> list[str]:
    """Stored fields and parent relations, in declaration order (informational columns,
    which only repeat a parent's attribute, left out)."""
    out: list[str] = []
    for c in sheet.columns:
        name = c.relation or c.field
        if not c.info and name not in out:
            out.append(name)
    return out


def _parent_sheet(sheet: Sheet, relation: str) -> Sheet | None:
    target = sa.inspect(sheet.model).relationships[relation].mapper.class_
    return sheets.for_model(target)


def _relation_label(sheet: Sheet, relation: str) -> str:
    """A parent is labelled with its list's title (技术服务机构); an optional reference such as
    an exempting policy, with its own column's header (免存保单号)."""
    cols = sheet.relations[relation]
    parent = _parent_sheet(sheet, relation)
    if any(c.required for c in cols) and parent is not None:
        return parent.title
    return sheet.label(relation)


def _labels(sheet: Sheet) -> dict[str, str]:
    labels = {c.field: c.header for c in sheet.columns}
    labels.update({rel: _relation_label(sheet, rel) for rel in sheet.relations})
    labels.update({n: DERIVED[n] for n in _derived(sheet.model)})
    return labels


def _description(col: Col) -> str:
    """Help text next to a form field: required or not, the type's description, the note."""
    describe = col.type.describe()
    parts = ["必填" if col.required else "",
             "" if describe == t.ValueType.word else describe,  # plain 文本 says nothing
             "" if col.note in describe else col.note]
    return "；".join(p for p in parts if p)


def _search_fields(sheet: Sheet) -> list[str]:
    """The declared search fields, plus the boolean derived values (双资质, 已过期)."""
    extra = [n for n in _derived(sheet.model) if _is_hybrid(sheet.model, n)]
    return list(dict.fromkeys([*sheet.search, *extra]))


def _is_boolean(sheet: Sheet | None, name: str) -> bool:
    if sheet is None:
        return False
    if _is_hybrid(sheet.model, name) and name in DERIVED:
        return True
    return any(c.field == name and isinstance(c.type, t.Boolean) for c in sheet.stored)


# ---------------------------------------------------------------------------- paging
def _bounded_args(prefix: str, low: int, high: int) -> dict[str, int]:
    out = {}
    for arg, value in request.args.items():
        if not arg.startswith(prefix):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue  # a non-number is ignored, not an HTTP 500
        out[arg[len(prefix):]] = max(low, min(number, high))
    return out


def get_page_args() -> dict[str, int]:
    return _bounded_args("page_", 0, MAX_PAGE)


def get_page_size_args() -> dict[str, int]:
    return _bounded_args("psize_", 1, MAX_PAGE_SIZE)


def harden_fab_request_args() -> None:
    """FAB reads page_<View> and psize_<View> with a bare int() and no upper bound (notes):
    give every FAB view (ours, the security screens) the bounded readers above, and the
    checked filter reader below."""
    for module in (fab_baseviews, fab_views):
        module.get_page_args = get_page_args
        module.get_page_size_args = get_page_size_args
    # FAB's add/edit read _flt_ arguments with an unchecked index (IndexError: HTTP 500).
    fab_baseviews.get_filter_args = lambda filters, disallow_if_not_in_search=True: \
        apply_filter_args(filters, request.args, search_only=disallow_if_not_in_search)


# ---------------------------------------------------------------------------- filters
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


# ---------------------------------------------------------------------------- data access
class SaveRefused(Exception):
    """The database refused a write; the message says why in Chinese."""


class StaleRecord(SaveRefused):
    """The record changed between being read and being written (the ORM's version check)."""


# Optimistic locking across a form's round-trip (or an API client's read and write): the
# version the clerk saw travels with the form as `_version` (API: "version").
VERSION_FIELD = "_version"
STALE_FORM_MESSAGE = ("保存未完成：您打开此记录后，它已被其他人修改（当前为第 {version} 版）。"
                      "请核对下列内容后再次保存；您填写的内容仍保留在表单中。")
STALE_API_MESSAGE = ("保存未完成：提交的版本（第 {sent} 版）不是这条记录的当前版本（第 {version} 版），"
                     "它已被其他人修改：请重新读取后再提交。")
BAD_VERSION_MESSAGE = "「version」应为整数：读取这条记录时得到的版本号。"


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

    # -- filters
    def get_filters(self, search_columns=None, search_filters=None):
        names = list(search_columns or ())
        hybrids = [n for n in names if self.sheet is not None and _is_hybrid(self.obj, n)]
        filters = super().get_filters([n for n in names if n not in hybrids], search_filters)
        filters.search_columns = names  # FAB cannot filter hybrids: FilterYesNo below
        # Copies: FAB's Filters keeps these dicts as class attributes when empty.
        filters._search_filters = dict(filters._search_filters)
        filters._all_filters = dict(filters._all_filters)
        for name in names:
            if _is_boolean(self.sheet, name):
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


# ---------------------------------------------------------------------------- rules
class RuleViolation(Exception):
    """A record the rules refuse: {field: [Chinese messages]} (None = the whole record)."""

    def __init__(self, messages: dict):
        super().__init__(messages)
        self.messages = messages


def rule_problems(sheet: Sheet, record: dict, record_id=None):
    """`sheet.check()` — the importer's rules — plus the natural key's uniqueness."""
    derive = getattr(sheet, "derive", None)
    if derive is not None:
        record = derive(dict(record))
    yield from sheet.check(record)
    key = record_key(sheet, record)
    if key is None:
        return
    model = sheet.model
    stmt = sa.select(model.id).where(*(key_attr(sheet, k) == v for k, v in zip(sheet.key, key)))
    if record_id is not None:
        stmt = stmt.where(model.id != int(record_id))
    session = current_app.appbuilder.session
    with session.no_autoflush:  # an API update's pending changes are not written yet
        taken = session.scalar(stmt.limit(1)) is not None
    if taken:
        labels = "、".join(f"「{sheet.label(k)}」" for k in sheet.key)
        shown = describe_key(sheet, record)
        if any(sheet.column(k).sensitive for k in sheet.key if k not in sheet.relations) \
                and not can_see_id_numbers():
            shown = mask_id_number(shown)
        yield error(sheet.key[-1], f"已有{labels}相同的记录（{shown}）：请核对，"
                                   "或到列表中编辑已有的那条记录")


def lock_reason(sheet: Sheet, records: list[dict]) -> str | None:
    """Why one of these records may not be written (`Sheet.locked`: a review of a published
    batch), or None."""
    session = current_app.appbuilder.session
    with session.no_autoflush:  # an API update's pending changes are not written yet
        return next(filter(None, sheet.lock_reasons(session, records)), None)


def _original_values(sheet: Sheet, item) -> dict:
    """An API-updated record's values as stored, before the request's changes."""
    state = sa.inspect(item)
    out = {}
    for name in [c.field for c in sheet.stored] + list(sheet.relations):
        history = state.attrs[name].history
        out[name] = history.deleted[0] if history.deleted else getattr(item, name)
    return out


def target_field(name: str | None, fields) -> str | None:
    """The form or API field a problem belongs to: a relation's lookup column ("agency.
    credit_code") is its relation's field ("agency"); None is the whole record."""
    if name is None:
        return None
    if name in fields:
        return name
    relation = name.split(".", 1)[0]
    return relation if relation in fields else None


# ---------------------------------------------------------------------------- forms
class Parse:
    """WTForms validator: the column's own parser (the importer's), so a form normalises as an
    import does (full-width digits, 30万元, 2015年3月1日 …) and says what is wrong in the
    importer's words. A masked ID number sent back unchanged keeps the stored one."""

    def __init__(self, col: Col):
        self.col = col

    def __call__(self, form, field):
        field.parsed, field.unchanged = None, False
        stored = getattr(form, "_stored", None)
        if self.col.sensitive and stored is not None:
            original = getattr(stored, self.col.field)
            if original and field.data == mask_id_number(original):
                field.parsed, field.unchanged = original, True
                return
        try:
            field.parsed = self.col.type.parse(field.data)
        except ValueProblem as exc:
            raise ValidationError(exc.message) from None


class _Parsed:
    parsed = None
    unchanged = False

    def populate_obj(self, obj, name):
        if not self.unchanged:
            setattr(obj, name, self.parsed)


class TextInput(_Parsed, StringField):
    pass


class LongTextInput(_Parsed, TextAreaField):
    pass


class ChoiceInput(_Parsed, SelectField):
    pass


def _choices(col: Col):
    def choices(form, field):
        values = list(col.type.choices)
        if field.data and field.data not in values:
            values.append(field.data)  # a stored value no longer in the dictionary stays shown
        return [EMPTY_CHOICE, *(SelectChoice(v, v) for v in values)]
    return choices


def _form_field(col: Col, label: str):
    kw = dict(label=label, validators=[Parse(col)], description=_description(col))
    vt = col.type
    if isinstance(vt, t.Date):
        return TextInput(widget=DatePickerWidget(), **kw)
    if vt.choices is not None and not isinstance(vt, t.Multi):  # 枚举, 是否: a dropdown
        return ChoiceInput(choices=_choices(col), validate_choice=False,
                           widget=Select2Widget(), **kw)
    if isinstance(vt, t.LongText):
        return LongTextInput(widget=BS3TextAreaFieldWidget(), **kw)
    return TextInput(widget=BS3TextFieldWidget(), **kw)  # 多选: text, values in description


def _relation_field(sheet: Sheet, relation: str, label: str):
    target = sa.inspect(sheet.model).relationships[relation].mapper.class_
    parent = sheets.for_model(target)
    order = [getattr(target, n) for n in (parent.order_by if parent else ())] + [target.id]
    note = "；".join(c.note for c in sheet.relations[relation] if c.note)

    def query_func():
        return current_app.appbuilder.session.query(target).order_by(*order).all()

    return QuerySelectField(label, description=note, query_func=query_func,
                            get_pk_func=lambda obj: obj.id, allow_blank=True,
                            widget=Select2Widget())


class VersionField(HiddenField):
    """The version of the record when its edit form was shown (rendered by FAB's
    `form.hidden_tag()`). Compared in `SheetForm.validate`, never written to the record."""

    def populate_obj(self, obj, name):
        pass


class SheetForm(DynamicForm):
    """The add/edit form of a list: each field parsed by its column's type, then the record
    checked by `sheet.check()` — the importer's rules — with each problem next to its field;
    warnings are flashed and do not block.

    An edit form carries the version it was shown from (`_version`): a save over someone
    else's later change is refused, the form shown again with what was typed and the current
    version, so that saving once more (the clerk has seen the warning) goes through."""
    sheet: Sheet = None
    _id = None      # FAB sets the edited record's primary key before validate()
    _stored = None  # that record, as stored

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        if not self.is_submitted():  # a record shown for editing: as people read it
            stored = obj if isinstance(obj, self.sheet.model) else None
            for c in self.sheet.stored:
                # from the record, not field.data: a dropdown has already made False "False"
                value = getattr(stored, c.field) if stored is not None else self[c.field].data
                self[c.field].data = _shown(c, value)
            if stored is not None and "qd_version" in self._fields:
                self.qd_version.data = str(stored.version)

    def stale_message(self) -> str | None:
        """Why the edited record may not be saved from this form: it changed since the form
        was shown. No `_version` (a form from before this field) is accepted, as before."""
        stored = self._stored
        if stored is None or "qd_version" not in self._fields:
            return None
        sent = (self.qd_version.data or "").strip()
        if not sent or sent == str(stored.version):
            return None
        current_app.logger.info(
            "edit refused, %s id=%s changed since its form was shown (form version %s, now %s)",
            self.sheet.slug, stored.id, sent if sent.isdigit() else "?", stored.version)
        self.qd_version.data = str(stored.version)  # shown again: a second save goes through
        return STALE_FORM_MESSAGE.format(version=stored.version)

    def record(self) -> dict:
        """The values as a rule sees them (parents as instances, as the importer gives)."""
        record = {}
        for c in self.sheet.columns:
            if c.info:
                continue
            if c.relation:
                parent = self[c.relation].data
                record[c.relation] = parent
                record[c.field] = getattr(parent, c.attr) if parent is not None else None
            else:
                record[c.field] = self[c.field].parsed
        return record

    def validate(self, extra_validators=None):
        if self._id is not None:
            self._stored = current_app.appbuilder.session.get(self.sheet.model, int(self._id))
            stale = self.stale_message()
            if stale:
                self.form_errors.append(stale)
                flash(stale, "danger")  # first, at the top of the re-rendered form
        valid = super().validate(extra_validators)
        told = {name for name, f in self._fields.items() if f.errors}
        for p in rule_problems(self.sheet, self.record(), self._id):
            name = target_field(p.field, self._fields)
            if p.warning:
                flash(p.message, "warning")
            elif name is None:
                self.form_errors.append(p.message)
                flash(p.message, "danger")  # shown at the top of the re-rendered form
            elif name not in told:  # a value that could not be read is reported once
                self[name].errors.append(p.message)
        # A locked record (a review of a published batch) may be neither changed, nor moved
        # out of, nor added to its batch.
        records = [self.record()]
        if self._stored is not None:
            records.append(stored_values(self.sheet, self._stored))
        locked = lock_reason(self.sheet, records)
        if locked:
            self.form_errors.append(locked)
            flash(locked, "danger")
        return valid and not self.errors


def build_form(sheet: Sheet, labels: dict[str, str]) -> type[SheetForm]:
    fields = {}
    for name in _screen_fields(sheet):
        if name in sheet.relations:
            fields[name] = _relation_field(sheet, name, labels[name])
        else:
            fields[name] = _form_field(sheet.column(name), labels[name])
    return type(f"{_camel(sheet.slug)}Form", (SheetForm,), {"sheet": sheet, **fields})


def edit_form(form: type[SheetForm]) -> type[SheetForm]:
    """The edit form: the add form plus the version it was shown from (`_version`, hidden).
    WTForms ignores attributes starting with "_": the HTML name is given explicitly."""
    return type(form.__name__.replace("Form", "EditForm"), (form,),
                {"qd_version": VersionField(name=VERSION_FIELD)})


def _search_extra_fields(sheet: Sheet, labels: dict[str, str]) -> dict:
    """Dropdowns for enumerations and 是/否 in the search form (FAB would offer a text box)."""
    out = {}
    for name in _search_fields(sheet):
        if _is_boolean(sheet, name):
            choices = [SelectChoice("是"), SelectChoice("否")]
        elif name in sheet.relations or name not in {c.field for c in sheet.stored}:
            continue
        elif isinstance(sheet.column(name).type, t.Enum):
            choices = [SelectChoice(v) for v in sheet.column(name).type.choices]
        else:
            continue
        out[name] = SelectField(labels[name], choices=choices, widget=Select2Widget())
    return out


# ---------------------------------------------------------------------------- screens
class SheetView(PerRequestFilters, ModelView):
    """A list's screens. Subclassed per list by `build()`; attributes come from the Sheet."""
    sheet: Sheet = None
    page_size = PAGE_SIZE
    template_folder = TEMPLATES  # FAB resolves "templates" inside its own package
    list_template = "qingdan/list.html"
    show_template = "qingdan/show.html"
    exclude_route_methods = {"download", "action", "action_post"}  # no files, no actions
    row_links: dict[str, tuple[str, str]] = {}  # list column -> (label, method of this view)

    add_row_message = "已新增记录"
    edit_row_message = "已保存修改"
    delete_row_message = "已删除记录"

    def pre_delete(self, item):
        locked = lock_reason(self.sheet, [stored_values(self.sheet, item)])
        if locked:
            raise SaveRefused(locked)  # FAB flashes it; nothing is deleted

    @property
    def database_error_message(self):
        # FAB flashes this on a failed edit; say what actually went wrong.
        return request_cache("save").get("error") or "数据库出错，未保存。"

    def _list(self, **kwargs):
        """FAB's _list with the order column checked (an unknown one is an SQL error in FAB,
        and ordering by a masked column would reveal it) and filters read per request."""
        name = self.__class__.__name__
        order_column, order_direction = fab_baseviews.get_order_args().get(name, ("", ""))
        if order_column not in self.order_columns:
            order_column, order_direction = "", ""
        filters = self._filters
        apply_filter_args(filters, request.args)
        widgets = self._get_list_widget(
            filters=filters, order_column=order_column, order_direction=order_direction,
            page=get_page_args().get(name), page_size=get_page_size_args().get(name),
            **kwargs)
        self.update_redirect()
        return self._get_search_widget(form=self.search_form.refresh(), widgets=widgets)

    def render_template(self, template, **kwargs):
        kwargs.setdefault("sheet", self.sheet)
        kwargs.setdefault("view", self)
        return super().render_template(template, **kwargs)

    def item_links(self, pk) -> list[tuple[str, str]]:
        """(label, url) of the pages of one record besides show/edit (e.g. 一项一表)."""
        return [(label, url_for(f"{self.endpoint}.{method}", pk=pk))
                for label, method in self.row_links.values()
                if has_permission((f"can_{method}", self.class_permission_name))]


class PowersView(SheetView):
    """行政权力清单, with "一项一表": one power, all its fields and its duties, printable."""
    row_links = {"link_table": ("一项一表", "table")}

    @expose("/table/<int:pk>")
    @has_access
    def table(self, pk):
        power = self.datamodel.get(pk, self._base_filters)
        if power is None:
            abort(404)
        fields = [(c.header, _shown(c, getattr(power, c.field))) for c in self.sheet.stored]
        duties = sheets.for_model(type(power).duties.property.mapper.class_)
        columns = [c for c in duties.stored if c.field != "stage"]
        # power.duties is ordered by the stage's place in the procedure, then 序号.
        stages = [(stage, [[_shown(c, getattr(d, c.field)) for c in columns] for d in group])
                  for stage, group in itertools.groupby(power.duties, lambda d: d.stage)]
        return self.render_template(
            "qingdan/power_table.html", title=f"{power.name}（一项一表）", power=power,
            fields=fields, duty_headers=[c.header for c in columns], stages=stages,
            stage_label=duties.column("stage").header, duties_title=duties.title)


VIEW_CLASSES: dict[str, type[SheetView]] = {"powers": PowersView}


def _as_given(value, attr=None, data=None, **kwargs):
    return value


class SheetApi(PerRequestFilters, ModelRestApi):
    """A list's REST API (/api/v1/<slug>/): JWT or API key, no session cookie. Writes are
    parsed and checked as forms and imports are; refusals are HTTP 422 in Chinese."""
    sheet: Sheet = None
    page_size = PAGE_SIZE

    def _init_model_schemas(self):
        super()._init_model_schemas()
        stored = {c.field for c in self.sheet.stored}
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in schema.fields.items():
                # What is required, and how a value is read, is the declaration's: the
                # column's parser and sheet.check() answer in Chinese, as for forms and
                # imports ("30万元", "2015年3月1日" accepted; a bad value named in Chinese).
                field.required, field.allow_none = False, True
                if name in stored:
                    field._deserialize = _as_given
                    field.validators = []

    # -- the same rules as the forms
    def _check(self, item) -> None:
        state = sa.inspect(item)
        record, messages = {}, {}
        for c in self.sheet.columns:
            if c.info:
                continue
            if c.relation:
                parent = getattr(item, c.relation)
                record[c.relation] = parent
                record[c.field] = getattr(parent, c.attr) if parent is not None else None
                continue
            raw = getattr(item, c.field)
            history = state.attrs[c.field].history
            original = history.deleted[0] if history.deleted else None
            if c.sensitive and original and raw == mask_id_number(original):
                setattr(item, c.field, original)  # sent back as shown: unchanged
                record[c.field] = original
                continue
            try:
                value = c.type.parse(raw)
            except ValueProblem as exc:
                messages.setdefault(c.field, []).append(exc.message)
                value = None
            else:
                if value != raw:
                    setattr(item, c.field, value)  # normalised as an import would store it
            record[c.field] = value
        locked = lock_reason(self.sheet, [record] + (
            [_original_values(self.sheet, item)] if state.persistent else []))
        if locked:
            messages.setdefault("_record", []).append(locked)
        names = set(_screen_fields(self.sheet))
        warnings = []
        for p in rule_problems(self.sheet, record, item.id if state.persistent else None):
            name = target_field(p.field, names)
            if p.warning:
                warnings.append(p.message)
            elif name not in messages:
                messages.setdefault(name or "_record", []).append(p.message)
        if messages:
            raise RuleViolation(messages)
        request_cache("save")["warnings"] = warnings

    def pre_add(self, item):
        self._check(item)

    def pre_update(self, item):
        self._check(item)

    def pre_delete(self, item):
        locked = lock_reason(self.sheet, [stored_values(self.sheet, item)])
        if locked:
            raise SaveRefused(locked)

    def _refused(self, exc):
        self.datamodel.session.rollback()
        return self.response_422(message=exc.messages if isinstance(exc, RuleViolation)
                                 else str(exc))

    def post_headless(self):
        try:
            return self._finish(super().post_headless())
        except (RuleViolation, SaveRefused) as exc:
            return self._refused(exc)

    def put_headless(self, pk):
        refused = self._check_version(pk)
        if refused is not None:
            return refused
        try:
            return self._finish(super().put_headless(pk))
        except StaleRecord as exc:  # changed between our read and our write
            self.datamodel.session.rollback()
            return self.response(409, message=str(exc))
        except (RuleViolation, SaveRefused) as exc:
            return self._refused(exc)

    # -- optimistic locking: an optional "version" (as read) in a PUT's body
    def _check_version(self, pk):
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("version") is None:
            return None  # no version sent: saved as before
        sent = body["version"]
        if isinstance(sent, str) and sent.strip().isdigit():
            sent = int(sent)
        if isinstance(sent, bool) or not isinstance(sent, int):
            return self.response_422(message={"version": [BAD_VERSION_MESSAGE]})
        item = self.datamodel.get(pk, self._base_filters)
        if item is None or item.version == sent:
            return None  # FAB answers 404 for a missing record
        return self.response(409, message=STALE_API_MESSAGE.format(sent=sent,
                                                                   version=item.version),
                             version=item.version)

    def _merge_update_item(self, model_item, data):
        data = {k: v for k, v in data.items() if k != "version"}  # checked above
        return super()._merge_update_item(model_item, data)

    def post_add(self, item):
        request_cache("save")["version"] = item.version

    def post_update(self, item):
        request_cache("save")["version"] = item.version

    def delete_headless(self, pk):
        try:
            return super().delete_headless(pk)
        except SaveRefused as exc:
            return self._refused(exc)

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page, page_size)
        # FAB runs gettext("") for a field without a description: the catalogue's header.
        for key, texts in (("description", self.description_columns),
                           ("label", self.label_columns)):
            if not texts.get(field.name):
                info[key] = ""
        return info

    # -- masking and warnings in what is sent back
    def _mask(self, result: dict) -> None:
        if can_see_id_numbers():
            return
        for c in self.sheet.stored:
            if c.sensitive and result.get(c.field):
                result[c.field] = mask_id_number(result[c.field])

    def _finish(self, response):
        data = response.get_json(silent=True)
        if response.status_code >= 300 or not isinstance(data, dict):
            return response
        if isinstance(data.get("result"), dict):
            self._mask(data["result"])
            version = request_cache("save").get("version")
            if version is not None:  # what to send with the next PUT
                data["result"]["version"] = version
        warnings = request_cache("save").get("warnings")
        if warnings:
            data["warnings"] = warnings
        return self.response(response.status_code, **data)

    def pre_get(self, data):
        self._mask(data.get("result") or {})

    def pre_get_list(self, data):
        for row in data.get("result") or []:
            self._mask(row)


# ---------------------------------------------------------------------------- the factory
def _formatter(col: Col):
    return lambda value: _shown(col, value)


def _link_formatter(view_name: str, label: str, method: str):
    def link(pk):
        if not has_permission((f"can_{method}", view_name)):
            return ""
        url = url_for(f"{view_name}.{method}", pk=pk)
        return Markup('<a href="{}">{}</a>').format(url, label)
    return link


def build(sheet: Sheet) -> tuple[type[SheetView], type[SheetApi]]:
    """The ModelView and the ModelRestApi of one list, from its declaration alone."""
    model = sheet.model
    name = _camel(sheet.slug)
    base = VIEW_CLASSES.get(sheet.slug, SheetView)
    labels = _labels(sheet)
    fields = _screen_fields(sheet)
    derived = _derived(model)
    stored = {c.field: c for c in sheet.stored}

    list_columns = list(sheet.list_fields or fields[:6])
    if "validity" in derived and "validity" not in list_columns:
        list_columns.append("validity")  # 有效 / 已过期 next to the typed status
    list_columns += list(base.row_links)
    labels.update({k: label for k, (label, _m) in base.row_links.items()})
    hybrids = tuple(n for n in list_columns if _is_hybrid(model, n))
    order_columns = [n for n in list_columns
                     if (n in stored and not stored[n].sensitive) or n in hybrids]
    default_order = (sheet.order_by[0], "asc") if sheet.order_by else None
    formatters = {n: _formatter(c) for n, c in stored.items()}
    formatters.update({n: _yes_no for n in derived if _is_hybrid(model, n)})
    formatters.update({k: _link_formatter(f"{name}View", label, method)
                       for k, (label, method) in base.row_links.items()})
    # No empty ones: FAB's API runs each through gettext, and gettext("") is the catalogue's
    # header.
    descriptions = {c.field: _description(c) for c in sheet.stored if _description(c)}
    search = _search_fields(sheet)

    def interface():
        datamodel = SheetInterface(model)
        datamodel.default_order = default_order
        return datamodel

    view_model = interface()
    view_model.derived_columns = hybrids
    form = build_form(sheet, labels)
    view = type(f"{name}View", (base,), dict(
        sheet=sheet, datamodel=view_model, route_base=f"/{sheet.slug}",
        list_title=sheet.title, show_title=f"{sheet.title}：查看",
        add_title=f"{sheet.title}：新增", edit_title=f"{sheet.title}：编辑",
        label_columns=labels, description_columns=descriptions,
        list_columns=list_columns, order_columns=order_columns, base_order=default_order,
        show_columns=fields + [n for n in derived if n not in fields],
        add_columns=fields, edit_columns=fields, add_form=form, edit_form=edit_form(form),
        search_columns=search, search_form_extra_fields=_search_extra_fields(sheet, labels),
        formatters_columns=formatters,
    ))
    api = type(f"{name}Api", (SheetApi,), dict(
        sheet=sheet, datamodel=interface(), resource_name=sheet.slug,
        list_title=sheet.title, show_title=sheet.title, add_title=sheet.title,
        edit_title=sheet.title, label_columns=labels, description_columns=descriptions,
        # Reading: the columns of the spreadsheet ("agency.credit_code" nests the parent).
        list_columns=[c.field for c in sheet.columns],
        # "version": what a PUT may send back, to be refused (409) if someone saved since.
        show_columns=["id", "version", *(c.field for c in sheet.columns)],
        add_columns=fields, edit_columns=fields,
        search_columns=search, base_order=default_order,
        order_columns=[n for n, c in stored.items() if not c.sensitive],
    ))
    return view, api


def register(appbuilder) -> None:
    """Every declared list: its screens under its group's menu, and its API."""
    harden_fab_request_args()
    built = {s.slug: build(s) for s in sheets}
    # Related lists on a record's page (an agency's certificates …): every list whose
    # records name this one as their parent.
    for sheet in sheets:
        view = built[sheet.slug][0]
        view.related_views = [
            built[child.slug][0] for child in sheets
            if any(_parent_sheet(child, rel) is sheet for rel in child.relations)]
    ordered = sorted(sheets, key=lambda s: (MENU_ORDER.index(s.slug) if s.slug in MENU_ORDER
                                            else len(MENU_ORDER)))
    for sheet in ordered:  # 权责清单, 专家库, 技术服务机构, 抵押金与保险
        view, api = built[sheet.slug]
        appbuilder.add_view(view, sheet.title, category=sheet.group or "清单",
                            icon="fa-table")
        appbuilder.add_api(api)
    # FAB's blueprints come before ours in template lookup; only the app's own loader comes
    # first, so the overrides of FAB templates are put in front of it.
    current_app.jinja_loader = ChoiceLoader([FileSystemLoader(OVERRIDES),
                                             *filter(None, [current_app.jinja_loader])])
    current_app.jinja_env.globals.update(
        can_see_id_numbers=can_see_id_numbers, qd_has=has_permission,
        qd_can_export=can_export, qd_lists=lists_summary, PERM_IMPORT=PERM_IMPORT,
        PERM_EXPORT=PERM_EXPORT)
    index = getattr(appbuilder, "_indexview", None)
    if index is not None and not isinstance(index, IndexView):
        # FAB_INDEX_VIEW (config) makes IndexView the index; until then, FAB's shows ours.
        index.index_template = IndexView.index_template


# ---------------------------------------------------------------------------- for others
def view_for(slug: str) -> SheetView:
    """The registered ModelView instance of a list (of the current app)."""
    for view in current_app.appbuilder.baseviews:
        if isinstance(view, SheetView) and view.sheet.slug == slug:
            return view
    raise KeyError(slug)


def filtered_query(slug: str, args) -> sa.Select:
    """The list's records as its page filters them by `args` (the page's query string):
    same filters, built for this call only (#2367), in the declared order."""
    view = view_for(slug)
    filters = view.new_filters()
    apply_filter_args(filters, args)
    stmt = filters.get_joined_filters(view._base_filters).apply_all(sa.select(view.datamodel.obj))
    return stmt.order_by(*view.datamodel.sheet_order)


def lists_summary() -> list[tuple[str, list[dict]]]:
    """For the index page: each list the user may open, by group, with its record count."""
    session = current_app.appbuilder.session
    groups: dict[str, list[dict]] = {}
    for view in current_app.appbuilder.baseviews:
        if not isinstance(view, SheetView):
            continue
        if not has_permission(("can_list", view.class_permission_name)):
            continue
        sheet = view.sheet
        count = session.scalar(sa.select(sa.func.count()).select_from(sheet.model))
        groups.setdefault(sheet.group or "清单", []).append(dict(
            title=sheet.title, slug=sheet.slug, count=count,
            url=url_for(f"{view.endpoint}.list")))
    return list(groups.items())


class IndexView(FabIndexView):
    """首页: each list with its record count. Set FAB_INDEX_VIEW = "app.web.views.IndexView"
    to make it the index; without it `register()` gives FAB's index this template."""
    index_template = "qingdan/index.html"
