"""The import and export screens through the browser's eyes, on every database: upload →
preview → confirm, the error workbook, history and undo, template and export, permissions."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
from urllib.parse import quote

import openpyxl
import pytest
from conftest import login, xlsx
from factories import plan_of
from sqlalchemy import func, select, text, update

from app.drafts import ImportDraft
from app.models import ImportBatch
from app.sheets.declare import sheets
from app.sheets.engine import apply_plan, build_plan
from app.sheets.errorbook import ERRORS_HEADER

SAMPLE = "experts_2015.xlsx"
EXPERT_HEADER = ["姓名", "身份证号码", "工作单位", "职称级别", "专业类别", "专家类型", "聘任日期",
                 "聘期届满", "状态"]
EXPERT_ROW = ["张伟", "310110195001014126", "上海示例化工有限公司（虚构）", "正高级", "危险化学品",
              "普通专家", "2015-03-01", "2018-02-28", "在聘"]


# ---------------------------------------------------------------------------- helpers
def upload(client, data: bytes, name: str, slug: str | None = "experts", **options):
    form = {"file": (io.BytesIO(data), name)}
    form.update({k: "1" for k, on in options.items() if on})
    url = f"/lists/{slug}/import" if slug else "/lists/import"
    return client.post(url, data=form, content_type="multipart/form-data")


def draft_id_of(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    match = re.search(r"/lists/imports/([0-9a-f]{32})$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match[1]


def counts_of(html: str) -> dict[str, int]:
    return {a: int(n) for a, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def n_experts(app) -> int:
    from app import db
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(sheets["experts"].model))


def batches(app) -> list[ImportBatch]:
    from app import db
    with app.app_context():
        rows = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
        db.session.expunge_all()
        return rows


def import_directly(app, data: bytes, name: str = "seed.xlsx", **kw):
    """Set up records through the engine (the screens are what is under test elsewhere)."""
    from app import db
    with app.app_context():
        apply_plan(plan_of(db.session, "experts", data, name, **kw), session=db.session,
                   data=data)


def contains_filter(app, column: str, view: str = "experts") -> str:
    """The list page's query argument that filters `column` by "contains"."""
    from app.web.screens import view_for
    with app.test_request_context():
        choices = view_for(view).new_filters().get_search_filters()[column]
    index = next(i for i, f in enumerate(choices) if type(f).__name__ == "FilterContains")
    return f"_flt_{index}_{column}"


@pytest.fixture
def sample(samples) -> bytes:
    return (samples / SAMPLE).read_bytes()


# ---------------------------------------------------------------------------- the whole story
def test_sample_upload_preview_refuse_errorbook_import_reimport_undo(app, client, sample):
    login(client, "clerk")

    # Upload: 40 new rows and 3 bad ones, named with their columns.
    draft = draft_id_of(upload(client, sample, SAMPLE))
    html = page(client, f"/lists/imports/{draft}")
    counts = counts_of(html)
    assert counts["create"] == 40 and counts["error"] == 3
    assert counts["update"] == counts["unchanged"] == counts["delete"] == 0
    errors = page(client, f"/lists/imports/{draft}?show=error")
    bad_rows = re.findall(r'data-row="(\d+)" data-action="error"', errors)
    assert sorted(map(int, bad_rows)) == [44, 45, 46]
    assert "身份证号码" in errors and "聘期届满" in errors and "专家名册" in errors

    # Confirming a file with errors, without "valid rows only", writes nothing.
    resp = client.post(f"/lists/imports/{draft}/confirm", follow_redirects=True)
    assert resp.status_code == 200
    assert "文件有错误，未导入任何记录" in resp.get_data(as_text=True)
    assert n_experts(app) == 0 and batches(app) == []

    # The error workbook: the rows as uploaded, the bad cells red, a 错误说明 column.
    resp = client.get(f"/lists/imports/{draft}/errors.xlsx")
    assert resp.status_code == 200
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    ws = wb["专家名册"]
    # Every row where it was in the clerk's file: the title rows above the header kept, so
    # the preview's 第 44–46 行 are rows 44–46 here too.
    assert "专家库名册" in str(ws.cell(1, 1).value)
    header = [c.value for c in ws[3]]
    assert header[0] == "序号" and header[-1] == ERRORS_HEADER
    numbered = [r[0] for r in ws.iter_rows(min_row=4, values_only=True)
                if isinstance(r[0], (int, float))]
    assert numbered == list(range(1, 44))  # every data row, the good ones kept
    explained, explained_rows = {}, []
    for row in ws.iter_rows(min_row=4):
        red = [c for c in row if c.fill.fill_type and c.fill.fgColor.rgb.endswith("FFC7CE")]
        if row[-1].value:
            explained[row[0].value] = (row[-1].value, red)
            explained_rows.append(row[0].row)
        else:
            assert not red
    assert sorted(explained) == [41, 42, 43]  # 序号 of Excel rows 44–46
    assert explained_rows == [44, 45, 46]  # the rows the preview names
    for _message, red in explained.values():
        assert red and all(c.comment is not None for c in red)
    assert "校验位" in explained[41][0] and "文本" in explained[42][0]
    assert "聘期届满" in explained[43][0]
    # The error workbook is itself uploadable, and its own error workbook keeps one 错误说明.
    again = draft_id_of(upload(client, resp.data, "专家_错误说明.xlsx"))
    counts = counts_of(page(client, f"/lists/imports/{again}"))
    assert (counts["create"], counts["error"]) == (40, 3)
    header = [c.value for c in openpyxl.load_workbook(io.BytesIO(client.get(
        f"/lists/imports/{again}/errors.xlsx").data))["专家名册"][3]]
    assert header.count(ERRORS_HEADER) == 1 and len(header) == ws.max_column

    # Upload again with "valid rows only" and confirm: 40 experts, one batch.
    draft = draft_id_of(upload(client, sample, SAMPLE, valid_only=True))
    assert "将只导入无错误的行" in page(client, f"/lists/imports/{draft}")
    resp = client.post(f"/lists/imports/{draft}/confirm")
    assert resp.status_code == 302
    assert n_experts(app) == 40
    (batch,) = batches(app)
    assert resp.headers["Location"].endswith(f"/imports/show/{batch.id}")
    assert (batch.created, batch.updated, batch.unchanged, batch.deleted) == (40, 0, 0, 0)
    assert batch.source == "web" and batch.file_name == SAMPLE
    assert batch.sha256 == hashlib.sha256(sample).hexdigest()

    # The draft went with the import: a second confirm finds nothing.
    assert client.post(f"/lists/imports/{draft}/confirm").status_code == 404

    # History: the list, the batch page, the original file as uploaded.
    listing = page(client, "/imports/list/")
    assert "导入记录" in listing and SAMPLE in listing and "安全生产专家库" in listing
    shown = page(client, f"/imports/show/{batch.id}")
    assert batch.sha256 in shown and "新增 40" in shown and "只导入无错误的行" in shown
    assert shown.count("<td>新增</td>") == 40
    resp = client.get(f"/lists/imports/batch/{batch.id}/file")
    assert resp.status_code == 200
    assert hashlib.sha256(resp.data).hexdigest() == batch.sha256

    # The same file again changes nothing, and says so.
    draft = draft_id_of(upload(client, sample, SAMPLE, valid_only=True))
    counts = counts_of(page(client, f"/lists/imports/{draft}"))
    assert (counts["create"], counts["update"], counts["unchanged"]) == (0, 0, 40)

    # Undo the batch (confirmed): the 40 experts are gone, the batch says it was undone.
    resp = client.post(f"/lists/imports/batch/{batch.id}/undo", data={"confirmed": "1"},
                       follow_redirects=True)
    assert resp.status_code == 200
    assert "已撤销" in resp.get_data(as_text=True)
    assert n_experts(app) == 0
    assert batches(app)[0].undone
    # A second undo is refused, in Chinese.
    resp = client.post(f"/lists/imports/batch/{batch.id}/undo", data={"confirmed": "1"},
                       follow_redirects=True)
    assert "撤销过" in resp.get_data(as_text=True)


def test_update_preview_shows_old_and_new_values_with_chinese_labels(app, client):
    import_directly(app, xlsx([EXPERT_HEADER, EXPERT_ROW]))
    login(client, "clerk")
    changed = EXPERT_ROW[:2] + ["上海另一家单位（虚构）"] + EXPERT_ROW[3:]
    draft = draft_id_of(upload(client, xlsx([EXPERT_HEADER, changed]), "update.xlsx"))
    html = page(client, f"/lists/imports/{draft}?show=update")
    assert counts_of(html)["update"] == 1
    assert re.search(r"工作单位</strong>：.*旧值</span> 上海示例化工有限公司（虚构）\s*→\s*"
                     r"<span class=\"text-muted\">新值</span> 上海另一家单位（虚构）", html)
    resp = client.post(f"/lists/imports/{draft}/confirm")
    batch = batches(app)[-1]
    shown = page(client, f"/imports/show/{batch.id}")
    assert "<td>更新</td>" in shown
    assert re.search(r"工作单位</strong>：上海示例化工有限公司（虚构） → 上海另一家单位（虚构）", shown)
    assert resp.status_code == 302

    # Undoing it (confirmed) puts the old value back.
    client.post(f"/lists/imports/batch/{batch.id}/undo", data={"confirmed": "1"})
    from app import db
    with app.app_context():
        expert = db.session.scalar(select(sheets["experts"].model))
        assert expert.employer == "上海示例化工有限公司（虚构）"


def test_preview_pages_and_filters_rows(app, client, sample, monkeypatch):
    from app.web import imports
    monkeypatch.setattr(imports, "PAGE_SIZE", 10)
    login(client, "clerk")
    draft = draft_id_of(upload(client, sample, SAMPLE))
    second = page(client, f"/lists/imports/{draft}?page=2")
    assert [int(n) for n in re.findall(r'data-row="(\d+)"', second)] == list(range(14, 24))
    assert "第 2 / 5 页" in second
    created = page(client, f"/lists/imports/{draft}?show=create&page=4")
    assert [int(n) for n in re.findall(r'data-row="(\d+)"', created)] == list(range(34, 44))


def test_same_as_above_is_shown_filled(app, client):
    login(client, "clerk")
    second = ["李芳", "310110195102025019", "同上"] + EXPERT_ROW[3:]
    draft = draft_id_of(upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW, second]), "same.xlsx"))
    html = page(client, f"/lists/imports/{draft}")
    assert counts_of(html)["create"] == 2
    # Both rows will store the employer written once.
    assert html.count("<li><b>工作单位</b>上海示例化工有限公司（虚构）</li>") == 2


def test_notes_name_hidden_sheets_and_ignored_columns(app, client):
    wb = openpyxl.Workbook()
    wb.active.append(EXPERT_HEADER + ["内部备注"])
    wb.active.append(EXPERT_ROW + ["不导入"])
    hidden = wb.create_sheet("草稿")
    hidden.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    login(client, "clerk")
    html = page(client, f"/lists/imports/{draft_id_of(upload(client, buf.getvalue(), 'n.xlsx'))}")
    assert "隐藏的工作表「草稿」已跳过" in html and "无法识别的列已忽略：内部备注" in html


def test_complete_import_lists_deletions_first(app, client):
    other = ["李芳", "310110195102025019"] + EXPERT_ROW[2:]
    import_directly(app, xlsx([EXPERT_HEADER, EXPERT_ROW, other]))
    login(client, "clerk")
    draft = draft_id_of(upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW]), "all.xlsx",
                               complete=True))
    html = page(client, f"/lists/imports/{draft}?show=delete")
    assert counts_of(html)["delete"] == 1 and "李芳" in html
    assert n_experts(app) == 2
    client.post(f"/lists/imports/{draft}/confirm")
    assert n_experts(app) == 1
    assert batches(app)[-1].options == {"complete": True, "valid_only": False}


# ---------------------------------------------------------------------------- stale previews
def test_record_changed_after_preview_is_refused(app, client):
    from app import db
    Expert = sheets["experts"].model
    import_directly(app, xlsx([EXPERT_HEADER, EXPERT_ROW]))
    login(client, "clerk")
    changed = EXPERT_ROW[:2] + ["上海另一家单位（虚构）"] + EXPERT_ROW[3:]
    draft = draft_id_of(upload(client, xlsx([EXPERT_HEADER, changed]), "update.xlsx"))
    assert counts_of(page(client, f"/lists/imports/{draft}"))["update"] == 1

    with app.app_context():  # someone edits the record meanwhile (through the ORM)
        expert = db.session.scalar(select(Expert))
        expert.position = "总工程师"
        db.session.commit()

    resp = client.post(f"/lists/imports/{draft}/confirm", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "记录在预览后已变化，请重新预览" in html
    assert counts_of(html)["update"] == 1  # the new preview is shown
    with app.app_context():
        expert = db.session.scalar(select(Expert))
        assert expert.employer == "上海示例化工有限公司（虚构）" and expert.position == "总工程师"
    assert len(batches(app)) == 1  # only the set-up import

    # Having seen the new preview, the clerk may confirm.
    assert client.post(f"/lists/imports/{draft}/confirm").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Expert)).employer == "上海另一家单位（虚构）"


# ---------------------------------------------------------------------------- bad files
def test_hostile_file_is_refused_in_chinese_and_nothing_stored(app, client):
    from app import db
    login(client, "clerk")
    resp = upload(client, os.urandom(4096), "专家.xlsx")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="upload-error"' in html and "系统只接受" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportDraft)) == 0


def test_file_over_the_import_limit_is_refused_with_its_size(app, client):
    login(client, "clerk")
    app.config["QINGDAN_MAX_UPLOAD_BYTES"], saved = 1000, app.config["QINGDAN_MAX_UPLOAD_BYTES"]
    try:
        resp = upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW]), "big.xlsx")
    finally:
        app.config["QINGDAN_MAX_UPLOAD_BYTES"] = saved
    assert resp.status_code == 400 and "超过了" in resp.get_data(as_text=True)


def _statement_limit(app) -> int | None:
    """The most bytes one statement may carry: MariaDB/MySQL's max_allowed_packet (16 MB by
    default); None for databases without such a limit."""
    if app.config["QINGDAN_DB_KIND"] != "mariadb":
        return None
    from app import db
    with app.app_context():
        return int(db.session.scalar(text("SELECT @@max_allowed_packet")))


def test_big_file_is_stored_unless_the_database_refuses_it_then_a_chinese_message(
        app, client, monkeypatch):
    """A 17 MB upload: stored and previewed where the database takes it (planned as a
    background job: it is a large file); where one statement may not carry it (MariaDB's
    default), a message instead of a server error."""
    monkeypatch.setitem(app.config, "QINGDAN_JOBS", "inline")
    import zipfile
    buf = io.BytesIO(xlsx([EXPERT_HEADER, EXPERT_ROW]))
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/media/photo.bin", os.urandom(17 * 1024 * 1024))  # not a sheet
    data = buf.getvalue()
    limit = _statement_limit(app)
    assert limit is None or abs(limit - len(data)) > 1024 * 1024, "set max_allowed_packet " \
        "clearly above or below the file's size: the answer depends on the statement's overhead"
    login(client, "clerk")
    resp = upload(client, data, "big.xlsx")
    if limit is not None and limit < len(data):
        assert resp.status_code == 400
        assert "文件未能保存到数据库" in resp.get_data(as_text=True)
        from app import db
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(ImportDraft)) == 0
    else:
        assert re.search(r"/jobs/[0-9a-f]{32}$", resp.headers["Location"])
        draft = draft_id_of(client.get(resp.headers["Location"]))  # done: to the preview
        assert counts_of(page(client, f"/lists/imports/{draft}"))["create"] == 1


def test_request_over_max_content_length_gets_a_chinese_page(app, client):
    login(client, "clerk")
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2000
    try:
        resp = upload(client, b"x" * 5000, "huge.xlsx")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "文件太大" in html and "上限" in html


def test_wrong_list_is_refused_with_the_expected_headers(app, client, samples):
    login(client, "clerk")
    resp = upload(client, (samples / "enterprises_gbk.csv").read_bytes(), "企业.csv")
    assert resp.status_code == 400
    assert "找不到「安全生产专家库」的表头" in resp.get_data(as_text=True)


def test_upload_without_slug_offers_every_list(app, client, sample):
    login(client, "clerk")
    html = page(client, "/lists/import")
    for s in sheets:
        assert f'<option value="{s.slug}">{s.title}</option>' in html
    resp = client.post("/lists/import", content_type="multipart/form-data",
                       data={"slug": "experts", "file": (io.BytesIO(sample), SAMPLE)})
    draft = draft_id_of(resp)
    assert counts_of(page(client, f"/lists/imports/{draft}"))["create"] == 40


# ---------------------------------------------------------------------------- drafts
def test_drafts_are_private_and_old_ones_purged(app, client, sample):
    from app import db
    login(client, "clerk")
    draft = draft_id_of(upload(client, sample, SAMPLE))
    with app.app_context():
        db.session.execute(update(ImportDraft).values(created_on=dt.datetime.now()
                                                      - dt.timedelta(days=2)))
        db.session.commit()
    other = login(app.test_client(), "admin")  # someone else sees nothing, even an admin
    assert other.get(f"/lists/imports/{draft}").status_code == 404
    assert other.post(f"/lists/imports/{draft}/confirm").status_code == 404
    assert other.get(f"/lists/imports/{draft}/errors.xlsx").status_code == 404
    fresh = draft_id_of(upload(other, sample, SAMPLE))  # any upload purges old drafts
    with app.app_context():
        assert [d.id for d in db.session.scalars(select(ImportDraft))] == [fresh]


def test_forged_confirm_without_csrf_token_is_refused(app, client, sample):
    login(client, "clerk")
    draft = draft_id_of(upload(client, sample, SAMPLE, valid_only=True))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post(f"/lists/imports/{draft}/confirm")
        html = page(client, f"/lists/imports/{draft}")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert resp.status_code == 400
    assert n_experts(app) == 0
    assert 'name="csrf_token"' in html  # the page's own form carries the token


# ---------------------------------------------------------------------------- template, export
def test_template_download(app, client):
    login(client, "clerk")
    resp = client.get("/lists/experts/template")
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert "filename*=UTF-8''" + quote("安全生产专家库_导入模板.xlsx") in disposition
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["序号", "专家编号", "*姓名"] and "*身份证号码" in headers


def test_export_of_filtered_list_reimports_unchanged(app, client, sample):
    from app import db
    Expert = sheets["experts"].model
    import_directly(app, sample, valid_only=True)
    login(client, "head")  # may see whole ID numbers, so may export experts
    resp = client.get("/lists/experts/export", query_string={contains_filter(app, "name"): "王"})
    assert resp.status_code == 200
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]
    exported = sorted(r[2] for r in ws.iter_rows(min_row=2, values_only=True))  # 序号, 专家编号, 姓名
    with app.app_context():
        expected = sorted(db.session.scalars(select(Expert.name)
                                             .where(Expert.name.contains("王"))))
        assert 0 < len(expected) < 40
        assert exported == expected
        plan = build_plan(sheets["experts"], resp.data, "export.xlsx", session=db.session)
        assert plan.counts == {"create": 0, "update": 0, "unchanged": len(expected),
                               "delete": 0, "error": 0}


# ---------------------------------------------------------------------------- permissions
def test_reader_can_neither_import_nor_export_id_numbers(app, client):
    login(client, "reader")
    assert client.get("/lists/experts/import").status_code == 403
    assert client.get("/lists/import").status_code == 403
    resp = client.get("/lists/experts/export")
    assert resp.status_code == 403
    assert "含有身份证号码" in resp.get_data(as_text=True)
    # A list without ID numbers may be exported by a reader.
    resp = client.get("/lists/agencies/export")
    assert resp.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]["B1"].value


def test_permission_names_are_those_roles_are_given(app):
    (view,) = [v for v in app.appbuilder.baseviews if type(v).__name__ == "ListsView"]
    assert view.class_permission_name == "Lists"
    assert set(view.base_permissions) == {"can_import", "can_export", "can_undo"}
    (history,) = [v for v in app.appbuilder.baseviews if type(v).__name__ == "ImportBatchView"]
    assert set(history.base_permissions) == {"can_list", "can_show"}  # no add/edit/delete


def test_reader_cannot_see_import_history(app, client, sample):
    import_directly(app, sample, valid_only=True)
    batch = batches(app)[0]
    login(client, "reader")
    assert client.get("/imports/list/").status_code == 403
    assert client.get(f"/imports/show/{batch.id}").status_code == 403
    assert client.get(f"/lists/imports/batch/{batch.id}/file").status_code == 403


def test_anonymous_visitor_is_sent_to_login(app, client):
    resp = client.get("/lists/experts/import")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_undo_needs_the_undo_permission(app, client, sample):
    import_directly(app, sample, valid_only=True)
    batch = batches(app)[0]
    login(client, "reader")
    assert client.post(f"/lists/imports/batch/{batch.id}/undo",
                       data={"confirmed": "1"}).status_code == 403
    assert client.get(f"/lists/imports/batch/{batch.id}/undo").status_code == 403
    assert n_experts(app) == 40


# ---------------------------------------------------------------------------- CLI and web
def test_cli_and_web_give_the_same_counts(app, client, samples, sample):
    login(client, "clerk")
    draft = draft_id_of(upload(client, sample, SAMPLE))
    web = counts_of(page(client, f"/lists/imports/{draft}"))
    result = app.test_cli_runner().invoke(
        args=["lists", "import", "experts", str(samples / SAMPLE), "--dry-run", "--json"])
    report = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 1  # row errors
    assert (report["created"], report["updated"], report["unchanged"], report["deleted"]) == (
        web["create"], web["update"], web["unchanged"], web["delete"])
    assert len({(e["row"]) for e in report["errors"]}) == web["error"]


def test_cli_writes_the_error_workbook(app, samples, tmp_path):
    out = tmp_path / "errors.xlsx"
    result = app.test_cli_runner().invoke(
        args=["lists", "import", "experts", str(samples / SAMPLE), "--dry-run", "--errors",
              str(out)])
    assert result.exit_code == 1
    ws = openpyxl.load_workbook(out)["专家名册"]
    assert ws.cell(3, ws.max_column).value == ERRORS_HEADER  # the header's own row


def test_single_table_workbook_of_the_filtered_powers(app, client):
    from app.seeding import load_seed
    from app.sheets.single_table import TITLE
    with app.app_context():
        list(load_seed())
    login(client, "clerk")
    page = client.get("/powers/list/").get_data(as_text=True)
    assert "导出一项一表" in page
    resp = client.get("/lists/powers/single-tables",
                      query_string={contains_filter(app, "name", view="powers"): "危险化学品"})
    assert resp.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    Power = sheets["powers"].model
    from app import db
    with app.app_context():
        codes = set(db.session.scalars(select(Power.code).where(Power.name.contains("危险化学品"))))
    assert codes and {ws.title for ws in wb.worksheets} == codes
    assert all(ws["A1"].value == TITLE for ws in wb.worksheets)
