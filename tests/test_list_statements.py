"""List screens and API at scale (app/web/datamodel.py, paging.py, security.py,
app/sheets/indexes.py): a bounded number of SQL statements per page, whatever the page size
or the number of rows; pages read from either end give the list in its order; large tables
are counted by estimate; the indexes the declarations ask for exist as declared."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from conftest import api_token, login
from test_web import make_expert

from app import db
from app.lists.experts import Expert
from app.sheets.declare import sheets

MAX_STATEMENTS = 10


def add_experts(app, n: int, start: int = 0) -> None:
    with app.app_context():
        for i in range(start, start + n):
            db.session.add(make_expert(
                i + 1, name=f"专家{i:03d}", employer="上海化工研究院" if i % 3 else "同济大学",
                term_ends_on=dt.date(2025, 1, 1) + dt.timedelta(days=i % 7)))
        db.session.commit()


def statements(app, client, url: str, headers=None) -> list[str]:
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)
    with app.app_context():
        engine = db.engine
    client.get(url, headers=headers)  # warm-up: the first request may load what others reuse
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = client.get(url, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert resp.status_code == 200, resp.data[:300]
    return seen


PAGES = {
    "page": "/experts/list/?psize_ExpertsView={size}",
    "deep page": "/experts/list/?psize_ExpertsView={size}&page_ExpertsView=2",
    "filter": "/experts/list/?psize_ExpertsView={size}&_flt_2_employer=化工",
    "sort": "/experts/list/?psize_ExpertsView={size}&_oc_ExpertsView=term_ends_on"
            "&_od_ExpertsView=desc",
}


@pytest.mark.parametrize("username", ["admin", "clerk"])
def test_statements_per_list_page_are_few_and_do_not_grow(app, client, username):
    login(client, username)
    add_experts(app, 12)
    few = {k: len(statements(app, client, u.format(size=5))) for k, u in PAGES.items()}
    add_experts(app, 60, start=12)
    many = {k: len(statements(app, client, u.format(size=25))) for k, u in PAGES.items()}
    assert many == few, "statements grew with the page size or the rows"
    assert max(few.values()) <= MAX_STATEMENTS, few


def test_permission_checks_cost_one_statement_per_page(app, client):
    login(client, "clerk")
    add_experts(app, 3)
    seen = statements(app, client, "/experts/list/")
    permission_queries = [s for s in seen if "ab_permission_view" in s]
    assert len(permission_queries) == 1, permission_queries


@pytest.mark.parametrize("username", ["admin", "clerk"])
def test_statements_per_api_page_are_few_and_do_not_grow(app, client, username):
    headers = api_token(client, username)
    add_experts(app, 12)
    url = "/api/v1/experts/?q=(page:{page},page_size:{size})"
    few = len(statements(app, client, url.format(page=0, size=5), headers))
    add_experts(app, 60, start=12)
    many = len(statements(app, client, url.format(page=1, size=25), headers))
    assert many == few <= MAX_STATEMENTS


def _ids_on(client, url: str) -> list[int]:
    page = client.get(url).get_data(as_text=True)
    return list(dict.fromkeys(int(i) for i in re.findall(r"/experts/show/(\d+)", page)))


@pytest.mark.parametrize("query,order", [
    ("", lambda e: (e.speciality, e.name, e.id)),
    ("&_oc_ExpertsView=term_ends_on&_od_ExpertsView=desc",
     lambda e: (-e.term_ends_on.toordinal(), -e.id)),
    ("&_flt_2_employer=化工", lambda e: (e.speciality, e.name, e.id)),
])
def test_pages_from_either_end_give_the_list_in_order(app, client, query, order):
    """Pages past the middle are read backwards from the end: together, every page still
    gives each record once, in the list's order (FAB counts pages from 0)."""
    login(client, "clerk")
    add_experts(app, 47)
    with app.app_context():
        everyone = db.session.scalars(sa.select(Expert)).all()
        if "employer" in query:
            everyone = [e for e in everyone if "化工" in e.employer]
        expected = [e.id for e in sorted(everyone, key=order)]
    pages = [_ids_on(client, f"/experts/list/?psize_ExpertsView=10&page_ExpertsView={p}"
                             f"{query}") for p in range(6)]
    assert [i for page in pages for i in page] == expected
    assert pages[-1] == []  # past the end: nothing, not an error


def test_a_large_table_is_counted_by_estimate(app, client, monkeypatch):
    """Beyond QINGDAN_EXACT_COUNT_ROWS the database's estimate stands in for count(*) (约);
    a filtered count stops at QINGDAN_COUNT_CAP (超过). SQLite always counts exactly."""
    login(client, "clerk")
    add_experts(app, 30)
    with app.app_context(), db.engine.connect() as conn:
        kind = db.engine.dialect.name
        if kind == "postgresql":
            conn.execute(sa.text("ANALYZE qd_expert"))
        elif kind in ("mysql", "mariadb"):
            conn.execute(sa.text("ANALYZE TABLE qd_expert"))
        conn.commit()
    monkeypatch.setitem(app.config, "QINGDAN_EXACT_COUNT_ROWS", 10)
    monkeypatch.setitem(app.config, "QINGDAN_COUNT_CAP", 5)
    plain = client.get("/experts/list/").get_data(as_text=True)
    filtered = client.get("/experts/list/?_flt_2_employer=化工").get_data(as_text=True)
    if kind == "sqlite":
        assert re.search(r"</strong>\s*30\b", plain) and re.search(r"</strong>\s*20\b", filtered)
    else:
        assert re.search(r"</strong>\s*约 \d+", plain)
        assert re.search(r"</strong>\s*超过 5\b", filtered)
    home = client.get("/").get_data(as_text=True)  # the dashboard's list counts: the same
    assert re.search(r'<span class="badge">\s*' + ("30" if kind == "sqlite" else r"约 \d+"),
                     home), home[-3000:]
    # the last page is found exactly, from the end
    last = _ids_on(client, "/experts/list/?psize_ExpertsView=20&page_ExpertsView=1")
    with app.app_context():
        everyone = db.session.scalars(sa.select(Expert)).all()
    expected = [e.id for e in sorted(everyone, key=lambda e: (e.speciality, e.name, e.id))]
    assert last == expected[20:]


def _order_columns(sheet) -> list[str]:
    """The column names of the list's declared order, which must all be plain columns."""
    from app.sheets.sorting import declared_order
    names = []
    for expression in declared_order(sheet):
        assert isinstance(expression, sa.orm.InstrumentedAttribute) or \
            isinstance(getattr(expression, "expression", None), sa.Column), \
            f"{sheet.slug}: its order sorts on an expression no index holds: {expression}"
        names.append(expression.expression.name)
    return names


def _order_index(sheet) -> str:
    table = sheet.model.__table__
    order = _order_columns(sheet)
    return next(ix.name for ix in table.indexes if [c.name for c in ix.columns] == order)


def _plan(conn, sheet) -> str:
    """The query plan of a list's first page of ids in its declared order. PostgreSQL and
    MariaDB choose by table statistics (a test table is tiny): PostgreSQL is told not to sort
    if it can help it, MariaDB to use the order index; either then shows whether the index
    gives the order (no Sort / filesort)."""
    from app.sheets.sorting import declared_order
    table = sheet.model.__table__
    order = ", ".join(c for c in _order_columns(sheet))
    if conn.dialect.name == "mysql":
        return " ".join(str(r) for r in conn.execute(sa.text(
            f"EXPLAIN SELECT id FROM {table.name} FORCE INDEX ({_order_index(sheet)}) "
            f"ORDER BY {order} LIMIT 20")).mappings())
    stmt = sa.select(sheet.model.id).order_by(*declared_order(sheet)).limit(20)
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        return " ".join(r[-1] for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
    conn.execute(sa.text("SET LOCAL enable_sort = off"))
    conn.execute(sa.text("SET LOCAL enable_incremental_sort = off"))  # a sort all the same
    return " ".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {sql}")))


def test_every_list_reads_its_default_order_from_an_index_without_sorting(app):
    with app.app_context():
        with db.engine.begin() as conn:
            for sheet in sheets:
                plan = _plan(conn, sheet)
                assert not any(word in plan for word in ("TEMP B-TREE", "Sort", "filesort")), \
                    (sheet.slug, plan)
                assert _order_index(sheet) in plan, (sheet.slug, plan)


def test_declared_indexes_exist_as_declared(app):
    """Alembic compares indexes by name and columns; here also their kind on PostgreSQL
    (trigram indexes for free text) and the order index of every list."""
    with app.app_context():
        engine = db.engine
        inspector = sa.inspect(engine)
        for sheet in sheets:
            table = sheet.model.__table__
            reflected = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
            for ix in table.indexes:
                assert ix.name in reflected, ix.name
                assert reflected[ix.name]["column_names"] == [c.name for c in ix.columns]
            # The order index holds exactly what the declared order sorts on (pinyin keys,
            # dictionary positions), so that a page never sorts the table.
            order = _order_columns(sheet)
            by_index = [[c.name for c in ix.columns] for ix in table.indexes]
            assert order in by_index, (sheet.slug, order, by_index)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                kinds = dict(conn.execute(sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                )).tuples().all())
            for sheet in sheets:
                for ix in sheet.model.__table__.indexes:
                    gin = ix.kwargs.get("postgresql_using") == "gin"
                    assert ("USING gin" in kinds[ix.name]) == gin, (ix.name, kinds[ix.name])


def test_a_revoked_permission_takes_effect_on_the_next_request(app, client):
    """Permissions are cached for one request only."""
    from app.web.security import sync_roles
    login(client, "clerk")
    assert client.get("/experts/list/").status_code == 200
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("科员")
        role.permissions = [pv for pv in role.permissions
                            if (pv.permission.name, pv.view_menu.name) !=
                            ("can_list", "ExpertsView")]
        db.session.commit()
    try:
        assert client.get("/experts/list/").status_code == 403
    finally:
        with app.app_context():
            sync_roles()
    assert client.get("/experts/list/").status_code == 200


def test_the_dashboards_named_filters_are_counted_from_their_index(app):
    presets = [(sheet, name, p) for sheet in sheets for name, p in sheet.presets.items()
               if p.index]
    assert {s.slug for s, _n, _p in presets} >= {"experts", "qualifications", "policies"}
    with app.app_context():
        with db.engine.connect() as conn:
            for sheet, name, preset in presets:
                index = f"ix_{sheet.model.__tablename__}_{'_'.join(preset.index)}"
                trans = conn.begin()  # rolled back: what the check sets or drops stays here
                stmt = sa.select(sa.func.count()).select_from(sheet.model).where(preset.where())
                sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
                if conn.dialect.name == "sqlite":
                    plan = " ".join(r[-1] for r in conn.execute(
                        sa.text(f"EXPLAIN QUERY PLAN {sql}")))
                    assert f"COVERING INDEX {index}" in plan, (sheet.slug, name, plan)
                elif conn.dialect.name == "postgresql":
                    # The planner chooses by the table's statistics (other tests leave rows):
                    # with the table's other indexes gone (DDL is rolled back with the
                    # transaction), can this one serve the count without reading the table?
                    for other in sheet.model.__table__.indexes:
                        if other.name != index:
                            conn.execute(sa.text(f"DROP INDEX {other.name}"))
                    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                    plan = " ".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {sql}")))
                    assert index in plan, (sheet.slug, name, plan)
                else:  # MariaDB chooses by statistics: the index must at least be a candidate
                    rows = conn.execute(sa.text(f"EXPLAIN {sql}")).mappings().all()
                    assert index in (rows[0]["possible_keys"] or ""), (sheet.slug, name, rows)
                trans.rollback()
