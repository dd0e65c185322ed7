"""What one page of an import preview costs, on a big file. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_preview.py [ROWS] [--memory]    (default 20000 rows)
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench ... for another database

Uploads a ROWS-row 生产经营单位 workbook through the import screen as a clerk would, then
opens preview pages (the first, one in the middle, a filtered one) and prints, for each, the
time, the queries sent, whether the file was read again, the size of the page, and with --memory the
peak Python memory (tracemalloc, which slows everything down: time and memory are best
measured in separate runs). The machine is shared and noisy:
compare figures within one run.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEMORY = "--memory" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--memory"]
ROWS = int(ARGS[0]) if ARGS else 20_000
PASSWORD = "Bench-pass-1"


def make_file(n: int) -> bytes:
    from openpyxl import Workbook
    from stdnum.cn import uscc
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["序号", "企业名称", "统一社会信用代码", "所在区", "行业类别", "企业规模", "地址",
               "联系人", "联系电话"])
    for i in range(n):
        body = f"913101{i:011d}"
        ws.append([i + 1, f"示例企业{i}（虚构）", body + uscc.calc_check_digit(body), "浦东新区",
                   "其他", "小型", f"示例路{i}号", "联系人", "021-50006789"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def main() -> None:
    os.environ.setdefault("QINGDAN_ENV", "development")
    from flask_migrate import upgrade
    from sqlalchemy import event

    import app.sheets.engine as engine
    from app import create_app, db
    from app.web.security import sync_roles

    tmp = Path(tempfile.mkdtemp(prefix="qingdan-bench-"))
    url = os.environ.get("DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 32,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "QINGDAN_SEED_ON_FIRST_START": False})
    with app.app_context():
        upgrade()
        sync_roles()
        sm = app.appbuilder.sm
        sm.add_user("benchclerk", "bench", "clerk", "bench@example.cn", sm.find_role("科员"),
                    password=PASSWORD)
        db.session.commit()
        statements: list[int] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))

    reads = []
    real_read = engine.read_file
    engine.read_file = lambda *a, **kw: reads.append(1) or real_read(*a, **kw)

    data = make_file(ROWS)
    print(f"{ROWS} rows, file {len(data) / 1e6:.1f} MB")
    client = app.test_client()
    client.post("/login/", data={"username": "benchclerk", "password": PASSWORD})

    def step(label, fn):
        statements.clear()
        reads.clear()
        if MEMORY:
            tracemalloc.start()
        t = time.perf_counter()
        resp = fn()
        took = time.perf_counter() - t
        memory = ""
        if MEMORY:
            memory = f" {tracemalloc.get_traced_memory()[1] / 1e6:7.1f} MB peak"
            tracemalloc.stop()
        print(f"{label:<36} {took:7.2f} s {len(statements):6d} queries "
              f"{'reads the file' if reads else 'no file read':>15}{memory} "
              f"{len(resp.get_data()) / 1024:6.0f} KB page HTTP {resp.status_code}")
        return resp

    resp = step("upload (read, plan, keep the draft)", lambda: client.post(
        "/lists/enterprises/import", data={"file": (io.BytesIO(data), "企业.xlsx")},
        content_type="multipart/form-data"))
    preview = resp.headers["Location"]
    step("preview, first page", lambda: client.get(preview))
    step("preview, a middle page", lambda: client.get(f"{preview}?page={ROWS // 100}"))
    step("preview, new rows, page 5", lambda: client.get(f"{preview}?show=create&page=5"))
    step("preview, last page", lambda: client.get(f"{preview}?page=100000"))


if __name__ == "__main__":
    main()
