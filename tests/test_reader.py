"""app.sheets.reader: real files built in tmp_path (openpyxl, xlwt, zipfile) and the shared samples."""
from __future__ import annotations

import datetime as dt
import io
import logging
import os
import random
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt
from conftest import SAMPLES
from openpyxl.styles import Font

from app.sheets import reader
from app.sheets.reader import Limits, RawSheet, UnreadableFile, read_file

MB = 1024 * 1024
SHEET1 = "xl/worksheets/sheet1.xml"


def rows_by_number(sheet: RawSheet) -> dict[int, list]:
    return dict(sheet.rows)


def save_workbook(path: Path, fill, *, title: str = "Sheet") -> Path:
    workbook = openpyxl.Workbook()
    workbook.active.title = title
    fill(workbook)
    workbook.save(path)
    return path


def simple_xlsx(path: Path) -> Path:
    def fill(workbook):
        workbook.active.append(["序号", "姓名"])
        workbook.active.append([1, "王伟"])
    return save_workbook(path, fill)


def rewrite_members(src: Path, dst: Path, replace: dict[str, bytes]) -> Path:
    """Copy an xlsx, swapping the content of some members (others byte for byte)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, replace.get(item.filename, old.read(item.filename)))
    return dst


def with_sheet_data(src: Path, dst: Path, sheet_data: str) -> Path:
    """Copy an xlsx with <sheetData> of its first sheet replaced."""
    with zipfile.ZipFile(src) as old:
        xml = old.read(SHEET1).decode()
    xml = re.sub(r"<sheetData>.*</sheetData>|<sheetData\s*/>", sheet_data, xml, flags=re.S)
    return rewrite_members(src, dst, {SHEET1: xml.encode()})


def refused(source, filename=None, limits=None) -> str:
    with pytest.raises(UnreadableFile) as caught:
        read_file(source, filename, limits)
    return str(caught.value)


# ------------------------------------------------------------------ the shared samples

def test_experts_sample_keeps_excel_row_numbers_and_values():
    sheets = read_file(SAMPLES / "experts_2015.xlsx")
    assert [(s.name, s.hidden) for s in sheets] == [("专家名册", False)]
    sheet = sheets[0]
    assert [number for number, _ in sheet.rows] == list(range(1, len(sheet.rows) + 1))
    rows = rows_by_number(sheet)
    assert rows[3][0] == "序号"
    assert rows[4][1] == "王伟伟"
    assert rows[4][17] == dt.date(2015, 3, 1)      # a real date cell stays a date
    assert rows[47][0] == "合计：43人"


def test_same_result_from_path_str_and_bytes():
    path = SAMPLES / "experts_2015.xlsx"
    from_path = read_file(str(path))
    from_bytes = read_file(path.read_bytes(), "experts_2015.xlsx")
    assert from_path == from_bytes


def test_powers_sample_has_two_visible_sheets():
    sheets = read_file(SAMPLES / "powers_2015.xlsx")
    assert [(s.name, s.hidden) for s in sheets] == [("行政许可", False), ("行政处罚", False)]
    assert all(s.rows for s in sheets)


def test_gbk_csv_sample_decodes_as_gb18030():
    sheets = read_file(SAMPLES / "enterprises_gbk.csv")
    assert len(sheets) == 1
    sheet = sheets[0]
    assert sheet.name == "enterprises_gbk" and not sheet.hidden
    assert sheet.rows[0] == (1, ["企业名称", "统一社会信用代码", "区县", "行业类别", "企业规模",
                                 "地址", "联系人", "联系电话"])
    data = sheet.rows[1:]
    assert [number for number, _ in data] == list(range(2, 14))   # 12 data rows, CRLF ends
    assert data[0][1][0] == "上海示例化工有限公司（虚构）0"
    assert all(isinstance(cell, str) for _, cells in data for cell in cells)


# ------------------------------------------------------------------ csv

def test_utf8_bom_csv_keeps_cells_and_row_numbers():
    text = ('姓名,备注\r\n'
            ' 王伟 ,"第一行\r\n第二行"\r\n'
            '\r\n'
            '李芳,"含,逗号"\r\n'
            '\r\n\r\n')
    sheet, = read_file(("\ufeff" + text).encode("utf-8"), "名单.csv")
    assert sheet.name == "名单"
    assert sheet.rows == [
        (1, ["姓名", "备注"]),
        (2, [" 王伟 ", "第一行\r\n第二行"]),   # not stripped; a quoted line break stays in one row
        (3, []),                                # an empty row in the middle is kept
        (4, ["李芳", "含,逗号"]),               # trailing empty lines are dropped
    ]


def test_csv_without_filename_is_sheet1():
    sheet, = read_file(b"a,b\n1,2\n")
    assert sheet.name == "Sheet1"
    assert sheet.rows == [(1, ["a", "b"]), (2, ["1", "2"])]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiter_is_sniffed(delimiter):
    text = "\n".join(delimiter.join(row) for row in
                     [["名称", "区县", "规模"], ["甲公司", "浦东新区", "小型"], ["乙公司", "闵行区", "中型"]])
    sheet, = read_file(text.encode("gb18030"), "x.csv")
    assert sheet.rows[1] == (2, ["甲公司", "浦东新区", "小型"])


def test_csv_over_the_row_limit_is_refused():
    text = "".join(f"{i},名称{i}\n" for i in range(20))
    message = refused(text.encode(), "x.csv", Limits(max_rows=10))
    assert "超过" in message and "10" in message


def test_csv_blank_lines_after_the_row_limit_do_not_count():
    text = "".join(f"{i},x\n" for i in range(10)) + "\n" * 50
    sheet, = read_file(text.encode(), "x.csv", Limits(max_rows=10))
    assert len(sheet.rows) == 10


def test_undecodable_text_is_not_a_spreadsheet():
    message = refused(b"a,b\n\xff\xfe\xff,1\n", "x.csv")
    assert "不是" in message and ".xlsx、.xls、.csv" in message


def test_web_page_without_a_table_is_refused():
    # A web page saved as .xls is read like a workbook (tests/test_legacy_files.py); one
    # without any table has nothing to read.
    html = "<html><body><p>企业名称</p></body></html>"
    message = refused(html.encode(), "导出.xls")
    assert "网页" in message and "另存为 .xlsx" in message


# ------------------------------------------------------------------ xlsx contents

def test_data_starting_at_c5_keeps_excel_positions(tmp_path):
    def fill(workbook):
        sheet = workbook.active
        sheet["C5"], sheet["D5"], sheet["C7"] = "序号", "姓名", 1
    sheet, = read_file(save_workbook(tmp_path / "c5.xlsx", fill))
    rows = rows_by_number(sheet)
    assert list(rows) == [1, 2, 3, 4, 5, 6, 7]
    assert rows[5] == ["", "", "序号", "姓名"]
    assert rows[7][2] == 1
    assert rows[1] == rows[6] == ["", "", "", ""]


def test_hidden_sheets_are_returned_flagged_and_empty(tmp_path):
    def fill(workbook):
        workbook.active["A1"] = "可见"
        hidden = workbook.create_sheet("隐藏")
        hidden["A1"], hidden.sheet_state = "x", "hidden"
        very = workbook.create_sheet("深度隐藏")
        very["A1"], very.sheet_state = "y", "veryHidden"
        workbook.create_sheet("空表")
    sheets = read_file(save_workbook(tmp_path / "h.xlsx", fill, title="名册"))
    assert [(s.name, s.hidden, s.rows) for s in sheets] == [
        ("名册", False, [(1, ["可见"])]),
        ("隐藏", True, []),
        ("深度隐藏", True, []),
        ("空表", False, []),
    ]


def test_cell_types_come_through(tmp_path):
    def fill(workbook):
        workbook.active.append(["文本", 3, 2.5, True, dt.date(2015, 3, 1),
                                dt.datetime(2015, 3, 1, 8, 30), dt.time(9, 15)])
    (number, cells), = read_file(save_workbook(tmp_path / "t.xlsx", fill))[0].rows
    assert cells[:4] == ["文本", 3, 2.5, True]
    assert cells[4] == dt.date(2015, 3, 1)
    assert cells[5] == dt.datetime(2015, 3, 1, 8, 30)
    assert cells[6] == dt.time(9, 15)


# ------------------------------------------------------------------ limits

def test_too_large_is_refused_before_reading(tmp_path):
    path = simple_xlsx(tmp_path / "big.xlsx")
    for source in (path, path.read_bytes()):
        message = refused(source, "big.xlsx", Limits(max_bytes=100))
        assert "超过" in message and "0.1 KB" in message


def test_size_message_names_megabytes():
    message = refused(b"x" * (2 * MB + 1), "big.csv", Limits(max_bytes=MB))
    assert "2 MB" in message and "1 MB" in message and "超过" in message


def test_xlsx_over_the_row_limit_is_refused(tmp_path):
    def fill(workbook):
        for i in range(20):
            workbook.active.append([i, f"名称{i}"])
    message = refused(save_workbook(tmp_path / "rows.xlsx", fill), limits=Limits(max_rows=10))
    assert "超过" in message and "10 行" in message


def test_row_limit_counts_all_visible_sheets(tmp_path):
    def fill(workbook):
        for sheet in (workbook.active, workbook.create_sheet("二")):
            for i in range(8):
                sheet.append([i])
        hidden = workbook.create_sheet("隐藏")
        hidden.sheet_state = "hidden"
        for i in range(8):
            hidden.append([i])
    path = save_workbook(tmp_path / "two.xlsx", fill)
    assert len(read_file(path, limits=Limits(max_rows=16))) == 3
    assert "15 行" in refused(path, limits=Limits(max_rows=15))


@pytest.mark.parametrize(("cell", "ok"), [("A10", True), ("A11", False), ("AB1", True), ("AC1", False)])
def test_scan_bounds_rows_and_columns_exactly(tmp_path, cell, ok):
    def fill(workbook):
        workbook.active["A1"], workbook.active[cell] = "a", "b"
    path = save_workbook(tmp_path / "edge.xlsx", fill)
    limits = Limits(max_rows=10, max_columns=28)   # 28 = AB
    if ok:
        read_file(path, limits=limits)
    else:
        assert "超过" in refused(path, limits=limits)


def test_stray_cell_far_right_is_refused_before_calamine(tmp_path):
    # calamine would allocate A1:XFD1048576 densely (hundreds of GB) and abort the process.
    def fill(workbook):
        workbook.active["A1"], workbook.active["XFD1048576"] = "序号", "误填"
    message = refused(save_workbook(tmp_path / "stray.xlsx", fill))
    assert "XFD" in message and "超过" in message and "256 列" in message


def test_stray_cell_far_down_is_refused(tmp_path):
    def fill(workbook):
        workbook.active["A1"], workbook.active["B300000"] = "序号", "误填"
    message = refused(save_workbook(tmp_path / "down.xlsx", fill))
    assert "200000 行" in message and "超过" in message


def test_formatted_empty_far_cells_are_harmless(tmp_path):
    def fill(workbook):
        workbook.active["A1"] = "序号"
        workbook.active["XFD1048576"].font = Font(bold=True)   # written as <c r=… s=…/>
    sheet, = read_file(save_workbook(tmp_path / "styled.xlsx", fill))
    assert sheet.rows == [(1, ["序号"])]


@pytest.mark.parametrize("cell", ['<c r="XFD1048576" s="1"/>', '<c r="XFD1048576" s="1"></c>',
                                  "<c s='1' r='XFD1048576' t=\"n\" ></c>"])
def test_empty_far_cells_in_either_form_are_harmless(tmp_path, cell):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    body = ('<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
            f'<row r="1048576">{cell}</row></sheetData>')
    sheet, = read_file(with_sheet_data(src, tmp_path / "empty.xlsx", body))
    assert sheet.rows == [(1, [1])]


# Each of these files aborted the process before the scan read tags as XML does (quoted
# values may hold ">", "/>" and " r="): calamine saw a cell where the scan saw none.
def test_slash_in_a_value_does_not_make_a_far_cell_empty(tmp_path):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    body = ('<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
            '<row r="1048576"><c r="XFD1048576" x="/>"><v>1</v></c></row></sheetData>')
    assert "XFD 列" in refused(with_sheet_data(src, tmp_path / "slash.xlsx", body))


def test_r_in_a_value_is_not_a_reference(tmp_path):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    body = ('<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1000000">'
            + '<c x=" r=1"><v>1</v></c>' * 2000 + '</row></sheetData>')
    assert "标准格式" in refused(with_sheet_data(src, tmp_path / "inner.xlsx", body))


def test_reference_cut_by_a_chunk_after_a_quoted_bracket(tmp_path):
    # The first 1 MiB chunk ends in the middle of r="XF|D1048576"; the ">" in the value
    # before it made the tag look finished, so neither half was seen whole.
    src = simple_xlsx(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(src) as old:
        xml = old.read(SHEET1).decode()
    head = xml[:xml.index("<sheetData>")] + "<sheetData>"
    tail = xml[xml.index("</sheetData>"):]
    cut, rest = '<row r="1048576"><c x=" r=>" r="XF', 'D1048576"><v>1</v></c></row>'
    opening, closing = '<row r="2"><c r="A2" t="inlineStr"><is><t>', "</t></is></c></row>"
    size = reader._CHUNK - len((head + opening + closing + cut).encode())
    letters = random.Random(5).choices("abcdefghijklmnopqrstuvwxyz", k=size)
    filler = opening + "".join(letters) + closing
    assert len((head + filler + cut).encode()) == reader._CHUNK
    xml = head + filler + cut + rest + tail
    hostile = rewrite_members(src, tmp_path / "cut.xlsx", {SHEET1: xml.encode()})
    assert "XFD 列" in refused(hostile)


def test_column_limit_applies_to_xls_too(tmp_path):
    path = tmp_path / "wide.xls"
    workbook = xlwt.Workbook()
    workbook.add_sheet("表").write(0, 2, "C1")
    workbook.save(str(path))
    assert "C 列" in refused(path, limits=Limits(max_columns=2))


# ------------------------------------------------------------------ hostile or broken files

@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """A real workbook whose first sheet is 300 MB of zeros (≈300 KB compressed)."""
    folder = tmp_path_factory.mktemp("bomb")
    plain = simple_xlsx(folder / "plain.xlsx")
    bomb = folder / "bomb.xlsx"
    zeros = bytes(MB)
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            if item.filename == SHEET1:
                with new.open(SHEET1, "w") as stream:
                    for _ in range(300):
                        stream.write(zeros)
            else:
                new.writestr(item.filename, old.read(item.filename))
    return bomb


@pytest.mark.parametrize("limits", [
    Limits(),                                                        # ratio ≈ 1000 > 200
    Limits(max_ratio=10**9, max_unzipped_bytes=100 * MB),            # total over the limit
], ids=["ratio", "total"])
def test_zip_bomb_is_refused_before_anything_is_decompressed(zip_bomb, limits, monkeypatch):
    # Refused from the zip directory alone: not one part inflated (ZipFile.read opens it
    # too), no reader process started. How fast that is, is bench/'s business.
    opened = []
    real_open = zipfile.ZipFile.open

    def open_and_record(archive, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(archive, name, *args, **kwargs)

    def no_child(*args, **kwargs):
        raise AssertionError("the reader process was started for a zip bomb")

    monkeypatch.setattr(zipfile.ZipFile, "open", open_and_record)
    monkeypatch.setattr(subprocess, "run", no_child)
    monkeypatch.setattr(subprocess, "Popen", no_child)
    message = refused(zip_bomb, limits=limits)
    assert "压缩炸弹" in message
    assert opened == []


def test_too_many_zip_members_is_refused(tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(10_001):
            archive.writestr(f"xl/media/{i}.xml", b"")
    message = refused(path)
    assert "10000" in message and "拒绝" in message


@pytest.mark.parametrize("declaration", [
    '<!DOCTYPE worksheet [<!ENTITY e "x">]>',
    '<!ENTITY e SYSTEM "file:///etc/passwd">',
])
def test_xml_entity_declarations_are_refused(tmp_path, declaration):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(src) as old:
        xml = old.read(SHEET1).decode()
    body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    hostile = rewrite_members(src, tmp_path / "xxe.xlsx",
                              {SHEET1: ('<?xml version="1.0"?>' + declaration + body).encode()})
    message = refused(hostile)
    assert "DOCTYPE" in message and "拒绝" in message


def test_doctype_in_a_rels_part_is_refused(tmp_path):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(src) as old:
        rels = old.read("_rels/.rels")
    hostile = rewrite_members(src, tmp_path / "rels.xlsx",
                              {"_rels/.rels": b'<!DOCTYPE r [<!ENTITY a "b">]>' + rels})
    assert "DOCTYPE" in refused(hostile)


def test_cells_without_reference_are_refused(tmp_path):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    hostile = with_sheet_data(src, tmp_path / "noref.xlsx",
                              '<sheetData><row r="1"><c t="inlineStr"><is><t>a</t></is></c></row></sheetData>')
    assert "标准格式" in refused(hostile)


def test_utf16_part_is_refused(tmp_path):
    # UTF-16 would hide every tag from the byte-level scan.
    src = simple_xlsx(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(src) as old:
        xml = old.read(SHEET1).decode()
    hostile = rewrite_members(src, tmp_path / "utf16.xlsx", {SHEET1: xml.encode("utf-16")})
    assert "标准格式" in refused(hostile)


def test_endless_tag_is_refused(tmp_path):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    letters = random.Random(3).choices("abcdefghijklmnopqrstuvwxyz", k=3 * MB)
    hostile = with_sheet_data(src, tmp_path / "endless.xlsx",
                              '<sheetData><row r="1"><c r="A1" x="' + "".join(letters))
    assert "标准格式" in refused(hostile)


def test_prefixed_cell_tags_are_scanned_too(tmp_path):
    src = simple_xlsx(tmp_path / "plain.xlsx")
    ns = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    good = ('<sheetData><x:row r="2" ' + ns + '><x:c r="B2" t="inlineStr"><x:is><x:t>值</x:t></x:is>'
            '</x:c></x:row></sheetData>')
    sheet, = read_file(with_sheet_data(src, tmp_path / "ok.xlsx", good))
    assert rows_by_number(sheet)[2] == ["", "值"]
    bad = good.replace('r="B2" ', "")
    assert "标准格式" in refused(with_sheet_data(src, tmp_path / "bad.xlsx", bad))


@pytest.mark.parametrize(("content", "name"), [
    (random.Random(7).randbytes(4096) + b"\x00", "random.xlsx"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "photo.png"),
    (b"", "empty.csv"),
])
def test_non_spreadsheets_are_refused(content, name):
    message = refused(content, name)
    assert "不是" in message and ".xlsx、.xls、.csv" in message
    assert name in message


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "report.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert "不是 .xlsx 工作簿" in refused(path)


def test_truncated_xlsx_is_damaged(tmp_path):
    data = simple_xlsx(tmp_path / "plain.xlsx").read_bytes()
    for length in (len(data) // 3, len(data) // 2, len(data) - 30):
        message = refused(data[:length], "cut.xlsx")
        assert "损坏" in message and "cut.xlsx" in message


def test_truncated_xls_is_damaged(tmp_path):
    # calamine panics on most of these; the panic must come back as a readable refusal.
    path = tmp_path / "plain.xls"
    workbook = xlwt.Workbook()
    workbook.add_sheet("表").write(0, 0, "序号")
    workbook.save(str(path))
    data = path.read_bytes()
    for length in range(600, len(data), 250):
        assert "损坏" in refused(data[:length], "cut.xls")


def _ole_with_stream_named(name: str) -> bytes:
    """OLE2 header sector, then one directory sector whose second entry is `name`."""
    header = bytes.fromhex("D0CF11E0A1B11AE1").ljust(512, b"\x00")
    entry = name.encode("utf-16-le").ljust(64, b"\x00") + struct.pack("<H", len(name) * 2 + 2)
    directory = bytes(128) + entry.ljust(128, b"\x00")
    return header + directory.ljust(512, b"\x00")


def test_password_protected_xlsx_is_reported_as_encrypted():
    message = refused(_ole_with_stream_named("EncryptedPackage"), "加密.xlsx")
    assert "加密" in message and "密码" in message and "加密.xlsx" in message


def test_other_ole_garbage_is_damaged():
    assert "损坏" in refused(_ole_with_stream_named("Workbook"), "x.xls")


# ------------------------------------------------------------------ real .xls

def test_xls_round_trip(tmp_path):
    path = tmp_path / "legacy.xls"
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("专家")
    sheet.write(2, 1, "序号")
    sheet.write(2, 2, "姓名")
    sheet.write(3, 1, 1)
    sheet.write(3, 2, "王伟伟")
    sheet.write(3, 3, dt.datetime(2015, 3, 1), xlwt.easyxf(num_format_str="yyyy-mm-dd"))
    hidden = workbook.add_sheet("旧表")
    hidden.write(0, 0, "x")
    hidden.visibility = 1
    workbook.save(str(path))

    sheets = read_file(path)
    assert [(s.name, s.hidden) for s in sheets] == [("专家", False), ("旧表", True)]
    rows = rows_by_number(sheets[0])
    assert list(rows) == [1, 2, 3, 4]
    assert rows[3] == ["", "序号", "姓名", ""]
    assert rows[4][1:3] == [1, "王伟伟"]
    assert rows[4][3] == dt.date(2015, 3, 1)


def test_xls_over_the_row_limit_is_refused(tmp_path):
    path = tmp_path / "rows.xls"
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("表")
    for i in range(20):
        sheet.write(i, 0, i)
    workbook.save(str(path))
    assert "10 行" in refused(path, limits=Limits(max_rows=10))


def test_xls_cell_types_come_back_from_the_child_process(tmp_path):
    path = tmp_path / "types.xls"
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("类型")
    for column, (value, number_format) in enumerate([
            ("文本", None), (3, None), (2.5, None), (True, None),
            (dt.datetime(2015, 3, 1), "yyyy-mm-dd"),
            (dt.datetime(2015, 3, 1, 8, 30), "yyyy-mm-dd hh:mm"),
            (dt.time(9, 15), "hh:mm"),
            (1.25, "[h]:mm:ss")]):
        style = (xlwt.easyxf(num_format_str=number_format) if number_format
                 else xlwt.Style.default_style)
        sheet.write(1, column, value, style)
    workbook.save(str(path))
    sheet, = read_file(path)
    (number, cells), = [row for row in sheet.rows if any(row[1])]
    assert number == 2
    assert cells[:4] == ["文本", 3, 2.5, True]
    assert cells[4:] == [dt.date(2015, 3, 1), dt.datetime(2015, 3, 1, 8, 30), dt.time(9, 15),
                         dt.timedelta(days=1, hours=6)]
    assert [type(c) for c in cells[4:]] == [dt.date, dt.datetime, dt.time, dt.timedelta]


def test_xls_row_limit_counts_all_visible_sheets(tmp_path):
    path = tmp_path / "two.xls"
    workbook = xlwt.Workbook()
    for name in ("一", "二", "隐藏"):
        sheet = workbook.add_sheet(name)
        for i in range(8):
            sheet.write(i, 0, i)
    sheet.visibility = 1
    workbook.save(str(path))
    sheets = read_file(path, limits=Limits(max_rows=16))
    assert [(s.name, s.hidden, len(s.rows)) for s in sheets] == [
        ("一", False, 8), ("二", False, 8), ("隐藏", True, 0)]
    assert "15 行" in refused(path, limits=Limits(max_rows=15))


# ------------------------------------------------------------------ hostile .xls

_NUMBER = 0x0203        # BIFF8 NUMBER record: row, column, XF index (u16 each), then a double
_DIMENSIONS = 0x0200    # first row, last row + 1 (u32), first column, last column + 1 (u16), 0
_MARK = 0.123456789012  # not an RK number, so xlwt writes it as a NUMBER record


def small_xls() -> bytes:
    """About 6 KB: a header row, and the mark in B3 (the cell the tests move)."""
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("表")
    sheet.write(0, 0, "序号")
    sheet.write(0, 1, "姓名")
    sheet.write(1, 0, 1)
    sheet.write(1, 1, "王伟")
    sheet.write(2, 1, _MARK)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _find_once(data: bytes, needle: bytes) -> int:
    assert data.count(needle) == 1
    return data.index(needle)


def with_mark_at(data: bytes, row: int, column: int) -> bytes:
    """Move the NUMBER cell of small_xls() to (row, column), 0-based, in place."""
    at = _find_once(data, struct.pack("<HHHH", _NUMBER, 14, 2, 1))
    patched = bytearray(data)
    struct.pack_into("<HH", patched, at + 4, row, column)
    return bytes(patched)


def with_dimensions_rows(data: bytes, last_row_plus_one: int) -> bytes:
    at = _find_once(data, struct.pack("<HHIIHHH", _DIMENSIONS, 14, 0, 3, 0, 2, 0))
    patched = bytearray(data)
    struct.pack_into("<I", patched, at + 8, last_row_plus_one)
    return bytes(patched)


def calamine_in_a_child(data: bytes) -> subprocess.CompletedProcess:
    """Open `data` with calamine directly (as reader.py did in-process) in a throwaway
    interpreter limited to 2 GiB, and show what it does to the process."""
    program = ("import io, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31)); "
               "from python_calamine import CalamineWorkbook; "
               "CalamineWorkbook.from_filelike(io.BytesIO(sys.stdin.buffer.read()))")
    return subprocess.run([sys.executable, "-c", program], input=data, capture_output=True,
                          timeout=60, env={**os.environ, "RUST_BACKTRACE": "0"})


@pytest.fixture
def reader_log(caplog, monkeypatch):
    """The reader's warnings. Running the migrations (other tests) calls logging's
    fileConfig, which disables every logger that exists by then, this one included."""
    monkeypatch.setattr(logging.getLogger("app.sheets.reader"), "disabled", False)
    with caplog.at_level(logging.WARNING, logger="app.sheets.reader"):
        yield caplog


def test_small_xls_helper_reads_normally():
    sheet, = read_file(small_xls(), "small.xls")
    assert rows_by_number(sheet) == {1: ["序号", "姓名"], 2: [1, "王伟"], 3: ["", _MARK]}


@pytest.mark.parametrize("patch", [
    lambda data: with_mark_at(data, 65535, 65535),       # 65536 × 65536 cells: 137 GB
    lambda data: with_dimensions_rows(data, 0xFFFFFFF0),  # a grid sized by DIMENSIONS alone
], ids=["cell", "dimensions"])
def test_xls_that_aborts_calamine_is_refused_and_the_process_survives(patch, reader_log):
    hostile = patch(small_xls())
    assert len(hostile) < 8 * 1024
    # What it did when calamine ran in the worker: an abort, no exception to catch.
    crashed = calamine_in_a_child(hostile)
    assert crashed.returncode < 0 and b"memory allocation" in crashed.stderr
    message = refused(hostile, "恶意.xls")
    assert "损坏" in message and "恶意.xls" in message and "另存为 .xlsx" in message
    assert "exit status -" in reader_log.text   # the child died of a signal, this process did not


def test_xls_cell_far_right_gets_the_column_message():
    # One row, 65536 columns: calamine can hold that; the limit refuses it like in .xlsx.
    message = refused(with_mark_at(small_xls(), 2, 65535), "宽.xls")
    assert "第 CRXP 列" in message and "256 列" in message


def test_xls_cell_far_down_gets_the_row_message():
    message = refused(with_mark_at(small_xls(), 65535, 1), "长.xls", Limits(max_rows=1000))
    assert "1000 行" in message


def test_xls_child_memory_limit_is_enforced(tmp_path):
    # A real file whose grid needs 65536 × 256 cells (≈ 540 MB in calamine): too much
    # for a child given 256 MiB, which is refused instead of growing without bound.
    path = tmp_path / "corner.xls"
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("表")
    sheet.write(0, 0, "序号")
    sheet.write(65535, 255, "误填")
    workbook.save(str(path))
    assert "损坏" in refused(path, limits=Limits(child_memory_bytes=256 * MB))


_SLEEPS_THEN_ANSWERS = ("import pickle, sys, time; time.sleep(60); "
                        "sys.stdout.buffer.write(pickle.dumps(('ok', [])))")


def test_xls_child_that_takes_too_long_is_refused(monkeypatch, reader_log):
    monkeypatch.setattr(reader, "_CHILD_PROGRAM", _SLEEPS_THEN_ANSWERS)
    message = refused(small_xls(), "慢.xls", Limits(child_seconds=0.5))
    assert "损坏" in message   # had the child not been stopped, the result would be []
    assert "timed out" in reader_log.text


@pytest.mark.parametrize("program", [
    "import sys; sys.exit(3)",
    "import os; os.abort()",
    "pass",                                                          # no output at all
    "import sys; sys.stdout.buffer.write(b'not a pickle')",
    "import sys; sys.stdout.buffer.write(__import__('pickle').dumps(('surprise',)))",
    # The parent builds nothing but the date and time types from what the child writes.
    "import os, pickle, sys; "
    "sys.stdout.buffer.write(pickle.dumps(('ok', [('s', False, [[os.getcwd]])])))",
    "raise MemoryError",
], ids=["exit-3", "abort", "silent", "garbage", "unknown", "global", "memory-error"])
def test_any_failure_of_the_xls_child_is_damaged(monkeypatch, program):
    monkeypatch.setattr(reader, "_CHILD_PROGRAM", program)
    message = refused(small_xls(), "坏.xls")
    assert "损坏" in message and "坏.xls" in message


# Variants that abort calamine (python-calamine 0.9.1) when it opens them, found among the
# first 1000 seeds; tried here with 42 others.
_ABORTING_SEEDS = [92, 134, 435, 643, 791, 958, 974, 976]
_CORRUPTION_SEEDS = [*range(42), *_ABORTING_SEEDS]


def corrupted_xls(seed: int) -> bytes:
    """small_xls() with a few bytes changed, only in the workbook stream (from offset 512 in
    an xlwt file), where the records are: the rest is OLE2 bookkeeping and padding."""
    original = small_xls()
    stream_end = original.index(b"\x0a\x00\x00\x00", original.rindex(b"\x09\x08\x10\x00")) + 4
    rng = random.Random(seed)
    data = bytearray(original)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(512, stream_end)
        data[at] = rng.choice([0x00, 0xFF, rng.randrange(256)])
    return bytes(data)


def test_randomly_corrupted_xls_never_takes_the_process_down():
    outcomes = {}
    for seed in _CORRUPTION_SEEDS:
        try:
            sheets = read_file(corrupted_xls(seed), f"变体{seed}.xls")
        except UnreadableFile as exc:
            assert "损坏" in str(exc) and f"变体{seed}.xls" in str(exc), seed
            outcomes[seed] = "refused"
        else:
            assert all(isinstance(s, RawSheet) for s in sheets), seed
            outcomes[seed] = "read"
    # Those that abort calamine itself (shown in a throwaway process) are refused here,
    # and this process is still running to say so.
    aborting = [seed for seed in _ABORTING_SEEDS
                if calamine_in_a_child(corrupted_xls(seed)).returncode < 0]
    assert aborting, "no variant aborts calamine any more: find new seeds"
    assert {seed: outcomes[seed] for seed in aborting} == dict.fromkeys(aborting, "refused")
    # and damage calamine can live with is read, not refused wholesale
    assert "read" in outcomes.values()


def test_sparse_xlsx_within_the_limits_cannot_exhaust_the_worker(tmp_path):
    # Two cells, A1 and IV200000: inside every row and column limit, yet calamine would
    # build a dense grid of 51 million cells. It happens in the memory-limited child.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "序号"
    ws["IV200000"] = "x"
    path = tmp_path / "sparse.xlsx"
    wb.save(path)
    # The scan refuses it for its used range (tests/test_legacy_files.py); with that check
    # out of the way, the memory-limited child still stops it.
    with pytest.raises(UnreadableFile, match="损坏"):
        read_file(path, limits=Limits(child_memory_bytes=512 * 1024 * 1024,
                                      sparse_floor_cells=10 ** 12))
    # The same reader still reads an ordinary workbook afterwards.
    ok = tmp_path / "ok.xlsx"
    wb2 = openpyxl.Workbook()
    wb2.active.append(["姓名", "单位"])
    wb2.save(ok)
    assert read_file(ok)[0].rows == [(1, ["姓名", "单位"])]


def test_a_long_workbook_streams_its_rows_in_chunks_each_in_place(tmp_path):
    # The reader process writes rows 2,000 at a time; the error value comes from the scan.
    path = tmp_path / "long.xlsx"
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "甲"
    for i in range(1, 4502):
        first.append([i, f"名{i}"])
    first["B4321"] = "#N/A"
    workbook.create_sheet("乙").append(["另一表"])
    workbook.save(path)
    streamed, kept = read_file(path), read_file(path)
    # The second sheet read first: the first one's rows are kept for whoever reads them.
    assert list(streamed[1].iter_rows()) == [(1, ["另一表"])]
    rows = list(streamed[0].iter_rows())
    assert rows == kept[0].rows
    assert [number for number, _ in rows] == list(range(1, 4502))
    assert rows[4320] == (4321, [4321, "#N/A"]) and rows[-1] == (4501, [4501, "名4501"])
    with pytest.raises(RuntimeError):   # streamed rows are read once
        list(streamed[0].iter_rows())


def test_a_child_whose_rows_break_off_is_damaged_when_they_are_read(monkeypatch):
    program = ("import pickle, sys; out = sys.stdout.buffer; "
               "out.write(pickle.dumps(('ok', [('表', False, True, [])]))); "
               "out.write(pickle.dumps([['甲', 1.0]])); out.write(b'\\x80\\x05 broken')")
    monkeypatch.setattr(reader, "_CHILD_PROGRAM", program)
    sheet, = read_file(small_xls(), "断.xls")
    with pytest.raises(UnreadableFile, match="损坏"):
        list(sheet.iter_rows())
