"""The "xls" files that office systems export and Excel opens, read like a workbook.

- An HTML table saved with an .xls name: every innermost <table> is a sheet; colspan and
  rowspan are merged cells, <br> is a line break inside the cell.
- An XML Spreadsheet 2003 (SpreadsheetML, .xls or .xml): every <Worksheet> is a sheet, with
  its hidden flag, merged cells (ss:MergeAcross / ss:MergeDown), cell types and error values.

This module runs only inside the reader's child process (child_reader.py loads it from
this file by path), after the parent has refused every entity declaration, and it imports
nothing but the standard library and lxml. The parsers are given no network access, no DTD,
no entity substitution and lxml's default size limits. A sheet comes back as the workbook
reader gives one: (name, hidden, rows from row 1 as lists of cells, merged ranges as
(first row, first column, last row, last column), 0-based).
"""
import datetime
import re

from lxml import etree

SPREADSHEET = "urn:schemas-microsoft-com:office:spreadsheet"
EXCEL = "urn:schemas-microsoft-com:office:excel"
MAX_COLSPAN = 1000       # HTML's own limits on spans
MAX_ROWSPAN = 65534
MAX_COVERED = 4_000_000  # cells covered by spans in one table: more is no real table
_HIDDEN = {"SheetHidden", "SheetVeryHidden"}
_BLOCKS = {"p", "div", "li", "tr"}
_LINE = "\ue000"         # a private-use character: a line break while whitespace is collapsed
_WHITESPACE = re.compile(r"[ \t\r\n\f]+")


class TooManyRows(Exception):
    pass


class TooManyColumns(Exception):
    def __init__(self, column: int):
        super().__init__(column)
        self.column = column


class NotATable(Exception):
    """More spanned cells than any table holds."""


def _parser(html: bool):
    if html:
        return etree.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True,
                                remove_pis=True, default_doctype=False, collect_ids=False,
                                huge_tree=False)
    return etree.XMLParser(encoding="utf-8", resolve_entities=False, no_network=True,
                           load_dtd=False, dtd_validation=False, remove_comments=True,
                           remove_pis=True, huge_tree=False)


# ---------------------------------------------------------------------------- HTML
def read_html(data: bytes, default_name: str, max_rows: int, max_columns: int) -> list:
    """data: the page as UTF-8."""
    root = etree.fromstring(data, _parser(html=True))
    if root is None:
        return []
    tables = [t for t in root.iter("table") if next(t.iterdescendants("table"), None) is None]
    sheets = []
    used = set()
    total_rows = 0
    for number, table in enumerate(tables, 1):
        rows, merges = _html_grid(table, max_rows - total_rows, max_columns)
        total_rows += len(rows)
        name = _table_name(table, default_name if len(tables) == 1 else f"表{number}")
        while name in used:
            name += "_"
        used.add(name)
        sheets.append((name, False, rows, merges))
    return sheets


def _table_name(table, fallback: str) -> str:
    caption = table.find("caption")
    text = _cell_text(caption) if caption is not None else ""
    return text.replace("\n", " ")[:31] or fallback


def _html_grid(table, max_rows: int, max_columns: int):
    rows: list[list] = []
    merges = []
    covered: dict[int, set[int]] = {}   # row -> columns taken by a rowspan from above
    count = 0
    trs = list(table.iter("tr"))
    for r, tr in enumerate(trs):
        if r >= max_rows:
            raise TooManyRows()
        row: list = []
        taken = covered.pop(r, set())
        c = 0
        for td in tr.iterchildren("td", "th"):
            while c in taken:
                c += 1
            colspan = _span(td.get("colspan"), MAX_COLSPAN)
            rowspan = min(_span(td.get("rowspan"), MAX_ROWSPAN), len(trs) - r)
            text = _cell_text(td)
            if c + 1 > max_columns and text:
                raise TooManyColumns(c + 1)
            if c < max_columns:
                row.extend([""] * (c + 1 - len(row)))
                row[c] = text
            if colspan > 1 or rowspan > 1:
                last_column = min(c + colspan, max_columns) - 1
                merges.append((r, c, r + rowspan - 1, last_column))
                for below in range(r + 1, r + rowspan):
                    covered.setdefault(below, set()).update(range(c, last_column + 1))
                    count += last_column - c + 1
                    if count > MAX_COVERED:
                        raise NotATable()
            c += colspan
        rows.append(row)
    return rows, merges


def _span(value, limit: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), limit)


def _cell_text(cell) -> str:
    """The text a person sees in the cell: HTML whitespace collapsed, <br> a line break."""
    for element in cell.iter():
        if element.tag == "br":
            element.tail = _LINE + (element.tail or "")
        elif element.tag in _BLOCKS and element is not cell:
            element.text = _LINE + (element.text or "")
        elif element.tag in ("script", "style"):
            element.text = ""
    text = _WHITESPACE.sub(" ", "".join(cell.itertext()))
    text = re.sub(f" *{_LINE} *", "\n", text)
    return text.strip(" ").strip("\n")


# ---------------------------------------------------------------------------- SpreadsheetML
def read_spreadsheetml(data: bytes, max_rows: int, max_columns: int) -> list:
    """data: the document as UTF-8."""
    root = etree.fromstring(data, _parser(html=False))
    sheets = []
    total_rows = 0
    for number, worksheet in enumerate(_children(root, "Worksheet"), 1):
        name = _attribute(worksheet, "Name") or f"Sheet{number}"
        visible = worksheet.find(f"{{{EXCEL}}}WorksheetOptions/{{{EXCEL}}}Visible")
        if visible is not None and (visible.text or "").strip() in _HIDDEN:
            sheets.append((name, True, None, []))
            continue
        table = next(_children(worksheet, "Table"), None)
        rows, merges = ([], []) if table is None else _xml_grid(
            table, max_rows - total_rows, max_columns)
        total_rows += len(rows)
        sheets.append((name, False, rows, merges))
    return sheets


def _children(element, name: str):
    for child in element:
        if isinstance(child.tag, str) and child.tag in (f"{{{SPREADSHEET}}}{name}", name):
            yield child


def _attribute(element, name: str):
    value = element.get(f"{{{SPREADSHEET}}}{name}")
    return value if value is not None else element.get(name)


def _index(element, name: str, default: int) -> int:
    value = _attribute(element, name)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _xml_grid(table, max_rows: int, max_columns: int):
    rows: list[list] = []
    merges = []
    r = 0
    for row_element in _children(table, "Row"):
        r = _index(row_element, "Index", r + 1)   # 1-based
        if r > max_rows or r < 1:
            raise TooManyRows()
        while len(rows) < r:
            rows.append([])
        cells = rows[r - 1]
        c = 0
        for cell in _children(row_element, "Cell"):
            c = _index(cell, "Index", c + 1)
            across = max(_index(cell, "MergeAcross", 0), 0)
            down = max(_index(cell, "MergeDown", 0), 0)
            value = _value(next(_children(cell, "Data"), None))
            if (c > max_columns or c < 1) and value != "":
                raise TooManyColumns(max(c, 1))
            if 1 <= c <= max_columns:
                cells.extend([""] * (c - len(cells)))
                cells[c - 1] = value
            if across or down:
                merges.append((r - 1, c - 1, r - 1 + down, min(c + across, max_columns) - 1))
            c += across
        # a Row may stand for several identical empty rows
        r += max(_index(row_element, "Span", 0), 0)
    return rows, merges


def _value(data):
    if data is None:
        return ""
    text = "".join(data.itertext())
    kind = _attribute(data, "Type") or "String"
    if kind == "Number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "Boolean":
        return text.strip().lower() in ("1", "true")
    if kind == "DateTime":
        try:
            moment = datetime.datetime.fromisoformat(text.strip()[:19])
        except ValueError:
            return text
        return moment.date() if moment.time() == datetime.time(0) else moment
    return text   # String, and Error (#N/A …) as its text
