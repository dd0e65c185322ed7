"""Files as office systems and clerks produce them (lists.md §1 Files), and uploads whose work
is bounded (issue 6 §7): HTML tables and XML Spreadsheets saved as .xls, merged ranges and
error values as the reader returns them, sheets with an absurd used range, macro-enabled
workbooks, and entity declarations anywhere in any part."""
from __future__ import annotations

import io
import struct
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from legacy_books import ENTERPRISE_HEADER, ENTERPRISES, imported, plan_of
from sqlalchemy import select
from test_reader import refused, simple_xlsx, small_xls

from app.sheets import reader, xlsx_scan
from app.sheets.reader import Limits, read_file

SHEET1 = "xl/worksheets/sheet1.xml"


# ---------------------------------------------------------------------------- HTML "xls"
HTML = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">
<html xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<style>td {{ mso-number-format:"\\@"; }}</style></head>
<body><h3>生产经营单位名录</h3>
<table border="1">
  <tr><td colspan="5">填报单位：某区安全生产监督管理局</td></tr>
  <tr><th>企业名称</th><th>统一社会信用<br>代码</th><th>所在区</th><th>行业类别</th><th>企业规模</th>
      <th>联系电话</th></tr>
  <tr><td>{0[0]}</td><td>{0[1]}</td><td rowspan="2">浦东新区</td><td>{0[3]}</td><td>{0[4]}</td>
      <td>021-5000&nbsp;6789</td></tr>
  <tr><td>{1[0]}</td><td>{1[1]}</td><td>{1[3]}</td><td>{1[4]}</td><td>#N/A</td></tr>
</table></body></html>"""


def test_html_table_saved_as_xls_imports_like_a_workbook(session):
    from app.lists.deposits import Enterprise
    data = HTML.format(*ENTERPRISES).encode("gb18030")
    plan = imported(session, "enterprises", data, "企业名录.xls", valid_only=True)
    # The merged 所在区 holds for both rows; the error value is an error of its cell.
    assert [(i.row, i.column, i.value) for i in plan.errors] == [(4, "联系电话", "#N/A")]
    assert [r.record["district"] for r in plan.rows] == ["浦东新区", "浦东新区"]
    stored = session.scalar(select(Enterprise))
    assert (stored.name, stored.credit_code, stored.district, stored.phone) == (
        ENTERPRISES[0][0], ENTERPRISES[0][1], "浦东新区", "021-50006789")


def test_html_tables_are_sheets_with_their_merges():
    page = ("<html><body><table><caption>第一表</caption><tr><td rowspan=3>甲</td><td>1</td></tr>"
            "<tr><td>2<br/>二</td></tr></table><table><tr><td colspan=2>乙</td><td>3</td></tr>"
            "</table></body></html>")
    first, second = read_file(page.encode(), "两表.xls")
    assert (first.name, first.rows, first.merges) == ("第一表", [(1, ["甲", "1"]), (2, ["", "2\n二"])],
                                                       [(1, 0, 2, 0)])
    assert (second.name, second.rows, second.merges) == ("表2", [(1, ["乙", "", "3"])], [(1, 0, 1, 1)])


def test_html_entity_declarations_and_dtd_subsets_are_refused():
    for hostile in ('<!DOCTYPE html [<!ENTITY a "b">]><html><table><tr><td>&a;</td></tr></table></html>',
                    '<html><!ENTITY x SYSTEM "file:///etc/passwd"><table><tr><td>1</td></tr></table></html>'):
        assert "DOCTYPE" in refused(hostile.encode(), "x.xls")


def test_html_beyond_the_limits_is_refused():
    rows = "".join(f"<tr><td>{i}</td></tr>" for i in range(5))
    assert "4 行" in refused(f"<table>{rows}</table>".encode(), "长.xls", Limits(max_rows=4))
    wide = "<table><tr>" + "<td colspan=1000>x</td>" + "<td>远</td></tr></table>"
    assert "256 列" in refused(wide.encode(), "宽.xls")


# ---------------------------------------------------------------------------- XML Spreadsheet 2003
def spreadsheetml(rows: str, extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet" xmlns:html="http://www.w3.org/TR/REC-html40">
 <Worksheet ss:Name="企业"><Table>{rows}</Table></Worksheet>{extra}
</Workbook>""".encode()


def cells(*values) -> str:
    out = []
    for value in values:
        kind = "Number" if isinstance(value, (int, float)) else "String"
        out.append(f'<Cell><Data ss:Type="{kind}">{value}</Data></Cell>')
    return "<Row>" + "".join(out) + "</Row>"


def test_xml_spreadsheet_imports_like_a_workbook(session):
    from app.lists.deposits import Enterprise
    rows = ('<Row><Cell ss:MergeAcross="4"><Data ss:Type="String">企业名录</Data></Cell></Row>'
            + cells(*ENTERPRISE_HEADER, "联系电话")
            + '<Row ss:Index="4">'
            + "".join(f'<Cell><Data ss:Type="String">{v}</Data></Cell>' for v in ENTERPRISES[0][:2])
            + '<Cell ss:MergeDown="1"><Data ss:Type="String">闵行区</Data></Cell>'
            + "".join(f'<Cell><Data ss:Type="String">{v}</Data></Cell>' for v in ENTERPRISES[0][3:])
            + '<Cell><Data ss:Type="Number">13910015679</Data></Cell></Row>'
            + "<Row>" + "".join(f'<Cell><Data ss:Type="String">{v}</Data></Cell>' for v in ENTERPRISES[1][:2])
            + "".join(f'<Cell ss:Index="{4 + i}"><Data ss:Type="String">{v}</Data></Cell>'
                      for i, v in enumerate(ENTERPRISES[1][3:]))
            + '<Cell><Data ss:Type="Error">#VALUE!</Data></Cell></Row>')
    hidden = ('<Worksheet ss:Name="旧表"><Table>' + cells(*ENTERPRISE_HEADER) + cells(*ENTERPRISES[2])
              + '</Table><WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel">'
              '<Visible>SheetHidden</Visible></WorksheetOptions></Worksheet>')
    plan = imported(session, "enterprises", spreadsheetml(rows, hidden), "企业.xml", valid_only=True)
    assert [(i.sheet, i.row, i.column, i.value) for i in plan.errors] == [
        ("企业", 5, "联系电话", "#VALUE!")]
    assert [(n.sheet, n.warning) for n in plan.notices] == [("旧表", True)]
    stored = session.scalar(select(Enterprise))
    assert (stored.credit_code, stored.district, stored.phone) == (
        ENTERPRISES[0][1], "闵行区", "13910015679")
    assert plan.rows[1].record["district"] == "闵行区"


def test_xml_spreadsheet_cell_types_and_positions():
    rows = ('<Row ss:Index="2"><Cell ss:Index="3"><Data ss:Type="DateTime">2015-03-01T00:00:00.000'
            '</Data></Cell><Cell><Data ss:Type="Boolean">1</Data></Cell>'
            '<Cell><Data ss:Type="Number">30.5</Data></Cell>'
            '<Cell><Data ss:Type="String"><html:B>加粗</html:B>文字</Data></Cell></Row>')
    sheet, = read_file(spreadsheetml(rows), "t.xls")
    import datetime as dt
    assert sheet.rows == [(1, []), (2, ["", "", dt.date(2015, 3, 1), True, 30.5, "加粗文字"])]


def test_xml_spreadsheet_with_a_doctype_is_refused():
    data = spreadsheetml(cells("a")).replace(b"<Workbook", b'<!DOCTYPE w [<!ENTITY e "x">]><Workbook', 1)
    assert "DOCTYPE" in refused(data, "x.xml")


def test_xml_that_is_no_spreadsheet_is_refused():
    assert "不是" in refused(b'<?xml version="1.0"?><note><to>x</to></note>', "x.xml")


def test_unicode_text_export_is_read_as_tab_separated():
    text = "企业名称\t统一社会信用代码\r\n示例\t91310115MA1D1YM25W\r\n"
    sheet, = read_file(text.encode("utf-16"), "unicode.txt")
    assert sheet.rows == [(1, ["企业名称", "统一社会信用代码"]), (2, ["示例", "91310115MA1D1YM25W"])]


# ---------------------------------------------------------------------------- merges and errors as read
def test_reader_returns_merged_ranges_of_xlsx_and_xls(tmp_path):
    import xlwt
    wb = openpyxl.Workbook()
    wb.active.append(["标题"])
    wb.active.append(["甲", 1])
    wb.active.append([None, 2])
    wb.active.merge_cells("A1:C1")
    wb.active.merge_cells("A2:A3")
    out = io.BytesIO()
    wb.save(out)
    sheet, = read_file(out.getvalue(), "m.xlsx")
    assert sorted(sheet.merges) == [(1, 0, 1, 2), (2, 0, 3, 0)]
    book = xlwt.Workbook()
    ws = book.add_sheet("表")
    ws.write_merge(1, 3, 1, 1, "合并")
    ws.write(3, 0, "x")
    out = io.BytesIO()
    book.save(out)
    sheet, = read_file(out.getvalue(), "m.xls")
    assert sheet.merges == [(2, 1, 4, 1)]


def test_error_values_come_back_as_their_text_at_their_cell():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "名称"
    ws["D5"] = "#DIV/0!"
    ws["D5"].data_type = "e"
    out = io.BytesIO()
    wb.save(out)
    sheet, = read_file(out.getvalue(), "e.xlsx")
    assert dict(sheet.rows)[5] == ["", "", "", "#DIV/0!"]


# ---------------------------------------------------------------------------- bounded work (issue 6 §7)
def test_a_stray_cell_far_away_is_refused_before_any_grid_is_built(tmp_path, monkeypatch):
    # 11.6 KB, one cell at IV199990: the child would build 51 million cells (11 s, 2.2 GB).
    wb = openpyxl.Workbook()
    wb.active.title = "专家名册"
    for i in range(1, 60):
        wb.active.append(["序号", "姓名", "工作单位"] if i == 1 else [i, f"专家{i}", "单位"])
    wb.active["IV199990"] = "误填"
    path = tmp_path / "sparse.xlsx"
    wb.save(path)

    def no_child(*args, **kwargs):
        raise AssertionError("the workbook reached the reader process")
    monkeypatch.setattr(reader, "_read_in_child", no_child)
    message = refused(path)
    assert "「专家名册」" in message and "A1:IV199990" in message and "178 个单元格" in message
    assert "删除" in message and "保存后再上传" in message


def test_a_dense_sheet_is_not_taken_for_a_sparse_one(tmp_path):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("宽表")
    for i in range(9000):
        ws.append([i] + [None] * 200 + ["末列"] if i % 3 == 0 else [i, "x"])
    path = tmp_path / "dense.xlsx"
    wb.save(path)
    sheet, = read_file(path, limits=Limits(sparse_floor_cells=1_000_000, max_sparseness=200))
    assert len(sheet.rows) == 9000


def test_xls_with_a_sparse_used_range_is_refused_before_its_rows_are_built():
    import xlwt
    book = xlwt.Workbook()
    ws = book.add_sheet("表")
    ws.write(0, 0, "序号")
    ws.write(60000, 200, "误填")
    out = io.BytesIO()
    book.save(out)
    message = refused(out.getvalue(), "稀疏.xls")
    assert "「表」" in message and "A1:GS60001" in message


def with_member(src: Path, dst: Path, name: str, content: bytes) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, old.read(item.filename))
        new.writestr(name, content)
    return dst


@pytest.mark.parametrize("member", ["xl/vbaProject.bin", "xl/VBAProject.BIN",
                                    "xl/macrosheets/sheet1.xml"])
def test_macro_enabled_workbooks_are_refused_whatever_their_name(tmp_path, member):
    hostile = with_member(simple_xlsx(tmp_path / "plain.xlsx"), tmp_path / "报表.xlsx", member,
                          b"\xcc\x61" * 64)
    message = refused(hostile)
    assert "宏" in message and "报表.xlsx" in message and "Excel 工作簿（*.xlsx）" in message


def test_xls_with_a_vba_project_is_refused():
    data = bytearray(small_xls())
    at = data.find("Workbook".encode("utf-16-le")) + 128   # the next, unused directory entry
    assert data[at:at + 64] == bytes(64)
    name = "_VBA_PROJECT_CUR".encode("utf-16-le")
    data[at:at + len(name)] = name
    struct.pack_into("<HB", data, at + 64, len(name) + 2, 1)   # length, type: storage
    assert "宏" in refused(bytes(data), "宏.xls")


def doctype_after(src: Path, dst: Path, padding: int, member: str = SHEET1) -> Path:
    with zipfile.ZipFile(src) as old:
        xml = old.read(member).decode()
    body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    comment = "<!--" + "x" * padding + "-->"
    hostile = '<?xml version="1.0"?>' + comment + '<!DOCTYPE d [<!ENTITY e "x">]>' + body
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, hostile if item.filename == member else old.read(item))
    return dst


@pytest.mark.parametrize("member", [SHEET1, "_rels/.rels", "xl/styles.xml"])
def test_a_doctype_anywhere_in_a_part_is_refused(tmp_path, member):
    hostile = doctype_after(simple_xlsx(tmp_path / "p.xlsx"), tmp_path / "d.xlsx", 8000, member)
    assert "DOCTYPE" in refused(hostile)


def test_a_doctype_cut_by_a_chunk_is_still_found(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_scan, "_CHUNK", 4096)
    prefix = len('<?xml version="1.0"?>') + len("<!--") + len("-->")
    padding = 4096 - prefix - 4          # "<!DOC" ends the first chunk, "TYPE" starts the next
    hostile = doctype_after(simple_xlsx(tmp_path / "p.xlsx"), tmp_path / "d.xlsx", padding)
    with zipfile.ZipFile(hostile) as archive:
        assert archive.read(SHEET1)[4092:4096] == b"<!DO"
    assert "DOCTYPE" in refused(hostile)


def test_amounts_from_an_html_export_take_the_unit_line(session):
    from app.lists.deposits import Deposit
    imported(session, "enterprises",
             "\n".join([",".join(ENTERPRISE_HEADER)] + [",".join(e) for e in ENTERPRISES]).encode(),
             "e.csv")
    page = ("<table><tr><td>金额单位：万元</td></tr><tr><td>统一社会信用代码</td><td>核定年度</td>"
            "<td>核定金额</td><td>存储银行</td><td>专户账号</td><td>状态</td></tr>"
            f"<tr><td>{ENTERPRISES[0][1]}</td><td>2016</td><td>30</td><td>示例银行</td>"
            "<td>6222021001012345678</td><td>已足额</td></tr></table>")
    plan = imported(session, "deposits", page.encode(), "抵押金.xls")
    assert plan.errors == []
    assert session.scalar(select(Deposit.approved_amount)) == Decimal("300000.00")
    assert session.scalar(select(Deposit.account_no)) == "6222021001012345678"
    assert plan_of(session, "deposits", page.encode(), "抵押金.xls").counts["unchanged"] == 1
