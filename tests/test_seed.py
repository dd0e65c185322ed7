"""The demo data in seed/: built by seed/build.py to the byte, loaded by app/seeding.py
through the import engine without a single error or warning, and idempotent.

Demo data is optional per list: the lists with a seed file are those seed/build.py writes
one for (a new list has none and starts empty). Expected record counts are read from the seed
files themselves (python-calamine), never hard-coded: the data may grow without touching
these tests.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import zipfile
from pathlib import Path

import pytest
from conftest import login
from python_calamine import CalamineWorkbook, SheetVisibleEnum
from sqlalchemy import func, select

import app.lists  # noqa: F401  (registers the sheets)
from app.lists.agencies import REVIEW_GRADES, Agency, Review
from app.models import Change, ImportBatch
from app.seeding import SEED_DIR, load_seed
from app.sheets.declare import sheets
from app.sheets.engine import apply_plan, build_plan

BUILD_SCRIPT = SEED_DIR / "build.py"
SEEDED = [s for s in sheets if (SEED_DIR / f"{s.slug}.xlsx").exists()]  # registry order
SLUGS = [s.slug for s in SEEDED]


# ---------------------------------------------------------------------------- helpers
def _workbook_values(path: Path) -> dict[str, list[list]]:
    """Every sheet of a workbook (hidden ones too) -> its cell values, by sheet name."""
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def _data_rows(path: Path) -> list[list]:
    """The non-empty rows below the header of the list's (first visible) sheet."""
    wb = CalamineWorkbook.from_path(str(path))
    name = next(m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible)
    rows = wb.get_sheet_by_name(name).to_python()
    return [r for r in rows[1:] if any(c not in ("", None) for c in r)]


def _column(path: Path, header: str) -> list:
    wb = CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_index(0).to_python()
    headers = [str(h).lstrip("*") for h in rows[0]]
    i = headers.index(header)
    return [r[i] for r in rows[1:] if r[i] not in ("", None)]


@pytest.fixture(scope="module")
def expected() -> dict[str, int]:
    """slug -> number of records its seed file holds, counted independently of the engine."""
    return {slug: len(_data_rows(SEED_DIR / f"{slug}.xlsx")) for slug in SLUGS}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _members(path: Path) -> list[tuple[str, tuple, bytes]]:
    """Every zip entry of a workbook: name, date, uncompressed content."""
    with zipfile.ZipFile(path) as archive:
        return [(i.filename, i.date_time, archive.read(i)) for i in archive.infolist()]


# ---------------------------------------------------------------------------- the files
def test_every_seed_file_is_a_declared_list_with_records(expected):
    assert SLUGS, "no demo data at all"
    declared = {s.slug for s in sheets}
    assert sorted(p.stem for p in SEED_DIR.glob("*.xlsx") if p.stem not in declared) == []
    for slug in SLUGS:
        assert expected[slug] > 0, slug


def test_seed_names_and_contacts_are_obviously_fictional():
    columns = {
        "agencies": ["机构名称"], "enterprises": ["企业名称"], "experts": ["工作单位"],
        "policies": ["保险公司", "被保险人"], "deposits": ["企业名称", "存储银行"],
        "qualifications": ["机构名称"], "reviews": ["机构名称", "项目名称"],
    }
    for slug, headers in columns.items():
        for header in headers:
            values = _column(SEED_DIR / f"{slug}.xlsx", header)
            assert values, (slug, header)
            assert all("示例" in v for v in values), (slug, header)
    assert all(v.endswith("@example.cn") for v in _column(SEED_DIR / "experts.xlsx", "电子邮箱"))
    for slug, header in (("experts", "姓名"), ("agencies", "法定代表人"), ("interviews", "被约谈人")):
        assert all("某" in v for v in _column(SEED_DIR / f"{slug}.xlsx", header)), slug


def _load_build_module():
    spec = importlib.util.spec_from_file_location("qingdan_seed_build", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_writes_the_committed_files(tmp_path, expected):
    counts = _load_build_module().build(tmp_path)
    assert counts == expected, "seed/ is out of date: run `python seed/build.py`"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s}.xlsx" for s in SLUGS)
    for slug in SLUGS:
        built, committed = tmp_path / f"{slug}.xlsx", SEED_DIR / f"{slug}.xlsx"
        assert _workbook_values(built) == _workbook_values(committed), (
            f"seed/{slug}.xlsx is out of date: run `python seed/build.py`")
        # Every part and every timestamp the same too (the compressed bytes may differ
        # with another zlib).
        assert _members(built) == _members(committed), (
            f"seed/{slug}.xlsx was not written by seed/build.py: run `python seed/build.py`")


def test_rebuilding_rewrites_no_byte(tmp_path):
    build = _load_build_module().build
    build(tmp_path / "first")
    build(tmp_path / "second")
    for slug in SLUGS:
        first = (tmp_path / "first" / f"{slug}.xlsx").read_bytes()
        assert first == (tmp_path / "second" / f"{slug}.xlsx").read_bytes(), slug


def test_a_list_without_demo_data_gets_no_seed_file(tmp_path, monkeypatch):
    module = _load_build_module()
    everything = module.records()
    monkeypatch.setattr(module, "records", lambda: {k: v for k, v in everything.items()
                                                    if k != "interviews"})
    counts = module.build(tmp_path)
    assert "interviews" not in counts and not (tmp_path / "interviews.xlsx").exists()
    assert set(counts) == set(SLUGS) - {"interviews"}


# ---------------------------------------------------------------------------- loading
def test_every_seed_file_imports_without_errors_or_warnings(session, expected):
    for sheet in SEEDED:
        path = SEED_DIR / f"{sheet.slug}.xlsx"
        data = path.read_bytes()
        plan = build_plan(sheet, data, path.name, session=session)
        assert [str(i) for i in plan.errors] == [], sheet.slug
        assert [str(i) for i in plan.warnings] == [], sheet.slug
        assert plan.counts == {"create": expected[sheet.slug], "update": 0, "unchanged": 0,
                               "delete": 0, "error": 0}, sheet.slug
        apply_plan(plan, session=session, source="seed", data=data)
    for sheet in SEEDED:
        assert _count(session, sheet.model) == expected[sheet.slug], sheet.slug


def test_load_seed_fills_every_list_and_is_idempotent(session, expected):
    messages = list(load_seed())
    assert len(messages) == len(SLUGS)
    for sheet in sheets:
        assert _count(session, sheet.model) == expected.get(sheet.slug, 0), sheet.slug

    # what the screens are meant to show
    today = dt.date.today()
    dual = session.scalar(select(func.count()).select_from(Agency)
                          .where(Agency.dual_qualified))
    assert dual >= 3
    assert dual == sum(a.is_dual_qualified(today) for a in session.scalars(select(Agency)))
    grades = session.scalars(select(Review.grade)).all()
    assert None not in grades                    # derived where the file left it empty
    assert set(grades) == set(REVIEW_GRADES)     # every grade appears

    # not empty any more: a plain second run skips
    assert len(list(load_seed())) == 1
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == len(SLUGS)

    # forced: every record is found unchanged, nothing is written
    changes = _count(session, Change)
    versions = {s.slug: sorted(session.execute(select(s.model.id, s.model.version)).all())
                for s in sheets}
    list(load_seed(force=True))
    batches = session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()[len(SLUGS):]
    assert [b.slug for b in batches] == SLUGS
    for b in batches:
        assert (b.created, b.updated, b.deleted, b.errors) == (0, 0, 0, 0), b.slug
        assert b.unchanged == expected[b.slug], b.slug
    assert _count(session, Change) == changes
    for sheet in sheets:
        assert sorted(session.execute(select(sheet.model.id, sheet.model.version)).all()) \
            == versions[sheet.slug], sheet.slug


# ---------------------------------------------------------------------------- first start
def test_first_start_publishes_one_demo_batch_through_the_workflow(app, monkeypatch):
    from app import db
    from app.lists.agencies import BATCH_DRAFT, BATCH_PUBLISHED, ReviewBatch
    from app.publications import Publication
    from app.seeding import DEMO_BATCH
    from app.setup import first_start
    monkeypatch.setitem(app.config, "QINGDAN_SEED_ON_FIRST_START", True)
    with app.app_context():
        lines = list(first_start())
        assert "2016年第1期安全评价报告已提交审核、审核通过并发布（演示）" in "".join(lines)
        batches = db.session.scalars(select(ReviewBatch)).all()
        assert [(b.key, b.status) for b in batches] == [(DEMO_BATCH, BATCH_PUBLISHED)]
        batch = batches[0]
        # Two people, as the workflow asks: the demo clerk submitted, the demo 科长 approved.
        assert batch.submitted_by.username == "clerk"
        assert batch.approved_by.username == batch.published_by.username == "head"
        assert [e["event"] for e in batch.history] == ["提交审核", "审核通过", "发布"]
        publication = db.session.scalars(select(Publication)).one()
        reports = db.session.scalar(select(func.count()).select_from(Review).where(
            Review.year == 2016, Review.period == 1, Review.category == "安全评价报告"))
        assert publication.reports == reports > 0
        # A second start changes nothing.
        changes = _count(db.session, Change)
        assert not any("发布" in line for line in first_start())
        assert _count(db.session, Change) == changes
        assert _count(db.session, Publication) == 1
        db.session.remove()
    page = app.test_client().get("/public/reviews/").get_data(as_text=True)
    assert "2016年第1期安全评价报告" in page and "尚无已发布" not in page
    # The other batches stay drafts for the clerk to submit.
    screen = login(app.test_client(), "clerk").get("/review-batches/").get_data(as_text=True)
    assert screen.count(f"<td class=\"status\">{BATCH_DRAFT}</td>") == 2
