"""A crawl of every screen as each role (issue 9): starting from the home page and following
every link of the back office, no page shows an English label, the text `None` or FAB's
`__None`, or refers to anything outside this server. The anonymous visitor's crawl starts from
/public/ and follows every public link. The demo data's review batches are first put in each
state of the workflow (published; withdrawn for correction; returned and submitted again),
so that the batch screens, their confirmations and the public results are crawled in each.

Each kind of page (a list, a record's page, an edit form …) is opened a few times, not once
per record: `/experts/show/3` and `/experts/show/4` are the same screen."""
from __future__ import annotations

import html as htmllib
import re
from collections import Counter
from urllib.parse import unquote, urlsplit

import pytest
from conftest import USERS, login

from app import db

SKIP = re.compile(r"/logout|/lang/|/delete/|/undo|/restore/|/api/|/swagger|/static/|/public"
                  r"|/favicon|export|template|/file|errors\.xlsx|single-tables|\.xlsx|\.csv")
# The visitor's crawl stays on /public/ and leaves out the downloads (Excel, CSV, JSON).
PUBLIC_SKIP = re.compile(r"^(?!/public/)|\.(?:xlsx|csv|json)$|/openapi")
SAME_SCREEN = re.compile(r"/\d+")
PER_SCREEN = 2
# Words a Chinese screen may show: the product's name, the language menu's own entry, file
# formats and product names, demo accounts (user names and their e-mail addresses).
ALLOWED = {"qingdan", "English", "xlsx", "xls", "csv", "Excel", "OpenAPI", "gunicorn",
           *USERS, "example"}
HIDDEN = re.compile(r"<script.*?</script>|<style.*?</style>|<head>.*?</head>", re.S)
ATTRIBUTES = re.compile(r'(?:title|placeholder|aria-label|alt|data-confirm)="([^"]*)"')
OUTSIDE = re.compile(r"""(?:src|href|action|data-url)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1|"""
                     r"""localhost)[^"']+|url\(\s*["']?(?:https?:)?//""", re.I)
EMAILS_AND_URLS = re.compile(r"\S+@\S+|https?://\S+|/[\w/.\-?=&%]+|[\w\-]+\.(?:xlsx|xls|csv|json)\b"
                             r"|\b[0-9a-f]{16,}\b")  # addresses, file names, SHA-256


@pytest.fixture
def seeded(app):
    from app import reviews
    from app.seeding import load_seed, publish_demo_batch
    with app.app_context():
        for _line in load_seed(force=True):
            pass
        clerk, head = (app.appbuilder.sm.find_user(n).id for n in ("clerk", "head"))
        list(publish_demo_batch(clerk, head))  # 2016年第1期安全评价报告: 已发布
        corrected = (2016, 2, "安全评价报告")  # 第1版 withdrawn: a 第2版 草稿
        reviews.submit(db.session, corrected, clerk)
        reviews.approve(db.session, corrected, head)
        reviews.publish(db.session, corrected, head)
        reviews.withdraw(db.session, corrected, head, "得分录入有误")
        returned = (2016, 1, "职业卫生评价报告")  # returned once, 待审核 again
        reviews.submit(db.session, returned, clerk)
        reviews.send_back(db.session, returned, head, "请核对现场核查结论")
        reviews.submit(db.session, returned, clerk)
        db.session.remove()
    return app


def visible_text(page: str) -> str:
    body = HIDDEN.sub(" ", page)
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", body))
    return text + " " + " ".join(htmllib.unescape(a) for a in ATTRIBUTES.findall(body))


def english_words(text: str) -> set[str]:
    text = EMAILS_AND_URLS.sub(" ", text)
    return {w for w in re.findall(r"[A-Za-z][A-Za-z']{2,}", text)
            if w not in ALLOWED and not w.isupper()}


def crawl(client, start: str = "/", skip: re.Pattern = SKIP) -> dict[str, str]:
    """Every page reachable from `start` (each kind of screen a few times)."""
    pages, queue, seen = {}, [start], set()
    screens: Counter = Counter()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        if resp.status_code in (301, 302, 303):
            continue
        assert resp.status_code in (200, 403, 404), (url, resp.status_code)
        if "text/html" not in resp.content_type:
            continue
        page = resp.get_data(as_text=True)
        pages[url] = page
        for href in re.findall(r'href="([^"#]+)"', page):
            link = htmllib.unescape(href)
            parts = urlsplit(link)
            if parts.netloc or not parts.path.startswith("/") or skip.search(parts.path):
                continue
            screen = SAME_SCREEN.sub("/<n>", parts.path) + ("?" if parts.query else "")
            if link in seen or screens[screen] >= PER_SCREEN:
                continue
            screens[screen] += 1
            queue.append(link)
    return pages


def problems_of(pages: dict[str, str]) -> list[tuple]:
    problems = []
    for url, page in pages.items():
        text = visible_text(page)
        if "__None" in page:
            problems.append((url, "__None"))
        if re.search(r"\bNone\b", text):
            problems.append((url, "None", re.search(r".{0,40}\bNone\b.{0,40}", text)[0]))
        if english := english_words(text):
            problems.append((url, "English", sorted(english)[:8]))
        if outside := OUTSIDE.search(page):
            problems.append((url, "outside", outside[0]))
    return problems


@pytest.mark.parametrize("role", sorted(USERS))
def test_every_screen_is_chinese_and_self_contained(seeded, role):
    client = login(seeded.test_client(), role)
    pages = crawl(client)
    assert len(pages) > (60 if role == "admin" else 30), sorted(pages)
    # The batch screens were reached, in each state, with their confirmations.
    batches = [u for u in pages if u.startswith("/review-batches/")]
    shown = {unquote(u) for u in batches if re.fullmatch(r"/review-batches/\d+/\d+/[^/]+", u)}
    assert {"/review-batches/2016/1/安全评价报告", "/review-batches/2016/1/职业卫生评价报告"} \
        <= shown, batches
    if role in ("clerk", "head"):
        assert any(u.endswith("/submit") for u in batches), batches
    if role == "head":  # (发布's confirmation is the browser's: tests/browser/test_review_flow.py)
        assert {"submit", "approve", "withdraw", "send_back"} <= {
            u.rsplit("/", 1)[1] for u in batches}, batches
    problems = problems_of(pages)
    assert problems == [], "\n".join(map(str, problems))


def test_every_public_page_is_chinese_and_self_contained(seeded):
    """The anonymous visitor's crawl: from /public/, every public link (downloads aside)."""
    pages = crawl(seeded.test_client(), start="/public/", skip=PUBLIC_SKIP)
    assert all(u.startswith("/public/") for u in pages), sorted(pages)
    assert len(pages) > 15, sorted(pages)
    results = [u for u in pages if u.startswith("/public/reviews/")]
    # The published batch, the withdrawn one, and its withdrawn revision 1.
    assert any(u.endswith("/r1") for u in results), results
    assert len([u for u in results if u.endswith("/")]) >= 3, results
    for screen in ("/public/powers/", "/public/agencies/", "/public/data/"):
        assert screen in pages, sorted(pages)
    assert any(re.fullmatch(r"/public/powers/\d+", u) for u in pages), sorted(pages)
    problems = problems_of(pages)
    assert problems == [], "\n".join(map(str, problems))


def test_the_crawl_sees_what_it_looks_for():
    """The checks above find what they look for (a crawl that passes must have looked)."""
    assert english_words("Add Filter 新增") == {"Add", "Filter"}
    assert english_words("联系 clerk@example.cn SHAJZJ-2015 xlsx /experts/list/") == set()
    assert OUTSIDE.search('<script src="https://cdn.example.com/x.js">')
    assert OUTSIDE.search('<link href="//fonts.googleapis.com/css">')
    assert not OUTSIDE.search('<a href="http://127.0.0.1:5000/x">')
    assert "None" in visible_text("<td>None</td>") and "x" not in visible_text(
        "<script>x</script>")
