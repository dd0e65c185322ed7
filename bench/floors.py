"""The floors the benchmark compares qingdan with: the least work that does the same job,
measured on the same machine in the same run. No Flask, no checks, no history.

    python bench/floors.py import FILE DATABASE_URL COLUMNS_JSON
        calamine parse of FILE + one executemany upsert into qd_expert; prints seconds
    export_floor(engine, out)  (imported by run.py)
        one Core select of the export's columns, each row written by a bare XlsxWriter
        constant_memory loop (ws.write_row)
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time


def _table(engine, name: str):
    import sqlalchemy as sa
    meta = sa.MetaData()
    return sa.Table(name, meta, autoload_with=engine)


def _upsert(engine, table, key: str):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[key],
        set_={c.name: stmt.excluded[c.name] for c in table.columns
              if c.name not in ("id", key, "created_on")})


def import_floor(path: str, url: str, columns_json: str) -> float:
    import sqlalchemy as sa
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    columns = json.loads(open(columns_json, encoding="utf-8").read())  # [header, field, kind]
    rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    header = rows[0]
    where = {h: i for i, h in enumerate(header)}
    stamp = dt.datetime.now().replace(microsecond=0)
    records = []
    for raw in rows[1:]:
        rec = {"version": 1, "created_on": stamp, "changed_on": stamp}
        for head, field, kind in columns:
            value = raw[where[head]] if head in where else None
            if value == "":
                value = None
            elif kind == "bool" and value is not None:
                value = value == "是"
            elif kind == "int" and value is not None:
                value = int(value)
            rec[field] = value
        records.append(rec)
    engine = sa.create_engine(url)
    table = _table(engine, "qd_expert")
    with engine.begin() as conn:
        conn.execute(_upsert(engine, table, "id_number"), records)
    engine.dispose()
    return time.perf_counter() - started


def export_floor(engine, out, columns: list[str]) -> int:
    import sqlalchemy as sa
    import xlsxwriter

    table = _table(engine, "qd_expert")
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    ws = wb.add_worksheet("floor")
    ws.write_row(0, 0, columns)
    n = 0
    stmt = sa.select(*(table.c[c] for c in columns)).order_by(
        table.c.speciality, table.c.name, table.c.id)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=1000).execute(stmt):
            n += 1
            ws.write_row(n, 0, [None if v is None else v if not isinstance(v, bool)
                                else ("是" if v else "否") for v in row])
    wb.close()
    return n


if __name__ == "__main__":
    if sys.argv[1] == "import":
        print(f"{import_floor(sys.argv[2], sys.argv[3], sys.argv[4]):.4f}")
    else:
        raise SystemExit(__doc__)
