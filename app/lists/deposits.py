"""抵押金与保险: enterprises (生产经营单位), their risk deposits (风险抵押金) and liability
insurance policies (安全生产责任保险).

"Deposit or insurance" is the enterprise's choice: a deposit marked 免存 names a policy of the
same enterprise that is valid during the deposit's year.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import relationship

from app.models import Record, ValidityWindow
from app.settings import setting, setting_decimal
from app.sheets.declare import Col, Preset, Problem, Ref, Sheet, error, sheets, warning
from app.sheets.rules import dates_in_order, required_when
from app.sheets.types import Amount, CreditCode, Date, Enum, Integer, Phone, Text

GROUP = "抵押金与保险"

# -- dictionaries ------------------------------------------------------------------------------
INDUSTRIES = ("非煤矿山", "交通运输", "建筑施工", "烟花爆竹", "危化品生产", "危化品经营", "危化品储存",
              "危化品使用", "危化品废弃物处置", "其他")
ENTERPRISE_SIZES = ("微型", "小型", "中型", "大型", "特大型")
DEPOSIT_STATUSES = ("待存储", "已足额", "未足额", "已使用待补存", "免存", "已返还")
EXEMPT, RETURNED = "免存", "已返还"
NOT_DEPOSITED = ("待存储", "未足额")  # overdue once the year's due date has passed
POLICY_KINDS = ("安全生产责任保险", "危险化学品安全责任保险")
PAYMENT_STATUSES = ("已缴", "未缴", "部分缴纳")
POLICY_STATUSES = ("有效", "已退保", "已批改")
VALID = ValidityWindow.VALID
# 所在区 is the configurable dictionary setting("DISTRICTS") with setting("DISTRICT_SYNONYMS").

ACCOUNT_MIN_DIGITS, ACCOUNT_MAX_DIGITS = 10, 25


def _enterprise_fk(table: str):
    # RESTRICT: an enterprise with deposits or policies cannot be deleted.
    return sa.Column(sa.Integer, sa.ForeignKey("qd_enterprise.id", ondelete="RESTRICT",
                                               name=f"fk_{table}_enterprise"),
                     nullable=False)


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.2f} 元"


# -- models ------------------------------------------------------------------------------------
class Enterprise(Record):
    __tablename__ = "qd_enterprise"

    name = sa.Column(sa.String(255), nullable=False, index=True)
    credit_code = sa.Column(sa.String(18), nullable=False)
    district = sa.Column(sa.String(20), nullable=False, index=True)
    industry = sa.Column(sa.String(20), nullable=False, index=True)
    size = sa.Column(sa.String(10), nullable=False)
    address = sa.Column(sa.String(255))
    contact = sa.Column(sa.String(50))
    phone = sa.Column(sa.String(40))

    deposits = relationship("Deposit", back_populates="enterprise",
                            order_by=lambda: Deposit.year)
    policies = relationship("Policy", back_populates="enterprise",
                            order_by=lambda: [Policy.starts_on, Policy.policy_no])

    def __str__(self):
        return str(self.name)

    def __repr__(self):
        return (f"Enterprise(id={self.id!r}, credit_code={self.credit_code!r}, "
                f"name={self.name!r})")


class Policy(ValidityWindow, Record):
    __tablename__ = "qd_policy"

    policy_no = sa.Column(sa.String(64), nullable=False, index=True)
    insurer = sa.Column(sa.String(100), nullable=False)
    enterprise_id = _enterprise_fk(__tablename__)  # indexed with policy_no below
    enterprise = relationship("Enterprise", back_populates="policies")
    kind = sa.Column(sa.String(20), nullable=False)
    starts_on = sa.Column(sa.Date, nullable=False)
    ends_on = sa.Column(sa.Date, nullable=False, index=True)
    insured_count = sa.Column(sa.Integer, nullable=False)
    per_person_limit = sa.Column(sa.Numeric(14, 2), nullable=False)
    per_accident_limit = sa.Column(sa.Numeric(14, 2), nullable=False)
    total_limit = sa.Column(sa.Numeric(14, 2), nullable=False)
    premium = sa.Column(sa.Numeric(14, 2), nullable=False)
    payment_status = sa.Column(sa.String(10), nullable=False)
    status = sa.Column(sa.String(10), nullable=False, index=True)

    # Deposits exempted by this policy: the database refuses to delete it while any exist.
    exempt_deposits = relationship("Deposit", back_populates="exempt_policy",
                                   passive_deletes="all")

    __table_args__ = (
        # how a deposit finds its exempting policy: by number within its enterprise
        sa.Index("ix_qd_policy_enterprise_policy_no", "enterprise_id", "policy_no"),
    )

    def covers_year(self, year: int) -> bool:
        """有效 and in force on at least one day of `year`."""
        return (self.status == VALID and self.starts_on is not None
                and self.ends_on is not None and self.starts_on <= dt.date(year, 12, 31)
                and self.ends_on >= dt.date(year, 1, 1))

    def __str__(self):
        return f"{self.insurer} {self.policy_no}"

    def __repr__(self):
        return f"Policy(id={self.id!r}, insurer={self.insurer!r}, policy_no={self.policy_no!r})"


class Deposit(Record):
    __tablename__ = "qd_deposit"

    enterprise_id = _enterprise_fk(__tablename__)  # leads the key (uq_…_key): indexed by it
    enterprise = relationship("Enterprise", back_populates="deposits")
    year = sa.Column(sa.Integer, nullable=False, index=True)
    approved_amount = sa.Column(sa.Numeric(14, 2), nullable=False)
    deposited_amount = sa.Column(sa.Numeric(14, 2))
    bank = sa.Column(sa.String(100))
    account_no = sa.Column(sa.String(40))
    deposited_on = sa.Column(sa.Date)
    status = sa.Column(sa.String(10), nullable=False, index=True)
    exempt_policy_id = sa.Column(sa.Integer, sa.ForeignKey(
        "qd_policy.id", ondelete="RESTRICT", name="fk_qd_deposit_exempt_policy"),
        nullable=True, index=True)
    exempt_policy = relationship("Policy", back_populates="exempt_deposits")
    returned_on = sa.Column(sa.Date)
    returned_amount = sa.Column(sa.Numeric(14, 2))

    def __str__(self):
        return f"{self.enterprise or ''} {self.year}年度".strip()

    def __repr__(self):
        return (f"Deposit(id={self.id!r}, enterprise_id={self.enterprise_id!r}, "
                f"year={self.year!r})")


# -- rules: enterprises' deposits --------------------------------------------------------------
def deposit_not_below_minimum(r: dict) -> Iterator[Problem]:
    enterprise, amount = r.get("enterprise"), r.get("approved_amount")
    size = getattr(enterprise, "size", None)
    minimum = setting_decimal("DEPOSIT_MINIMUM", size) if size else None
    if amount is not None and minimum is not None and amount < minimum:
        yield warning("approved_amount", f"「核定金额」{_yuan(amount)} 低于{size}企业的最低标准 "
                                         f"{_yuan(minimum)}：请核对")


def account_number_digits(r: dict) -> Iterator[Problem]:
    account = r.get("account_no")
    if account and not (account.isascii() and account.isdigit()
                        and ACCOUNT_MIN_DIGITS <= len(account) <= ACCOUNT_MAX_DIGITS):
        yield error("account_no", f"「专户账号」“{account}”应为 {ACCOUNT_MIN_DIGITS}–"
                                  f"{ACCOUNT_MAX_DIGITS} 位数字：请去掉空格、横线等字符，"
                                  "并将本列设为文本格式以免 Excel 改写长数字")


def exempt_needs_valid_policy(r: dict) -> Iterator[Problem]:
    if r.get("status") != EXEMPT:
        return
    field = "exempt_policy.policy_no"
    policy = r.get("exempt_policy")
    if policy is None:
        if not r.get(field):
            yield error(field, "「状态」为“免存”时必须填写「免存保单号」：填本企业该年度有效的"
                               "安全生产责任保险保单号")
        return  # a number that names no policy is reported by the lookup itself
    enterprise, year = r.get("enterprise"), r.get("year")
    owner, own_id = policy.enterprise_id, getattr(enterprise, "id", None)
    if owner is not None and own_id is not None and owner != own_id:
        yield error(field, f"保单 {policy.policy_no} 不是本企业的保单：请填写本企业的保单号")
    if policy.status != VALID:
        yield error(field, f"保单 {policy.policy_no} 的状态是“{policy.status}”，不能据以免存："
                           "请填写有效保单，或更改「状态」")
    elif year is not None and not policy.covers_year(year):
        yield error(field, f"保单 {policy.policy_no} 的保险期间（{policy.starts_on} 至 "
                           f"{policy.ends_on}）不在{year}年度内：请填写覆盖该年度的保单")


def returned_not_above_deposited(r: dict) -> Iterator[Problem]:
    returned, deposited = r.get("returned_amount"), r.get("deposited_amount")
    if returned is not None and deposited is not None and returned > deposited:
        yield error("returned_amount", f"「返还金额」{_yuan(returned)} 超过「实存金额」"
                                       f"{_yuan(deposited)}：请核对")


# -- rules: policies ---------------------------------------------------------------------------
def limits_increase(r: dict) -> Iterator[Problem]:
    person, accident, total = (r.get("per_person_limit"), r.get("per_accident_limit"),
                               r.get("total_limit"))
    if person is not None and accident is not None and accident < person:
        yield error("per_accident_limit", f"「每次事故责任限额」{_yuan(accident)} 低于「每人责任限额」"
                                          f"{_yuan(person)}：请核对")
    if accident is not None and total is not None and total < accident:
        yield error("total_limit", f"「累计责任限额」{_yuan(total)} 低于「每次事故责任限额」"
                                   f"{_yuan(accident)}：请核对")


def per_person_not_below_minimum(r: dict) -> Iterator[Problem]:
    person, minimum = r.get("per_person_limit"), setting_decimal("POLICY_PER_PERSON_MINIMUM")
    if person is not None and minimum is not None and person < minimum:
        yield warning("per_person_limit", f"「每人责任限额」{_yuan(person)} 低于最低标准 "
                                          f"{_yuan(minimum)}：请核对")


# -- named filters (the dashboard links to them) ------------------------------------------------
def _policy_window() -> int:
    return int(setting("POLICY_EXPIRY_WARNING_DAYS"))


def policies_expiring():
    """有效 policies whose 保险止期 falls within the warning window from today."""
    today = dt.date.today()
    return sa.and_(Policy.status == VALID, Policy.ends_on >= today,
                   Policy.ends_on <= today + dt.timedelta(days=_policy_window()))


def last_overdue_year(today: dt.date) -> int:
    """The latest 核定年度 whose due date (setting DEPOSIT_DUE_DATE, month-day) has passed."""
    month, day = (int(p) for p in str(setting("DEPOSIT_DUE_DATE")).split("-"))
    return today.year if dt.date(today.year, month, day) < today else today.year - 1


def deposits_overdue():
    """待存储 / 未足额 deposits of a year whose due date has passed."""
    return sa.and_(Deposit.status.in_(NOT_DEPOSITED),
                   Deposit.year <= last_overdue_year(dt.date.today()))


def coverage_gap():
    """Enterprises of a high-risk sector (setting HIGH_RISK_INDUSTRIES) with neither a liability
    policy valid today nor a deposit of the current year. Written as NOT IN (subquery), each
    evaluated once: as correlated NOT EXISTS, SQLite's planner (without statistics) walked the
    policies by their status index once per enterprise, a minute at 20,000 enterprises."""
    today = dt.date.today()
    insured = sa.select(Policy.enterprise_id).where(Policy.valid_on(today))
    deposited = sa.select(Deposit.enterprise_id).where(
        Deposit.year == today.year, Deposit.status.in_(setting("COVERING_DEPOSIT_STATUSES")))
    return sa.and_(Enterprise.industry.in_(setting("HIGH_RISK_INDUSTRIES")),
                   Enterprise.id.not_in(insured), Enterprise.id.not_in(deposited))


# -- sheets ------------------------------------------------------------------------------------
enterprises = Sheet(
    slug="enterprises", title="生产经营单位", model=Enterprise, key=("credit_code",), group=GROUP,
    menu_order=90,
    columns=[
        Col("企业名称", "name", Text(), required=True, aliases=("单位名称",)),
        Col("统一社会信用代码", "credit_code", CreditCode(), required=True, aliases=("信用代码",)),
        Col("所在区", "district", Enum(lambda: setting("DISTRICTS"),
                                       lambda: setting("DISTRICT_SYNONYMS")),
            required=True, aliases=("区县",)),
        Col("行业类别", "industry", Enum(INDUSTRIES), required=True, aliases=("行业",)),
        Col("企业规模", "size", Enum(ENTERPRISE_SIZES), required=True, aliases=("规模",)),
        Col("地址", "address", Text(), aliases=("注册地址",)),
        Col("联系人", "contact", Text(50, person_name=True)),
        Col("联系电话", "phone", Phone()),
    ],
    order_by=("district", "name"),
    search=("name", "credit_code", "district", "industry", "size"),
    list_fields=("name", "credit_code", "district", "industry", "size", "contact", "phone"),
    presets={"coverage_gap": Preset("高危行业中既无有效安责险保单、也无本年度抵押金的单位",
                                    coverage_gap)},
)

deposits = Sheet(
    slug="deposits", title="风险抵押金", model=Deposit, key=("enterprise", "year"), group=GROUP,
    menu_order=100,
    columns=[
        Col("统一社会信用代码", "enterprise.credit_code", CreditCode(), required=True,
            aliases=("信用代码",), note="须为已登记的生产经营单位"),
        Col("企业名称", "enterprise.name", Text(), info=True),
        Col("核定年度", "year", Integer(min_value=2000, max_value=2100), required=True,
            aliases=("年度",)),
        Col("核定金额", "approved_amount", Amount(), required=True, aliases=("核定存储金额",),
            note="低于按企业规模确定的最低标准时提示"),
        Col("实存金额", "deposited_amount", Amount(), aliases=("已存金额",)),
        Col("存储银行", "bank", Text(100), aliases=("指定银行",)),
        Col("专户账号", "account_no", Text(40), aliases=("账号",),
            note="10–25 位数字；请设为文本格式"),
        Col("存储日期", "deposited_on", Date()),
        Col("状态", "status", Enum(DEPOSIT_STATUSES), required=True, aliases=("账户状态",)),
        Col("免存保单号", "exempt_policy.policy_no", Text(64),
            note="免存时必填：本企业该年度有效的安责险保单号"),
        Col("返还日期", "returned_on", Date()),
        Col("返还金额", "returned_amount", Amount(), note="不超过实存金额"),
    ],
    refs={"exempt_policy": Ref(within={"enterprise": "enterprise"})},
    rules=[deposit_not_below_minimum,
           required_when("status", not_in=(EXEMPT,), then=("bank", "account_no"),
                         hint="持有效安责险保单免存的，请将状态填为“免存”"),
           account_number_digits, exempt_needs_valid_policy,
           required_when("status", RETURNED, then=("returned_on", "returned_amount")),
           returned_not_above_deposited],
    order_by=("year", "enterprise_id"),
    search=("enterprise", "year", "status", "bank", "deposited_on"),
    list_fields=("enterprise", "year", "approved_amount", "deposited_amount", "bank", "status"),
    presets={"overdue": Preset("逾期未足额存储的抵押金（待存储、未足额）", deposits_overdue,
                               index=("status", "year"))},
)

policies = Sheet(
    slug="policies", title="安全生产责任保险", model=Policy, key=("insurer", "policy_no"),
    group=GROUP, menu_order=110,
    columns=[
        Col("保单号", "policy_no", Text(64), required=True, aliases=("保险单号",)),
        Col("保险公司", "insurer", Text(100), required=True, aliases=("承保公司", "首席承保人")),
        Col("统一社会信用代码", "enterprise.credit_code", CreditCode(), required=True,
            aliases=("被保险人信用代码",), note="须为已登记的生产经营单位"),
        Col("被保险人", "enterprise.name", Text(), info=True, aliases=("企业名称",)),
        Col("险种", "kind", Enum(POLICY_KINDS), required=True),
        Col("保险起期", "starts_on", Date(), required=True, aliases=("起保日期",),
            group_forms=("保险期间起", "保险期间自", "保险期限起")),
        Col("保险止期", "ends_on", Date(), required=True, aliases=("终保日期",),
            group_forms=("保险期间止", "保险期间至", "保险期限止")),
        Col("投保人数", "insured_count", Integer(min_value=1), required=True,
            aliases=("从业人数",)),
        Col("每人责任限额", "per_person_limit", Amount(), required=True, aliases=("每人限额",),
            note="低于最低标准时提示"),
        Col("每次事故责任限额", "per_accident_limit", Amount(), required=True,
            aliases=("每次事故限额",), note="不低于每人责任限额"),
        Col("累计责任限额", "total_limit", Amount(), required=True, aliases=("累计限额",),
            note="不低于每次事故责任限额"),
        Col("保险费", "premium", Amount(), required=True, aliases=("保费",)),
        Col("缴费状态", "payment_status", Enum(PAYMENT_STATUSES), required=True),
        Col("保单状态", "status", Enum(POLICY_STATUSES), required=True, aliases=("状态",),
            note="是否过期按保险止期自动判断，无需填写"),
    ],
    rules=[dates_in_order("starts_on", "ends_on"), limits_increase, per_person_not_below_minimum],
    order_by=("insurer", "policy_no"),
    search=("policy_no", "insurer", "enterprise", "kind", "starts_on", "ends_on", "status"),
    list_fields=("policy_no", "insurer", "enterprise", "kind", "starts_on", "ends_on",
                 "status", "validity"),
    computed=ValidityWindow.COMPUTED,
    presets={"expiring": Preset(lambda: f"{_policy_window()} 天内到期的有效保单",
                                policies_expiring, index=("status", "ends_on"))},
)

sheets.add(enterprises, policies, deposits)  # a deposit may point at its policy
