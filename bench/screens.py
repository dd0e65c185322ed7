"""List screen, API and index page at scale: time per page (median of a few, after a warm-up)
and SQL statements per page, through the app's own test client (no network)."""
from __future__ import annotations

import statistics
import time

import sqlalchemy as sa

PASSWORD = "Bench-pass-1"
REPEAT = 5


def add_users(app) -> None:
    from app import db
    sm = app.appbuilder.sm
    for name, role in (("admin", "管理员"), ("clerk", "科员")):
        if sm.find_user(username=name) is None:
            sm.add_user(name, name, "测试", f"{name}@example.cn", sm.find_role(role),
                        password=PASSWORD)
    db.session.commit()


def login(app, username: str):
    client = app.test_client()
    resp = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert resp.status_code in (302, 303), resp.status_code
    return client


def api_headers(client, username: str) -> dict:
    resp = client.post("/api/v1/security/login", json={
        "username": username, "password": PASSWORD, "provider": "db", "refresh": False})
    return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


def measure(app, client, url: str, headers=None, repeat: int = REPEAT) -> tuple[float, int]:
    """(median seconds, statements) of GET url."""
    from app import db
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)
    resp = client.get(url, headers=headers)  # warm-up (caches, connection)
    assert resp.status_code == 200, (url, resp.status_code, resp.data[:300])
    times = []
    for _ in range(repeat):
        seen.clear()
        sa.event.listen(engine, "before_cursor_execute", listener)
        t = time.perf_counter()
        resp = client.get(url, headers=headers)
        times.append(time.perf_counter() - t)
        sa.event.remove(engine, "before_cursor_execute", listener)
        assert resp.status_code == 200, (url, resp.status_code)
    return statistics.median(times), len(seen)


def list_urls(rows: int, page_size: int = 20) -> dict[str, str]:
    last = max(rows // page_size - 1, 0)
    deep = min(5000, last)
    return {
        "page 1": "/experts/list/",
        f"page {deep:,}": f"/experts/list/?page_ExpertsView={deep}",
        f"page {last:,} (last)": f"/experts/list/?page_ExpertsView={last}",
        f"page {last // 2:,} (middle)": f"/experts/list/?page_ExpertsView={last // 2}",
        "filter 工作单位 contains": "/experts/list/?_flt_2_employer=浦东化工研究院",
        "sort 聘期届满 desc": "/experts/list/?_oc_ExpertsView=term_ends_on&_od_ExpertsView=desc",
    }


def api_urls(rows: int, page_size: int = 20) -> dict[str, str]:
    last = max(rows // page_size - 1, 0)
    return {
        "API page 1": f"/api/v1/experts/?q=(page:0,page_size:{page_size})",
        f"API page {last:,} (last)": f"/api/v1/experts/?q=(page:{last},page_size:{page_size})",
        "API filter contains": "/api/v1/experts/?q=(filters:!((col:employer,opr:ct,"
                               "value:浦东化工研究院)),page:0,page_size:20)",
    }
