"""Sessions end on the server (issue 6 §3): logout, password change and reset end copied
cookies and JWTs; lifetime and idle timeout; cookie flags; no fixed development key; the
password policy on every path that sets a password."""
from __future__ import annotations

import datetime as dt
import importlib
import os
import stat
import uuid

import pytest
from conftest import PASSWORD
from factories import user_id

from app import db

NEW_PASSWORD = "Neues-Passwort-2"


# ---------------------------------------------------------------------------- helpers
def _models():
    from app.logins import LoginEvent, LoginSession
    return LoginEvent, LoginSession


@pytest.fixture
def person(app):
    """A user of its own (role 科员) for tests that change passwords or log out."""
    yield from temporary_user(app)


def temporary_user(app):
    name = f"p{uuid.uuid4().hex[:8]}"
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(name, name, "测试", f"{name}@example.cn", sm.find_role("科员"),
                           password=PASSWORD)
        user_id = user.id
        db.session.remove()
    yield name
    with app.app_context():
        user = db.session.get(app.appbuilder.sm.user_model, user_id)
        if user is not None:
            db.session.delete(user)
            db.session.commit()
        db.session.remove()


def login_as(app, username, password=PASSWORD):
    client = app.test_client()
    resp = client.post("/login/", data={"username": username, "password": password})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"], \
        resp.get_data(as_text=True)[:300]
    return client


def copy_of(app, client):
    """A second browser holding a copy of `client`'s session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    other = app.test_client()
    other.set_cookie(name, client.get_cookie(name).value)
    return other


def signed_in(client) -> bool:
    resp = client.get("/experts/list/")
    return resp.status_code == 200


def jwt_for(app, username, password=PASSWORD, refresh=False) -> dict:
    resp = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db", "refresh": refresh})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def api_works(app, token: str) -> bool:
    resp = app.test_client().get("/api/v1/experts/", headers=bearer(token))
    assert resp.status_code in (200, 401), resp.get_json()
    return resp.status_code == 200


# ---------------------------------------------------------------------------- logout
def test_a_copied_cookie_stops_working_after_logout(app, person):
    browser = login_as(app, person)
    thief = copy_of(app, browser)
    assert signed_in(thief)
    assert browser.get("/logout/").status_code == 302
    assert not signed_in(thief)
    assert not signed_in(browser)
    LoginEvent, LoginSession = _models()
    with app.app_context():
        row = db.session.query(LoginSession).filter_by(user_id=user_id(app, person)).one()
        assert row.end_reason == "logout" and row.ended_on is not None
        kinds = [e.kind for e in db.session.query(LoginEvent).filter_by(account=person)
                 .order_by(LoginEvent.id)]
    assert kinds == ["login", "logout"]


# ---------------------------------------------------------------------------- passwords
def test_admin_reset_ends_every_session_and_token_of_the_user(app, person):
    browser = login_as(app, person)
    thief = copy_of(app, browser)
    tokens = jwt_for(app, person, refresh=True)
    assert api_works(app, tokens["access_token"])
    admin = login_as(app, "admin")
    pk = user_id(app, person)
    resp = admin.post(f"/resetpassword/form?pk={pk}",
                      data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert not signed_in(browser) and not signed_in(thief)
    assert not api_works(app, tokens["access_token"])
    resp = app.test_client().get("/api/v1/experts/", headers=bearer(tokens["access_token"]))
    assert "请重新登录" in resp.get_json()["message"]
    refreshed = app.test_client().post("/api/v1/security/refresh",
                                       headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 401
    assert signed_in(admin)  # the administrator's own session is not touched
    assert signed_in(login_as(app, person, NEW_PASSWORD))
    LoginEvent, _ = _models()
    with app.app_context():
        event = db.session.query(LoginEvent).filter_by(account=person,
                                                       kind="password_reset").one()
        assert event.actor == "admin"


def test_own_password_change_asks_for_the_old_one_and_ends_the_other_sessions(app, person):
    here = login_as(app, person)
    elsewhere = login_as(app, person)
    token = jwt_for(app, person)["access_token"]
    form = {"old_password": "wrong-0ld", "password": NEW_PASSWORD,
            "conf_password": NEW_PASSWORD}
    page = here.post("/resetmypassword/form", data=form).get_data(as_text=True)
    assert "原密码不正确" in page
    page = here.post("/resetmypassword/form", data=dict(
        form, old_password=PASSWORD, password="1", conf_password="1")).get_data(as_text=True)
    assert "密码太短" in page
    assert signed_in(elsewhere)  # nothing changed yet
    resp = here.post("/resetmypassword/form", data=dict(form, old_password=PASSWORD))
    assert resp.status_code == 302
    assert signed_in(here)                 # this browser stays signed in …
    assert not signed_in(elsewhere)        # … the others are signed out
    assert not api_works(app, token)
    old = app.test_client().post("/login/", data={"username": person, "password": PASSWORD})
    assert "/login/" in old.headers["Location"]  # the old password no longer opens it
    assert jwt_for(app, person, NEW_PASSWORD)["access_token"]


def test_refreshed_token_belongs_to_the_same_session(app, person):
    tokens = jwt_for(app, person, refresh=True)
    resp = app.test_client().post("/api/v1/security/refresh",
                                  headers=bearer(tokens["refresh_token"]))
    assert resp.status_code == 200
    fresh = resp.get_json()["access_token"]
    assert api_works(app, fresh)
    with app.app_context():
        app.appbuilder.sm.reset_password(user_id(app, person), NEW_PASSWORD)
    assert not api_works(app, fresh)


@pytest.mark.parametrize("weak, says", [("1", "密码太短"), ("abcdefghij", "字母和数字"),
                                         ("1234567890", "字母和数字")])
def test_weak_passwords_are_refused_on_the_screens(app, person, weak, says):
    admin = login_as(app, "admin")
    name = f"n{uuid.uuid4().hex[:6]}"
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("只读").id
    page = admin.post("/users/add", data={
        "first_name": "新", "last_name": "人", "username": name, "active": "y",
        "email": f"{name}@example.cn", "roles": str(role_id), "password": weak,
        "conf_password": weak}).get_data(as_text=True)
    assert says in page
    with app.app_context():
        assert app.appbuilder.sm.find_user(username=name) is None
    pk = user_id(app, person)
    page = admin.post(f"/resetpassword/form?pk={pk}",
                      data={"password": weak, "conf_password": weak}).get_data(as_text=True)
    assert says in page
    assert signed_in(login_as(app, person))  # the old password still works


def test_weak_passwords_are_refused_on_the_command_line(app, person):
    """`flask fab create-admin`, `create-user`, `reset-password` (FAB's own commands)."""
    from flask_appbuilder.cli import fab
    cli = app.test_cli_runner()

    class runner:  # noqa: N801  (`flask fab …`: FAB's group, as the flask command finds it)
        @staticmethod
        def invoke(args):
            assert args[0] == "fab"
            return cli.invoke(fab, args=args[1:])

    for command in (["fab", "create-admin"], ["fab", "create-user", "--role", "只读"]):
        name = f"c{uuid.uuid4().hex[:6]}"
        result = runner.invoke(args=[*command, "--username", name, "--firstname", "新",
                                     "--lastname", "人", "--email", f"{name}@example.cn",
                                     "--password", "1"])
        assert result.exit_code != 0 and "密码太短" in result.output, result.output
        with app.app_context():
            assert app.appbuilder.sm.find_user(username=name) is None
            db.session.remove()
    result = runner.invoke(args=["fab", "reset-password", "--username", person,
                                 "--password", "abc"])
    assert result.exit_code != 0 and "密码太短" in result.output, result.output
    assert signed_in(login_as(app, person))
    name = f"c{uuid.uuid4().hex[:6]}"
    result = runner.invoke(args=["fab", "create-user", "--role", "只读", "--username", name,
                                 "--firstname", "新", "--lastname", "人",
                                 "--email", f"{name}@example.cn", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    login_as(app, name, NEW_PASSWORD)
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=name)
        assert user is not None
        db.session.delete(user)
        db.session.commit()


# ---------------------------------------------------------------------------- lifetime
def _move(app, username, column, minutes):
    _, LoginSession = _models()
    with app.app_context():
        row = db.session.query(LoginSession).filter_by(
            user_id=user_id(app, username), ended_on=None).one()
        setattr(row, column, getattr(row, column) - dt.timedelta(minutes=minutes))
        db.session.commit()
        return row.id


def _end_reason(app, row_id):
    _, LoginSession = _models()
    with app.app_context():
        return db.session.get(LoginSession, row_id).end_reason


def test_session_ends_after_the_idle_timeout_and_after_the_working_day(app, person):
    idle = float(app.config["QINGDAN_SESSION_IDLE_MINUTES"])
    hours = float(app.config["QINGDAN_SESSION_HOURS"])
    assert (idle, hours) == (60, 10)  # the defaults: an idle hour, a working day
    browser = login_as(app, person)
    row = _move(app, person, "seen_on", idle - 5)
    assert signed_in(browser)                      # active within the idle time
    row = _move(app, person, "seen_on", idle + 1)
    assert not signed_in(browser) and _end_reason(app, row) == "idle"
    browser = login_as(app, person)
    _move(app, person, "created_on", hours * 60 + 1)
    assert not signed_in(browser)
    _, LoginSession = _models()
    with app.app_context():
        reasons = {r.end_reason for r in db.session.query(LoginSession).filter_by(
            user_id=user_id(app, person))}
    assert reasons == {"idle", "expired"}


def test_session_cookie_is_permanent_lax_httponly_and_secure_when_configured(app, person):
    resp = app.test_client().post("/login/", data={"username": person, "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie
    assert app.permanent_session_lifetime == dt.timedelta(minutes=60)
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        resp = app.test_client().post("/login/", data={"username": person,
                                                       "password": PASSWORD})
        assert "Secure" in resp.headers["Set-Cookie"]
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_cookie_and_session_settings_come_from_the_environment(monkeypatch):
    import config
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("SESSION_COOKIE_SAMESITE", "Strict")
    monkeypatch.setenv("QINGDAN_SESSION_HOURS", "8")
    monkeypatch.setenv("QINGDAN_SESSION_IDLE_MINUTES", "20")
    monkeypatch.setenv("QINGDAN_LOGIN_MAX_FAILURES", "3")
    try:
        importlib.reload(config)
        assert config.SESSION_COOKIE_SECURE is True
        assert config.REMEMBER_COOKIE_SECURE is True
        assert config.SESSION_COOKIE_SAMESITE == "Strict"
        assert (config.QINGDAN_SESSION_HOURS, config.QINGDAN_SESSION_IDLE_MINUTES) == (8, 20)
        assert config.QINGDAN_LOGIN_MAX_FAILURES == 3
    finally:
        monkeypatch.undo()
        importlib.reload(config)
    assert config.SESSION_COOKIE_SECURE is False and config.SESSION_COOKIE_SAMESITE == "Lax"


# ---------------------------------------------------------------------------- the key
OLD_DEVELOPMENT_KEY = "qingdan-development-only"


def _development_app(monkeypatch, instance):
    import config
    from app import create_app
    monkeypatch.setattr(config, "ENV", "development")
    monkeypatch.setattr(config, "SECRET_KEY", None)
    monkeypatch.setattr(config, "INSTANCE_DIR", str(instance))
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'q.db'}",
                       "WTF_CSRF_ENABLED": False})


def test_development_key_is_random_per_instance_and_kept_private(monkeypatch, tmp_path):
    one = _development_app(monkeypatch, tmp_path / "a")
    key_file = tmp_path / "a" / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert one.secret_key not in (OLD_DEVELOPMENT_KEY, "") and len(one.secret_key) >= 32
    assert _development_app(monkeypatch, tmp_path / "a").secret_key == one.secret_key
    assert _development_app(monkeypatch, tmp_path / "b").secret_key != one.secret_key


def test_cookie_forged_with_the_published_development_key_gets_nothing(monkeypatch,
                                                                        tmp_path):
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface
    from flask_migrate import upgrade

    from app.web.security import sync_roles
    application = _development_app(monkeypatch, tmp_path)
    with application.app_context():
        upgrade()
        sync_roles()
        sm = application.appbuilder.sm
        admin = sm.add_user("boss", "局", "长", "boss@example.cn", sm.find_role("管理员"),
                            password=PASSWORD)
        admin_id = admin.id
        db.session.remove()
    forger = Flask("forger")
    forger.secret_key = OLD_DEVELOPMENT_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    client = application.test_client()
    for forged in ({"_user_id": str(admin_id), "_fresh": True},
                   {"_user_id": str(admin_id), "_fresh": True, "qd_sid": "guessed"}):
        client.set_cookie(application.config["SESSION_COOKIE_NAME"], serializer.dumps(forged))
        resp = client.get("/users/list/")
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------------------- retention
def test_logins_older_than_the_kept_days_are_forgotten_at_the_next_login(app, person):
    LoginEvent, LoginSession = _models()
    days = app.extensions["qingdan.settings"]["LOGIN_RECORD_DAYS"]
    assert days == 365  # the default: a year, over the six months 网络安全法 asks for
    login_as(app, person)  # a session and a login event of today
    uid = user_id(app, person)
    long_ago = dt.datetime.now() - dt.timedelta(days=days + 1)
    recently = dt.datetime.now() - dt.timedelta(days=days - 1)
    with app.app_context():
        for when, label in ((long_ago, "old"), (recently, "recent")):
            db.session.add(LoginEvent(happened_on=when, account=person, user_id=uid,
                                      kind="login", channel="web", detail=label))
            db.session.add(LoginSession(token_hash=uuid.uuid4().hex, user_id=uid,
                                        channel="web", created_on=when, seen_on=when,
                                        ended_on=when, end_reason=label))
        db.session.commit()
    login_as(app, person)
    with app.app_context():
        details = {e.detail for e in db.session.query(LoginEvent).filter_by(user_id=uid)}
        reasons = {s.end_reason for s in db.session.query(LoginSession).filter_by(user_id=uid)}
    assert "old" not in details and "recent" in details
    assert "old" not in reasons and "recent" in reasons
    assert None in reasons  # today's sessions, still open, are kept


def test_a_kept_time_shorter_than_six_months_is_read_as_six_months(app, person):
    LoginEvent, _ = _models()
    uid = user_id(app, person)
    with app.app_context():
        db.session.add(LoginEvent(happened_on=dt.datetime.now() - dt.timedelta(days=100),
                                  account=person, user_id=uid, kind="login", channel="web",
                                  detail="hundred days"))
        db.session.commit()
    bound = app.extensions["qingdan.settings"]
    saved = bound["LOGIN_RECORD_DAYS"]
    bound["LOGIN_RECORD_DAYS"] = 30
    try:
        login_as(app, person)
    finally:
        bound["LOGIN_RECORD_DAYS"] = saved
    with app.app_context():
        assert db.session.query(LoginEvent).filter_by(
            user_id=uid, detail="hundred days").count() == 1
