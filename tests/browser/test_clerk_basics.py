"""A clerk's first minutes, in a real browser: log in, open a list, find a record."""
from __future__ import annotations

from .conftest import log_in, screenshot


def test_clerk_logs_in_and_sees_the_home_page_in_chinese(page):
    log_in(page, "clerk")
    assert "安全生产" in page.title() or "清单" in page.content()
    screenshot(page, "home")


def test_clerk_opens_the_expert_pool(page):
    log_in(page, "clerk")
    page.goto("/experts/list/")
    rows = page.locator("table.table-hover tbody tr")
    assert rows.count() > 0
    assert "安全生产专家库" in page.inner_text("body")
    screenshot(page, "experts")
