"""A clerk's day in a real browser: find an expert, add one (a wrong ID number first), edit,
pick a date, bulk-edit a filtered selection, export chosen columns, print one power.

Each flow asserts what the clerk sees; the `page` fixture (conftest.py) also fails a test on
a console error or a request that leaves the machine, and `axe_check` on serious or critical
accessibility violations."""
from __future__ import annotations

import io

import openpyxl

from .conftest import axe_check, log_in, screenshot


def test_find_an_expert_by_name(page):
    log_in(page, "clerk")
    page.goto("/experts/list/")
    box = page.locator("#qd-q")
    assert box.is_visible() and "姓名" in box.get_attribute("placeholder")
    axe_check(page)
    box.fill("王")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    names = page.locator("table.qd-list tbody tr td:nth-child(4)").all_inner_texts()
    assert names and all("王" in n for n in names)
    tag = page.locator("#qd-tags .qd-tag")
    assert tag.count() == 1 and "搜索：王" in tag.inner_text()
    screenshot(page, "experts-search")
    with page.expect_navigation():
        tag.locator("a").click()  # the tag removes its filter
    assert page.locator("#qd-tags").count() == 0 and "q=" not in page.url


def test_add_an_expert_with_a_wrong_id_number_then_fix_it(page):
    log_in(page, "clerk")
    page.goto("/experts/add")
    assert page.locator("label[for=name] .qd-required").count() == 1  # the red *
    axe_check(page)
    page.fill("#name", "钱多多")
    page.fill("#id_number", "310110197005050771")  # wrong check character
    page.fill("#employer", "上海示例化工有限公司")
    page.select_option("#title_level", "正高级")
    page.select_option("#speciality", "危险化学品")
    page.select_option("#expert_type", "普通专家")
    page.fill("#appointed_on", "2020-01-01")
    page.fill("#term_ends_on", "2025-12-31")
    page.select_option("#status", "在聘")
    with page.expect_navigation():
        page.click("#model_form button[type=submit], form button[type=submit]:has-text('保存')")
    row = page.locator("tr", has=page.locator("#id_number"))
    assert "校验位不正确" in row.inner_text()  # beside the field, in Chinese
    assert page.input_value("#name") == "钱多多"  # the rest kept
    assert page.input_value("#employer") == "上海示例化工有限公司"
    assert page.input_value("#term_ends_on") == "2025-12-31"
    screenshot(page, "expert-form-error", full_page=False)
    axe_check(page)
    page.fill("#id_number", "310110197005050772")
    with page.expect_navigation():
        page.click("form button[type=submit]:has-text('保存')")
    assert "/experts/list/" in page.url  # back on the list, not the home page
    assert "已新增记录" in page.inner_text("main")


def test_edit_an_expert_and_pick_a_date_with_the_picker(page):
    log_in(page, "clerk")
    page.goto("/experts/list/?q=王")
    with page.expect_navigation():
        page.locator("table.qd-list tbody tr").first.locator("a[href*='/experts/edit/']").click()
    # 出生日期 is masked for a clerk (it would give the ID number away): 聘期届满 is picked.
    assert page.input_value("#birth_date") == "****-**-**"
    term = page.input_value("#term_ends_on")
    assert term, "a seed expert has a term"
    page.click("#term_ends_on")
    picker = page.locator(".datepicker-days")
    picker.wait_for(state="visible")
    year, month = term[:4], term[5:7]
    assert picker.locator(".datepicker-switch").inner_text() == f"{year}年{month}月"
    assert picker.locator("th.dow").all_inner_texts()[:3] == ["一", "二", "三"]
    screenshot(page, "date-picker", full_page=False)
    picker.locator("td.day:not(.old):not(.new)", has_text="15").first.click()
    assert page.input_value("#term_ends_on") == f"{year}-{month}-15"
    # A date entered without keystrokes (pasted) stays when the field loses focus.
    page.evaluate("document.querySelector('#appointed_on').value = '2010年3月1日'")
    page.click("#name")
    assert page.input_value("#appointed_on") == "2010年3月1日"
    page.fill("#title", "教授级高级工程师")
    with page.expect_navigation():
        page.click("form button[type=submit]:has-text('保存')")
    assert "/experts/list/" in page.url and "已保存修改" in page.inner_text("main")


def test_bulk_edit_a_filtered_selection(page):
    log_in(page, "clerk")
    page.goto("/experts/list/?q=徐")
    rows = page.locator("table.qd-list tbody tr")
    assert rows.count() >= 2
    rows.nth(0).locator("input.qd-row-check").check()
    rows.nth(1).locator("input.qd-row-check").check()
    assert "2" in page.inner_text("#qd-bulk-selected")
    screenshot(page, "experts-selection", full_page=False)
    axe_check(page)
    with page.expect_navigation():
        page.click("#qd-bulk-selected")
    assert "将修改 2 条记录" in page.inner_text("#qd-bulk-count")
    page.select_option("#qd-bulk-field", "position")
    with page.expect_navigation():
        page.click("text=下一步")
    page.fill("#position", "安全顾问")
    axe_check(page)
    with page.expect_navigation():
        page.click("text=预览修改")
    preview = page.inner_text("#qd-bulk-rows")
    assert preview.count("将修改") == 2 and "安全顾问" in preview
    screenshot(page, "bulk-edit-preview")
    axe_check(page)
    page.once("dialog", lambda d: d.accept())  # 确定把 2 条记录的「职务」改为…
    with page.expect_navigation():
        page.click("#qd-bulk-confirm button[type=submit]")
    assert "已修改 2 条记录" in page.inner_text("#qd-bulk-done")


def test_export_chosen_columns(page):
    log_in(page, "clerk")
    page.goto("/experts/list/?q=王")
    with page.expect_navigation():
        page.click("#qd-export-columns")
    axe_check(page)
    page.click("text=全不选")
    page.check("input[value=name]")
    page.check("input[value=employer]")
    with page.expect_download() as download:
        page.click("#qd-export-chosen")
    ws = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("序号", "*姓名", "*工作单位")
    assert rows[1:] and all("王" in r[1] for r in rows[1:])
    page.goto("/experts/list/")
    page.click("#qd-export-columns")  # remembered
    assert page.is_checked("input[value=name]") and not page.is_checked("input[value=title]")


def test_print_one_power_as_one_table(page):
    log_in(page, "clerk")
    page.goto("/powers/list/")
    with page.expect_navigation():
        page.locator("table.qd-list tbody tr").first.locator("a:has-text('一项一表')").click()
    assert "（一项一表）" in page.inner_text("h3.qd-title")
    assert page.locator(".qd-duties").count() == 1
    axe_check(page)
    screenshot(page, "power-one-table")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("#qd-print").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000


def test_the_lists_sort_names_by_pinyin(page):
    from app.sheets.sorting import pinyin_key
    log_in(page, "clerk")
    page.goto("/experts/list/?_oc_ExpertsView=name&_od_ExpertsView=asc&psize_ExpertsView=100")
    names = page.locator("table.qd-list tbody tr td:nth-child(4)").all_inner_texts()
    assert len(names) > 20
    assert names == sorted(names, key=lambda n: pinyin_key(n, person_name=True))
    heads = [n[0] for n in names]
    assert heads.index("何") < heads.index("吴") and heads.index("唐") < heads.index("吴")
