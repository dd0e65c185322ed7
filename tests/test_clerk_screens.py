"""What a newcomer tripped over on the screens (issue 9), each fixed and checked here on the
server side (the browser flows are in tests/browser)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from conftest import login
from factories import (
    EXPERT_FORM,
    add,
    count,
    make_agency,
    make_duty,
    make_enterprise,
    make_expert,
    make_power,
    make_qualification,
    text_of,
)

from app import db
from app.lists.agencies import Review, ReviewBatch
from app.lists.deposits import Deposit
from app.lists.experts import Expert


def page(client, url) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def review(agency, blind_no, year=2016, period=1):
    return Review(year=year, period=period, category="安全评价报告", blind_no=blind_no,
                  agency=agency, report_no=f"R-{blind_no}", report_type="安全预评价",
                  project_name=f"项目{blind_no}", issued_on=dt.date(year, 3, 1),
                  score=Decimal("80"))


def row_of(html: str, text: str) -> str:
    """The table row (<tr …>…</tr>) holding `text`."""
    at = html.index(text)
    return html[html.rindex("<tr", 0, at):html.index("</tr>", at)]


def published(year=2016, period=1):
    return ReviewBatch(year=year, period=period, category="安全评价报告", status="已发布",
                       revision=1, history=[])


# ---------------------------------------------------------------------------- 1. locks
def test_locked_reviews_show_no_edit_or_delete_and_open_read_only(app, as_clerk):
    agency = make_agency(1)
    locked, free = review(agency, "A-01"), review(agency, "B-01", period=2)
    add(app, agency, locked, free, published(period=1))
    html = page(as_clerk, "/reviews/list/")
    locked_row, free_row = row_of(html, "A-01"), row_of(html, "B-01")
    assert "qd-locked" in locked_row and "已发布" in locked_row
    assert f"/reviews/edit/{locked.id}" not in locked_row
    assert f"/reviews/delete/{locked.id}" not in locked_row
    assert f"/reviews/show/{locked.id}" in locked_row
    assert f"/reviews/edit/{free.id}" in free_row and f"/reviews/delete/{free.id}" in free_row

    edit = page(as_clerk, f"/reviews/edit/{locked.id}")
    assert 'id="qd-locked"' in edit and "已发布，其盲审结果不能修改" in edit
    assert "/review-batches/2016/1/" in edit  # the link to the batch
    assert 'name="score"' not in edit  # read-only: no form field
    # A save sent anyway is refused by the pipeline and shows the same read-only page.
    resp = as_clerk.post(f"/reviews/edit/{locked.id}", data={"score": "10"})
    assert resp.status_code == 200 and 'id="qd-locked"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Review, locked.id).score == Decimal("80.0")


# ---------------------------------------------------------------------------- 2. parents
def test_parent_fields_offer_no_dash_none_and_name_the_field_the_clerk_sees(app, as_clerk):
    add(app, make_enterprise(1))
    for url in ("/deposits/add", "/policies/add", "/qualifications/add", "/reviews/add",
                "/interviews/add", "/responsibilities/add"):
        html = page(as_clerk, url)
        assert "__None" not in html, url
        assert 'class="form-control qd-lookup"' in html and 'data-placeholder="请选择…"' in html
    resp = as_clerk.post("/deposits/add", data=dict(enterprise="", year="2016",
                                                    approved_amount="1000", status="待存储"))
    html = resp.get_data(as_text=True)
    field = html[html.index('id="enterprise"'):]
    field = field[:field.index("</tr>")]
    assert "「生产经营单位」为必填项" in field and "统一社会信用代码" not in field
    assert count(app, Deposit) == 0


def test_a_parent_chosen_by_its_id_is_saved(app, as_clerk):
    enterprise = add(app, make_enterprise(1))
    resp = as_clerk.post("/deposits/add", data=dict(
        enterprise=str(enterprise), year="2016", approved_amount="1000", status="待存储",
        bank="工商银行", account_no="123456789012"))
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Deposit).one().enterprise_id == enterprise


def test_a_parent_id_that_names_nothing_is_refused_beside_its_field(app, as_clerk):
    resp = as_clerk.post("/deposits/add", data=dict(enterprise="99999", year="2016",
                                                    approved_amount="1000", status="待存储"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "所选的「生产经营单位」记录已不存在" in html
    assert count(app, Deposit) == 0


# ---------------------------------------------------------------------------- 3. None
def test_no_none_is_shown_as_a_value(app, as_clerk):
    enterprise = make_enterprise(1)
    deposit = Deposit(enterprise=enterprise, year=2016, approved_amount=Decimal("1000"),
                      status="待存储", bank="工商银行", account_no="123456789012")
    add(app, enterprise, deposit)
    from app.models import ImportBatch
    add(app, ImportBatch(slug="experts", list_title="安全生产专家库", file_name="专家.xlsx",
                         file_size=100, sha256="0" * 64, options={}, source="cli"))
    for url in ("/deposits/list/", f"/deposits/show/{deposit.id}", "/imports/list/",
                "/enterprises/list/", f"/enterprises/show/{enterprise.id}"):
        assert not re.search(r"\bNone\b", text_of(as_clerk.get(url))), url


# ---------------------------------------------------------------------------- 5. redirect
def test_after_a_failed_save_and_a_fix_a_new_record_lands_on_the_list(app, as_clerk):
    page(as_clerk, "/experts/list/?q=张")  # the clerk comes from a filtered list
    bad = dict(EXPERT_FORM, id_number="310110196203150000")
    assert as_clerk.post("/experts/add", data=bad).status_code == 200
    resp = as_clerk.post("/experts/add", data=EXPERT_FORM)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/experts/list/?q=%E5%BC%A0")
    assert count(app, Expert) == 1


def test_after_an_edit_the_clerk_is_back_on_the_list(app, as_clerk):
    pk = add(app, make_expert(1))
    resp = as_clerk.post(f"/experts/edit/{pk}", data=dict(EXPERT_FORM, _version="1"))
    assert resp.status_code == 302 and "/experts/list/" in resp.headers["Location"]


# ---------------------------------------------------------------------------- 6. help
def test_form_help_speaks_of_the_form_and_marks_required_fields(app, as_clerk):
    add(app, make_agency(1))
    experts = text_of(as_clerk.get("/experts/add"))
    for spreadsheet_words in ("枚举，可选", "请将本列设为文本格式", "是否：填", "必填；"):
        assert spreadsheet_words not in experts, spreadsheet_words
    html = page(as_clerk, "/experts/add")
    name_label = html[html.index('for="name"'):html.index('id="name"')]
    assert 'class="qd-required"' in name_label and "*" in name_label
    title_label = html[html.index('for="title"'):html.index('id="title"')]
    assert "qd-required" not in title_label
    reviews = text_of(as_clerk.get("/reviews/add"))
    assert "0–100，最多 1 位小数" in reviews and "0–100，一位小数" not in reviews
    deposits = text_of(as_clerk.get("/deposits/add"))
    assert "10–25 位数字" in deposits and "文本格式" not in deposits


def test_the_template_keeps_its_own_help(app, client):
    import io

    import openpyxl

    login(client, "clerk")
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/lists/experts/template").data))
    guide = " ".join(str(c.value) for row in wb["填写说明"].iter_rows() for c in row if c.value)
    assert "枚举，可选" in guide and "请将本列设为文本格式" in guide


# ---------------------------------------------------------------------------- 7. names
def test_powers_are_named_beside_their_codes(app, client):
    from conftest import xlsx
    login(client, "clerk")
    header = ["清单版本", "权力编码", "权力类别", "权力名称", "实施主体", "行使层级", "法律依据",
              "行使程序", "权力内容", "行使对象", "是否收费", "状态"]
    row = ["2015版", "XK-0101-00", "行政许可", "危险化学品经营许可", "市安监局", "市级", "《安全生产法》",
           "受理、审查", "许可", "企业法人", "否", "在用"]
    resp = client.post("/lists/powers/import", data={"file": (__import__("io").BytesIO(
        xlsx([header, row])), "p.xlsx")}, content_type="multipart/form-data")
    html = page(client, resp.headers["Location"])
    assert "2015版 / XK-0101-00（危险化学品经营许可）" in html
    assert "将保存的值" not in html and "<li><b>权力名称</b>危险化学品经营许可</li>" in html


# ---------------------------------------------------------------------------- 8. export
def test_a_clerk_is_told_why_the_experts_full_export_is_not_theirs(app, as_clerk):
    html = page(as_clerk, "/experts/list/")
    button = html[html.index('id="qd-export"') - 80:html.index('id="qd-export"') + 400]
    assert "disabled" in button and "需科长权限" in button
    assert 'id="qd-export-columns"' in html  # what a clerk may export instead
    head = login(app.test_client(), "head")
    html = page(head, "/experts/list/")
    assert 'href="/lists/experts/export' in html


# ---------------------------------------------------------------------------- 9. tables
def test_list_cells_say_which_wrap(app, as_clerk):
    power = make_power()
    add(app, power, make_duty(power, "受理", matter="第一行\n第二行"))
    html = page(as_clerk, "/powers/list/")
    assert 'class="qd-table-wrap"' in html and "qd-list" in html
    assert '<td class="qd-text">危险化学品经营许可</td>' in html
    assert "<td>行政许可</td>" in html  # short: one line
    duties = page(as_clerk, "/responsibilities/list/")
    assert '<td class="qd-long">第一行\n第二行</td>' in duties  # kept lines (pre-line)


# ---------------------------------------------------------------------------- 10. search
def test_the_search_box_finds_by_name_key_and_parent_and_shows_tags(app, as_clerk):
    a1, a2 = make_agency(1, name="上海示例安全评价公司"), make_agency(2, name="华东检测中心")
    add(app, a1, a2, make_qualification(a1, 1), make_qualification(a2, 2),
        make_expert(1, name="王小明"), make_expert(2, name="李四", employer="复旦大学"))
    html = page(as_clerk, "/experts/list/")
    assert 'id="qd-q"' in html and "姓名" in html[html.index('id="qd-q"'):][:400]
    found = text_of(as_clerk.get("/experts/list/?q=王"))
    assert "王小明" in found and "李四" not in found
    found = text_of(as_clerk.get("/experts/list/?q=复旦"))  # another text column
    assert "李四" in found and "王小明" not in found
    certs = text_of(as_clerk.get("/qualifications/list/?q=华东"))  # the parent's name
    assert "APJ-0002" in certs and "APJ-0001" not in certs
    both = page(as_clerk, "/experts/list/?q=王&_flt_0_status=在聘")
    tags = both[both.index('id="qd-tags"'):]
    tags = tags[:tags.index("</div>")]
    assert "搜索：王" in tags and "状态" in tags and "在聘" in tags
    remove = re.findall(r'href="([^"]+)"[^>]*aria-label="去掉条件：搜索：王"', tags)
    assert remove and "q=" not in remove[0] and "_flt_0_status" in remove[0]


def test_searching_never_looks_into_id_numbers_for_who_may_not_see_them(app, as_clerk):
    add(app, make_expert(1, name="王小明"))
    with app.app_context():
        number = db.session.query(Expert).one().id_number
    assert "王小明" not in text_of(as_clerk.get(f"/experts/list/?q={number[6:14]}"))
    head = login(app.test_client(), "head")
    assert "王小明" in text_of(head.get(f"/experts/list/?q={number[6:14]}"))


def test_the_search_words_reach_the_export(app, client):
    add(app, make_agency(1, name="甲公司"), make_agency(2, name="乙公司"))
    import io

    import openpyxl
    login(client, "clerk")
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/lists/agencies/export?q=甲").data))
    names = [r[1] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert names == ["甲公司"]


# ---------------------------------------------------------------------------- 12. English
def test_permissions_read_in_chinese_on_the_roles_screens(app, as_admin):
    shown = text_of(as_admin.get("/roles/list/"))
    assert "安全生产专家库：新增" in shown and "菜单：" in shown
    assert not re.search(r"can [a-z]+ on", shown)
    edit = page(as_admin, "/roles/edit/2")
    assert "安全生产责任保险：新增" in edit and "can add on" not in edit
    assert "can_" not in text_of(as_admin.get("/permissions/list/"))
    assert "ExpertsView" not in text_of(as_admin.get("/viewmenus/list/"))


def test_user_form_help_and_language_menu_are_chinese(app, as_admin):
    users = text_of(as_admin.get("/users/add"))
    assert "It's not a good policy" not in users and "不建议删除用户" in users
    assert "The user group" not in users
    menu = text_of(as_admin.get("/experts/list/"))
    assert "界面语言" in menu and "- English" not in menu


# ---------------------------------------------------------------------------- 13. status
def test_one_truthful_status_for_an_expired_certificate(app, as_clerk):
    agency = make_agency(1)
    cert = make_qualification(agency, 1, expires=dt.date.today() - dt.timedelta(days=2))
    add(app, agency, cert)
    html = page(as_clerk, "/qualifications/list/")
    header = html[html.index("<thead>"):html.index("</thead>")]
    assert header.count("证书状态") == 1 and "有效状态" not in header
    row = row_of(html, "APJ-0001")
    assert "已过期" in row and "<td>有效</td>" not in row
    show = text_of(as_clerk.get(f"/qualifications/show/{cert.id}"))
    assert "有效状态" not in show and "证书状态 已过期" in show


# ---------------------------------------------------------------------------- 14. courtesies
def test_an_anonymous_visitor_is_asked_to_log_in(app, client):
    for url in ("/experts/list/", "/roles/list/", "/audit/", "/imports/list/"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"], url
    login_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "请先登录" in login_page and "无权访问" not in login_page


def test_a_signed_in_user_without_the_right_still_gets_403(app, client):
    login(client, "reader")
    assert client.get("/experts/add").status_code == 403


def test_favicon_is_served(app, client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.data[:4] == b"\x00\x00\x01\x00"


def test_pages_say_their_language_and_title(app, as_clerk):
    html = page(as_clerk, "/experts/list/")
    assert '<html lang="zh-CN">' in html and "<main" in html
    assert "<title>安全生产专家库 · " in html


def test_a_role_saved_from_its_chinese_form_keeps_its_permissions(app, as_admin):
    from app.web.security import sync_roles
    with app.app_context():
        role = app.appbuilder.sm.find_role("只读")
        rid, before = role.id, sorted(pv.id for pv in role.permissions)
    html = page(as_admin, f"/roles/edit/{rid}")
    chosen = re.findall(r'<option selected value="(\d+)"|<option value="(\d+)" selected', html)
    chosen = sorted(int(a or b) for a, b in chosen)
    assert chosen == before
    try:
        resp = as_admin.post(f"/roles/edit/{rid}", data={"name": "只读",
                                                          "permissions": chosen[:-1]})
        assert resp.status_code == 302
        with app.app_context():
            role = app.appbuilder.sm.find_role("只读")
            assert sorted(pv.id for pv in role.permissions) == before[:-1]
    finally:
        with app.app_context():
            sync_roles()
