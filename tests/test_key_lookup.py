"""Re-importing on one connection: the key lookups stay correct and keep to the key's index
once the driver has prepared them (psycopg prepares a statement run five times, and
PostgreSQL then plans it once for any keys: a generic plan), on every database."""
from __future__ import annotations

import re

import pytest
from conftest import xlsx
from factories import plan_of
from sqlalchemy import event, text
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from app.sheets import keys as k
from app.sheets.declare import sheets
from app.sheets.engine import apply_plan
from app.sheets.rows import key_attr

HEADER = ["企业名称", "统一社会信用代码", "所在区", "行业类别", "企业规模"]


def enterprises(n: int) -> list[list]:
    rows = []
    for i in range(n):
        body = f"91310115MA1{i:06d}"
        rows.append([f"示例企业{i}（虚构）", body + uscc.calc_check_digit(body), "浦东新区", "其他",
                     "小型"])
    return rows


def _lookups(statements: list[str], table: str) -> list[str]:
    """The key lookups among the statements: a SELECT of the table by its key."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")
            and f"FROM {table}" in s and "credit_code" in s.split("WHERE", 1)[-1]]


def test_reimports_on_one_connection_stay_correct_and_chunked(app, monkeypatch):
    from app import db
    # Small chunks: a plan of 300 rows runs each lookup often enough for psycopg to prepare
    # it (5 runs) and PostgreSQL to go over to its generic plan (5 more).
    monkeypatch.setattr(k, "PG_CHUNK", 25)
    monkeypatch.setattr(k, "CHUNK", 25)
    rows = enterprises(300)
    with app.app_context():
        connection = db.engine.connect()
        session = Session(bind=connection)
        statements: list[str] = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            apply_plan(plan_of(session, "enterprises", xlsx([HEADER, *rows])), session=session)
            changed = [list(r) for r in rows]
            changed[7][4] = "大型"
            changed[250][2] = "闵行区"
            for _ in range(2):  # the second time, the lookups are the prepared ones
                statements.clear()
                plan = plan_of(session, "enterprises", xlsx([HEADER, *changed]))
                assert plan.counts == {"create": 0, "update": 2, "unchanged": 298, "delete": 0,
                                       "error": 0}
                assert {r.row: r.changes for r in plan.rows if r.action == "update"} == {
                    9: {"size": ("小型", "大型")}, 252: {"district": ("浦东新区", "闵行区")}}
                assert len(_lookups(statements, "qd_enterprise")) == 300 // 25
            apply_plan(plan, session=session)
            plan = plan_of(session, "enterprises", xlsx([HEADER, *changed]))
            assert plan.counts["unchanged"] == 300 and plan.counts["update"] == 0
            assert {r.existing_version for r in plan.rows} == {1, 2}
        finally:
            event.remove(connection, "before_cursor_execute", listener)
            session.close()
            connection.close()


def _plan_text(session: Session, stmt) -> str:
    """How the database would run this SELECT: on PostgreSQL its generic plan (prepared,
    as psycopg prepares it, planned for any parameters) with sequential scans disabled, so
    that a plan that cannot use an index shows a Seq Scan however small the table."""
    bind = session.connection()
    dialect = bind.dialect
    compiled = stmt.compile(dialect=dialect)
    if dialect.name == "postgresql":
        names: list[str] = []

        def placeholder(m):
            names.append(m.group(1))
            return f"${len(names)}"
        sql = re.sub(r"%\((\w+)\)s", placeholder, str(compiled))
        bind.execute(text("SET plan_cache_mode = force_generic_plan"))
        bind.execute(text("SET enable_seqscan = off"))
        bind.exec_driver_sql(f"PREPARE qd_lookup AS {sql}")
        from psycopg.sql import Literal
        raw = bind.connection.dbapi_connection
        args = ", ".join(Literal(compiled.params[n]).as_string(raw) for n in names)
        rows = bind.exec_driver_sql(f"EXPLAIN EXECUTE qd_lookup({args})").all()
        bind.exec_driver_sql("DEALLOCATE qd_lookup")
        bind.execute(text("RESET plan_cache_mode"))
        bind.execute(text("RESET enable_seqscan"))
        return "\n".join(r[0] for r in rows)
    literal = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    if dialect.name == "sqlite":
        return "\n".join(str(r[-1]) for r in bind.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {literal}").all())
    return "\n".join(f"type={r.type} key={r.key}" for r in bind.execute(
        text(f"EXPLAIN {literal}")).all())


@pytest.mark.parametrize("slug, keys", [
    ("enterprises", [("91310115MA1000001X",), ("91310115MA1000002Y",)]),
    ("powers", [("2015版", "XK001"), ("2015版", "XK002")]),  # a key of two columns
])
def test_key_lookup_uses_the_key_index(session, slug, keys):
    sheet = sheets[slug]
    attrs = [key_attr(sheet, name) for name in sheet.key]
    stmt = k.lookup_statement(session, sheet.model, attrs, keys)
    plan = _plan_text(session, stmt)
    table = sheet.model.__tablename__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        assert "Index" in plan and f"Seq Scan on {table}" not in plan, plan
    elif dialect == "sqlite":
        assert "INDEX" in plan and f"SCAN {table}" not in plan, plan
    else:
        assert "key=None" not in plan and "type=ALL" not in plan, plan
    session.rollback()
