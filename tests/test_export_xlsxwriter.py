"""The export written by XlsxWriter from plain rows (app/sheets/exporting.py export_rows,
app/sheets/writer.py write_export_rows): the same cells as the model instances give, text
kept as text, memory-flat streaming, progress reports."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

import app.lists  # noqa: F401  (registers the lists for parametrize)
from app.seeding import load_seed
from app.sheets.declare import Col, Sheet, sheets
from app.sheets.exporting import count_at_most, export_query, export_rows, records_for_export
from app.sheets.types import Amount, Date, Integer, Text
from app.sheets.writer import cell_value, write_export, write_export_rows


def cells(data: bytes, name: str) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(name).to_python()


@pytest.fixture
def seeded(session):
    list(load_seed())
    return session


@pytest.mark.parametrize("slug", [s.slug for s in sheets])
def test_rows_export_holds_what_the_records_hold(seeded, slug):
    """Core rows (parents by outer joins) give every cell the model instances give."""
    sheet = sheets[slug]
    records = seeded.scalars(export_query(sheet)).unique().all()
    expected = [[i, *(cell_value(c, r) for c in sheet.columns)]
                for i, r in enumerate(records, 1)]
    buf = io.BytesIO()
    assert write_export_rows(sheet, export_rows(sheet, None, seeded), buf) == len(records) > 0
    got = cells(buf.getvalue(), openpyxl.load_workbook(buf, read_only=True).sheetnames[0])[1:]
    normalised = [[None if v == "" else v for v in row] for row in got]
    expected = [[v.isoformat() if isinstance(v, dt.datetime) else v for v in row]
                for row in expected]
    assert normalised == [row + [None] * (len(normalised[0]) - len(row)) for row in expected]


def test_rows_export_follows_the_list_filters(seeded):
    from sqlalchemy import select

    sheet = sheets["qualifications"]
    model = sheet.model
    one = seeded.scalars(select(model.category)).first()
    stmt = select(model).where(model.category == one)
    buf = io.BytesIO()
    n = write_export_rows(sheet, export_rows(sheet, stmt, seeded), buf)
    assert n == seeded.query(model).filter(model.category == one).count()
    assert count_at_most(stmt, sheet, seeded, 10_000) == n
    assert count_at_most(stmt, sheet, seeded, 1) == min(n, 1)
    # the same rows as the records would give, parents included
    objects = io.BytesIO()
    write_export(sheet, records_for_export(sheet, export_query(sheet, stmt), seeded), objects)
    name = sheet.title[:31]
    assert cells(buf.getvalue(), name) == cells(objects.getvalue(), name)


SIMPLE = Sheet(slug="big", title="大表", model=object, key=("code",), columns=[
    Col("编号", "code", Text(), required=True),
    Col("日期", "day", Date()),
    Col("金额", "amount", Amount()),
    Col("人数", "staff", Integer()),
    Col("备注", "remark", Text()),
])


def test_text_that_looks_like_a_formula_stays_text_and_is_quoted():
    nasty = ["=SUM(A1)", "+1", "-2", "@x", "=HYPERLINK(\"http://x\",\"y\")", "普通文字"]
    buf = io.BytesIO()
    write_export_rows(SIMPLE, [(n, None, None, None, n) for n in nasty], buf)
    with zipfile.ZipFile(buf) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["大表"]
    assert [ws.cell(r, 2).value for r in range(2, 8)] == nasty
    assert all(ws.cell(r, 2).data_type == "s" for r in range(2, 8))
    assert [bool(ws.cell(r, 6).quotePrefix) for r in range(2, 8)] == [True] * 5 + [False]


def test_values_are_typed_and_formatted_per_column():
    buf = io.BytesIO()
    rows = [("0012", dt.date(2015, 3, 1), Decimal("300000.50"), 12, "a\x01b")]
    write_export_rows(SIMPLE, rows, buf)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["大表"]
    assert ws["B2"].value == "0012" and ws["B2"].number_format == "@"  # not the number 12
    assert ws["C2"].value == dt.datetime(2015, 3, 1) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["D2"].value == 300000.5 and ws["D2"].number_format == "#,##0.00"
    assert ws["E2"].value == 12 and ws["E2"].number_format == "0"
    assert ws["F2"].value == "ab"  # a character XML cannot hold is dropped
    assert ws.column_dimensions["C"].width == Date.width
    assert ws.auto_filter.ref == "A1:F2" and ws.freeze_panes == "A2"


def test_progress_is_reported_while_rows_stream():
    seen = []

    def rows():
        for i in range(2500):
            yield (f"{i:06d}", None, None, i, None)
    assert write_export_rows(SIMPLE, rows(), io.BytesIO(), progress=seen.append) == 2500
    assert seen == [1000, 2000, 2500]


def test_memory_stays_flat_with_the_number_of_rows(tmp_path):
    """constant_memory: rows go to a temporary file as they are written."""
    import tracemalloc

    def peak(n):
        out = tmp_path / f"{n}.xlsx"

        def rows():
            for i in range(n):
                yield (f"{i:018d}", dt.date(2015, 3, 1), Decimal(i) / 100, i, "备注" * 10)
        tracemalloc.start()
        write_export_rows(SIMPLE, rows(), out)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size
    small, big = peak(2_000), peak(20_000)
    assert big < small * 2  # ten times the rows, not ten times the memory
