"""Made-up experts for the benchmark: valid ID numbers (check digit, gender and birth date
agreeing), realistic value spread, deterministic (expert i is always the same person).

    experts(n)            stored values (dicts keyed by model attribute), for bulk inserts
    write_import_file()   the same experts as an import file in template form (XlsxWriter)
    bulk_insert()         n experts straight into qd_expert: COPY on PostgreSQL, executemany
                          in chunks elsewhere; the table's secondary indexes are dropped for
                          the load and rebuilt after it (much faster than row by row)
    postgresql_database() a database of its own for a run, and the function that drops it
"""
from __future__ import annotations

import datetime as dt
import uuid

SPECIALITIES = ["危险化学品", "石油化工", "非煤矿山", "烟花爆竹", "冶金", "有色", "建材", "机械",
                "轻工", "纺织", "商贸", "建筑施工", "交通运输", "电气", "特种设备", "消防",
                "职业卫生", "应急救援", "事故调查", "安全评价", "法律法规", "安全管理"]
REGIONS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112",
           "310113", "310114", "310115", "310116", "310117", "310118", "310120", "310151"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红"
PLACES = ["浦东", "徐汇", "长宁", "静安", "普陀", "虹口", "杨浦", "闵行", "宝山", "嘉定", "金山",
          "松江", "青浦", "奉贤", "崇明"]
KINDS = ["化工研究院", "安全技术研究所", "石化股份有限公司", "建设集团有限公司", "职业技术学院",
         "检测技术有限公司", "应急管理学院", "特种设备研究院", "设计研究院", "工程咨询有限公司"]
EDUCATION = ["博士研究生", "硕士研究生", "大学本科", "大学专科"]
EMPLOYER_TYPES = ["事业单位", "高等院校", "科研院所", "企业", "技术服务机构"]
TITLE_LEVELS = ["正高级", "副高级", "中级"]
TITLES = {"正高级": "教授级高级工程师", "副高级": "高级工程师", "中级": "工程师"}
STATUSES = ["在聘"] * 8 + ["暂停", "届满未续聘"]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_BIRTH_FROM = dt.date(1955, 1, 1)
_BIRTH_DAYS = 365 * 35
EMPLOYERS = [f"上海{p}{k}{n or ''}" for p in PLACES for k in KINDS for n in range(14)]


def _id_number(i: int) -> tuple[str, dt.date, str]:
    region = REGIONS[i % len(REGIONS)]
    rest = i // len(REGIONS)
    born = _BIRTH_FROM + dt.timedelta(days=rest % _BIRTH_DAYS)
    seq = rest // _BIRTH_DAYS  # < 1000 for any n below 204 million
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS)) % 11]
    return body + check, born, "男" if seq % 2 else "女"


def experts(n: int, start: int = 0):
    """Expert records start..start+n-1 as dicts of stored values."""
    for i in range(start, start + n):
        id_number, born, gender = _id_number(i)
        level = TITLE_LEVELS[i % 3]
        appointed = dt.date(2015 + i % 8, 1 + i % 12, 1)
        yield {
            "expert_no": f"SH-ZJ-{i:07d}",
            "name": SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)]
            + GIVEN[(i // 13) % len(GIVEN)],
            "id_number": id_number, "gender": gender, "birth_date": born,
            "education": EDUCATION[i % 4],
            "employer": EMPLOYERS[(i * 7919) % len(EMPLOYERS)],
            "employer_type": EMPLOYER_TYPES[i % 5], "position": "技术负责人",
            "title_level": level, "title": TITLES[level],
            "registered_engineer": i % 3 == 0, "years_in_field": 5 + i % 30,
            "speciality": SPECIALITIES[(i * 31) % len(SPECIALITIES)],
            "other_specialities": SPECIALITIES[(i * 17) % len(SPECIALITIES)] if i % 4 == 0
            else None,
            "expert_type": "资深专家" if i % 10 == 0 else "普通专家",
            "committee_role": "委员" if i % 50 == 0 else None,
            "appointed_on": appointed, "term_ends_on": appointed.replace(year=appointed.year + 3),
            "status": STATUSES[i % len(STATUSES)],
            "mobile": f"13{(i * 7) % 10}{i % 100000000:08d}",
            "email": f"expert{i}@example.cn",
        }


def write_import_file(path, n: int, sheet) -> None:
    """n experts as a clerk's file: the template's headers, values as typed in Excel."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet(sheet.title[:31])
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    columns = list(sheet.columns)
    ws.write_row(0, 0, ["序号", *(c.header for c in columns)])
    for r, rec in enumerate(experts(n), 1):
        ws.write_number(r, 0, r)
        for c, col in enumerate(columns, 1):
            value = rec.get(col.field)
            if value is None:
                continue
            if isinstance(value, bool):
                ws.write_string(r, c, "是" if value else "否")
            elif isinstance(value, dt.date):
                ws.write_datetime(r, c, value, date_fmt)
            elif isinstance(value, int):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, value)
    wb.close()


def _stamped(rows):
    stamp = dt.datetime(2024, 1, 1, 8, 0, 0)
    for rec in rows:
        rec.update(version=1, created_on=stamp, changed_on=stamp)
        yield rec


def bulk_insert(engine, table, n: int, chunk: int = 50_000) -> None:
    """n experts into `table` (empty), secondary indexes rebuilt afterwards."""
    import sqlalchemy as sa

    indexes = [ix for ix in table.indexes]
    # Fresh connections: SQLite answered "index … already exists" to a pooled connection after
    # the web import's jobs (their ANALYZE) although no such index was left.
    engine.dispose()
    with engine.begin() as conn:
        for ix in indexes:
            ix.drop(conn)
    try:
        if engine.dialect.name == "postgresql":
            _copy_postgresql(engine, table, n)
        else:
            rows = _stamped(experts(n))
            with engine.begin() as conn:
                while batch := [r for _, r in zip(range(chunk), rows)]:
                    conn.execute(sa.insert(table), batch)
    finally:
        with engine.begin() as conn:
            for ix in indexes:
                ix.create(conn)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"ANALYZE {table.name}"))
        elif engine.dialect.name == "sqlite":
            conn.execute(sa.text("ANALYZE"))
    if engine.dialect.name == "postgresql":  # the visibility map: index-only scans
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"VACUUM ANALYZE {table.name}"))


def _copy_postgresql(engine, table, n: int) -> None:
    columns = [c.name for c in table.columns if c.name != "id"]
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for rec in _stamped(experts(n)):
                    copy.write_row([rec.get(c) for c in columns])
        raw.commit()
    finally:
        raw.close()



def postgresql_database(pg: str, prefix: str = "qd_bench"):
    """A PostgreSQL database of its own on the server `pg`: (its URL, a function dropping it)."""
    import sqlalchemy as sa
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{pg}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    return f"{pg}/{name}", drop
