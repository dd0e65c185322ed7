"""Every seeded list's export re-imports with no change; the schema matches the models; 一项一表.

(A list without demo data, such as the README's example, is taken round the same way by
tests/test_new_list.py.)"""
from __future__ import annotations

import io

import openpyxl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model

import app.lists  # noqa: F401  (registers the lists for parametrize)
from app.seeding import SEED_DIR, load_seed
from app.sheets.declare import sheets
from app.sheets.engine import build_plan
from app.sheets.exporting import export_query, records_for_export
from app.sheets.single_table import TITLE, write_single_tables
from app.sheets.writer import write_export


@pytest.fixture
def seeded(session):
    list(load_seed())
    return session


def test_migrations_match_the_models(app):
    from app import db
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Model.metadata)
    assert diff == [], "models and migrations disagree: run flask db migrate"


@pytest.mark.parametrize("slug", [s.slug for s in sheets
                                  if (SEED_DIR / f"{s.slug}.xlsx").exists()])
def test_export_reimports_unchanged(seeded, slug):
    sheet = sheets[slug]
    buf = io.BytesIO()
    n = write_export(sheet, records_for_export(sheet, export_query(sheet), seeded), buf)
    assert n > 0, f"seed/{slug}.xlsx should give the list some records"
    plan = build_plan(sheet, buf.getvalue(), f"{slug}.xlsx", session=seeded)
    assert plan.errors == [] and plan.warnings == []
    assert plan.counts == {"create": 0, "update": 0, "unchanged": n, "delete": 0, "error": 0}


def test_template_reimports_as_an_empty_but_recognised_file(session):
    from app.sheets.writer import write_template
    for sheet in sheets:
        buf = io.BytesIO()
        write_template(sheet, buf)
        plan = build_plan(sheet, buf.getvalue(), "t.xlsx", session=session)
        assert plan.rows == [] and plan.errors == []


def test_single_table_workbook(seeded):
    powers, duties = sheets["powers"], sheets["responsibilities"]
    items = seeded.scalars(export_query(powers)).all()
    buf = io.BytesIO()
    assert write_single_tables(powers, duties, items, buf) == len(items)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert len(wb.worksheets) == len(items)
    first = items[0]
    ws = wb[first.code]
    assert ws["A1"].value == TITLE
    labels = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=3).value
              for r in range(2, 2 + len(powers.columns))}
    assert labels["权力名称"] == first.name and labels["权力编码"] == first.code
    matters = [ws.cell(row=r, column=3).value for r in range(1, ws.max_row + 1)]
    for duty in first.duties:
        assert duty.matter in matters
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
