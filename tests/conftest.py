"""Test fixtures: every test that uses `app` runs on SQLite, PostgreSQL and MariaDB.

QINGDAN_TEST_DATABASES (default "sqlite,postgresql,mariadb") chooses the databases. Each
run gets databases of its own, created here and dropped afterwards. A database that was
asked for but cannot be reached fails the run: it is never skipped silently.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the repository: the spec and the sample files (QINGDAN_SHARED elsewhere,
# e.g. for a copy of the repository in a temporary directory).
SHARED = Path(os.environ.get("QINGDAN_SHARED") or ROOT.parent / "shared")
SAMPLES = SHARED / "samples"
SPEC = SHARED / "spec" / "lists.md"
DATABASES = [d.strip() for d in os.environ.get(
    "QINGDAN_TEST_DATABASES", "sqlite,postgresql,mariadb").split(",") if d.strip()]
PG = os.environ.get("QINGDAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
MY = os.environ.get("QINGDAN_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")

PASSWORD = "Test-pass-1"
USERS = {"admin": "管理员", "clerk": "科员", "head": "科长", "reader": "只读"}


def _server_url(kind: str, name: str) -> str:
    return {"postgresql": f"{PG}/{name}", "mariadb": f"{MY}/{name}?charset=utf8mb4"}[kind]


def _admin_engine(kind: str):
    from sqlalchemy import create_engine
    base = {"postgresql": f"{PG}/test", "mariadb": f"{MY}/test"}[kind]
    return create_engine(base, isolation_level="AUTOCOMMIT")


def _create_database(kind: str, tmp_dir: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{tmp_dir / 'qingdan-test.db'}", lambda: None
    from sqlalchemy import text
    name = f"qd_test_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine(kind)
    try:
        with engine.connect() as conn:
            if kind == "mariadb":
                conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                                  "COLLATE utf8mb4_unicode_ci"))
            else:
                conn.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"))
    except Exception as exc:  # unreachable: fail loudly, never skip
        pytest.fail(f"database {kind} was asked for (QINGDAN_TEST_DATABASES) but cannot be "
                    f"used: {exc}", pytrace=False)

    def drop():
        from sqlalchemy import text as t
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.execute(t(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(t(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()
    return _server_url(kind, name), drop


def prepare_database(application) -> None:
    """The schema, the code-defined roles and the test users (USERS, PASSWORD)."""
    from flask_migrate import upgrade

    from app import db
    from app.web.security import sync_roles
    with application.app_context():
        upgrade()
        sync_roles()
        sm = application.appbuilder.sm
        for username, role in USERS.items():
            sm.add_user(username, username, "测试", f"{username}@example.cn",
                        sm.find_role(role), password=PASSWORD)
        db.session.commit()


@pytest.fixture(scope="session", params=DATABASES)
def app(request, tmp_path_factory):

    from app import create_app, db

    kind = request.param
    url, drop = _create_database(kind, tmp_path_factory.mktemp(kind))
    application = create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "qingdan-test-secret-of-at-least-32-bytes",
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "QINGDAN_SEED_ON_FIRST_START": False,
        "QINGDAN_DB_KIND": kind,
    })
    prepare_database(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture(autouse=True)
def _clean_lists(request):
    """Each test starts with empty lists (users and roles stay)."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from flask_appbuilder import Model

    from app import db
    with application.app_context():
        db.session.rollback()
        for table in reversed(Model.metadata.sorted_tables):
            if table.name.startswith("qd_"):
                db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()


@pytest.fixture
def session(app):
    from app import db
    with app.app_context():
        yield db.session


@pytest.fixture
def client(app):
    return app.test_client()


def xlsx(rows, title="Sheet1") -> bytes:
    """A workbook with one sheet of these rows, as an upload would bring it."""
    import io

    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def login(client, username: str):
    resp = client.post("/login/", data={"username": username, "password": PASSWORD},
                       follow_redirects=False)
    assert resp.status_code in (302, 303), resp.data[:500]
    return client


def api_token(client, username: str) -> dict:
    """The Authorization header of an API session (JWT) for one of the test users."""
    resp = client.post("/api/v1/security/login", json={
        "username": username, "password": PASSWORD, "provider": "db", "refresh": False})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


@pytest.fixture
def as_clerk(client):
    return login(client, "clerk")


@pytest.fixture
def as_admin(client):
    return login(client, "admin")


@pytest.fixture
def samples() -> Path:
    return SAMPLES


# ---------------------------------------------------------------------------- background jobs
# Shared by the export jobs (test_jobs.py) and the import jobs (test_import_jobs.py).
REDIS_URL = os.environ.get("QINGDAN_TEST_REDIS", "redis://127.0.0.1:6379/0")
RQ = Path(sys.executable).with_name("rq")


@pytest.fixture
def jobs_config(app, monkeypatch):
    def configure(**values):
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)
    return configure


@pytest.fixture
def rq_worker(app, jobs_config):
    """Start `rq worker` (burst: it exits when its queue is empty) on a queue of its own,
    with the app's database; yield the process; kill it (and its work horse) at the end."""
    queue = f"qingdan-test-{uuid.uuid4().hex[:8]}"
    jobs_config(QINGDAN_JOBS="rq", REDIS_URL=REDIS_URL, QINGDAN_JOB_QUEUE=queue)
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SECRET_KEY=app.config["SECRET_KEY"], QINGDAN_ENV="production",
               RATELIMIT_ENABLED="0", PYTHONPATH=str(ROOT))
    started = []

    def start():
        proc = subprocess.Popen([str(RQ), "worker", "--burst", "-w", "app.jobs_worker.Worker",
                                 "--url", REDIS_URL, queue],
                                cwd=ROOT, env=env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(proc)
        return proc
    yield start
    for proc in started:
        kill_worker(proc)


def kill_worker(proc) -> None:
    """SIGKILL the worker and its work horse (RQ forks one per job, in a session of its own,
    so that the worker's signals do not reach it)."""
    try:
        horses = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        horses = []
    for p in [*horses]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
