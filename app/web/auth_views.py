"""FAB's login and password screens and its API login, with lockout and the policy (§3).

Each class keeps FAB's class name: endpoints ("ResetMyPasswordView.this_form_get") and
permission names ("ResetMyPasswordView") stay what FAB, the roles and the database know.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_appbuilder.api import safe
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security import api as fab_api
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.schemas import login_post
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_appbuilder.views import expose
from flask_babel import LazyString
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_login import login_user
from marshmallow import ValidationError as SchemaError
from werkzeug.security import check_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from .. import logins, passwords
from .auth import login_state

INVALID_LOGIN = "用户名或密码不正确，请重新输入。"


# ---------------------------------------------------------------------------- forms
def _user():
    from flask import current_app
    return current_app.appbuilder.sm.get_user_by_id(g.user.id)


def _old_password_matches(form, field):
    user = _user()
    if not check_password_hash(user.password or "", field.data or ""):
        # a stolen session must not become a way to guess the password
        logins.note_failure(logins.account_name(user.username, user), user.id,
                            "修改密码时原密码错误")
        raise ValidationError("原密码不正确：请输入您现在使用的密码。")


def _differs_from_old(form, field):
    if field.data and check_password_hash(_user().password or "", field.data):
        raise ValidationError("新密码不能与原密码相同。")


_POLICY = LazyString(passwords.policy_text)


class ChangeMyPasswordForm(DynamicForm):
    old_password = PasswordField("原密码", validators=[DataRequired("请输入原密码。"),
                                                    _old_password_matches],
                                 widget=BS3PasswordFieldWidget(), description="您现在使用的密码")
    password = PasswordField("新密码", description=_POLICY, widget=BS3PasswordFieldWidget(),
                             validators=[DataRequired("请输入新密码。"),
                                         PasswordComplexityValidator(), _differs_from_old])
    conf_password = PasswordField("确认新密码", description="再输入一遍新密码",
                                  widget=BS3PasswordFieldWidget(),
                                  validators=[EqualTo("password", message="两次输入的新密码不一致。")])


class ResetAnyPasswordForm(DynamicForm):
    password = PasswordField("新密码", description=_POLICY, widget=BS3PasswordFieldWidget(),
                             validators=[DataRequired("请输入新密码。"),
                                         PasswordComplexityValidator()])
    conf_password = PasswordField("确认新密码", description="再输入一遍新密码",
                                  widget=BS3PasswordFieldWidget(),
                                  validators=[EqualTo("password", message="两次输入的新密码不一致。")])


# ---------------------------------------------------------------------------- screens
class AuthDBView(fab_views.AuthDBView):
    """FAB's login, saying so when the account is locked."""

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = fab_views.LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                lock = login_state().get("locked")
                flash(logins.lock_message(lock) if lock is not None else INVALID_LOGIN,
                      "danger" if lock is not None else "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            login_user(user, remember=False)
            return redirect(next_url)
        return self.render_template(self.login_template, title=self.title, form=form,
                                    appbuilder=self.appbuilder)


class ResetMyPasswordView(fab_views.ResetMyPasswordView):
    """One's own password: the old one first; the other sessions end (reset_password)."""
    form = ChangeMyPasswordForm
    form_title = "修改密码"
    message = "密码已修改。您在其他浏览器或设备上的登录已全部退出。"


class ResetPasswordView(fab_views.ResetPasswordView):
    """An administrator sets a user's password: all that user's sessions end, a lock is
    lifted."""
    form = ResetAnyPasswordForm
    form_title = "重置用户密码"
    message = "密码已重置：该用户的所有登录已退出，如账号被锁定也已解除。"

    def form_post(self, form):
        pk = request.args.get("pk", "")
        if not pk.isdigit() or self.appbuilder.sm.get_user_by_id(int(pk)) is None:
            abort(404)
        self.appbuilder.sm.reset_password(int(pk), form.password.data)
        flash(self.message, "info")


# ---------------------------------------------------------------------------- API
class SecurityApi(fab_api.SecurityApi):
    """FAB's API login, with the lockout of the screen login (429 while locked) and a
    session behind every token (the "sid" claim): password changes end the tokens too."""

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        """Login endpoint for the API returns a JWT and optionally a refresh token
        ---
        post:
          description: >-
            Authenticate and get a JWT access and refresh token. Failed passwords are counted
            per account; a locked account answers 429 (even with the right password).
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [username, password]
                  properties:
                    username:
                      type: string
                    password:
                      type: string
                    provider:
                      type: string
                      enum: [db]
                    refresh:
                      type: boolean
          responses:
            200:
              description: Authentication Successful
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      access_token:
                        type: string
                      refresh_token:
                        type: string
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            429:
              description: The account is locked after too many failed passwords
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message:
                        type: string
            500:
              $ref: '#/components/responses/500'
        """
        if not request.is_json:
            return self.response_400(message="请求内容应为 JSON：{\"username\": …, \"password\": …}")
        try:
            payload = login_post.load(request.get_json(silent=True) or {})
        except SchemaError as error:
            return self.response_400(message=error.messages)
        if payload.get("provider", "db") != "db":
            return self.response_400(message="只支持 provider 为 db 的登录。")
        user = self.appbuilder.sm.auth_user_db(payload["username"], payload["password"])
        lock = login_state().get("locked")
        if lock is not None:
            response = self.response(429, message=logins.lock_message(lock))
            seconds = logins.retry_after(lock)
            if seconds is not None:
                response.headers["Retry-After"] = str(seconds)
            return response
        if not user:
            return self.response(401, message=INVALID_LOGIN)
        login_state()["sid"] = logins.start_session(user, logins.API)
        tokens = {"access_token": create_access_token(identity=str(user.id), fresh=True)}
        if payload.get("refresh"):
            tokens["refresh_token"] = create_refresh_token(identity=str(user.id))
        return self.response(200, **tokens)
