"""Failed passwords are counted per account in the database (issue 6 §3): the count is
shared by every process, the account locks after a configurable number (for a configurable
time, or until an administrator unlocks it), the API login is locked too (429), colleagues
behind the same address still log in, and every step is on the login record."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from conftest import PASSWORD
from test_auth_sessions import login_as, temporary_user

from app import db

WRONG = "Wrong-pass-9"


@pytest.fixture
def person(app):
    yield from temporary_user(app)


def form_login(app, username, password, environ=None):
    """One login on the screen; True when it let the user in."""
    client = app.test_client()
    resp = client.post("/login/", data={"username": username, "password": password},
                       environ_base=environ or {"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 302
    return "/login" not in resp.headers["Location"], client


def flashed(client) -> str:
    return client.get("/login/").get_data(as_text=True)


def api_login(app, username, password):
    return app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db"})


def events(app, account) -> list[str]:
    from app.logins import LoginEvent
    with app.app_context():
        return [e.kind for e in db.session.query(LoginEvent).filter_by(account=account)
                .order_by(LoginEvent.id)]


def guard(app, account):
    from app.logins import LoginGuard
    with app.app_context():
        row = db.session.query(LoginGuard).filter_by(account=account).one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def test_account_locks_after_five_failures_and_even_the_right_password_is_refused(app, person):
    assert app.config["QINGDAN_LOGIN_MAX_FAILURES"] == 5
    assert app.config["RATELIMIT_ENABLED"] is False  # the lockout does not depend on it
    for _ in range(4):
        ok, client = form_login(app, person, WRONG)
        assert not ok and "用户名或密码不正确" in flashed(client)
    ok, client = form_login(app, person, WRONG)
    page = flashed(client)
    assert not ok and "已被锁定" in page and "自动解除" in page
    ok, client = form_login(app, person, PASSWORD)
    assert not ok and "已被锁定" in flashed(client)
    assert events(app, person) == ["failure"] * 5 + ["locked", "refused"]
    row = guard(app, person)
    assert row.locked and row.refused == 1
    lock_minutes = app.config["QINGDAN_LOGIN_LOCK_MINUTES"]
    assert abs((row.locked_until - row.locked_on) - dt.timedelta(minutes=lock_minutes)) \
        < dt.timedelta(seconds=2)


def test_colleagues_behind_the_same_address_still_log_in(app, person):
    # FAB's per-IP limiter (which refused every colleague's right password) stays off
    assert app.config["AUTH_RATE_LIMITED"] is False
    office = {"REMOTE_ADDR": "10.9.9.9"}
    for _ in range(8):
        form_login(app, person, WRONG, office)
    assert guard(app, person).locked
    for colleague in ("clerk", "reader", "head"):
        ok, _ = form_login(app, colleague, PASSWORD, office)
        assert ok, colleague
    assert api_login(app, "clerk", PASSWORD).status_code == 200


def test_the_count_is_shared_by_two_processes(app, person):
    """Two application instances on one database (as two gunicorn workers are)."""
    from app import create_app
    other = create_app({k: app.config[k] for k in (
        "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "TESTING", "WTF_CSRF_ENABLED",
        "RATELIMIT_ENABLED", "QINGDAN_SEED_ON_FIRST_START")})
    try:
        for worker in (app, other, app, other):
            ok, _ = form_login(worker, person, WRONG)
            assert not ok
        assert guard(app, person).failures == 4 and not guard(app, person).locked
        assert api_login(other, person, WRONG).status_code == 429  # the fifth locks it
        for worker in (app, other):
            ok, client = form_login(worker, person, PASSWORD)
            assert not ok and "已被锁定" in flashed(client)
            assert api_login(worker, person, PASSWORD).status_code == 429
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_api_login_is_counted_and_locked_with_429(app, person):
    for _ in range(4):
        resp = api_login(app, person, WRONG)
        assert resp.status_code == 401 and "用户名或密码不正确" in resp.get_json()["message"]
    assert api_login(app, person, WRONG).status_code == 429  # the fifth locks it
    resp = api_login(app, person, PASSWORD)
    assert resp.status_code == 429
    assert "已被锁定" in resp.get_json()["message"]
    assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60
    ok, _ = form_login(app, person, PASSWORD)  # the same lock on the screen
    assert not ok
    assert guard(app, person).refused == 2  # counted; one event, not one per attempt
    from app.logins import LoginEvent
    with app.app_context():
        channels = {e.channel for e in db.session.query(LoginEvent).filter_by(account=person)}
    assert channels == {"api"}


def test_a_name_without_an_account_locks_the_same_way(app):
    """The answers do not tell which accounts exist."""
    nobody = f"nobody{uuid.uuid4().hex[:6]}"
    for _ in range(5):
        form_login(app, nobody, WRONG)
    ok, client = form_login(app, nobody, WRONG)
    assert not ok and "已被锁定" in flashed(client)


def test_failures_by_email_count_for_the_same_account(app, person):
    for login_name in (person, f"{person}@example.cn") * 3:
        form_login(app, login_name, WRONG)
    assert guard(app, person).locked


def test_lock_lifts_by_itself_when_its_time_is_over(app, person):
    from app.logins import LoginGuard
    for _ in range(5):
        form_login(app, person, WRONG)
    with app.app_context():
        row = db.session.query(LoginGuard).filter_by(account=person).one()
        row.locked_until = dt.datetime.now() - dt.timedelta(seconds=1)
        db.session.commit()
    ok, _ = form_login(app, person, PASSWORD)
    assert ok
    assert events(app, person)[-2:] == ["unlocked", "login"]
    assert guard(app, person).failures == 0


def test_old_failures_outside_the_window_are_forgotten(app, person):
    from app.logins import LoginGuard
    for _ in range(4):
        form_login(app, person, WRONG)
    with app.app_context():
        row = db.session.query(LoginGuard).filter_by(account=person).one()
        row.last_failure_on -= dt.timedelta(
            minutes=app.config["QINGDAN_LOGIN_FAILURE_WINDOW_MINUTES"] + 1)
        db.session.commit()
    form_login(app, person, WRONG)
    row = guard(app, person)
    assert row.failures == 1 and not row.locked


def test_success_resets_the_count(app, person):
    for _ in range(4):
        form_login(app, person, WRONG)
    assert form_login(app, person, PASSWORD)[0]
    for _ in range(4):
        form_login(app, person, WRONG)
    assert not guard(app, person).locked


def test_admin_sees_the_record_and_unlocks_from_the_screen(app, person):
    app.config["QINGDAN_LOGIN_LOCK_MINUTES"] = 0  # locked until an administrator unlocks
    try:
        for _ in range(5):
            form_login(app, person, WRONG)
        ok, client = form_login(app, person, PASSWORD)
        assert not ok and "请联系管理员解除锁定" in flashed(client)
        row = guard(app, person)
        assert row.locked and row.locked_until is None
    finally:
        app.config["QINGDAN_LOGIN_LOCK_MINUTES"] = 15
    admin = login_as(app, "admin")
    page = admin.get("/locked-accounts/list/").get_data(as_text=True)
    assert person in page and "已锁定" in page and "解除锁定" in page
    resp = admin.post("/locked-accounts/action_post",
                      data={"action": "unlock", "rowid": str(row.id)})
    assert resp.status_code == 302
    assert "已解除锁定" in admin.get("/locked-accounts/list/").get_data(as_text=True)
    assert form_login(app, person, PASSWORD)[0]
    page = admin.get(f"/login-events/list/?_flt_0_account={person}").get_data(as_text=True)
    for label in ("密码错误", "账号锁定", "锁定期间登录被拒", "解除锁定", "登录成功", "网页"):
        assert label in page, label
    from app.logins import LoginEvent
    with app.app_context():
        unlocked = db.session.query(LoginEvent).filter_by(account=person,
                                                          kind="unlocked").one()
        assert unlocked.actor == "admin"


def test_only_administrators_see_the_login_record(app):
    clerk = login_as(app, "clerk")
    assert clerk.get("/login-events/list/").status_code == 403
    assert clerk.get("/locked-accounts/list/").status_code == 403
    assert login_as(app, "admin").get("/login-events/list/").status_code == 200


def test_lockout_has_its_own_switch(app, person):
    app.config["QINGDAN_LOCKOUT_ENABLED"] = False
    try:
        for _ in range(7):
            form_login(app, person, WRONG)
        assert form_login(app, person, PASSWORD)[0]
    finally:
        app.config["QINGDAN_LOCKOUT_ENABLED"] = True
