"""One record pipeline (app/sheets/records.py): forms, API and imports refuse the same things
with the same Chinese words, because they run the same checking steps; deletions, settings,
rule factories and column help."""
from __future__ import annotations

import datetime as dt

import pytest
from conftest import api_token, login, xlsx
from factories import (
    EXPERT_FORM,
    add,
    count,
    fetch,
    make_agency,
    make_expert,
    make_power,
    make_qualification,
    text_of,
)

from app import create_app, db
from app.audit import Actor
from app.lists.agencies import Agency, Qualification
from app.lists.experts import Expert
from app.lists.powers import Duty, Power
from app.sheets import records
from app.sheets.declare import column_help, sheets
from app.sheets.engine import build_plan
from app.sheets.records import Draft

UNIQUE_TAKEN = "「专家编号」“ZJ-001”已被另一条记录使用：请核对，或先修改那条记录"
EXPERT_HEADER = ["专家编号", "姓名", "身份证号码", "工作单位", "职称级别", "专业类别", "专家类型",
                 "聘任日期", "聘期届满", "状态"]


def expert_row(form: dict, expert_no: str = "") -> list:
    return [expert_no, form["name"], form["id_number"], form["employer"], form["title_level"],
            form["speciality"], form["expert_type"], form["appointed_on"], form["term_ends_on"],
            form["status"]]


def import_errors(app, rows) -> list[str]:
    with app.app_context():
        plan = build_plan(sheets["experts"], xlsx([EXPERT_HEADER, *rows]), "专家.xlsx",
                          session=db.session)
        db.session.rollback()
        return [i.message for i in plan.errors]


def form_errors(client, data) -> str:
    resp = client.post("/experts/add", data=data)
    assert resp.status_code == 200, "the form should come back, not be saved"
    return text_of(resp)


# ---------------------------------------------------------------------------- the same refusals
def test_unique_column_is_refused_with_one_message_by_form_api_and_import(app, client):
    add(app, make_expert(1, expert_no="ZJ-001"))
    other = dict(EXPERT_FORM, expert_no="ZJ-001")

    clerk = login(app.test_client(), "clerk")
    assert UNIQUE_TAKEN in form_errors(clerk, other)

    resp = client.post("/api/v1/experts/", json=other, headers=api_token(client, "clerk"))
    assert resp.status_code == 422, resp.get_json()  # not 「数据库出错」
    assert resp.get_json()["message"] == {"expert_no": [UNIQUE_TAKEN]}

    assert import_errors(app, [expert_row(other, "ZJ-001")]) == [UNIQUE_TAKEN]
    assert count(app, Expert) == 1


def test_unique_column_repeated_within_a_file_names_the_other_row(app):
    first, second = dict(EXPERT_FORM), dict(EXPERT_FORM, id_number=make_expert(2).id_number)
    messages = import_errors(app, [expert_row(first, "ZJ-001"), expert_row(second, "ZJ-001")])
    assert messages == ["「专家编号」“ZJ-001”与工作表「Sheet1」第 2 行重复：「专家编号」不能重复"]


def test_duplicate_key_is_refused_with_one_message_by_form_api_and_import(app, client):
    add(app, make_expert(1, id_number=EXPERT_FORM["id_number"]))
    masked = EXPERT_FORM["id_number"][:6] + "*" * 12
    expected = (f"已有「身份证号码」相同的记录（{masked}）：请核对，或到列表中编辑已有的那条记录")

    clerk = login(app.test_client(), "clerk")  # may not see whole ID numbers: masked
    assert expected in form_errors(clerk, EXPERT_FORM)

    resp = client.post("/api/v1/experts/", json=EXPERT_FORM, headers=api_token(client, "clerk"))
    assert resp.status_code == 422
    assert resp.get_json()["message"] == {"id_number": [expected]}

    # An import updates the record that has the key; the same key twice in one file is the
    # import's duplicate, said in the same words, with the other row.
    messages = import_errors(app, [expert_row(EXPERT_FORM), expert_row(EXPERT_FORM)])
    assert len(messages) == 1
    assert messages[0].startswith(f"已有「身份证号码」相同的记录（{EXPERT_FORM['id_number']}）")
    assert "第 2 行重复" in messages[0]
    assert count(app, Expert) == 1


def test_head_reads_the_whole_number_in_the_duplicate_message(app, client):
    add(app, make_expert(1, id_number=EXPERT_FORM["id_number"]))
    resp = client.post("/api/v1/experts/", json=EXPERT_FORM, headers=api_token(client, "head"))
    assert EXPERT_FORM["id_number"] in resp.get_json()["message"]["id_number"][0]


def test_editing_a_record_into_another_ones_key_is_refused(app, client):
    first = add(app, make_expert(1))
    second = add(app, make_expert(2))
    taken = fetch(app, Expert, first).id_number
    resp = client.put(f"/api/v1/experts/{second}", json={"id_number": taken},
                      headers=api_token(client, "head"))
    assert resp.status_code == 422 and "已有「身份证号码」相同的记录" in str(resp.get_json())
    assert fetch(app, Expert, second).id_number != taken
    # its own key is no duplicate
    resp = client.put(f"/api/v1/experts/{second}", json={"name": "改名"},
                      headers=api_token(client, "head"))
    assert resp.status_code == 200 and resp.get_json()["result"]["version"] == 2


def test_a_value_in_another_width_is_taken_for_forms_api_and_import_alike(app, client):
    # keys.py: 「ZJ－００１」 is 「ZJ-001」, for the single-record commands as for the importer
    add(app, make_expert(1, expert_no="ZJ-001"))
    wide = dict(EXPERT_FORM, expert_no="ＺＪ－００１")
    resp = client.post("/api/v1/experts/", json=wide, headers=api_token(client, "clerk"))
    assert resp.status_code == 422
    assert "已被另一条记录使用" in resp.get_json()["message"]["expert_no"][0]
    assert "已被另一条记录使用" in " ".join(import_errors(app, [expert_row(wide, "zj-001")]))
    assert count(app, Expert) == 1


def test_a_key_in_another_width_is_taken_but_a_record_keeps_its_own(app, client):
    agency = make_agency(1)
    ids = add(app, agency, make_qualification(agency, 1, cert_no="APJ-（沪）-001"))
    headers = api_token(client, "clerk")
    resp = client.post("/api/v1/qualifications/", headers=headers, json=dict(
        agency=ids[0], category="安全评价", grade="甲级", cert_no="apj-(沪)-001",
        issuer="某局", issued_on="2015-01-01", expires_on="2018-01-01", scope="化工",
        status="有效"))
    assert resp.status_code == 422
    assert "已有「证书编号」相同的记录" in resp.get_json()["message"]["cert_no"][0]
    resp = client.put(f"/api/v1/qualifications/{ids[1]}", json={"issuer": "另一局"},
                      headers=headers)
    assert resp.status_code == 200 and count(app, Qualification) == 1


def test_api_refuses_fields_the_list_does_not_have(app, client):
    resp = client.post("/api/v1/experts/", json=dict(EXPERT_FORM, nickname="x"),
                       headers=api_token(client, "clerk"))
    assert resp.status_code == 422
    assert "不是「安全生产专家库」的字段" in resp.get_json()["message"]["nickname"][0]
    resp = client.post("/api/v1/experts/", json=["not", "an", "object"],
                       headers=api_token(client, "clerk"))
    assert resp.status_code == 400
    assert count(app, Expert) == 0
    resp = client.post("/api/v1/experts/", json=dict(EXPERT_FORM, version=5),
                       headers=api_token(client, "clerk"))
    assert resp.status_code == 201 and resp.get_json()["result"]["version"] == 1


def test_api_names_a_parent_that_does_not_exist(app, client):
    resp = client.post("/api/v1/qualifications/", headers=api_token(client, "clerk"), json=dict(
        agency=999999, category="安全评价", grade="甲级", cert_no="APJ-1", issuer="某局",
        issued_on="2015-01-01", expires_on="2018-01-01", scope="化工", status="有效"))
    assert resp.status_code == 422
    assert "找不到编号为 999999 的「技术服务机构」记录" in resp.get_json()["message"]["agency"][0]


# ---------------------------------------------------------------------------- the commands
def test_commands_return_record_version_and_warnings(app):
    agency = add(app, make_agency(1))
    with app.app_context():
        values = dict(year=2016, period=1, category="安全评价报告", blind_no="A-1",
                      agency=db.session.get(Agency, agency), report_no="R-1",
                      report_type="安全现状评价", project_name="某项目",
                      issued_on=dt.date(2016, 5, 1), score=85, grade="优秀")
        review = sheets["reviews"]
        result = records.create(db.session, review, Draft(values), Actor(source="other"))
        assert result.ok and result.written and result.version == 1
        assert ["应为“良好”" in p.message for p in result.warnings] == [True]
        pk = result.record.id
        same = records.update(db.session, review, pk, Draft({"grade": "优秀"}), Actor())
        assert same.ok and not same.written and same.version == 1  # nothing changed
        stale = records.update(db.session, review, pk, Draft({"score": 91}), Actor(), version=7)
        assert stale.stale and not stale.ok and stale.version == 1
        done = records.update(db.session, review, pk, Draft({"score": 91, "grade": None}),
                              Actor(), version=1)
        assert done.ok and done.version == 2 and done.record.grade == "优秀"  # derived


def test_a_record_other_records_name_is_not_deleted(app, client):
    agency = make_agency(1)
    pk = add(app, agency, make_qualification(agency, 1))[0]
    clerk = login(app.test_client(), "clerk")
    clerk.get("/agencies/list/")  # where the refusal is shown
    page = text_of(clerk.post(f"/agencies/delete/{pk}", follow_redirects=True))
    assert "还有1 条「机构资质证书」记录，不能删除" in page
    resp = client.delete(f"/api/v1/agencies/{pk}", headers=api_token(client, "clerk"))
    assert resp.status_code == 422 and "机构资质证书" in str(resp.get_json()["message"])
    assert fetch(app, Agency, pk) is not None and count(app, Qualification) == 1


def test_deleting_a_power_does_not_silently_take_its_duties(app):
    power = make_power()
    from factories import make_duty
    pk = add(app, power, make_duty(power, "受理"))[0]
    clerk = login(app.test_client(), "clerk")
    clerk.get("/powers/list/")
    assert "「行政责任清单」" in text_of(clerk.post(f"/powers/delete/{pk}", follow_redirects=True))
    assert fetch(app, Power, pk) is not None and count(app, Duty) == 1


def test_delete_through_the_api_and_a_missing_record(app, client):
    pk = add(app, make_agency(1))
    headers = api_token(client, "clerk")
    assert client.delete(f"/api/v1/agencies/{pk}", headers=headers).status_code == 200
    assert fetch(app, Agency, pk) is None
    assert client.delete(f"/api/v1/agencies/{pk}", headers=headers).status_code == 404


# ---------------------------------------------------------------------------- small things
def test_rule_factories_give_their_columns_help():
    assert "应晚于聘任日期" in column_help(sheets["experts"].column("term_ends_on"))
    assert "「状态」为“已返还”时必填" in column_help(sheets["deposits"].column("returned_on"))
    assert "「状态」不为“免存”时必填" in column_help(sheets["deposits"].column("bank"))
    assert "「是否收费」为“是”时必填" in column_help(sheets["powers"].column("charge_basis"))
    assert "不得早于生效日期" in column_help(sheets["powers"].column("cancelled_on"))
    deposit = {"status": "已返还", "year": 2016}
    messages = [p.message for p in sheets["deposits"].check(deposit)]
    assert "「状态」为“已返还”时必须填写「返还日期」" in messages


def test_column_help_says_each_thing_once():
    id_help = column_help(sheets["experts"].column("id_number"))
    assert sum("请将本列设为文本格式" in part for part in id_help) == 1
    info = column_help(sheets["qualifications"].column("agency.name"))
    assert info.count("仅供核对，不导入") == 1 and sum("仅供核对" in p for p in info) == 1


def test_the_form_describes_a_column_as_the_template_does(app, as_clerk):
    page = as_clerk.get("/deposits/add").get_data(as_text=True)
    assert "「状态」为“已返还”时必填" in page


def test_settings_are_bound_and_checked_when_the_app_is_created(app):
    base = {"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "QINGDAN_SEED_ON_FIRST_START": False}
    with pytest.raises(RuntimeError, match="未知的设置项：REVIEW_GRADE_THRESHOLD"):
        create_app({**base, "QINGDAN_SETTINGS": {"REVIEW_GRADE_THRESHOLD": []}})
    with pytest.raises(RuntimeError, match="值类型不对：POLICY_PER_PERSON_MINIMUM"):
        create_app({**base, "QINGDAN_SETTINGS": {"POLICY_PER_PERSON_MINIMUM": "30万"}})
    other = create_app({**base, "QINGDAN_SETTINGS": {"REVIEW_GRADE_FAIL": "差"}})
    from app.lists.agencies import grade_for
    with other.app_context():
        assert grade_for(10) == "差"
    with app.app_context():
        assert grade_for(10) == "不合格"


def test_writes_through_fabs_model_interface_are_record_commands_too(app):
    from app.models import Change
    from app.web.datamodel import SaveRefused
    from app.web.screens import view_for
    add(app, make_expert(1, expert_no="ZJ-001"))
    with app.test_request_context("/experts/add"):
        datamodel = view_for("experts").datamodel
        assert datamodel.add(make_expert(2, expert_no="ZJ-002"))
        with pytest.raises(SaveRefused, match="已被另一条记录使用"):
            datamodel.add(make_expert(3, expert_no="ZJ-001"))
        expert = db.session.query(Expert).filter_by(expert_no="ZJ-002").one()
        expert.employer = "新单位"
        assert datamodel.edit(expert)
        sources = [(c.action, c.source) for c in db.session.query(Change).filter(
            Change.slug == "experts", Change.record_id == expert.id).order_by(Change.id)]
    assert sources == [("create", "screen"), ("update", "screen")]
    assert count(app, Expert) == 2
