"""The deploy commands of the README on a fresh database (SQLite: they are database-agnostic;
the migrations themselves run on all three databases in every test session), and several
hosts deploying at once on the servers' databases."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_fresh_database_upgrade_then_create_admin(tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    path = tmp_path / "fresh.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "SECRET_KEY": "qingdan-deploy-test-secret-0123456789",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "QINGDAN_ENV": "production",
           "SECRET_KEY": "qingdan-deploy-test-secret-0123456789"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "fab", "create-admin",
         "--username", "boss", "--firstname", "局", "--lastname", "长",
         "--email", "boss@example.cn", "--password", "Secret-2015"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite3.connect(path)
    roles = db.execute("select r.name from ab_user u join ab_user_role ur on ur.user_id = u.id "
                       "join ab_role r on r.id = ur.role_id where u.username = 'boss'").fetchall()
    assert roles == [("管理员",)]
    assert {r for (r,) in db.execute("select name from ab_role")} == {
        "管理员", "科员", "科长", "只读", "公众"}
    client = app.test_client()
    client.post("/login/", data={"username": "boss", "password": "Secret-2015"})
    assert client.get("/experts/list/").status_code == 200


def test_secret_key_is_required_outside_development(monkeypatch):
    import pytest

    import config
    from app import create_app
    monkeypatch.setattr(config, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


# ---------------------------------------------------------------------------- several hosts
# Each host's deploy script runs `qingdan init`; several hosts deploying at once raced on
# creating the same permissions (the later ones failed on a unique key). On MariaDB here
# (its named lock); PostgreSQL's advisory lock is taken by the three deploys of
# tests/test_multi_process.py, which runs on PostgreSQL always. SQLite is one host's.
SERVERS = ["mariadb"] if "mariadb" in os.environ.get(
    "QINGDAN_TEST_DATABASES", "sqlite,postgresql,mariadb") else ["postgresql"]


def waiting_for_deploy_lock(engine, kind: str) -> int:
    """Connections waiting for the deploy lock (app/web/security.py: deploy_lock)."""
    import sqlalchemy as sa

    from app.web.security import SYNC_LOCK_KEY
    sql = ("select count(*) from pg_locks where locktype = 'advisory' and not granted "
           "and objid::bigint = :key" if kind == "postgresql" else
           "select count(*) from information_schema.processlist where state = 'User lock' "
           "and info like '%%GET_LOCK%%'")
    with engine.connect() as conn:
        return conn.scalar(sa.text(sql), {"key": SYNC_LOCK_KEY})


def security_rows(engine) -> list:
    import sqlalchemy as sa
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select r.name, p.name, v.name from ab_permission_view_role pr "
            "join ab_role r on r.id = pr.role_id "
            "join ab_permission_view pv on pv.id = pr.permission_view_id "
            "join ab_permission p on p.id = pv.permission_id "
            "join ab_view_menu v on v.id = pv.view_menu_id order by 1, 2, 3"))]


@pytest.mark.parametrize("kind", SERVERS)
def test_three_deploys_at_once_take_turns_at_the_deploy_lock_and_all_succeed(kind, tmp_path):
    import time

    from conftest import _create_database
    from flask_migrate import upgrade

    from app import create_app, db
    from app.web.security import deploy_lock, sync_roles
    url, drop = _create_database(kind, tmp_path)
    secret = "qingdan-deploy-test-secret-0123456789"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    env = {**os.environ, "DATABASE_URL": url, "QINGDAN_ENV": "production",
           "SECRET_KEY": secret, "QINGDAN_INSTANCE": str(tmp_path / "instance")}
    deploys = []
    try:
        with app.app_context():
            upgrade()
            # Held here while three hosts start their `qingdan init`: all three reach the
            # lock before any of them syncs.
            with deploy_lock(db.engine):
                deploys = [subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "app", "qingdan", "init"],
                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    for _ in range(3)]
                deadline = time.monotonic() + 120
                while (waiting := waiting_for_deploy_lock(db.engine, kind)) < 3 and \
                        time.monotonic() < deadline and any(p.poll() is None for p in deploys):
                    time.sleep(0.1)
            outputs = [p.communicate(timeout=180)[0].decode(errors="replace") for p in deploys]
            assert waiting == 3, outputs
            for p, out in zip(deploys, outputs):
                assert p.returncode == 0, out[-3000:]
            synced = security_rows(db.engine)
            assert ("科员", "can_import", "Lists") in synced
            assert ("只读", "can_import", "Lists") not in synced
            sync_roles()  # what three deploys left is what one gives
            assert security_rows(db.engine) == synced
    finally:
        for p in deploys:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


@pytest.mark.parametrize("argv, wanted", [
    (["flask", "--app", "app", "lists", "import", "experts", "f.xlsx"], False),
    (["flask", "-A", "app", "lists", "export", "experts", "out.xlsx"], False),
    (["flask", "--app", "app", "lists", "names"], False),
    (["flask", "--app", "app", "qingdan", "init"], True),   # syncs the screens' permissions
    (["flask", "--app", "app", "run"], True),
    (["gunicorn", "-w", "4", "app:create_app()"], True),
    (["pytest", "tests"], True),
])
def test_list_commands_start_without_the_screens_and_all_else_with_them(argv, wanted):
    from app import screens_wanted
    assert screens_wanted(argv) is wanted


def test_a_list_command_works_without_the_screens(tmp_path):
    """The command line as a clerk runs it, in a process of its own (no screens built)."""
    env = dict(os.environ, QINGDAN_ENV="development", QINGDAN_INSTANCE=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'q.db'}")
    out = tmp_path / "template.xlsx"
    for args in (["db", "upgrade"], ["lists", "template", "experts", str(out)]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 0
