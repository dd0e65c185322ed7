"""The deploy commands of the README on a fresh database (SQLite: they are database-agnostic;
the migrations themselves run on all three databases in every test session)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

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
