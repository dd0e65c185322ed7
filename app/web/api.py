"""A list's REST API (/api/v1/<slug>/), generated from its declaration by `build_api(sheet)`:
JWT or API key, no session cookie. Writes are the record commands (app/sheets/records.py),
as for forms and imports: refusals are HTTP 422 in the same Chinese words, a stale "version"
409; the new version and the warnings come back in the answer; ID numbers masked for whoever
may not see them."""
from __future__ import annotations

from apispec.exceptions import DuplicateComponentNameError
from flask import request
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import BaseApi

from ..sheets import records
from ..sheets.declare import Sheet
from ..sheets.records import Result
from ..sheets.sources import draft_from_values, unknown_fields
from . import openapi
from .columns import camel, descriptions, labels_of, screen_fields, search_fields
from .commands import by_field, web_actor
from .datamodel import SheetInterface
from .fab_fixes import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE
from .filters import PerRequestFilters
from .privacy import derived_problems
from .security import can_see_id_numbers

STALE_API_MESSAGE = ("保存未完成：提交的版本（第 {sent} 版）不是这条记录的当前版本（第 {version} 版），"
                     "它已被其他人修改：请重新读取后再提交。")
BAD_VERSION_MESSAGE = "「version」应为整数：读取这条记录时得到的版本号。"
NOT_AN_OBJECT = "请求体应为 JSON 对象：{字段: 值, …}"


def _as_given(value, attr=None, data=None, **kwargs):
    return value


class SheetApi(PerRequestFilters, ModelRestApi):
    """A list's REST API (/api/v1/<slug>/): JWT or API key, no session cookie. Writes are the
    record commands (app/sheets/records.py), as for forms and imports: refusals are HTTP 422
    with the same Chinese words, a stale "version" 409."""
    sheet: Sheet = None
    page_size = PAGE_SIZE

    def _init_model_schemas(self):
        super()._init_model_schemas()
        stored = {c.field for c in self.sheet.stored}
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in schema.fields.items():
                # What is required, and how a value is read, is the declaration's: the
                # column's parser and the record commands answer in Chinese, as for forms
                # and imports ("30万元", "2015年3月1日" accepted; a bad value named in Chinese).
                field.required, field.allow_none = False, True
                if name in stored:
                    field._deserialize = _as_given
                    field.validators = []

    # -- writing: the record commands
    def _refused(self, result: Result):
        fields = set(screen_fields(self.sheet))
        messages = {name or "_record": texts
                    for name, texts in by_field(result.problems, fields).items()}
        return self.response_422(message=messages)

    def _written(self, status: int, result: Result, schema, **extra):
        data = schema.dump(result.record, many=False)
        self._mask(data)
        data["version"] = result.version  # what to send with the next PUT
        body = {"result": data, **extra}
        if result.warnings:
            body["warnings"] = [p.message for p in result.warnings]
        return self.response(status, **body)

    def _body(self, allowed) -> tuple[dict | None, object]:
        """The JSON object of a write, or the response refusing it."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return None, self.response_400(message=NOT_AN_OBJECT)
        unknown = unknown_fields(self.sheet, [k for k in body if k != "version"], allowed)
        if unknown:
            return None, self.response_422(message={p.field: [p.message] for p in unknown})
        return body, None

    def post_headless(self):
        body, refused = self._body(self.add_columns)
        if refused is not None:
            return refused
        body.pop("version", None)  # a new record has none yet
        session = self.datamodel.session
        result = records.create(session, self.sheet,
                                draft_from_values(self.sheet, body, session), web_actor())
        if not result.ok:
            return self._refused(result)
        return self._written(201, result, self.add_model_schema, id=result.record.id)

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        body, refused = self._body(self.edit_columns)
        if refused is not None:
            return refused
        sent = body.pop("version", None)  # optional: the version as read (optimistic lock)
        if isinstance(sent, str) and sent.strip().isascii() and sent.strip().isdigit():
            sent = int(sent)
        if sent is not None and (isinstance(sent, bool) or not isinstance(sent, int)):
            return self.response_422(message={"version": [BAD_VERSION_MESSAGE]})
        refused = derived_problems(self.sheet, body, item)  # 出生日期 only with its number
        if refused:
            return self._refused(Result(problems=refused))
        session = self.datamodel.session
        result = records.update(session, self.sheet, item.id,
                                draft_from_values(self.sheet, body, session, stored=item),
                                web_actor(), version=sent)
        if result.stale:
            return self.response(409, message=STALE_API_MESSAGE.format(
                sent=sent if sent is not None else "?", version=result.version),
                version=result.version)
        if not result.ok:
            return self._refused(result)
        return self._written(200, result, self.edit_model_schema)

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        result = records.delete(self.datamodel.session, self.sheet, item.id, web_actor())
        if not result.ok:
            return self._refused(result)
        return self.response(200, message="OK")

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

    # -- masking in what is sent back
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
        description_columns=descriptions(sheet, for_form=False),
        # Reading: the columns of the spreadsheet ("agency.credit_code" nests the parent).
        list_columns=[c.field for c in sheet.columns],
        # "version": what a PUT may send back, to be refused (409) if someone saved since.
        show_columns=["id", "version", *(c.field for c in sheet.columns)],
        add_columns=fields, edit_columns=fields,
        search_columns=search_fields(sheet), base_order=datamodel.default_order,
        order_columns=[c.field for c in sheet.stored if not c.sensitive],
    ))
