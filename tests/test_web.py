"""The generated list screens and API (app/web/screens.py, forms.py, api.py): forms with the importer's rules,
derived values, related lists, 一项一表, paging bounds, per-request filters, Chinese."""
from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from conftest import api_token, login
from factories import (
    EXPERT_FORM,
    TODAY,
    add,
    count,
    credit_code,
    fetch,
    make_agency,
    make_duty,
    make_enterprise,
    make_expert,
    make_power,
    make_qualification,
    text_of,
)
from sqlalchemy import event
from werkzeug.datastructures import MultiDict

from app import db
from app.lists.agencies import Agency, Interview, Qualification, Review
from app.lists.deposits import Deposit, Policy
from app.lists.experts import Expert
from app.lists.powers import Power


@pytest.fixture
def as_reader(client):
    return login(client, "reader")


# ---------------------------------------------------------------------------- menus and pages
def test_menu_groups_lists_in_order(app, as_clerk):
    page = text_of(as_clerk.get("/experts/list/"))
    order = ["权责清单", "行政权力清单", "行政责任清单", "审批事项改革", "专家库", "安全生产专家库",
             "技术服务机构", "机构资质证书", "报告盲审结果", "警示约谈", "抵押金与保险",
             "生产经营单位", "风险抵押金", "安全生产责任保险"]
    positions = [page.index(name) for name in order]
    assert positions == sorted(positions)


def test_index_shows_each_list_with_its_count(app, as_clerk):
    add(app, make_expert(1), make_expert(2))
    resp = as_clerk.get("/")
    assert resp.status_code == 200
    page = text_of(resp)
    assert re.search(r"安全生产专家库 2 条", page)
    assert re.search(r"行政权力清单 0 条", page)
    assert 'href="/experts/list/"' in resp.get_data(as_text=True)


def test_list_page_uses_declared_labels_and_search(app, as_clerk):
    page = as_clerk.get("/experts/list/").get_data(as_text=True)
    for header in ("专家编号", "姓名", "工作单位", "专业类别", "聘期届满", "状态"):
        assert header in page
    # the search form offers the declared fields only (never every column, FAB #796), and
    # none on the ID number for a clerk, who may not see it whole
    names = re.findall(r'name="(\w+)" class="filter"', page)
    assert names == ["name", "expert_no", "employer", "speciality", "expert_type",
                     "committee_role", "status", "term_ends_on"]


# ---------------------------------------------------------------------------- forms and rules
def test_invalid_expert_is_refused_with_chinese_messages_and_typed_values_kept(app, as_clerk):
    bad = dict(EXPERT_FORM, id_number=EXPERT_FORM["id_number"][:-1] + "0",
               appointed_on="2020-01-01", term_ends_on="2019-12-31")
    if bad["id_number"] == EXPERT_FORM["id_number"]:
        bad["id_number"] = EXPERT_FORM["id_number"][:-1] + "1"
    resp = as_clerk.post("/experts/add", data=bad)
    assert resp.status_code == 200  # the form again, not a redirect
    page = resp.get_data(as_text=True)
    assert "校验位不正确" in page
    assert "「聘期届满」2019-12-31 应晚于「聘任日期」2020-01-01" in page
    assert f'value="{bad["id_number"]}"' in page and 'value="2019-12-31"' in page
    assert 'value="张伟"' in page
    assert count(app, Expert) == 0


def test_valid_expert_with_full_width_digits_is_stored_normalised(app, as_clerk):
    number = EXPERT_FORM["id_number"]
    wide = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    resp = as_clerk.post("/experts/add", data=dict(EXPERT_FORM, id_number=wide,
                                                   name="张　伟", title="高工"))
    assert resp.status_code == 302
    with app.app_context():
        expert = db.session.query(Expert).one()
        assert expert.id_number == number
        assert expert.name == "张伟"            # person names lose inner padding
        assert expert.title == "高级工程师"     # the list's own parser ran
        assert expert.appointed_on == dt.date(2020, 1, 1)


def test_form_accepts_what_an_import_accepts(app, as_clerk):
    enterprise = add(app, make_enterprise(1, size="小型"))
    resp = as_clerk.post("/deposits/add", data=dict(
        enterprise=str(enterprise), year="2015", approved_amount="30万元",
        deposited_amount="300,000.00", bank="工商银行", account_no="１２３４５６７８９０１２",
        deposited_on="2015年3月1日", status="已足额"))
    assert resp.status_code == 302, text_of(resp)[:2000]
    with app.app_context():
        deposit = db.session.query(Deposit).one()
        assert deposit.approved_amount == Decimal("300000.00")
        assert deposit.account_no == "123456789012"
        assert deposit.deposited_on == dt.date(2015, 3, 1)


def test_relation_problem_is_shown_next_to_the_relation_field(app, as_clerk):
    resp = as_clerk.post("/qualifications/add", data=dict(
        category="安全评价", grade="甲级", cert_no="APJ-0001", issuer="某局",
        issued_on="2015-01-01", expires_on="2018-01-01", scope="化工", status="有效"))
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    field = page[page.index('id="agency"'):]
    field = field[:field.index("</tr>")]
    # named as the form names the field (a picker of 技术服务机构), not by a spreadsheet column
    assert "「技术服务机构」为必填项" in field and "统一社会信用代码" not in field
    assert count(app, Qualification) == 0


def test_rule_spanning_fields_and_grade_c(app, as_clerk):
    agency = add(app, make_agency(1))
    resp = as_clerk.post("/qualifications/add", data=dict(
        agency=str(agency), category="安全评价", grade="丙", cert_no="APJ-0002", issuer="某局",
        issued_on="2015-01-01", expires_on="2014-01-01", scope="化工", status="有效"))
    page = resp.get_data(as_text=True)
    assert "丙级资质只适用于职业卫生技术服务" in page
    assert "「有效期至」2014-01-01 应晚于「发证日期」2015-01-01" in page


def test_duplicate_key_is_refused_in_chinese(app, as_clerk):
    add(app, make_expert(1, id_number=EXPERT_FORM["id_number"]))
    resp = as_clerk.post("/experts/add", data=EXPERT_FORM)
    assert resp.status_code == 200
    assert "已有「身份证号码」相同的记录" in resp.get_data(as_text=True)
    assert count(app, Expert) == 1


def test_warning_is_flashed_and_does_not_block(app, as_clerk):
    agency = add(app, make_agency(1))
    form = dict(year="2016", period="1", category="安全评价报告", blind_no="A-001",
                agency=str(agency), report_no="R-1", report_type="安全现状评价",
                project_name="某项目", issued_on="2016-05-01", score="85分")
    resp = as_clerk.post("/reviews/add", data=dict(form, grade="优秀"), follow_redirects=True)
    assert "按「得分」85.0 应为“良好”" in resp.get_data(as_text=True)
    resp = as_clerk.post("/reviews/add", data=dict(form, blind_no="A-002"))
    assert resp.status_code == 302
    with app.app_context():
        grades = {r.blind_no: (r.score, r.grade) for r in db.session.query(Review)}
    assert grades == {"A-001": (Decimal("85.0"), "优秀"), "A-002": (Decimal("85.0"), "良好")}


def test_edit_form_shows_stored_values_as_people_read_them(app, as_admin):
    pk = add(app, make_power(charged=False, effective_on=dt.date(2015, 3, 1)))
    page = as_admin.get(f"/powers/edit/{pk}").get_data(as_text=True)
    assert '<option selected value="否">否</option>' in page
    assert 'value="2015-03-01"' in page
    resp = as_admin.post(f"/powers/edit/{pk}", data=dict(
        list_version="2015版", code="XK001", category="许可", name="危险化学品经营许可",
        implementing_body="上海市安全生产监督管理局", levels="市级；区县级",
        legal_basis="《安全生产法》", procedure="受理", content="核发", objects="企业法人",
        charged="否", status="在用"))
    assert resp.status_code == 302
    power = fetch(app, Power, pk)
    assert (power.category, power.levels) == ("行政许可", "市级、区县级")


# ---------------------------------------------------------------------------- derived values
def _agencies_with_certificates(app, n, dual=True):
    agencies = [make_agency(i) for i in range(1, n + 1)]
    certs = []
    for i, agency in enumerate(agencies, 1):
        certs.append(make_qualification(agency, 2 * i))
        if dual:
            certs.append(make_qualification(agency, 2 * i + 1, category="职业卫生技术服务"))
    add(app, *agencies, *certs)
    return agencies


def test_dual_qualification_is_shown_and_filterable(app, as_clerk):
    a1, a2, a3 = make_agency(1), make_agency(2), make_agency(3)
    add(app, a1, a2, a3,
        make_qualification(a1, 1), make_qualification(a1, 2, category="职业卫生技术服务"),
        make_qualification(a2, 3),
        make_qualification(a3, 4), make_qualification(a3, 5, category="职业卫生技术服务",
                                                      expires=TODAY - dt.timedelta(days=1)))
    page = as_clerk.get("/agencies/list/").get_data(as_text=True)
    assert "双资质" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    dual = {re.search(r"技术服务机构0\d", r)[0]: ("<td>是</td>" in r) for r in rows
            if re.search(r"技术服务机构0\d", r)}
    assert dual == {"技术服务机构01": True, "技术服务机构02": False, "技术服务机构03": False}
    yes = text_of(as_clerk.get("/agencies/list/?_flt_0_dual_qualified=是"))
    assert "技术服务机构01" in yes and "技术服务机构02" not in yes and "技术服务机构03" not in yes
    no = text_of(as_clerk.get("/agencies/list/?_flt_0_dual_qualified=否"))
    assert "技术服务机构01" not in no and "技术服务机构02" in no and "技术服务机构03" in no
    for direction, first in (("desc", "技术服务机构01"), ("asc", "技术服务机构02")):
        page = text_of(as_clerk.get(f"/agencies/list/?_oc_AgenciesView=dual_qualified"
                                    f"&_od_AgenciesView={direction}"))
        assert min(re.findall(r"技术服务机构0\d", page), key=page.index) == first


def test_expired_certificates_and_policies_say_so(app, as_clerk):
    agency = make_agency(1)
    enterprise = make_enterprise(1)
    add(app, agency, enterprise,
        make_qualification(agency, 1, expires=TODAY - dt.timedelta(days=3)),
        make_qualification(agency, 2),
        make_qualification(agency, 3, status="暂停"),
        Policy(policy_no="P-1", insurer="人保", enterprise=enterprise, kind="安全生产责任保险",
               starts_on=TODAY - dt.timedelta(days=400), ends_on=TODAY - dt.timedelta(days=35),
               insured_count=10, per_person_limit=300000, per_accident_limit=3000000,
               total_limit=6000000, premium=5000, payment_status="已缴", status="有效"))
    page = as_clerk.get("/qualifications/list/").get_data(as_text=True)
    rows = {re.search(r"APJ-\d+", r)[0]: r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            if re.search(r"APJ-\d+", r)}
    assert "已过期" in rows["APJ-0001"]
    assert "已过期" not in rows["APJ-0002"] and "<td>有效</td>" in rows["APJ-0002"]
    assert "已过期" not in rows["APJ-0003"]
    expired = text_of(as_clerk.get("/qualifications/list/?_flt_0_expired=是"))
    assert "APJ-0001" in expired and "APJ-0002" not in expired
    assert "已过期" in text_of(as_clerk.get("/policies/list/"))


def test_list_page_costs_the_same_queries_for_1_and_30_rows(app, as_clerk):
    """A parent column or a derived one (双资质) must not cost a query per row."""
    def queries(url):
        seen = []

        def listener(conn, cursor, statement, *args):
            seen.append(statement)
        with app.app_context():
            engine = db.engine
        as_clerk.get(url)  # warm up: the first request may load what later ones reuse
        event.listen(engine, "before_cursor_execute", listener)
        try:
            resp = as_clerk.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert resp.status_code == 200
        return len(seen)

    _agencies_with_certificates(app, 1, dual=False)
    one = {u: queries(u) for u in ("/agencies/list/?psize_AgenciesView=30",
                                   "/qualifications/list/?psize_QualificationsView=30")}
    with app.app_context():
        for table in (Qualification, Agency):
            db.session.query(table).delete()
        db.session.commit()
    _agencies_with_certificates(app, 30, dual=False)
    page = as_clerk.get("/qualifications/list/?psize_QualificationsView=30").get_data(
        as_text=True)
    assert page.count("APJ-") == 30  # 30 certificates of 30 agencies on the page
    assert "技术服务机构30" in page
    thirty = {u: queries(u) for u in one}
    assert thirty == one


# ---------------------------------------------------------------------------- related lists
def test_records_show_their_related_lists(app, as_clerk):
    agency = make_agency(1)
    enterprise = make_enterprise(1)
    power = make_power()
    add(app, agency, enterprise, power, make_qualification(agency, 7),
        Interview(agency=agency, interviewed_on=dt.date(2016, 1, 5), reason="报告质量差",
                  interviewer="王科长", interviewee="李明", interviewee_role="法定代表人",
                  requirements="整改", deadline=dt.date(2016, 3, 1)),
        Deposit(enterprise=enterprise, year=2016, approved_amount=1000000,
                bank="工商银行", account_no="1234567890123", status="已足额"),
        make_duty(power, "受理"))
    page = text_of(as_clerk.get(f"/agencies/show/{agency.id}"))
    for title in ("机构资质证书", "报告盲审结果", "警示约谈"):
        assert title in page
    assert "APJ-0007" in page and "2016-01-05" in page
    page = text_of(as_clerk.get(f"/enterprises/show/{enterprise.id}"))
    assert "风险抵押金" in page and "安全生产责任保险" in page and "工商银行" in page
    page = text_of(as_clerk.get(f"/powers/show/{power.id}"))
    assert "行政责任清单" in page and "受理责任1" in page


# ---------------------------------------------------------------------------- 一项一表
def test_power_table_page(app, as_reader):
    power = make_power(sub_item="经营许可（带储存）", charged=False)
    add(app, power, make_duty(power, "决定", 1), make_duty(power, "受理", 2),
        make_duty(power, "受理", 1), make_duty(power, "审查", 1), make_duty(power, "事后监管", 1))
    listing = as_reader.get("/powers/list/").get_data(as_text=True)
    assert f'href="/powers/table/{power.id}"' in listing
    assert f'href="/powers/table/{power.id}"' in as_reader.get(
        f"/powers/show/{power.id}").get_data(as_text=True)
    resp = as_reader.get(f"/powers/table/{power.id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    page = text_of(resp)
    for label in ("清单版本", "权力编码", "权力类别", "子项名称", "法律依据", "是否收费", "状态"):
        assert label in page
    assert "经营许可（带储存）" in page and "否" in page
    order = [page.index(s) for s in ("受理责任1", "受理责任2", "审查责任1", "决定责任1",
                                     "事后监管责任1")]
    assert order == sorted(order)  # grouped by stage, in procedure order
    assert "@media print" in html and "size: A4" in html and "margin: 15mm" in html
    assert "page-break-inside: avoid" in html and "打印" in page
    assert as_reader.get("/powers/table/999999").status_code == 404


def test_pages_reference_nothing_outside_the_server(app, client):
    """The bureau's network has no internet: no CDN, font or script from elsewhere."""
    pk = add(app, make_power())
    external = re.compile(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//"
                          r"|url\(\s*[\"']?(?:https?:)?//|@import", re.I)
    pages = {"/login/": client.get("/login/").get_data(as_text=True)}
    login(client, "admin")  # every menu entry, FAB's security screens included
    for url in ("/", "/powers/list/", f"/powers/show/{pk}", f"/powers/table/{pk}",
                "/powers/add", f"/powers/edit/{pk}", "/experts/list/", "/users/list/",
                "/swagger/v1"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        pages[url] = resp.get_data(as_text=True)
    for url, html in pages.items():
        assert not external.search(html), (url, external.search(html))
    # FAB's user statistics chart would load Google Charts from the internet: left out
    assert "userstatschartview" not in pages["/"]


def test_api_descriptions_are_never_the_catalogue_header(app, client):
    info = client.get("/api/v1/agencies/_info", headers=api_token(client, "clerk")).get_json()
    texts = [c["description"] for c in info["add_columns"]]
    assert "必填；18 位统一社会信用代码" in texts
    assert not any("Project-Id-Version" in text for text in texts)


# ---------------------------------------------------------------------------- paging, order
def test_list_follows_the_declared_order(app, as_clerk):
    add(app, make_expert(1, name="张四"), make_expert(2, name="张三"),
        make_expert(3, name="张六", speciality="冶金"))
    page = text_of(as_clerk.get("/experts/list/"))
    # 专业类别 in the dictionary's order (危险化学品 before 冶金), then 姓名 by pinyin
    assert page.index("张三") < page.index("张四") < page.index("张六")

def test_page_size_is_bounded_and_bad_arguments_do_not_fail(app, as_clerk):
    add(app, *[make_expert(i) for i in range(1, 106)])
    page = as_clerk.get("/experts/list/").get_data(as_text=True)
    assert len(set(re.findall(r"/experts/show/(\d+)", page))) == 20
    page = as_clerk.get("/experts/list/?psize_ExpertsView=100000").get_data(as_text=True)
    assert len(set(re.findall(r"/experts/show/(\d+)", page))) == 100
    for query in ("psize_ExpertsView=abc", "page_ExpertsView=abc", "page_ExpertsView=-5",
                  "_oc_ExpertsView=nonsense&_od_ExpertsView=asc",
                  "_oc_ExpertsView=id_number&_od_ExpertsView=desc", "_flt_9_name=x",
                  "_flt_0_nonsense=x"):
        assert as_clerk.get(f"/experts/list/?{query}").status_code == 200, query


def test_adding_from_a_records_related_list_prefills_the_parent(app, as_clerk):
    agency = add(app, make_agency(1))
    page = as_clerk.get(f"/agencies/show/{agency}").get_data(as_text=True)
    assert f"/qualifications/add?_flt_0_agency={agency}" in page
    url = f"/qualifications/add?_flt_0_agency={agency}"
    assert 'id="agency"' not in as_clerk.get(url).get_data(as_text=True)  # given, not asked
    resp = as_clerk.post(url, data=dict(category="安全评价", grade="乙", cert_no="APJ-0009",
                                        issuer="某局", issued_on="2015-01-01",
                                        expires_on="2018-01-01", scope="化工", status="有效"))
    assert resp.status_code == 302
    with app.app_context():
        cert = db.session.query(Qualification).one()
        assert (cert.agency_id, cert.grade) == (agency, "乙级")
    for query in ("_flt_9_agency=1", "_flt_5_id_number=1", "_flt_0_nonsense=1"):
        assert as_clerk.get(f"/experts/add?{query}").status_code == 200, query


# ---------------------------------------------------------------------------- threads
def test_filters_are_per_request_under_threads(app, monkeypatch):
    """FAB #2366: one Filters object per view, shared by concurrent requests. The interleaving
    that shows it is forced: request A fills its filters, request B fills its own, then A
    runs its query and renders. With one shared object, A's page shows B's expert."""
    from app.web import screens
    first, second = "线程专家甲", "线程专家乙"
    add(app, make_expert(1, name=first), make_expert(2, name=second))
    first_filled, second_filled = threading.Event(), threading.Event()
    apply_filter_args = screens.apply_filter_args

    def interleaved(filters, args, *rest, **kw):
        name = args.get("_flt_0_name")
        if name == second:
            assert first_filled.wait(30), "request A never filled its filters"
        apply_filter_args(filters, args, *rest, **kw)
        if name == first:
            first_filled.set()
            assert second_filled.wait(30), "request B never filled its filters"
        else:
            second_filled.set()

    clients = {name: login(app.test_client(), "clerk") for name in (first, second)}
    monkeypatch.setattr(screens, "apply_filter_args", interleaved)
    pages, errors = {}, []

    def worker(name):
        try:
            pages[name] = text_of(clients[name].get(f"/experts/list/?_flt_0_name={name}"))
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in (first, second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and set(pages) == {first, second}, errors
    for name, other in ((first, second), (second, first)):
        assert name in pages[name] and other not in pages[name], name


def test_each_request_gets_its_own_filters(app):
    from app.web.screens import view_for
    with app.test_request_context("/experts/list/?_flt_0_name=a"):
        view = view_for("experts")
        api = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "ExpertsApi")
        first, first_api = view._filters, api._filters
        assert view._filters is first and api._filters is first_api  # one per request
    with app.test_request_context("/experts/list/?_flt_0_name=b"):
        assert view._filters is not first and api._filters is not first_api


# ---------------------------------------------------------------------------- for the import screens
def test_view_for_and_filtered_query(app):
    from app.web.screens import SheetView, filtered_query, view_for
    add(app, make_expert(1, name="张三"), make_expert(2, name="张四"), make_expert(3, name="李五"),
        make_expert(4, name="张六", speciality="冶金"))
    with app.test_request_context("/"):
        view = view_for("experts")
        assert isinstance(view, SheetView) and view in app.appbuilder.baseviews
        assert view.sheet.slug == "experts"
        with pytest.raises(KeyError):
            view_for("nonsense")
        stmt = filtered_query("experts", MultiDict([("_flt_0_name", "张")]))
        found = [(e.speciality, e.name) for e in db.session.scalars(stmt)]
        # the declared order: 专业类别 as the dictionary lists them, 姓名 by pinyin
        assert found == [("危险化学品", "张三"), ("危险化学品", "张四"), ("冶金", "张六")]
        stmt = filtered_query("experts", MultiDict([("_flt_0_name", "张"),
                                                    ("_flt_3_speciality", "冶金")]))
        assert [e.name for e in db.session.scalars(stmt)] == ["张六"]
        stmt = filtered_query("experts", MultiDict([("_flt_0_nonsense", "x"), ("page", "2")]))
        assert len(db.session.scalars(stmt).all()) == 4


# ---------------------------------------------------------------------------- API
def test_api_applies_the_same_rules(app, client):
    headers = api_token(client, "clerk")
    bad = dict(EXPERT_FORM, id_number=EXPERT_FORM["id_number"][:-1] + "9",
               term_ends_on="2019-01-01")
    if bad["id_number"] == EXPERT_FORM["id_number"]:
        bad["id_number"] = EXPERT_FORM["id_number"][:-1] + "8"
    resp = client.post("/api/v1/experts/", json=bad, headers=headers)
    assert resp.status_code == 422
    message = resp.get_json()["message"]
    assert "校验位不正确" in message["id_number"][0]
    assert "应晚于「聘任日期」" in message["term_ends_on"][0]
    assert count(app, Expert) == 0

    wide = EXPERT_FORM["id_number"].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    resp = client.post("/api/v1/experts/", json=dict(EXPERT_FORM, id_number=wide),
                       headers=headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["result"]["appointed_on"] == "2020-01-01"
    pk = resp.get_json()["id"]
    assert fetch(app, Expert, pk).id_number == EXPERT_FORM["id_number"]

    resp = client.put(f"/api/v1/experts/{pk}", json={"term_ends_on": "2019-01-01"},
                      headers=headers)
    assert resp.status_code == 422 and "聘期届满" in str(resp.get_json()["message"])
    assert fetch(app, Expert, pk).term_ends_on == dt.date(2025, 12, 31)
    resp = client.put(f"/api/v1/experts/{pk}", json={"status": "暂停"}, headers=headers)
    assert resp.status_code == 200 and fetch(app, Expert, pk).status == "暂停"

    resp = client.post("/api/v1/experts/", json=EXPERT_FORM, headers=headers)
    assert resp.status_code == 422 and "已有「身份证号码」相同的记录" in str(resp.get_json())


def test_api_parents_rules_and_warnings(app, client):
    agency = add(app, make_agency(1))
    headers = api_token(client, "clerk")
    review = dict(year=2016, period=1, category="安全评价报告", blind_no="A-1", agency=agency,
                  report_no="R-1", report_type="安全现状评价", project_name="某项目",
                  issued_on="2016-05-01", score="85.0", grade="优秀")
    resp = client.post("/api/v1/reviews/", json=dict(review, agency=None), headers=headers)
    assert resp.status_code == 422
    assert "「统一社会信用代码」为必填项" in resp.get_json()["message"]["agency"][0]
    resp = client.post("/api/v1/reviews/", json=dict(review, year="二〇一六", score="八十五"),
                       headers=headers)
    assert resp.status_code == 422 and set(resp.get_json()["message"]) == {"year", "score"}
    resp = client.post("/api/v1/reviews/", json=dict(review, score="85分"), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    assert "应为“良好”" in resp.get_json()["warnings"][0]  # a warning does not block
    with app.app_context():
        assert db.session.query(Review).one().agency_id == agency


def test_api_lists_in_the_spreadsheet_form(app, client):
    agency = make_agency(1)
    add(app, agency, make_qualification(agency, 1))
    headers = api_token(client, "reader")
    data = client.get("/api/v1/qualifications/", headers=headers).get_json()
    assert data["count"] == 1
    row = data["result"][0]
    assert row["cert_no"] == "APJ-0001"
    assert row["agency"] == {"credit_code": credit_code(1), "name": "技术服务机构01"}
    # the browser session alone does not open the API (JWT or API key)
    login(client, "reader")
    assert client.get("/api/v1/qualifications/").status_code == 401


# ---------------------------------------------------------------------------- Chinese
def test_chinese_catalogue_fills_fab_gaps_and_wins(app):
    from flask_babel import gettext
    with app.test_request_context("/"):
        assert gettext("Add") == "新增"          # FAB's zh lacks it
        assert gettext("Delete") == "删除"
        assert gettext("Starts with") == "开头是"  # FAB's zh says 以开始: ours wins
        assert gettext("Search") == "搜索"        # FAB's own, still there
        dirs = app.extensions["babel"].translation_directories
        assert dirs[-1].endswith("app/translations")  # merged last: wins


def test_pages_are_chinese_and_english_stays_available(app, as_clerk):
    page = text_of(as_clerk.get("/experts/list/"))
    assert "新增" in page and "记录数" in page and "取消" in page and "确定" in page
    as_clerk.get("/lang/en")
    page = text_of(as_clerk.get("/experts/list/"))
    assert "Record Count" in page and "Cancel" in page
    as_clerk.get("/lang/zh")
