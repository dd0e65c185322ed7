"""The audit trail, from every path (screen, API, import, undo, restore, workflow action): a
record's 变更记录, the 操作日志 with its filters and export, restore, masking, the export log;
and that nobody can edit or delete the trail through the application."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
from conftest import api_token, login, xlsx
from factories import add, fetch, make_agency, make_expert, make_qualification, text_of

from app import db
from app.lists.agencies import Agency, Qualification, Review
from app.lists.deposits import Enterprise
from app.lists.experts import Expert
from app.models import Change, ExportRecord
from app.reviews import approve, submit
from app.sheets.declare import sheets
from app.sheets.engine import apply_plan, build_plan, undo_batch

FORM = dict(name="上海某化工有限公司", credit_code="91310115MA1D1YM25W", district="浦东新区",
            industry="其他", size="小型")
HEADER = ["企业名称", "统一社会信用代码", "所在区", "行业类别", "企业规模"]


def history(client, slug: str, pk: int) -> str:
    """The 变更记录 panel of a record's page, as text."""
    resp = client.get(f"/{slug}/show/{pk}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    return text_of_html(html[html.index('id="history"'):])


def text_of_html(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def log(app, **filters) -> str:
    admin = login(app.test_client(), "admin")
    resp = admin.get("/audit/", query_string=filters)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    return text_of_html(html[html.index('id="log-filters"'):])


def enterprise_id(app) -> int:
    with app.app_context():
        return db.session.query(Enterprise.id).scalar()


def changes(app, **where) -> list[Change]:
    with app.app_context():
        rows = db.session.query(Change).filter_by(**where).order_by(Change.id).all()
        db.session.expunge_all()
        return rows


def import_file(app, rows, name="企业.xlsx") -> int:
    with app.app_context():
        plan = build_plan(sheets["enterprises"], xlsx([HEADER, *rows]), name, session=db.session)
        return apply_plan(plan, session=db.session, user_id=None).id


# ---------------------------------------------------------------------------- each path
def test_a_screen_edit_is_on_the_records_history_and_the_log(app):
    clerk = login(app.test_client(), "clerk")
    assert clerk.post("/enterprises/add", data=FORM).status_code == 302
    pk = enterprise_id(app)
    resp = clerk.post(f"/enterprises/edit/{pk}", data=dict(FORM, name="上海甲化工有限公司",
                                                           _version="1"))
    assert resp.status_code == 302
    shown = history(clerk, "enterprises", pk)
    assert "页面 更新（第 2 版） 企业名称 ：上海某化工有限公司 → 上海甲化工有限公司" in shown
    assert "页面 新增（第 1 版）" in shown and "测试clerk（clerk）" in shown
    assert "所在区" not in shown.split("新增")[0]  # an update lists only what changed
    page = log(app, list="enterprises")
    # the record by its key and, beside it, its name
    assert "生产经营单位 91310115MA1D1YM25W（上海甲化工有限公司） 更新（第 2 版）" in page
    assert "上海某化工有限公司 → 上海甲化工有限公司" in page
    (update,) = changes(app, action="update")
    assert (update.source, update.record_key, update.version_after) == (
        "screen", FORM["credit_code"], 2)


def test_an_api_change_is_recorded_as_from_the_api(app, client):
    pk = add(app, Enterprise(**FORM))
    resp = client.put(f"/api/v1/enterprises/{pk}", json={"size": "中型"},
                      headers=api_token(client, "clerk"))
    assert resp.status_code == 200
    shown = history(login(app.test_client(), "reader"), "enterprises", pk)
    assert "接口 更新（第 2 版） 企业规模 ：小型 → 中型" in shown
    assert "接口" in log(app, source="api") and "小型 → 中型" in log(app, source="api")
    assert "小型 → 中型" not in log(app, source="screen")


def test_import_and_its_undo_are_recorded_with_their_batch(app):
    first = import_file(app, [[FORM["name"], FORM["credit_code"], "浦东新区", "其他", "小型"]])
    second = import_file(app, [[FORM["name"], FORM["credit_code"], "闵行区", "其他", "小型"]])
    pk = enterprise_id(app)
    reader = login(app.test_client(), "reader")
    assert f"导入 （导入批次 {second}） 更新（第 2 版） 所在区 ：浦东新区 → 闵行区" in \
        history(reader, "enterprises", pk)
    page = log(app, batch=str(second))
    assert "浦东新区 → 闵行区" in page and "共 1 条" in page
    assert "共 1 条" in log(app, batch=str(first))

    with app.app_context():
        undo_batch(second, session=db.session, user_id=app.appbuilder.sm.find_user("head").id)
    shown = history(reader, "enterprises", pk)
    assert f"撤销导入 （导入批次 {second}） 更新（第 3 版） 所在区 ：闵行区 → 浦东新区" in shown
    assert "测试head（head）" in shown and f"撤销导入批次 {second}" in shown
    undo = changes(app, source="undo")
    assert [(c.action, c.batch_id, c.record_key) for c in undo] == [
        ("update", second, FORM["credit_code"])]
    # the batch page lists what the import did, not its undo
    admin = login(app.test_client(), "admin")
    batch_page = text_of(admin.get(f"/imports/show/{second}"))
    assert "变更明细（共 1 条）" in batch_page



def test_an_imported_creation_is_read_as_the_record_created_though_the_trail_keeps_no_copy(app):
    """An import's creation is on the trail without "after" (the row is its own); whoever
    reads the trail sees the record as created: from the record itself while it is
    unchanged, then from the `before` of its next change — the history, a restore of
    version 1, the undo (whose deletion rows keep the record, for 已删除的记录)."""
    import sqlalchemy as sa

    from app.audit import complete_creations
    batch = import_file(app, [[FORM["name"], FORM["credit_code"], "浦东新区", "其他", "小型"]])
    pk = enterprise_id(app)
    (created,) = changes(app, batch_id=batch)
    assert (created.action, created.record_id, created.version_after) == ("create", pk, 1)
    assert created.before is None and created.after is None
    with app.app_context():
        c = db.session.get(Change, created.id)
        complete_creations(db.session, [c])
        assert c.after["name"] == FORM["name"] and c.after["district"] == "浦东新区"
        assert (c.after["id"], c.after["version"]) == (pk, 1)
        assert not db.session.dirty  # given as loaded, never written back
    head = login(app.test_client(), "head")
    assert "新增（第 1 版） 企业名称 ：（空） → 上海某化工有限公司" in history(head, "enterprises", pk)

    head.post(f"/enterprises/edit/{pk}", data=dict(FORM, district="闵行区", size="大型"))
    shown = history(head, "enterprises", pk)  # now 闵行区: version 1 is the edit's before
    assert "所在区 ：（空） → 浦东新区 行业类别" in shown and "企业规模 ：（空） → 小型" in shown
    resp = head.post(f"/records/restore/{created.id}", follow_redirects=True)
    assert "已恢复：记录现为第 3 版" in text_of(resp)
    back = fetch(app, Enterprise, pk)
    assert (back.district, back.size, back.version) == ("浦东新区", "小型", 3)

    second = import_file(app, [["上海新设有限公司（虚构）", "91310116MA1KFJRE7R", "金山区", "其他",
                                "微型"]])
    with app.app_context():
        undo_batch(second, session=db.session)
    (removed,) = changes(app, source="undo", action="delete")
    assert removed.before["name"] == "上海新设有限公司（虚构）"
    assert removed.before["district"] == "金山区" and removed.before["version"] == 1
    assert "上海新设有限公司（虚构）" in text_of(head.get("/records/deleted/enterprises"))
    with app.app_context():  # JSON as written: Chinese as characters, not \u escapes
        stored = db.session.scalar(sa.select(sa.cast(Change.before, sa.String(2000)))
                                   .where(Change.id == removed.id))
    assert "金山区" in stored and "\\u" not in stored


def test_a_workflow_action_is_recorded(app):
    agency = add(app, make_agency(1))
    with app.app_context():
        db.session.add(Review(year=2016, period=1, category="安全评价报告", blind_no="A-1",
                              agency_id=agency, report_no="R-1", report_type="安全现状评价",
                              project_name="某项目", issued_on=dt.date(2016, 5, 1), score=85))
        db.session.commit()
        sm = app.appbuilder.sm
        submit(db.session, (2016, 1, "安全评价报告"), sm.find_user("clerk").id)
        approve(db.session, (2016, 1, "安全评价报告"), sm.find_user("head").id)
    page = log(app, list="review_batches")
    assert "流程操作" in page and "盲审批次 2016年第1期安全评价报告" in page
    assert "状态 ：草稿 → 待审核" in page and "提交审核" in page
    assert "状态 ：待审核 → 已审核" in page and "审核通过" in page


# ---------------------------------------------------------------------------- restore
def test_head_restores_an_earlier_version_and_the_history_says_so(app):
    clerk = login(app.test_client(), "clerk")
    clerk.post("/enterprises/add", data=FORM)
    pk = enterprise_id(app)
    clerk.post(f"/enterprises/edit/{pk}", data=dict(FORM, name="甲公司"))
    clerk.post(f"/enterprises/edit/{pk}", data=dict(FORM, name="乙公司", size="大型"))
    assert "恢复到此版本" not in clerk.get(f"/enterprises/show/{pk}").get_data(as_text=True)
    (created,) = changes(app, action="create")
    assert clerk.post(f"/records/restore/{created.id}").status_code == 403

    head = login(app.test_client(), "head")
    page = head.get(f"/enterprises/show/{pk}").get_data(as_text=True)
    assert page.count("恢复到此版本") == 2  # not the current version
    resp = head.post(f"/records/restore/{created.id}", data={"reason": "误改，按原件恢复"},
                     follow_redirects=True)
    assert "已恢复：记录现为第 4 版" in text_of(resp)
    restored = fetch(app, Enterprise, pk)
    assert (restored.name, restored.size, restored.version) == (FORM["name"], "小型", 4)
    shown = history(head, "enterprises", pk)
    assert "恢复 更新（第 4 版） 企业名称 ：乙公司 → 上海某化工有限公司" in shown
    assert "恢复自第 1 版；误改，按原件恢复" in shown
    last = changes(app, source="restore")[-1]
    assert (last.restored_version, last.reason) == (1, "误改，按原件恢复")
    # the same version again: nothing to do, said so
    resp = head.post(f"/records/restore/{created.id}", follow_redirects=True)
    assert "与第 1 版相同，无需恢复" in text_of(resp)


def test_a_deleted_record_is_brought_back_under_its_id(app):
    pk = add(app, make_expert(1))
    clerk = login(app.test_client(), "clerk")
    clerk.get("/experts/list/")
    clerk.post(f"/experts/delete/{pk}")
    assert fetch(app, Expert, pk) is None
    assert clerk.get("/records/deleted/experts").status_code == 403

    assert "已删除的记录" not in text_of(clerk.get("/experts/list/"))
    head = login(app.test_client(), "head")
    assert "/records/deleted/experts" in head.get("/experts/list/").get_data(as_text=True)
    page = text_of(head.get("/records/deleted/experts"))
    assert "安全生产专家库：已删除的记录" in page and "专家1" in page and "恢复这条记录" in page
    (deleted,) = changes(app, action="delete")
    resp = head.post(f"/records/restore/{deleted.id}", follow_redirects=True)
    assert "已恢复" in text_of(resp)
    back = fetch(app, Expert, pk)
    assert back is not None and back.name == "专家1" and back.version == 2
    shown = history(head, "experts", pk)
    assert "恢复 新增（第 2 版）" in shown and "恢复自第 1 版" in shown
    assert "页面 删除" in shown
    assert "专家1" not in text_of(head.get("/records/deleted/experts")).split("返回")[0]


def test_restore_is_refused_when_the_key_is_taken_or_the_parent_is_gone(app):
    pk = add(app, make_expert(1))
    add(app, make_expert(2))  # the deleted one is not the last id (SQLite would reuse it)
    head = login(app.test_client(), "head")
    head.get("/experts/list/")
    head.post(f"/experts/delete/{pk}")
    add(app, make_expert(1, name="后来录入的"))  # the same ID number, a new record
    (deleted,) = changes(app, slug="experts", action="delete")
    resp = head.post(f"/records/restore/{deleted.id}", follow_redirects=True)
    assert "未恢复：已有「身份证号码」相同的记录" in text_of(resp)
    assert fetch(app, Expert, pk) is None

    agency = make_agency(1)
    cert, agency_id = add(app, make_qualification(agency, 1)), None
    with app.app_context():
        agency_id = db.session.get(Qualification, cert).agency_id
    head.get("/qualifications/list/")
    head.post(f"/qualifications/delete/{cert}")
    head.post(f"/agencies/delete/{agency_id}")
    assert fetch(app, Agency, agency_id) is None
    (gone,) = changes(app, slug="qualifications", action="delete")
    resp = head.post(f"/records/restore/{gone.id}", follow_redirects=True)
    assert f"所属的「技术服务机构」记录（#{agency_id}）已被删除" in text_of(resp)
    assert fetch(app, Qualification, cert) is None


# ---------------------------------------------------------------------------- who sees what
def test_id_numbers_in_the_history_are_masked_for_whoever_may_not_see_them(app, client):
    pk = add(app, make_expert(1))
    old = fetch(app, Expert, pk).id_number
    new = make_expert(2).id_number
    resp = client.put(f"/api/v1/experts/{pk}", json={"id_number": new},
                      headers=api_token(client, "head"))
    assert resp.status_code == 200
    masked = [n[:6] + "*" * 12 for n in (old, new)]  # the region only (values.mask_id_number)
    reader = history(login(app.test_client(), "reader"), "experts", pk)
    assert f"身份证号码 ：{masked[0]} → {masked[1]}" in reader
    assert old not in reader and new not in reader
    head = history(login(app.test_client(), "head"), "experts", pk)
    assert f"身份证号码 ：{old} → {new}" in head


def test_exports_of_lists_with_id_numbers_are_recorded(app):
    add(app, make_expert(1), make_expert(2, employer="别的单位"), make_agency(1))
    head = login(app.test_client(), "head")
    assert head.get("/lists/experts/export?_flt_0_employer=别的单位").status_code == 200
    assert head.get("/lists/agencies/export").status_code == 200  # no ID numbers: not logged
    with app.app_context():
        (record,) = db.session.query(ExportRecord).all()
        assert (record.slug, record.rows, record.created_by.username) == ("experts", 1, "head")
        assert "_flt_0_employer=" in record.filters
    admin = login(app.test_client(), "admin")
    page = text_of(admin.get("/export-log/list/"))
    assert "安全生产专家库" in page and "测试head（head）" in page
    assert login(app.test_client(), "head").get("/export-log/list/").status_code == 403


def test_the_log_filters_and_exports(app):
    clerk = login(app.test_client(), "clerk")
    clerk.post("/enterprises/add", data=FORM)
    pk = enterprise_id(app)
    clerk.post(f"/enterprises/edit/{pk}", data=dict(FORM, contact="张三"))
    import_file(app, [["另一家公司", "91310112MA1QHJRW05", "闵行区", "其他", "中型"]])
    with app.app_context():
        clerk_id = app.appbuilder.sm.find_user("clerk").id
    assert "共 3 条" in log(app)
    assert "共 2 条" in log(app, user=str(clerk_id))
    assert "共 2 条" in log(app, record=FORM["credit_code"])
    assert "共 2 条" in log(app, record=f"#{pk}")
    today = dt.date.today()
    assert "共 3 条" in log(app, since=today.isoformat(), until=today.isoformat())
    assert "共 0 条" in log(app, since=(today + dt.timedelta(days=1)).isoformat())
    assert "共 3 条" in log(app, since="不是日期")  # ignored, not an error
    assert "共 1 条" in log(app, source="import")

    admin = login(app.test_client(), "admin")
    resp = admin.get("/audit/export", query_string={"user": str(clerk_id)})
    assert resp.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间", "操作人", "来源") and len(rows) == 3
    assert any("联系人：（空） → 张三" in (r[8] or "") for r in rows[1:])


def test_nobody_can_edit_or_delete_the_log(app):
    every = list(app.url_map.iter_rules())
    rules = [r for r in every if r.rule.startswith(("/audit", "/export-log"))]
    assert rules and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules), rules
    assert not [r for r in every if r.rule.startswith("/api/")
                and ("change" in r.rule or "audit" in r.rule or "export" in r.rule)]
    assert all(s.model not in (Change, ExportRecord) for s in sheets)  # no import of them
    for user in ("clerk", "head", "reader"):
        assert login(app.test_client(), user).get("/audit/").status_code == 403
    admin = login(app.test_client(), "admin")
    assert admin.post("/audit/").status_code == 405
    assert admin.post("/export-log/delete/1").status_code == 404
    with app.app_context():
        perms = {(pv.permission.name, pv.view_menu.name)
                 for pv in app.appbuilder.sm.find_role("管理员").permissions}
    assert {p for p, v in perms if v == "AuditLog"} == {"can_list", "can_export"}
    assert {p for p, v in perms if v == "ExportLog"} == {"can_list"}


def test_a_new_record_under_a_deleted_ones_id_has_its_own_history(app):
    """SQLite gives a new record the id of a deleted one when that was the highest."""
    pk = add(app, make_agency(1))
    head = login(app.test_client(), "head")
    head.get("/agencies/list/")
    head.post(f"/agencies/delete/{pk}")
    (deleted,) = changes(app, action="delete")
    with app.app_context():  # a record created under the same id, by any path
        agency = make_agency(2)
        agency.id = pk
        db.session.add(agency)
        db.session.commit()
    shown = history(head, "agencies", pk)
    assert "其他 新增（第 1 版）" in shown and "删除" not in shown
    resp = head.post(f"/records/restore/{deleted.id}", follow_redirects=True)
    assert "已由后来新增的另一条记录使用，无法按原编号恢复" in text_of(resp)
    assert fetch(app, Agency, pk).name == "技术服务机构02"


def test_restore_is_refused_while_the_record_is_locked(app, client):
    agency = add(app, make_agency(1))
    with app.app_context():
        review = Review(year=2016, period=1, category="安全评价报告", blind_no="A-1",
                        agency_id=agency, report_no="R-1", report_type="安全现状评价",
                        project_name="某项目", issued_on=dt.date(2016, 5, 1), score=85)
        db.session.add(review)
        db.session.commit()
        pk = review.id
    resp = client.put(f"/api/v1/reviews/{pk}", json={"score": "95", "grade": None},
                      headers=api_token(client, "clerk"))
    assert resp.status_code == 200 and resp.get_json()["result"]["grade"] == "优秀"
    with app.app_context():
        submit(db.session, (2016, 1, "安全评价报告"), None)
        approve(db.session, (2016, 1, "安全评价报告"), None)
    (created,) = changes(app, slug="reviews", action="create")
    head = login(app.test_client(), "head")
    resp = head.post(f"/records/restore/{created.id}", follow_redirects=True)
    assert "未恢复：2016年第1期安全评价报告已审核待发布，其盲审结果不能修改" in text_of(resp)
    assert fetch(app, Review, pk).score == 95
