"""Legacy values that used to be stored wrong without a word (lists.md §1 Cell values, Import
semantics): keys typed in another width, long numbers Excel has rounded, error cells, the
CSV text guard, and duplicate keys named by the file's own headers."""
from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
import xlwt
from conftest import xlsx
from legacy_books import (
    ENTERPRISES,
    EXPERT_HEADER,
    POWER_HEADER,
    Tab,
    errors_of,
    expert_row,
    imported,
    plan_of,
    power_row,
    with_enterprises,
    xlsx_book,
)
from sqlalchemy import func, select

AGENCY_HEADER = ["机构名称", "统一社会信用代码", "单位性质", "法定代表人", "注册地址", "状态"]
AGENCY = ["上海示例安全评价有限公司（虚构）", "91310115MA1D1YM25W", "企业", "张某甲", "示例路1号", "正常"]
QUALIFICATION_HEADER = ["统一社会信用代码", "资质类别", "资质等级", "证书编号", "发证机关", "发证日期",
                        "有效期至", "业务范围", "证书状态"]


def certificate(number: str) -> list:
    return [AGENCY[1], "安全评价", "乙级", number, "上海市安全生产监督管理局", "2015-03-01",
            "2020-02-28", "金属冶炼", "有效"]


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------------------- keys
def test_a_key_in_full_and_half_width_brackets_is_one_key_in_the_file(session):
    imported(session, "agencies", xlsx([AGENCY_HEADER, AGENCY]))
    rows = [QUALIFICATION_HEADER, certificate("APJ-（沪）-001"), certificate("APJ-(沪)-001"),
            certificate("ＡＰＪ－（沪）－００２")]
    plan = plan_of(session, "qualifications", xlsx(rows))
    assert errors_of(plan) == [("Sheet1", 3, "证书编号")]
    assert "第 2 行" in plan.errors[0].message and "「证书编号」" in plan.errors[0].message


def test_a_key_in_another_width_finds_its_record_in_the_register(session):
    from app.lists.agencies import Qualification
    imported(session, "agencies", xlsx([AGENCY_HEADER, AGENCY]))
    imported(session, "qualifications", xlsx([QUALIFICATION_HEADER, certificate("APJ-（沪）-001")]))
    again = certificate("apj-(沪)-001")
    again[8] = "暂停"
    plan = imported(session, "qualifications", xlsx([QUALIFICATION_HEADER, again]))
    assert plan.counts["create"] == 0 and plan.counts["update"] == 1
    assert set(plan.rows[0].changes) == {"status"}    # the key itself is no change
    assert count(session, Qualification) == 1
    stored = session.scalar(select(Qualification))
    assert (stored.cert_no, stored.status) == ("APJ-（沪）-001", "暂停")


def test_a_parent_key_in_another_width_finds_the_parent(session):
    from app.lists.powers import Duty
    imported(session, "powers", xlsx([POWER_HEADER, power_row(1, code="XK-（一）-01")]))
    header = ["清单版本", "权力编码", "环节", "环节序号", "责任事项", "追责情形", "问责依据"]
    row = ["2015版", "XK-(一)-01", "受理", 1, "依法受理申请", "不依法受理的", "《行政许可法》第七十二条"]
    plan = imported(session, "responsibilities", xlsx([header, row]))
    assert plan.errors == [] and count(session, Duty) == 1


def test_duplicate_keys_are_named_by_the_headers_the_file_uses(session):
    header = list(POWER_HEADER)
    header[1:3] = ["版本", "事项编码"]
    plan = plan_of(session, "powers", xlsx([header, power_row(1), power_row(2), power_row(1)]))
    assert errors_of(plan) == [("Sheet1", 4, "版本、事项编码")]
    assert "「版本」、「事项编码」" in plan.errors[0].message and "第 2 行" in plan.errors[0].message


# ---------------------------------------------------------------------------- long numbers
DEPOSIT_HEADER = ["统一社会信用代码", "核定年度", "核定金额", "存储银行", "专户账号", "状态"]


def test_a_bank_account_that_excel_rounded_is_refused_and_never_stored(session):
    from app.lists.deposits import Deposit
    with_enterprises(session)
    rows = [DEPOSIT_HEADER,
            [ENTERPRISES[0][1], 2016, 300000, "示例银行", 6.222021001012345e18, "已足额"],
            [ENTERPRISES[1][1], 2016, 1000000, "示例银行", "6222021001012345678", "已足额"],
            [ENTERPRISES[2][1], 2016, 1500000, "示例银行", 6222020200112233.0, "已足额"]]
    plan = imported(session, "deposits", xlsx(rows), valid_only=True)
    assert errors_of(plan) == [("Sheet1", 2, "专户账号"), ("Sheet1", 4, "专户账号")]
    assert all("文本" in i.message for i in plan.errors)
    assert list(session.scalars(select(Deposit.account_no))) == ["6222021001012345678"]


def test_a_long_number_shown_in_scientific_notation_is_refused(session):
    with_enterprises(session)
    text = "\n".join([",".join(DEPOSIT_HEADER),
                      f"{ENTERPRISES[0][1]},2016,300000,示例银行,6.22202E+18,已足额"]) + "\n"
    plan = plan_of(session, "deposits", text.encode(), "抵押金.csv")
    assert errors_of(plan) == [("抵押金", 2, "专户账号")]
    assert plan.errors[0].value == "6.22202E+18"


def test_csv_text_guard_keeps_long_numbers_as_text(session):
    from app.lists.experts import Expert
    header = ",".join(EXPERT_HEADER + ["手机"])
    cells = expert_row(0)
    cells[1] = '="310110195001014126"'
    line = ",".join(cells + ['"=""13910015679"""'])
    plan = imported(session, "experts", (header + "\n" + line + "\n").encode(), "专家.csv")
    assert plan.errors == []
    assert session.scalar(select(Expert.id_number)) == "310110195001014126"
    assert session.scalar(select(Expert.mobile)) == "13910015679"


# ---------------------------------------------------------------------------- error cells
def error_cell(ws, ref: str, value: str) -> None:
    ws[ref] = value
    ws[ref].data_type = "e"


def test_error_cells_of_an_xlsx_are_errors_even_in_optional_columns(session):
    from app.lists.experts import Expert
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "专家"
    ws.append(EXPERT_HEADER + ["手机", "职务"])
    ws.append(expert_row(0) + [None, "总工程师"])
    ws.append(expert_row(1) + ["13910015679", None])
    ws.append(expert_row(2) + [None, None])
    error_cell(ws, "J2", "#VALUE!")     # optional 手机
    error_cell(ws, "K3", "#N/A")        # optional 职务
    error_cell(ws, "C4", "#REF!")       # required 工作单位
    import io
    out = io.BytesIO()
    wb.save(out)
    plan = imported(session, "experts", out.getvalue(), valid_only=True)
    assert errors_of(plan) == [("专家", 2, "手机"), ("专家", 3, "职务"), ("专家", 4, "工作单位")]
    assert [i.value for i in plan.errors] == ["#VALUE!", "#N/A", "#REF!"]
    assert all("Excel 错误值" in i.message for i in plan.errors)
    assert session.scalar(select(func.count()).select_from(Expert)) == 0


def test_error_cells_of_an_xls_are_errors(session):
    import io
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("专家")
    for c, text in enumerate(EXPERT_HEADER + ["手机"]):
        ws.write(0, c, text)
    for c, value in enumerate(expert_row(0)):
        ws.write(1, c, value)
    ws.row(1).set_cell_error(9, 42)          # #N/A
    for c, value in enumerate(expert_row(1)):
        if c != 2:
            ws.write(2, c, value)
    ws.row(2).set_cell_error(2, 7)           # #DIV/0! in 工作单位
    out = io.BytesIO()
    wb.save(out)
    plan = plan_of(session, "experts", out.getvalue(), "专家.xls")
    assert errors_of(plan) == [("专家", 2, "手机"), ("专家", 3, "工作单位")]
    assert [i.value for i in plan.errors] == ["#N/A", "#DIV/0!"]


@pytest.mark.parametrize("typed", ["#NAME?", "#NUM!", "#NULL!", "#div/0!"])
def test_error_values_in_text_files_are_errors_too(session, typed):
    line = ",".join(expert_row(0)[:2] + [typed] + expert_row(0)[3:])
    plan = plan_of(session, "experts", f"{','.join(EXPERT_HEADER)}\n{line}\n".encode(), "e.csv")
    assert errors_of(plan) == [("e", 2, "工作单位")]


def test_unit_line_and_merged_amounts_in_one_sheet(session):
    from app.lists.deposits import Deposit
    with_enterprises(session)
    rows = [["金额单位：万元"], DEPOSIT_HEADER,
            [ENTERPRISES[0][1], 2016, 30, "示例银行", "6222020200112233445", "已足额"],
            [ENTERPRISES[1][1], 2016, None, "示例银行", "6222020200112233446", "已足额"]]
    imported(session, "deposits", xlsx_book(Tab("抵押金", rows, ["C3:C4"])))
    assert set(session.scalars(select(Deposit.approved_amount))) == {Decimal("300000.00")}
