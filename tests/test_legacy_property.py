"""Property: any valid record written in the legacy forms of lists.md §1 (merged, dittoed, a
unit line, a two-row header with the group's unit, full-width letters and digits, title and
signature rows) imports to exactly the values of the plain template form."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from legacy_books import ENTERPRISES, Tab, plan_of, with_enterprises, xlsx_book
from openpyxl.utils import get_column_letter

HEADER = ["保单号", "保险公司", "统一社会信用代码", "险种", "保险起期", "保险止期", "投保人数",
          "每人责任限额", "每次事故责任限额", "累计责任限额", "保险费", "缴费状态", "保单状态"]
INSURERS = ["示例财产保险股份有限公司上海分公司", "示例人寿保险股份有限公司上海市分公司"]
FULL_WIDTH = {**{chr(0x30 + i): chr(0xFF10 + i) for i in range(10)},
              **{chr(0x41 + i): chr(0xFF21 + i) for i in range(26)}}

policy = st.fixed_dictionaries({
    "insurer": st.sampled_from(INSURERS),
    "number": st.integers(1, 9999),
    "prefix": st.text("ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=2, max_size=4),
    "people": st.integers(1, 5000),
    "person": st.integers(30, 200),           # 万元
    "accident": st.integers(1, 10),           # times the per-person limit
    "total": st.integers(1, 5),               # times the per-accident limit
    "premium": st.integers(1, 10000),         # hundreds of 元
    "paid": st.sampled_from(["已缴", "未缴", "部分缴纳"]),
})
form = st.fixed_dictionaries({
    "unit_line": st.booleans(), "two_rows": st.booleans(), "full_width": st.booleans(),
    "runs": st.sampled_from(["merged", "同上", "〃", "written"]),
    "title": st.booleans(), "signature": st.booleans(),
})


def amounts(p) -> list[Decimal]:
    person = Decimal(p["person"]) * 10000
    accident = person * p["accident"]
    return [person, accident, accident * p["total"], Decimal(p["premium"]) * 100]


def cells(p, *, in_wan: bool, full_width: bool) -> list:
    number = f"{p['prefix']}-2016-{p['number']:04d}"
    if full_width:
        number = "".join(FULL_WIDTH.get(ch, ch) for ch in number)
    money = [float(a / 10000) if in_wan else float(a) for a in amounts(p)]
    return [number, p["insurer"], ENTERPRISES[0][1], "安全生产责任保险", "2016-01-01", "2016-12-31",
            p["people"], *money[:3], money[3], p["paid"], "有效"]


def plain(policies) -> bytes:
    return xlsx_book(Tab("保单", [HEADER] + [cells(p, in_wan=False, full_width=False) for p in policies]))


def legacy(policies, f) -> bytes:
    rows, merges = [], []
    if f["title"]:
        rows.append(["2016年度安全生产责任保险投保情况表"])
        merges.append("A1:M1")
    if f["unit_line"]:
        rows.append([None] * 10 + ["金额单位：万元"])
    if f["two_rows"]:
        top = HEADER[:7] + ["责任限额（万元）", None, None] + HEADER[10:]
        first = len(rows) + 1
        merges += [f"{get_column_letter(c)}{first}:{get_column_letter(c)}{first + 1}"
                   for c in (*range(1, 8), 11, 12, 13)] + [f"H{first}:J{first}"]
        rows += [top, [None] * 7 + ["每人", "每次事故", "累计"]]
    else:
        rows.append(HEADER)
    start = len(rows) + 1
    previous = None
    for p in policies:
        row = cells(p, in_wan=f["unit_line"], full_width=f["full_width"])
        if f["two_rows"] and not f["unit_line"]:
            row[7:10] = [float(a / 10000) for a in amounts(p)[:3]]   # the group's 万元
        if f["runs"] != "written" and previous == p["insurer"]:
            row[1] = None if f["runs"] == "merged" else f["runs"]
        previous = p["insurer"]
        rows.append(row)
    if f["runs"] == "merged":
        run_start = 0
        for i in range(1, len(policies) + 1):
            if i == len(policies) or policies[i]["insurer"] != policies[run_start]["insurer"]:
                if i - run_start > 1:
                    merges.append(f"B{start + run_start}:B{start + i - 1}")
                run_start = i
    if f["signature"]:
        rows += [["合计", None, None, None, None, None, sum(p["people"] for p in policies)],
                 ["制表人：张某甲", None, None, "审核人：李某乙"]]
    return xlsx_book(Tab("保单", rows, merges))


def comparable(plan) -> list[dict]:
    return [{k: (v.id if hasattr(v, "__table__") else v) for k, v in r.record.items()}
            for r in plan.rows]


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(policies=st.lists(policy, min_size=1, max_size=6,
                         unique_by=lambda p: (p["insurer"], p["prefix"], p["number"])),
       f=form)
def test_legacy_forms_import_to_the_values_of_the_plain_form(session, policies, f):
    from app.lists.deposits import Enterprise
    if session.query(Enterprise).count() == 0:
        with_enterprises(session)
    expected = plan_of(session, "policies", plain(policies), "plain.xlsx")
    assert expected.errors == [] and expected.count("create") == len(policies)
    got = plan_of(session, "policies", legacy(policies, f), "legacy.xlsx")
    assert got.errors == []
    assert comparable(got) == comparable(expected)
    assert [r.record["per_person_limit"] for r in got.rows] == [amounts(p)[0] for p in policies]
