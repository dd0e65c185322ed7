"""盲审批次 (spec §2.7): a batch is reviewed and published as a whole; its reviews are then
read-only on screens, API, import and undo; a correction is a new, visible revision.
(The two-person flow itself, its confirmations and its settings: test_review_workflow.py.)"""
from __future__ import annotations

import re

import pytest
from conftest import api_token, xlsx
from conftest import login as first_login
from factories import REVIEW_BATCH, REVIEW_BATCH_URL, REVIEW_HEADERS, plan_of, text_of, user_id

from app import db
from app.batch_summary import batch_rows
from app.lists.agencies import Review, ReviewBatch
from app.reviews import BatchRefused, approve, publish, send_back, submit, withdraw
from app.seeding import load_seed
from app.sheets.declare import sheets
from app.sheets.engine import ImportRefused, apply_plan, build_plan, undo_batch

SAFETY, URL, HEADERS = REVIEW_BATCH, REVIEW_BATCH_URL, REVIEW_HEADERS


@pytest.fixture
def seeded(app):
    with app.app_context():
        list(load_seed())
        db.session.remove()
    return app


def login(client, name: str):
    client.get("/logout/")
    return first_login(client, name)


def publish_safety(app) -> None:
    """A clerk submits the batch, the 科长 approves and publishes it."""
    clerk, head = user_id(app, "clerk"), user_id(app, "head")
    with app.app_context():
        submit(db.session, SAFETY, clerk)
        approve(db.session, SAFETY, head)
        publish(db.session, SAFETY, head)
        db.session.remove()


def confirm(client, url: str, **fields):
    """What a person does: open the action's confirmation page, then send its form."""
    page = client.get(url).get_data(as_text=True)
    seen = re.search(r'name="seen" value="([^"]+)"', page)
    assert seen, page
    return client.post(url, data={"seen": seen[1], **fields}, follow_redirects=True)


def review(app, blind_no: str) -> Review:
    with app.app_context():
        obj = db.session.query(Review).filter_by(blind_no=blind_no).one()
        db.session.expunge(obj)
        return obj


def batch(app, key=SAFETY) -> ReviewBatch | None:
    with app.app_context():
        obj = db.session.query(ReviewBatch).filter_by(
            year=key[0], period=key[1], category=key[2]).one_or_none()
        if obj is not None:
            db.session.expunge(obj)
        return obj


def form_of(r: Review, **changes) -> dict:
    data = dict(year=r.year, period=r.period, category=r.category, blind_no=r.blind_no,
                agency=r.agency_id, report_no=r.report_no, report_type=r.report_type,
                project_name=r.project_name, issued_on=r.issued_on.isoformat(),
                score=str(r.score), grade=r.grade or "", problems=r.problems or "",
                site_check=r.site_check or "", measure=r.measure or "", _version=r.version)
    data.update(changes)
    return data


def review_row(r: Review, credit_code: str, **changes) -> list:
    values = dict(year=r.year, period=r.period, category=r.category, blind_no=r.blind_no,
                  credit_code=credit_code, report_no=r.report_no, report_type=r.report_type,
                  project_name=r.project_name, issued_on=r.issued_on.isoformat(),
                  score=float(r.score))
    values.update(changes)
    return list(values.values())


def reviews_plan(app, rows):
    with app.app_context():
        return plan_of(db.session, "reviews", xlsx([HEADERS, *rows]), "盲审.xlsx")


# ---------------------------------------------------------------------------- the screen
def test_screen_lists_the_batches_the_reviews_name(seeded, client):
    with seeded.app_context():
        rows = {r.key: r for r in batch_rows(db.session)}
    assert set(rows) == {SAFETY, (2016, 2, "安全评价报告"), (2016, 1, "职业卫生评价报告")}
    first = rows[SAFETY]
    assert first.reports == 9 and first.status == "草稿" and first.revision == 1
    assert first.grades == {"优秀": 2, "良好": 3, "合格": 3, "不合格": 1}
    assert batch(seeded) is None  # listed as a draft, no row written by reading

    login(client, "clerk")
    page = client.get("/review-batches/")
    assert page.status_code == 200
    text = text_of(page)
    assert "盲审批次" in text and "安全评价报告" in text and "草稿" in text
    html = page.get_data(as_text=True)
    assert 'data-action="submit"' in html  # a clerk submits a draft
    assert 'data-action="approve"' not in html  # no buttons for those who may not act
    assert client.get(URL).status_code == 200
    with seeded.app_context():
        submit(db.session, SAFETY, user_id(seeded, "clerk"))
    assert 'data-action="approve"' not in client.get("/review-batches/").get_data(as_text=True)
    login(client, "head")
    assert 'data-action="approve"' in client.get("/review-batches/").get_data(as_text=True)


def test_menu_puts_the_batches_after_the_interviews(app):
    with app.app_context():
        group = next(c for c in app.appbuilder.menu.get_list() if c.name == "技术服务机构")
        names = [i.name for i in group.childs]
    assert names[names.index("警示约谈") + 1] == "盲审批次"


# ---------------------------------------------------------------------------- the workflow
def test_head_approves_and_publishes_and_the_clerk_cannot(seeded, client):
    login(client, "clerk")
    assert client.post(f"{URL}/approve").status_code == 403
    login(client, "reader")
    assert client.get("/review-batches/").status_code == 200
    assert client.post(f"{URL}/approve").status_code == 403
    assert client.post(f"{URL}/submit").status_code == 403
    assert batch(seeded) is None

    login(client, "clerk")
    assert "已提交审核" in text_of(confirm(client, f"{URL}/submit"))
    login(client, "head")
    resp = confirm(client, f"{URL}/approve")
    assert "已审核通过" in text_of(resp)
    b = batch(seeded)
    assert (b.status, b.revision, b.approved_by_fk) == ("已审核", 1, user_id(seeded, "head"))
    resp = confirm(client, f"{URL}/publish")
    assert "已发布" in text_of(resp)
    b = batch(seeded)
    assert b.status == "已发布" and b.published_on is not None
    assert b.published_by_fk == user_id(seeded, "head")
    assert [(e["event"], e["revision"], e["reports"]) for e in b.history] == [
        ("提交审核", 1, 9), ("审核通过", 1, 9), ("发布", 1, 9)]
    # the other batches are untouched
    assert batch(seeded, (2016, 2, "安全评价报告")) is None


def test_wrong_transitions_are_refused_in_chinese(seeded, client):
    clerk, head = user_id(seeded, "clerk"), user_id(seeded, "head")
    with seeded.app_context():
        with pytest.raises(BatchRefused, match="只有「已审核」的批次才能发布"):
            publish(db.session, SAFETY, head)
        with pytest.raises(BatchRefused, match="只有「待审核」或「已审核」的批次才能退回"):
            send_back(db.session, SAFETY, head, "原因")
        with pytest.raises(BatchRefused, match="没有任何盲审结果"):
            approve(db.session, (2030, 1, "安全评价报告"), head)
        with pytest.raises(BatchRefused, match="只有「待审核」的批次才能审核通过"):
            approve(db.session, SAFETY, head)
        submit(db.session, SAFETY, clerk)
        with pytest.raises(BatchRefused, match="只有「草稿」的批次才能提交审核"):
            submit(db.session, SAFETY, clerk)
        approve(db.session, SAFETY, head)
        with pytest.raises(BatchRefused, match="只有「待审核」的批次才能审核通过"):
            approve(db.session, SAFETY, head)
        send_back(db.session, SAFETY, head, "A1-02 得分有误")
        assert db.session.get(ReviewBatch, batch(seeded).id).status == "草稿"
    login(client, "head")
    # The confirmation page says so, and offers no button; a post from an old page is refused.
    page = client.get(f"{URL}/publish").get_data(as_text=True)
    assert "当前状态为「草稿」，只有「已审核」的批次才能发布" in text_of(client.get(f"{URL}/publish"))
    assert 'name="seen"' not in page
    text = text_of(client.post(f"{URL}/publish", data={"seen": "0" * 32},
                               follow_redirects=True))
    assert "已有变化" in text and "未执行" in text
    assert batch(seeded).status == "草稿"


# ---------------------------------------------------------------------------- read-only
def test_published_reviews_cannot_be_edited_deleted_or_added_on_screens(seeded, client):
    publish_safety(seeded)
    before = review(seeded, "A1-02")
    login(client, "clerk")
    resp = client.post(f"/reviews/edit/{before.id}", data=form_of(before, score="99"))
    assert resp.status_code == 200 and "已发布，其盲审结果不能修改" in text_of(resp)
    after = review(seeded, "A1-02")
    assert (after.score, after.version) == (before.score, before.version)

    text = text_of(client.post(f"/reviews/delete/{before.id}", follow_redirects=True))
    assert "已发布，其盲审结果不能修改" in text
    assert review(seeded, "A1-02") is not None

    resp = client.post("/reviews/add", data=form_of(before, blind_no="A1-99", _version=""))
    assert resp.status_code == 200 and "已发布" in text_of(resp)
    with seeded.app_context():
        assert db.session.query(Review).filter_by(blind_no="A1-99").count() == 0

    # Moving a draft review into the published batch is adding to it.
    draft = review(seeded, "A2-01")
    resp = client.post(f"/reviews/edit/{draft.id}", data=form_of(draft, period="1"))
    assert resp.status_code == 200 and "已发布" in text_of(resp)
    assert review(seeded, "A2-01").period == 2

    # A draft batch's reviews are edited as before.
    resp = client.post(f"/reviews/edit/{draft.id}", data=form_of(draft, score="91"))
    assert resp.status_code == 302
    assert review(seeded, "A2-01").grade == "优秀"

    headers = api_token(client, "clerk")
    resp = client.put(f"/api/v1/reviews/{before.id}", json={"score": "99"}, headers=headers)
    assert resp.status_code == 422 and "已发布" in str(resp.get_json()["message"])
    resp = client.delete(f"/api/v1/reviews/{before.id}", headers=headers)
    assert resp.status_code == 422 and "已发布" in str(resp.get_json()["message"])
    assert review(seeded, "A1-02").score == before.score


def test_import_into_a_published_batch_is_an_error_and_writes_nothing(seeded):
    publish_safety(seeded)
    a1, a2 = review(seeded, "A1-02"), review(seeded, "A2-02")
    with seeded.app_context():
        codes = {r.blind_no: r.agency.credit_code for r in db.session.query(Review)}
    changed = review_row(a1, codes["A1-02"], score=99.0)
    added = review_row(a1, codes["A1-02"], blind_no="A1-99")
    same = review_row(review(seeded, "A1-03"), codes["A1-03"])
    draft = review_row(a2, codes["A2-02"], score=85.0)
    plan = reviews_plan(seeded, [changed, added, same, draft])
    actions = [r.action for r in plan.rows]
    assert actions == ["error", "error", "unchanged", "update"]
    messages = [str(i) for i in plan.errors]
    assert len(messages) == 2 and all("已发布，其盲审结果不能修改" in m for m in messages)
    assert all("撤回修订" in m for m in messages)
    with seeded.app_context(), pytest.raises(ImportRefused):
        apply_plan(plan, session=db.session)
    assert review(seeded, "A1-02").score == a1.score
    assert review(seeded, "A2-02").score == a2.score

    # The import wizard's preview says so, and its confirm writes nothing.
    from test_imports_web import draft_id_of, upload
    client = seeded.test_client()
    login(client, "clerk")
    resp = upload(client, xlsx([HEADERS, changed, draft]), "盲审.xlsx", slug="reviews")
    draft_id = draft_id_of(resp)
    assert "已发布，其盲审结果不能修改" in text_of(client.get(f"/lists/imports/{draft_id}"))
    client.post(f"/lists/imports/{draft_id}/confirm")
    assert review(seeded, "A2-02").score == a2.score

    # Only the draft batch's row, when the clerk chooses the valid rows.
    with seeded.app_context():
        plan = build_plan(sheets["reviews"], xlsx([HEADERS, changed, draft]), "盲审.xlsx",
                          session=db.session, valid_only=True)
        apply_plan(plan, session=db.session)
    assert float(review(seeded, "A2-02").score) == 85.0
    assert review(seeded, "A1-02").score == a1.score


def test_undo_of_an_import_into_a_batch_since_published_is_refused(seeded):
    r = review(seeded, "A1-04")
    with seeded.app_context():
        code = db.session.query(Review).filter_by(blind_no="A1-04").one().agency.credit_code
        plan = build_plan(sheets["reviews"], xlsx([HEADERS, review_row(r, code, score=75.0)]),
                          "更正.xlsx", session=db.session)
        batch_id = apply_plan(plan, session=db.session).id
    publish_safety(seeded)
    with seeded.app_context(), pytest.raises(Exception, match="已发布"):
        undo_batch(batch_id, session=db.session)
    assert float(review(seeded, "A1-04").score) == 75.0


# ---------------------------------------------------------------------------- revision
def test_withdrawal_makes_a_new_visible_revision(seeded, client):
    publish_safety(seeded)
    first = batch(seeded)
    login(client, "head")
    text = text_of(confirm(client, f"{URL}/withdraw", reason=""))
    assert "请填写撤回修订的原因" in text and batch(seeded).status == "已发布"
    text = text_of(confirm(client, f"{URL}/withdraw", reason="A1-02 得分复核有误"))
    assert "现为第 2 版草稿" in text
    b = batch(seeded)
    assert (b.status, b.revision, b.published_on) == ("草稿", 2, None)
    events = [e for e in b.history if e["event"] in ("发布", "撤回修订")]
    assert [(e["event"], e["revision"]) for e in events] == [("发布", 1), ("撤回修订", 1)]
    assert events[0]["on"] == first.published_on.isoformat(sep=" ")
    assert events[1]["note"] == "A1-02 得分复核有误" and "head" in events[1]["by"]

    # editable again
    r = review(seeded, "A1-02")
    login(client, "clerk")
    assert client.post(f"/reviews/edit/{r.id}", data=form_of(r, score="89")).status_code == 302
    assert float(review(seeded, "A1-02").score) == 89.0

    # republished as revision 2; the page shows both publications and the withdrawal
    publish_safety(seeded)
    b = batch(seeded)
    assert b.status == "已发布" and b.revision == 2
    assert [(e["event"], e["revision"]) for e in b.history
            if e["event"] in ("发布", "撤回修订")] == [("发布", 1), ("撤回修订", 1), ("发布", 2)]
    page = text_of(client.get(URL))
    assert "第2版" in page and "A1-02 得分复核有误" in page and "撤回修订" in page
    assert "已发布" in page and "已被第 2 版更正" in page


def test_withdraw_of_a_draft_is_refused(seeded):
    head = user_id(seeded, "head")
    with seeded.app_context(), pytest.raises(BatchRefused, match="只有「已发布」的批次才能撤回修订"):
        withdraw(db.session, SAFETY, head, "原因")
    with seeded.app_context(), pytest.raises(BatchRefused, match="请填写撤回修订的原因"):
        withdraw(db.session, SAFETY, head, "  ")


def test_the_screens_permissions_are_created_and_granted(app):
    from test_security import role_perms

    from app.web.security import CLERK, HEAD, PERM_PUBLISH, PERM_SUBMIT, READER
    read = {("can_list", "ReviewBatches"), ("can_show", "ReviewBatches"),
            ("menu_access", "盲审批次")}
    for role in (CLERK, HEAD, READER):
        assert read <= role_perms(app, role), role
    assert PERM_PUBLISH in role_perms(app, HEAD)
    assert PERM_PUBLISH not in role_perms(app, CLERK) | role_perms(app, READER)
    assert PERM_SUBMIT in role_perms(app, CLERK) & role_perms(app, HEAD)
    assert PERM_SUBMIT not in role_perms(app, READER)


def test_actions_need_the_csrf_token_of_the_page(seeded, client):
    with seeded.app_context():
        submit(db.session, SAFETY, user_id(seeded, "clerk"))
    login(client, "head")
    seeded.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(f"{URL}/approve").get_data(as_text=True)
        seen = re.search(r'name="seen" value="([^"]+)"', page)[1]
        assert client.post(f"{URL}/approve", data={"seen": seen}).status_code == 400
        assert batch(seeded).status == "待审核"
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        resp = client.post(f"{URL}/approve", data={"csrf_token": token, "seen": seen})
        assert resp.status_code == 302
    finally:
        seeded.config["WTF_CSRF_ENABLED"] = False
    assert batch(seeded).status == "已审核"
