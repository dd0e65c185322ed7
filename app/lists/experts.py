"""专家库: 安全生产专家库 (experts), with the expert committee's posts."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa

from app.models import Record
from app.settings import setting
from app.sheets.declare import Col, Preset, Problem, Sheet, error, sheets
from app.sheets.rules import dates_in_order
from app.sheets.types import Boolean, Date, Email, Enum, IdNumber, Integer, Multi, Phone, Text
from app.sheets.values import id_birth_date, id_gender

GROUP = "专家库"

# -- dictionaries ------------------------------------------------------------------------------
GENDERS = ("男", "女")
EDUCATION_LEVELS = ("博士研究生", "硕士研究生", "大学本科", "大学专科", "中专及以下")
EMPLOYER_TYPES = ("党政机关", "事业单位", "高等院校", "科研院所", "企业", "技术服务机构", "行业协会",
                  "离退休")
TITLE_LEVELS = ("正高级", "副高级", "中级", "初级", "无")
EXPERT_TYPES = ("普通专家", "资深专家")
COMMITTEE_ROLES = ("主任委员", "副主任委员", "委员", "无")
EXPERT_STATUSES = ("在聘", "暂停", "终止", "届满未续聘")
IN_OFFICE = EXPERT_STATUSES[0]
# 专业类别 is the configurable dictionary setting("EXPERT_SPECIALITIES").


class TitleText(Text):
    """A professional title; the usual abbreviations (高工, 教高) are written out in full."""

    def parse(self, raw, *, unit=None):
        text = super().parse(raw, unit=unit)
        return setting("TITLE_ABBREVIATIONS").get(text, text) if text else text


# -- model -------------------------------------------------------------------------------------
class Expert(Record):
    __tablename__ = "qd_expert"

    expert_no = sa.Column(sa.String(64))  # unique when present
    name = sa.Column(sa.String(50), nullable=False, index=True)
    id_number = sa.Column(sa.String(18), nullable=False)
    gender = sa.Column(sa.String(2))
    birth_date = sa.Column(sa.Date)
    education = sa.Column(sa.String(20))
    employer = sa.Column(sa.String(255), nullable=False, index=True)
    employer_type = sa.Column(sa.String(20))
    position = sa.Column(sa.String(100))
    title_level = sa.Column(sa.String(10), nullable=False)
    title = sa.Column(sa.String(100))
    registered_engineer = sa.Column(sa.Boolean)  # 注册安全工程师; NULL = unknown
    years_in_field = sa.Column(sa.Integer)
    speciality = sa.Column(sa.String(20), nullable=False, index=True)
    other_specialities = sa.Column(sa.String(255))
    expert_type = sa.Column(sa.String(10), nullable=False)
    committee_role = sa.Column(sa.String(10))
    appointed_on = sa.Column(sa.Date, nullable=False)
    term_ends_on = sa.Column(sa.Date, nullable=False, index=True)
    status = sa.Column(sa.String(10), nullable=False, index=True)
    mobile = sa.Column(sa.String(40))
    email = sa.Column(sa.String(255))

    def __str__(self):
        return f"{self.name}（{self.employer}）" if self.employer else str(self.name)

    def __repr__(self):
        return f"Expert(id={self.id!r}, expert_no={self.expert_no!r}, name={self.name!r})"


# -- rules -------------------------------------------------------------------------------------
def _from_id(func, id_number):
    """What the ID number says (gender, birth date), or None when it cannot say."""
    if not isinstance(id_number, str) or len(id_number) != 18:
        return None
    try:
        return func(id_number)
    except ValueError:
        return None


# Who may not see the whole ID number is told that a value disagrees with it, never what the
# number says (`masked`): 出生日期 is eight of its hidden digits, 性别 the parity of a ninth.
def gender_matches_id(r: dict) -> Iterator[Problem]:
    given, derived = r.get("gender"), _from_id(id_gender, r.get("id_number"))
    if given and derived and given != derived:
        yield error("gender", f"「性别」填写为“{given}”，但「身份证号码」对应的性别是“{derived}”："
                              "请核对身份证号码或性别",
                    masked="「性别」与「身份证号码」不一致：请核对身份证号码或性别")


def birth_date_matches_id(r: dict) -> Iterator[Problem]:
    given, derived = r.get("birth_date"), _from_id(id_birth_date, r.get("id_number"))
    if given and derived and given != derived:
        yield error("birth_date", f"「出生日期」填写为 {given.isoformat()}，但「身份证号码」对应的"
                                  f"出生日期是 {derived.isoformat()}：请核对身份证号码或出生日期",
                    masked="「出生日期」与「身份证号码」中的出生日期不一致：请核对身份证号码或出生日期")


# -- named filters (the dashboard links to them) ------------------------------------------------
def _term_window() -> int:
    return int(setting("EXPERT_TERM_WARNING_DAYS"))


def term_ending():
    """在聘 experts whose 聘期届满 falls within the warning window from today."""
    today = dt.date.today()
    return sa.and_(Expert.status == IN_OFFICE, Expert.term_ends_on >= today,
                   Expert.term_ends_on <= today + dt.timedelta(days=_term_window()))


def term_ended_in_office():
    """Still 在聘 although 聘期届满 has passed."""
    return sa.and_(Expert.status == IN_OFFICE, Expert.term_ends_on < dt.date.today())


# -- sheet -------------------------------------------------------------------------------------
def _specialities():
    return setting("EXPERT_SPECIALITIES")


experts = Sheet(
    slug="experts", title="安全生产专家库", model=Expert, key=("id_number",), group=GROUP,
    menu_order=40,
    columns=[
        Col("专家编号", "expert_no", Text(64), aliases=("证书编号",), note="填写时不得重复",
            unique=True),
        Col("姓名", "name", Text(50, person_name=True), required=True),
        Col("身份证号码", "id_number", IdNumber(), required=True,
            aliases=("身份证号", "公民身份号码")),
        Col("性别", "gender", Enum(GENDERS), note="须与身份证号码一致"),
        # Digits 7-14 of the ID number: as hidden as the number, and changed only with it.
        Col("出生日期", "birth_date", Date(), note="须与身份证号码一致", sensitive=True,
            derived_from="id_number"),
        Col("最高学历", "education", Enum(EDUCATION_LEVELS), aliases=("学历",)),
        Col("工作单位", "employer", Text(), required=True, aliases=("单位", "所在单位")),
        Col("单位性质", "employer_type", Enum(EMPLOYER_TYPES)),
        Col("职务", "position", Text(100)),
        Col("职称级别", "title_level", Enum(TITLE_LEVELS), required=True),
        Col("职称", "title", TitleText(100), aliases=("职称名称",),
            note="高工、教高将写成全称"),
        Col("注册安全工程师", "registered_engineer", Boolean(), aliases=("是否注册安全工程师",)),
        Col("从事专业年限", "years_in_field", Integer(min_value=0), aliases=("专业年限",)),
        Col("专业类别", "speciality", Enum(_specialities), required=True, aliases=("专业",)),
        Col("其他专业", "other_specialities", Multi(_specialities)),
        Col("专家类型", "expert_type", Enum(EXPERT_TYPES), required=True),
        Col("委员会职务", "committee_role", Enum(COMMITTEE_ROLES), aliases=("专家委员会职务",)),
        Col("聘任日期", "appointed_on", Date(), required=True, group_forms=("聘期起", "聘期自")),
        Col("聘期届满", "term_ends_on", Date(), required=True, aliases=("聘期至",),
            group_forms=("聘期止",)),
        Col("状态", "status", Enum(EXPERT_STATUSES), required=True),
        Col("手机", "mobile", Phone(), aliases=("手机号码", "联系电话")),
        Col("电子邮箱", "email", Email(), aliases=("邮箱",)),
    ],
    rules=[gender_matches_id, birth_date_matches_id,
           dates_in_order("appointed_on", "term_ends_on")],
    order_by=("speciality", "name"),
    search=("name", "expert_no", "id_number", "employer", "speciality", "expert_type",
            "committee_role", "status", "term_ends_on"),
    list_fields=("expert_no", "name", "employer", "title", "speciality", "expert_type",
                 "term_ends_on", "status"),
    presets={
        "term_ending": Preset(lambda: f"{_term_window()} 天内聘期届满的在聘专家", term_ending,
                              index=("status", "term_ends_on")),
        "term_ended": Preset("聘期已满仍为在聘的专家", term_ended_in_office,
                             index=("status", "term_ends_on")),
    },
)

sheets.add(experts)
