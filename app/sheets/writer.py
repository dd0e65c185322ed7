"""Writing a list to Excel: the empty import template and the full export.

Both have the same first sheet (序号, then every column's header, "*" on required ones), so an
export can be edited and imported again. The template is small and built in memory with
openpyxl; the export streams (XlsxWriter, constant_memory) so that a list of any size is
written in bounded memory.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import zip_longest

import xlsxwriter
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .declare import Col, Sheet, column_help
from .types import ValueType
from .values import looks_like_formula

SEQ_HEADER = "序号"
OPTIONS_SHEET = "选项"
GUIDE_SHEET = "填写说明"
LAST_ROW = 200000      # how far down validations reach
FORMATTED_ROWS = 1000  # template rows whose cells carry the format too: not every
                       # spreadsheet program applies a column's style to a new cell
INLINE_LIST_MAX = 255  # Excel's limit on an inline list validation formula

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)


def cell_value(col: Col, obj):
    """The value of `col` for a model instance, ready for a cell: follows "relation.attr"
    (None if the parent is None), then col.type.to_cell(value)."""
    if col.relation:
        obj = getattr(obj, col.relation)
        if obj is None:
            return None
    value = getattr(obj, col.attr)
    return None if value is None else col.type.to_cell(value)


def header_text(col: Col) -> str:
    return ("*" if _required(col) else "") + col.out_header


def _required(col: Col) -> bool:
    return col.required and not col.info  # an info column is never imported


def _comment_text(col: Col) -> str:
    return "\n".join((*column_help(col), "必填" if _required(col) else "选填"))


def _sheet_name(title: str) -> str:
    # Excel refuses names over 31 characters or with any of []:*?/\ .
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'")
    return name[:31] or "Sheet1"


def _multi(col: Col) -> bool:
    return col.type.word == "多选"


def _style_header(cell, required: bool = False, comment: str | None = None) -> None:
    cell.font = REQUIRED_FONT if required else HEADER_FONT
    cell.fill = REQUIRED_FILL if required else HEADER_FILL
    cell.alignment = HEADER_ALIGN
    if comment:
        # Default comment boxes are tiny; size ours to the text (about 12 CJK chars a line).
        lines = sum(len(line) // 12 + 1 for line in comment.splitlines())
        cell.comment = Comment(comment, "qingdan", width=200, height=min(20 + 16 * lines, 400))


def _header_cells(sheet: Sheet):
    """(text, required, comment) of every header of the first sheet."""
    yield SEQ_HEADER, False, "仅供查看，导入时忽略（每次导出重新编号）"
    for col in sheet.columns:
        yield header_text(col), _required(col), _comment_text(col)


def _layout(ws, sheet: Sheet) -> None:
    """Widths, column formats and frozen header: must precede the rows in write_only mode."""
    ws.column_dimensions["A"].width = 6
    for i, col in enumerate(sheet.columns, 2):
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = col.type.width
        dim.number_format = col.type.number_format
    ws.freeze_panes = "A2"


def _add_validations(wb: Workbook, ws, sheet: Sheet) -> None:
    """A dropdown on every enumerated column; long lists live in a hidden sheet."""
    options: list[list[str]] = []  # columns of the hidden sheet
    for i, col in enumerate(sheet.columns, 2):
        choices = col.type.choices
        if not choices:
            continue
        inline = '"' + ",".join(choices) + '"'
        if len(inline) > INLINE_LIST_MAX or any("," in c or '"' in c for c in choices):
            options.append(choices)
            letter = get_column_letter(len(options))
            formula = f"'{OPTIONS_SHEET}'!${letter}$1:${letter}${len(choices)}"
        else:
            formula = inline
        if _multi(col):
            # Several values go in one cell: offer the list, but accept anything.
            dv = DataValidation("list", formula, allow_blank=True, showErrorMessage=False,
                                showInputMessage=True, promptTitle=col.header,
                                prompt="可填多个，用“、”分隔")
        else:
            dv = DataValidation("list", formula, allow_blank=True, showErrorMessage=True,
                                errorTitle=col.header, error="请从下拉列表中选择")
        letter = get_column_letter(i)
        dv.add(f"{letter}2:{letter}{LAST_ROW}")
        ws.data_validations.append(dv)  # write_only sheets lack add_data_validation
    if options:
        hidden = wb.create_sheet(OPTIONS_SHEET)
        hidden.sheet_state = "hidden"
        for row in zip_longest(*options):
            hidden.append(list(row))


def write_template(sheet: Sheet, out) -> None:
    """The empty import template of a list. out: a path or a binary file object."""
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(sheet.title)
    _layout(ws, sheet)
    for i, (text, required, comment) in enumerate(_header_cells(sheet), 1):
        _style_header(ws.cell(1, i, text), required, comment)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns) + 1)}1"
    for i, col in enumerate(sheet.columns, 2):
        for row in range(2, FORMATTED_ROWS + 2):
            ws.cell(row, i).number_format = col.type.number_format
    _add_validations(wb, ws, sheet)
    _write_guide(wb.create_sheet(GUIDE_SHEET), sheet)
    wb.save(out)


def _write_guide(ws, sheet: Sheet) -> None:
    ws.append([f"《{sheet.title}》填写说明"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(["列名", "是否必填", "类型与取值"])
    for cell in ws[3]:
        _style_header(cell)
    for col in sheet.columns:
        ws.append([col.out_header, "必填" if _required(col) else "选填",
                   "；".join(column_help(col))])
    keys = "、".join(f"「{sheet.label(k)}」" for k in sheet.key)
    keys += "共同" if len(sheet.key) > 1 else ""
    rules = [
        "每一行填写一条记录；第一行是列名，请勿修改列名。带 * 的列为必填。",
        f"{keys}确定一条记录：导入时已有的记录被更新，没有的记录新增；文件中没有的记录不会被删除（除非导入时明确选择按完整清单导入）。",
        f"「{SEQ_HEADER}」列仅供查看，导入时忽略。",
        "日期写成 2015-03-01（也可写 2015/3/1、2015年3月1日）。",
        "金额以元为单位，如 300000；也可写“30万元”。",
        "单元格中只写“同上”，表示与上一行的同一列相同。",
        "一个单元格填写多个值时，用“、”分隔。",
    ]
    ws.append([])
    ws.append(["填写规则"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for n, rule in enumerate(rules, 1):
        ws.append([f"{n}. {rule}"])
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 80
    for row in ws.iter_rows(min_row=4, max_row=3 + len(sheet.columns)):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")


# ---------------------------------------------------------------------------- export
# The export is written by XlsxWriter in constant_memory mode: each row goes to disk as it is
# written, so memory stays flat however long the list, and the cell loop stays simple (one
# format object per column, chosen once). openpyxl writes the template and reads files.
XLSX_DIGIT_PIXELS = 7        # XlsxWriter counts widths in pixels of Calibri 11 digits
PROGRESS_EVERY = 1000        # rows between two progress reports


def data_cell(ws, value, number_format: str = "General"):
    """An openpyxl write-only cell holding `value` safely, for workbooks that write values of
    their own (open data): text stays text (formula-like text marked so, never a formula),
    characters XML cannot hold dropped, as in the list export."""
    if value is None:
        return None
    cell = WriteOnlyCell(ws)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # openpyxl would make a formula of text starting with "="
        cell.quotePrefix = looks_like_formula(cell.value)
    else:
        cell.value = value
    cell.number_format = number_format
    return cell


def record_values(sheet: Sheet, obj) -> tuple:
    """A model instance (or any object with the fields) as the stored values of the sheet's
    columns, parents followed, in column order: what write_export_rows takes."""
    out = []
    for col in sheet.columns:
        target = getattr(obj, col.relation) if col.relation else obj
        out.append(None if target is None else getattr(target, col.attr))
    return tuple(out)


def write_export(sheet: Sheet, records, out, *, transform=None, progress=None) -> int:
    """Every record (an iterable of model instances, consumed once, may be a generator over a
    huge query) in template form; returns the count. See write_export_rows."""
    return write_export_rows(sheet, (record_values(sheet, obj) for obj in records), out,
                             transform=transform, progress=progress)


def _xlsx_format(wb, **props):
    return wb.add_format({k: v for k, v in props.items() if v is not None})


def _export_header(wb, ws, sheet: Sheet) -> None:
    header = dict(bold=True, pattern=1, align="center", valign="vcenter", text_wrap=True)
    plain = _xlsx_format(wb, **header, bg_color="#" + HEADER_FILL.fgColor.rgb[-6:])
    required = _xlsx_format(wb, **header, bg_color="#" + REQUIRED_FILL.fgColor.rgb[-6:],
                            font_color="#" + REQUIRED_FONT.color.rgb[-6:])
    for i, (text, is_required, comment) in enumerate(_header_cells(sheet)):
        ws.write_string(0, i, text, required if is_required else plain)
        if comment:
            lines = sum(len(line) // 12 + 1 for line in comment.splitlines())
            ws.write_comment(0, i, comment, {"author": "qingdan", "width": 200,
                                             "height": min(20 + 16 * lines, 400)})


def _export_validations(wb, ws, sheet: Sheet) -> None:
    """The template's dropdowns (see _add_validations), in XlsxWriter's terms."""
    options: list[list[str]] = []
    for i, col in enumerate(sheet.columns, 1):
        choices = col.type.choices
        if not choices:
            continue
        inline = ",".join(choices)
        spec = {"validate": "list", "ignore_blank": True}
        if len(inline) + 2 > INLINE_LIST_MAX or any("," in c or '"' in c for c in choices):
            options.append(choices)
            letter = get_column_letter(len(options))
            spec["source"] = f"='{OPTIONS_SHEET}'!${letter}$1:${letter}${len(choices)}"
        else:
            spec["source"] = list(choices)
        if _multi(col):
            spec.update(show_error=False, input_title=col.header[:32],
                        input_message="可填多个，用“、”分隔")
        else:
            spec.update(error_title=col.header[:32], error_message="请从下拉列表中选择")
        ws.data_validation(1, i, LAST_ROW - 1, i, spec)
    if options:
        hidden = wb.add_worksheet(OPTIONS_SHEET)
        hidden.hide()
        # constant_memory: rows in order, each row whole before the next
        for r, row in enumerate(zip_longest(*options)):
            for c, choice in enumerate(row):
                if choice is not None:
                    hidden.write_string(r, c, choice)


def _column_writers(wb, ws, sheet: Sheet, transform):
    """Per column: the value's conversion (None when the stored value goes in as it is),
    its cell format and the format of formula-like text. Set once, used for every row."""
    plan = []
    ws.set_column_pixels(0, 0, 6 * XLSX_DIGIT_PIXELS)
    for i, col in enumerate(sheet.columns, 1):
        fmt = _xlsx_format(wb, num_format=col.type.number_format)
        # Text Excel would read as a formula when the cell is edited stays text.
        quoted = _xlsx_format(wb, num_format=col.type.number_format, quote_prefix=True)
        ws.set_column_pixels(i, i, col.type.width * XLSX_DIGIT_PIXELS, fmt)
        to_cell = col.type.to_cell
        if type(col.type).to_cell is ValueType.to_cell:
            to_cell = None  # the identity: skip the call
        if transform is not None:
            to_cell = _transformed(col, to_cell, transform)
        plan.append((i, to_cell, fmt, quoted))
    return plan


def _transformed(col: Col, to_cell, transform):
    def convert(value):
        value = to_cell(value) if to_cell is not None else value
        return transform(col, value)
    return convert


def write_export_rows(sheet: Sheet, rows, out, *, transform=None, progress=None) -> int:
    """The export: the template's first sheet with one row per record. rows: tuples of the
    stored values of sheet.columns, in order (parents' values for dotted columns), consumed
    once; out: a path or a binary file object. Returns the count.

    transform(col, value) -> value lets the caller mask personal data; progress(count) is
    called every PROGRESS_EVERY rows (a background job's progress bar).
    Text is always written as text, never as a formula (=, +, -, @ …).
    """
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet(_sheet_name(sheet.title))
    plan = _column_writers(wb, ws, sheet, transform)
    ws.freeze_panes(1, 0)
    _export_header(wb, ws, sheet)
    _export_validations(wb, ws, sheet)
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, \
        ws.write_datetime
    count = 0
    for values in rows:
        count += 1
        write_number(count, 0, count)
        for (i, to_cell, fmt, quoted), value in zip(plan, values):
            if value is None:
                continue
            if to_cell is not None:
                value = to_cell(value)
                if value is None:
                    continue
            kind = type(value)
            if kind is str:
                if not value.isprintable():
                    # Characters XML cannot hold carry no meaning: dropped, as before.
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                write_string(count, i, value, quoted if looks_like_formula(value) else fmt)
            elif kind is int or kind is float:
                write_number(count, i, value, fmt)
            elif isinstance(value, (dt.date, dt.datetime)):
                write_datetime(count, i, value, fmt)
            elif isinstance(value, (int, float, Decimal)):  # bool is not a to_cell result
                write_number(count, i, float(value), fmt)
            else:
                write_string(count, i, str(value), fmt)
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    ws.autofilter(0, 0, count, len(sheet.columns))  # after the rows, so it is exact
    wb.close()
    if progress is not None:
        progress(count)
    return count
