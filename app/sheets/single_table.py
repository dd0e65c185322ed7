""""一项一表": each power item as one table, one worksheet per power, ready to publish.

The layout follows the 2015 guideline's single-item table: the power's fields as label/value
rows, then its responsibility items by stage. Labels come from the declarations, so the table
always says what the import template says.
"""
from __future__ import annotations

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from .declare import Sheet
from .values import looks_like_formula
from .writer import _sheet_name, cell_value

TITLE = "行政权力事项表（一项一表）"
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
BOLD = Font(bold=True)
DUTY_WIDTHS = (10, 6, 34, 16, 30, 30)  # columns A–F: stage … basis


def _text(col, obj) -> str:
    value = cell_value(col, obj)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _boxed(ws, row: int, col: int, value, *, label: bool = False, merge_to: int | None = None):
    if isinstance(value, str):
        # As list exports do (writer._data_cell): characters XML cannot hold would abort the
        # workbook; text is never a formula, and formula-like text (=, +, -, @ first) is
        # marked so that Excel keeps it as text when the cell is edited.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row=row, column=col, value=value)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    if isinstance(value, str) and looks_like_formula(value):
        cell.quotePrefix = True
    cell.alignment = WRAP
    cell.border = BOX
    if label:
        cell.font = BOLD
        cell.fill = LABEL_FILL
    if merge_to and merge_to > col:
        ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=merge_to)
        for c in range(col + 1, merge_to + 1):
            ws.cell(row=row, column=c).border = BOX
    return cell


def write_single_tables(power_sheet: Sheet, duty_sheet: Sheet, powers, out) -> int:
    """One worksheet per power (named by its code) with its duties; returns the count."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    duty_cols = [c for c in duty_sheet.columns if c.relation is None]
    n = 0
    for power in powers:
        n += 1
        name = _sheet_name(power.code or f"事项{n}")
        while name in used:  # the same code in two editions of the list
            name = _sheet_name(f"{n}_{name}")
        used.add(name)
        ws = wb.create_sheet(name)
        for i, width in enumerate(DUTY_WIDTHS, 1):
            ws.column_dimensions[chr(64 + i)].width = width
        title = ws.cell(row=1, column=1, value=TITLE)
        title.font = Font(bold=True, size=14)
        title.alignment = Alignment(horizontal="center")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
        row = 2
        for col in power_sheet.columns:
            _boxed(ws, row, 1, col.header, label=True, merge_to=2)
            _boxed(ws, row, 3, _text(col, power), merge_to=6)
            row += 1
        row += 1
        _boxed(ws, row, 1, "责任事项", label=True, merge_to=6)
        row += 1
        for i, col in enumerate(duty_cols, 1):
            _boxed(ws, row, i, col.out_header, label=True)
        row += 1
        for duty in power.duties:
            for i, col in enumerate(duty_cols, 1):
                _boxed(ws, row, i, _text(col, duty))
            row += 1
        if not power.duties:
            _boxed(ws, row, 1, "（尚未录入责任事项）", merge_to=6)
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
    if not n:
        ws = wb.create_sheet("说明")
        ws["A1"] = "没有符合条件的行政权力事项。"
    wb.save(out)
    return n
