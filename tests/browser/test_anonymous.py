"""An anonymous visitor: reaches no admin page (each asks for a login, in Chinese), and reads
the public pages: the published review batch and its results, the powers list, one power
printed as 一项一表."""
from __future__ import annotations

from .conftest import axe_check, screenshot

ADMIN_PAGES = ["/experts/list/", "/experts/add", "/powers/list/", "/imports/list/",
               "/lists/experts/import", "/review-batches/", "/audit/", "/roles/list/",
               "/users/list/", "/bulk/experts?ids=1", "/export-columns/experts",
               "/saved-filters/", "/reviews/list/", "/reviews/edit/1",
               "/review-batches/2016/1/安全评价报告",
               "/review-batches/2016/2/安全评价报告/submit",
               "/review-batches/2016/1/安全评价报告/withdraw"]


def test_an_anonymous_visitor_cannot_reach_any_admin_page(page):
    for url in ADMIN_PAGES:
        page.goto(url)
        assert "/login/" in page.url, url
        assert page.locator("input[name=password]").is_visible(), url
        assert "无权访问" not in page.inner_text("body"), url
    assert "请先登录" in page.inner_text("body")
    screenshot(page, "login")
    axe_check(page)


def test_the_login_page_speaks_chinese_and_has_a_favicon(page):
    page.goto("/login/")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.request.get("/favicon.ico").status == 200
    assert page.locator("input[type=submit]").get_attribute("value") in ("登录", "登 录")


def test_a_visitor_reads_the_published_review_results(page):
    page.goto("/public/")
    card = page.locator(".cards li", has=page.locator("a:has-text('报告盲审结果')"))
    assert int(card.locator(".count").inner_text().split()[0]) >= 1  # the demo batch
    axe_check(page)
    with page.expect_navigation():
        card.locator("a").click()
    row = page.locator("tr[data-batch='2016-1-安全评价报告']")
    assert "第1版" in row.inner_text() and "9" in row.locator("td[data-label=报告数]").inner_text()
    axe_check(page)
    with page.expect_navigation():
        row.locator("a").click()
    assert page.inner_text("h1") == "2016年第1期安全评价报告（第1版）"
    assert "共 9 份报告" in page.inner_text(".intro")
    results = page.locator("table.rows tbody tr")
    assert results.count() == 9
    headers = page.locator("table.rows thead th").all_inner_texts()
    assert "得分" in headers and "等级" in headers
    assert "（示例）" in results.first.inner_text()
    screenshot(page, "public-review-batch", full_page=False)
    axe_check(page)
    # An agency's name leads to its public profile, with this batch among its results.
    agency = results.first.locator("a[href*='/public/agencies/']")
    name = agency.inner_text()
    with page.expect_navigation():
        agency.click()
    assert name in page.inner_text("h1") and "2016年第1期安全评价报告" in page.inner_text("main")
    axe_check(page)
    # Nothing of the drafts: no batch but the published ones reaches the public.
    page.goto("/public/reviews/")
    assert page.locator("tr[data-batch='2016-1-职业卫生评价报告']").count() == 0


def test_a_visitor_finds_a_power_and_prints_it_as_one_table(page):
    page.goto("/public/")
    with page.expect_navigation():
        page.click(".cards a:has-text('权力清单')")
    assert page.locator("table.rows tbody tr").count() > 1
    axe_check(page)
    row = page.locator("table.rows tbody tr").first
    code, listed = row.locator("a").inner_text(), row.inner_text()
    with page.expect_navigation():
        row.locator("a").click()
    title = page.inner_text("h1")
    assert title.endswith("（一项一表）") and title.removesuffix("（一项一表）") in listed
    assert code in page.inner_text("table.fields")
    assert page.locator("table.fields th").count() > 5  # every public field
    assert page.locator("h2:has-text('责任事项') + table.rows tbody tr").count() >= 1
    screenshot(page, "public-power")
    axe_check(page)
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible() and not page.locator(".tools").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
