"""Error pages in Chinese: what went wrong and what to do, instead of framework defaults.

A request the app cannot use is a 4xx with a Chinese message, in HTML for the screens and in
JSON for the API, never a 500: `BadInput` says what was wrong with it, and a value the
database refuses as out of its range (a 20-digit number where an integer is kept) is one too.
"""
from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest

PAGES = {
    400: ("请求无效", "提交的内容无法处理。请返回上一页，刷新后重新操作。"),
    403: ("没有权限", "您的账号没有进行此操作的权限。如确需办理，请联系管理员分配相应角色。"),
    404: ("页面不存在", "您要找的页面或记录不存在，可能已被删除。请从菜单重新进入。"),
    405: ("操作方式不正确", "此页面不接受这种操作。请从菜单重新进入。"),
    500: ("系统出错", "处理您的请求时出错，未保存任何内容。请稍后再试；如仍出错，请联系管理员。"),
}
CSRF_MESSAGE = ("页面已过期或来源无法确认，为安全起见未执行此操作。"
                "请返回上一页，刷新后重新提交。")
DATA_MESSAGE = ("提交的数值超出了允许的范围（如过大的整数或金额、过长的编号），未处理：请核对后重新提交。")


class BadInput(BadRequest):
    """HTTP 400 whose description says in Chinese what was wrong with the request."""

    def __init__(self, message: str):
        super().__init__(description=message)


def is_data_error(exc: BaseException | None) -> bool:
    """A value the database (or its driver) cannot hold: the request's fault, not ours.
    SQLite's driver raises a bare OverflowError for an integer beyond 64 bits."""
    return isinstance(exc, (DataError, OverflowError))


def message_page(text: str, status: int, title: str = "无法完成操作"):
    """A refusal or failure explained in Chinese, in the app's own layout."""
    appbuilder = current_app.appbuilder
    # CSRF is checked before FAB's own before_request has put the user where the layout
    # looks for it.
    if not hasattr(g, "user"):
        g.user = current_user
    return render_template("qingdan/message.html", base_template=appbuilder.base_template,
                           appbuilder=appbuilder, title=title, message=text), status


def error_response(status: int, text: str, title: str | None = None):
    """JSON under /api/, the app's page elsewhere."""
    if request.path.startswith("/api/"):  # the API answers in JSON, in Chinese too
        return jsonify(message=text), status
    return message_page(text, status, title or PAGES.get(status, PAGES[400])[0])


def _handler(status: int):
    def handle(exc):
        title, text = PAGES[status]
        if isinstance(exc, CSRFError):
            title, text = "页面已过期", CSRF_MESSAGE
        elif isinstance(exc, BadInput):
            text = exc.description
        return error_response(status, text, title)
    return handle


def _data_error(exc):
    current_app.logger.warning("refused as a data error: %s", exc)
    current_app.appbuilder.session.rollback()
    return error_response(400, DATA_MESSAGE, PAGES[400][0])


def register_error_pages(app) -> None:
    for status in PAGES:
        app.register_error_handler(status, _handler(status))
    app.register_error_handler(CSRFError, _handler(400))
    app.register_error_handler(DataError, _data_error)
    app.register_error_handler(OverflowError, _data_error)
