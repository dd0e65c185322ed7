"""Issue 8, the review workflow with two people: a clerk submits a batch (提交审核), a 科长 other
than the submitter approves it or returns it with a reason, a 科长 publishes it; every
irreversible action (and 撤销本次导入) is a confirmation page first, saying what it will do;
警示约谈 opened from a reviewed report, and a report's page showing its interviews."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from conftest import login as first_login
from conftest import xlsx
from factories import (
    REVIEW_BATCH,
    REVIEW_BATCH_URL,
    REVIEW_HEADERS,
    add,
    make_agency,
    text_of,
    user_id,
)
from test_dashboard import attention_of

from app import db
from app.lists.agencies import Interview, Review, ReviewBatch
from app.reviews import BatchRefused, approve, publish, submit
from app.sheets.declare import sheets
from app.sheets.engine import apply_plan, build_plan

KEY, URL, HEADERS = REVIEW_BATCH, REVIEW_BATCH_URL, REVIEW_HEADERS


@pytest.fixture
def reviews(app):
    """Batch KEY: three reports of two agencies (one 不合格), a draft without a batch row."""
    a1, a2 = make_agency(1), make_agency(2)
    add(app, review(a1, "A-01", "92", problems="结论依据不足"), review(a1, "A-02", "55"),
        review(a2, "A-03", "81"))
    return app


def review(agency, blind_no, score, **kw):
    return Review(year=KEY[0], period=KEY[1], category=KEY[2], blind_no=blind_no,
                  agency=agency, report_no=f"SA-2016-{blind_no}", report_type="安全现状评价",
                  project_name=f"项目{blind_no}", issued_on=dt.date(2016, 3, 1),
                  score=Decimal(score), **kw)


def login(client, name: str):
    client.get("/logout/")
    return first_login(client, name)


def batch(app) -> ReviewBatch | None:
    with app.app_context():
        obj = db.session.query(ReviewBatch).filter_by(
            year=KEY[0], period=KEY[1], category=KEY[2]).one_or_none()
        if obj is not None:
            db.session.expunge(obj)
        return obj


def stored(app, blind_no: str) -> Review:
    with app.app_context():
        obj = db.session.query(Review).filter_by(blind_no=blind_no).one()
        db.session.expunge(obj)
        return obj


def seen_on(page: str) -> str:
    found = re.search(r'name="seen" value="([^"]+)"', page)
    assert found, page
    return found[1]


def confirm(client, url: str, **fields):
    """Open the action's confirmation page, then send its form, as a person does."""
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"seen": seen_on(page), **fields}, follow_redirects=True)


def with_setting(app, monkeypatch, name, value):
    from app.settings import EXTENSION
    monkeypatch.setitem(app.extensions[EXTENSION], name, value)


def form_of(r: Review, **changes) -> dict:
    data = dict(year=r.year, period=r.period, category=r.category, blind_no=r.blind_no,
                agency=r.agency_id, report_no=r.report_no, report_type=r.report_type,
                project_name=r.project_name, issued_on=r.issued_on.isoformat(),
                score=str(r.score), grade=r.grade or "", problems=r.problems or "",
                site_check=r.site_check or "", measure=r.measure or "", _version=r.version)
    data.update(changes)
    return data


# ---------------------------------------------------------------------------- two people
def test_clerk_submits_a_head_approves_and_publishes(reviews, client):
    login(client, "clerk")
    page = text_of(client.get(URL))
    assert "草稿" in page and "提交审核" in page
    text = text_of(confirm(client, f"{URL}/submit"))
    assert "已提交审核，等待科长审核" in text
    b = batch(reviews)
    assert (b.status, b.submitted_by_fk) == ("待审核", user_id(reviews, "clerk"))
    assert b.submitted_on is not None

    # The clerk has no approval right, and the four-eyes rule refuses the submitter anyway.
    assert client.get(f"{URL}/approve").status_code == 403
    assert client.post(f"{URL}/approve", data={"seen": "x"}).status_code == 403
    with reviews.app_context(), pytest.raises(BatchRefused, match="提交人不能审核通过自己提交"):
        approve(db.session, KEY, user_id(reviews, "clerk"))
    assert batch(reviews).status == "待审核"

    # Submitted: read-only for everyone until approved and published, or returned.
    r = stored(reviews, "A-02")
    resp = client.post(f"/reviews/edit/{r.id}", data=form_of(r, score="61"))
    assert resp.status_code == 200 and "已提交审核，其盲审结果不能修改" in text_of(resp)
    assert stored(reviews, "A-02").score == r.score

    login(client, "head")
    assert 'data-action="approve"' in client.get(URL).get_data(as_text=True)
    assert "已审核通过" in text_of(confirm(client, f"{URL}/approve"))
    assert "已发布" in text_of(confirm(client, f"{URL}/publish"))
    b = batch(reviews)
    head = user_id(reviews, "head")
    assert (b.status, b.approved_by_fk, b.published_by_fk) == ("已发布", head, head)
    assert [(e["event"], e["by_id"]) for e in b.history] == [
        ("提交审核", user_id(reviews, "clerk")), ("审核通过", head), ("发布", head)]
    page = text_of(client.get(URL))
    assert "现行" in page and "提交审核" in page and "审核通过" in page


def test_the_head_who_submitted_cannot_approve_the_same_revision(reviews, client):
    head = user_id(reviews, "head")
    with reviews.app_context():
        submit(db.session, KEY, head)
    login(client, "head")
    page = client.get(f"{URL}/approve").get_data(as_text=True)
    assert "是您提交审核的：提交人不能审核通过自己提交的同一版本" in text_of(client.get(f"{URL}/approve"))
    assert 'name="seen"' not in page  # no button
    with reviews.app_context(), pytest.raises(BatchRefused, match="请由另一位科长审核通过"):
        approve(db.session, KEY, head)
    assert batch(reviews).status == "待审核"
    # Another 科长 (here the administrator, who holds every right) may.
    login(client, "admin")
    assert "已审核通过" in text_of(confirm(client, f"{URL}/approve"))


def test_a_one_person_office_may_approve_what_it_submitted(reviews, client, monkeypatch):
    with_setting(reviews, monkeypatch, "REVIEW_SELF_APPROVAL", True)
    login(client, "head")
    assert "已提交审核" in text_of(confirm(client, f"{URL}/submit"))
    assert "已审核通过" in text_of(confirm(client, f"{URL}/approve"))
    assert "已发布" in text_of(confirm(client, f"{URL}/publish"))
    b = batch(reviews)
    assert b.status == "已发布" and b.submitted_by_fk == b.approved_by_fk


def test_a_head_returns_a_batch_with_a_reason_the_submitter_reads(reviews, client):
    with reviews.app_context():
        submit(db.session, KEY, user_id(reviews, "clerk"))
    login(client, "head")
    text = text_of(confirm(client, f"{URL}/send_back", reason="  "))
    assert "请填写退回的原因" in text and batch(reviews).status == "待审核"
    text = text_of(confirm(client, f"{URL}/send_back", reason="A-02 得分与评分表不符，请核对"))
    assert "已退回" in text
    b = batch(reviews)
    assert (b.status, b.returned_by_fk, b.return_reason) == (
        "草稿", user_id(reviews, "head"), "A-02 得分与评分表不符，请核对")

    # The submitter sees it on the batch pages and on the dashboard, and may correct.
    login(client, "clerk")
    page = text_of(client.get(URL))
    assert "草稿（退回）" in page and "A-02 得分与评分表不符，请核对" in page
    assert "草稿（退回）" in text_of(client.get("/review-batches/"))
    count, url = attention_of(client)["退回给我修改的盲审批次"]
    assert count == 1 and url == "/review-batches/?queue=returned"
    assert "草稿（退回）" in text_of(client.get(url))
    r = stored(reviews, "A-02")
    assert client.post(f"/reviews/edit/{r.id}", data=form_of(r, score="58")).status_code == 302
    # Submitted again: no longer marked returned, and the history keeps the reason.
    assert "已提交审核" in text_of(confirm(client, f"{URL}/submit"))
    b = batch(reviews)
    assert b.status == "待审核" and b.returned_on is None and b.return_reason is None
    assert [(e["event"], e["note"]) for e in b.history] == [
        ("提交审核", ""), ("退回", "A-02 得分与评分表不符，请核对"), ("提交审核", "")]
    assert attention_of(client)["退回给我修改的盲审批次"][0] == 0


# ---------------------------------------------------------------------------- confirmations
def test_confirmation_pages_say_what_the_action_does_and_do_nothing(reviews, client):
    login(client, "clerk")
    page = client.get(f"{URL}/submit")
    assert page.status_code == 200
    text = text_of(page)
    assert "确认提交审核" in text and "这 3 份报告（2 家机构）" in text
    assert "技术服务机构01" in text and "技术服务机构02" in text
    counts = re.findall(r"<tr><td>(技术服务机构0\d)</td><td>[0-9A-Z]{18}</td><td>(\d)</td>",
                        page.get_data(as_text=True))
    assert counts == [("技术服务机构01", "2"), ("技术服务机构02", "1")]
    assert batch(reviews) is None  # the page wrote nothing: not even a batch row

    # A POST that does not come from the page (no state) is the page again, not the action.
    again = client.post(f"{URL}/submit")
    assert again.status_code == 200 and "确认提交审核" in text_of(again)
    assert batch(reviews) is None

    # The batch changed after the page was shown: refused, and the page shows it as now.
    seen = seen_on(page.get_data(as_text=True))
    r = stored(reviews, "A-03")
    client.post(f"/reviews/edit/{r.id}", data=form_of(r, score="83"))
    stale = client.post(f"{URL}/submit", data={"seen": seen}, follow_redirects=True)
    assert "已有变化" in text_of(stale) and "未执行" in text_of(stale)
    assert batch(reviews) is None
    assert client.post(f"{URL}/submit", data={"seen": seen_on(stale.get_data(as_text=True))},
                       follow_redirects=True).status_code == 200
    assert batch(reviews).status == "待审核"

    login(client, "head")
    for action, words in (("approve", "审核通过后"), ("publish", "在公开页面公布")):
        text = text_of(client.get(f"{URL}/{action}"))
        assert "3 份报告（2 家机构）" in text and words in text, action
        confirm(client, f"{URL}/{action}")
    text = text_of(client.get(f"{URL}/withdraw"))
    assert "第 1 版从公开页面撤下" in text and "第 2 版草稿" in text and "撤回修订原因（必填）" in text
    assert batch(reviews).status == "已发布"  # still: the page did nothing


def test_published_revision_is_marked_superseded_by_the_correction(reviews, client):
    clerk, head = user_id(reviews, "clerk"), user_id(reviews, "head")
    login(client, "head")
    with reviews.app_context():
        submit(db.session, KEY, clerk)
        approve(db.session, KEY, head)
        publish(db.session, KEY, head)
    text = text_of(confirm(client, f"{URL}/withdraw", reason="A-02 得分录入有误"))
    assert "现为第 2 版草稿" in text
    assert "已撤回，第 2 版更正中" in text_of(client.get(URL))
    with reviews.app_context():
        submit(db.session, KEY, clerk)
        approve(db.session, KEY, head)
        publish(db.session, KEY, head)
    page = client.get(URL).get_data(as_text=True)
    marks = dict(re.findall(r'<tr data-revision="(\d)">.*?<td class="mark">([^<]*)</td>', page,
                            re.S))
    assert marks == {"1": "已被第 2 版更正", "2": "现行"}
    assert "A-02 得分录入有误" in text_of(client.get(URL))


def test_undo_of_an_import_is_confirmed_with_its_counts(reviews, client):
    with reviews.app_context():
        code = db.session.scalar(db.select(Review).filter_by(blind_no="A-01")).agency.credit_code
    rows = [[*KEY, b, code, f"SA-2016-{b}", "安全现状评价", f"项目{b}", "2016-03-01", score]
            for b, score in (("A-01", 93.0), ("A-02", 56.0), ("A-04", 70.0), ("A-05", 71.0))]
    data = xlsx([HEADERS, *rows])
    with reviews.app_context():
        plan = build_plan(sheets["reviews"], data, "更正.xlsx", session=db.session)
        batch_id = apply_plan(plan, session=db.session, data=data).id
    url = f"/lists/imports/batch/{batch_id}/undo"
    login(client, "clerk")
    page = client.get(url)
    assert page.status_code == 200
    text = text_of(page)
    assert "删除本次导入新增的记录 2 条" in text
    assert "恢复本次导入修改过的记录（改回导入前的内容） 2 条" in text
    assert "确认撤销本次导入" in text and "这 4 条记录" in text
    assert float(stored(reviews, "A-01").score) == 93.0  # nothing undone by the page
    # The batch page's own button posts without the confirmation: the page again.
    again = client.post(url)
    assert again.status_code == 200 and "确认撤销本次导入" in text_of(again)
    assert float(stored(reviews, "A-01").score) == 93.0

    done = client.post(url, data={"confirmed": "1"}, follow_redirects=True)
    assert "已撤销" in text_of(done)
    assert float(stored(reviews, "A-01").score) == 92.0
    with reviews.app_context():
        assert db.session.query(Review).filter(Review.blind_no.in_(["A-04", "A-05"])).count() == 0
    assert "撤销过" in text_of(client.get(url)) and "确认撤销本次导入" not in text_of(client.get(url))


def test_undo_confirmation_says_why_it_cannot_be_done(reviews, client):
    with reviews.app_context():
        code = db.session.scalar(db.select(Review).filter_by(blind_no="A-01")).agency.credit_code
        data = xlsx([HEADERS, [*KEY, "A-09", code, "SA-9", "安全现状评价", "项目9", "2016-03-01",
                               75.0]])
        plan = build_plan(sheets["reviews"], data, "补录.xlsx", session=db.session)
        batch_id = apply_plan(plan, session=db.session, data=data).id
        submit(db.session, KEY, user_id(reviews, "clerk"))
    login(client, "clerk")
    text = text_of(client.get(f"/lists/imports/batch/{batch_id}/undo"))
    assert "不能撤销" in text and "已提交审核" in text and "确认撤销本次导入" not in text
    assert batch(reviews).status == "待审核"  # the check's lock was only held, never written


# ---------------------------------------------------------------------------- 警示约谈
def interview_form(**values) -> dict:
    data = dict(interviewed_on="2016-06-01", interviewer="监管处 张三", interviewee="王五",
                interviewee_role="技术负责人", requirements="一个月内完成整改并书面报告",
                deadline="2016-07-01", result="")
    data.update(values)
    return data


def test_interview_opened_from_a_reviewed_report_is_prefilled_and_linked(reviews, client):
    r = stored(reviews, "A-02")
    login(client, "clerk")
    show = client.get(f"/reviews/show/{r.id}").get_data(as_text=True)
    start = f"/interviews/add?_flt_0_review={r.id}"
    assert "发起警示约谈" in show and html.escape(start) in show

    form = client.get(start)
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    text = text_of(form)
    assert "将关联盲审报告「2016年第1期安全评价报告 A-02」" in text
    reason = re.search(r'<textarea[^>]*name="reason"[^>]*>([^<]*)</textarea>', page)[1]
    assert "2016年第1期安全评价报告盲审" in html.unescape(reason)
    assert "SA-2016-A-02" in reason and "得分 55.0" in reason and "不合格" in reason
    assert "A-02）" not in reason.replace("SA-2016-A-02", "")  # the 盲审编号 is not public
    selected = re.search(r'<option selected value="(\d+)"', page) or re.search(
        r'<option value="(\d+)" selected', page)
    assert selected and int(selected[1]) == r.agency_id
    assert 'name="review"' not in page  # set by the link, not chosen

    resp = client.post(start, data=interview_form(agency=r.agency_id,
                                                  reason=html.unescape(reason)))
    assert resp.status_code == 302, text_of(resp)
    with reviews.app_context():
        interview = db.session.scalar(db.select(Interview))
        assert interview.review_id == r.id and interview.agency_id == r.agency_id
        pk = interview.id

    # The report's page lists its interviews, with their deadline and result.
    show = text_of(client.get(f"/reviews/show/{r.id}"))
    assert "警示约谈" in show and "2016-07-01" in show
    client.post(f"/interviews/edit/{pk}", data=interview_form(
        agency=r.agency_id, reason="报告质量问题", review=r.id, result="已整改", _version=1))
    show = text_of(client.get(f"/reviews/show/{r.id}"))
    assert "2016-07-01" in show and "已整改" in show
    # The interview's page names the report, as a link to it.
    page = client.get(f"/interviews/show/{pk}").get_data(as_text=True)
    assert f'href="/reviews/show/{r.id}"' in page and "盲审报告" in page
    shown = text_of(client.get(f"/interviews/show/{pk}"))
    assert "已整改" in shown
    # …and its 变更记录 says which report it was opened from.
    assert "盲审报告 ：（空） → 2016年第1期安全评价报告 A-02" in shown


def test_an_interview_linked_to_another_agencys_report_is_refused(reviews, client):
    r = stored(reviews, "A-03")  # agency 2's report
    other = stored(reviews, "A-01").agency_id
    login(client, "clerk")
    resp = client.post(f"/interviews/add?_flt_0_review={r.id}",
                       data=interview_form(agency=other, reason="报告质量问题"))
    assert resp.status_code == 200 and "不是技术服务机构01的" in text_of(resp)
    with reviews.app_context():
        assert db.session.query(Interview).count() == 0


def test_a_report_named_by_an_interview_is_not_deleted(reviews, client):
    r = stored(reviews, "A-02")
    add(reviews, Interview(agency_id=r.agency_id, review_id=r.id, interviewed_on=dt.date(2016, 6, 1),
                           reason="报告质量问题", interviewer="监管处", interviewee="王五",
                           interviewee_role="技术负责人", requirements="限期整改",
                           deadline=dt.date(2016, 7, 1)))
    login(client, "clerk")
    text = text_of(client.post(f"/reviews/delete/{r.id}", follow_redirects=True))
    assert "1 条「警示约谈」" in text
    assert stored(reviews, "A-02") is not None
