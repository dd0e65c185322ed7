"""Open data: a table of public fields as xlsx, csv (UTF-8 with BOM, opens in Excel) or JSON.

Text that a spreadsheet program would run as a formula (=, +, -, @ …) is kept as text: in the
workbook through writer.data_cell (a string cell, quote-prefixed), in the CSV, which has no
cell types, with a leading apostrophe (the usual guard; Excel shows the text without it).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ...sheets.values import looks_like_formula
from ...sheets.writer import data_cell
from .fields import PublicField, cell_value, json_value, text

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
BOM = "\ufeff"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass
class Table:
    """What one download holds: a title, the fields (columns), the rows (name -> value) and
    facts about the whole (for JSON: the batch and its revision)."""
    title: str
    fields: list[PublicField]
    rows: list[dict]
    about: dict = field(default_factory=dict)
    note: str = ""   # one line for people (the 说明 sheet of the workbook)

    def as_json(self) -> dict:
        return {**self.about, "title": self.title, "count": len(self.rows),
                "fields": [{"key": f.key, "label": f.label, "type": f.kind} for f in self.fields],
                "items": [{f.key: json_value(f, r.get(f.name)) for f in self.fields}
                          for r in self.rows]}


def to_json(table: Table) -> bytes:
    return json.dumps(table.as_json(), ensure_ascii=False, indent=1).encode("utf-8")


def _csv_text(f: PublicField, value) -> str:
    shown = text(f, value) if f.kind not in ("integer", "number") else (
        "" if value is None else str(json_value(f, value)))
    return "'" + shown if looks_like_formula(shown) else shown


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.label for f in table.fields])
    for r in table.rows:
        writer.writerow([_csv_text(f, r.get(f.name)) for f in table.fields])
    return out.getvalue().encode("utf-8")


def _sheet_name(title: str) -> str:
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'")
    return name[:31] or "Sheet1"


def to_xlsx(table: Table) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_name(table.title))
    for i, f in enumerate(table.fields):
        width = f.col.type.width if f.col is not None else 12
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    ws.freeze_panes = "A2"
    header = []
    for f in table.fields:
        cell = WriteOnlyCell(ws, f.label)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        header.append(cell)
    ws.append(header)
    formats = [f.col.type.number_format if f.col is not None and f.kind != "string" else "@"
               for f in table.fields]
    for r in table.rows:
        ws.append([data_cell(ws, cell_value(f, r.get(f.name)), fmt)
                   for f, fmt in zip(table.fields, formats)])
    if table.note:
        about = wb.create_sheet("说明")
        about.append([data_cell(about, table.title)])
        about.append([data_cell(about, table.note)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


WRITERS = {"xlsx": to_xlsx, "csv": to_csv, "json": to_json}


def fingerprint_source(table: Table) -> bytes:
    """What a download's ETag is computed from: its data, not the bytes of a workbook
    (which carry the time they were written)."""
    return json.dumps([table.title, table.note, table.as_json()], ensure_ascii=False,
                      sort_keys=True).encode("utf-8")
