"""An independent fuzzer over the API (issue 6 §5): schemathesis, from the app's own OpenAPI
document (/api/v1/_openapi), against a live server on 127.0.0.1 on a throwaway SQLite file
with the demo data, as 只读 and as 管理员. It must find no server error, and every answer must
be what the document says (status code, content type, headers, body schema).

Fixed seed, a bounded number of examples per operation, one worker: the same run each time,
a few minutes on two cores. Its boundary phase ("coverage": the extremes and wrong types of
each parameter, deterministic) runs on the lists whose types differ (experts: ID numbers,
dates, enumerations, booleans; deposits: amounts and parents; reviews: scores and locks);
the other lists, made by the same code from their declarations, get the random phase.

Checks not run, and why: positive_data_acceptance (a body the schema allows may still break
a rule of the list: 聘期届满 after 聘任日期, a valid ID number: 422 is right), and the
checks about methods or headers the document does not describe (unsupported_method,
missing_required_header, ignored_auth, use_after_free, ensure_resource_availability, which
need a resource life cycle the lists do not promise).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request

import pytest
from conftest import PASSWORD

SEED = 20260612
EXAMPLES = 6
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance")
CONFIG = f"""
seed = {SEED}
workers = 1
[generation]
database = "none"
# Other lists are made by the same code as these three: random examples only.
[[operations]]
exclude-path-regex = "^/api/v1/(experts|deposits|reviews)/"
phases.coverage.enabled = false
"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """qingdan on a fresh SQLite file, served on 127.0.0.1 by a thread of this process."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app import create_app, db
    from app.seeding import load_seed
    from app.web.security import sync_roles

    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'fuzz.db'}",
        "SECRET_KEY": "qingdan-fuzz-secret-of-at-least-32-bytes",
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "QINGDAN_SEED_ON_FIRST_START": False,
    })
    with app.app_context():
        upgrade()
        sync_roles()
        sm = app.appbuilder.sm
        for username, role in (("admin", "管理员"), ("reader", "只读")):
            sm.add_user(username, username, "测试", f"{username}@example.cn", sm.find_role(role),
                        password=PASSWORD)
        db.session.commit()
        for _line in load_seed():
            pass
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    tokens = {}
    for username in ("admin", "reader"):
        request = urllib.request.Request(
            f"{base}/api/v1/security/login", method="POST",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"username": username, "password": PASSWORD, "provider": "db",
                             "refresh": False}).encode())
        with direct.open(request, timeout=30) as resp:
            tokens[username] = json.load(resp)["access_token"]
    # The document as the administrator reads it (a reader may not: 403, documented).
    request = urllib.request.Request(f"{base}/api/v1/_openapi",
                                     headers={"Authorization": f"Bearer {tokens['admin']}"})
    with direct.open(request, timeout=60) as resp:
        (folder / "openapi.json").write_bytes(resp.read())
    (folder / "schemathesis.toml").write_text(CONFIG, encoding="utf-8")
    yield base, tokens, folder
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("role", ["reader", "admin"])  # the administrator deletes records
def test_api_fuzzer_finds_no_server_error_and_no_mismatch(live_server, role):
    base, tokens, folder = live_server
    command = [sys.executable, "-m", "schemathesis.cli", "--no-color",
               "--config-file", str(folder / "schemathesis.toml"),
               "run", str(folder / "openapi.json"), "--url", base,
               "--header", f"Authorization: Bearer {tokens[role]}",
               "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", str(SEED),
               "--workers", "1", "--request-timeout", "60"]
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                         timeout=900)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-12000:]
    assert "Operations:" in report and "generated" in report, report[-3000:]
