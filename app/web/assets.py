"""The screens' own assets and two small courtesies of the back office.

- /static/qingdan/…: qingdan's stylesheet and scripts (app/web/static: the Chinese date
  picker, the type-ahead pickers, the list tools), served by the app like FAB's own: the
  bureau's network has no internet, and the Content-Security-Policy allows scripts from
  this server only.
- /favicon.ico: browsers ask for it on every first visit (a 404 otherwise).
- An anonymous visitor sent to the login page by a page that needs a login is asked to log
  in: FAB flashes 「无权访问」 (its "Access is Denied"), which reads as a refusal.
"""
from __future__ import annotations

import os

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED
from flask_login import current_user

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
LOGIN_FIRST = "请先登录：登录后即可打开您要访问的页面。"

bp = Blueprint("qingdan_assets", __name__, static_folder=STATIC,
               static_url_path="/static/qingdan")


@bp.route("/favicon.ico")
def favicon():
    return bp.send_static_file("favicon.ico")


def _ask_anonymous_to_log_in() -> None:
    """On the login page, FAB's 「无权访问」 for an anonymous visitor becomes 「请先登录」."""
    if not current_user.is_anonymous or "_flashes" not in session:
        return
    denied = str(FLAMSG_ERR_SEC_ACCESS_DENIED)
    session["_flashes"] = [("info", LOGIN_FIRST) if message == denied else (category, message)
                           for category, message in session["_flashes"]]


def login_redirect():
    """For qingdan's own views outside FAB's permission checks: log in first, then back."""
    flash(LOGIN_FIRST, "info")
    auth_view = type(current_app.appbuilder.sm.auth_view).__name__
    return redirect(url_for(f"{auth_view}.login", next=request.url))


def register(app, login_endpoint: str) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _login_page_message():
        if request.endpoint == login_endpoint:
            _ask_anonymous_to_log_in()
