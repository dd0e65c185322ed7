"""An anonymous visitor reaches no admin page: each asks for a login, in Chinese."""
from __future__ import annotations

from .conftest import axe_check, screenshot

ADMIN_PAGES = ["/experts/list/", "/experts/add", "/powers/list/", "/imports/list/",
               "/lists/experts/import", "/review-batches/", "/audit/", "/roles/list/",
               "/users/list/", "/bulk/experts?ids=1", "/export-columns/experts",
               "/saved-filters/"]


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
