"""Legacy workbooks for the tests, written as clerks keep them (openpyxl, xlwt, plain text)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import openpyxl
import xlwt
from openpyxl.utils import range_boundaries

from app.sheets.declare import sheets
from app.sheets.engine import apply_plan, build_plan


@dataclass
class Tab:
    title: str
    rows: list[list]
    merges: list[str] = field(default_factory=list)   # "A3:A5", as Excel names ranges
    hidden: bool = False


def xlsx_book(*tabs: Tab) -> bytes:
    """Merged ranges as Excel saves them: the value in the first cell, the others empty."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab in tabs:
        ws = wb.create_sheet(tab.title)
        for row in tab.rows:
            ws.append(row)
        for area in tab.merges:
            ws.merge_cells(area)
        if tab.hidden:
            ws.sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xls_book(*tabs: Tab) -> bytes:
    wb = xlwt.Workbook(encoding="utf-8")
    for tab in tabs:
        ws = wb.add_sheet(tab.title)
        covered = set()
        for area in tab.merges:
            c1, r1, c2, r2 = range_boundaries(area)
            value = tab.rows[r1 - 1][c1 - 1] if c1 - 1 < len(tab.rows[r1 - 1]) else None
            ws.write_merge(r1 - 1, r2 - 1, c1 - 1, c2 - 1, value)
            covered |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
        for r, row in enumerate(tab.rows, 1):
            for c, value in enumerate(row, 1):
                if value is not None and (r, c) not in covered:
                    ws.write(r - 1, c - 1, value)
        if tab.hidden:
            ws.visibility = 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plan_of(session, slug, data, name="legacy.xlsx", **kw):
    return build_plan(sheets[slug], data, name, session=session, **kw)


def imported(session, slug, data, name="legacy.xlsx", **kw):
    """Plan and apply; the plan."""
    plan = plan_of(session, slug, data, name, **kw)
    apply_plan(plan, session=session)
    return plan


def errors_of(plan) -> list[tuple[str, int, str]]:
    return [(i.sheet, i.row, i.column) for i in plan.errors]


# ---------------------------------------------------------------------------- powers
POWER_HEADER = ["序号", "清单版本", "权力编码", "权力类别", "权力名称", "实施主体", "行使层级",
                "法律依据", "行使程序", "权力内容", "行使对象", "是否收费", "状态"]
BODY = "上海市安全生产监督管理局"


def power_row(n: int, body=BODY, *, code=None) -> list:
    return [n, "2015版", code or f"XK-{n:04d}", "行政许可", f"示例许可事项{n}", body, "市级",
            "【法律】《中华人民共和国安全生产法》第一条", "受理、审查、决定", f"事项内容{n}",
            "企业法人", "否", "在用"]


# ---------------------------------------------------------------------------- experts
EXPERT_HEADER = ["姓名", "身份证号码", "工作单位", "职称级别", "专业类别", "专家类型",
                 "聘任日期", "聘期届满", "状态"]
ID_NUMBERS = ["310110195001014126", "310110195102025019", "310110195203030992",
              "310110195304041244"]


def expert_row(i: int, *, employer="上海示例化工有限公司（虚构）", start="2015-03-01",
               end="2018-02-28") -> list:
    return [f"专家{i}", ID_NUMBERS[i], employer, "正高级", "危险化学品", "普通专家", start, end,
            "在聘"]


# ---------------------------------------------------------------------------- enterprises
ENTERPRISE_HEADER = ["企业名称", "统一社会信用代码", "所在区", "行业类别", "企业规模"]
ENTERPRISES = [
    ["上海示例化工有限公司（虚构）0", "91310115MA1D1YM25W", "浦东新区", "危化品生产", "小型"],
    ["上海示例物流储运有限公司（虚构）1", "91310112MA1QHJRW05", "闵行区", "危化品储存", "中型"],
    ["上海示例涂料有限公司（虚构）2", "91310120MA1TAANB3K", "奉贤区", "危化品经营", "大型"],
]


def with_enterprises(session):
    from conftest import xlsx
    imported(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES]))
