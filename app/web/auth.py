"""Sessions, lockout and the password policy, wired into Flask-AppBuilder (issue 6 §3).

The rules live in app/logins.py and app/passwords.py; this module hooks them into FAB's
security manager (`LoginSecurity`, mixed into QingdanSecurityManager), Flask-Login (a cookie
is a login only while its session row is live) and Flask-JWT-Extended (a JWT carries its
session in the "sid" claim and dies with it).
"""
from __future__ import annotations

import datetime as dt

import click
from flask import g, has_request_context, jsonify, request, session
from flask_jwt_extended import get_jwt
from flask_login import current_user, user_logged_in, user_logged_out

from .. import db, logins, passwords
from ..per_request import request_cache

SESSION_TOKEN = "qd_sid"  # the key of the session token in the signed cookie


def login_state() -> dict:
    """What the login being processed in this request found (e.g. {"locked": guard})."""
    return request_cache("login")


def _acting_user():
    """The signed-in user of this request, or None (the command line, a login)."""
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


def _refuse_password(password: str, username: str | None) -> None:
    message = passwords.problem(password, username)
    if message is None:
        return
    if click.get_current_context(silent=True) is not None:  # `flask fab create-admin` …
        raise click.ClickException(message)
    raise passwords.PasswordPolicyError(message)


class LoginSecurity:
    """Mixed into the security manager, before FAB's SecurityManager."""

    # -- authentication: every login path (screen and API) comes through here
    def auth_user_db(self, username, password):
        if not username or not password:
            return super().auth_user_db(username, password)
        found = self.find_user(username=username) or self.find_user(email=username)
        account = logins.account_name(username, found)
        found_id = getattr(found, "id", None)
        lock = logins.current_lock(account)
        if lock is not None:
            login_state()["locked"] = lock
            logins.note_refused(lock, found_id)
            return None
        user = super().auth_user_db(username, password)
        if user is not None:
            logins.note_success(account, user.id)
            return user
        detail = ("无此账号" if found is None else
                  "账号已停用" if not found.is_active else "密码错误")
        lock = logins.note_failure(account, found_id, detail)
        if lock is not None:
            login_state()["locked"] = lock
        return None

    # -- who a request is
    def load_user(self, pk):
        """Flask-Login's loader: the cookie's user, while its session row is live."""
        if has_request_context() and not logins.session_user(
                session.get(SESSION_TOKEN), pk, logins.WEB):
            session.clear()
            return None
        return super().load_user(pk)

    def load_user_jwt(self, _jwt_header, jwt_data):
        # FAB's calls self.load_user, which checks the cookie's session: a JWT's session is
        # checked by the blocklist loader instead.
        from flask_appbuilder.security.sqla.manager import SecurityManager
        user = SecurityManager.load_user(self, jwt_data["sub"])
        if user is not None:
            g.user = user
        return user

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)
        jwt_manager.additional_claims_loader(_jwt_claims)
        jwt_manager.token_in_blocklist_loader(_jwt_revoked)
        jwt_manager.revoked_token_loader(_jwt_revoked_answer)
        return jwt_manager

    # -- setting passwords: the policy on every path, then the user's other sessions end
    def add_user(self, username, first_name, last_name, email, role=None, password="",
                 hashed_password="", groups=None, commit=True):
        if password and not hashed_password:
            _refuse_password(password, username)
        return super().add_user(username, first_name, last_name, email, role,
                                password=password, hashed_password=hashed_password,
                                groups=groups, commit=commit)

    def reset_password(self, userid, password):
        user = self.get_user_by_id(userid)
        if user is None:
            raise LookupError(f"没有编号为 {userid} 的用户")
        _refuse_password(password, user.username)
        super().reset_password(user.id, password)
        actor = _acting_user()
        own = actor is not None and actor.id == user.id
        keep = session.get(SESSION_TOKEN) if own else None
        logins.end_user_sessions(user.id, logins.ENDED_PASSWORD, keep=keep)
        account = logins.account_name(user.username, user)
        if own:
            logins.record(logins.PASSWORD_CHANGED, account, user.id,
                          detail="本人修改密码，其他登录已退出")
        else:
            by = actor.username if actor is not None else "命令行"
            logins.record(logins.PASSWORD_RESET, account, user.id, actor=by,
                          detail="密码被重置，该账号的所有登录已退出")
            logins.unlock(account, by, detail="重置密码时解除锁定")
        db.session.commit()

    # -- screens
    def register_views(self):
        super().register_views()
        from .login_records import register
        register(self.appbuilder)


# ---------------------------------------------------------------------------- Flask-Login
def _on_login(app, user, **_):
    """A login on the screen: a new session row, its token in the (permanent) cookie."""
    session[SESSION_TOKEN] = logins.start_session(user, logins.WEB)
    session.permanent = True  # PERMANENT_SESSION_LIFETIME (the idle timeout) applies


def _on_logout(app, user, **_):
    row = logins.end_session(session.pop(SESSION_TOKEN, None), logins.ENDED_LOGOUT)
    if row is not None and user is not None and getattr(user, "is_authenticated", False):
        logins.record(logins.LOGOUT, logins.account_name(user.username, user), user.id)
    db.session.commit()


def _load_user_first():
    """Resolve the signed-in user before the view runs: the session check may write (it
    ends a session that ran out), which must not commit a view's half-done work. Static
    assets need no user (and no query)."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return
    _ = current_user.is_authenticated


# ---------------------------------------------------------------------------- JWT
def _jwt_claims(identity) -> dict:
    sid = login_state().get("sid")
    if sid is None:  # /security/refresh: the new access token keeps the refresh token's
        try:
            sid = get_jwt().get("sid")
        except RuntimeError:
            sid = None
    return {"sid": sid} if sid else {}


def _jwt_revoked(_header, payload) -> bool:
    return not logins.session_user(payload.get("sid"), payload.get("sub"), logins.API)


def _jwt_revoked_answer(_header, _payload):
    return jsonify(message="登录已失效（已退出、密码已修改或被重置）：请重新登录后再试。"), 401


# ---------------------------------------------------------------------------- install
def configure(app) -> None:
    """Settings that derive from others; run before the AppBuilder is built."""
    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", passwords.fab_validator)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(
        minutes=float(app.config["QINGDAN_SESSION_IDLE_MINUTES"]))


def install(app) -> None:
    """After the AppBuilder: Flask-Login's signals and the early user check."""
    user_logged_in.connect(_on_login)  # blinker: connecting twice (tests) is one receiver
    user_logged_out.connect(_on_logout)
    app.before_request(_load_user_first)
