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

from app.models import Record, ValidityWindow, now
from app.settings import setting
from app.sheets.declare import (
    Col,
    Link,
    Preset,
    Problem,
    Public,
    Sheet,
    error,
    sheets,
    warning,
)
from app.sheets.rules import dates_in_order
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
BATCH_DRAFT, BATCH_SUBMITTED, BATCH_APPROVED, BATCH_PUBLISHED = "草稿", "待审核", "已审核", "已发布"
BATCH_STATUSES = (BATCH_DRAFT, BATCH_SUBMITTED, BATCH_APPROVED, BATCH_PUBLISHED)
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
    # The 警示约谈 opened from this report (Interview.review: a link, not a spreadsheet column).
    interviews = relationship("Interview", back_populates="review",
                              order_by=lambda: Interview.interviewed_on)

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

    Reviews name their batch by the same three fields (no foreign key). Its workflow
    (app/reviews.py): 草稿 → 待审核 (a clerk's 提交审核) → 已审核 → 已发布, or back to 草稿 with a
    reason (退回, `returned_on` set until it is submitted again).
    """
    __tablename__ = "qd_review_batch"

    year = sa.Column(sa.Integer, nullable=False)
    period = sa.Column(sa.Integer, nullable=False)
    category = sa.Column(sa.String(20), nullable=False)
    status = sa.Column(sa.String(10), nullable=False, default=BATCH_DRAFT, index=True)
    submitted_on = sa.Column(sa.DateTime)
    submitted_by_fk = sa.Column(sa.Integer, sa.ForeignKey(
        "ab_user.id", name="fk_qd_review_batch_submitted_by"))
    submitted_by = relationship("User", foreign_keys=[submitted_by_fk])
    returned_on = sa.Column(sa.DateTime)  # a 草稿 sent back (退回) and not submitted since
    returned_by_fk = sa.Column(sa.Integer, sa.ForeignKey(
        "ab_user.id", name="fk_qd_review_batch_returned_by"))
    returned_by = relationship("User", foreign_keys=[returned_by_fk])
    return_reason = sa.Column(sa.String(500))
    approved_on = sa.Column(sa.DateTime)
    approved_by_fk = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id",
                                                         name="fk_qd_review_batch_approved_by"))
    approved_by = relationship("User", foreign_keys=[approved_by_fk])
    published_on = sa.Column(sa.DateTime)
    published_by_fk = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id",
                                                          name="fk_qd_review_batch_published_by"))
    published_by = relationship("User", foreign_keys=[published_by_fk])
    revision = sa.Column(sa.Integer, nullable=False, default=1)
    # What happened to the batch, oldest first, never edited: each workflow action (提交审核,
    # 退回, 审核通过, 发布, 撤回修订) for a revision, as {"event", "revision", "on", "by", "by_id",
    # "reports", "note"}.
    history = sa.Column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("year", "period", "category",
                                          name="uq_qd_review_batch_key"),)

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.year, self.period, self.category)

    @property
    def returned(self) -> bool:
        """A 草稿 that a 科长 sent back (退回) and nobody has submitted again since."""
        return self.status == BATCH_DRAFT and self.returned_on is not None

    def __str__(self):
        text = f"{self.year}年第{self.period}期{self.category}"
        return f"{text}（第{self.revision}版）" if (self.revision or 1) > 1 else text

    def __repr__(self):
        return (f"ReviewBatch(id={self.id!r}, year={self.year!r}, period={self.period!r}, "
                f"category={self.category!r}, status={self.status!r})")


# A batch row that only holds a batch's key, inside one transaction: see lock_batches.
PLACEHOLDER_REVISION = 0


def lock_batches(session, keys: Iterable[tuple]) -> dict[tuple, ReviewBatch | None]:
    """The batch rows of these (year, period, category) keys as they are now, each locked
    until the transaction ends (None: no row yet, a draft of revision 1).

    Every write to a review and every workflow action calls this in the transaction of its
    write, before deciding: a 科长's 审核通过 and a clerk's save sent at the same moment are
    then one after the other, never interleaved (issue 6 §6). PostgreSQL and MariaDB lock the
    row (SELECT … FOR UPDATE). A key without a row is held by a placeholder row, inserted and
    deleted again in this transaction: its unique key makes whoever creates the batch
    meanwhile wait for our commit, and nothing is left behind. SQLite has one writer at a
    time: the placeholder's INSERT, the first write, takes the database's write lock, so
    what is read next cannot change before our commit.
    """
    table = ReviewBatch.__table__
    dialect = session.get_bind().dialect.name
    wanted = sorted({tuple(k) for k in keys if _storable(tuple(k))},
                    key=lambda k: tuple(map(str, k)))  # one order for all: no deadlock
    out: dict[tuple, ReviewBatch | None] = {}
    for key in wanted:
        batch = _locked_batch(session, key) if dialect == "postgresql" else None
        if batch is None:  # PostgreSQL: no row (the usual case needs no placeholder)
            session.execute(_placeholder(dialect, key))
            batch = _locked_batch(session, key)
        if batch is not None and batch.revision == PLACEHOLDER_REVISION:  # ours, not committed
            session.execute(sa.delete(table).where(table.c.id == batch.id))
            session.expunge(batch)
            batch = None
        out[key] = batch
    return out


def _storable(key: tuple) -> bool:
    """Whether a batch row could have this key. One that could not (a missing part, a period
    beyond the integer column) names no batch, and the review's own write will be refused."""
    year, period, category = key
    return (all(isinstance(n, int) and not isinstance(n, bool) and -2**31 <= n < 2**31
                for n in (year, period))
            and isinstance(category, str) and 0 < len(category) <= 20)


def _locked_batch(session, key: tuple) -> ReviewBatch | None:
    year, period, category = key
    return session.scalar(
        sa.select(ReviewBatch).where(ReviewBatch.year == year, ReviewBatch.period == period,
                                     ReviewBatch.category == category)
        .with_for_update().execution_options(populate_existing=True))


def _placeholder(dialect: str, key: tuple):
    """INSERT a placeholder for the key unless its row exists. MariaDB: ON DUPLICATE KEY
    UPDATE, which locks an existing row exclusively (INSERT IGNORE would take a shared lock,
    and two writers upgrading theirs deadlock); no SELECT … FOR UPDATE before it, whose gap
    lock on a missing key deadlocks two writers inserting into the same gap."""
    year, period, category = key
    stamp = now()
    values = dict(year=year, period=period, category=category, status=BATCH_DRAFT,
                  revision=PLACEHOLDER_REVISION, version=1, created_on=stamp, changed_on=stamp)
    table = ReviewBatch.__table__
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert
        return insert(table).values(values).on_duplicate_key_update(year=table.c.year)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).values(values).on_conflict_do_nothing(
        index_elements=["year", "period", "category"])


def batch_lock_reason(batch: ReviewBatch | None) -> str | None:
    """Why the reviews of this batch may not be written now (None: a draft, free to edit)."""
    if batch is None or batch.status == BATCH_DRAFT:
        return None
    name = f"{batch.year}年第{batch.period}期{batch.category}"
    if batch.status == BATCH_SUBMITTED:
        # Locked from submission: the 科长 approves what was submitted, not what a clerk
        # changed after the confirmation page counted it.
        return (f"{name}已提交审核，其盲审结果不能修改：如需修改，"
                "请科长在「盲审批次」中退回后再修改")
    if batch.status == BATCH_PUBLISHED:
        return (f"{name}（第{batch.revision}版）已发布，其盲审结果不能修改：如需更正，"
                "请科长在「盲审批次」中撤回修订（版本号加一，已发布的版本留档可查），"
                "修改后重新审核发布")
    return (f"{name}已审核待发布，其盲审结果不能修改：如需修改，"
            "请科长在「盲审批次」中退回后再修改")


def review_locks(session, records: list[dict]) -> list[str | None]:
    """Sheet.locked of 报告盲审结果: a review of an approved or published batch is read-only.
    Asked in the transaction of the write, it locks the batches it answers for (until the
    write commits): an approval cannot slip in between this check and the write."""
    keys = [(r.get("year"), r.get("period"), r.get("category")) for r in records]
    batches = lock_batches(session, keys)
    return [batch_lock_reason(batches.get(k)) for k in keys]


class Interview(Record):
    __tablename__ = "qd_interview"

    agency_id = sa.Column(sa.Integer, sa.ForeignKey("qd_agency.id", ondelete="RESTRICT",
                                                    name="fk_qd_interview_agency"),
                          nullable=False)  # leads the key (uq_…_key): indexed by it
    agency = relationship("Agency", back_populates="interviews")
    interviewed_on = sa.Column(sa.Date, nullable=False, index=True)
    reason = sa.Column(sa.Text, nullable=False)
    interviewer = sa.Column(sa.String(100), nullable=False)
    interviewee = sa.Column(sa.String(50), nullable=False)
    interviewee_role = sa.Column(sa.String(10), nullable=False)
    requirements = sa.Column(sa.Text, nullable=False)
    deadline = sa.Column(sa.Date, nullable=False)
    result = sa.Column(sa.String(10), index=True)
    # The blind-reviewed report the interview was opened from (none for others). A link set on
    # the screens (Sheet.links), not a column of the bureau's spreadsheet.
    review_id = sa.Column(sa.Integer, sa.ForeignKey("qd_review.id", ondelete="RESTRICT",
                                                    name="fk_qd_interview_review"),
                          nullable=True, index=True)
    review = relationship("Review", back_populates="interviews")

    def __str__(self):
        date = self.interviewed_on.isoformat() if self.interviewed_on else ""
        return f"{self.agency or ''} {date}".strip()

    def __repr__(self):
        return (f"Interview(id={self.id!r}, agency_id={self.agency_id!r}, "
                f"interviewed_on={self.interviewed_on!r})")


# -- rules -------------------------------------------------------------------------------------
def grade_c_only_for_occupational_health(r: dict) -> Iterator[Problem]:
    if r.get("grade") == "丙级" and r.get("category") and r["category"] != OCCUPATIONAL_HEALTH:
        yield error("grade", f"丙级资质只适用于职业卫生技术服务，本证书的「资质类别」是"
                             f"{r['category']}：请更正资质等级或资质类别")


def grade_agrees_with_score(r: dict) -> Iterator[Problem]:
    given, derived = r.get("grade"), grade_for(r.get("score"))
    if given and derived and given != derived:
        yield warning("grade", f"「等级」填写为“{given}”，但按「得分」{r['score']} 应为“{derived}”："
                               "请核对；留空则按得分自动评定")


def review_of_the_interviewed_agency(r: dict) -> Iterator[Problem]:
    review, agency = r.get("review"), r.get("agency")
    if review is not None and agency is not None and review.agency_id != agency.id:
        yield error("agency", f"关联的盲审报告「{review}」是{review.agency}的报告，"
                              f"不是{agency}的：请选择该报告的出具机构，或取消关联")


def interview_from_review(review: Review) -> dict:
    """What a 警示约谈 opened from a reviewed report starts with: the agency, and a reason
    that cites the result (not the 盲审编号: the reason of an interview is public)."""
    said = [f"{review.year}年第{review.period}期{review.category}盲审："
            f"{review.agency}出具的《{review.project_name}》{review.report_type}报告"
            f"（报告编号 {review.report_no}）得分 {review.score}"
            + (f"，评定为{review.grade}" if review.grade else "") + "。"]
    if review.problems:
        said.append(f"主要问题：{review.problems.strip().rstrip('。')}。")
    if review.site_check:
        said.append(f"现场核查结论：{review.site_check}。")
    return {"agency": review.agency, "reason": "".join(said)}


# -- named filters (the dashboard links to them) ------------------------------------------------
def _certificate_window() -> int:
    return int(setting("CERTIFICATE_EXPIRY_WARNING_DAYS"))


def certificates_expiring():
    """有效 certificates whose 有效期至 falls within the warning window from today."""
    today = dt.date.today()
    return sa.and_(Qualification.status == VALID, Qualification.expires_on >= today,
                   Qualification.expires_on <= today + dt.timedelta(days=_certificate_window()))


def certificates_expired_but_valid():
    """Past 有效期至 while 证书状态 still says 有效 (有效状态 shows 已过期 on the same row)."""
    return sa.and_(Qualification.status == VALID, Qualification.expires_on < dt.date.today())


def rectification_overdue():
    """Interviews past their 整改期限 with no 整改结果 recorded."""
    return sa.and_(Interview.result.is_(None), Interview.deadline < dt.date.today())


# -- sheets ------------------------------------------------------------------------------------
def _agency_columns(aliases=("机构信用代码",)) -> list[Col]:
    return [
        Col("统一社会信用代码", "agency.credit_code", CreditCode(), required=True, aliases=aliases,
            note="须为已登记的机构"),
        Col("机构名称", "agency.name", Text(), info=True),
    ]


agencies = Sheet(
    slug="agencies", title="技术服务机构", model=Agency, key=("credit_code",), group=GROUP,
    menu_order=50,
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
    computed={"dual_qualified": "双资质"},
    # The public directory: no person (法定代表人, 联系人) and no phone.
    public=Public(("name", "credit_code", "org_type", "district", "status", "dual_qualified")),
)

qualifications = Sheet(
    slug="qualifications", title="机构资质证书", model=Qualification, key=("cert_no",),
    group=GROUP, menu_order=60,
    columns=[
        *_agency_columns(),
        Col("资质类别", "category", Enum(QUALIFICATION_CATEGORIES), required=True),
        Col("资质等级", "grade", Enum(QUALIFICATION_GRADES, QUALIFICATION_GRADE_SYNONYMS),
            required=True, aliases=("等级",), note="丙级仅限职业卫生技术服务"),
        Col("证书编号", "cert_no", Text(64), required=True),
        Col("发证机关", "issuer", Text(100), required=True),
        Col("发证日期", "issued_on", Date(), required=True, group_forms=("有效期起", "有效期自")),
        Col("有效期至", "expires_on", Date(), required=True, aliases=("有效期",),
            group_forms=("有效期止",)),
        Col("业务范围", "scope", Multi(), required=True),
        Col("证书状态", "status", Enum(CERTIFICATE_STATUSES), required=True, aliases=("状态",),
            note="是否过期按有效期至自动判断，无需填写"),
    ],
    rules=[dates_in_order("issued_on", "expires_on"), grade_c_only_for_occupational_health],
    order_by=("agency_id", "category", "issued_on"),
    search=("agency", "cert_no", "category", "grade", "status", "expires_on"),
    list_fields=("agency", "category", "grade", "cert_no", "issued_on", "expires_on", "status",
                 "validity"),
    computed=ValidityWindow.COMPUTED,
    public=Public(("agency.name", "agency.credit_code", "category", "grade", "cert_no", "issuer",
                   "issued_on", "expires_on", "scope", "status", "validity")),
    presets={
        "expiring": Preset(lambda: f"{_certificate_window()} 天内到期的有效证书",
                           certificates_expiring, index=("status", "expires_on")),
        "expired_but_valid": Preset("已过有效期但证书状态仍为有效", certificates_expired_but_valid,
                                    index=("status", "expires_on")),
    },
)

reviews = Sheet(
    slug="reviews", title="报告盲审结果", model=Review,
    key=("year", "period", "category", "blind_no"), group=GROUP, menu_order=70,
    derive=Review.fill_derived,
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
    # Public only as published in a batch (never live, never 盲审编号).
    public=Public(("year", "period", "category", "agency.name", "agency.credit_code",
                   "report_no", "report_type", "project_name", "issued_on", "score", "grade",
                   "problems", "site_check", "measure"), listed=False),
)

interviews = Sheet(
    slug="interviews", title="警示约谈", model=Interview, key=("agency", "interviewed_on"),
    group=GROUP, menu_order=80,
    columns=[
        *_agency_columns(),
        Col("约谈日期", "interviewed_on", Date(), required=True),
        Col("约谈事由", "reason", LongText(), required=True, aliases=("事由",)),
        Col("约谈人", "interviewer", Text(100), required=True),
        Col("被约谈人", "interviewee", Text(50, person_name=True), required=True),
        Col("被约谈人职务", "interviewee_role", Enum(INTERVIEWEE_ROLES), required=True),
        Col("整改要求", "requirements", LongText(), required=True),
        Col("整改期限", "deadline", Date(), required=True),
        Col("整改结果", "result", Enum(RECTIFICATION_RESULTS)),
    ],
    rules=[dates_in_order("interviewed_on", "deadline"), review_of_the_interviewed_agency],
    # Opened from a report's page (发起警示约谈): the report it is about, kept as a link.
    links={"review": Link("盲审报告", start="发起警示约谈", prefill=interview_from_review)},
    order_by=("interviewed_on", "agency_id"),
    search=("agency", "interviewed_on", "interviewee", "deadline", "result"),
    list_fields=("agency", "interviewed_on", "interviewee", "interviewee_role", "deadline",
                 "result"),
    # No person (约谈人, 被约谈人) and not the requirements' wording: the fact and its result.
    public=Public(("agency.name", "agency.credit_code", "interviewed_on", "reason", "deadline",
                   "result")),
    presets={"rectification_overdue": Preset("整改期限已过、尚无整改结果的约谈",
                                             rectification_overdue,
                                             index=("result", "deadline"))},
)

sheets.add(agencies, qualifications, reviews, interviews)
