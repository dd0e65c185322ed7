"""The import pipeline end to end, on every database: samples, semantics, history, undo."""
from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from conftest import xlsx
from factories import plan_of
from sqlalchemy import event, func, select

from app.sheets.declare import sheets
from app.sheets.engine import (
    ImportRefused,
    StalePlan,
    UndoRefused,
    UnreadableFile,
    apply_plan,
    undo_batch,
)


def count(session, slug) -> int:
    return session.scalar(select(func.count()).select_from(sheets[slug].model))


ENTERPRISE_HEADER = ["企业名称", "统一社会信用代码", "所在区", "行业类别", "企业规模"]
ENTERPRISES = [
    ["上海示例化工有限公司（虚构）0", "91310115MA1D1YM25W", "浦东新区", "危化品生产", "小型"],
    ["上海示例物流储运有限公司（虚构）1", "91310112MA1QHJRW05", "闵行区", "危化品储存", "中型"],
    ["上海示例涂料有限公司（虚构）2", "91310120MA1TAANB3K", "奉贤区", "危化品经营", "大型"],
]


# ---------------------------------------------------------------------------- samples
def test_experts_sample_preview_names_every_bad_row(session, samples):
    data = (samples / "experts_2015.xlsx").read_bytes()
    plan = plan_of(session, "experts", data, "experts_2015.xlsx")
    assert plan.counts == {"create": 40, "update": 0, "unchanged": 0, "delete": 0, "error": 3}
    bad = {(i.row, i.column) for i in plan.errors}
    assert {r for r, _ in bad} == {44, 45, 46}
    assert (44, "身份证号") in bad and (45, "身份证号") in bad  # the header as the file writes it
    assert (46, "聘期至") in bad
    for issue in plan.errors:
        assert issue.sheet == "专家名册"
    damaged = next(i for i in plan.errors if i.row == 45)
    assert "文本" in damaged.message
    assert not plan.writable
    with pytest.raises(ImportRefused):
        apply_plan(plan, session=session)
    assert count(session, "experts") == 0


def test_experts_sample_valid_rows_are_normalised(session, samples):
    from app.lists.experts import Expert
    data = (samples / "experts_2015.xlsx").read_bytes()
    plan = plan_of(session, "experts", data, "experts_2015.xlsx", valid_only=True)
    batch = apply_plan(plan, session=session, data=data)
    assert (batch.created, batch.errors) == (40, 3)
    assert count(session, "experts") == 40
    first = session.scalar(select(Expert).where(Expert.id_number == "310110195001014126"))
    assert first.name == "王伟伟" and first.title == "教授级高级工程师"
    assert first.appointed_on == dt.date(2015, 3, 1) and first.term_ends_on == dt.date(2018, 2, 28)
    assert first.other_specialities == "石油化工、冶金"
    padded = session.scalar(select(Expert).where(Expert.id_number == "310110195102025019"))
    assert padded.name == "李芳" and padded.mobile == "13910015679"
    assert padded.registered_engineer is True and padded.title == "高级工程师"
    lower_x = session.scalar(select(Expert).where(Expert.name == "梁刚"))
    assert lower_x.id_number == "31011019711022712X"

    again = plan_of(session, "experts", data, "experts_2015.xlsx", valid_only=True)
    assert again.counts["unchanged"] == 40 and again.counts["create"] == 0


def test_powers_sample_two_sheets_same_as_above_and_codes(session, samples):
    from app.lists.powers import Power
    data = (samples / "powers_2015.xlsx").read_bytes()
    plan = plan_of(session, "powers", data, "powers_2015.xlsx")
    assert plan.errors == [] and plan.count("create") == 5
    assert {r.sheet for r in plan.rows} == {"行政许可", "行政处罚"}
    apply_plan(plan, session=session, data=data)
    sub = session.scalar(select(Power).where(Power.code == "XK-0101-01"))
    main = session.scalar(select(Power).where(Power.code == "XK-0101-00"))
    assert sub.legal_basis == main.legal_basis and "\n" in main.legal_basis  # 同上, line breaks
    assert main.levels == "市级、区县级" and main.objects == "企业法人、非法人企业"
    assert main.charged is False
    penalty = session.scalar(select(Power).where(Power.code == "CF-0094-00"))
    assert penalty.category == "行政处罚"  # given as the code 02


def test_responsibilities_need_their_power(session, samples):
    data = (samples / "responsibilities_2015.xlsx").read_bytes()
    plan = plan_of(session, "responsibilities", data)
    assert plan.count("error") == 10
    assert all("行政权力清单" in i.message for i in plan.errors)
    powers = (samples / "powers_2015.xlsx").read_bytes()
    apply_plan(plan_of(session, "powers", powers), session=session)
    plan = plan_of(session, "responsibilities", data)
    assert plan.errors == [] and plan.count("create") == 10
    apply_plan(plan, session=session)
    from app.lists.powers import Power
    power = session.scalar(select(Power).where(Power.code == "XK-0101-00"))
    assert [d.stage for d in power.duties] == ["受理", "审查", "决定", "送达", "事后监管"]


def test_gbk_csv(session, samples):
    data = (samples / "enterprises_gbk.csv").read_bytes()
    plan = plan_of(session, "enterprises", data, "enterprises_gbk.csv")
    assert plan.errors == [] and plan.count("create") == 12
    assert plan.rows[0].row == 2 and plan.rows[0].record["district"] == "浦东新区"


# ---------------------------------------------------------------------------- semantics
def test_duplicate_keys_unknown_columns_and_footers(session):
    rows = [["填报单位：示例"], ["序号", *ENTERPRISE_HEADER, "备用列"],
            [1, *ENTERPRISES[0], "x"], [2, *ENTERPRISES[1], ""], [3, *ENTERPRISES[0], ""],
            ["合计：3家"]]
    plan = plan_of(session, "enterprises", xlsx(rows, "企业"))
    assert plan.count("create") == 2 and plan.count("error") == 1
    dup = plan.errors[0]
    assert dup.row == 5 and "第 3 行" in dup.message and "重复" in dup.message
    assert any("备用列" in n for n in plan.notes)


def test_same_as_above_in_first_row_is_an_error(session):
    plan = plan_of(session, "enterprises",
                   xlsx([ENTERPRISE_HEADER, [ENTERPRISES[0][0], ENTERPRISES[0][1], "同上",
                                             "危化品生产", "小型"]]))
    assert plan.errors[0].column == "所在区" and "同上" in plan.errors[0].message


def test_unknown_enumeration_lists_allowed_values(session):
    bad = list(ENTERPRISES[0])
    bad[4] = "巨型"
    plan = plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, bad]))
    (issue,) = plan.errors
    assert issue.column == "企业规模" and issue.value == "巨型"
    assert "微型" in issue.message and "特大型" in issue.message


def test_missing_required_column_is_reported_at_the_header(session):
    plan = plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER[:4], ENTERPRISES[0][:4]]))
    assert [(i.row, i.column) for i in plan.errors] == [(1, "企业规模")]
    assert not plan.writable


def test_no_recognisable_header_is_unreadable(session):
    with pytest.raises(UnreadableFile) as exc:
        plan_of(session, "enterprises", xlsx([["甲", "乙"], [1, 2]]))
    assert "表头" in str(exc.value)


def test_hidden_sheets_are_reported_and_skipped(session):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(ENTERPRISE_HEADER)
    ws.append(ENTERPRISES[0])
    hidden = wb.create_sheet("旧表")
    hidden.append(ENTERPRISE_HEADER)
    hidden.append(ENTERPRISES[1])
    hidden.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    plan = plan_of(session, "enterprises", buf.getvalue())
    assert plan.count("create") == 1
    assert any("旧表" in n and "隐藏" in n for n in plan.notes)


def test_update_shows_old_and_new_and_writes_only_changes(session):
    from app.lists.deposits import Enterprise
    apply_plan(plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES])),
               session=session)
    changed = [list(r) for r in ENTERPRISES]
    changed[1][4] = "大型"
    plan = plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *changed]))
    assert plan.counts["update"] == 1 and plan.counts["unchanged"] == 2
    row = next(r for r in plan.rows if r.action == "update")
    assert row.changes == {"size": ("中型", "大型")}
    apply_plan(plan, session=session)
    ent = session.scalar(select(Enterprise).where(Enterprise.credit_code == ENTERPRISES[1][1]))
    assert ent.size == "大型" and ent.version == 2


def test_amount_unit_from_header(session):
    apply_plan(plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES])),
               session=session)
    header = ["统一社会信用代码", "核定年度", "核定金额（万元）", "实存金额", "存储银行", "专户账号", "状态"]
    row = [ENTERPRISES[0][1], 2016, 30, "30万元", "示例银行", "6222020200112233445", "已足额"]
    plan = plan_of(session, "deposits", xlsx([header, row]))
    assert plan.errors == []
    assert plan.rows[0].record["approved_amount"] == Decimal("300000.00")
    assert plan.rows[0].record["deposited_amount"] == Decimal("300000.00")


def test_complete_import_deletes_missing_records_after_preview(session):
    apply_plan(plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES])),
               session=session)
    plan = plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES[:2]]),
                   complete=True)
    assert plan.counts["delete"] == 1 and plan.deletions[0].label == ENTERPRISES[2][1]
    batch = apply_plan(plan, session=session)
    assert batch.deleted == 1 and count(session, "enterprises") == 2
    undo_batch(batch.id, session=session)
    assert count(session, "enterprises") == 3


def test_complete_import_refuses_to_delete_a_parent_with_children(session, samples):
    apply_plan(plan_of(session, "powers", (samples / "powers_2015.xlsx").read_bytes()),
               session=session)
    apply_plan(plan_of(session, "responsibilities",
                       (samples / "responsibilities_2015.xlsx").read_bytes()), session=session)
    header = ["清单版本", "权力编码", "权力类别", "权力名称", "实施主体", "行使层级", "法律依据",
              "行使程序", "权力内容", "行使对象", "是否收费", "状态"]
    one = ["2015版", "CF-0094-00", "02", "处罚事项", "市安监局", "市级", "《安全生产法》", "受理",
           "处罚", "企业法人", "否", "在用"]
    plan = plan_of(session, "powers", xlsx([header, one]), complete=True)
    blocked = [d for d in plan.deletions if d.action == "error"]
    assert {d.label for d in blocked} == {"2015版 / XK-0101-00", "2015版 / XK-0102-00"}
    assert "行政责任清单" in blocked[0].errors[0].message
    assert not plan.writable


def test_confirm_refuses_when_records_changed_since_preview(session):
    from app.lists.deposits import Enterprise
    apply_plan(plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES])),
               session=session)
    changed = [list(r) for r in ENTERPRISES]
    changed[0][0] = "新名称（虚构）"
    plan = plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *changed]))
    ent = session.scalar(select(Enterprise).where(Enterprise.credit_code == ENTERPRISES[0][1]))
    ent.contact = "他人改动"
    session.commit()
    with pytest.raises(StalePlan):
        apply_plan(plan, session=session)
    session.expire_all()
    ent = session.scalar(select(Enterprise).where(Enterprise.credit_code == ENTERPRISES[0][1]))
    assert ent.name == ENTERPRISES[0][0] and ent.contact == "他人改动"


def test_confirm_refuses_a_key_entered_since_preview_and_writes_nothing(session):
    """The new records go in through the driver's bulk path (COPY on PostgreSQL): a record
    someone entered meanwhile under one of their keys fails the whole import, as StalePlan."""
    from app.lists.deposits import Enterprise
    from app.models import Change, ImportBatch
    plan = plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES]))
    assert plan.count("create") == len(ENTERPRISES)
    name, code, district, industry, size = ENTERPRISES[1]
    session.add(Enterprise(name=name, credit_code=code, district=district, industry=industry,
                           size=size))
    session.commit()
    batches, trail = (session.scalar(select(func.count()).select_from(m))
                      for m in (ImportBatch, Change))
    with pytest.raises(StalePlan, match="同时录入"):
        apply_plan(plan, session=session)
    assert count(session, "enterprises") == 1
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == batches
    assert session.scalar(select(func.count()).select_from(Change)) == trail


# ---------------------------------------------------------------------------- history and undo
def test_batch_keeps_file_and_undo_restores_updates(session):
    from app.lists.deposits import Enterprise
    from app.models import Change, ImportBatch
    first = xlsx([ENTERPRISE_HEADER, *ENTERPRISES])
    apply_plan(plan_of(session, "enterprises", first), session=session, data=first)
    changed = [list(r) for r in ENTERPRISES]
    changed[2][2] = "金山区"
    second = xlsx([ENTERPRISE_HEADER, *changed, ["上海新设有限公司（虚构）", "91310116MA1KFJRE7R",
                                                 "金山区", "其他", "微型"]])
    batch = apply_plan(plan_of(session, "enterprises", second, "第二次.xlsx"), session=session,
                       data=second)
    assert (batch.created, batch.updated, batch.unchanged) == (1, 1, 2)
    stored = session.get(ImportBatch, batch.id)
    assert stored.file.content == second and stored.file_name == "第二次.xlsx"
    assert len(stored.sha256) == 64
    assert session.scalar(select(func.count()).select_from(Change)
                          .where(Change.batch_id == batch.id)) == 2

    undo_batch(batch.id, session=session)
    assert count(session, "enterprises") == 3
    ent = session.scalar(select(Enterprise).where(Enterprise.credit_code == ENTERPRISES[2][1]))
    assert ent.district == "奉贤区"
    with pytest.raises(UndoRefused):
        undo_batch(batch.id, session=session)


def test_undo_refuses_when_a_record_changed_since(session):
    from app.lists.deposits import Enterprise
    data = xlsx([ENTERPRISE_HEADER, *ENTERPRISES])
    batch = apply_plan(plan_of(session, "enterprises", data), session=session)
    ent = session.scalar(select(Enterprise).where(Enterprise.credit_code == ENTERPRISES[1][1]))
    ent.contact = "后来改的"
    session.commit()
    with pytest.raises(UndoRefused) as exc:
        undo_batch(batch.id, session=session)
    assert ENTERPRISES[1][1] in str(exc.value)
    assert count(session, "enterprises") == 3


def test_orm_edits_leave_history(session):
    from app.lists.deposits import Enterprise
    from app.models import Change
    apply_plan(plan_of(session, "enterprises", xlsx([ENTERPRISE_HEADER, *ENTERPRISES[:1]])),
               session=session)
    ent = session.scalar(select(Enterprise))
    ent.contact = "张三"
    session.commit()
    change = session.scalars(select(Change).where(Change.batch_id.is_(None))).one()
    assert change.action == "update" and change.after["contact"] == "张三"
    assert change.before["contact"] is None
    assert change.source == "other"  # written outside the app's paths: still on the trail


def test_plan_runs_a_bounded_number_of_queries(session, app):
    from app import db
    rows = [ENTERPRISE_HEADER]
    from stdnum.cn import uscc
    for i in range(600):
        body = f"91310115MA1{i:06d}"
        rows.append([f"示例企业{i}（虚构）", body + uscc.calc_check_digit(body), "浦东新区", "其他", "小型"])
    data = xlsx(rows)
    apply_plan(plan_of(session, "enterprises", data), session=session)
    statements = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        plan = plan_of(session, "enterprises", data)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert plan.counts["unchanged"] == 600
    assert len(statements) <= 5  # two chunks of keys, not one query per row


# ---------------------------------------------------------------------------- command line
def test_cli_reports_like_the_spec(app, samples, tmp_path):
    runner = app.test_cli_runner()
    path = str(samples / "experts_2015.xlsx")
    result = runner.invoke(args=["lists", "import", "experts", path, "--dry-run", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["list"] == "experts" and report["dry_run"] is True
    assert report["written"] is False and report["created"] == 40
    assert {e["row"] for e in report["errors"]} == {44, 45, 46}
    assert set(report["errors"][0]) == {"sheet", "row", "column", "value", "message"}

    result = runner.invoke(args=["lists", "import", "experts", path, "--valid-only", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["written"] is True

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"\x00\x01not a spreadsheet" * 10)
    result = runner.invoke(args=["lists", "import", "experts", str(bad), "--json"])
    assert result.exit_code == 2 and "error" in json.loads(result.stdout)

    result = runner.invoke(args=["lists", "names"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "powers\t行政权力清单"
    assert len(result.stdout.splitlines()) == len(sheets)


def test_cli_template_and_export_round_trip(app, samples, tmp_path):
    runner = app.test_cli_runner()
    csv = str(samples / "enterprises_gbk.csv")
    assert runner.invoke(args=["lists", "import", "enterprises", csv]).exit_code == 0
    out = tmp_path / "e.xlsx"
    assert runner.invoke(args=["lists", "export", "enterprises", str(out)]).exit_code == 0
    result = runner.invoke(args=["lists", "import", "enterprises", str(out), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["unchanged"] == 12 and report["updated"] == 0
    tpl = tmp_path / "t.xlsx"
    assert runner.invoke(args=["lists", "template", "experts", str(tpl)]).exit_code == 0
    headers = [c.value for c in openpyxl.load_workbook(tpl).worksheets[0][1]]
    assert headers[:3] == ["序号", "专家编号", "*姓名"]


def test_unique_column_apart_from_the_key(session):
    header = ["专家编号", "姓名", "身份证号码", "工作单位", "职称级别", "专业类别", "专家类型",
              "聘任日期", "聘期届满", "状态"]
    common = ["单位（虚构）", "正高级", "冶金", "普通专家", "2015-03-01", "2018-02-28", "在聘"]
    first = xlsx([header, ["ZJ-001", "甲", "310110195001014126", *common]])
    apply_plan(plan_of(session, "experts", first), session=session)
    rows = [header, ["ZJ-001", "乙", "310110195102025019", *common],   # taken by 甲
            ["ZJ-002", "丙", "310110195203030992", *common],
            ["ZJ-002", "丁", "310110195304041244", *common]]           # twice in the file
    plan = plan_of(session, "experts", xlsx(rows))
    assert [(i.row, i.column) for i in plan.errors] == [(2, "专家编号"), (4, "专家编号")]
    assert "另一条记录" in plan.errors[0].message and "第 3 行" in plan.errors[1].message
    assert plan.count("create") == 1
    # The record that owns the number may keep it.
    again = plan_of(session, "experts", first)
    assert again.errors == [] and again.count("unchanged") == 1
