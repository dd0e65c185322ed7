"""The load test's tools, briefly (bench/load.py measures; this only runs them): locust,
headless, drives gunicorn with 2 workers on PostgreSQL for a few seconds through
bench/locustfile.py. Every request answers, every endpoint of the locustfile is hit; how fast
is the benchmark's business (the machine is shared: no time is asserted).

PostgreSQL only, whatever QINGDAN_TEST_DATABASES says, as tests/test_multi_process.py: a
database of its own, and a failure, never a skip, when PostgreSQL cannot be reached.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from conftest import PASSWORD, _create_database, prepare_database
from factories import add, make_agency, make_expert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import processes  # noqa: E402

SECRET = "qingdan-load-test-secret-0123456789abc"
USERS, SECONDS, WORKERS = 5, 6, 2


def test_locust_drives_two_gunicorn_workers_without_a_failed_request(tmp_path):
    from app import create_app, db
    url, drop = _create_database("postgresql", tmp_path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET,
                      "WTF_CSRF_ENABLED": False, "QINGDAN_SEED_ON_FIRST_START": False})
    server = None
    try:
        prepare_database(app)
        add(app, *[make_expert(n) for n in range(1, 31)])
        add(app, *[make_agency(n) for n in range(1, 6)])
        env = processes.server_env(url, SECRET, tmp_path / "instance")
        port = processes.free_port()
        log = tmp_path / "gunicorn.log"
        server = processes.start_gunicorn(env, port, WORKERS, log)
        host = f"http://127.0.0.1:{port}"
        processes.wait_ready(server, f"{host}/login/", log, timeout=90)
        stats = processes.run_locust(
            host, USERS, SECONDS, tmp_path / "load",
            dict(os.environ, QINGDAN_LOAD_USER="clerk", QINGDAN_LOAD_PASSWORD=PASSWORD),
            tmp_path / "locust.log")
        assert stats["_failures"] == [], stats["_failures"]
        assert int(stats["Aggregated"]["Failure Count"]) == 0
        for name in ("login", "list", "dashboard", "public"):
            assert name in stats and int(stats[name]["Request Count"]) > 0, (
                name, sorted(stats), processes.tail(tmp_path / "locust.log"))
        # The clerk's pages were answered as pages, not as the login form (a 302 counts as
        # a failure in the locustfile): the access log has them with 200.
        access = processes.tail(log, 1_000_000)
        assert '"GET /experts/list/ HTTP/1.1" 200' in access
        assert '"GET / HTTP/1.1" 200' in access
    finally:
        if server is not None:
            processes.stop(server)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
