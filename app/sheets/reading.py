"""Reading one worksheet of an upload into an import plan's rows (lists.md §1).

    header (headers.py) → what the sheet says of itself → rows: merged cells filled down,
    totals and repeated page headers left out, 同上 and error cells, values parsed

Each sheet stands on its own: a hidden sheet, one without this list's header and columns
nobody declared are notices; a sheet whose header cannot be used (a column twice, a required
column missing) is an error of that sheet, which does not keep the valid rows of the other
sheets from being imported (Issue.blocking is False).
"""
from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable
from contextlib import contextmanager
from itertools import chain, islice

from . import values as v
from .declare import Sheet
from .headers import HEADER_SCAN_ROWS, Layout, is_empty, is_footer, locate_header
from .merges import filled_rows
from .reader import RawSheet
from .rows import ABSENT, Issue, RawCells, RowPlan


def cell_text(raw) -> str:
    """A cell as the clerk wrote it, for messages and the error workbook."""
    if raw.__class__ is str:   # most cells: what the branches below would give
        return raw.strip()
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        return str(int(raw))  # beyond 15 digits Excel has rounded: show it as Excel does
    if isinstance(raw, (dt.datetime, dt.date)):
        return raw.isoformat()[:10] if not isinstance(raw, dt.datetime) or not (
            raw.hour or raw.minute or raw.second) else raw.isoformat(sep=" ")
    return str(raw).strip()


def plan_sheet(sheet: Sheet, raw: RawSheet, plan) -> bool:
    """Read one sheet into the plan (engine.Plan); whether it has this list's header."""
    if raw.hidden:
        plan.notes.append(f"隐藏的工作表「{raw.name}」已跳过。")
        plan.notices.append(Issue(raw.name, 0, "", "", "隐藏的工作表，已跳过：如需导入，"
                                  "请在 Excel 中取消隐藏后再上传", warning=True))
        return False
    # The rows stream from the reader (reader.RawSheet): the first few tell the header,
    # then each row is read and let go.
    rows = raw.iter_rows()
    head = list(islice(rows, HEADER_SCAN_ROWS))
    layout = locate_header(sheet, head, raw.merges)
    if layout is None:
        if head:
            plan.notes.append(f"工作表「{raw.name}」中找不到「{sheet.title}」的表头，已跳过。")
            plan.notices.append(Issue(raw.name, 0, "", "",
                                      f"找不到「{sheet.title}」的表头，整张工作表已跳过",
                                      warning=True))
        return False
    plan.header_rows[raw.name] = layout.header_row
    plan.layouts[raw.name] = layout
    if layout.ignored:
        plan.notes.append(f"工作表「{raw.name}」中无法识别的列已忽略："
                          + "、".join(dict.fromkeys(h for _i, h in layout.ignored)))
        for _i, header in layout.ignored:
            plan.notices.append(Issue(raw.name, layout.header_row, header, "",
                                      "无法识别的列，已忽略（不导入）：如是清单中的列，"
                                      "请按导入模板改列名", warning=True))
    problems = _header_problems(sheet, raw, layout)
    if problems:
        plan.file_issues.extend(problems)
        return True
    plan.present_fields.update(c.field for c in layout.columns.values())
    plan.rows.extend(read_rows(raw, layout, chain(head, rows)))
    return True


def _header_problems(sheet: Sheet, raw: RawSheet, layout: Layout) -> list[Issue]:
    """Why the sheet's header cannot be used: errors of this sheet only (not blocking)."""
    problems = [Issue(raw.name, layout.header_row, headers[-1], "",
                      f"「{sheet.label(name)}」列出现了 {len(headers)} 次（"
                      + "、".join(f"「{h}」" for h in headers)
                      + "）：无法确定以哪一列为准，请删除或改名多余的列后再导入；本工作表未导入",
                      blocking=False)
                for name, headers in layout.repeated.items()]
    problems += [Issue(raw.name, layout.header_row, c.header, "",
                       f"缺少必填列「{c.header}」：请在表头行加上这一列（可下载导入模板对照）；"
                       "本工作表未导入", blocking=False)
                 for c in layout.missing_required(sheet)]
    return problems


_CACHE_SIZE = 4096   # distinct cells remembered per column (see _Column)
_EXCEL_ERROR = "单元格是 Excel 错误值「{}」（公式出错）：请修正公式，或直接填写内容后再导入"
_DITTO_WITHOUT_ABOVE = "「同上」上方没有可沿用的值：请填写实际内容"


class _Column:
    """How one column's cells are read. Most columns hold few distinct values (性别, 学历, a
    dictionary's words), so each distinct cell is read once; a column of distinct values (ID
    numbers, names) fills the cache up to _CACHE_SIZE and then reads the rest as they come."""
    __slots__ = ("index", "field", "header", "type", "unit", "cache")

    def __init__(self, index: int, col, header: str, unit):
        self.index, self.field, self.header = index, col.field, header
        self.type, self.unit = col.type, unit
        self.cache: dict = {}

    def read(self, cell) -> tuple | object:
        """(the cell as written, its value, the problem's value, the problem or None), or
        _DITTO for a 同上. read_rows looks in the cache itself first: this is for a miss."""
        found = _DITTO if v.is_ditto(cell) else self._read(cell)
        try:
            if len(self.cache) < _CACHE_SIZE:
                self.cache[_key(cell)] = found
        except TypeError:   # a value that cannot be a key (none of the readers gives one)
            pass
        return found

    def _read(self, cell) -> tuple:
        text = cell_text(cell)
        error = v.excel_error(cell)
        if error is not None:   # never empty, even in an optional column
            return text, None, error, _EXCEL_ERROR.format(error)
        try:
            value = self.type.parse(cell, unit=self.unit)
        except v.ValueProblem as exc:
            return text, None, text, str(exc)
        if value.__class__ is str and value is not text and value == text:
            value = text   # one string held for both (an e-mail address is made anew)
        return text, value, "", None


_DITTO = object()


def _key(cell):
    """A cell as a cache key: 1, 1.0 and True are equal, and are read differently."""
    return cell if cell.__class__ is str else (cell.__class__, cell)


@contextmanager
def _collector_paused():
    """The rows made while reading hold no reference cycles, and the cycle collector's full
    passes over them (their number grows with the rows) took a quarter of the reading."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _records():
    """A maker of the sheet's records. A dict made as an instance's __dict__ keeps its keys
    in a table that all instances of the class share (CPython's split table): 320 bytes a
    record of 22 fields instead of 870, for 100,000 rows held through the whole import. To
    whoever reads or changes it, it is a plain dict (a new key unshares it, nothing else)."""
    record = type("SheetRecord", (), {})
    return lambda: record().__dict__


def read_rows(raw: RawSheet, layout: Layout, rows: Iterable | None = None) -> list[RowPlan]:
    """The sheet's data rows below its header, each cell read by its column's type.
    rows: the sheet's rows (raw.rows unless given), read once in order."""
    with _collector_paused():
        return _read_rows(raw, layout, raw.rows if rows is None else rows)


def _read_rows(raw: RawSheet, layout: Layout, rows: Iterable) -> list[RowPlan]:
    out = []
    columns = [_Column(i, col, layout.headers[i], layout.units.get(i))
               for i, col in layout.columns.items()]
    headers = {c.field: c.header for c in columns}   # one dict for all rows of the sheet
    positions = {c.field: k for k, c in enumerate(columns)}
    above = [ABSENT] * len(columns)   # the cell of the row above, for 同上
    # What the loop reads of each column, unpacked once a sheet rather than once a cell.
    reads = [(k, c.index, c.field, c.cache, c) for k, c in enumerate(columns)]
    name, last_header_row = raw.name, layout.last_header_row
    repeats_header = layout.repeats_header
    filled = filled_rows(rows, raw.merges, last_header_row)
    new_record = _records()
    for row_number, own, cells in filled:
        if row_number <= last_header_row:
            continue
        # What a row is (empty, a total, a repeated page header) is told by its own cells.
        if is_empty(own) or is_footer(own) or repeats_header(own):
            continue
        record, texts, issues = new_record(), [], []
        width = len(cells)
        for k, i, field, cache, column in reads:
            cell = cells[i] if i < width else None
            try:
                found = cache.get(cell if cell.__class__ is str else (cell.__class__, cell))
            except TypeError:
                found = None
            if found is None:
                found = column.read(cell)
            if found is _DITTO:
                cell = above[k]
                if cell is ABSENT:
                    issues.append(Issue(name, row_number, column.header, v.clean_text(cells[i]),
                                        _DITTO_WITHOUT_ABOVE, field=field))
                    texts.append(ABSENT)
                    continue
                found = cache.get(_key(cell)) or column.read(cell)
            above[k] = cell
            text, value, shown, problem = found
            texts.append(text)
            record[field] = value
            if problem is not None:
                issues.append(Issue(name, row_number, column.header, shown, problem,
                                    field=field))
        out.append(RowPlan(name, row_number, record=record,
                           raw=RawCells(positions, tuple(texts)), issues=issues,
                           headers=headers))
    return out
