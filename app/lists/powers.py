"""权责清单: 行政权力清单 (powers), 行政责任清单 (responsibilities), 审批事项改革 (reforms).

A power item and its responsibility items form the guideline's "一项一表": the duties belong to
their power and go with it. A reform names a power only by its code (of any version).
"""
from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import relationship

from app.models import Record
from app.sheets.declare import Col, Problem, Public, Sheet, error, sheets
from app.sheets.rules import dates_in_order, required_when
from app.sheets.types import Boolean, Date, Enum, Integer, LongText, Multi, Phone, Text

GROUP = "权责清单"

# -- dictionaries (domain values; the screens reuse them) ---------------------------------
POWER_CATEGORIES = ("行政许可", "行政处罚", "行政强制", "行政征收", "行政给付", "行政检查",
                    "行政确认", "行政奖励", "行政裁决", "其他行政权力")
LICENSING = POWER_CATEGORIES[0]
POWER_CATEGORY_SYNONYMS = {
    "许可": "行政许可", "处罚": "行政处罚", "行政监督": "行政检查",
    # the national category codes 01…10, also written without the leading zero
    **{f"{i:02d}": c for i, c in enumerate(POWER_CATEGORIES, 1)},
    **{str(i): c for i, c in enumerate(POWER_CATEGORIES, 1)},
}
POWER_LEVELS = ("市级", "区县级", "乡镇（街道）级")
POWER_SOURCES = ("法定本级行使", "上级下放", "上级授权", "同级授权", "上级委托", "同级委托")
POWER_OBJECTS = ("自然人", "企业法人", "事业法人", "社会组织法人", "非法人企业", "行政机关",
                 "其他组织")
POWER_STATUSES = ("在用", "已取消", "已下放", "已调整", "暂停")
IN_FORCE = POWER_STATUSES[0]
DUTY_STAGES = ("受理", "审查", "决定", "送达", "立案", "调查取证", "审理", "告知", "执行", "催告",
               "检查", "处置", "事后监管", "其他")
REFORM_TYPES = ("取消", "调整", "下放", "承接", "合并", "改为备案")
# Units a time-limit header may name (法定办理时限（工作日）); a bare number keeps it: 20个工作日.
TIME_UNITS = ("工作日", "个工作日", "日", "天", "个月", "小时")


# -- models ----------------------------------------------------------------------------------
class Power(Record):
    """One power item of one edition of the list (清单版本 + 权力编码)."""
    __tablename__ = "qd_power"

    # 清单版本: not `version`, which every Record uses for optimistic locking.
    list_version = sa.Column(sa.String(20), nullable=False)
    code = sa.Column(sa.String(64), nullable=False, index=True)
    category = sa.Column(sa.String(20), nullable=False, index=True)
    name = sa.Column(sa.String(255), nullable=False, index=True)
    sub_item = sa.Column(sa.String(255))
    implementing_body = sa.Column(sa.String(255), nullable=False)
    handling_unit = sa.Column(sa.String(255))
    levels = sa.Column(sa.String(100), nullable=False)
    source = sa.Column(sa.String(20))
    legal_time_limit = sa.Column(sa.String(100))
    promised_time_limit = sa.Column(sa.String(100))
    legal_basis = sa.Column(sa.Text, nullable=False)
    procedure = sa.Column(sa.Text, nullable=False)
    content = sa.Column(sa.Text, nullable=False)
    objects = sa.Column(sa.String(255), nullable=False)
    charged = sa.Column(sa.Boolean, nullable=False)
    charge_basis = sa.Column(sa.Text)
    charge_standard = sa.Column(sa.String(255))
    consult_phone = sa.Column(sa.String(40))
    supervise_phone = sa.Column(sa.String(40))
    status = sa.Column(sa.String(20), nullable=False, index=True)
    effective_on = sa.Column(sa.Date)
    cancelled_on = sa.Column(sa.Date)
    remark = sa.Column(sa.Text)

    duties = relationship(
        "Duty", back_populates="power", cascade="all, delete-orphan",
        order_by=lambda: [Duty.stage_order, Duty.seq])

    def __str__(self):
        text = f"{self.list_version} {self.code} {self.name}"
        return f"{text}（{self.sub_item}）" if self.sub_item else text

    def __repr__(self):
        return f"Power(id={self.id!r}, list_version={self.list_version!r}, code={self.code!r})"


class Duty(Record):
    """One responsibility item (环节 + 序号) of a power."""
    __tablename__ = "qd_duty"

    power_id = sa.Column(sa.Integer, sa.ForeignKey("qd_power.id", ondelete="CASCADE",
                                                   name="fk_qd_duty_power"), nullable=False)
    power = relationship("Power", back_populates="duties")
    stage = sa.Column(sa.String(20), nullable=False)
    seq = sa.Column(sa.Integer, nullable=False)
    matter = sa.Column(sa.Text, nullable=False)
    responsible_unit = sa.Column(sa.String(255))
    accountability_cases = sa.Column(sa.Text, nullable=False)
    accountability_basis = sa.Column(sa.Text, nullable=False)

    @hybrid_property
    def stage_order(self) -> int:
        """The stage's place in the procedure (受理 before 审查 …), for sorting."""
        return DUTY_STAGES.index(self.stage) if self.stage in DUTY_STAGES else len(DUTY_STAGES)

    @stage_order.inplace.expression
    @classmethod
    def _stage_order_expression(cls):
        return sa.case({s: i for i, s in enumerate(DUTY_STAGES)}, value=cls.stage,
                       else_=len(DUTY_STAGES))

    def __str__(self):
        return f"{self.power or ''} {self.stage}{self.seq}".strip()

    def __repr__(self):
        return (f"Duty(id={self.id!r}, power_id={self.power_id!r}, stage={self.stage!r}, "
                f"seq={self.seq!r})")


class Reform(Record):
    """One approval-reform decision about a power (cancelled, adjusted, delegated …)."""
    __tablename__ = "qd_reform"

    power_code = sa.Column(sa.String(64), nullable=False)  # any version: no foreign key
    item_name = sa.Column(sa.String(255), nullable=False, index=True)
    change_type = sa.Column(sa.String(20), nullable=False, index=True)
    decision_no = sa.Column(sa.String(100), nullable=False, index=True)
    decided_on = sa.Column(sa.Date, nullable=False, index=True)
    effective_on = sa.Column(sa.Date)
    delegated_to = sa.Column(sa.Text)
    supervision_measures = sa.Column(sa.Text)

    def __str__(self):
        return f"{self.power_code} {self.item_name} {self.change_type}（{self.decision_no}）"

    def __repr__(self):
        return (f"Reform(id={self.id!r}, power_code={self.power_code!r}, "
                f"change_type={self.change_type!r}, decision_no={self.decision_no!r})")


# -- rules -------------------------------------------------------------------------------------
def sub_item_only_for_licensing(r: dict) -> Iterator[Problem]:
    if r.get("sub_item") and r.get("category") and r["category"] != LICENSING:
        yield error("sub_item", f"「子项名称」只适用于行政许可，本事项的「权力类别」是{r['category']}："
                                "请清空子项名称，或更正权力类别")


# -- what is public ----------------------------------------------------------------------------
def power_in_force():
    return Power.status == IN_FORCE


def duty_of_power_in_force():
    return Duty.power.has(Power.status == IN_FORCE)


# -- sheets ------------------------------------------------------------------------------------
powers = Sheet(
    slug="powers", title="行政权力清单", model=Power, key=("list_version", "code"),
    group=GROUP, menu_order=10,
    columns=[
        Col("清单版本", "list_version", Text(20), required=True, aliases=("版本",),
            note="如 2015版"),
        Col("权力编码", "code", Text(64), required=True, aliases=("基本编码", "事项编码", "编码"),
            note="同一版本内唯一"),
        Col("权力类别", "category", Enum(POWER_CATEGORIES, POWER_CATEGORY_SYNONYMS), required=True,
            aliases=("职权类别", "事项类型", "权力类型"), note="也可填类别代码 01–10"),
        Col("权力名称", "name", Text(), required=True, aliases=("职权名称", "事项名称")),
        Col("子项名称", "sub_item", Text(), aliases=("子项",), note="仅行政许可可填"),
        Col("实施主体", "implementing_body", Text(), required=True,
            aliases=("行使主体", "实施机关")),
        Col("承办机构", "handling_unit", Text(), aliases=("承办处室",)),
        Col("行使层级", "levels", Multi(POWER_LEVELS), required=True,
            aliases=("层级",)),
        Col("权力来源", "source", Enum(POWER_SOURCES)),
        Col("法定办理时限", "legal_time_limit", Text(100, units=TIME_UNITS),
            aliases=("法定时限", "办理时限"), note="如 20个工作日、即办"),
        Col("承诺办理时限", "promised_time_limit", Text(100, units=TIME_UNITS),
            aliases=("承诺时限",)),
        Col("法律依据", "legal_basis", LongText(), required=True, aliases=("实施依据", "设定依据")),
        Col("行使程序", "procedure", LongText(), required=True, aliases=("运行流程", "办理流程")),
        Col("权力内容", "content", LongText(), required=True, aliases=("行使内容",)),
        Col("行使对象", "objects", Multi(POWER_OBJECTS), required=True, aliases=("服务对象",)),
        Col("是否收费", "charged", Boolean(), required=True, aliases=("收费情况", "收费"),
            note="不收费、免费即为“否”"),
        Col("收费依据", "charge_basis", LongText()),
        Col("收费标准", "charge_standard", Text()),
        Col("咨询电话", "consult_phone", Phone()),
        Col("监督电话", "supervise_phone", Phone(), aliases=("投诉电话", "监督投诉电话")),
        Col("状态", "status", Enum(POWER_STATUSES), required=True, aliases=("事项状态",)),
        Col("生效日期", "effective_on", Date()),
        Col("取消日期", "cancelled_on", Date()),
        Col("备注", "remark", LongText()),
    ],
    rules=[sub_item_only_for_licensing,
           required_when("charged", True, then=("charge_basis", "charge_standard")),
           dates_in_order("effective_on", "cancelled_on", strict=False)],
    order_by=("list_version", "code"),
    search=("list_version", "code", "name", "category", "implementing_body", "status",
            "effective_on"),
    list_fields=("list_version", "code", "category", "name", "sub_item", "implementing_body",
                 "status"),
    # Published as the guideline asks: every power in force, all but the internal 备注. The
    # phones are the offices' 咨询/监督 lines the list must publish, not a person's.
    public=Public(("list_version", "code", "category", "name", "sub_item", "implementing_body",
                   "handling_unit", "levels", "source", "legal_time_limit",
                   "promised_time_limit", "legal_basis", "procedure", "content", "objects",
                   "charged", "charge_basis", "charge_standard", "consult_phone",
                   "supervise_phone", "status", "effective_on"), where=power_in_force),
)

responsibilities = Sheet(
    slug="responsibilities", title="行政责任清单", model=Duty, key=("power", "stage", "seq"),
    group=GROUP, menu_order=20,
    columns=[
        Col("清单版本", "power.list_version", Text(20), required=True, aliases=("版本",)),
        Col("权力编码", "power.code", Text(64), required=True, aliases=("基本编码", "事项编码"),
            note="须为该版本中已有的权力事项"),
        Col("环节", "stage", Enum(DUTY_STAGES), required=True, aliases=("责任环节",)),
        Col("序号", "seq", Integer(min_value=1), required=True, aliases=("环节序号",),
            export_header="环节序号", note="同一环节内的序号，从 1 开始"),
        Col("责任事项", "matter", LongText(), required=True, aliases=("责任事项内容",)),
        Col("责任处室", "responsible_unit", Text(), aliases=("责任主体",)),
        Col("追责情形", "accountability_cases", LongText(), required=True, aliases=("问责情形",)),
        Col("问责依据", "accountability_basis", LongText(), required=True,
            aliases=("追责依据",)),
    ],
    order_by=("power_id", "stage", "seq"),  # the stage in its procedure order
    search=("power", "stage", "responsible_unit"),
    list_fields=("power", "stage", "seq", "matter", "responsible_unit"),
    public=Public(("power.list_version", "power.code", "power.name", "stage", "seq", "matter",
                   "responsible_unit", "accountability_cases", "accountability_basis"),
                  where=duty_of_power_in_force),
)

reforms = Sheet(
    slug="reforms", title="审批事项改革", model=Reform,
    key=("power_code", "change_type", "decision_no"), group=GROUP, menu_order=30,
    columns=[
        Col("权力编码", "power_code", Text(64), required=True, aliases=("事项编码",),
            note="可为任一版本的权力编码"),
        Col("事项名称", "item_name", Text(), required=True, aliases=("权力名称",)),
        Col("变更类型", "change_type", Enum(REFORM_TYPES), required=True, aliases=("改革方式",)),
        Col("决定文号", "decision_no", Text(100, doc_number=True), required=True,
            aliases=("文号", "依据文件"), note="年份括号统一为〔〕"),
        Col("决定日期", "decided_on", Date(), required=True),
        Col("生效日期", "effective_on", Date(), aliases=("实施日期",)),
        Col("下放对象", "delegated_to", Multi(), aliases=("承接单位",), note="如 浦东新区"),
        Col("事中事后监管措施", "supervision_measures", LongText(), aliases=("监管措施",)),
    ],
    order_by=("decided_on", "power_code", "change_type"),
    search=("power_code", "item_name", "change_type", "decision_no", "decided_on"),
    list_fields=("power_code", "item_name", "change_type", "decision_no", "decided_on",
                 "effective_on"),
    public=Public(("power_code", "item_name", "change_type", "decision_no", "decided_on",
                   "effective_on", "delegated_to", "supervision_measures")),
)

sheets.add(powers, responsibilities, reforms)
