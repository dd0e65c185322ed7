"""Flask-AppBuilder 5.3 fixes, each with what it works around upstream
(notes/flask-appbuilder-5.md, "More gaps, found by probing 5.3 as an outsider would").

`install(app)` runs in create_app() before the AppBuilder exists (routes are bound to the
URL converters, and to the view methods, when FAB registers them); `after_appbuilder()` once
it does. Every bad request then gets a 4xx with a Chinese message, never a 500:

- Ids in URLs: `<int:pk>` takes no sign (GET /api/v1/x/-1 fell through to the PUT/DELETE
  rule: 405) and no upper bound (a 20-digit id: OverflowError on SQLite, "integer out of
  range" on PostgreSQL from 2147483648 on: 500), and `<pk>` (show, edit, delete, API PUT and
  DELETE) is any text. `IdConverter` (the API's PUT and DELETE now take `<int:pk>` too) and
  `_check_ids`: 404.
- Filter values go to SQL as they came (a number to `ilike`: TypeError; a number against a
  text column on PostgreSQL; "abc" or 20 digits for an integer): filters.checked_filters.
- `action_post` and `action` with an unknown action: AttributeError on None in
  get_action_permission_name (FAB #2407): 500 on every ModelView (users, roles, import
  history), even for anonymous visitors (no @has_access). 400 here.
- `download/<filename>` on every ModelView reads config["UPLOAD_FOLDER"] (KeyError: 500) and
  sends any file: here only an existing file of the configured folder, else 404.
- The rison parser (prison) recurses without a limit: `q=((` is RecursionError (500).
- The API's page number has no bound (`page:-5` is a negative OFFSET on PostgreSQL, a huge one
  overflows): bounded like the screens'.
- A malformed JWT answers 422 (flask-jwt-extended's default): 401, as for a missing one.
- The OpenAPI document: 401/403 left out of most operations, the menu's "-" separators
  typed as objects (the lists' own documents: app/web/openapi.py).
- The API's messages are English ("Not found", "Fatal error") and a database refusal of a
  value (DataError, OverflowError) is a 500 ("Fatal error"): Chinese, and a data error 400.
- FAB reads page_<View> and psize_<View> with a bare int() and no upper bound: a non-number
  is HTTP 500 and a huge page size loads a whole table.
- FAB's add/edit read _flt_ arguments with an unchecked index (IndexError: HTTP 500).
- One Filters object per view, shared by every request (#2366): see filters.PerRequestFilters.
"""
from __future__ import annotations

import functools
import os
import re
import sys

import prison
from flask import abort, current_app, jsonify, request, send_file
from flask_appbuilder import api as fab_api
from flask_appbuilder import baseviews as fab_baseviews
from flask_appbuilder import expose
from flask_appbuilder import views as fab_views
from flask_appbuilder.filemanager import uuid_originalname
from flask_appbuilder.security.decorators import has_access
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter
from werkzeug.security import safe_join

from .errors import DATA_MESSAGE, PAGES, BadInput, is_data_error

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000  # beyond any list; keeps OFFSET a sane number
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds (PostgreSQL, MariaDB)
UNKNOWN_ACTION = "所选的操作不存在：请回到列表页，勾选记录后从“操作”菜单中选择。"


# ---------------------------------------------------------------------------- page arguments
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
    from .filters import apply_filter_args
    for module in (fab_baseviews, fab_views):
        module.get_page_args = get_page_args
        module.get_page_size_args = get_page_size_args
    # FAB's add/edit read _flt_ arguments with an unchecked index (IndexError: HTTP 500).
    fab_baseviews.get_filter_args = lambda filters, disallow_if_not_in_search=True: \
        apply_filter_args(filters, request.args, search_only=disallow_if_not_in_search)


# ---------------------------------------------------------------------------- ids in URLs
def is_id(value) -> bool:
    """A primary key as the database holds it: 1 … 2**31-1, written in plain digits."""
    text = str(value)
    return bool(re.fullmatch(r"[1-9]\d{0,9}", text)) and int(text) <= MAX_ID


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: any integer matches, so that the route is found (a negative
    one no longer falls through to another rule: 405), and one no database id can be is
    "not found" (404) before a query is made."""
    regex = r"-?\d+"

    def to_python(self, value: str) -> int:
        if not is_id(value):
            raise NotFound()
        return int(value)


def _check_ids(_endpoint, values) -> None:
    """`<pk>` routes (FAB's show/edit/delete/action, the API's PUT and DELETE) take any text:
    what is not an id is 404 before it reaches the database."""
    if values and "pk" in values and not is_id(values["pk"]):
        abort(404)


# ---------------------------------------------------------------------------- ModelView routes
def _known_action(view_method):
    @functools.wraps(view_method)  # keeps FAB's route marks (_urls)
    def checked(self, *args, **kwargs):
        name = kwargs["name"] if "name" in kwargs else request.form.get("action")
        if name not in self.actions:
            raise BadInput(UNKNOWN_ACTION)
        pks = request.form.getlist("rowid") if "pk" not in kwargs else [kwargs["pk"]]
        if not all(is_id(pk) for pk in pks):
            abort(404)
        return view_method(self, *args, **kwargs)
    return checked


@expose("/download/<string:filename>")
@has_access
def download(self, filename):  # named as FAB's: has_access makes its permission from the name
    """FAB's download, for a file that exists in the configured UPLOAD_FOLDER only."""
    folder = current_app.config.get("UPLOAD_FOLDER")
    path = safe_join(folder, filename) if folder else None
    if path is None or not os.path.isfile(path):
        abort(404)
    return send_file(path, download_name=uuid_originalname(filename), as_attachment=True)


def _fix_model_views() -> None:
    view = fab_views.ModelView
    if getattr(view, "_qd_fixed", False):
        return
    view.action_post = _known_action(view.action_post)
    view.action = _known_action(view.action)
    view.download = download
    view._qd_fixed = True


# ---------------------------------------------------------------------------- API
class _Rison:
    """prison, with every failure to parse a ParserException (FAB answers 400 for those): its
    recursive parser raises RecursionError for `((`."""
    decoder = prison.decoder
    dumps = staticmethod(prison.dumps)

    @staticmethod
    def loads(text):
        try:
            return prison.loads(text)
        except prison.decoder.ParserException:
            raise
        except Exception as exc:  # RecursionError, IndexError …
            raise prison.decoder.ParserException(str(exc)) from None


# FAB's English 400 messages, in Chinese (the first match wins; groups are kept).
_MESSAGES_400 = [
    (r"Not a valid rison(/json)? argument",
     "参数 q 无法解析：应为 Rison 或 JSON，例如 (page:0,page_size:20)。"),
    (r"Not a valid rison schema (.*)", "参数 q 的内容不符合接口文档：{0}"),
    (r"Filter column: (.*) not allowed to filter",
     "不能按「{0}」筛选：可用的筛选项见 _info 的 filters。"),
    (r"Filter operation: (.*) not allowed on column: (.*)",
     "「{1}」不能使用筛选方式「{0}」：可用的筛选方式见 _info 的 filters。"),
    (r"Invalid order by column: (.*)", "不能按「{0}」排序：可排序的列见 order_columns。"),
    (r"Request (payload )?is not JSON",
     "请求内容应为 JSON（Content-Type: application/json）。"),
    (r".*Failed to decode JSON.*|.*could not understand.*", "请求内容不是有效的 JSON。"),
]
_MESSAGES_422 = {
    "Unknown field.": "没有这一项：字段名见接口文档。",
    "Invalid input type.": "请求内容应为一个 JSON 对象（{…}）。",
    "Not a valid integer.": "应为整数（记录的 id）。",
    "Field may not be null.": "不能为空。",
    "Missing data for required field.": "必须填写。",
}


def _chinese_400(message) -> str | dict:
    if not isinstance(message, str):
        return _chinese_422(message)
    if re.search(r"[\u4e00-\u9fff]", message):
        return message  # ours, already in Chinese
    for pattern, chinese in _MESSAGES_400:
        match = re.fullmatch(pattern, message, flags=re.S)
        if match:
            return chinese.format(*(g or "" for g in match.groups()))
    return f"请求无效：{message}"


def _chinese_422(message):
    if isinstance(message, dict):
        return {k: _chinese_422(v) for k, v in message.items()}
    if isinstance(message, list):
        return [_chinese_422(v) for v in message]
    if isinstance(message, str):
        return _MESSAGES_422.get(message, message)
    return message


def _response_400(self, message=None):
    exc = sys.exc_info()[1]  # FAB's @safe calls this inside its `except BadRequest`
    if isinstance(exc, BadInput):
        text = exc.description
    elif message is None:
        text = PAGES[400][1]
    else:
        text = _chinese_400(message)
    return self.response(400, message=text)


def _response_422(self, message=None):
    return self.response(422, message=_chinese_422(message) if message else
                         "提交的内容无法保存：请核对后重新提交。")


def _response_401(self):
    return self.response(401, message=UNAUTHORIZED)


def _response_403(self):
    return self.response(403, message="没有权限进行此操作：如确需办理，请联系管理员分配相应角色。")


def _response_404(self):
    return self.response(404, message="记录不存在，可能已被删除。")


def _response_500(self, message=None):
    exc = sys.exc_info()[1]  # FAB's @safe calls this inside its `except Exception`
    current_app.appbuilder.session.rollback()
    if is_data_error(exc):
        current_app.logger.warning("API request refused as a data error: %s", exc)
        return self.response(400, message=DATA_MESSAGE)
    current_app.logger.error("API request failed", exc_info=exc)
    return self.response(500, message=PAGES[500][1])


def _sanitize_page_args(self, page, page_size):
    page, page_size = _fab_sanitize_page_args(self, page, page_size)
    if page is not None:
        page = max(0, min(page, MAX_PAGE))
    return page, page_size


_fab_sanitize_page_args = fab_api.ModelRestApi._sanitize_page_args
UNAUTHORIZED = ("未通过身份验证：用户名或密码不正确，或令牌缺失、无效、已过期。"
                "请先通过 /api/v1/security/login 取得令牌，以 Authorization: Bearer <令牌> 提交。")


def _message_schema() -> dict:
    return {"type": "object", "required": ["message"], "properties": {"message": {
        "description": "说明（中文）；字段的问题按字段名给出：{字段: [说明, …]}",
        "anyOf": [{"type": "string"},
                  {"type": "object", "additionalProperties": {
                      "anyOf": [{"type": "string"},
                                {"type": "array", "items": {"type": "string"}}]}}]}}}


def _responses() -> dict:
    def one(description, schema=None):
        return {"description": description,
                "content": {"application/json": {"schema": schema or _message_schema()}}}
    stale = _message_schema()
    stale["properties"]["version"] = {"type": "integer", "description": "记录的当前版本"}
    return {
        "400": one("请求无效：参数、JSON 或数值范围不对"),
        "401": one("未登录，或令牌无效、已过期"),
        "403": one("没有权限"),
        "404": one("记录不存在"),
        "409": one("记录已被他人修改：提交的 version 不是当前版本", stale),
        "422": one("内容未通过校验，未保存：说明按字段给出"),
        "500": one("系统出错"),
    }


_fab_operation_helper = fab_api.BaseApi.operation_helper


def _operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
    """FAB documents 401 on some protected operations and 403 on none; both can be answered
    by every operation that needs a token."""
    _fab_operation_helper(self, path, operations, methods, func, **kwargs)
    for operation in (operations or {}).values():
        if not operation.get("security"):
            continue
        responses = operation.setdefault("responses", {})
        for code in (401, 403):
            if code not in responses and str(code) not in responses:
                responses[str(code)] = {"$ref": f"#/components/responses/{code}"}


# The menu's separators are "-", not objects (FAB documents objects only).
_MENU_ITEM = {"type": "object", "properties": {
    "name": {"type": "string"}, "label": {"type": "string"}, "icon": {"type": "string"},
    "url": {"type": "string"}, "childs": {"type": "array", "items": {
        "anyOf": [{"type": "object"}, {"type": "string", "description": "分隔线：\"-\""}]}}}}
_MENU_SPEC = {"get_menu_data": {"get": {"responses": {
    "200": {"description": "菜单", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"result": {"type": "array", "items": {
            "anyOf": [_MENU_ITEM, {"type": "string"}]}}}}}}},
    "401": {"$ref": "#/components/responses/401"},
    "403": {"$ref": "#/components/responses/403"}}}}}


def _fix_api() -> None:
    from flask_appbuilder.menu import MenuApi
    base = fab_api.BaseApi
    if getattr(base, "_qd_fixed", False):
        return
    fab_api.prison = _Rison
    base.response_400 = _response_400
    base.response_401 = _response_401
    base.response_403 = _response_403
    base.response_404 = _response_404
    base.response_422 = _response_422
    base.response_500 = _response_500
    base.responses = _responses()  # the OpenAPI document's shared responses
    base.operation_helper = _operation_helper
    MenuApi.openapi_spec_methods = _MENU_SPEC
    fab_api.ModelRestApi._sanitize_page_args = _sanitize_page_args
    # PUT and DELETE took `<pk>` as any text: GET /api/v1/x/abc matched them (405), and
    # PUT /api/v1/x/abc reached the database. As GET's, they take an id (IdConverter).
    for method, verb in ((fab_api.ModelRestApi.put, "PUT"), (fab_api.ModelRestApi.delete, "DELETE")):
        method._urls = [("/<int:pk>", (verb,))]
    base._qd_fixed = True


# ---------------------------------------------------------------------------- entry points
def install(app) -> None:
    """Before the AppBuilder is created: converters, id checks, patched FAB classes."""
    app.url_map.converters["int"] = IdConverter
    app.url_value_preprocessor(_check_ids)
    harden_fab_request_args()
    _fix_model_views()
    _fix_api()


def _jwt_unauthorized(*_args):
    return jsonify(message=UNAUTHORIZED), 401


def after_appbuilder(appbuilder) -> None:
    """Once FAB's security manager exists: a bad, expired or revoked JWT is 401 (not 422)."""
    jwt = appbuilder.sm.jwt_manager
    # A revoked token (its login session ended) has its own answer, in app/web/auth.py.
    for loader in (jwt.invalid_token_loader, jwt.unauthorized_loader, jwt.expired_token_loader,
                   jwt.user_lookup_error_loader,
                   jwt.needs_fresh_token_loader, jwt.token_verification_failed_loader):
        loader(_jwt_unauthorized)
