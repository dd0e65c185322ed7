"""A list's REST API (/api/v1/<slug>/), generated from its declaration by `build_api(sheet)`:
JWT or API key, no session cookie. Writes are parsed and checked as forms and imports are;
refusals are HTTP 422 in Chinese, a stale "version" 409; ID numbers masked for whoever may
not see them."""
from __future__ import annotations

import sqlalchemy as sa
from apispec.exceptions import DuplicateComponentNameError
from flask import request
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import BaseApi

from ..sheets.declare import Sheet
from ..sheets.engine import stored_values
from ..sheets.values import ValueProblem
from . import openapi
from .checks import RuleViolation, lock_reason, original_values, rule_problems, target_field
from .columns import camel, descriptions, labels_of, screen_fields, search_fields
from .datamodel import SaveRefused, SheetInterface, StaleRecord
from .fab_fixes import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE
from .filters import PerRequestFilters
from .privacy import derived_refusal, sent_back_masked
from .security import can_see_id_numbers, request_cache

STALE_API_MESSAGE = ("保存未完成：提交的版本（第 {sent} 版）不是这条记录的当前版本（第 {version} 版），"
                     "它已被其他人修改：请重新读取后再提交。")
BAD_VERSION_MESSAGE = "「version」应为整数：读取这条记录时得到的版本号。"
NOT_AN_OBJECT = "请求内容应为一个 JSON 对象（{…}），各项以字段名为键：字段名见接口文档。"


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
        stored = original_values(self.sheet, item) if state.persistent else {}
        body = request.get_json(silent=True) or {}

        def kept(col) -> bool:  # left out, or sent back as a masked reading showed it
            return col.field not in body or sent_back_masked(col, stored.get(col.field),
                                                             body[col.field])
        for c in self.sheet.columns:
            if c.info:
                continue
            if c.relation:
                parent = getattr(item, c.relation)
                record[c.relation] = parent
                record[c.field] = getattr(parent, c.attr) if parent is not None else None
                continue
            raw = getattr(item, c.field)
            if c.derived_from and state.persistent:
                refusal = derived_refusal(c, self.sheet.column(c.derived_from), kept=kept(c),
                                          source_kept=kept(self.sheet.column(c.derived_from)),
                                          stored=stored.get(c.field))
                if refusal:
                    messages.setdefault(c.field, []).append(refusal)
                    record[c.field] = stored.get(c.field)
                    continue
            if sent_back_masked(c, stored.get(c.field), raw):
                setattr(item, c.field, stored[c.field])  # sent back as shown: unchanged
                record[c.field] = stored[c.field]
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
            [original_values(self.sheet, item)] if state.persistent else []))
        if locked:
            messages.setdefault("_record", []).append(locked)
        names = set(screen_fields(self.sheet))
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

    def _not_an_object(self):
        """A JSON body that is not an object ([], null, 1): FAB's merge and load fail on it."""
        if request.is_json and not isinstance(request.get_json(silent=True), dict):
            return self.response_400(message=NOT_AN_OBJECT)
        return None

    def post_headless(self):
        refused = self._not_an_object()
        if refused is not None:
            return refused
        try:
            return self._finish(super().post_headless())
        except (RuleViolation, SaveRefused) as exc:
            return self._refused(exc)

    def put_headless(self, pk):
        refused = self._not_an_object() or self._check_version(pk)
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
        # _info's related-record pages: bounded as the list's are (fab_fixes).
        page = None if page is None else max(0, min(int(page), MAX_PAGE))
        page_size = None if page_size is None else max(1, min(int(page_size), MAX_PAGE_SIZE))
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
                result[c.field] = c.masked(str(result[c.field]))

    # -- the OpenAPI document, from the declaration (app/web/openapi.py)
    def add_apispec_components(self, api_spec):
        BaseApi.add_apispec_components(self, api_spec)  # not FAB's marshmallow-made schemas
        for name, schema in openapi.components(self).items():
            try:
                api_spec.components.schema(name, schema)
            except DuplicateComponentNameError:
                pass

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
        super().operation_helper(path, operations, methods, func, **kwargs)
        for method in methods or ():
            documented = openapi.responses(self, func.__name__)
            operation = operations.get(method.lower())
            if documented and operation is not None:
                operation["responses"] = documented
                for parameter in operation.get("parameters", ()):
                    if parameter.get("name") == "pk":  # ids the database can hold
                        parameter["schema"] = dict(openapi.ID)

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


def build_api(sheet: Sheet) -> type[SheetApi]:
    """The ModelRestApi of one list, from its declaration alone."""
    datamodel = SheetInterface.for_sheet(sheet)
    fields = screen_fields(sheet)
    return type(f"{camel(sheet.slug)}Api", (SheetApi,), dict(
        sheet=sheet, datamodel=datamodel, resource_name=sheet.slug,
        list_title=sheet.title, show_title=sheet.title, add_title=sheet.title,
        edit_title=sheet.title, label_columns=labels_of(sheet),
        description_columns=descriptions(sheet),
        # Reading: the columns of the spreadsheet ("agency.credit_code" nests the parent).
        list_columns=[c.field for c in sheet.columns],
        # "version": what a PUT may send back, to be refused (409) if someone saved since.
        show_columns=["id", "version", *(c.field for c in sheet.columns)],
        add_columns=fields, edit_columns=fields,
        search_columns=search_fields(sheet), base_order=datamodel.default_order,
        order_columns=[c.field for c in sheet.stored if not c.sensitive],
    ))
