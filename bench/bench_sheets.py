"""Speed and memory of the spreadsheet engine. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_sheets.py [ROWS]        (default 100000)
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench ... for another database

The machine is shared and noisy: compare the ratios within one run, not absolute seconds
across runs. What it measures:
  - reading ROWS rows: python-calamine vs openpyxl read-only (the reason we use calamine);
  - planning an import of ROWS new records, applying it, and planning the same file again
    (all unchanged), with the queries each step sent;
  - exporting ROWS and ROWS/10 records: peak Python memory should not grow tenfold (streamed).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def timed(label, fn):
    t = time.perf_counter()
    result = fn()
    print(f"{label:<48} {time.perf_counter() - t:8.2f} s")
    return result


def make_file(path: Path, n: int) -> None:
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
    wb.save(path)


def main() -> None:
    from python_calamine import CalamineWorkbook
    from sqlalchemy import event

    tmp = Path(tempfile.mkdtemp(prefix="qingdan-bench-"))
    src = tmp / "enterprises.xlsx"
    timed(f"write a {ROWS}-row test file (openpyxl)", lambda: make_file(src, ROWS))
    print(f"file size: {src.stat().st_size / 1e6:.1f} MB")

    t_cal = time.perf_counter()
    CalamineWorkbook.from_path(str(src)).get_sheet_by_index(0).to_python()
    t_cal = time.perf_counter() - t_cal

    def openpyxl_read():
        from openpyxl import load_workbook
        wb = load_workbook(src, read_only=True)
        for _ in wb.worksheets[0].iter_rows(values_only=True):
            pass
    t_opx = time.perf_counter()
    openpyxl_read()
    t_opx = time.perf_counter() - t_opx
    print(f"read: calamine {t_cal:.2f} s, openpyxl read-only {t_opx:.2f} s, "
          f"ratio {t_opx / t_cal:.1f}x")
    from app.sheets.reader import Limits, read_file
    t_child = time.perf_counter()
    read_file(src, limits=Limits(max_bytes=200 * 1024 * 1024, max_rows=ROWS + 10))
    t_child = time.perf_counter() - t_child
    print(f"read_file (calamine in a memory-limited child) {t_child:.2f} s, "
          f"{t_child / t_cal:.1f}x calamine in-process")

    os.environ.setdefault("QINGDAN_ENV", "development")
    from flask_migrate import upgrade

    from app import create_app, db
    from app.sheets.declare import sheets
    from app.sheets.engine import apply_plan, build_plan
    from app.sheets.exporting import export_query, records_for_export
    from app.sheets.writer import write_export

    url = os.environ.get("DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    sheet = sheets["enterprises"]
    data = src.read_bytes()
    limits = Limits(max_bytes=200 * 1024 * 1024, max_rows=ROWS + 10)
    with app.app_context():
        upgrade()
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))

        def step(label, fn):
            statements.clear()
            result = timed(label, fn)
            print(f"{'':<48} {len(statements):8d} queries")
            return result

        plan = step(f"plan {ROWS} new records", lambda: build_plan(
            sheet, data, src.name, session=db.session, limits=limits))
        step("apply them (one transaction)", lambda: apply_plan(
            plan, session=db.session, data=data))
        plan = step("plan the same file again (all unchanged)", lambda: build_plan(
            sheet, data, src.name, session=db.session, limits=limits))
        print(f"{'':<48} {plan.counts}")

        peaks = {}
        for n in (ROWS // 10, ROWS):
            out = tmp / f"export-{n}.xlsx"
            stmt = export_query(sheet).limit(n)
            tracemalloc.start()
            timed(f"export {n} records (streamed)", lambda stmt=stmt, out=out: write_export(
                sheet, records_for_export(sheet, stmt, db.session), out))
            peaks[n] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"{'':<48} {peaks[n] / 1e6:8.1f} MB peak Python memory")
        small, big = peaks[ROWS // 10], peaks[ROWS]
        print(f"export memory: 10x the rows took {big / small:.1f}x the peak memory")


if __name__ == "__main__":
    main()
