"""Merged cells in data rows (lists.md §1 Cell values).

A cell merged down over several rows (an implementing body over the powers it implements,
an agency over its certificates) holds its value for every row it covers, exactly as if it
were written in each. Only the value of a range's first cell is in the file; the rows it
covers below get it here, in the range's first column. A merged cell never makes a row look
empty, and never makes an empty row look full: a row with nothing of its own stays empty.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator


def fill_down(rows: list[tuple[int, list]], merges, below: int) -> list[tuple[int, list]]:
    """rows as the reader gives them (Excel row number, cells); merges: (first row, first
    column, last row, last column), rows as Excel numbers them. Only ranges that start after
    row `below` (the header) are filled. The rows that change are copies."""
    return [(number, filled) for number, _own, filled in filled_rows(rows, merges, below)]


def filled_rows(rows: Iterable[tuple[int, list]], merges, below: int
                ) -> Iterator[tuple[int, list, list]]:
    """fill_down as the rows come, in order: (row number, its own cells, the cells filled).
    A row takes, in each column, the value of the first range (by first row, then last row)
    that covers it below that range's first row, whose first cell is filled."""
    starts: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for first, column, last, _last_column in sorted(
            (first, column, last, _c) for first, column, last, _c in merges or ()
            if first > below and last > first):
        starts[first].append((column, first, last))
    if not starts:
        for number, cells in rows:
            yield number, cells, cells
        return
    active: dict[int, list[tuple[int, int, object]]] = {}   # column -> (first, last, value)
    for number, own in rows:
        for column, first, last in starts.get(number, ()):
            value = own[column] if column < len(own) else None
            if not _blank(value):
                active.setdefault(column, []).append((first, last, value))
        filled = own
        if active and not all(_blank(c) for c in own):
            for column in list(active):
                ranges = [r for r in active[column] if r[1] >= number]
                if not ranges:
                    del active[column]
                    continue
                active[column] = ranges
                if column < len(own) and not _blank(own[column]):
                    continue
                value = next((value for first, _last, value in ranges if first < number), None)
                if value is None:
                    continue
                if filled is own:
                    filled = list(own)
                filled.extend([None] * (column + 1 - len(filled)))
                filled[column] = value
        yield number, own, filled


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
