"""§7 of issue 6, the work of an upload is bounded: the plan is kept with the draft (paging
a preview reads and plans nothing again), a clerk keeps a bounded number of open drafts, long
values are cut in previews (whole in the error workbook), and the 一项一表 workbook protects
formula-like text as list exports do."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from conftest import login, xlsx
from sqlalchemy import func, select, update
from test_imports_web import (
    EXPERT_HEADER,
    EXPERT_ROW,
    SAMPLE,
    counts_of,
    draft_id_of,
    n_experts,
    page,
    upload,
)

import app.sheets.engine as engine
import app.web.imports as imports
from app.drafts import ImportDraft, ImportDraftRow, shorten


@pytest.fixture
def sample(samples) -> bytes:
    return (samples / SAMPLE).read_bytes()


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Every time the file is read or planned, from now on."""
    calls: list[str] = []
    real_read, real_plan = engine.read_file, imports.build_plan

    def read_file(*args, **kwargs):
        calls.append("read")
        return real_read(*args, **kwargs)

    def build_plan(*args, **kwargs):
        calls.append("plan")
        return real_plan(*args, **kwargs)
    monkeypatch.setattr(engine, "read_file", read_file)
    monkeypatch.setattr(imports, "build_plan", build_plan)
    return calls


@pytest.fixture
def config(app):
    """Set app config values for one test."""
    saved = {}

    def set_(**values):
        for k, v in values.items():
            saved.setdefault(k, app.config.get(k))
            app.config[k] = v
    yield set_
    app.config.update(saved)


def rows_of(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-row="(\d+)"', html)]


def drafts_of(app, username: str) -> list[str]:
    from app import db
    with app.app_context():
        user = app.appbuilder.sm.find_user(username)
        names = list(db.session.scalars(select(ImportDraft.file_name)
                                        .where(ImportDraft.user_id == user.id)
                                        .order_by(ImportDraft.created_on, ImportDraft.id)))
        db.session.remove()
    return names


def uploaded_ago(app, draft_id: str, minutes: int) -> None:
    from app import db
    with app.app_context():
        db.session.execute(update(ImportDraft).where(ImportDraft.id == draft_id).values(
            created_on=dt.datetime.now().replace(microsecond=0)
            - dt.timedelta(minutes=minutes)))
        db.session.commit()
        db.session.remove()


# ---------------------------------------------------------------------------- the kept plan
def test_paging_a_preview_reads_and_plans_nothing_again(app, client, sample, reads, monkeypatch):
    monkeypatch.setattr(imports, "PAGE_SIZE", 10)
    login(client, "clerk")
    draft = draft_id_of(upload(client, sample, SAMPLE))
    assert reads == ["plan", "read"]  # the upload reads and plans it, once
    reads.clear()

    first = page(client, f"/lists/imports/{draft}")
    assert counts_of(first) == {"create": 40, "update": 0, "unchanged": 0, "error": 3,
                                "delete": 0}
    assert rows_of(first) == list(range(4, 14)) and "第 1 / 5 页" in first
    assert rows_of(page(client, f"/lists/imports/{draft}?page=3")) == list(range(24, 34))
    errors = page(client, f"/lists/imports/{draft}?show=error")
    assert rows_of(errors) == [44, 45, 46] and "校验位" in errors
    assert rows_of(page(client, f"/lists/imports/{draft}?show=create&page=4")) == list(
        range(34, 44))
    assert reads == []  # four pages, the file never read again

    from app import db
    with app.app_context():  # kept in the database: any process can page it
        kept = db.session.scalar(select(func.count()).select_from(ImportDraftRow)
                                 .where(ImportDraftRow.draft_id == draft))
        assert kept == 43

    # Confirming plans the file afresh (the stale check stays) and removes the kept plan.
    client.post(f"/lists/imports/{draft}/confirm")  # refused: the file has errors
    assert reads == ["plan", "read"]
    assert n_experts(app) == 0


def test_confirm_imports_what_the_kept_preview_showed(app, client, reads):
    login(client, "clerk")
    draft = draft_id_of(upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW]), "one.xlsx"))
    assert counts_of(page(client, f"/lists/imports/{draft}"))["create"] == 1
    assert client.post(f"/lists/imports/{draft}/confirm").status_code == 302
    assert n_experts(app) == 1
    from app import db
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportDraftRow)) == 0


def test_a_draft_kept_without_its_plan_is_planned_once(app, client, sample, reads):
    """A draft uploaded before plans were kept (no summary): its first preview plans it and
    keeps the plan, the next ones page it."""
    from app import db
    login(client, "clerk")
    draft = draft_id_of(upload(client, sample, SAMPLE))
    with app.app_context():
        db.session.execute(update(ImportDraft).values(summary=None))
        db.session.execute(ImportDraftRow.__table__.delete())
        db.session.commit()
    reads.clear()
    assert counts_of(page(client, f"/lists/imports/{draft}"))["create"] == 40
    assert reads == ["plan", "read"]
    assert counts_of(page(client, f"/lists/imports/{draft}?page=2"))["error"] == 3
    assert reads == ["plan", "read"]


# ---------------------------------------------------------------------------- open drafts
def test_a_clerk_keeps_a_bounded_number_of_open_drafts_the_oldest_go(app, client, config):
    config(QINGDAN_MAX_OPEN_DRAFTS=2)
    other = login(app.test_client(), "head")
    draft_id_of(upload(other, xlsx([EXPERT_HEADER, EXPERT_ROW]), "科长的.xlsx"))
    login(client, "clerk")
    first = draft_id_of(upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW]), "第一次.xlsx"))
    second = draft_id_of(upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW]), "第二次.xlsx"))
    uploaded_ago(app, first, minutes=20)
    uploaded_ago(app, second, minutes=10)
    assert drafts_of(app, "clerk") == ["第一次.xlsx", "第二次.xlsx"]

    third = draft_id_of(upload(client, xlsx([EXPERT_HEADER, EXPERT_ROW]), "第三次.xlsx"))
    html = page(client, f"/lists/imports/{third}")
    assert "未确认的导入预览每人最多保留 2 个：较早的「第一次.xlsx」已作废" in html
    assert "请重新上传该文件" in html
    assert drafts_of(app, "clerk") == ["第二次.xlsx", "第三次.xlsx"]
    assert client.get(f"/lists/imports/{first}").status_code == 404
    assert drafts_of(app, "head") == ["科长的.xlsx"]  # another's drafts are theirs


# ---------------------------------------------------------------------------- long values
def test_long_values_are_cut_in_previews_and_whole_in_the_error_workbook(app, client, config):
    config(QINGDAN_PREVIEW_MAX_CHARS=200)
    employer = "上海" + "很长的单位名称" * 3000  # 21,002 characters: too long for the column
    row = EXPERT_ROW[:2] + [employer] + EXPERT_ROW[3:]
    login(client, "clerk")
    draft = draft_id_of(upload(client, xlsx([EXPERT_HEADER, row]), "长.xlsx"))
    html = page(client, f"/lists/imports/{draft}")
    assert counts_of(html)["error"] == 1
    assert employer[:200] + "…" in html and employer[:201] not in html
    assert len(html) < 40_000

    wb = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/lists/imports/{draft}/errors.xlsx").data))
    assert employer in [c.value for c in wb.active[2]]


def test_a_cut_never_splits_a_number(app, client, config):
    """ID numbers are masked on the page, whole numbers only: a cut through one would show
    its first digits to a clerk who may not see them."""
    assert shorten("甲" * 195 + "310110195805198684，其后", 200) == "甲" * 195 + "…"
    assert shorten("甲" * 10, 200) == "甲" * 10
    assert shorten("1" * 500, 200) == "…"
    assert shorten("甲" * 150 + " 3101101958 xx", 200) == "甲" * 150 + " 3101101958 xx"

    config(QINGDAN_PREVIEW_MAX_CHARS=30)  # the 31st character is in the ID number
    login(client, "clerk")  # 科员: ID numbers masked
    employer = "上海示例化工有限公司（虚构）联系人身份证 310110195805198684 号"
    row = EXPERT_ROW[:2] + [employer] + EXPERT_ROW[3:]
    html = page(client, f"/lists/imports/{draft_id_of(upload(client, xlsx([EXPERT_HEADER, row]), 'id.xlsx'))}")
    assert counts_of(html)["create"] == 1
    assert "3101101958" not in html and "上海示例化工有限公司（虚构）联系人身份证 …" in html


# ---------------------------------------------------------------------------- 一项一表
def test_single_table_workbook_keeps_formula_like_text_as_text(app, client):
    from app import db
    from app.seeding import load_seed
    from app.sheets.declare import sheets
    Power = sheets["powers"].model
    with app.app_context():
        list(load_seed())
        power = db.session.scalar(select(Power).order_by(Power.id))
        power.name, power.legal_basis = "=HYPERLINK(\"http://x\",\"点击\")", "@SUM(A1:A9)"
        code = power.code
        db.session.commit()
    login(client, "clerk")
    wb = openpyxl.load_workbook(io.BytesIO(client.get("/lists/powers/single-tables").data))
    cells = {c.value: c for row in wb[code].iter_rows() for c in row if c.value}
    for text in ("=HYPERLINK(\"http://x\",\"点击\")", "@SUM(A1:A9)"):
        assert cells[text].data_type == "s" and cells[text].quotePrefix
    assert not cells[code].quotePrefix  # ordinary text is left as it is
