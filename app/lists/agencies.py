"""技术服务机构: agencies, their qualification certificates, blind reviews of their reports,
and warning interviews.

Derived, never typed: whether an agency is dual-qualified (valid 安全评价 and 职业卫生技术服务
certificates on a given day), whether a certificate has expired, a review's grade when the
sheet leaves it empty.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import relationship

from app.models import Record, ValidityWindow
from app.settings import setting
from app.sheets.declare import Col, Problem, Sheet, error, sheets, warning
from app.sheets.types import CreditCode, Date, Enum, Integer, LongText, Multi, Phone, Score, Text

GROUP = "技术服务机构"

# -- dictionaries ------------------------------------------------------------------------------
AGENCY_TYPES = ("企业", "事业单位", "社会团体", "民办非企业")
AGENCY_STATUSES = ("正常", "暂停执业", "撤销", "注销", "迁出本市")
SAFETY_ASSESSMENT = "安全评价"
OCCUPATIONAL_HEALTH = "职业卫生技术服务"
QUALIFICATION_CATEGORIES = (SAFETY_ASSESSMENT, OCCUPATIONAL_HEALTH)
QUALIFICATION_GRADES = ("甲级", "乙级", "丙级")
QUALIFICATION_GRADE_SYNONYMS = {"甲": "甲级", "乙": "乙级", "丙": "丙级"}
CERTIFICATE_STATUSES = ("有效", "暂停", "撤销", "注销")
VALID = ValidityWindow.VALID
REVIEW_CATEGORIES = ("安全评价报告", "职业卫生评价报告", "职业卫生检测报告")
REPORT_TYPES = ("安全预评价", "安全验收评价", "安全现状评价", "安全专项评价", "职业病危害预评价",
                "职业病危害控制效果评价", "职业病危害现状评价", "职业病危害因素定期检测")
REVIEW_GRADES = ("优秀", "良好", "合格", "不合格")
SITE_CHECK_CONCLUSIONS = ("一致", "基本一致", "不一致", "虚假")
REVIEW_MEASURES = ("无", "通报", "警示约谈", "责令整改", "移送处罚")
INTERVIEWEE_ROLES = ("法定代表人", "主要负责人", "技术负责人", "其他")
RECTIFICATION_RESULTS = ("已整改", "部分整改", "未整改")
BATCH_DRAFT, BATCH_APPROVED, BATCH_PUBLISHED = "草稿", "已审核", "已发布"
BATCH_STATUSES = (BATCH_DRAFT, BATCH_APPROVED, BATCH_PUBLISHED)
# 所在区 is the configurable dictionary setting("DISTRICTS") with setting("DISTRICT_SYNONYMS").


def _district() -> Enum:
    return Enum(lambda: setting("DISTRICTS"), lambda: setting("DISTRICT_SYNONYMS"))


def _agency_fk(table: str):
    # RESTRICT: an agency with certificates, reviews or interviews cannot be deleted.
    return sa.Column(sa.Integer, sa.ForeignKey("qd_agency.id", ondelete="RESTRICT",
                                               name=f"fk_{table}_agency"),
                     nullable=False, index=True)


def grade_for(score) -> str | None:
    """The grade a score earns under setting REVIEW_GRADE_THRESHOLDS (None without a score)."""
    if score is None:
        return None
    score = Decimal(str(score))
    for grade, threshold in setting("REVIEW_GRADE_THRESHOLDS"):
        if score >= Decimal(str(threshold)):
            return grade
    return setting("REVIEW_GRADE_FAIL")


# -- models ------------------------------------------------------------------------------------
class Agency(Record):
    __tablename__ = "qd_agency"

    name = sa.Column(sa.String(255), nullable=False, index=True)
    credit_code = sa.Column(sa.String(18), nullable=False)
    org_type = sa.Column(sa.String(10), nullable=False)
    legal_representative = sa.Column(sa.String(50), nullable=False)
    technical_lead = sa.Column(sa.String(50))
    address = sa.Column(sa.String(255), nullable=False)
    district = sa.Column(sa.String(20), index=True)
    contact = sa.Column(sa.String(50))
    phone = sa.Column(sa.String(40))
    status = sa.Column(sa.String(10), nullable=False, index=True)

    qualifications = relationship(
        "Qualification", back_populates="agency",
        order_by=lambda: [Qualification.category, Qualification.issued_on])
    reviews = relationship("Review", back_populates="agency",
                           order_by=lambda: [Review.year, Review.period, Review.category,
                                             Review.blind_no])
    interviews = relationship("Interview", back_populates="agency",
                              order_by=lambda: Interview.interviewed_on)

    __table_args__ = (sa.UniqueConstraint("credit_code", name="uq_qd_agency_key"),)

    def is_dual_qualified(self, on: dt.date | None = None) -> bool:
        """Holds valid 安全评价 and 职业卫生技术服务 certificates on the day `on` (today)."""
        on = on or dt.date.today()
        held = {q.category for q in self.qualifications if q.is_valid_on(on)}
        return held.issuperset(QUALIFICATION_CATEGORIES)

    @classmethod
    def dual_qualified_on(cls, on: dt.date) -> sa.ColumnElement[bool]:
        """SQL: the agency is dual-qualified on the day `on` (two EXISTS subqueries)."""
        def holds(category):
            return sa.exists().where(Qualification.agency_id == cls.id,
                                     Qualification.category == category,
                                     Qualification.valid_on(on))
        return sa.and_(*(holds(c) for c in QUALIFICATION_CATEGORIES))

    @hybrid_property
    def dual_qualified(self) -> bool:
        """双资质 today; usable in Python and in SQL filters."""
        return self.is_dual_qualified(dt.date.today())

    @dual_qualified.inplace.expression
    @classmethod
    def _dual_qualified_expression(cls):
        return cls.dual_qualified_on(dt.date.today())

    def __str__(self):
        return str(self.name)

    def __repr__(self):
        return f"Agency(id={self.id!r}, credit_code={self.credit_code!r}, name={self.name!r})"


class Qualification(ValidityWindow, Record):
    __tablename__ = "qd_qualification"
    starts_attr, ends_attr = "issued_on", "expires_on"

    agency_id = _agency_fk(__tablename__)
    agency = relationship("Agency", back_populates="qualifications")
    category = sa.Column(sa.String(20), nullable=False, index=True)
    grade = sa.Column(sa.String(10), nullable=False)
    cert_no = sa.Column(sa.String(64), nullable=False)
    issuer = sa.Column(sa.String(100), nullable=False)
    issued_on = sa.Column(sa.Date, nullable=False)
    expires_on = sa.Column(sa.Date, nullable=False, index=True)
    scope = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(10), nullable=False, index=True)

    __table_args__ = (sa.UniqueConstraint("cert_no", name="uq_qd_qualification_key"),)

    def __str__(self):
        return f"{self.cert_no} {self.category}{self.grade}"

    def __repr__(self):
        return f"Qualification(id={self.id!r}, cert_no={self.cert_no!r})"


class Review(Record):
    """One blind-reviewed report. Rows of a published batch (ReviewBatch) are read-only."""
    __tablename__ = "qd_review"

    year = sa.Column(sa.Integer, nullable=False)
    period = sa.Column(sa.Integer, nullable=False)
    category = sa.Column(sa.String(20), nullable=False)
    blind_no = sa.Column(sa.String(50), nullable=False)
    agency_id = _agency_fk(__tablename__)
    agency = relationship("Agency", back_populates="reviews")
    report_no = sa.Column(sa.String(100), nullable=False, index=True)
    report_type = sa.Column(sa.String(20), nullable=False)
    project_name = sa.Column(sa.String(255), nullable=False, index=True)
    issued_on = sa.Column(sa.Date, nullable=False)
    score = sa.Column(sa.Numeric(4, 1), nullable=False)
    grade = sa.Column(sa.String(10), index=True)  # derived from score when not given
    problems = sa.Column(sa.Text)
    site_check = sa.Column(sa.String(10))
    measure = sa.Column(sa.String(10))

    __table_args__ = (sa.UniqueConstraint("year", "period", "category", "blind_no",
                                          name="uq_qd_review_key"),)

    @property
    def batch_key(self) -> tuple[int, int, str]:
        """(year, period, category): the ReviewBatch this row belongs to."""
        return (self.year, self.period, self.category)

    @staticmethod
    def fill_derived(values: dict) -> dict:
        """The values with 等级 derived from 得分 when empty (as stored on save)."""
        if values.get("grade") is None and values.get("score") is not None:
            values = {**values, "grade": grade_for(values["score"])}
        return values

    def __str__(self):
        return f"{self.year}年第{self.period}期{self.category} {self.blind_no}"

    def __repr__(self):
        return (f"Review(id={self.id!r}, year={self.year!r}, period={self.period!r}, "
                f"category={self.category!r}, blind_no={self.blind_no!r})")


@sa.event.listens_for(Review, "before_insert")
@sa.event.listens_for(Review, "before_update")
def _derive_grade(mapper, connection, target: Review) -> None:
    if target.grade is None and target.score is not None:
        target.grade = grade_for(target.score)


class ReviewBatch(Record):
    """A batch of reviews (年度 + 期次 + 盲审类别), published as a whole; not an imported list.

    Reviews name their batch by the same three fields (no foreign key).
    """
    __tablename__ = "qd_review_batch"

    year = sa.Column(sa.Integer, nullable=False)
    period = sa.Column(sa.Integer, nullable=False)
    category = sa.Column(sa.String(20), nullable=False)
    status = sa.Column(sa.String(10), nullable=False, default=BATCH_DRAFT, index=True)
    approved_on = sa.Column(sa.DateTime)
    approved_by_fk = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id",
                                                         name="fk_qd_review_batch_approved_by"))
    approved_by = relationship("User", foreign_keys=[approved_by_fk])
    published_on = sa.Column(sa.DateTime)
    published_by_fk = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id",
                                                          name="fk_qd_review_batch_published_by"))
    published_by = relationship("User", foreign_keys=[published_by_fk])
    revision = sa.Column(sa.Integer, nullable=False, default=1)
    # What happened to the batch, oldest first, never edited: each publication and each
    # withdrawal for a revision, as {"event", "revision", "on", "by", "by_id", "note"}.
    history = sa.Column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("year", "period", "category",
                                          name="uq_qd_review_batch_key"),)

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.year, self.period, self.category)

    def __str__(self):
        text = f"{self.year}年第{self.period}期{self.category}"
        return f"{text}（第{self.revision}版）" if (self.revision or 1) > 1 else text

    def __repr__(self):
        return (f"ReviewBatch(id={self.id!r}, year={self.year!r}, period={self.period!r}, "
                f"category={self.category!r}, status={self.status!r})")


def batch_statuses(session, keys: Iterable[tuple]) -> dict[tuple, ReviewBatch]:
    """The batch rows of those of the given (year, period, category) keys that have one."""
    wanted = {tuple(k) for k in keys if None not in tuple(k)}
    if not wanted:
        return {}
    rows = session.scalars(sa.select(ReviewBatch).where(
        ReviewBatch.year.in_({k[0] for k in wanted}),
        ReviewBatch.period.in_({k[1] for k in wanted}),
        ReviewBatch.category.in_({k[2] for k in wanted})))
    return {b.key: b for b in rows if b.key in wanted}


def batch_lock_reason(batch: ReviewBatch | None) -> str | None:
    """Why the reviews of this batch may not be written now (None: a draft, free to edit)."""
    if batch is None or batch.status == BATCH_DRAFT:
        return None
    name = f"{batch.year}年第{batch.period}期{batch.category}"
    if batch.status == BATCH_PUBLISHED:
        return (f"{name}（第{batch.revision}版）已发布，其盲审结果不能修改：如需更正，"
                "请科长在「盲审批次」中撤回修订（版本号加一，已发布的版本留档可查），"
                "修改后重新审核发布")
    return (f"{name}已审核待发布，其盲审结果不能修改：如需修改，"
            "请科长在「盲审批次」中退回后再修改")


def review_locks(session, records: list[dict]) -> list[str | None]:
    """Sheet.locked of 报告盲审结果: a review of an approved or published batch is read-only
    (one query for all the records)."""
    keys = [(r.get("year"), r.get("period"), r.get("category")) for r in records]
    batches = batch_statuses(session, keys)
    return [batch_lock_reason(batches.get(k)) for k in keys]


class Interview(Record):
    __tablename__ = "qd_interview"

    agency_id = sa.Column(sa.Integer, sa.ForeignKey("qd_agency.id", ondelete="RESTRICT",
                                                    name="fk_qd_interview_agency"),
                          nullable=False)  # leads the key constraint: indexed by it
    agency = relationship("Agency", back_populates="interviews")
    interviewed_on = sa.Column(sa.Date, nullable=False, index=True)
    reason = sa.Column(sa.Text, nullable=False)
    interviewer = sa.Column(sa.String(100), nullable=False)
    interviewee = sa.Column(sa.String(50), nullable=False)
    interviewee_role = sa.Column(sa.String(10), nullable=False)
    requirements = sa.Column(sa.Text, nullable=False)
    deadline = sa.Column(sa.Date, nullable=False)
    result = sa.Column(sa.String(10), index=True)

    __table_args__ = (sa.UniqueConstraint("agency_id", "interviewed_on",
                                          name="uq_qd_interview_key"),)

    def __str__(self):
        date = self.interviewed_on.isoformat() if self.interviewed_on else ""
        return f"{self.agency or ''} {date}".strip()

    def __repr__(self):
        return (f"Interview(id={self.id!r}, agency_id={self.agency_id!r}, "
                f"interviewed_on={self.interviewed_on!r})")


# -- rules -------------------------------------------------------------------------------------
def expiry_after_issue(r: dict) -> Iterator[Problem]:
    start, end = r.get("issued_on"), r.get("expires_on")
    if start and end and end <= start:
        yield error("expires_on", f"「有效期至」{end.isoformat()} 应晚于「发证日期」"
                                  f"{start.isoformat()}：请核对两个日期")


def grade_c_only_for_occupational_health(r: dict) -> Iterator[Problem]:
    if r.get("grade") == "丙级" and r.get("category") and r["category"] != OCCUPATIONAL_HEALTH:
        yield error("grade", f"丙级资质只适用于职业卫生技术服务，本证书的「资质类别」是"
                             f"{r['category']}：请更正资质等级或资质类别")


def grade_agrees_with_score(r: dict) -> Iterator[Problem]:
    given, derived = r.get("grade"), grade_for(r.get("score"))
    if given and derived and given != derived:
        yield warning("grade", f"「等级」填写为“{given}”，但按「得分」{r['score']} 应为“{derived}”："
                               "请核对；留空则按得分自动评定")


def deadline_after_interview(r: dict) -> Iterator[Problem]:
    start, end = r.get("interviewed_on"), r.get("deadline")
    if start and end and end <= start:
        yield error("deadline", f"「整改期限」{end.isoformat()} 应晚于「约谈日期」"
                                f"{start.isoformat()}：请核对两个日期")


# -- sheets ------------------------------------------------------------------------------------
def _agency_columns(aliases=("机构信用代码",)) -> list[Col]:
    return [
        Col("统一社会信用代码", "agency.credit_code", CreditCode(), required=True, aliases=aliases,
            note="须为已登记的机构"),
        Col("机构名称", "agency.name", Text(), info=True, note="仅供核对，不导入"),
    ]


agencies = Sheet(
    slug="agencies", title="技术服务机构", model=Agency, key=("credit_code",), group=GROUP,
    columns=[
        Col("机构名称", "name", Text(), required=True, aliases=("单位名称",)),
        Col("统一社会信用代码", "credit_code", CreditCode(), required=True, aliases=("信用代码",)),
        Col("单位性质", "org_type", Enum(AGENCY_TYPES), required=True),
        Col("法定代表人", "legal_representative", Text(50, person_name=True), required=True,
            aliases=("法人代表",)),
        Col("技术负责人", "technical_lead", Text(50, person_name=True)),
        Col("注册地址", "address", Text(), required=True, aliases=("地址",)),
        Col("所在区", "district", _district(), aliases=("区县",)),
        Col("联系人", "contact", Text(50, person_name=True)),
        Col("联系电话", "phone", Phone(), aliases=("电话",)),
        Col("状态", "status", Enum(AGENCY_STATUSES), required=True, aliases=("执业状态",)),
    ],
    order_by=("name",),
    search=("name", "credit_code", "org_type", "district", "status", "dual_qualified"),
    list_fields=("name", "credit_code", "org_type", "district", "dual_qualified", "status"),
)

qualifications = Sheet(
    slug="qualifications", title="机构资质证书", model=Qualification, key=("cert_no",),
    group=GROUP,
    columns=[
        *_agency_columns(),
        Col("资质类别", "category", Enum(QUALIFICATION_CATEGORIES), required=True),
        Col("资质等级", "grade", Enum(QUALIFICATION_GRADES, QUALIFICATION_GRADE_SYNONYMS),
            required=True, aliases=("等级",), note="丙级仅限职业卫生技术服务"),
        Col("证书编号", "cert_no", Text(64), required=True),
        Col("发证机关", "issuer", Text(100), required=True),
        Col("发证日期", "issued_on", Date(), required=True, group_forms=("有效期起", "有效期自")),
        Col("有效期至", "expires_on", Date(), required=True, aliases=("有效期",),
            group_forms=("有效期止",),
            note="应晚于发证日期"),
        Col("业务范围", "scope", Multi(), required=True),
        Col("证书状态", "status", Enum(CERTIFICATE_STATUSES), required=True, aliases=("状态",),
            note="是否过期按有效期至自动判断，无需填写"),
    ],
    rules=[expiry_after_issue, grade_c_only_for_occupational_health],
    order_by=("agency_id", "category", "issued_on"),
    search=("agency", "cert_no", "category", "grade", "status", "expires_on"),
    list_fields=("agency", "category", "grade", "cert_no", "issued_on", "expires_on", "status"),
)

reviews = Sheet(
    slug="reviews", title="报告盲审结果", model=Review,
    key=("year", "period", "category", "blind_no"), group=GROUP, derive=Review.fill_derived,
    locked=review_locks,
    columns=[
        Col("年度", "year", Integer(min_value=2000, max_value=2100), required=True),
        Col("期次", "period", Integer(min_value=1), required=True, aliases=("批次",)),
        Col("盲审类别", "category", Enum(REVIEW_CATEGORIES), required=True),
        Col("盲审编号", "blind_no", Text(50), required=True, note="同一批次内唯一"),
        *_agency_columns(),
        Col("报告编号", "report_no", Text(100), required=True),
        Col("报告类型", "report_type", Enum(REPORT_TYPES), required=True),
        Col("项目名称", "project_name", Text(), required=True),
        Col("出具日期", "issued_on", Date(), required=True, aliases=("报告日期",)),
        Col("得分", "score", Score(1, 0, 100), required=True, aliases=("评分", "分数"),
            note="0–100，一位小数"),
        Col("等级", "grade", Enum(REVIEW_GRADES), aliases=("评定等级",),
            note="留空则按得分自动评定"),
        Col("主要问题", "problems", LongText()),
        Col("现场核查结论", "site_check", Enum(SITE_CHECK_CONCLUSIONS)),
        Col("处理措施", "measure", Enum(REVIEW_MEASURES)),
    ],
    rules=[grade_agrees_with_score],
    order_by=("year", "period", "category", "blind_no"),
    search=("year", "period", "category", "blind_no", "agency", "report_no", "project_name",
            "grade"),
    list_fields=("year", "period", "category", "blind_no", "agency", "report_type", "score",
                 "grade"),
)

interviews = Sheet(
    slug="interviews", title="警示约谈", model=Interview, key=("agency", "interviewed_on"),
    group=GROUP,
    columns=[
        *_agency_columns(),
        Col("约谈日期", "interviewed_on", Date(), required=True),
        Col("约谈事由", "reason", LongText(), required=True, aliases=("事由",)),
        Col("约谈人", "interviewer", Text(100), required=True),
        Col("被约谈人", "interviewee", Text(50, person_name=True), required=True),
        Col("被约谈人职务", "interviewee_role", Enum(INTERVIEWEE_ROLES), required=True),
        Col("整改要求", "requirements", LongText(), required=True),
        Col("整改期限", "deadline", Date(), required=True, note="应晚于约谈日期"),
        Col("整改结果", "result", Enum(RECTIFICATION_RESULTS)),
    ],
    rules=[deadline_after_interview],
    order_by=("interviewed_on", "agency_id"),
    search=("agency", "interviewed_on", "interviewee", "deadline", "result"),
    list_fields=("agency", "interviewed_on", "interviewee", "interviewee_role", "deadline",
                 "result"),
)

sheets.add(agencies, qualifications, reviews, interviews)
