"""Legacy layouts (lists.md §1 Headers, Cell values, Import semantics): merged cells, two-row
headers, unit lines, ditto marks, title, signature and page-header rows, one bad sheet among
good ones. Each file is written here as a clerk would keep it; the stored values and the row
and column of every error are asserted exactly."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import openpyxl
import pytest
from conftest import xlsx
from legacy_books import (
    BODY,
    ENTERPRISES,
    EXPERT_HEADER,
    ID_NUMBERS,
    POWER_HEADER,
    Tab,
    errors_of,
    expert_row,
    imported,
    plan_of,
    power_row,
    with_enterprises,
    xls_book,
    xlsx_book,
)
from sqlalchemy import select

from app.sheets.errorbook import write_errorbook

TITLE = "上海市安全生产监督管理局行政权力清单（2015年版）"


def powers_in(session):
    from app.lists.powers import Power
    return {p.code: p for p in session.scalars(select(Power))}


# ---------------------------------------------------------------------------- merged cells
def test_implementing_body_merged_over_its_powers_is_stored_for_each(session):
    rows = [[TITLE], POWER_HEADER, power_row(1), power_row(2, None), power_row(3, None),
            power_row(4, "上海市应急管理局（虚构）")]
    book = xlsx_book(Tab("权力", rows, merges=["A1:M1", "F3:F5"]))
    plan = imported(session, "powers", book)
    assert plan.errors == [] and plan.count("create") == 4
    bodies = {code: p.implementing_body for code, p in powers_in(session).items()}
    assert bodies == {"XK-0001": BODY, "XK-0002": BODY, "XK-0003": BODY,
                      "XK-0004": "上海市应急管理局（虚构）"}
    # The preview shows the filled value too.
    assert [r.record["implementing_body"] for r in plan.rows[:3]] == [BODY] * 3


def test_merged_cells_of_an_xls_fill_down_too(session):
    rows = [POWER_HEADER, power_row(1), power_row(2, None), power_row(3, None)]
    plan = imported(session, "powers", xls_book(Tab("权力", rows, merges=["F2:F4"])), "权力.xls")
    assert plan.errors == []
    assert {p.implementing_body for p in powers_in(session).values()} == {BODY}


def test_a_merge_down_over_a_blank_row_does_not_make_it_a_record(session):
    rows = [POWER_HEADER, power_row(1), power_row(2, None), [None] * 13, power_row(3)]
    plan = plan_of(session, "powers", xlsx_book(Tab("权力", rows, merges=["F2:F4"])))
    assert plan.errors == [] and [r.row for r in plan.rows] == [2, 3, 5]


def test_a_total_row_under_a_merged_cell_is_still_a_total(session):
    # The 序号 column merged down to the total row: the row is still a total.
    rows = [POWER_HEADER, power_row(1), power_row(2), [None, "合计：2项"]]
    plan = plan_of(session, "powers", xlsx_book(Tab("权力", rows, merges=["A2:A4"])))
    assert plan.errors == [] and [r.row for r in plan.rows] == [2, 3]


def test_a_merged_cell_left_empty_is_still_missing(session):
    rows = [POWER_HEADER, power_row(1, None), power_row(2, None)]
    plan = plan_of(session, "powers", xlsx_book(Tab("权力", rows, merges=["F2:F3"])))
    assert errors_of(plan) == [("权力", 2, "实施主体"), ("权力", 3, "实施主体")]


# ---------------------------------------------------------------------------- two-row headers
def test_term_group_over_start_and_end_reads_as_two_dates(session):
    from app.lists.experts import Expert
    top = EXPERT_HEADER[:6] + ["聘期", None, "状态"]
    parts = [None] * 6 + ["起", "止", None]
    good = expert_row(0)
    bad = expert_row(1, end="2018-13-45")
    merges = [f"{c}1:{c}2" for c in "ABCDEF"] + ["G1:H1", "I1:I2"]
    plan = plan_of(session, "experts", xlsx_book(Tab("专家", [top, parts, good, bad], merges)))
    assert errors_of(plan) == [("专家", 4, "聘期/止")]
    assert plan.errors[0].value == "2018-13-45"
    imported(session, "experts", xlsx_book(Tab("专家", [top, parts, good], merges)))
    expert = session.scalar(select(Expert))
    assert (expert.appointed_on.isoformat(), expert.term_ends_on.isoformat()) == (
        "2015-03-01", "2018-02-28")


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_liability_limits_group_gives_its_unit_to_every_part(session, kind):
    from app.lists.deposits import Policy
    with_enterprises(session)
    top = ["保单号", "保险公司", "统一社会信用代码", "险种", "保险起期", "保险止期", "投保人数",
           "责任限额（万元）", None, None, "保险费（元）", "缴费状态", "保单状态"]
    parts = [None] * 7 + ["每人", "每次事故", "累计", None, None, None]
    row = ["PICC-2016-001", "示例财产保险股份有限公司上海分公司", ENTERPRISES[0][1],
           "安全生产责任保险", "2016-01-01", "2016-12-31", 120, 30, 300, "1,000", 8000, "已缴", "有效"]
    merges = [f"{c}1:{c}2" for c in "ABCDEFGKLM"] + ["H1:J1"]
    book = (xlsx_book if kind == "xlsx" else xls_book)(Tab("保单", [top, parts, row], merges))
    plan = imported(session, "policies", book, f"保单.{kind}")
    assert plan.errors == []
    policy = session.scalar(select(Policy))
    assert (policy.per_person_limit, policy.per_accident_limit, policy.total_limit,
            policy.premium) == (Decimal("300000.00"), Decimal("3000000.00"),
                                Decimal("10000000.00"), Decimal("8000.00"))


def test_the_two_row_forms_written_in_one_cell_match(session):
    header = EXPERT_HEADER[:6] + ["聘期（起）", "聘期（止）", "状态"]
    plan = plan_of(session, "experts", xlsx([header, expert_row(0)]))
    assert plan.errors == [] and plan.rows[0].record["term_ends_on"].isoformat() == "2018-02-28"


def test_two_row_header_without_merges_as_a_csv_keeps_it(session):
    from app.lists.experts import Expert
    top = ",".join(EXPERT_HEADER[:6] + ["聘期", "", "状态"])
    parts = ",".join([""] * 6 + ["起", "止", ""])
    text = "\n".join([top, parts, ",".join(expert_row(2))]) + "\n"
    plan = imported(session, "experts", text.encode("gb18030"), "专家.csv")
    assert plan.errors == []
    assert session.scalar(select(Expert.term_ends_on)).isoformat() == "2018-02-28"


def test_a_title_merged_over_the_header_is_no_group(session):
    rows = [[TITLE], ["填报单位：上海市安全生产监督管理局", None, None, None, "填报日期：2015年6月"],
            POWER_HEADER, power_row(1)]
    plan = plan_of(session, "powers", xlsx_book(Tab("权力", rows, ["A1:M1", "A2:D2"])))
    assert plan.errors == [] and plan.header_rows == {"权力": 3}
    assert plan.rows[0].headers["code"] == "权力编码"


# ---------------------------------------------------------------------------- unit lines
DEPOSIT_HEADER = ["统一社会信用代码", "核定年度", "核定金额", "实存金额（元）", "存储银行",
                  "专户账号", "状态"]


def deposit_row(i=0, approved=30, deposited=300000):
    return [ENTERPRISES[i][1], 2016, approved, deposited, "示例银行上海分行", "6222020200112233445",
            "已足额"]


def test_unit_line_above_the_header_gives_bare_amounts_their_unit(session):
    from app.lists.deposits import Deposit
    with_enterprises(session)
    rows = [["2016年度安全生产风险抵押金核定表"], [None, None, None, None, None, "金额单位：万元"],
            DEPOSIT_HEADER, deposit_row(0, 30, 300000), deposit_row(1, "100万元", 1000000)]
    plan = imported(session, "deposits", xlsx_book(Tab("抵押金", rows)))
    assert plan.errors == []
    stored = sorted((d.approved_amount, d.deposited_amount) for d in session.scalars(select(Deposit)))
    # 核定金额 takes the line's 万元; 实存金额（元） names its own unit; "100万元" says it itself.
    assert stored == [(Decimal("300000.00"), Decimal("300000.00")),
                      (Decimal("1000000.00"), Decimal("1000000.00"))]


def test_error_workbook_of_a_file_with_a_unit_line_imports_the_same(session, tmp_path):
    with_enterprises(session)
    bad = deposit_row(1, 100, 1000000)
    bad[6] = "已存好"
    rows = [["单位：万元"], DEPOSIT_HEADER, deposit_row(0, 30, 300000), bad]
    plan = plan_of(session, "deposits", xlsx_book(Tab("抵押金", rows)))
    assert errors_of(plan) == [("抵押金", 4, "状态")]
    out = tmp_path / "errors.xlsx"
    write_errorbook(plan, out)
    again = plan_of(session, "deposits", out.read_bytes(), "errors.xlsx")
    assert again.rows[0].record["approved_amount"] == Decimal("300000.00")
    assert again.rows[1].record["approved_amount"] == Decimal("1000000.00")


# ---------------------------------------------------------------------------- ditto marks
def test_ditto_marks_repeat_the_value_above(session):
    rows = [POWER_HEADER, power_row(1), power_row(2, "同上"), power_row(3, "〃"),
            power_row(4, " 同上。")]
    plan = imported(session, "powers", xlsx_book(Tab("权力", rows)))
    assert plan.errors == []
    assert {p.implementing_body for p in powers_in(session).values()} == {BODY}
    assert [r.raw["implementing_body"] for r in plan.rows] == [BODY] * 4


def test_ditto_mark_with_nothing_above_is_an_error(session):
    plan = plan_of(session, "powers", xlsx_book(Tab("权力", [POWER_HEADER, power_row(1, "〃")])))
    assert errors_of(plan) == [("权力", 2, "实施主体")]
    assert "同上" in plan.errors[0].message


# ---------------------------------------------------------------------------- rows that are not records
def test_signature_total_and_note_rows_are_skipped(session):
    footers = [["小计：2项"], ["合计", None, "2"], ["总计：2"], ["注：本表由法规处汇总"],
               ["说明：编码按国家十大类"], ["填表人：张某甲"], ["制表人：李某乙", None, "审核人：王某"],
               ["填报人：赵某"], [None, "负责人：孙某"], ["审核人：钱某"]]
    rows = [POWER_HEADER, power_row(1), power_row(2), *footers]
    plan = plan_of(session, "powers", xlsx_book(Tab("权力", rows)))
    assert plan.errors == [] and [r.row for r in plan.rows] == [2, 3]


def test_csv_printed_with_its_header_on_every_page(session):
    header = ",".join(POWER_HEADER)
    page = lambda *ns: [header] + [",".join(map(str, power_row(n))) for n in ns]  # noqa: E731
    lines = [TITLE] + page(1, 2) + [TITLE] + page(3) + [TITLE] + page(4)
    plan = plan_of(session, "powers", ("\n".join(lines) + "\n").encode("utf-8-sig"), "打印.csv")
    assert plan.errors == [] and plan.count("create") == 4
    assert [r.row for r in plan.rows] == [3, 4, 7, 10]


def test_repeated_two_row_header_is_skipped_too(session):
    top = EXPERT_HEADER[:6] + ["聘期", None, "状态"]
    parts = [None] * 6 + ["起", "止", None]
    rows = [top, parts, expert_row(0), top, parts, expert_row(1)]
    plan = plan_of(session, "experts", xlsx_book(Tab("专家", rows, ["G1:H1", "G4:H4"])))
    assert plan.errors == [] and [r.row for r in plan.rows] == [3, 6]


# ---------------------------------------------------------------------------- header forms
def test_headers_with_a_colon_a_line_break_or_a_star_match(session):
    from app.lists.experts import Expert
    header = ["*姓名：", "身份证\n号码", "工作 单位:", "职称级别", "专业类别（必填）", "专家类型", "聘任日期",
              "聘期届满", "状态", "职务：", "手\r\n机"]
    row = expert_row(0) + ["总工程师", "13910015679"]
    plan = imported(session, "experts", xlsx([header, row]))
    assert plan.errors == [] and plan.notices == []
    expert = session.scalar(select(Expert))
    assert (expert.name, expert.position, expert.mobile) == ("专家0", "总工程师", "13910015679")
    assert plan.rows[0].headers["id_number"] == "身份证号码"   # as written, without the break


def test_time_limit_header_unit_is_kept_with_a_bare_number(session):
    header = POWER_HEADER + ["法定办理时限（工作日）", "承诺办理时限(天)"]
    rows = [header, power_row(1) + [20, "5"], power_row(2) + ["即办", "10个工作日"],
            power_row(3) + ["20个工作日", None]]
    imported(session, "powers", xlsx(rows))
    limits = {c: (p.legal_time_limit, p.promised_time_limit) for c, p in powers_in(session).items()}
    assert limits == {"XK-0001": ("20个工作日", "5天"), "XK-0002": ("即办", "10个工作日"),
                      "XK-0003": ("20个工作日", None)}


def test_the_same_column_twice_is_an_error_of_its_sheet(session):
    header = EXPERT_HEADER + ["手机", "手机号码"]
    rows = [header, expert_row(0) + ["13910015679", "13910015670"]]
    book = xlsx_book(Tab("专家", rows), Tab("其他专家", [EXPERT_HEADER, expert_row(1)]))
    plan = plan_of(session, "experts", book, valid_only=True)
    assert errors_of(plan) == [("专家", 1, "手机号码")]
    assert "「手机」" in plan.errors[0].message and "「手机号码」" in plan.errors[0].message
    assert [(r.sheet, r.action) for r in plan.rows] == [("其他专家", "create")]


# ---------------------------------------------------------------------------- sheets on their own
def test_a_sheet_without_a_usable_header_does_not_block_the_others(app, session, tmp_path):
    from app.lists.experts import Expert
    good = Tab("浦东", [EXPERT_HEADER, expert_row(0), expert_row(1)])
    broken = Tab("闵行", [EXPERT_HEADER[:2] + EXPERT_HEADER[3:], expert_row(2)[:2] + expert_row(2)[3:]])
    path = tmp_path / "districts.xlsx"
    path.write_bytes(xlsx_book(good, broken))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lists", "import", "experts", str(path), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["written"] is False
    assert [(e["sheet"], e["row"], e["column"]) for e in report["errors"]] == [("闵行", 1, "工作单位")]
    result = runner.invoke(args=["lists", "import", "experts", str(path), "--valid-only", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["written"] is True
    assert (report["created"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert sorted(session.scalars(select(Expert.id_number))) == ID_NUMBERS[:2]


def test_ignored_columns_and_hidden_sheets_are_json_warnings(app, tmp_path):
    visible = Tab("专家", [["专家名册"], EXPERT_HEADER + ["内部备注", "序号"],
                         expert_row(0) + ["x", 1]])
    book = xlsx_book(visible, Tab("草稿", [EXPERT_HEADER], hidden=True), Tab("说明", [["填写说明"]]))
    path = tmp_path / "w.xlsx"
    path.write_bytes(book)
    result = app.test_cli_runner().invoke(
        args=["lists", "import", "experts", str(path), "--dry-run", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["errors"] == []
    warnings = [(w["sheet"], w["row"], w["column"]) for w in report["warnings"]]
    assert warnings == [("专家", 2, "内部备注"), ("草稿", 0, ""), ("说明", 0, "")]
    assert "隐藏" in report["warnings"][1]["message"]


def test_error_workbook_of_a_two_row_header_imports_again(session, tmp_path):
    top = EXPERT_HEADER[:6] + ["聘期", None, "状态"]
    parts = [None] * 6 + ["起", "止", None]
    bad = expert_row(1)
    bad[4] = "核电"
    plan = plan_of(session, "experts", xlsx_book(Tab("专家", [top, parts, expert_row(0), bad],
                                                     ["G1:H1"])))
    assert errors_of(plan) == [("专家", 4, "专业类别")]
    out = io.BytesIO()
    write_errorbook(plan, out)
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["专家"]
    ws["E4"] = "冶金"
    fixed = io.BytesIO()
    ws.parent.save(fixed)
    again = plan_of(session, "experts", fixed.getvalue(), "fixed.xlsx")
    assert again.errors == [] and again.count("create") == 2
    assert again.rows[1].record["term_ends_on"].isoformat() == "2018-02-28"


def test_a_sheet_without_a_column_leaves_that_field_of_its_records_alone(session):
    from app.lists.experts import Expert
    imported(session, "experts", xlsx([EXPERT_HEADER + ["手机"], expert_row(1) + ["13910015679"]]))
    changed = expert_row(1, employer="上海示例物流储运有限公司（虚构）")
    book = xlsx_book(Tab("有手机", [EXPERT_HEADER + ["手机"], expert_row(0) + ["13910015670"]]),
                     Tab("无手机", [EXPERT_HEADER, changed]))
    plan = imported(session, "experts", book)
    assert [(r.sheet, r.action, sorted(r.changes)) for r in plan.rows] == [
        ("有手机", "create", []), ("无手机", "update", ["employer"])]
    kept = session.scalar(select(Expert).where(Expert.id_number == ID_NUMBERS[1]))
    assert (kept.employer, kept.mobile) == ("上海示例物流储运有限公司（虚构）", "13910015679")


def test_a_complete_import_with_a_broken_sheet_deletes_nothing(session):
    imported(session, "experts", xlsx([EXPERT_HEADER, expert_row(0), expert_row(1)]))
    good = Tab("浦东", [EXPERT_HEADER, expert_row(0)])
    broken = Tab("闵行", [EXPERT_HEADER[:2] + EXPERT_HEADER[3:], expert_row(1)[:2] + expert_row(1)[3:]])
    plan = plan_of(session, "experts", xlsx_book(good, broken), complete=True, valid_only=True)
    assert plan.deletions == [] and not plan.writable
