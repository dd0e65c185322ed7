"""Speed of the dashboard (首页) and of the public pages with large lists. Prints figures;
asserts nothing.

    .venv/bin/python bench/bench_pages.py [ROWS]          (default 50000)
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench ... for another database

ROWS enterprises, deposits, policies, experts and certificates (and ROWS/10 agencies, powers
and interviews) are written with bulk inserts, then each page is requested a few times; the
median is printed with the number of SQL statements it sent. The machine is shared and
noisy: compare pages within one run, not seconds across runs.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
TODAY = dt.date.today()


def fill(session, n: int) -> None:
    from sqlalchemy import insert

    from app.lists.agencies import Agency, Interview, Qualification
    from app.lists.deposits import Deposit, Enterprise, Policy
    from app.lists.experts import Expert
    from app.lists.powers import Power
    stamp = dt.datetime.now().replace(microsecond=0)
    base = dict(version=1, created_on=stamp, changed_on=stamp)
    day = dt.timedelta(days=1)
    session.execute(insert(Enterprise), [dict(
        base, name=f"示例企业{i}", credit_code=f"91310000{i:010d}", district="浦东新区",
        industry=("危化品生产", "交通运输", "非煤矿山")[i % 3], size="小型") for i in range(n)])
    session.execute(insert(Policy), [dict(
        base, policy_no=f"P{i}", insurer="示例保险", enterprise_id=i + 1, kind="安全生产责任保险",
        starts_on=TODAY - 300 * day, ends_on=TODAY + (i % 400 - 60) * day, insured_count=10,
        per_person_limit=Decimal(500000), per_accident_limit=Decimal(5000000),
        total_limit=Decimal(10000000), premium=Decimal(1000), payment_status="已缴",
        status="有效") for i in range(0, n, 2)])
    session.execute(insert(Deposit), [dict(
        base, enterprise_id=i + 1, year=TODAY.year - i % 3, approved_amount=Decimal(300000),
        status=("待存储", "已足额", "未足额")[i % 3], bank="示例银行", account_no="6222020000123456")
        for i in range(0, n, 3)])
    session.execute(insert(Expert), [dict(
        base, name=f"专家{i}", id_number=f"{i:018d}", employer="示例单位", title_level="中级",
        speciality="危险化学品", expert_type="普通专家", appointed_on=TODAY - 900 * day,
        term_ends_on=TODAY + (i % 500 - 100) * day, status="在聘") for i in range(n)])
    agencies = max(n // 10, 1)
    session.execute(insert(Agency), [dict(
        base, name=f"示例机构{i}", credit_code=f"91310100{i:010d}", org_type="企业",
        legal_representative="某某", address="示例路", district="浦东新区", status="正常")
        for i in range(agencies)])
    session.execute(insert(Qualification), [dict(
        base, agency_id=i % agencies + 1, category=("安全评价", "职业卫生技术服务")[i % 2],
        grade="乙级", cert_no=f"C{i}", issuer="示例", issued_on=TODAY - 1000 * day,
        expires_on=TODAY + (i % 700 - 200) * day, scope="化工", status="有效")
        for i in range(n)])
    session.execute(insert(Interview), [dict(
        base, agency_id=i % agencies + 1, interviewed_on=TODAY - (i // agencies + 1) * day,
        reason="报告质量", interviewer="某处", interviewee="某某", interviewee_role="其他",
        requirements="整改", deadline=TODAY + (i % 60 - 30) * day) for i in range(agencies)])
    session.execute(insert(Power), [dict(
        base, list_version="2015版", code=f"XK{i:05d}", category="行政许可", name=f"示例许可{i}",
        implementing_body="示例局", levels="市级", legal_basis="依据", procedure="程序",
        content="内容", objects="企业法人", charged=False, status="在用")
        for i in range(agencies)])
    session.commit()


def measure(client, url: str, times: int = 5) -> tuple[float, int, int]:
    from sqlalchemy import event

    from app import db
    counts, seconds = [], []

    def count(*_args):
        counts[-1] += 1
    with client.application.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(times):
            counts.append(0)
            t = time.perf_counter()
            resp = client.get(url)
            seconds.append(time.perf_counter() - t)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statistics.median(seconds), counts[-1], resp.status_code


def main() -> None:
    from flask_migrate import upgrade

    from app import create_app, db
    from app.web.security import sync_roles
    url = os.environ.get("DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='qingdan-bench-')) / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" * 8,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "QINGDAN_SEED_ON_FIRST_START": False})
    with app.app_context():
        upgrade()
        sync_roles()
        sm = app.appbuilder.sm
        sm.add_user("bench", "bench", "测试", "bench@example.cn", sm.find_role("科长"),
                    password="Bench-pass-1")
        t = time.perf_counter()
        fill(db.session, ROWS)
        print(f"wrote {ROWS} rows per large list in {time.perf_counter() - t:.1f} s")
    client = app.test_client()
    client.post("/login/", data={"username": "bench", "password": "Bench-pass-1"})
    for label, page in (("dashboard (首页)", "/"),
                        ("certificates expiring (its list page)",
                         "/qualifications/list/?preset=expiring"),
                        ("coverage gap (its list page)", "/enterprises/list/?preset=coverage_gap")):
        s, n, status = measure(client, page)
        print(f"{label:<44} {s * 1000:8.0f} ms  {n:3d} statements  HTTP {status}")
    anonymous = app.test_client()
    for label, page in (("public home", "/public/"), ("public powers", "/public/powers/"),
                        ("public directory", "/public/agencies/"),
                        ("public directory, one agency", "/public/agencies/1"),
                        ("public directory search", "/public/agencies/?q=示例机构12&dual=是")):
        s, n, status = measure(anonymous, page)
        print(f"{label:<44} {s * 1000:8.0f} ms  {n:3d} statements  HTTP {status}")
    etag = anonymous.get("/public/powers/").headers["ETag"]
    t = time.perf_counter()
    status = anonymous.get("/public/powers/", headers={"If-None-Match": etag}).status_code
    print(f"{'public powers, If-None-Match':<44} {(time.perf_counter() - t) * 1000:8.0f} ms"
          f"  HTTP {status}")


if __name__ == "__main__":
    main()
