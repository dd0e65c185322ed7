"""Error pages in Chinese: what went wrong and what to do, instead of framework defaults."""
from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

PAGES = {
    400: ("请求无效", "提交的内容无法处理。请返回上一页，刷新后重新操作。"),
    403: ("没有权限", "您的账号没有进行此操作的权限。如确需办理，请联系管理员分配相应角色。"),
    404: ("页面不存在", "您要找的页面或记录不存在，可能已被删除。请从菜单重新进入。"),
    405: ("操作方式不正确", "此页面不接受这种操作。请从菜单重新进入。"),
    500: ("系统出错", "处理您的请求时出错，未保存任何内容。请稍后再试；如仍出错，请联系管理员。"),
}
CSRF_MESSAGE = ("页面已过期或来源无法确认，为安全起见未执行此操作。"
                "请返回上一页，刷新后重新提交。")


def message_page(text: str, status: int, title: str = "无法完成操作"):
    """A refusal or failure explained in Chinese, in the app's own layout."""
    appbuilder = current_app.appbuilder
    # CSRF is checked before FAB's own before_request has put the user where the layout
    # looks for it.
    if not hasattr(g, "user"):
        g.user = current_user
    return render_template("qingdan/message.html", base_template=appbuilder.base_template,
                           appbuilder=appbuilder, title=title, message=text), status


def _handler(status: int):
    def handle(_exc):
        title, text = PAGES[status]
        if isinstance(_exc, CSRFError):
            title, text = "页面已过期", CSRF_MESSAGE
        if request.path.startswith("/api/"):  # the API answers in JSON, in Chinese too
            return jsonify(message=text), status
        return message_page(text, status, title)
    return handle


def register_error_pages(app) -> None:
    for status in PAGES:
        app.register_error_handler(status, _handler(status))
    app.register_error_handler(CSRFError, _handler(400))
