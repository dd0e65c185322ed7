"""The error workbook: the upload handed back with its problems marked, to fix in place.

Every visible sheet in which the list's header was found is written back from the header row
down, cell for cell as uploaded (no cleaning, no 同上 filling: the clerk edits their own file).
Cells with an error are filled red, cells with a warning yellow, each with a comment holding the
message; a last column 错误说明 lists every problem of the row. Rows without problems stay, so
the corrected workbook can be uploaded again as it is (the extra column is reported as ignored).
Problems that belong to no row of the file (a missing required column, a record that a complete
import cannot delete) go to a last sheet of their own.

Written in write-only mode, like exports: memory stays flat however long the upload was.
"""
from __future__ import annotations

from collections import defaultdict

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .headers import map_header
from .values import looks_like_formula
from .writer import HEADER_FILL, HEADER_FONT, _sheet_name

ERRORS_HEADER = "错误说明"
OTHER_SHEET = "其他问题"
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")    # Excel's own "bad" pink-red
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")  # Excel's own "neutral" yellow
ERROR_FONT = Font(color="9C0006")
WRAP = Alignment(wrap_text=True, vertical="top")
AUTHOR = "qingdan"


def write_errorbook(plan, out, shown=None) -> None:
    """Write the error workbook of `plan` (engine.Plan) to out: a path or a binary file.
    `shown` gives each problem as the downloading user may read it (ID numbers masked: the
    problems of records that are not in the file name stored ones); the uploaded cells are
    written back as they came, the uploader's own."""
    shown = shown or (lambda issue: issue)
    by_row: dict[tuple[str, int], list] = defaultdict(list)
    for r in plan.rows:
        for issue in r.issues:
            by_row[(issue.sheet, issue.row)].append(shown(issue))
    elsewhere = [shown(i) for i in list(plan.file_issues)
                 + [i for r in plan.deletions for i in r.issues]]

    wb = Workbook(write_only=True)
    used_names: set[str] = set()
    for raw in plan.raw_sheets:
        header_row = plan.header_rows.get(raw.name)
        if raw.hidden or header_row is None:
            continue
        name = _unique(_sheet_name(raw.name), used_names)
        _write_sheet(wb.create_sheet(name), plan.sheet, raw, header_row, by_row,
                     getattr(plan, "layouts", {}).get(raw.name))
    if elsewhere:
        _write_other(wb.create_sheet(_unique(OTHER_SHEET, used_names)), elsewhere)
    wb.save(out)


def _unique(name: str, used: set[str]) -> str:
    """Sheet names must differ (case-insensitively) once cut to Excel's 31 characters."""
    candidate, n = name, 2
    while candidate.lower() in used:
        suffix = f"({n})"
        candidate, n = name[:31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def _write_sheet(ws, sheet, raw, header_row: int, by_row, layout=None) -> None:
    rows = [(n, cells) for n, cells in raw.rows if n >= header_row]
    header_cells = rows[0][1] if rows else []
    above = [(n, cells) for n, cells in raw.rows if n < header_row]
    layout = layout or map_header(sheet, header_cells, header_row)
    # The columns a unit line (金额单位：万元) gave a unit name it in their header too, so that
    # the workbook re-imports the same amounts even once the clerk removes the title rows.
    header_cells = [f"{text}{layout.unit_notes[i]}" if i in layout.unit_notes else text
                    for i, text in enumerate(header_cells)]
    columns = _column_index(layout)
    width = max((len(cells) for _, cells in rows), default=0)
    # A corrected error workbook uploaded again still has the old 错误说明: replace it.
    kept = [i for i, text in enumerate(_padded(header_cells, width)) if text != ERRORS_HEADER]
    # Column widths must be set before the first row in write-only mode.
    for n, i in enumerate(kept, 1):
        col = layout.columns.get(i)
        ws.column_dimensions[get_column_letter(n)].width = col.type.width if col else 12
    ws.column_dimensions[get_column_letter(len(kept) + 1)].width = 60
    ws.freeze_panes = f"A{header_row + 1}"

    # Every row stays on the row it had in the clerk's file (title rows, blank rows kept), so
    # that 第 44 行 in the preview is row 44 here too.
    written = 0
    for number, cells in above:
        _blank_rows(ws, written, number)
        ws.append([_value_cell(ws, c, None) for c in _padded(cells, width)])
        written = number
    _blank_rows(ws, written, header_row)
    header = [_header_cell(ws, header_cells[i] if i < len(header_cells) else None) for i in kept]
    header.append(_header_cell(ws, ERRORS_HEADER))
    ws.append(header)
    written = header_row
    for number, cells in rows[1:]:
        _blank_rows(ws, written, number)
        written = number
        issues = by_row.get((raw.name, number), [])
        marks: dict[int, list] = defaultdict(list)  # cell index -> its problems; a problem
        for issue in issues:                        # naming no column is only in 错误说明
            for i in _columns_of(issue.column, columns):
                marks[i].append(issue)
        cells = _padded(cells, width)
        row = [_value_cell(ws, cells[i], marks.get(i)) for i in kept]
        row.append(_explanation_cell(ws, issues))
        ws.append(row)


def _blank_rows(ws, written: int, number: int) -> None:
    """Empty rows after row `written` up to (not including) row `number`."""
    for _ in range(written + 1, number):
        ws.append([])


def _padded(cells: list, width: int) -> list:
    return list(cells) + [None] * (width - len(cells))


def _column_index(layout) -> dict[str, int]:
    """How a problem's column name finds its cell: by the header as written in the file (cell
    problems) or by the declared header (rule problems), each to a cell index."""
    index: dict[str, int] = {}
    for i, written in layout.headers.items():
        index.setdefault(written, i)
    for i, col in layout.columns.items():
        for name in (col.header, col.out_header):
            index.setdefault(name, i)
    return index


def _columns_of(column: str, index: dict[str, int]) -> list[int]:
    if not column:
        return []
    if column in index:
        return [index[column]]
    # A rule on a parent names its columns together: "统一社会信用代码、机构名称".
    return [index[part] for part in column.split("、") if part in index]


def _header_cell(ws, text):
    cell = WriteOnlyCell(ws, _clean(text) if isinstance(text, str) else text)
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    return cell


def _clean(text: str) -> str:
    # Characters XML cannot hold would abort the whole workbook; they carry no meaning.
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _value_cell(ws, value, issues: list | None):
    """The cell exactly as uploaded, marked when it has problems."""
    if value is None or value == "":
        if not issues:
            return None
        value = None
    cell = WriteOnlyCell(ws)
    if isinstance(value, str):
        cell.value = _clean(value)
        # openpyxl would turn "=…" into a formula; the upload had it as text.
        cell.data_type = "s"
        if looks_like_formula(value):
            cell.quotePrefix = True
    else:
        cell.value = value
    if issues:
        is_error = any(not i.warning for i in issues)
        cell.fill = ERROR_FILL if is_error else WARNING_FILL
        if is_error:
            cell.font = ERROR_FONT
        text = "\n".join(_message(i) for i in issues)
        lines = sum(len(line) // 14 + 1 for line in text.splitlines())
        cell.comment = Comment(text, AUTHOR, width=260, height=min(30 + 18 * lines, 400))
    return cell


def _message(issue) -> str:
    return ("（警告）" if issue.warning else "") + issue.message


def _explanation_cell(ws, issues: list):
    if not issues:
        return None
    lines = []
    for issue in sorted(issues, key=lambda i: i.warning):  # errors first
        # Most messages name their column already; say it only where they do not.
        named = not issue.column or issue.column in issue.message
        lines.append(("" if named else f"「{issue.column}」列：") + _message(issue))
    cell = WriteOnlyCell(ws, _clean("\n".join(lines)))
    cell.data_type = "s"
    cell.alignment = WRAP
    if any(not i.warning for i in issues):
        cell.font = ERROR_FONT
    return cell


def _write_other(ws, issues: list) -> None:
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 24
    ws.column_dimensions["E"].width = 80
    ws.append([_header_cell(ws, t) for t in ("工作表", "行", "列", "值", "说明")])
    for i in issues:
        row = [i.sheet or None, i.row or None, i.column or None, i.value or None,
               _message(i)]
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, _clean(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        cells[-1].alignment = WRAP
        ws.append(cells)
