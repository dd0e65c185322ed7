"""公开信息 (/public/, app/web/public, app/publications.py): what an anonymous visitor sees, and
that nothing outside the allow-list of the declarations (`Sheet.public`) ever reaches a page
or a download."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from collections import deque
from decimal import Decimal
from urllib.parse import unquote, urlsplit

import openpyxl
import pytest
import sqlalchemy as sa
from factories import (
    TODAY,
    add,
    id_number,
    make_agency,
    make_duty,
    make_enterprise,
    make_expert,
    make_power,
    make_qualification,
    user_id,
)
from test_dashboard import deposit, interview, policy, review

from app import db
from app.lists.agencies import Agency, Review, ReviewBatch
from app.lists.powers import Reform
from app.publications import Publication, PublishedReview
from app.reviews import approve, publish, submit, withdraw
from app.sheets.declare import sheets
from app.web.public.fields import BATCH_FIELDS, public_fields, public_select

DAY = dt.timedelta(days=1)
K1, K2, K3 = (2016, 1, "安全评价报告"), (2016, 2, "安全评价报告"), (2016, 3, "安全评价报告")
BATCH_URL = "/public/reviews/2016/1/安全评价报告/"


def act(app, action, key, *args, user="head"):
    who = user_id(app, user)
    with app.app_context():
        action(db.session, key, who, *args)
        db.session.remove()


def approve_batch(app, key):
    """A clerk submits the batch, the 科长 approves it."""
    act(app, submit, key, user="clerk")
    act(app, approve, key)


def publish_batch(app, key):
    approve_batch(app, key)
    act(app, publish, key)


# ---------------------------------------------------------------------------- crawling
def _links(page: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'(?:href|src)="([^"]*)"', page)]


def documents(client, start="/public/", limit=400) -> dict[str, str]:
    """Every page and download reachable from `start` within /public/, as text: HTML with
    its attributes, CSV, JSON, and the cells of every workbook."""
    seen, out, todo = set(), {}, deque([start])
    while todo and len(out) < limit:
        url = todo.popleft()
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        if resp.status_code in (301, 302):
            todo.append(urlsplit(resp.headers["Location"]).path)
            continue
        if resp.status_code != 200:
            out[url] = f"<{resp.status_code}> " + resp.get_data(as_text=True)
            continue
        kind = resp.mimetype
        if kind == "text/html":
            page = resp.get_data(as_text=True)
            out[url] = html.unescape(page)
            for link in _links(page):
                parts = urlsplit(link)
                if not parts.scheme and parts.path.startswith("/public/") \
                        and not parts.path.startswith("/public/static/"):
                    todo.append(unquote(parts.path) + (f"?{parts.query}" if parts.query else ""))
        elif kind == "text/csv":
            out[url] = resp.data.decode("utf-8-sig")
        elif kind == "application/json":
            out[url] = json.dumps(resp.get_json(), ensure_ascii=False)
        else:
            wb = openpyxl.load_workbook(io.BytesIO(resp.data))
            out[url] = "\n".join(
                " | ".join(_cell(v) for v in row) for ws in wb for row in ws.values)
    return out


def _cell(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    return "" if value is None else str(value)


def everything(client) -> str:
    return "\n".join(documents(client).values())


# ---------------------------------------------------------------------------- the data
SECRETS = {  # values of fields that are never public, each distinctive
    "remark": "内部备注：仅供本局参考", "legal_representative": "法人甲某某",
    "technical_lead": "技术负责人乙某某", "address": "注册地址某某路一号", "contact": "联系人丙某某",
    "phone": "021-61234567", "interviewer": "约谈人壬某某", "interviewee": "被约谈人癸某某",
    "requirements": "整改要求：内部掌握的细节", "blind_no": "BLIND-K1-01",
}


@pytest.fixture
def world(app):
    """Every list holding values of every field, a published batch corrected once (its
    withdrawal note internal), a batch in draft and one approved but not published."""
    p1 = make_power("XK001", name="危险化学品经营许可", remark=SECRETS["remark"],
                    consult_phone="021-23110000", handling_unit="行政许可处",
                    legal_time_limit="20个工作日", effective_on=dt.date(2015, 6, 1))
    p2 = make_power("XK002", name="已取消的某项许可事项", status="已取消",
                    legal_basis="已取消事项的设定依据文本", cancelled_on=dt.date(2017, 1, 1),
                    remark="已取消事项的内部备注")
    a1 = make_agency(1, legal_representative=SECRETS["legal_representative"],
                     technical_lead=SECRETS["technical_lead"], address=SECRETS["address"],
                     contact=SECRETS["contact"], phone=SECRETS["phone"], district="浦东新区")
    a2 = make_agency(2, legal_representative="法人戊某某", address="注册地址某某路二号")
    ent = make_enterprise(1, name="某某化工生产企业", address="企业地址某某路三号",
                          contact="企业联系人己某", phone="13912345678")
    reviews = [review(a1, 2016, 1, "BLIND-K1-01", "81"), review(a2, 2016, 1, "BLIND-K1-02", "66"),
               review(a1, 2016, 2, "BLIND-K2-01", "77")]
    for n, r in enumerate(reviews, 1):
        r.report_no, r.project_name = f"AP-2016-{n:03d}", f"某某化工项目{n}"
    reviews[2].project_name, reviews[2].report_no = "未发布的项目名称戊", "UNPUB-REPORT-001"
    reviews[2].problems = "未发布批次的主要问题"
    k3 = review(a2, 2016, 3, "BLIND-K3-01", "58")
    k3.project_name = "已审核未发布的项目庚"
    talk = interview(a1, 30, -3)
    talk.interviewer, talk.interviewee = SECRETS["interviewer"], SECRETS["interviewee"]
    talk.requirements = SECRETS["requirements"]
    add(app, p1, p2, make_duty(p1, "受理", matter="受理环节的责任事项"),
        make_duty(p1, "决定", matter="决定环节的责任事项"),
        make_duty(p2, "受理", matter="已取消事项的责任事项"),
        Reform(power_code="XK009", item_name="某项审批事项", change_type="下放",
               decision_no="沪府发〔2016〕12号", decided_on=dt.date(2016, 5, 1),
               delegated_to="浦东新区", supervision_measures="加强事中事后监管"),
        make_qualification(a1, 1), make_qualification(a1, 2, category="职业卫生技术服务"),
        make_qualification(a2, 3, expires=TODAY - 10 * DAY),
        make_expert(1, name="专家赵某某", id_number=id_number(seq=7), mobile="13900000001",
                    email="zhao.expert@example.cn", employer="某某研究院丁"),
        ent, policy(ent, 1, TODAY + 100 * DAY),
        deposit(ent, TODAY.year, "已足额", deposited_amount=Decimal("1234567.89"),
                account_no="6222020000999999"),
        *reviews, k3, talk)
    publish_batch(app, K1)
    act(app, withdraw, K1, "内部撤回原因：某科员录入有误")
    publish_batch(app, K1)  # revision 2, unchanged
    approve_batch(app, K3)
    return app


def _forms(col, value) -> set[str]:
    """How a value could appear. Too short to tell apart, or a bare number of up to four
    digits (a year, a count: pages show dates and counts of their own), it is not checked."""
    text = col.type.to_text(value)
    return {t for t in (text, str(value))
            if t and len(t) >= 4 and not (t.isdigit() and len(t) <= 4)}


def forbidden_and_public(app) -> tuple[set[str], set[str]]:
    """The texts of stored values outside the allow-list, and those inside it."""
    bad, good = set(), set()
    with app.app_context():
        published = {(b.year, b.period, b.category) for b in db.session.scalars(
            sa.select(ReviewBatch).where(ReviewBatch.status == "已发布"))}
        for sheet in sheets:
            fields = {f.name for f in public_fields(sheet)}
            if sheet.public is not None and sheet.public.listed:
                shown = {r.id for r in db.session.scalars(public_select(sheet))}
            elif sheet.slug == "reviews":
                shown = {r.id for r in db.session.scalars(
                    sa.select(Review)) if r.batch_key in published}
            else:
                shown = set()
            for record in db.session.scalars(sa.select(sheet.model)):
                for col in sheet.columns:
                    value = record
                    for part in col.field.split("."):
                        value = getattr(value, part) if value is not None else None
                    if value is None:
                        continue
                    public = record.id in shown and col.field in fields
                    (good if public else bad).update(_forms(col, value))
        db.session.remove()
    # A secret that is part of a public text (专业类别 "危险化学品" of an expert, in the public
    # name of a power) cannot be told apart from it: the data below avoids such overlaps.
    return {b for b in bad if not any(b in g for g in good)}, good


# ---------------------------------------------------------------------------- the allow-list
def test_no_value_outside_the_allow_list_reaches_any_page_or_download(world, client):
    bad, good = forbidden_and_public(world)
    assert set(SECRETS.values()) <= bad and "未发布的项目名称戊" in bad and "已审核未发布的项目庚" in bad
    docs = documents(client)
    # the crawl reached every kind of page and download
    for must in ("/public/powers/", "/public/agencies/", BATCH_URL, "/public/openapi.json",
                 "/public/data/powers.csv", "/public/data/agencies.xlsx",
                 "/public/data/interviews.json", BATCH_URL + "r2.xlsx", BATCH_URL + "r1"):
        assert any(u.startswith(must) for u in docs), must
    assert any(re.fullmatch(r"/public/powers/\d+", u) for u in docs)
    assert any(re.fullmatch(r"/public/agencies/\d+", u) for u in docs)
    text = "\n".join(docs.values())
    leaks = sorted(v for v in bad if v in text)
    assert leaks == [], f"not public, but shown: {leaks}"
    # nor the internal note of the withdrawal, nor who acted
    assert "内部撤回原因" not in text and "测试head" not in text
    assert "危险化学品经营许可" in text and "受理环节的责任事项" in text  # the public is shown
    assert "81.0" in text and "沪府发〔2016〕12号" in text


def test_every_document_carries_exactly_the_public_fields(world, client):
    for slug in ("powers", "responsibilities", "reforms", "agencies", "qualifications",
                 "interviews"):
        fields = public_fields(sheets[slug])
        doc = client.get(f"/public/data/{slug}.json").get_json()
        assert doc["items"], slug
        assert all(set(item) == {f.key for f in fields} for item in doc["items"]), slug
        rows = list(csv.reader(io.StringIO(
            client.get(f"/public/data/{slug}.csv").data.decode("utf-8-sig"))))
        assert rows[0] == [f.label for f in fields], slug
        wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/public/data/{slug}.xlsx").data))
        assert list(next(wb.active.values)) == [f.label for f in fields], slug
    review_keys = {n for n, _l, _k in BATCH_FIELDS} | {
        f.key for f in public_fields(sheets["reviews"])}
    doc = client.get(BATCH_URL + "r2.json").get_json()
    assert len(doc["items"]) == 2 and all(set(i) == review_keys for i in doc["items"])
    assert "blind_no" not in json.dumps(doc)
    with world.app_context():
        stored = db.session.scalars(sa.select(PublishedReview)).all()
        # what a publication stores is the allow-list too
        assert stored and all(set(r.data) == {f.name for f in public_fields(sheets["reviews"])}
                              for r in stored)


def test_csv_opens_in_excel_and_exports_keep_formula_text_as_text(app, client):
    add(app, make_power("XK003", name="=HYPERLINK(\"x\",\"y\")", content="+1+2"))
    data = client.get("/public/data/powers.csv").data
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1]
    assert "'=HYPERLINK(\"x\",\"y\")" in row and "'+1+2" in row
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/public/data/powers.xlsx").data))
    cells = [c for c in next(wb.active.iter_rows(min_row=2)) if c.value == "=HYPERLINK(\"x\",\"y\")"]
    assert cells and cells[0].data_type == "s" and cells[0].quotePrefix
    assert client.get("/public/data/powers.json").get_json()["items"][0]["name"] == \
        "=HYPERLINK(\"x\",\"y\")"


# ---------------------------------------------------------------------------- publication
def scores(client) -> set[str]:
    text = everything(client)
    return {s for s in ("81.0", "66.0", "91.5") if s in text}


def test_the_public_sees_a_batch_only_as_published_corrected_or_withdrawn(app, client):
    a1, a2 = make_agency(1), make_agency(2)
    add(app, review(a1, 2016, 1, "B-01", "81"), review(a2, 2016, 1, "B-02", "66"))
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency.id).where(Agency.name == "技术服务机构01"))
    profile = f"/public/agencies/{agency}"

    # a draft, then approved: nothing public
    assert client.get(BATCH_URL).status_code == 404 and scores(client) == set()
    approve_batch(app, K1)
    assert client.get(BATCH_URL).status_code == 404 and scores(client) == set()
    assert "尚无已发布的盲审结果" in client.get(profile).get_data(as_text=True)

    # published: the scores, on the batch, the agency's profile and in every download
    act(app, publish, K1)
    assert scores(client) == {"81.0", "66.0"}
    page = client.get(profile).get_data(as_text=True)
    assert "81.0" in page and "<svg" in page and "66.0" not in page
    assert "81.0" in client.get(BATCH_URL + "r1.csv").data.decode("utf-8-sig")
    assert client.get(BATCH_URL + "r1.json").get_json()["state"] == "现行"

    # withdrawn for correction: shown as withdrawn, without a score; downloads gone
    act(app, withdraw, K1, "得分录入有误")
    assert scores(client) == set()
    page = client.get(BATCH_URL).get_data(as_text=True)
    assert "已撤回更正中" in page and "得分录入有误" not in page
    assert client.get(BATCH_URL + "r1.csv").status_code == 410
    assert client.get(BATCH_URL + "r1.json").status_code == 410
    assert "已撤回更正中" in client.get(profile).get_data(as_text=True)

    # corrected and published again: revision 2 is current, revision 1 marked 已更正
    with app.app_context():
        row = db.session.scalar(sa.select(Review).filter_by(blind_no="B-01"))
        row.score, row.grade = Decimal("91.5"), None
        db.session.commit()
    approve_batch(app, K1)
    act(app, publish, K1)
    page = client.get(BATCH_URL).get_data(as_text=True)
    assert "第2版" in page and "91.5" in page and "81.0" not in page
    old = client.get(BATCH_URL + "r1").get_data(as_text=True)
    assert "已更正" in old and "81.0" in old and 'href="/public/reviews/2016/1/' in old
    assert "现行的第2版" in old
    page = client.get(profile).get_data(as_text=True)
    assert "91.5" in page and "81.0" not in page and "已更正，现为第2版" in page
    assert client.get(BATCH_URL + "r1.json").get_json()["state"] == "已更正"
    assert client.get(BATCH_URL + "r2.json").get_json()["items"][0]["score"] == 91.5
    index = client.get("/public/reviews.json").get_json()["items"][0]
    assert [(r["revision"], r["state"]) for r in index["revisions"]] == [(1, "已更正"), (2, "现行")]

    # withdrawn again: no revision shows a score
    act(app, withdraw, K1, "再次更正")
    assert scores(client) == set()
    assert client.get(BATCH_URL + "r1.xlsx").status_code == 410
    assert client.get(BATCH_URL + "r2.xlsx").status_code == 410
    with app.app_context():  # every publication is kept as it was
        assert [p.revision for p in db.session.scalars(
            sa.select(Publication).order_by(Publication.revision))] == [1, 2]


def _before_publications() -> str:
    """The revision just before the publications migration (the chain grows)."""
    from alembic.script import ScriptDirectory
    from flask import current_app
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    return next(r.down_revision for r in script.walk_revisions()
                if r.doc.startswith("publications"))


def test_migration_stores_the_publications_of_batches_already_published(app):
    from flask_migrate import downgrade, upgrade
    add(app, review(make_agency(1), 2016, 1, "M-01", "85"))
    with app.app_context():
        downgrade(revision=_before_publications())
        try:
            db.session.execute(ReviewBatch.__table__.insert().values(  # no ORM: no hook
                year=2016, period=1, category="安全评价报告", status="已发布", revision=3,
                version=1, published_on=dt.datetime(2017, 1, 5, 9, 0), history=[],
                created_on=dt.datetime(2017, 1, 1), changed_on=dt.datetime(2017, 1, 5)))
            db.session.commit()
        finally:
            upgrade()
        pub = db.session.scalars(sa.select(Publication)).one()
        assert (pub.revision, pub.reports, pub.published_on) == (3, 1, dt.datetime(2017, 1, 5, 9))
        assert pub.rows[0].record()["score"] == Decimal("85.0")
        db.session.remove()


# ---------------------------------------------------------------------------- the pages
def test_visitor_needs_no_login_and_gets_nothing_else(app, client):
    add(app, make_power())
    for url in ("/public/", "/public/powers/", "/public/reviews/", "/public/data/",
                "/public/openapi.json"):
        assert client.get(url).status_code == 200, url
    for url in ("/powers/list/", "/review-batches/", "/my-drafts/", "/imports/list/"):
        resp = client.get(url)
        assert resp.status_code in (302, 401, 403) and "/public" not in resp.headers.get(
            "Location", ""), url
    assert client.get("/api/v1/powers/").status_code == 401
    with app.app_context():
        assert app.appbuilder.sm.find_role("公众").permissions == []


def test_power_search_one_item_table_and_reforms(world, client):
    page = client.get("/public/powers/?q=危险化学品").get_data(as_text=True)
    assert "危险化学品经营许可" in page and "已取消的某项许可事项" not in page
    assert "共 <strong class=\"total\">1</strong> 条" in page
    assert 'class="total">0<' in client.get("/public/powers/?category=行政处罚").get_data(
        as_text=True)
    assert 'class="total">1<' in client.get(
        "/public/powers/?body=上海市安全生产监督管理局").get_data(as_text=True)
    link = re.search(r'href="(/public/powers/\d+)"', page)[1]
    table = client.get(link).get_data(as_text=True)
    assert "一项一表" in table and table.index("受理环节的责任事项") < table.index("决定环节的责任事项")
    assert "021-23110000" in table  # the office's 咨询电话 is public by the guideline
    with world.app_context():
        cancelled = db.session.scalar(sa.select(
            sheets["powers"].model.id).filter_by(code="XK002"))
    assert client.get(f"/public/powers/{cancelled}").status_code == 404
    reforms = client.get("/public/reforms/?type=下放").get_data(as_text=True)
    assert "沪府发〔2016〕12号" in reforms and "浦东新区" in reforms
    assert 'class="total">0<' in client.get("/public/reforms/?type=取消").get_data(as_text=True)
    # the search box takes any text without harm
    assert client.get("/public/powers/?q=%25_%5C'\"<x>").status_code == 200


def test_directory_says_which_certificates_are_valid_and_who_is_dual_qualified(world, client):
    page = client.get("/public/agencies/?dual=是").get_data(as_text=True)
    assert "技术服务机构01" in page and "技术服务机构02" not in page and "双资质" in page
    page = client.get("/public/agencies/").get_data(as_text=True)
    assert '<span class="badge warn">已过期</span>' in page
    assert '<span class="badge ok">有效</span>' in page
    assert 'class="total">1<' in client.get("/public/agencies/?district=浦东新区").get_data(
        as_text=True)


def test_pages_are_cacheable_chinese_phone_and_print_ready(world, client):
    first = client.get("/public/powers/")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get("/public/powers/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    download = client.get("/public/data/powers.xlsx")
    assert client.get("/public/data/powers.xlsx", headers={
        "If-None-Match": download.headers["ETag"]}).status_code == 304
    add(world, make_power("XK010", name="新增的权力事项"))
    assert client.get("/public/powers/", headers={"If-None-Match": etag}).status_code == 200
    assert client.get("/public/data/powers.xlsx", headers={
        "If-None-Match": download.headers["ETag"]}).status_code == 200
    page = first.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page
    css = client.get("/public/static/public.css").get_data(as_text=True)
    assert "@media print" in css and "@media (max-width" in css


def test_pages_load_nothing_from_elsewhere_and_run_no_script(world, client):
    docs = documents(client)
    pages = {u: t for u, t in docs.items() if t.lstrip().startswith("<!doctype html>")}
    assert len(pages) > 10
    for url, page in pages.items():
        assert "<script" not in page.lower(), url
        for link in _links(page):
            assert not re.match(r"(?i)^(https?:)?//", link), (url, link)
        assert "@import" not in page and "url(" not in page, url
    css = client.get("/public/static/public.css").get_data(as_text=True)
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    csp = client.get("/public/").headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_openapi_describes_each_json_document(world, client):
    spec = client.get("/public/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        if "{" in path:
            url = path.format(year=2016, period=1, category="安全评价报告", revision=2)
        else:
            url = path
        resp = client.get(url)
        assert resp.status_code == 200, url
        schema = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        if "$ref" not in schema:
            continue
        doc_schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        item_schema = schemas[doc_schema["properties"]["items"]["items"]["$ref"].rsplit("/")[-1]]
        for entry in resp.get_json()["items"]:
            assert set(entry) == set(item_schema["properties"]), url
    assert 'href="/public/openapi.json"' in client.get("/public/data/").get_data(as_text=True)
