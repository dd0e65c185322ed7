"""The template and the export (app/sheets/writer.py), read back as a clerk's Excel would."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import Boolean as SaBoolean
from sqlalchemy import Column, ForeignKey, Numeric, String
from sqlalchemy import Date as SaDate
from sqlalchemy import Integer as SaInteger
from sqlalchemy.orm import declarative_base, relationship

from app.sheets.declare import Col, Sheet
from app.sheets.types import Amount, Boolean, CreditCode, Date, Enum, IdNumber, Integer, Multi, Text
from app.sheets.writer import cell_value, write_export, write_template

Base = declarative_base()


class Agency(Base):
    __tablename__ = "agency"
    id = Column(SaInteger, primary_key=True)
    credit_code = Column(String(18))
    name = Column(String(100))


class Person(Base):
    __tablename__ = "person"
    id = Column(SaInteger, primary_key=True)
    name = Column(String(50))
    id_number = Column(String(18))
    category = Column(String(20))
    sex = Column(String(2))
    trades = Column(String(100))
    birth_date = Column(SaDate)
    amount = Column(Numeric(14, 2))
    staff = Column(SaInteger)
    active = Column(SaBoolean)
    remark = Column(String(200))
    agency_id = Column(SaInteger, ForeignKey("agency.id"))
    agency = relationship(Agency)


LONG_CHOICES = [f"第{i}类行政权力事项" for i in range(1, 31)]
assert len(",".join(LONG_CHOICES)) > 255

SHEET = Sheet(
    slug="people", title="人员名单", model=Person, key=("id_number",),
    columns=[
        Col("姓名", "name", Text(person_name=True), required=True),
        Col("身份证号码", "id_number", IdNumber(), required=True),
        Col("事项类别", "category", Enum(LONG_CHOICES)),
        Col("性别", "sex", Enum(["男", "女"])),
        Col("行业", "trades", Multi(["危化", "冶金", "建材"])),
        Col("出生日期", "birth_date", Date()),
        Col("核定金额", "amount", Amount(), note="以元为单位"),
        Col("人数", "staff", Integer(min_value=0)),
        Col("是否在职", "active", Boolean()),
        Col("单位统一社会信用代码", "agency.credit_code", CreditCode(), required=True),
        Col("单位名称", "agency.name", Text(), info=True),
        Col("备注", "remark", Text()),
    ],
)
HEADERS = ["序号", "*姓名", "*身份证号码", "事项类别", "性别", "行业", "出生日期", "核定金额",
           "人数", "是否在职", "*单位统一社会信用代码", "单位名称", "备注"]
ID = "310110196203152011"
CODE = "91310000132149237G"


def person(**kw):
    agency = kw.pop("agency", Agency(credit_code=CODE, name="某某化工有限公司"))
    values = dict(name="张伟", id_number=ID, category=LONG_CHOICES[-1], sex="男",
                  trades="危化、冶金", birth_date=dt.date(1962, 3, 15),
                  amount=Decimal("300000.50"), staff=12, active=True, remark=None)
    values.update(kw)
    return Person(agency=agency, **values)


def read_rows(path, name="人员名单"):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


# -- cell_value ------------------------------------------------------------------------------
def test_cell_value_follows_relation_and_converts():
    p = person()
    assert cell_value(SHEET.column("agency.credit_code"), p) == CODE
    assert cell_value(SHEET.column("amount"), p) == 300000.5
    assert cell_value(SHEET.column("active"), p) == "是"
    assert cell_value(SHEET.column("birth_date"), p) == dt.date(1962, 3, 15)
    orphan = person(agency=None)
    assert cell_value(SHEET.column("agency.name"), orphan) is None
    assert cell_value(SHEET.column("remark"), orphan) is None


# -- template --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "template.xlsx"
    write_template(SHEET, path)
    return path, openpyxl.load_workbook(path)


def test_template_headers_and_layout(template):
    _, wb = template
    assert wb.sheetnames == ["人员名单", "选项", "填写说明"]
    ws = wb["人员名单"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:M1"
    assert ws["B1"].font.b and ws["B1"].fill.fgColor.rgb != ws["D1"].fill.fgColor.rgb
    assert ws.column_dimensions["C"].width == IdNumber.width


def test_template_comments(template):
    _, wb = template
    ws = wb["人员名单"]
    for cell in ws[1]:
        assert cell.comment is not None and cell.comment.author == "qingdan"
    assert ws["B1"].comment.text.endswith("必填")
    assert "以元为单位" in ws["H1"].comment.text and "选填" in ws["H1"].comment.text
    assert "仅供核对，不导入" in ws["L1"].comment.text
    assert "危化" in ws["F1"].comment.text and "、" in ws["F1"].comment.text  # multi: allowed values


def test_template_dropdowns(template):
    _, wb = template
    ws = wb["人员名单"]
    dvs = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(dvs) == {"D2:D200000", "E2:E200000", "F2:F200000", "J2:J200000"}
    assert all(dv.type == "list" for dv in dvs.values())
    assert dvs["E2:E200000"].formula1 == '"男,女"' and dvs["E2:E200000"].showErrorMessage
    assert dvs["J2:J200000"].formula1 == '"是,否"'
    # Too long for an inline list: a range of the hidden sheet.
    assert dvs["D2:D200000"].formula1 == "'选项'!$A$1:$A$30"
    options = wb["选项"]
    assert options.sheet_state == "hidden"
    assert [r[0] for r in options.iter_rows(values_only=True)] == LONG_CHOICES
    # Several values in one cell: a suggestion, never an error.
    assert not dvs["F2:F200000"].showErrorMessage


def test_template_number_formats(template):
    _, wb = template
    ws = wb["人员名单"]
    expected = {"B": "@", "C": "@", "G": "yyyy-mm-dd", "H": "#,##0.00", "I": "0", "K": "@"}
    for letter, fmt in expected.items():
        assert ws.column_dimensions[letter].number_format == fmt
        assert ws[f"{letter}2"].number_format == fmt
        assert ws[f"{letter}1001"].number_format == fmt


def test_template_instructions(template):
    _, wb = template
    rows = [r for r in wb["填写说明"].iter_rows(values_only=True)]
    text = "\n".join(str(v) for r in rows for v in r if v)
    assert "人员名单" in rows[0][0]
    assert ("列名", "是否必填", "类型与取值") in rows
    assert ("姓名", "必填", "文本") in rows
    amount = next(r for r in rows if r[0] == "核定金额")
    assert amount[1] == "选填" and "以元为单位" in amount[2] and "万元" in amount[2]
    for phrase in ("「身份证号码」", "序号", "2015-03-01", "30万元", "同上", "、"):
        assert phrase in text


def test_template_to_file_object():
    buf = io.BytesIO()
    write_template(SHEET, buf)
    assert openpyxl.load_workbook(io.BytesIO(buf.getvalue())).sheetnames[0] == "人员名单"


# -- export ----------------------------------------------------------------------------------
def test_export_round_trips_values(tmp_path):
    path = tmp_path / "export.xlsx"
    records = [person(), person(name="李娜", id_number="31011019800101002X", agency=None,
                                amount=None, active=False, birth_date=None)]
    assert write_export(SHEET, iter(records), path) == 2
    rows = read_rows(path)
    assert rows[0] == HEADERS
    first, second = rows[1], rows[2]
    assert first[:3] == [1, "张伟", ID]
    assert first[3] == LONG_CHOICES[-1] and first[5] == "危化、冶金"
    assert first[6] == dt.date(1962, 3, 15)
    assert first[7] == 300000.5 and first[8] == 12
    assert first[9] == "是" and first[10] == CODE and first[11] == "某某化工有限公司"
    assert second[0] == 2 and second[2] == "31011019800101002X"
    assert second[6] == "" and second[7] == "" and second[9] == "否" and second[10] == ""

    wb = openpyxl.load_workbook(path)
    ws = wb["人员名单"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M3"
    assert ws.column_dimensions["G"].width == Date.width
    assert ws["C2"].number_format == "@" and ws["G2"].number_format == "yyyy-mm-dd"
    assert ws["H2"].number_format == "#,##0.00"
    assert ws["B1"].comment.text.endswith("必填")
    assert "选项" in wb.sheetnames and "填写说明" not in wb.sheetnames


def test_export_never_writes_formulas(tmp_path):
    path = tmp_path / "export.xlsx"
    nasty = ["=SUM(A1)", "+1", "-2", "@x", "\t=1+1", "=HYPERLINK(\"http://x\",\"y\")"]
    records = [person(name=n, remark=n) for n in nasty]
    write_export(SHEET, records, path)
    xml = sheet_xml(path)
    assert "<f>" not in xml and "<f " not in xml
    rows = read_rows(path)[1:]
    assert [r[1] for r in rows] == nasty
    assert [r[12] for r in rows] == nasty
    ws = openpyxl.load_workbook(path)["人员名单"]
    assert ws["M2"].data_type == "s"
    assert ws["M2"].quotePrefix  # stays text when a clerk edits the cell in Excel


def test_export_transform_masks(tmp_path):
    path = tmp_path / "export.xlsx"

    def mask(col, value):
        if col.sensitive and value:
            return value[:6] + "*" * 8 + value[-4:]
        return value

    write_export(SHEET, [person()], path, transform=mask)
    row = read_rows(path)[1]
    assert row[2] == "310110********2011" and row[1] == "张伟"


def test_export_streams_a_large_generator(tmp_path):
    path = tmp_path / "big.xlsx"
    simple = Sheet(slug="big", title="大表", model=object, key=("code",), columns=[
        Col("编号", "code", Text(), required=True),
        Col("日期", "day", Date()),
        Col("金额", "amount", Amount()),
    ])
    produced = 0

    def records():
        nonlocal produced
        for i in range(20000):
            produced += 1
            yield SimpleNamespace(code=f"{i:018d}", day=dt.date(2015, 3, 1),
                                  amount=Decimal(i) / 100)

    assert write_export(simple, records(), buf := io.BytesIO()) == 20000
    assert produced == 20000
    path.write_bytes(buf.getvalue())
    rows = read_rows(path, "大表")
    assert len(rows) == 20001
    assert rows[-1] == [20000, "000000000000019999", dt.date(2015, 3, 1), 199.99]


def test_sheet_title_made_valid(tmp_path):
    long = Sheet(slug="x", title="上海市安全生产监督管理局行政权力清单（2015年版）/附表：一览[全部]",
                 model=object, key=("code",), columns=[Col("编号", "code", Text())])
    path = tmp_path / "t.xlsx"
    write_template(long, path)
    name = openpyxl.load_workbook(path).sheetnames[0]
    assert len(name) <= 31 and not set(name) & set("[]:*?/\\")
