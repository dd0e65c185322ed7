"""Several processes on one database, as production runs (README: Scale-out layout): two
gunicorn app processes on two loopback ports (A with 2 workers, B with 1) and one RQ worker,
on PostgreSQL and Redis, driven by a real HTTP client. Whatever one process starts, the other
carries on: a login, a logout, the count of failed passwords, an import preview, a background
export. Three deploys at once take turns at the deploy lock. And the load test's tools run
briefly: locust (bench/locustfile.py) against A, every page requested, none failed (how fast
is bench/load.py's business: the machine is shared, no time is asserted).

PostgreSQL only, whatever QINGDAN_TEST_DATABASES says (production's database; the other two
are covered in-process by the rest of the suite): a fresh database of this module's own, and
a run fails, never skips, when PostgreSQL (127.0.0.1:5432, QINGDAN_TEST_PG) or Redis
(QINGDAN_TEST_REDIS) cannot be reached.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import PASSWORD, USERS, _create_database, xlsx
from factories import add_enterprises, id_number

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import processes  # noqa: E402

from app import db  # noqa: E402
from app.web.security import SYNC_LOCK_KEY, deploy_lock  # noqa: E402

REDIS_URL = os.environ.get("QINGDAN_TEST_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "qingdan-multi-process-secret-0123456789"
MAX_FAILURES = 4
LOAD_USERS, LOAD_SECONDS, LOAD_WORKERS = 5, 6, 2  # the short locust run (process A)
T = 30  # seconds: the longest one HTTP request may take
WAIT = 90  # seconds: a process's start, a background export
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EXPERT_HEADER = ["姓名", "身份证号码", "工作单位", "职称级别", "专业类别", "专家类型", "聘任日期",
                 "聘期届满", "状态"]


# ---------------------------------------------------------------------------- the cluster
def security_rows(app) -> dict[str, list]:
    """The permissions, view-menus, their pairs and each role's pairs, with their ids: a
    process that wrote any of them (or deleted and wrote them again) changes this."""
    with app.app_context():
        q = lambda sql: [tuple(r) for r in db.session.execute(sa.text(sql))]  # noqa: E731
        rows = {
            "permissions": q("select id, name from ab_permission order by id"),
            "view_menus": q("select id, name from ab_view_menu order by id"),
            "pairs": q("select id, permission_id, view_menu_id from ab_permission_view "
                       "order by id"),
            "granted": q("select r.name, p.name, v.name from ab_permission_view_role pr "
                         "join ab_role r on r.id = pr.role_id "
                         "join ab_permission_view pv on pv.id = pr.permission_view_id "
                         "join ab_permission p on p.id = pv.permission_id "
                         "join ab_view_menu v on v.id = pv.view_menu_id "
                         "order by 1, 2, 3"),
        }
        db.session.rollback()
    return rows


def waiting_for_deploy_lock(app, deploys) -> int:
    """How many backends wait for the deploy lock, once all of `deploys` do (or have ended)."""
    deadline = time.monotonic() + WAIT
    with db.engine.connect() as conn:
        while True:
            waiting = conn.scalar(sa.text(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted "
                "and objid::bigint = :key"), {"key": SYNC_LOCK_KEY})
            conn.rollback()
            if waiting == len(deploys) or all(p.poll() is not None for p in deploys) \
                    or time.monotonic() > deadline:
                return waiting
            time.sleep(0.1)


class Cluster:
    def __init__(self, app, env, a, b, worker, logs, deploys):
        self.app, self.env, self.a, self.b, self.worker = app, env, a, b, worker
        self.logs, self.deploys = logs, deploys
        self.security_before = None

    def add_user(self, role: str) -> str:
        name = f"u{uuid.uuid4().hex[:10]}"
        with self.app.app_context():
            sm = self.app.appbuilder.sm
            sm.add_user(name, name, "测试", f"{name}@example.cn", sm.find_role(role),
                        password=PASSWORD)
            db.session.commit()
        return name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from flask_migrate import upgrade

    from app import create_app
    tmp = tmp_path_factory.mktemp("cluster")
    url, drop = _create_database("postgresql", tmp)
    queue = f"qingdan-test-{uuid.uuid4().hex[:8]}"
    env = processes.server_env(url, SECRET, tmp / "instance", QINGDAN_JOBS="rq",
                               REDIS_URL=REDIS_URL, QINGDAN_JOB_QUEUE=queue,
                               QINGDAN_EXPORT_JOB_ROWS=100,
                               QINGDAN_LOGIN_MAX_FAILURES=MAX_FAILURES)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET,
                      "WTF_CSRF_ENABLED": False, "QINGDAN_SEED_ON_FIRST_START": False})
    started = []
    try:
        with app.app_context():
            upgrade()  # the schema; the roles and permissions are the deploy step below
        # The deploy step on three hosts at once (each runs `qingdan init`, as its deploy
        # script says): they raced on creating the same permissions. Started while this
        # test holds the deploy lock, so that all three are certainly at the same point.
        init = [str(processes.BIN / "flask"), "--app", "app", "qingdan", "init"]
        with app.app_context(), deploy_lock(db.engine):
            deploys = [subprocess.Popen(init, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT) for _ in range(3)]
            started += deploys
            waiting = waiting_for_deploy_lock(app, deploys)
        outputs = [p.communicate(timeout=WAIT * 2)[0].decode(errors="replace")
                   for p in deploys]
        deploys = [(p.returncode, out) for p, out in zip(deploys, outputs)]
        with app.app_context():
            sm = app.appbuilder.sm
            for username, role in USERS.items():
                sm.add_user(username, username, "测试", f"{username}@example.cn",
                            sm.find_role(role), password=PASSWORD)
            db.session.commit()
        before = security_rows(app)
        logs = {name: tmp / f"{name}.log" for name in ("a", "b", "worker")}
        ports = {"a": processes.free_port(), "b": processes.free_port()}
        # Both app processes start at once, as after a deploy.
        servers = {name: processes.start_gunicorn(env, ports[name], workers, logs[name])
                   for name, workers in (("a", LOAD_WORKERS), ("b", 1))}
        started += servers.values()
        worker = processes.start_worker(env, REDIS_URL, queue, logs["worker"])
        started.append(worker)
        for name, proc in servers.items():
            processes.wait_ready(proc, f"http://127.0.0.1:{ports[name]}/login/", logs[name],
                                 timeout=WAIT)
        processes.wait_log(worker, logs["worker"], "Listening on", timeout=WAIT)
        c = Cluster(app, env, f"http://127.0.0.1:{ports['a']}",
                    f"http://127.0.0.1:{ports['b']}", worker, logs, deploys)
        c.security_before, c.waiting = before, waiting
        yield c
    finally:
        for proc in reversed(started):
            processes.stop(proc)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


# ---------------------------------------------------------------------------- the client
def csrf(resp) -> str:
    match = CSRF.search(resp.text)
    assert match, f"no CSRF token on {resp.url}: {resp.text[:500]}"
    return match[1]


def form_login(base: str, http: requests.Session, username: str, password: str) -> bool:
    """Log in through the login form of this process; True when it let the user in."""
    token = csrf(http.get(f"{base}/login/", timeout=T))
    resp = http.post(f"{base}/login/", timeout=T, allow_redirects=False,
                     data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.text[:500]
    return "/login" not in resp.headers["Location"]


def signed_in(base: str, http: requests.Session) -> bool:
    """Does this process let the session open a list page (rather than send it to log in)?"""
    resp = http.get(f"{base}/experts/list/", timeout=T, allow_redirects=False)
    assert resp.status_code in (200, 302), resp.status_code
    return resp.status_code == 200


def flashed(base: str, http: requests.Session) -> str:
    return http.get(f"{base}/login/", timeout=T).text


# ---------------------------------------------------------------------------- deploy
def test_three_deploys_at_once_all_sync_the_permissions_and_starting_writes_none(cluster):
    assert cluster.waiting == 3  # all three waited for one another at the deploy lock
    for returncode, output in cluster.deploys:
        assert returncode == 0, output[-3000:]
        assert "角色与权限已同步" in output
    after_start = security_rows(cluster.app)
    assert after_start == cluster.security_before  # two processes started: nothing written
    granted = {(r, p, v) for r, p, v in after_start["granted"]}
    assert ("科员", "can_import", "Lists") in granted
    assert ("只读", "can_import", "Lists") not in granted
    # What the two deploys left is what one sync gives: another changes nothing.
    from app.web.security import sync_roles
    with cluster.app.app_context():
        sync_roles()
    assert security_rows(cluster.app) == after_start


# ---------------------------------------------------------------------------- sessions
def test_logged_in_on_one_process_is_logged_in_on_the_other_and_logout_ends_both(cluster):
    a, b = cluster.a, cluster.b
    http = requests.Session()
    assert form_login(a, http, "clerk", PASSWORD)
    assert signed_in(b, http) and signed_in(a, http)  # the same cookie, the other process
    logout = http.get(f"{b}/logout/", timeout=T, allow_redirects=False)
    assert logout.status_code == 302
    assert not signed_in(a, http)  # ended on B: A knows, since the session is in the database
    # An old copy of the cookie (as a stolen one would be) is no login on either process.
    other = requests.Session()
    assert form_login(b, other, "clerk", PASSWORD)
    stolen = requests.Session()
    stolen.cookies.update(other.cookies)
    assert signed_in(a, stolen)
    other.get(f"{a}/logout/", timeout=T)
    assert not signed_in(a, stolen) and not signed_in(b, stolen)


def test_failed_logins_on_both_processes_add_up_to_one_lockout(cluster):
    a, b = cluster.a, cluster.b
    person = cluster.add_user("科员")
    wrong = "Wrong-pass-9"
    for base in (a, b, a):
        http = requests.Session()
        assert not form_login(base, http, person, wrong)
        assert "用户名或密码不正确" in flashed(base, http)
    from app.logins import LoginGuard
    with cluster.app.app_context():
        guard = db.session.query(LoginGuard).filter_by(account=person).one()
        assert guard.failures == MAX_FAILURES - 1 and not guard.locked
        db.session.rollback()
    http = requests.Session()
    assert not form_login(b, http, person, wrong)  # the fourth, on B: locked
    assert "已被锁定" in flashed(b, http)
    http = requests.Session()
    assert not form_login(a, http, person, PASSWORD)  # even the right password, on A
    assert "已被锁定" in flashed(a, http)


# ---------------------------------------------------------------------------- imports
def test_import_uploaded_on_one_process_is_previewed_and_confirmed_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    rows = [[f"多进程专家{i}", id_number(seq=700 + i), "上海化工研究院", "正高级", "危险化学品",
             "普通专家", "2020-01-01", "2025-12-31", "在聘"] for i in range(30)]
    http = requests.Session()
    assert form_login(a, http, "clerk", PASSWORD)
    form = http.get(f"{a}/lists/experts/import", timeout=T)
    resp = http.post(f"{a}/lists/experts/import", timeout=T, allow_redirects=False,
                     data={"csrf_token": csrf(form)},
                     files={"file": ("多进程.xlsx", io.BytesIO(xlsx([EXPERT_HEADER, *rows])),
                                     "application/octet-stream")})
    assert resp.status_code == 302, resp.text[:1000]
    match = re.search(r"/lists/imports/([0-9a-f]{32})$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    draft = match[1]

    preview = http.get(f"{b}/lists/imports/{draft}", timeout=T)
    assert preview.status_code == 200
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', preview.text))
    assert counts["create"] == "30" and counts["error"] == "0"
    done = http.post(f"{b}/lists/imports/{draft}/confirm", timeout=T,
                     data={"csrf_token": csrf(preview)})
    assert done.status_code == 200 and "已导入" in done.text and "新增 30 条" in done.text
    with cluster.app.app_context():
        assert db.session.scalar(sa.text(
            "select count(*) from qd_expert where name like '多进程专家%'")) == 30
        db.session.rollback()
    # Confirmed on B, the draft is gone for A too.
    assert http.get(f"{a}/lists/imports/{draft}", timeout=T).status_code == 404


# ---------------------------------------------------------------------------- jobs
def test_export_submitted_on_one_process_runs_on_the_worker_and_downloads_from_the_other(
        cluster):
    from python_calamine import CalamineWorkbook
    a, b = cluster.a, cluster.b
    add_enterprises(cluster.app, 250)  # over QINGDAN_EXPORT_JOB_ROWS (100): a job
    http = requests.Session()
    assert form_login(a, http, "clerk", PASSWORD)
    resp = http.get(f"{a}/lists/enterprises/export", timeout=T, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:500]
    match = re.search(r"/jobs/([0-9a-f]{32})$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    job_id = match[1]

    deadline = time.monotonic() + WAIT
    while "已完成" not in (page := http.get(f"{b}/jobs/{job_id}", timeout=T).text):
        assert "失败" not in page, processes.tail(cluster.logs["worker"])
        assert time.monotonic() < deadline, processes.tail(cluster.logs["worker"])
        time.sleep(0.3)
    assert "已导出 250 条记录" in page
    # Run by the worker (QINGDAN_JOBS=rq: no web process runs jobs), delivered by B.
    assert f"qingdan-{job_id}" in processes.tail(cluster.logs["worker"], 200_000)
    assert job_id not in processes.tail(cluster.logs["a"], 200_000)
    file = http.get(f"{b}/jobs/{job_id}/file", timeout=T)
    assert file.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(file.content)).get_sheet_by_index(
        0).to_python()
    assert len(rows) == 251 and rows[-1][1] == "生产经营单位000249"


# ---------------------------------------------------------------------------- locust
def test_locust_drives_two_gunicorn_workers_without_a_failed_request(cluster, tmp_path):
    stats = processes.run_locust(
        cluster.a, LOAD_USERS, LOAD_SECONDS, tmp_path / "load",
        dict(os.environ, QINGDAN_LOAD_USER="clerk", QINGDAN_LOAD_PASSWORD=PASSWORD),
        tmp_path / "locust.log")
    assert stats["_failures"] == [], stats["_failures"]
    assert int(stats["Aggregated"]["Failure Count"]) == 0
    for name in ("login", "list", "dashboard", "public"):
        assert name in stats and int(stats[name]["Request Count"]) > 0, (
            name, sorted(stats), processes.tail(tmp_path / "locust.log"))
    # The clerk's pages were answered as pages, not with the login form (the locustfile
    # counts a redirect as a failure too): A's access log has them with 200.
    access = processes.tail(cluster.logs["a"], 5_000_000)
    assert '"GET /experts/list/ HTTP/1.1" 200' in access
    assert '"GET / HTTP/1.1" 200' in access
    assert '"GET /public/agencies/ HTTP/1.1" 200' in access
