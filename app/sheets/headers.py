"""Finding a list's header row in a legacy sheet and mapping its columns."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from .declare import Col, Sheet
from .values import unit_from_header

HEADER_SCAN_ROWS = 30       # title and "填报单位" rows above the header are few
IGNORED_HEADERS = {"序号"}  # renumbered on every export, never a key
FOOTER_PREFIXES = ("合计", "总计", "注：", "注:", "说明：", "说明:", "填表人", "审核人")

_BRACKET_NOTE = re.compile(r"[（(\[【][^（()\]】）]*[)）\]】]$")


def header_key(text) -> str:
    """NFKC, no whitespace, no leading *, no trailing bracketed note like （万元）."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = re.sub(r"\s+", "", s)
    s = s.lstrip("*")
    while True:
        stripped = _BRACKET_NOTE.sub("", s)
        if stripped == s:
            break
        s = stripped
    return s


@dataclass
class Layout:
    """Where a sheet's header is and which column holds which declared Col."""
    header_row: int                                  # Excel row number
    columns: dict[int, Col] = field(default_factory=dict)       # cell index -> Col
    units: dict[int, Decimal] = field(default_factory=dict)     # amount unit from the header
    headers: dict[int, str] = field(default_factory=dict)       # cell index -> header as written
    ignored: list[str] = field(default_factory=list)            # unknown headers

    @property
    def matched(self) -> int:
        return len(self.columns)

    def missing_required(self, sheet: Sheet) -> list[Col]:
        present = {c.field for c in self.columns.values()}
        return [c for c in sheet.columns if c.required and not c.info and c.field not in present]


def _index(sheet: Sheet) -> dict[str, tuple[Col, bool]]:
    """header key -> (Col, is the canonical header)."""
    out: dict[str, tuple[Col, bool]] = {}
    for c in sheet.columns:
        for name in c.aliases:
            out.setdefault(header_key(name), (c, False))
    for c in sheet.columns:
        out[header_key(c.header)] = (c, True)
        if c.export_header:
            out[header_key(c.export_header)] = (c, True)
    return out


def map_header(sheet: Sheet, cells: list, row_number: int) -> Layout:
    index = _index(sheet)
    layout = Layout(header_row=row_number)
    rank: dict[str, int] = {}   # field -> how well its current column matched
    for i, cell in enumerate(cells):
        key = header_key(cell)
        if not key:
            continue
        hit = index.get(key)
        if hit is None:
            if key not in IGNORED_HEADERS:
                layout.ignored.append(str(cell).strip())
            continue
        col, canonical = hit
        # A list may declare 序号 itself (a duty's stage number); a leading 序号 column is
        # then still the weakest claim, so 环节序号 beside it wins.
        score = 0 if key in IGNORED_HEADERS else (2 if canonical else 1)
        previous = rank.get(col.field)
        if previous is not None and previous >= score:
            layout.ignored.append(str(cell).strip())
            continue
        if previous is not None:  # a better-named column wins; forget the weaker one
            for j, c in list(layout.columns.items()):
                if c.field == col.field:
                    del layout.columns[j]
                    layout.units.pop(j, None)
                    layout.ignored.append(layout.headers.pop(j))
        rank[col.field] = score
        layout.columns[i] = col
        layout.headers[i] = str(cell).strip()
        unit = unit_from_header(str(cell))
        if unit is not None:
            layout.units[i] = unit
    return layout


def locate_header(sheet: Sheet, rows: list[tuple[int, list]]) -> Layout | None:
    """The row among the first few that matches most declared headers (at least two)."""
    best: Layout | None = None
    for row_number, cells in rows[:HEADER_SCAN_ROWS]:
        layout = map_header(sheet, cells, row_number)
        if layout.matched >= 2 and (best is None or layout.matched > best.matched):
            best = layout
    return best


def is_footer(cells: list) -> bool:
    for cell in cells:
        if cell is None or cell == "":
            continue
        text = unicodedata.normalize("NFKC", str(cell)).strip()
        return text.startswith(FOOTER_PREFIXES)
    return False


def is_empty(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
