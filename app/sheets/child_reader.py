"""The program of the reader's child process; never imported by the application.

reader._read_in_child runs this file's text as `python -P -c <text> ARGS` (see there why):
a new interpreter that sets its own limits first, before it reads a byte of the file, then
imports only the standard library, python_calamine, xlrd (.xls) and lxml (through
office_xml.py, loaded from its path, for office "xls" exports). It takes the file on
stdin and writes to stdout either one pickle

    ("encrypted",) | ("macros",) | ("rows",) | ("columns", last column number)
    | ("sparse", sheet name, last column, last row, filled cells)

or a sequence of pickles: first

    ("ok", [(name, hidden, has rows, merged ranges), ...])
        merged ranges: (first row, first column, last row, last column), 0-based

then, for each sheet that has rows, in order, its rows (one list of cells per Excel row
from row 1) in chunks of up to CHUNK_ROWS rows, each chunk a pickled list, and an empty
list after its last chunk. Written chunk by chunk, so that neither this process nor the
reading one holds a big workbook's cells as Python objects all at once.

Anything else (an exception, a panic, an abort, a signal, no output) means damaged.
ARGS: memory, seconds, max rows, max columns, sparse floor, max sparseness, then the kind
("book", "html" or "xml"), the path of office_xml.py and the name of a lone HTML table.
"""
import resource
import sys

CHUNK_ROWS = 2000


def main():
    memory, seconds, max_rows, max_columns, sparse_floor, max_sparseness = (
        int(a) for a in sys.argv[1:7])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    import pickle
    kind, helper, default_name = sys.argv[7:10]
    data = sys.stdin.buffer.read()
    out = sys.stdout.buffer

    def write(value):
        out.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    if kind == "book":
        read_book(data, max_rows, max_columns, sparse_floor, max_sparseness, write)
    else:
        read_markup(data, kind, helper, default_name, max_rows, max_columns, write)
    out.flush()


def write_sheets(sheets, write):
    """sheets: (name, hidden, rows: an iterable of lists or None, merged ranges)."""
    write(("ok", [(name, hidden, rows is not None, merges)
                  for name, hidden, rows, merges in sheets]))
    for _name, _hidden, rows, _merges in sheets:
        if rows is None:
            continue
        chunk = []
        same = {}   # a text written again is one object: pickled once a chunk, read once
        for cells in rows:
            chunk.append([same.setdefault(c, c) if c.__class__ is str else c for c in cells])
            if len(chunk) == CHUNK_ROWS:
                write(chunk)
                chunk, same = [], {}
        if chunk:
            write(chunk)
        write([])


def read_book(data, max_rows, max_columns, sparse_floor, max_sparseness, write):
    import io

    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError:
        return write(("encrypted",))
    is_xls = data[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    with workbook:
        metas = workbook.sheets_metadata
        if any(meta.typ in (SheetTypeEnum.MacroSheet, SheetTypeEnum.Vba) for meta in metas):
            return write(("macros",))
        opened = []     # (name, calamine sheet or None when hidden or empty)
        total_rows = 0
        for index, meta in enumerate(metas):
            if meta.visible != SheetVisibleEnum.Visible:
                opened.append((meta.name, True, None))
                continue
            sheet = workbook.get_sheet_by_index(index)
            if sheet.end is None:
                opened.append((meta.name, False, None))
                continue
            last_row, last_column = sheet.end
            total_rows += last_row + 1
            if total_rows > max_rows:
                return write(("rows",))
            if last_column + 1 > max_columns:
                return write(("columns", last_column + 1))
            opened.append((meta.name, False, sheet))
        census = xls_census(data, [n for n, _h, s in opened if s is not None]) if is_xls else {}
        for name, _hidden, sheet in opened:
            if sheet is None or name not in census:
                continue
            rows, columns = sheet.end[0] + 1, sheet.end[1] + 1
            filled = census[name][0]
            if rows * columns > sparse_floor and rows * columns > max_sparseness * max(filled, 1):
                return write(("sparse", name, columns, rows, filled))
        sheets = []
        for name, hidden, sheet in opened:
            if sheet is None:
                sheets.append((name, hidden, None, []))
                continue
            errors = {}
            for r, c, text in census.get(name, (0, []))[1]:
                errors.setdefault(r, []).append((c, text))
            merges = [(a[0], a[1], b[0], b[1]) for a, b in sheet.merged_cell_ranges or []]
            sheets.append((name, False, sheet_rows(sheet, errors), merges))
        write_sheets(sheets, write)


def sheet_rows(sheet, errors):
    """The sheet's rows from A1, as to_python(skip_empty_area=False) gives them, one at a time:
    iter_rows gives the rows from the first, each from the first used column."""
    last_row, last_column = sheet.end
    pad = [""] * sheet.start[1]
    count = 0
    for r, cells in enumerate(sheet.iter_rows()):
        if pad:
            cells = pad + cells
        if len(cells) != last_column + 1:
            raise ValueError("calamine gave a row of another width than the sheet's")
        for c, text in errors.get(r, ()):
            if c < len(cells):
                cells[c] = text
        count += 1
        yield cells
    if count != last_row + 1:
        raise ValueError("calamine gave another number of rows than the sheet's")


def xls_census(data, names):
    """sheet name -> (filled cells, [(row, column, error text)]) of an .xls, by xlrd: calamine
    reads an error value (#N/A, #VALUE! …) as an empty cell."""
    import os

    import xlrd
    with open(os.devnull, "w") as quiet:   # xlrd logs to stdout, where the result goes
        book = xlrd.open_workbook(file_contents=data, ragged_rows=True, on_demand=True,
                                  logfile=quiet, verbosity=0)
        out = {}
        for name in names:
            sheet = book.sheet_by_name(name)
            filled = 0
            errors = []
            for r in range(sheet.nrows):
                types = sheet.row_types(r)
                filled += sum(1 for t in types if t not in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK))
                if xlrd.XL_CELL_ERROR in types:
                    values = sheet.row_values(r)
                    errors.extend((r, c, xlrd.error_text_from_code.get(values[c], "#N/A"))
                                  for c, t in enumerate(types) if t == xlrd.XL_CELL_ERROR)
            out[name] = (filled, errors)
            book.unload_sheet(name)
    return out


def read_markup(data, kind, helper, default_name, max_rows, max_columns, write):
    import importlib.util
    spec = importlib.util.spec_from_file_location("qingdan_office_xml", helper)
    office_xml = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(office_xml)
    try:
        if kind == "html":
            sheets = office_xml.read_html(data, default_name, max_rows, max_columns)
        else:
            sheets = office_xml.read_spreadsheetml(data, max_rows, max_columns)
    except office_xml.TooManyRows:
        return write(("rows",))
    except office_xml.TooManyColumns as exc:
        return write(("columns", exc.column))
    write_sheets(sheets, write)


if __name__ == "__main__":
    main()
