"""盲审批次 in a real browser: a clerk submits a batch through its confirmation page, a 科长
approves and publishes it, then withdraws it for correction; the 科长 cannot approve what they submitted themselves; the clerk
finds the reviews of a published batch locked, on the list and behind the edit URL.

The live server starts as a first start leaves it: 2016年第1期安全评价报告 published by the
demo clerk and 科长, 2016年第2期安全评价报告 and 2016年第1期职业卫生评价报告 drafts. Each test
takes a batch of its own, so that they do not depend on one another's order."""
from __future__ import annotations

import re

from .conftest import axe_check, log_in, log_out, screenshot

SUBMITTED_BY_CLERK = "2016/2/安全评价报告"
SUBMITTED_BY_HEAD = "2016/1/职业卫生评价报告"
PUBLISHED = "2016/1/安全评价报告"


def batch_row(page, key: str):
    return page.locator(f"#batches tr[data-batch='{key.replace('/', '-')}']")


def confirm(page, action: str) -> str:
    """Open the action's confirmation page from the batch's page, check it, confirm; the
    batch's page again, with what it now says."""
    with page.expect_navigation():
        page.click(f"#actions a[data-action={action}]")
    assert "/" + action in page.url
    effect = page.inner_text("#effect")  # what the action will do, before it is done
    axe_check(page)
    with page.expect_navigation():
        page.click(f"#confirm-form button[data-action={action}]")
    return effect


def test_a_clerk_submits_a_head_approves_publishes_and_withdraws(page):
    log_in(page, "clerk")
    page.goto("/review-batches/")
    row = batch_row(page, SUBMITTED_BY_CLERK)
    assert row.locator(".status").inner_text() == "草稿"
    # A clerk submits; approving and publishing are the 科长's, not offered to a clerk.
    assert row.locator("a[data-action=submit]").is_visible()
    assert row.locator("a[data-action=approve], a[data-action=publish]").count() == 0
    screenshot(page, "review-batches", full_page=False)
    axe_check(page)

    with page.expect_navigation():
        row.locator("a[data-action=submit]").click()
    # The confirmation: how many reports of which agencies, and what submitting does.
    assert page.inner_text("#status") == "草稿" and page.inner_text("#reports") == "9"
    agencies = page.locator("#agencies tbody tr")
    assert agencies.count() == int(page.inner_text("#agencies-count")) > 1
    assert "（示例）" in agencies.first.inner_text()
    assert "锁定、不能修改" in page.inner_text("#effect")
    assert "提交人不能审核通过自己提交的批次" in page.inner_text("#effect")
    screenshot(page, "review-batch-confirm")
    axe_check(page)
    with page.expect_navigation():
        page.click("#confirm-form button[data-action=submit]")
    assert re.search(r"/review-batches/2016/2/.+$", page.url) and "/submit" not in page.url
    assert "已提交审核，等待科长审核" in page.inner_text(".alert-success")
    assert page.inner_text("#status") == "待审核"
    assert "已提交审核，其盲审结果不能修改" in page.inner_text("#locked")
    assert "clerk" in page.inner_text("#submitted")
    assert page.locator("#actions a").count() == 0  # nothing more a clerk can do here
    axe_check(page)

    log_out(page)
    log_in(page, "head")
    page.goto(f"/review-batches/{SUBMITTED_BY_CLERK}")
    effect = confirm(page, "approve")
    assert "这 9 份报告" in effect
    assert "已审核通过" in page.inner_text(".alert-success")
    assert page.inner_text("#status") == "已审核"
    effect = confirm(page, "publish")
    assert "作为第 1 版在公开页面公布" in effect
    assert "已发布，已在公开页面公布" in page.inner_text(".alert-success")
    assert page.inner_text("#status") == "已发布"
    revision = page.locator("#revisions tr[data-revision='1']")
    assert revision.locator(".mark").inner_text() == "现行"
    events = page.locator("#history tbody tr td:nth-child(2)").all_inner_texts()
    assert events == ["提交审核", "审核通过", "发布（现行）"]
    screenshot(page, "review-batch-published")
    axe_check(page)

    # Its public page, as the visitor will see it.
    with page.expect_navigation():
        revision.locator("a:has-text('公开页面')").click()
    assert "/public/reviews/2016/2/" in page.url
    assert "2016年第2期安全评价报告" in page.inner_text("h1")
    assert "共 9 份报告" in page.inner_text(".intro")
    public = page.url

    # 撤回修订 (a correction): asks for the reason, makes a draft of 第2版; the public sees the
    # batch withdrawn, without its scores.
    page.goto(f"/review-batches/{SUBMITTED_BY_CLERK}")
    with page.expect_navigation():
        page.click("#actions a[data-action=withdraw]")
    assert "批次成为第 2 版草稿" in page.inner_text("#effect")
    assert page.get_attribute("#reason", "required") is not None
    axe_check(page)
    page.fill("#reason", "A1-04 的得分录入有误")
    with page.expect_navigation():
        page.click("#confirm-form button[data-action=withdraw]")
    assert "现为第 2 版草稿，可修改后重新提交审核" in page.inner_text(".alert-success")
    assert page.inner_text("#status") == "草稿" and page.inner_text("#revision") == "第2版"
    assert page.inner_text("#revisions tr[data-revision='1'] .mark") == "已撤回，第 2 版更正中"
    assert "A1-04 的得分录入有误" in page.inner_text("#history")
    assert page.locator("#locked").count() == 0  # its reviews may be corrected now
    axe_check(page)
    log_out(page)
    page.goto(public)
    assert "已撤回更正中" in page.inner_text(".notice")
    assert page.locator("table.rows td[data-label=得分]").count() == 0  # no scores


def test_the_head_who_submitted_a_batch_may_not_approve_it(page):
    log_in(page, "head")
    page.goto(f"/review-batches/{SUBMITTED_BY_HEAD}")
    confirm(page, "submit")
    assert page.inner_text("#status") == "待审核"
    with page.expect_navigation():
        page.click("#actions a[data-action=approve]")
    # The confirmation page says why, and offers no button to confirm.
    refused = page.inner_text("#refused")
    assert "提交人不能审核通过自己提交的同一版本，请由另一位科长审核通过" in refused
    assert page.locator("#confirm-form").count() == 0
    axe_check(page)
    with page.expect_navigation():
        page.click("text=返回本批次")
    assert page.inner_text("#status") == "待审核"


def test_a_published_batchs_reviews_are_locked_for_the_clerk(page):
    log_in(page, "clerk")
    page.goto(f"/review-batches/{PUBLISHED}")
    assert page.inner_text("#status") == "已发布"
    with page.expect_navigation():
        page.click("#batch a:has-text('查看盲审结果')")
    tags = page.locator("#qd-tags .qd-tag").all_inner_texts()
    assert [t.strip().rstrip("×").strip() for t in tags] == ["年度 等于 2016", "期次 等于 1",
                                            "盲审类别 等于 安全评价报告"]
    rows = page.locator("table.qd-list tbody tr")
    assert rows.count() == 9
    # Every row: the lock mark with its reason, 查看 but no 编辑 / 删除.
    assert page.locator("table.qd-list tbody tr.qd-locked").count() == 9
    assert page.locator("table.qd-list tbody .qd-locked-mark").count() == 9
    assert page.locator("table.qd-list a[href*='/reviews/edit/']").count() == 0
    assert page.locator("table.qd-list a[href*='/reviews/delete/'], "
                        "table.qd-list [data-action=delete]").count() == 0
    mark = page.locator(".qd-locked-mark").first
    assert "已发布，其盲审结果不能修改" in mark.get_attribute("title")
    screenshot(page, "reviews-locked", full_page=False)
    axe_check(page)

    # The edit URL opened directly: the record read-only, why, and the way to its batch.
    show = rows.first.locator("a[href*='/reviews/show/']").get_attribute("href")
    page.goto(show.replace("/show/", "/edit/"))
    locked = page.locator("#qd-locked")
    assert "（第1版）已发布，其盲审结果不能修改" in locked.inner_text()
    assert "撤回修订" in locked.inner_text()
    assert "不能修改" in page.inner_text("h3, .panel-title")
    assert page.locator("form#model_form, main form input[type=text], "
                        "main button:has-text('保存')").count() == 0
    assert "（示例）" in page.inner_text(".qd-readonly")  # the values, to read
    screenshot(page, "review-locked-edit", full_page=False)
    axe_check(page)
    with page.expect_navigation():
        page.click("#qd-locked-link")
    assert page.url.endswith("/review-batches/2016/1/%E5%AE%89%E5%85%A8%E8%AF%84%E4%BB%B7"
                             "%E6%8A%A5%E5%91%8A") or "安全评价报告" in page.url
    assert page.inner_text("#status") == "已发布"


def test_the_top_menu_links_are_not_underlined(page):
    log_in(page, "clerk")
    page.goto("/review-batches/")
    links = page.locator("header.top .navbar-nav > li > a")
    assert links.count() >= 4
    decorations = links.evaluate_all(
        "els => els.map(e => getComputedStyle(e).textDecorationLine)")
    assert set(decorations) == {"none"}, decorations
    links.first.hover()
    assert links.first.evaluate("e => getComputedStyle(e).textDecorationLine") == "none"
    # The menu's entries too, opened.
    menu = page.locator("header.top .navbar-nav > li.dropdown", has_text="技术服务机构")
    menu.locator("> a").click()
    entries = menu.locator(".dropdown-menu a")
    entries.first.wait_for(state="visible")
    assert "盲审批次" in menu.locator(".dropdown-menu").inner_text()
    entries.last.hover()
    assert set(entries.evaluate_all(
        "els => els.map(e => getComputedStyle(e).textDecorationLine)")) == {"none"}
    screenshot(page, "top-menu", full_page=False)
