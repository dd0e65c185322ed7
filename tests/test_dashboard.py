"""首页 (app/web/dashboard.py): what needs attention, each number linking to exactly the records
it counts (named filters, app/web/presets.py; batch queues, app/web/queues.py)."""
from __future__ import annotations

import datetime as dt
import html
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from conftest import login as first_login
from factories import (
    TODAY,
    add,
    make_agency,
    make_enterprise,
    make_expert,
    make_qualification,
    text_of,
    user_id,
)
from sqlalchemy import event

from app import db
from app.drafts import ImportDraft
from app.lists.agencies import Interview, Review, ReviewBatch
from app.lists.deposits import Deposit, Policy
from app.models import ImportBatch, now

DAY = dt.timedelta(days=1)


def login(client, name: str):
    client.get("/logout/")
    return first_login(client, name)


def policy(enterprise, n, ends_on, status="有效", starts_on=None):
    return Policy(policy_no=f"PL-{n:04d}", insurer="示例保险公司", enterprise=enterprise,
                  kind="安全生产责任保险", starts_on=starts_on or TODAY - 300 * DAY,
                  ends_on=ends_on, insured_count=50, per_person_limit=Decimal("500000"),
                  per_accident_limit=Decimal("5000000"), total_limit=Decimal("10000000"),
                  premium=Decimal("12000"), payment_status="已缴", status=status)


def deposit(enterprise, year, status, **kw):
    values = dict(enterprise=enterprise, year=year, approved_amount=Decimal("1000000"),
                  bank="示例银行", account_no="6222020000123456", status=status)
    values.update(kw)
    return Deposit(**values)


def interview(agency, days_ago, deadline_in, result=None):
    return Interview(agency=agency, interviewed_on=TODAY - days_ago * DAY, reason="报告质量问题",
                     interviewer="监管处", interviewee="王某", interviewee_role="技术负责人",
                     requirements="限期整改", deadline=TODAY + deadline_in * DAY, result=result)


def review(agency, year, period, blind_no, score="80"):
    return Review(year=year, period=period, category="安全评价报告", blind_no=blind_no,
                  agency=agency, report_no=f"R-{blind_no}", report_type="安全预评价",
                  project_name=f"项目{blind_no}", issued_on=dt.date(year, 3, 1),
                  score=Decimal(score))


def import_batch(errors, created_on, undone=False):
    return ImportBatch(slug="experts", list_title="安全生产专家库", file_name="专家.xlsx",
                       file_size=100, sha256="0" * 64, options={}, errors=errors,
                       created_on=created_on, undone=undone, source="web")


@pytest.fixture
def attention_data(app):
    """Records of every kind, a few in each warning and a few just outside it."""
    clerk, head = user_id(app, "clerk"), user_id(app, "head")
    a1, a2 = make_agency(1), make_agency(2)
    risky = [make_enterprise(i, industry="危化品生产") for i in range(1, 7)]
    safe_sector = make_enterprise(7, industry="交通运输")
    add(app,
        # certificates: expiring in 30 days; in 200 days; expired but 有效; expired 暂停;
        # expiring in 10 days but 撤销
        make_qualification(a1, 1, expires=TODAY + 30 * DAY),
        make_qualification(a1, 2, expires=TODAY + 200 * DAY),
        make_qualification(a1, 3, expires=TODAY - 10 * DAY),
        make_qualification(a2, 4, expires=TODAY - 10 * DAY, status="暂停"),
        make_qualification(a2, 5, expires=TODAY + 10 * DAY, status="撤销"),
        # experts: term ends in 30 days; ended 10 days ago while 在聘; ended but 暂停
        make_expert(1, term_ends_on=TODAY + 30 * DAY, appointed_on=TODAY - 900 * DAY),
        make_expert(2, term_ends_on=TODAY - 10 * DAY, appointed_on=TODAY - 900 * DAY),
        make_expert(3, term_ends_on=TODAY - 10 * DAY, appointed_on=TODAY - 900 * DAY,
                    status="暂停"),
        make_expert(4, term_ends_on=TODAY + 400 * DAY, appointed_on=TODAY - 900 * DAY),
        # interviews: overdue without result; overdue with result; deadline ahead
        interview(a1, 60, -5), interview(a2, 60, -5, result="已整改"), interview(a1, 5, 20),
        # enterprises 1-6 are high-risk: 1 insured today; 2 deposited this year; 3 has only a
        # deposit still 待存储; 4 an expired policy; 5 and 6 nothing; 7 is not high-risk
        policy(risky[0], 1, TODAY + 10 * DAY),          # valid, expiring within 30 days
        policy(risky[3], 2, TODAY - 20 * DAY),          # expired
        policy(risky[4], 3, TODAY + 5 * DAY, status="已退保"),
        policy(safe_sector, 4, TODAY + 60 * DAY),
        deposit(risky[1], TODAY.year, "已足额", deposited_amount=Decimal("1000000")),
        deposit(risky[2], TODAY.year, "待存储"),
        deposit(risky[5], TODAY.year - 1, "未足额"),   # last year's: overdue, and no cover
        deposit(risky[4], TODAY.year - 2, "已足额", deposited_amount=Decimal("1000000")),
        deposit(risky[0], TODAY.year + 1, "待存储"),   # next year's: not due yet
        safe_sector,
        # review batches: 2016-1 has no row (a draft); 2016-2 approved; 2016-3 withdrawn
        # for correction (a draft of revision 2); 2016-4 submitted by the clerk, 2016-6 by
        # the head (who may not approve it); 2016-5 returned to the clerk who submitted it
        review(a1, 2016, 1, "A1"), review(a2, 2016, 1, "A2"), review(a1, 2016, 2, "B1"),
        review(a1, 2016, 3, "C1"), review(a1, 2016, 4, "D1"), review(a2, 2016, 5, "E1"),
        review(a2, 2016, 6, "F1"),
        ReviewBatch(year=2016, period=2, category="安全评价报告", status="已审核", revision=1,
                    history=[]),
        ReviewBatch(year=2016, period=3, category="安全评价报告", status="草稿", revision=2,
                    history=[]),
        ReviewBatch(year=2016, period=4, category="安全评价报告", status="待审核", revision=1,
                    submitted_by_fk=clerk, submitted_on=now(), history=[]),
        ReviewBatch(year=2016, period=5, category="安全评价报告", status="草稿", revision=1,
                    submitted_by_fk=clerk, submitted_on=now() - DAY, returned_by_fk=head,
                    returned_on=now(), return_reason="E1 得分有误", history=[]),
        ReviewBatch(year=2016, period=6, category="安全评价报告", status="待审核", revision=1,
                    submitted_by_fk=head, submitted_on=now(), history=[]),
        # imports: recent with errors; recent without; old with errors; undone with errors
        import_batch(2, now() - DAY), import_batch(0, now() - DAY),
        import_batch(3, now() - 90 * DAY), import_batch(1, now() - DAY, undone=True),
        # import drafts: two of the clerk's, one of the head's
        ImportDraft(slug="experts", user_id=clerk, file_name="a.xlsx", content=b"x"),
        ImportDraft(slug="powers", user_id=clerk, file_name="b.xlsx", content=b"x"),
        ImportDraft(slug="experts", user_id=head, file_name="c.xlsx", content=b"x"),
        *risky)
    return app


def attention_of(client) -> dict[str, tuple[int, str]]:
    """Label -> (count, url) of each number on the dashboard."""
    page = client.get("/").get_data(as_text=True)
    out = {}
    for row in re.findall(r'<tr data-attention="\d+">(.*?)</tr>', page, re.S):
        url, n = re.search(r'<a href="([^"]+)" class="qd-count"><span class="badge[^"]*">(\d+)',
                           row).groups()
        label = re.findall(r'<td><a href="[^"]+">(.*?)</a></td>', row)[0]
        out[html.unescape(label)] = (int(n), html.unescape(url))
    return out


def records_on(client, url: str) -> int:
    """How many records the page at `url` lists."""
    resp = client.get(url)
    assert resp.status_code == 200, url
    page = resp.get_data(as_text=True)
    if "data-batch=" in page or "/review-batches/" in url:
        return len(re.findall(r'<tr data-batch="', page))
    if "/my-drafts/" in url:
        return len(re.findall(r'<tr data-draft="', page))
    found = re.search(r"记录数目?:</strong>\s*(\d+)", page)
    if found is None:
        assert "没有找到记录" in page, url
        return 0
    return int(found[1])


EXPECTED_CLERK = {
    "90 天内到期的有效证书": 1, "已过有效期但证书状态仍为有效": 1,
    "90 天内聘期届满的在聘专家": 1, "聘期已满仍为在聘的专家": 1,
    "整改期限已过、尚无整改结果的约谈": 1,
    "高危行业中既无有效安责险保单、也无本年度抵押金的单位": 4,
    "逾期未足额存储的抵押金（待存储、未足额）": 1,
    "30 天内到期的有效保单": 1,
    "近 30 天内有错误行的导入": 1,
    "撤回修订、待更正的盲审批次": 1,
    "退回给我修改的盲审批次": 1,
    "我上传后尚未确认导入的文件": 2,
}


def with_settings(app, monkeypatch, values: dict) -> None:
    """Domain settings as QINGDAN_SETTINGS would give them (bound at create_app)."""
    from app.settings import EXTENSION
    for name, value in values.items():
        monkeypatch.setitem(app.extensions[EXTENSION], name, value)


def test_each_number_equals_the_records_of_the_list_it_opens(attention_data, client,
                                                              monkeypatch):
    # This year's deposits are not yet due (so the figures do not depend on today's date).
    with_settings(attention_data, monkeypatch, {"DEPOSIT_DUE_DATE": "12-31"})
    for user, expected in (
            ("clerk", EXPECTED_CLERK),
            ("head", {**{k: v for k, v in EXPECTED_CLERK.items()
                         if k != "撤回修订、待更正的盲审批次"},
                      "待审核的盲审批次": 1, "已审核待发布的盲审批次": 1,
                      "退回给我修改的盲审批次": 0, "我上传后尚未确认导入的文件": 1})):
        login(client, user)
        items = attention_of(client)
        assert {k: n for k, (n, _u) in items.items()} == expected, user
        for label, (n, url) in items.items():
            assert records_on(client, url) == n, (user, label, url)


def test_deposit_overdue_follows_the_due_date_setting(attention_data, client, monkeypatch):
    login(client, "clerk")
    label = "逾期未足额存储的抵押金（待存储、未足额）"
    # This year's 待存储 deposit (enterprise 3) is overdue once the due date is behind us.
    past = (TODAY - DAY).strftime("%m-%d") if TODAY.timetuple().tm_yday > 1 else None
    if past is not None:
        with_settings(attention_data, monkeypatch, {"DEPOSIT_DUE_DATE": past})
        n, url = attention_of(client)[label]
        assert n == 2 and records_on(client, url) == 2
    with_settings(attention_data, monkeypatch, {"DEPOSIT_DUE_DATE": "12-31"})
    n, url = attention_of(client)[label]
    # only last year's is overdue while this year's due date is ahead (or today)
    assert n == 1 and records_on(client, url) == 1


def test_the_head_who_submitted_a_batch_waits_for_it_only_when_allowed(attention_data, client,
                                                                     monkeypatch):
    login(client, "head")
    label = "待审核的盲审批次"
    assert attention_of(client)[label][0] == 1  # 2016-4; not 2016-6, the head's own
    with_settings(attention_data, monkeypatch, {"REVIEW_SELF_APPROVAL": True})
    n, url = attention_of(client)[label]
    assert n == 2 and records_on(client, url) == 2


def test_windows_and_sectors_are_settings(attention_data, client, monkeypatch):
    login(client, "clerk")
    with_settings(attention_data, monkeypatch, {"DEPOSIT_DUE_DATE": "12-31",
        "CERTIFICATE_EXPIRY_WARNING_DAYS": 365, "EXPERT_TERM_WARNING_DAYS": 10,
        "HIGH_RISK_INDUSTRIES": ["危化品生产", "交通运输"], "RECENT_IMPORT_DAYS": 120})
    items = attention_of(client)
    assert items["365 天内到期的有效证书"][0] == 2
    assert items["10 天内聘期届满的在聘专家"][0] == 0
    # enterprise 7 (交通运输) holds a valid policy: still 4
    assert items["高危行业中既无有效安责险保单、也无本年度抵押金的单位"][0] == 4
    assert items["近 120 天内有错误行的导入"][0] == 2
    for n, url in items.values():
        assert records_on(client, url) == n


def test_reader_sees_only_what_the_role_may_open(attention_data, client):
    login(client, "reader")
    items = attention_of(client)
    assert "我上传后尚未确认导入的文件" not in items  # no import right
    assert not any("盲审批次" in label for label in items)
    assert items["90 天内到期的有效证书"][0] == 1
    assert client.get("/my-drafts/").status_code in (302, 403)


def test_preset_joins_the_search_and_the_export(attention_data, client):
    login(client, "clerk")
    page = client.get("/qualifications/list/?preset=expired_but_valid")
    text = text_of(page)
    assert "仅显示： 已过有效期但证书状态仍为有效" in text and "APJ-0003" in text
    assert "APJ-0001" not in text and "APJ-0004" not in text
    # the page's other filters still apply on top of it
    assert records_on(client, "/qualifications/list/?preset=expired_but_valid"
                              "&_flt_0_cert_no=APJ-0001") == 0
    export = client.get("/lists/qualifications/export?preset=expired_but_valid")
    assert export.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(export.data)).active.values)
    assert len(rows) == 2 and "APJ-0003" in rows[1]
    # an unknown preset is ignored: the whole list
    assert records_on(client, "/qualifications/list/?preset=nonsense") == 5


def test_dashboard_counts_without_loading_records(attention_data, client):
    login(client, "head")
    statements = []

    def remember(_conn, _cursor, statement, *_args):
        statements.append(statement)
    with attention_data.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    from app.sheets.declare import sheets
    # What the dashboard asks (the session check of every request reads qd_login_session).
    lists = [s for s in statements if "qd_" in s and "qd_login_" not in s]
    assert lists, "the dashboard asked nothing of the lists"
    for s in lists:
        assert re.match(r"\s*SELECT count\(\*\)", s, re.I), s
    # one COUNT per number: each item, and each list
    assert len(lists) == len(attention_of(client)) + len(sheets)


def test_visitor_sees_the_way_to_sign_in_and_the_public_pages(app, client):
    page = client.get("/").get_data(as_text=True)
    assert "登录" in page and 'href="/public/"' in page
    assert "需要关注" not in page
