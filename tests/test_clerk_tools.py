"""What clerks ask for in every admin tool (issue 9): bulk edit through the record pipeline,
export of chosen columns remembered per user and list, type-ahead pickers asking the server,
saved filters."""
from __future__ import annotations

import io
import re

import openpyxl
from conftest import login
from factories import add, make_agency, make_enterprise, make_expert, make_qualification

from app import db
from app.lists.experts import Expert
from app.models import Change, ExportRecord
from app.preferences import ExportChoice, SavedFilter


def html_of(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def confirm_rows(html: str) -> list[str]:
    return re.findall(r'name="rows" value="([^"]+)"', html)


# ---------------------------------------------------------------------------- bulk edit
def test_bulk_edit_previews_then_saves_each_record_through_the_pipeline(app, as_clerk):
    ids = add(app, make_expert(1, name="王一"), make_expert(2, name="王二"),
              make_expert(3, name="李三"))
    chooser = html_of(as_clerk.get(f"/bulk/experts?ids={ids[0]}&ids={ids[1]}&field=status"))
    assert "将修改 <strong>2</strong> 条记录" in chooser and 'name="status"' in chooser
    assert '<option value="id_number"' not in chooser  # no key, no ID number
    preview = html_of(as_clerk.post("/bulk/experts/preview", data={
        "ids": [str(ids[0]), str(ids[1])], "field": "status", "status": "暂停"}))
    assert preview.count("将修改") >= 2 and "在聘" in preview
    with app.app_context():  # the preview writes nothing
        assert {e.status for e in db.session.query(Expert)} == {"在聘"}
    rows = confirm_rows(preview)
    assert sorted(r.split(":")[0] for r in rows) == sorted(map(str, ids[:2]))
    done = html_of(as_clerk.post("/bulk/experts/apply", data={
        "field": "status", "status": "暂停", "rows": rows}))
    assert "已修改 2 条记录" in done
    with app.app_context():
        status = {e.name: e.status for e in db.session.query(Expert)}
        assert status == {"王一": "暂停", "王二": "暂停", "李三": "在聘"}
        trail = db.session.query(Change).filter_by(slug="experts", action="update").all()
        assert len(trail) == 2 and {c.reason for c in trail} == {"批量修改"}
        assert {c.source for c in trail} == {"screen"}


def test_bulk_edit_of_the_whole_filtered_list(app, as_clerk):
    add(app, make_expert(1, name="王一"), make_expert(2, name="王二"), make_expert(3, name="李三"))
    chooser = html_of(as_clerk.get("/bulk/experts?all=1&q=王&field=employer"))
    assert "将修改 <strong>2</strong> 条记录" in chooser
    preview = html_of(as_clerk.post("/bulk/experts/preview", data={
        "all": "1", "q": "王", "field": "employer", "employer": "复旦大学"}))
    html_of(as_clerk.post("/bulk/experts/apply", data={
        "field": "employer", "employer": "复旦大学", "rows": confirm_rows(preview)}))
    with app.app_context():
        assert {e.name: e.employer for e in db.session.query(Expert)}["李三"] == "上海化工研究院"
        assert db.session.query(Expert).filter_by(employer="复旦大学").count() == 2


def test_bulk_edit_applies_every_rule_and_says_which_rows_it_refuses(app, as_clerk):
    import datetime as dt
    ids = add(app, make_expert(1), make_expert(2, appointed_on=dt.date(2024, 1, 1)))
    # 聘期届满 2023-06-30: after one expert's 聘任日期, before the other's.
    preview = html_of(as_clerk.post("/bulk/experts/preview", data={
        "ids": list(map(str, ids)), "field": "term_ends_on", "term_ends_on": "2023年6月30日"}))
    assert "不能修改" in preview and "应晚于「聘任日期」" in preview
    rows = confirm_rows(preview)
    assert [r.split(":")[0] for r in rows] == [str(ids[0])]
    # Someone edits the first record after the preview: its confirmation is refused.
    with app.app_context():
        e = db.session.get(Expert, ids[0])
        e.title = "高工"
        db.session.commit()
    done = html_of(as_clerk.post("/bulk/experts/apply", data={
        "field": "term_ends_on", "term_ends_on": "2023-06-30", "rows": rows}))
    assert "已修改 0 条" in done and "已被他人修改" in done


def test_bulk_edit_needs_the_right_to_edit(app, client):
    ids = add(app, make_expert(1), make_expert(2))
    login(client, "reader")
    assert client.get(f"/bulk/experts?ids={ids[0]}").status_code == 403
    assert client.post("/bulk/experts/apply", data={
        "field": "status", "status": "暂停", "rows": [f"{ids[0]}:1"]}).status_code == 403
    anonymous = app.test_client()
    assert "/login/" in anonymous.get(f"/bulk/experts?ids={ids[0]}").headers["Location"]


def test_a_clerk_sees_selection_boxes_a_reader_does_not(app, as_clerk):
    add(app, make_expert(1))
    assert "qd-row-check" in html_of(as_clerk.get("/experts/list/"))
    reader = login(app.test_client(), "reader")
    assert "qd-row-check" not in html_of(reader.get("/experts/list/"))


# ---------------------------------------------------------------------------- export columns
def sheet_rows(resp):
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_export_of_chosen_columns_is_remembered_per_user_and_list(app, as_clerk):
    add(app, make_expert(1, name="王一"), make_expert(2, name="李二"))
    page = html_of(as_clerk.get("/export-columns/experts?q=王"))
    assert 'value="name"' in page and 'value="id_number"' not in page  # a clerk: no ID
    assert 'value="birth_date"' not in page  # nor what the number says
    resp = as_clerk.post("/export-columns/experts?q=王", data={
        "q": "王", "fields": ["name", "employer"]})
    assert resp.status_code == 200
    rows = sheet_rows(resp)
    assert rows[0] == ["序号", "*姓名", "*工作单位"] and rows[1:] == [[1, "王一", "上海化工研究院"]]
    again = html_of(as_clerk.get("/export-columns/experts"))
    checked = set(re.findall(r'value="(\w+)" data-group="fields" checked', again))
    assert checked == {"name", "employer"}
    other = login(app.test_client(), "head")  # another user: their own choice (all)
    assert 'value="id_number" data-group="fields" checked' in html_of(
        other.get("/export-columns/experts"))
    with app.app_context():
        assert db.session.query(ExportChoice).count() == 1
        assert db.session.query(ExportRecord).count() == 0  # no ID numbers left


def test_an_export_with_id_numbers_is_on_the_export_log(app, client):
    add(app, make_expert(1))
    head = login(client, "head")
    resp = head.post("/export-columns/experts", data={"fields": ["name", "id_number"]})
    assert sheet_rows(resp)[0] == ["序号", "*姓名", "*身份证号码"]
    with app.app_context():
        assert db.session.query(ExportRecord).one().rows == 1


def test_a_clerk_cannot_ask_for_the_id_column_anyway(app, as_clerk):
    add(app, make_expert(1))
    rows = sheet_rows(as_clerk.post("/export-columns/experts",
                                    data={"fields": ["name", "id_number", "birth_date"]}))
    assert rows[0] == ["序号", "*姓名"]


# ---------------------------------------------------------------------------- pickers
def test_parent_picker_asks_the_server_for_at_most_twenty(app, as_clerk):
    agencies = [make_agency(n, name=f"示例机构{n:02d}") for n in range(1, 26)]
    add(app, *agencies, make_agency(30, name="华东检测中心"))
    first = as_clerk.get("/lookup/qualifications/agency").get_json()
    assert len(first["results"]) == 20 and first["more"] is True
    second = as_clerk.get("/lookup/qualifications/agency?page=2").get_json()
    assert len(second["results"]) == 6 and second["more"] is False
    found = as_clerk.get("/lookup/qualifications/agency?q=华东").get_json()
    assert [r["text"] for r in found["results"]] == ["华东检测中心"]
    assert set(found["results"][0]) == {"id", "text"}


def test_the_form_does_not_load_the_parent_table(app, as_clerk):
    a = make_agency(1, name="唯一的机构")
    cert = make_qualification(a, 1)
    add(app, a, *[make_agency(n) for n in range(2, 40)], cert)
    add_form = html_of(as_clerk.get("/qualifications/add"))
    assert "技术服务机构39" not in add_form and "<option" in add_form
    edit_form = html_of(as_clerk.get(f"/qualifications/edit/{cert.id}"))
    assert edit_form.count("技术服务机构") < 10 and "唯一的机构" in edit_form
    listing = html_of(as_clerk.get("/qualifications/list/"))  # the filter panel neither
    assert "技术服务机构39" not in listing


def test_parent_picker_is_for_signed_in_users_who_may_open_the_list(app, client):
    add(app, make_enterprise(1))
    assert client.get("/lookup/deposits/enterprise").status_code == 401
    assert client.get("/lookup/nothing/x").status_code == 404
    login(client, "reader")
    assert client.get("/lookup/deposits/enterprise").status_code == 200
    with app.app_context():
        role = app.appbuilder.sm.find_role("只读")
        role.permissions = [p for p in role.permissions
                            if not (p.permission.name == "can_list"
                                    and p.view_menu.name == "DepositsView")]
        db.session.commit()
    try:
        assert client.get("/lookup/deposits/enterprise").status_code == 403
    finally:
        with app.app_context():
            from app.web.security import sync_roles
            sync_roles()


# ---------------------------------------------------------------------------- saved filters
def test_a_saved_filter_is_found_again_on_the_list_page(app, as_clerk):
    add(app, make_expert(1, name="王一"), make_expert(2, name="李二"))
    resp = as_clerk.post("/saved-filters/experts", data={
        "name": "姓王的", "query": "q=%E7%8E%8B&page_ExpertsView=2"})
    assert resp.status_code == 302
    page = html_of(as_clerk.get("/experts/list/"))
    link = re.search(r'<a href="([^"]+)" class="qd-saved-link">姓王的</a>', page)
    assert link and "page_" not in link[1]
    found = html_of(as_clerk.get(link[1].replace("&amp;", "&")))
    assert "王一" in found and "李二" not in found
    assert "姓王的" in html_of(as_clerk.get("/saved-filters/"))
    # Another user sees none of it, and cannot delete it.
    other = login(app.test_client(), "head")
    assert "姓王的" not in html_of(other.get("/experts/list/"))
    with app.app_context():
        saved_id = db.session.query(SavedFilter).one().id
    assert other.post(f"/saved-filters/{saved_id}/delete").status_code == 404
    assert as_clerk.post(f"/saved-filters/{saved_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.query(SavedFilter).count() == 0


def test_saving_under_a_name_used_before_replaces_it_and_empty_is_refused(app, as_clerk):
    as_clerk.post("/saved-filters/experts", data={"name": "我的", "query": "q=王"})
    as_clerk.post("/saved-filters/experts", data={"name": "我的", "query": "q=李"})
    resp = as_clerk.post("/saved-filters/experts", data={"name": "空的", "query": ""},
                         follow_redirects=True)
    assert "当前没有任何筛选条件" in resp.get_data(as_text=True)
    with app.app_context():
        assert [s.query for s in db.session.query(SavedFilter)] == ["q=%E6%9D%8E"]
