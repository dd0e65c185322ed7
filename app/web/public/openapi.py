"""The OpenAPI 3 document of the public JSON (served at /public/openapi.json), generated from
the same allow-list as the documents themselves: a field added to `Sheet.public` appears in
both. Kept apart from FAB's /api/v1/_openapi, which describes the signed-in API."""
from __future__ import annotations

from .fields import PublicField, public_fields
from .listing import PAGES
from .results import batch_fields, review_fields

TYPES = {"string": {"type": "string"}, "integer": {"type": "integer"},
         "number": {"type": "number"}, "boolean": {"type": "boolean"},
         "date": {"type": "string", "format": "date"}}


def _item(fields: list[PublicField]) -> dict:
    props = {}
    for f in fields:
        schema = dict(TYPES[f.kind], title=f.label, nullable=True)
        if f.col is not None and f.col.type.choices and f.kind == "string":
            schema["enum"] = [*f.col.type.choices, None]
        props[f.key] = schema
    return {"type": "object", "properties": props, "additionalProperties": False}


def _document_schema(item_ref: str, extra: dict | None = None) -> dict:
    field = {"type": "object", "properties": {
        "key": {"type": "string"}, "label": {"type": "string"},
        "type": {"type": "string", "enum": list(TYPES)}}}
    return {"type": "object", "required": ["title", "count", "fields", "items"], "properties": {
        **(extra or {}),
        "title": {"type": "string"}, "count": {"type": "integer"},
        "fields": {"type": "array", "items": field},
        "items": {"type": "array", "items": {"$ref": item_ref}}}}


def _schema_name(slug: str) -> str:
    return "".join(p.capitalize() for p in slug.split("_"))


def document() -> dict:
    paths, schemas = {}, {}
    for slug, page in PAGES.items():
        name = _schema_name(slug)
        schemas[name] = _item(public_fields(page.sheet))
        schemas[f"{name}Document"] = _document_schema(f"#/components/schemas/{name}", {
            "list": {"type": "string"}, "search": {"type": "object"}})
        params = [{"name": s.arg, "in": "query", "required": False, "description": s.label,
                   "schema": {"type": "string"}} for s in page.searches]
        paths[f"/public/data/{slug}.json"] = {"get": {
            "summary": page.title, "description": page.intro, "tags": ["清单"],
            "parameters": params,
            "responses": {"200": {"description": page.title, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}Document"}}}},
                "304": {"description": "未变化（If-None-Match）"}}}}
    schemas["Review"] = _item(batch_fields() + review_fields())
    schemas["ReviewRevisionDocument"] = _document_schema("#/components/schemas/Review", {
        "batch": {"type": "object", "properties": {
            "year": {"type": "integer"}, "period": {"type": "integer"},
            "category": {"type": "string"}}},
        "revision": {"type": "integer"}, "state": {"type": "string", "enum": ["现行", "已更正"]},
        "published_on": {"type": "string", "format": "date"},
        "current_revision": {"type": "integer", "nullable": True}})
    paths["/public/reviews/{year}/{period}/{category}/r{revision}.json"] = {"get": {
        "summary": "一个盲审批次的一个已发布版本", "tags": ["盲审结果"],
        "description": "只含已发布的版本。已被更正的版本仍可下载，state 为“已更正”；"
                       "批次撤回更正期间其各版本不提供（410）。",
        "parameters": [
            {"name": "year", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "period", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "category", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "revision", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "该版本的全部报告", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReviewRevisionDocument"}}}},
            "404": {"description": "没有这个已发布的版本"},
            "410": {"description": "批次已撤回更正"}}}}
    paths["/public/reviews.json"] = {"get": {
        "summary": "已发布的盲审批次", "tags": ["盲审结果"],
        "responses": {"200": {"description": "各批次的状态和各版本的文档地址",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "安全生产信息公开：开放数据", "version": "1",
                 "description": "无需登录。各清单的公开字段与页面一致；每个 JSON 文档带 ETag，"
                                "可用 If-None-Match 条件请求。"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
