"""A legacy workbook on its way in, in a real browser: download the template, upload the
bureau's old file, read the preview, download the error workbook, import the valid rows,
find the batch in 导入记录 and undo it."""
from __future__ import annotations

import io

import openpyxl
from conftest import SAMPLES

from .conftest import axe_check, log_in, screenshot

SAMPLE = SAMPLES / "experts_2015.xlsx"


def workbook(download):
    return openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))


def test_download_a_template(page):
    log_in(page, "clerk")
    page.goto("/experts/list/")
    with page.expect_download() as download:
        page.click("text=下载模板")
    assert download.value.suggested_filename == "安全生产专家库_导入模板.xlsx"
    wb = workbook(download)
    header = [c.value for c in wb.worksheets[0][1]]
    assert header[:3] == ["序号", "专家编号", "*姓名"] and "填写说明" in wb.sheetnames


def test_upload_preview_errors_import_and_undo(page):
    log_in(page, "clerk")
    page.goto("/experts/list/")
    with page.expect_navigation():
        page.click("#qd-tools >> text=导入")
    axe_check(page)
    page.set_input_files("#file", str(SAMPLE))
    with page.expect_navigation():
        page.click("text=上传并预览")
    # The preview: counts, and the three bad rows by the row numbers of the clerk's file.
    assert page.inner_text("[data-count=error]") == "3"
    assert "确认之前不会写入任何数据" in page.inner_text("main")
    assert page.is_disabled("#confirm-form button[type=submit]")
    new_row = page.locator("tr[data-action=create]").first
    assert "姓名" in new_row.locator(".qd-values").inner_text()  # new records show values
    screenshot(page, "import-preview", full_page=False)
    axe_check(page)
    with page.expect_navigation():
        page.click("#counts >> text=错误")
    bad = page.locator("tr[data-action=error]")
    assert [bad.nth(i).get_attribute("data-row") for i in range(bad.count())] == \
        ["44", "45", "46"]
    assert "校验位" in bad.nth(0).inner_text()

    # The error workbook keeps those rows where they were.
    with page.expect_download() as download:
        page.click("#errorbook-link")
    ws = workbook(download).worksheets[0]
    explained = [row[0].row for row in ws.iter_rows(min_row=4) if row[-1].value]
    assert explained == [44, 45, 46]

    # Upload again, valid rows only, and confirm.
    page.goto("/lists/experts/import")
    page.set_input_files("#file", str(SAMPLE))
    page.check("input[name=valid_only]")
    with page.expect_navigation():
        page.click("text=上传并预览")
    assert "将只导入无错误的行" in page.inner_text("#confirm-form")
    with page.expect_navigation():
        page.click("#confirm-form button[type=submit]")
    assert "新增 40 条" in page.inner_text("main")
    batch_url = page.url

    # 导入记录: the batch is there; its page undoes it.
    page.goto("/imports/list/")
    assert "experts_2015.xlsx" in page.inner_text("table.qd-list")
    axe_check(page)
    page.goto(batch_url)
    screenshot(page, "import-batch", full_page=False)
    with page.expect_navigation():
        page.click("#undo-form button[type=submit]")
    # It asks first, saying what the undo will do; nothing is undone yet.
    assert "这 40 条记录回到本次导入之前的样子" in page.inner_text("#effect")
    axe_check(page)
    with page.expect_navigation():
        page.click("#confirm-form button[type=submit]")
    assert "已撤销" in page.inner_text("main")
    assert page.inner_text("#undone").strip().startswith("是")
    axe_check(page)
