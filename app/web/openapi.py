"""The OpenAPI document of a list's API (/api/v1/_openapi), from its declaration.

FAB derives it from marshmallow schemas that know neither what is required, nor the
enumerations and lengths, types ids as strings and decimals as numbers (the API sends
strings), and leaves out 403/409 and the warnings: fuzzers and generated clients trip on it
(notes/flask-appbuilder-5.md). Here each column's type (Col: Text lengths, Enum choices,
Integer bounds, required) and the model's column say what the API takes and what it sends.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..sheets import types as t
from ..sheets.declare import Col, Sheet
from .columns import labels_of
from .fab_fixes import MAX_ID

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
INT32 = (-2**31, 2**31 - 1)
DECIMAL_TEXT = r"^-?\d+(\.\d+)?$"
MESSAGES = {"type": "array", "items": {"type": "string"},
            "description": "警告（不妨碍保存），中文"}


def _nullable(schema: dict, nullable: bool) -> dict:
    if nullable:
        schema["nullable"] = True
        if "enum" in schema:
            schema["enum"].append(None)  # OpenAPI 3.0: an enum without null forbids it
    return schema


def _db_column(sheet: Sheet, field: str):
    return sa.inspect(sheet.model).columns.get(field)


def _length(sheet: Sheet, col: Col) -> int | None:
    column = _db_column(sheet, col.field)
    return getattr(column.type, "length", None) if column is not None else None


def _described(schema: dict, col: Col, text: str = "") -> dict:
    schema["description"] = "；".join(p for p in (col.header, text) if p)
    return schema


def sent_value(sheet: Sheet, col: Col) -> dict:
    """What the API sends for a stored column."""
    vt, nullable = col.type, not col.required
    if col.sensitive:  # masked for who may not see it: only the shape is promised
        return _nullable(_described({"type": "string"}, col,
                                    "无权查看完整身份证号码者得到遮盖后的值（如 310110************、"
                                    "****-**-**）"), nullable)
    if isinstance(vt, t.Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(vt, t.Boolean):
        schema = {"type": "boolean"}
    elif isinstance(vt, t.Integer):
        schema = {"type": "integer"}
    elif isinstance(vt, (t.Amount, t.Score)):  # exact decimals travel as text
        schema = {"type": "string", "pattern": DECIMAL_TEXT}
    else:
        schema = {"type": "string"}
        length = _length(sheet, col)
        if length:
            schema["maxLength"] = length
    return _nullable(_described(schema, col), nullable)


def taken_value(sheet: Sheet, col: Col) -> dict:
    """What the API takes for a stored column (it also reads what an import reads: 30万元,
    2015年3月1日, 是/否 …; the canonical forms are documented)."""
    vt, nullable = col.type, not col.required
    if isinstance(vt, t.Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(vt, t.Boolean):
        schema = {"type": "boolean"}
    elif isinstance(vt, t.Integer):
        schema = {"type": "integer",
                  "minimum": vt.min_value if vt.min_value is not None else INT32[0],
                  "maximum": vt.max_value if vt.max_value is not None else INT32[1]}
    elif isinstance(vt, t.Score):
        number = {"type": "number"}
        if vt.min_value is not None:
            number["minimum"] = vt.min_value
        if vt.max_value is not None:
            number["maximum"] = vt.max_value
        schema = {"anyOf": [number, {"type": "string", "maxLength": 40}]}
    elif isinstance(vt, t.Amount):
        schema = {"anyOf": [{"type": "number", "minimum": 0, "maximum": 999_999_999_999},
                            {"type": "string", "maxLength": 40}]}
    elif vt.choices is not None and not isinstance(vt, t.Multi):
        schema = {"type": "string", "enum": list(vt.choices)}
    else:
        schema = {"type": "string"}
        length = getattr(vt, "max_length", None) or _length(sheet, col)
        if length and not isinstance(vt, (t.IdNumber, t.Phone)):
            schema["maxLength"] = length
    return _nullable(_described(schema, col, col.type.describe()), nullable)


def _relation(sheet: Sheet, relation: str, columns: list[Col]) -> dict:
    """A parent as the API sends it: its key columns (and informational ones), nested."""
    optional = not any(c.required for c in sheet.relations.get(relation, ()))
    parent = sa.inspect(sheet.model).relationships[relation].mapper.class_
    props = {}
    for c in columns:
        column = sa.inspect(parent).columns.get(c.attr)
        schema = {"type": "string"}
        if column is not None and getattr(column.type, "length", None):
            schema["maxLength"] = column.type.length
        props[c.attr] = _nullable(_described(schema, c), True)
    return _nullable({"type": "object", "additionalProperties": False, "properties": props,
                      "description": labels_of(sheet)[relation]}, optional)


def read_schema(sheet: Sheet, fields: list[str]) -> dict:
    """A record as GET sends it (list: `fields` are the list's columns; item: plus id and
    version)."""
    props: dict[str, dict] = {}
    nested: dict[str, list[Col]] = {}
    for name in fields:
        if name in ("id", "version"):
            props[name] = {"type": "integer"}
            continue
        col = sheet.column(name)
        if col.relation:
            nested.setdefault(col.relation, []).append(col)
        else:
            props[name] = sent_value(sheet, col)
    for relation, columns in nested.items():
        props[relation] = _relation(sheet, relation, columns)
    return {"type": "object", "additionalProperties": False, "properties": props}


def write_schema(sheet: Sheet, fields: list[str], *, new: bool) -> dict:
    """A POST (new) or PUT body: each field, a parent by its id; POST requires what the
    declaration requires, PUT nothing (a field left out keeps its value) and takes the
    version read (a save over a later change is 409)."""
    props, required = {}, []
    labels = labels_of(sheet)
    for name in fields:
        if name in sheet.relations:
            cols = sheet.relations[name]
            needed = any(c.required for c in cols)
            props[name] = _nullable(dict(ID, description=f"{labels[name]}：该记录的 id"),
                                    not needed)
            if needed:
                required.append(name)
        else:
            col = sheet.column(name)
            props[name] = taken_value(sheet, col)
            if col.required:
                required.append(name)
    if not new:
        props["version"] = {"type": "integer", "nullable": True,
                            "description": "读取时得到的版本号：若记录其后已被他人修改，答 409"}
    schema = {"type": "object", "additionalProperties": False, "properties": props}
    if new and required:
        schema["required"] = required
    return schema


def written_schema(sheet: Sheet, fields: list[str]) -> dict:
    """The record a POST or PUT sends back: its fields as GET sends them, parents by id."""
    props = {}
    for name in fields:
        if name in sheet.relations:
            props[name] = _nullable(dict(ID), True)
        else:
            props[name] = sent_value(sheet, sheet.column(name))
    props["version"] = {"type": "integer"}
    return {"type": "object", "additionalProperties": False, "properties": props}


def components(api) -> dict[str, dict]:
    sheet = api.sheet
    return {
        api.list_model_schema_name: read_schema(sheet, list(api.list_columns)),
        api.show_model_schema_name: read_schema(sheet, list(api.show_columns)),
        api.add_model_schema_name: write_schema(sheet, list(api.add_columns), new=True),
        api.edit_model_schema_name: write_schema(sheet, list(api.edit_columns), new=False),
        f"{type(api).__name__}.written": written_schema(sheet, list(api.add_columns)),
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes) -> dict:
    return {str(c): {"$ref": f"#/components/responses/{c}"} for c in codes}


_TEXTS = {"type": "object", "additionalProperties": {"type": "string"}}
_NAMES = {"type": "array", "items": {"type": "string"}}


def responses(api, method_name: str) -> dict | None:
    """The responses of one of the API's operations, as it answers them."""
    name = type(api).__name__
    if method_name == "get_list":
        return {"200": _json({"type": "object", "properties": {
            "count": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "integer"}},
            "result": {"type": "array", "items": _ref(api.list_model_schema_name)},
            "label_columns": _TEXTS, "description_columns": _TEXTS, "list_columns": _NAMES,
            "order_columns": _NAMES, "list_title": {"type": "string"}}}, "记录（分页）"),
            **_errors(400, 401, 403)}
    if method_name == "get":
        return {"200": _json({"type": "object", "properties": {
            "id": {"type": "integer"}, "result": _ref(api.show_model_schema_name),
            "label_columns": _TEXTS, "description_columns": _TEXTS, "show_columns": _NAMES,
            "show_title": {"type": "string"}}}, "一条记录"),
            **_errors(400, 401, 403, 404)}
    if method_name == "post":
        return {"201": _json({"type": "object", "required": ["id", "result"], "properties": {
            "id": {"type": "integer"}, "result": _ref(f"{name}.written"),
            "warnings": MESSAGES}}, "已新增"),
            **_errors(400, 401, 403, 422)}
    if method_name == "put":
        return {"200": _json({"type": "object", "required": ["result"], "properties": {
            "result": _ref(f"{name}.written"), "warnings": MESSAGES}}, "已保存"),
            **_errors(400, 401, 403, 404, 409, 422)}
    if method_name == "delete":
        return {"200": _json({"type": "object", "properties": {"message": {"type": "string"}}},
                             "已删除"), **_errors(401, 403, 404, 422)}
    if method_name == "info":
        field = {"type": "object"}
        return {"200": _json({"type": "object", "properties": {
            "add_columns": {"type": "array", "items": field},
            "edit_columns": {"type": "array", "items": field},
            "filters": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "operator": {"type": "string"}}}}},
            "permissions": _NAMES, "add_title": {"type": "string"},
            "edit_title": {"type": "string"}}}, "表单与筛选项的说明"),
            **_errors(400, 401, 403)}
    return None
