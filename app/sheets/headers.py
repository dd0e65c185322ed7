"""Finding a list's header row in a legacy sheet and mapping its columns (lists.md §1 Headers).

A header is found by matching known headers in the first rows; the title rows above it are
skipped, and a unit line among them (金额单位：万元) gives amount columns their unit. A header
may take two rows: a group cell spanning several columns over the names of its parts
(聘期 over 起 / 止); each such column is read as group and part together.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from .declare import Col, Sheet
from .values import UNIT_WORDS

HEADER_SCAN_ROWS = 30       # title and "填报单位" rows above the header are few
IGNORED_HEADERS = {"序号"}  # renumbered on every export, never a key
# Signature and total rows (lists.md §1), compared after NFKC (so "：" is ":").
FOOTER_PREFIXES = ("合计", "总计", "小计", "注:", "说明:", "填表人", "制表人", "填报人",
                   "审核人", "负责人:")

_BRACKET_NOTE = re.compile(r"[（(\[【〔][^（()\[\]【】〔〕）]*[)）\]】〕]$")
_BRACKETS = re.compile(r"[（()）\[\]【】〔〕]")
_UNIT_NAMES = {amount: word for word, amount in UNIT_WORDS.items()}
_UNIT_LINE = re.compile(r"(?:金额)?单位\s*[:：]\s*(?:人民币)?\s*(千|万|十万|百万|千万|亿)?\s*元")


def header_key(text) -> str:
    """NFKC, no whitespace (line breaks included), no leading *, no trailing colon, no
    trailing bracketed note like （万元） — unless the note is all there is."""
    if text is None:
        return ""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))
    s = s.lstrip("*")
    while True:
        stripped = _BRACKET_NOTE.sub("", s.rstrip(":")).rstrip(":")
        if stripped == s or not stripped:
            break
        s = stripped
    return s


def _unbracketed_key(text) -> str:
    """The key with brackets dropped but their content kept: 聘期（止） -> 聘期止."""
    return _BRACKETS.sub("", re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))
                         ).lstrip("*").rstrip(":")


def _written(text) -> str:
    return re.sub(r"\s+", "", str(text)) if "\n" in str(text) else str(text).strip()


@dataclass
class HeaderCell:
    """One column of a header as the file writes it, with the keys it may match."""
    index: int
    written: str            # for messages: 职务, 聘期/起
    keys: tuple[str, ...]   # tried in order
    unit_texts: tuple[str, ...]   # where a unit may be named: the part, then its group


@dataclass
class Layout:
    """Where a sheet's header is and which column holds which declared Col."""
    header_row: int                                  # Excel row number (the first header row)
    last_header_row: int = 0                         # the parts row of a two-row header
    columns: dict[int, Col] = field(default_factory=dict)       # cell index -> Col
    units: dict[int, object] = field(default_factory=dict)      # unit of bare numbers
    headers: dict[int, str] = field(default_factory=dict)       # cell index -> header as written
    ignored: list[tuple[int, str]] = field(default_factory=list)   # unknown headers
    repeated: dict[str, list[str]] = field(default_factory=dict)   # field -> its headers
    header_rows_seen: list[dict[int, tuple[str, str]]] = field(default_factory=list)
    # ^ each header row: cell index -> (text as written, key), to know the row again
    title_rows: set[tuple] = field(default_factory=set)   # rows above the header, as keys
    unit_notes: dict[int, str] = field(default_factory=dict)  # unit from the unit line: （万元）

    def __post_init__(self):
        self.last_header_row = self.last_header_row or self.header_row

    @property
    def matched(self) -> int:
        return len(self.columns)

    def missing_required(self, sheet: Sheet) -> list[Col]:
        present = {c.field for c in self.columns.values()}
        return [c for c in sheet.columns if c.required and not c.info and c.field not in present]

    def repeats_header(self, cells: list) -> bool:
        """A row that repeats a header row (a printed report's page header) or a title row.
        Cheap for a data row: texts are compared as written before keys are made, and a row
        is counted only when two of its cells are a header's."""
        filled = None
        if self.title_rows:
            filled = sum(1 for c in cells if not _blank(c))
            if filled in self._title_sizes and _row_key(cells) in self.title_rows:
                return True
        width = len(cells)
        for seen in self.header_rows_seen:
            alike = 0
            for i, (text, _key) in seen.items():
                if i < width:
                    cell = cells[i]
                    if isinstance(cell, str) and text in cell and cell.strip() == text:
                        alike += 1
            if alike < 2:
                continue
            if filled is None:
                filled = sum(1 for c in cells if not _blank(c))
            if alike * 2 < filled:
                continue
            same = sum(1 for i, (_text, key) in seen.items()
                       if i < len(cells) and header_key(cells[i]) == key)
            if same >= 2 and same * 2 >= filled:
                return True
        return False

    @property
    def _title_sizes(self) -> set[int]:
        """How many cells the title rows fill (asked once a data row; made once a sheet)."""
        made = self.__dict__.get("_sizes_of")
        if made is None or made[0] is not self.title_rows:
            made = self.__dict__["_sizes_of"] = (self.title_rows,
                                                 {len(t) for t in self.title_rows})
        return made[1]


def _index(sheet: Sheet) -> dict[str, tuple[Col, bool]]:
    """header key -> (Col, is the canonical header)."""
    out: dict[str, tuple[Col, bool]] = {}
    for c in sheet.columns:
        for name in (*c.aliases, *c.group_forms):
            out.setdefault(header_key(name), (c, False))
            out.setdefault(_unbracketed_key(name), (c, False))
    for c in sheet.columns:
        for name in filter(None, (c.header, c.export_header)):
            out[header_key(name)] = (c, True)
            out.setdefault(_unbracketed_key(name), (c, True))
    return out


def map_header(sheet: Sheet, cells: list, row_number: int, unit_line=None) -> Layout:
    """A one-row header."""
    return _layout(sheet, _one_row(cells), row_number, row_number, unit_line)


def _one_row(cells: list) -> list[HeaderCell]:
    # 聘期（止） in one cell is the two-row form written in one: tried after 聘期 itself.
    return [HeaderCell(i, _written(cell), (header_key(cell), _unbracketed_key(cell)), (str(cell),))
            for i, cell in enumerate(cells) if header_key(cell)]


def _layout(sheet: Sheet, cells: list[HeaderCell], first_row: int, last_row: int,
            unit_line) -> Layout:
    index = _index(sheet)
    layout = Layout(header_row=first_row, last_header_row=last_row)
    weak: dict[str, int] = {}   # field -> cell index of a leading 序号 column that claims it
    for cell in cells:
        hit = next((index[k] for k in cell.keys if k in index), None)
        if hit is None:
            if cell.keys[0] not in IGNORED_HEADERS:
                layout.ignored.append((cell.index, cell.written))
            continue
        col, _canonical = hit
        # A list may declare 序号 itself (a duty's stage number); a leading 序号 column is
        # then the weakest claim, so 环节序号 beside it wins without a word.
        is_weak = cell.keys[0] in IGNORED_HEADERS
        taken = next((i for i, c in layout.columns.items() if c.field == col.field), None)
        if taken is not None:
            if is_weak:
                continue
            if weak.get(col.field) == taken:
                _forget(layout, taken)
            else:
                layout.repeated.setdefault(col.field, [layout.headers[taken]]).append(cell.written)
                continue
        if is_weak:
            weak[col.field] = cell.index
        layout.columns[cell.index] = col
        layout.headers[cell.index] = cell.written
        unit = next((u for u in map(col.type.header_unit, cell.unit_texts) if u is not None), None)
        if unit is None and unit_line is not None and col.type.takes_unit_line:
            unit = unit_line
            layout.unit_notes[cell.index] = f"（{_UNIT_NAMES.get(unit, '')}元）"
        if unit is not None:
            layout.units[cell.index] = unit
    return layout


def _forget(layout: Layout, i: int) -> None:
    del layout.columns[i]
    layout.units.pop(i, None)
    layout.headers.pop(i, None)


def locate_header(sheet: Sheet, rows: list[tuple[int, list]],
                  merges: list[tuple[int, int, int, int]] | None = None) -> Layout | None:
    """The row among the first few that matches most declared headers (at least two),
    read together with the row below when that makes it a two-row header that matches more."""
    best: Layout | None = None
    scanned = rows[:HEADER_SCAN_ROWS]
    for k, (row_number, cells) in enumerate(scanned):
        above = [c for _n, c in scanned[:k]]
        line = unit_line(above)
        layout = map_header(sheet, cells, row_number, line)
        below = scanned[k + 1] if k + 1 < len(scanned) else None
        if below is not None and below[0] == row_number + 1:
            # Two rows only when together they name more than either alone (a title merged
            # over the header is no group of it).
            double = _two_rows(sheet, cells, below[1], row_number, merges, line)
            if double is not None and double.matched > max(
                    layout.matched, map_header(sheet, below[1], below[0]).matched):
                layout = double
        if layout.matched >= 2 and (best is None or layout.matched > best.matched):
            best = layout
            best.header_rows_seen = [_seen(cells)]
            if layout.last_header_row != row_number:
                best.header_rows_seen.append(_seen(below[1]))
            best.title_rows = {_row_key(c) for c in above if not all(map(_blank, c))}
    return best


def _two_rows(sheet: Sheet, top: list, parts: list, row_number: int, merges,
              line) -> Layout | None:
    spans = _spans(top, parts, row_number, merges)
    if not spans:
        return None
    in_span = {c: start for start, end in spans for c in range(start, end + 1)}
    cells = []
    for i in range(max(len(top), len(parts))):
        upper = top[i] if i < len(top) else None
        lower = parts[i] if i < len(parts) else None
        if i not in in_span:
            text = upper if not _blank(upper) else lower
            if header_key(text):
                cells.append(HeaderCell(i, _written(text), (header_key(text),), (str(text),)))
            continue
        group = top[in_span[i]]
        if _blank(lower):
            continue
        g = header_key(group) or _unbracketed_key(group)
        p = header_key(lower) or _unbracketed_key(lower)
        cells.append(HeaderCell(i, f"{_written(group)}/{_written(lower)}",
                                (g + p, p + g, p), (str(lower), str(group))))
    return _layout(sheet, cells, row_number, row_number + 1, line)


def _spans(top: list, parts: list, row_number: int, merges) -> list[tuple[int, int]]:
    """Group cells of the top row: merged across columns, or (when the file keeps no merges,
    as an error workbook or a CSV) followed by blank cells, with parts named below."""
    spans = [(c1, c2) for r1, c1, r2, c2 in merges or () if r1 == row_number and c2 > c1
             and c1 < len(top) and not _blank(top[c1])]
    merged = {c for a, b in spans for c in range(a, b + 1)}

    def cell(row, i):
        return row[i] if i < len(row) else None

    i = 0
    while i < len(top):
        if _blank(top[i]) or i in merged or _blank(cell(parts, i)):
            i += 1
            continue
        end = i
        while (end + 1 not in merged and _blank(cell(top, end + 1))
               and not _blank(cell(parts, end + 1))):
            end += 1
        if end > i:
            spans.append((i, end))
        i = end + 1
    return [(a, b) for a, b in spans if any(not _blank(cell(parts, c)) for c in range(a, b + 1))]


def unit_line(rows: list[list]) -> Decimal | None:
    """The unit that a line such as 金额单位：万元 in the title area sets for amount columns."""
    for cells in rows:
        for cell in cells:
            if isinstance(cell, str):
                m = _UNIT_LINE.search(unicodedata.normalize("NFKC", cell))
                if m:
                    return UNIT_WORDS[m.group(1)] if m.group(1) else Decimal(1)
    return None


def is_footer(cells: list) -> bool:
    for cell in cells:
        if _blank(cell):
            continue
        text = str(cell)
        if text.isascii():   # every prefix begins with a Chinese character, NFKC keeps ASCII
            return False
        text = unicodedata.normalize("NFKC", text).strip()
        return text.startswith(FOOTER_PREFIXES)
    return False


def is_empty(cells: list) -> bool:
    return all(_blank(c) for c in cells)


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _seen(cells: list) -> dict[int, tuple[str, str]]:
    return {i: (str(c).strip(), header_key(c)) for i, c in enumerate(cells) if header_key(c)}


def _row_key(cells: list) -> tuple:
    return tuple(header_key(c) for c in cells if not _blank(c))
