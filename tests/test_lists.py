"""The list declarations (app/lists): registry, spec conformity, rules, derived values.

Pure Python: records are dicts given to `Sheet.check`, models are built in memory. What is
checked of every list is derived from the registry, never from a count or a list of names:
the spec's lists must all be declared as the spec says; a list the spec does not know (a new
one, added as the README says) is held to the same rules of declaration.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import flask_appbuilder.security.sqla.models  # noqa: F401  (User, for the mappers)
import pytest
import sqlalchemy as sa
from conftest import SPEC
from sqlalchemy.orm import DeclarativeBase

import app.lists  # noqa: F401  (registers the sheets)
from app.lists import agencies as ag
from app.lists import deposits as dp
from app.lists import experts as ex
from app.lists import powers as pw
from app.sheets.declare import Col, Registry, Sheet, _dependency_order, key_columns, sheets
from app.sheets.types import Text

D = dt.date
ID_NUMBER = "11010519491231002X"  # 女, 1949-12-31


def problems(slug: str, record: dict, **changes) -> list[tuple[str | None, bool]]:
    """(field, is_warning) of every problem the sheet finds in record updated with changes."""
    return [(p.field, p.warning) for p in sheets[slug].check({**record, **changes})]


def messages(slug: str, record: dict, **changes) -> list[str]:
    return [p.message for p in sheets[slug].check({**record, **changes})]


# -- the spec ------------------------------------------------------------------------------
def _spec_sections() -> dict[str, str]:
    """slug -> its section of the spec (### 2.n …)."""
    out = {}
    for section in re.split(r"^### ", SPEC.read_text(encoding="utf-8"), flags=re.M)[1:]:
        slug = re.search(r"^Slug: `(\w+)`", section, re.M)
        if slug:
            out[slug.group(1)] = section
    return out


def _spec_table(section: str) -> list[list[str]]:
    """The rows (cells) of a section's column table."""
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


def _spec_key(section: str) -> list[str]:
    """The headers of the key the section names ("Key: 年度 + 期次 + …")."""
    key = re.search(r"Key: ([^.]+)\.", section)
    return [h.strip() for h in key.group(1).split("+")]


SPEC_SECTIONS = _spec_sections()
SPEC_TYPE_WORDS = {"文本": {"文本", "电子邮箱"}, "长文本": {"长文本"}, "枚举": {"枚举"},
                   "多选": {"多选"}, "日期": {"日期"}, "整数": {"整数"}, "金额": {"金额"},
                   "是否": {"是否"}, "信用代码": {"信用代码"}, "身份证": {"身份证"},
                   "电话": {"电话"}, "金额-like decimal": {"数值"}}


def test_the_spec_names_lists_to_check_against():
    # A spec that could not be read would make every check below vacuous.
    assert SPEC_SECTIONS and all(_spec_table(s) for s in SPEC_SECTIONS.values())


def test_every_list_of_the_spec_is_declared():
    declared = {s.slug for s in sheets}
    assert sorted(set(SPEC_SECTIONS) - declared) == []


@pytest.mark.parametrize("slug", sorted(SPEC_SECTIONS))
def test_declaration_follows_the_spec(slug):
    """Headers in the spec's order, with its aliases, required flags, types and key."""
    sheet, rows = sheets[slug], _spec_table(SPEC_SECTIONS[slug])
    assert [c.header for c in sheet.columns] == [r[0].lstrip("*") for r in rows]
    for col, (header, aliases, word, *_) in zip(sheet.columns, rows):
        where = f"{slug}/{col.header}"
        assert col.required == header.startswith("*"), where
        assert set(col.aliases) == ({a for a in aliases.split(", ") if a}), where
        assert col.type.word in SPEC_TYPE_WORDS[word], where
    key_headers = [h for k in sheet.key
                   for h in ([c.header for c in sheet.relations[k]] if k in sheet.relations
                             else [sheet.column(k).header])]
    assert key_headers == _spec_key(SPEC_SECTIONS[slug])


# -- the registry ----------------------------------------------------------------------------
def test_one_list_per_model_and_slug():
    declared = list(sheets)
    assert len(declared) == len(sheets) > 0
    assert len({s.model for s in declared}) == len({s.slug for s in declared}) == len(declared)
    assert all(sheets[s.slug] is s and sheets.for_model(s.model) is s for s in declared)


def test_registry_puts_parents_before_children():
    order = [s.slug for s in sheets]
    for sheet in sheets:
        for parent in sheets.parents(sheet):
            assert order.index(parent.slug) < order.index(sheet.slug), (parent.slug, sheet.slug)
    # the relations declared, not the order of the modules or of the declarations
    assert [s.slug for s in sheets.parents(sheets["deposits"])] == ["enterprises", "policies"]


def test_registry_order_does_not_depend_on_the_order_of_declaration():
    again = Registry()
    again.add(*reversed(list(sheets)))
    again.seal()
    assert [s.slug for s in again] == [s.slug for s in sheets]


def test_among_lists_free_to_come_next_the_menu_order_decides():
    enterprises, deposits, policies, other = (
        SimpleNamespace(slug=n, menu_order=m)
        for n, m in (("enterprises", 90), ("deposits", 100), ("policies", 110), ("other", None)))
    parents = {"enterprises": [], "deposits": [enterprises, policies], "policies": [enterprises],
               "other": []}
    order = _dependency_order([other, deposits, policies, enterprises], lambda s: parents[s.slug])
    assert [s.slug for s in order] == ["enterprises", "policies", "deposits", "other"]
    # without relations: the menu order, then the unnumbered lists in order of declaration
    order = _dependency_order([other, deposits, policies, enterprises], lambda s: [])
    assert [s.slug for s in order] == ["enterprises", "deposits", "policies", "other"]


def test_a_cycle_of_parents_is_refused():
    a, b = SimpleNamespace(slug="a", menu_order=None), SimpleNamespace(slug="b", menu_order=None)
    with pytest.raises(ValueError, match="cycle"):
        _dependency_order([a, b], lambda s: [b] if s is a else [a])


def test_menu_follows_menu_order_and_keeps_groups_together():
    menu = sheets.menu()
    assert sorted(menu, key=lambda s: (s.menu_order is None, s.menu_order or 0)) == menu
    groups = [s.group for s in menu]
    assert groups == sorted(groups, key=groups.index), "a group's lists are split in the menu"
    assert [s.slug for s in menu if s.group == "抵押金与保险"][:3] == \
        ["enterprises", "deposits", "policies"]


# -- declarations and models -------------------------------------------------------------------
def _unique_sets(table) -> dict[str | None, set[str]]:
    found = {c.name: {x.name for x in c.columns} for c in table.constraints
             if isinstance(c, sa.UniqueConstraint)}
    found.update({ix.name: {x.name for x in ix.columns} for ix in table.indexes if ix.unique})
    return found


@pytest.mark.parametrize("slug", [s.slug for s in sheets])
def test_declaration_matches_its_model(slug):
    sheet = sheets[slug]
    model, table = sheet.model, sheet.model.__table__
    assert table.name.startswith("qd_")
    for col in sheet.columns:
        if col.relation is None:
            assert col.attr in table.c, col.field
        else:
            rel = sa.inspect(model).relationships[col.relation]
            assert col.attr in rel.mapper.class_.__table__.c, col.field
    shown = {c.relation or c.field for c in sheet.columns} | set(sheet.computed)
    assert set(sheet.list_fields) <= shown, "list_fields names something the screen lacks"
    for name in sheet.order_by + sheet.search + tuple(sheet.computed):
        assert hasattr(model, name), name


@pytest.mark.parametrize("slug", [s.slug for s in sheets])
def test_key_and_unique_columns_are_named_unique_constraints(slug):
    sheet = sheets[slug]
    table = sheet.model.__table__
    unique = _unique_sets(table)
    assert None not in unique, ("an unnamed unique constraint (Column(unique=True)?): declare "
                                "it on the Sheet (key, Col(unique=True)) or name it")
    assert unique.get(f"uq_{table.name}_key") == set(key_columns(sheet))
    for col in sheet.stored:
        if col.unique:
            assert unique.get(f"uq_{table.name}_{col.attr}") == {col.attr}, col.field


def test_the_declaration_gives_a_model_its_key_constraint():
    class Base(DeclarativeBase):  # a metadata of its own: the app's schema is not touched
        pass

    class Thing(Base):
        __tablename__ = "qd_thing"
        id = sa.Column(sa.Integer, primary_key=True)
        code = sa.Column(sa.String(20), nullable=False)
        serial = sa.Column(sa.String(20))

    registry = Registry()
    registry.add(Sheet(slug="things", title="物品", model=Thing, key=("code",), columns=[
        Col("编号", "code", Text(20), required=True), Col("序列号", "serial", Text(20), unique=True)]))
    registry.seal()
    assert _unique_sets(Thing.__table__) == {"uq_qd_thing_key": {"code"},
                                             "uq_qd_thing_serial": {"serial"}}
    registry.seal()  # sealing again adds nothing
    assert len(_unique_sets(Thing.__table__)) == 2


def test_unique_when_present_expert_number():
    table = ex.Expert.__table__
    assert _unique_sets(table)["uq_qd_expert_expert_no"] == {"expert_no"}
    assert table.c.expert_no.nullable


def test_rules_never_raise_on_empty_records():
    for sheet in sheets:
        empty = {c.field: None for c in sheet.columns}
        empty.update({rel: None for rel in sheet.relations})
        found = list(sheet.check(empty))
        required = [c.field for c in sheet.columns if c.required and not c.info]
        assert sorted(p.field for p in found) == sorted(required), sheet.slug


# -- value types declared here -----------------------------------------------------------
def test_enumeration_synonyms():
    category = sheets["powers"].column("category").type
    assert category.parse("01") == "行政许可"
    assert category.parse("1") == "行政许可"
    assert category.parse("10") == "其他行政权力"
    assert category.parse("许可") == "行政许可"
    assert category.parse("处罚") == "行政处罚"
    assert category.parse("行政监督") == "行政检查"
    assert sheets["qualifications"].column("grade").type.parse("丙") == "丙级"
    assert sheets["agencies"].column("district").type.parse("闸北区") == "静安区"
    assert sheets["enterprises"].column("district").type.parse("崇明县") == "崇明区"
    assert sheets["experts"].column("speciality").type.parse("消防") == "消防"
    assert sheets["powers"].column("charged").type.parse("不收费") is False


def test_title_abbreviations_are_written_out():
    title = sheets["experts"].column("title").type
    assert title.parse("高工") == "高级工程师"
    assert title.parse("教高") == "教授级高级工程师"
    assert title.parse("工程师") == "工程师"
    assert title.parse("") is None


# -- powers ------------------------------------------------------------------------------------
POWER = dict(list_version="2015版", code="XK-0101-00", category="行政许可",
             name="危险化学品经营许可证核发", sub_item="经营许可", implementing_body="市安全监管局",
             levels="市级", legal_basis="《危险化学品安全管理条例》", procedure="受理、审查、决定",
             content="核发许可证", objects="企业法人", charged=False, status="在用",
             effective_on=D(2015, 3, 1), cancelled_on=None)


def test_power_valid():
    assert problems("powers", POWER) == []


def test_sub_item_only_for_licensing():
    assert problems("powers", POWER, category="行政处罚") == [("sub_item", False)]
    assert problems("powers", POWER, category="行政处罚", sub_item=None) == []


def test_charge_details_required_when_charged():
    assert problems("powers", POWER, charged=True) == [("charge_basis", False),
                                                       ("charge_standard", False)]
    assert problems("powers", POWER, charged=True, charge_basis="沪价费〔2015〕1号",
                    charge_standard="每件100元") == []


def test_cancelled_not_before_effective():
    assert problems("powers", POWER, cancelled_on=D(2015, 2, 28)) == [("cancelled_on", False)]
    assert problems("powers", POWER, cancelled_on=D(2015, 3, 1)) == []


def test_power_str_and_duty_order():
    power = pw.Power(**POWER)
    assert str(power) == "2015版 XK-0101-00 危险化学品经营许可证核发（经营许可）"
    assert str(pw.Power(**{**POWER, "sub_item": None})) == \
        "2015版 XK-0101-00 危险化学品经营许可证核发"
    assert repr(power) == "Power(id=None, list_version='2015版', code='XK-0101-00')"
    stages = [pw.Duty(stage=s) for s in ("决定", "受理", "其他", "审查")]
    assert [d.stage for d in sorted(stages, key=lambda d: d.stage_order)] == \
        ["受理", "审查", "决定", "其他"]


def test_responsibility_key_column():
    sheet = sheets["responsibilities"]
    assert sheet.key == ("power", "stage", "seq")
    assert sheet.column("seq").out_header == "环节序号"
    duty = dict(stage="受理", seq=1, matter="m", accountability_cases="c",
                accountability_basis="b", **{"power.list_version": "2015版",
                                             "power.code": "XK-0101-00"})
    assert problems("responsibilities", duty) == []
    # a form gives the power itself instead of its key columns
    assert problems("responsibilities", {**duty, "power.list_version": None,
                                         "power.code": None, "power": pw.Power(**POWER)}) == []


# -- experts -----------------------------------------------------------------------------------
EXPERT = dict(name="王芳", id_number=ID_NUMBER, gender="女", birth_date=D(1949, 12, 31),
              employer="上海化工研究院", title_level="正高级", speciality="危险化学品",
              expert_type="资深专家", appointed_on=D(2015, 1, 1), term_ends_on=D(2017, 12, 31),
              status="在聘")


def test_expert_valid():
    assert problems("experts", EXPERT) == []
    assert problems("experts", EXPERT, gender=None, birth_date=None) == []


def test_gender_must_agree_with_id_number():
    assert problems("experts", EXPERT, gender="男") == [("gender", False)]
    assert "身份证号码" in messages("experts", EXPERT, gender="男")[0]


def test_birth_date_must_agree_with_id_number():
    assert problems("experts", EXPERT, birth_date=D(1949, 12, 30)) == [("birth_date", False)]


def test_id_checks_skip_a_malformed_number():
    assert problems("experts", EXPERT, id_number="123", gender="男") == []


def test_term_ends_after_appointment():
    assert problems("experts", EXPERT, term_ends_on=D(2015, 1, 1)) == [("term_ends_on", False)]
    assert problems("experts", EXPERT, term_ends_on=D(2014, 1, 1)) == [("term_ends_on", False)]


# -- agencies ----------------------------------------------------------------------------------
QUALIFICATION = {"agency.credit_code": "91350100M000100Y43", "category": "安全评价",
                 "grade": "甲级", "cert_no": "APJ-(沪)-001", "issuer": "国家安全监管总局",
                 "issued_on": D(2015, 1, 1), "expires_on": D(2020, 1, 1), "scope": "化工",
                 "status": "有效"}


def test_qualification_valid():
    assert problems("qualifications", QUALIFICATION) == []


def test_expiry_after_issue():
    assert problems("qualifications", QUALIFICATION, expires_on=D(2015, 1, 1)) == \
        [("expires_on", False)]


def test_grade_c_only_for_occupational_health():
    assert problems("qualifications", QUALIFICATION, grade="丙级") == [("grade", False)]
    assert problems("qualifications", QUALIFICATION, grade="丙级",
                    category="职业卫生技术服务") == []


REVIEW = {"year": 2016, "period": 1, "category": "安全评价报告", "blind_no": "A-001",
          "agency.credit_code": "91350100M000100Y43", "report_no": "R1",
          "report_type": "安全现状评价", "project_name": "某储罐区", "issued_on": D(2016, 3, 1),
          "score": Decimal("85.5"), "grade": None}


@pytest.mark.parametrize("score, grade", [
    ("100", "优秀"), ("90", "优秀"), ("89.9", "良好"), ("80", "良好"), ("79.9", "合格"),
    ("60", "合格"), ("59.9", "不合格"), ("0", "不合格")])
def test_grade_for(score, grade):
    assert ag.grade_for(Decimal(score)) == grade


def test_grade_for_without_score():
    assert ag.grade_for(None) is None
    assert ag.grade_for(90) == "优秀"


def test_review_grade_agrees_with_score():
    assert problems("reviews", REVIEW) == []
    assert problems("reviews", REVIEW, grade="良好") == []
    assert problems("reviews", REVIEW, grade="优秀") == [("grade", True)]
    assert problems("reviews", REVIEW, score=None, grade="优秀") == [("score", False)]


def test_review_grade_is_filled_when_empty():
    assert ag.Review.fill_derived({"score": Decimal("89.9"), "grade": None})["grade"] == "良好"
    assert ag.Review.fill_derived({"score": Decimal("95"), "grade": "良好"})["grade"] == "良好"
    review = ag.Review(score=Decimal("90"), grade=None)
    ag._derive_grade(None, None, review)  # the before_insert/before_update listener
    assert review.grade == "优秀"


def test_interview_deadline_after_interview():
    interview = {"agency.credit_code": "91350100M000100Y43", "interviewed_on": D(2016, 5, 1),
                 "reason": "报告失实", "interviewer": "李明", "interviewee": "赵强",
                 "interviewee_role": "法定代表人", "requirements": "整改", "deadline": D(2016, 6, 1)}
    assert problems("interviews", interview) == []
    assert problems("interviews", interview, deadline=D(2016, 5, 1)) == [("deadline", False)]


def _certificate(category, issued, expires, status="有效"):
    return ag.Qualification(category=category, grade="乙级", issued_on=issued,
                            expires_on=expires, status=status)


def test_dual_qualification_in_python():
    agency = ag.Agency(name="上海某评价公司", credit_code="91350100M000100Y43")
    agency.qualifications = [
        _certificate("安全评价", D(2015, 1, 1), D(2019, 12, 31)),
        _certificate("职业卫生技术服务", D(2016, 1, 1), D(2018, 6, 30)),
    ]
    assert agency.is_dual_qualified(D(2017, 6, 1))
    assert agency.is_dual_qualified(D(2016, 1, 1))     # first day of the second
    assert agency.is_dual_qualified(D(2018, 6, 30))    # last day of the second
    assert not agency.is_dual_qualified(D(2015, 12, 31))
    assert not agency.is_dual_qualified(D(2018, 7, 1))
    agency.qualifications[1].status = "暂停"
    assert not agency.is_dual_qualified(D(2017, 6, 1))


def test_dual_qualified_today_and_in_sql():
    today = dt.date.today()
    agency = ag.Agency(name="x", credit_code="91350100M000100Y43")
    agency.qualifications = [
        _certificate("安全评价", today - dt.timedelta(days=1), today + dt.timedelta(days=1)),
        _certificate("职业卫生技术服务", today, today)]
    assert agency.dual_qualified is True
    sql = str(sa.select(ag.Agency.id).where(ag.Agency.dual_qualified)
              .compile(compile_kwargs={"literal_binds": True}))
    assert sql.count("EXISTS") == 2 and "qd_qualification" in sql


def test_certificate_expiry_and_validity():
    today = dt.date.today()
    old = _certificate("安全评价", D(2010, 1, 1), today - dt.timedelta(days=1))
    current = _certificate("安全评价", D(2010, 1, 1), today)
    assert old.expired and old.validity == "已过期"
    assert not current.expired and current.validity == "有效"
    assert _certificate("安全评价", D(2010, 1, 1), today, status="撤销").validity == "撤销"
    assert "qd_qualification.expires_on <" in str(
        sa.select(ag.Qualification.id).where(ag.Qualification.expired))


def test_review_batch_key():
    assert ag.ReviewBatch.__table__.c.status.default.arg == "草稿"
    assert ag.Review(year=2016, period=2, category="安全评价报告").batch_key == \
        (2016, 2, "安全评价报告")


# -- enterprises, deposits, policies -------------------------------------------------------
ENTERPRISE = dp.Enterprise(id=7, name="上海某化工有限公司", credit_code="91350100M000100Y43",
                           size="中型")
POLICY_ROW = {"policy_no": "PZAA2016310000000001", "insurer": "中国人民财产保险股份有限公司上海市分公司",
              "enterprise.credit_code": "91350100M000100Y43", "kind": "安全生产责任保险",
              "starts_on": D(2016, 7, 1), "ends_on": D(2017, 6, 30), "insured_count": 120,
              "per_person_limit": Decimal("300000"), "per_accident_limit": Decimal("3000000"),
              "total_limit": Decimal("6000000"), "premium": Decimal("12000"),
              "payment_status": "已缴", "status": "有效"}
DEPOSIT = {"enterprise.credit_code": "91350100M000100Y43", "enterprise": ENTERPRISE,
           "year": 2016, "approved_amount": Decimal("1000000"),
           "deposited_amount": Decimal("1000000"), "bank": "上海银行",
           "account_no": "31650300001234567", "status": "已足额"}


def _policy(**changes):
    fields = {k: v for k, v in POLICY_ROW.items() if "." not in k}
    return dp.Policy(enterprise_id=7, **{**fields, **changes})


def test_deposit_valid():
    assert problems("deposits", DEPOSIT) == []


def test_deposit_minimum_by_size_is_a_warning():
    assert problems("deposits", DEPOSIT, approved_amount=Decimal("999999.99")) == \
        [("approved_amount", True)]
    small = dp.Enterprise(id=7, size="小型")
    assert problems("deposits", DEPOSIT, enterprise=small, approved_amount=Decimal(300000)) == []
    micro = dp.Enterprise(id=7, size="微型")  # no minimum configured
    assert problems("deposits", DEPOSIT, enterprise=micro, approved_amount=Decimal(1)) == []
    # enterprise not found: the lookup reports it, the rule stays quiet
    assert problems("deposits", DEPOSIT, enterprise=None, approved_amount=Decimal(1)) == []


def test_bank_and_account_required_unless_exempt():
    assert problems("deposits", DEPOSIT, bank=None, account_no=None) == \
        [("bank", False), ("account_no", False)]
    exempt = {**DEPOSIT, "bank": None, "account_no": None, "status": "免存",
              "exempt_policy.policy_no": POLICY_ROW["policy_no"], "exempt_policy": _policy()}
    assert problems("deposits", exempt) == []


@pytest.mark.parametrize("account, ok", [
    ("31650300001234567", True), ("1234567890", True), ("1" * 25, True),
    ("123456789", False), ("1" * 26, False), ("3165 0300 0012 3456", False),
    ("3.16503E+16", False), ("３１６５０３０００１２３４５６７", False)])
def test_account_number_digits(account, ok):
    assert problems("deposits", DEPOSIT, account_no=account) == \
        ([] if ok else [("account_no", False)])


def test_exempt_needs_a_valid_policy_of_the_enterprise_for_the_year():
    exempt = {**DEPOSIT, "status": "免存", "exempt_policy.policy_no": POLICY_ROW["policy_no"],
              "exempt_policy": _policy()}
    assert problems("deposits", exempt) == []
    field = "exempt_policy.policy_no"
    assert problems("deposits", exempt, **{field: None, "exempt_policy": None}) == \
        [(field, False)]
    # a number that names no policy: the lookup reports it, the rule stays quiet
    assert problems("deposits", exempt, exempt_policy=None) == []
    assert problems("deposits", exempt, exempt_policy=_policy(status="已退保")) == [(field, False)]
    assert problems("deposits", exempt, year=2018) == [(field, False)]
    assert problems("deposits", exempt, year=2017) == []   # in force until 2017-06-30
    other = _policy()
    other.enterprise_id = 8
    assert problems("deposits", exempt, exempt_policy=other) == [(field, False)]


def test_returned_needs_date_and_amount():
    returned = {**DEPOSIT, "status": "已返还"}
    assert problems("deposits", returned) == [("returned_on", False), ("returned_amount", False)]
    assert problems("deposits", returned, returned_on=D(2018, 1, 5),
                    returned_amount=Decimal("1000000")) == []


def test_returned_not_above_deposited():
    assert problems("deposits", DEPOSIT, returned_amount=Decimal("1000000.01")) == \
        [("returned_amount", False)]


def test_policy_valid():
    assert problems("policies", POLICY_ROW) == []


def test_policy_ends_after_start():
    assert problems("policies", POLICY_ROW, ends_on=D(2016, 7, 1)) == [("ends_on", False)]


def test_limits_increase():
    assert problems("policies", POLICY_ROW, per_accident_limit=Decimal("299999")) == \
        [("per_accident_limit", False)]
    assert problems("policies", POLICY_ROW, total_limit=Decimal("2999999")) == \
        [("total_limit", False)]
    assert problems("policies", POLICY_ROW, per_accident_limit=Decimal("300000"),
                    total_limit=Decimal("300000")) == []


def test_per_person_minimum_is_a_warning():
    assert problems("policies", POLICY_ROW, per_person_limit=Decimal("200000")) == \
        [("per_person_limit", True)]


def test_policy_validity():
    today = dt.date.today()
    assert _policy(ends_on=today - dt.timedelta(days=1)).validity == "已过期"
    assert _policy(ends_on=today).validity == "有效"
    assert _policy(status="已批改").validity == "已批改"
    assert _policy().covers_year(2016) and _policy().covers_year(2017)
    assert not _policy().covers_year(2015)
