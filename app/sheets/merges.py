"""Merged cells in data rows (lists.md §1 Cell values).

A cell merged down over several rows (an implementing body over the powers it implements,
an agency over its certificates) holds its value for every row it covers, exactly as if it
were written in each. Only the value of a range's first cell is in the file; the rows it
covers below get it here, in the range's first column. A merged cell never makes a row look
empty, and never makes an empty row look full: a row with nothing of its own stays empty.
"""
from __future__ import annotations

from collections import defaultdict


def fill_down(rows: list[tuple[int, list]], merges, below: int) -> list[tuple[int, list]]:
    """rows as the reader gives them (Excel row number, cells); merges: (first row, first
    column, last row, last column), rows as Excel numbers them. Only ranges that start after
    row `below` (the header) are filled. The rows that change are copies."""
    by_column: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for first, column, last, _last_column in merges or ():
        if first > below and last > first:
            by_column[column].append((first, last))
    if not by_column:
        return rows
    index = {number: i for i, (number, _cells) in enumerate(rows)}
    end = rows[-1][0] if rows else 0
    out = list(rows)
    for column, ranges in by_column.items():
        done = 0   # rows up to here were filled: overlapping ranges cost no more than one
        for first, last in sorted(ranges):
            source = index.get(first)
            if source is None:
                continue
            cells = rows[source][1]
            value = cells[column] if column < len(cells) else None
            if _blank(value):
                continue
            for number in range(max(first + 1, done + 1), min(last, end) + 1):
                i = index.get(number)
                if i is None:
                    continue
                row_number, own = out[i]
                if all(_blank(c) for c in own) or not (column >= len(own) or _blank(own[column])):
                    continue
                filled = list(own) + [None] * (column + 1 - len(own))
                filled[column] = value
                out[i] = (row_number, filled)
            done = max(done, last)
    return out


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
