"""Read an uploaded spreadsheet safely and return its raw cells with Excel's row numbers.

The format is told by content, never by extension: .xlsx, .xls, CSV (UTF-8 with or without
BOM, GB18030, UTF-16), and the two "xls" files office systems export (an HTML table, an
XML Spreadsheet 2003). Everything a user can get wrong about the file itself (wrong format,
damaged, encrypted, macros, too big, hostile) raises `UnreadableFile` whose text says, in
Chinese, what is wrong and how to fix it. Cleaning the cells is the caller's job: values
come back as the file holds them (an Excel error value as its text, "#N/A"), and merged
ranges come with the sheet.
"""
from __future__ import annotations

import csv
import datetime
import io
import logging
import math
import os
import pickle
import re
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from . import file_problems as fp
from .file_problems import ACCEPTED_FORMATS, UnreadableFile
from .xlsx_scan import _CHUNK, check_xlsx  # noqa: F401  (_CHUNK: the scan's read size)

__all__ = ["read_file", "RawSheet", "Limits", "UnreadableFile", "ACCEPTED_FORMATS"]

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# An OLE2 directory entry (128 bytes, 128-aligned) names a stream or storage in UTF-16LE
# and stores the name's byte length, terminator included, at offset 64.
_ENCRYPTED_STREAM = "EncryptedPackage"   # a password-protected .xlsx
_MACRO_STORAGE = "_VBA_PROJECT_CUR"      # the VBA project of an .xls
_BINARY_PROBE = 8192           # a text file has no NUL byte here
_SNIFF_SAMPLE = 16 * 1024
_MARKUP_START = re.compile(r"\s*<")
_FIRST_ELEMENT = re.compile(r"<(?![?!/])([\w.:-]+)")
_HTML_ROOTS = {"html", "head", "body", "table", "meta", "style", "title", "div", "font"}
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
_ANY_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_DOCTYPE_SUBSET = re.compile(r"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_TEXT_GUARD = re.compile(r'="((?:[^"]|"")*)"', re.DOTALL)   # Excel's ="0031…" in CSV
_CHILD_PROGRAM = (Path(__file__).with_name("child_reader.py")).read_text(encoding="utf-8")
_OFFICE_XML = str(Path(__file__).with_name("office_xml.py"))
_NO_MERGES = object()


class RawSheet:
    """One sheet of the file. rows: (Excel row number from 1, cell values), trailing empty
    rows dropped; an empty sheet has none. merges: merged ranges (first row, first column,
    last row, last column), rows as Excel numbers them, columns from 0 like the cells; None
    when the format cannot tell (CSV).

    The rows of a workbook come from its reader process chunk by chunk: iter_rows() reads
    them once as they come (the importer, which keeps none of them), `rows` keeps them all,
    count_rows() says how many there are without keeping them."""
    __slots__ = ("name", "hidden", "merges", "_rows", "_source", "_rest", "_counted")

    def __init__(self, name: str, hidden: bool, rows: list[tuple[int, list]] | None = None,
                 merges: list[tuple[int, int, int, int]] | None = _NO_MERGES, *, source=None):
        self.name, self.hidden = name, hidden
        self.merges = [] if merges is _NO_MERGES else merges
        self._rows = rows if rows is not None or source is not None else []
        self._source = source   # an iterator of the rows, until they are taken
        self._rest, self._counted = None, 0   # the rows iter_rows gave, and how many came

    @property
    def rows(self) -> list[tuple[int, list]]:
        if self._rows is None:
            if self._source is None:
                raise RuntimeError(f"the rows of sheet {self.name!r} were read once already")
            self._rows, self._source = list(self._source), None
        return self._rows

    def iter_rows(self):
        """The rows, read once when they stream from the reader process."""
        if self._rows is not None:
            return iter(self._rows)
        if self._source is None:
            raise RuntimeError(f"the rows of sheet {self.name!r} were read once already")
        source, self._source = self._source, None
        self._rest = self._counting(source)
        return self._rest

    def _counting(self, source):
        for row in source:
            self._counted += 1
            yield row

    def count_rows(self) -> int:
        """How many rows the sheet has. Those iter_rows() left unread (a sheet without the
        list's header) are read now and let go: the reader process has then given all."""
        if self._rows is not None:
            return len(self._rows)
        if self._rest is None:
            self.iter_rows()
        for _ in self._rest:
            pass
        return self._counted

    def __eq__(self, other) -> bool:
        if not isinstance(other, RawSheet):
            return NotImplemented
        return (self.name, self.hidden, self.rows, self.merges) == (
            other.name, other.hidden, other.rows, other.merges)

    def __repr__(self) -> str:
        return f"RawSheet({self.name!r}, hidden={self.hidden!r}, merges={self.merges!r})"


@dataclass
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 200_000          # data rows summed over all visible sheets (count physical rows)
    max_unzipped_bytes: int = 400 * 1024 * 1024   # zip-bomb guard for .xlsx
    max_ratio: int = 200              # max compression ratio of any single zip member (only checked for members > 1 MiB uncompressed)
    # Widest sheet accepted (256 = the old .xls width). calamine holds a sheet as a dense
    # grid from A1 to its last cell, so one stray cell at XFD1048576 would need hundreds of
    # gigabytes and abort the process; rows and columns are both bounded before loading.
    max_columns: int = 256
    # Within those bounds a sheet is still refused when its grid (A1 to the last filled
    # cell) exceeds sparse_floor_cells and holds more than max_sparseness cells for each
    # filled one: a stray cell at IV199990 is 51 million cells out of an 11 KB file.
    sparse_floor_cells: int = 2_000_000
    max_sparseness: int = 20
    # Workbooks are parsed in a child process (see _read_in_child): calamine has no limit of
    # its own, and a crafted file can make it ask for terabytes and abort the process. These
    # bound that child; a file that needs more is refused as damaged. A legitimate
    # 200,000-row workbook needs well under 2 GiB and a few seconds.
    child_memory_bytes: int = 2048 * _MB     # address space (RLIMIT_AS) of the child
    child_seconds: float = 60                # wall clock; CPU time is limited to the same


def read_file(source, filename: str | None = None, limits: Limits | None = None) -> list[RawSheet]:
    """source: a path (str/Path) or bytes. filename: the original file name (used only for
    messages and as a hint). Returns ALL sheets in workbook order, hidden ones included with
    hidden=True (their rows are left empty: the caller skips and reports them)."""
    limits = limits or Limits()
    if isinstance(source, (str, os.PathLike)):
        filename = filename or Path(source).name
    label = f"“{filename}”" if filename else "上传的文件"
    data = _read_bytes(source, label, limits)
    stem = Path(filename).stem if filename else "Sheet1"

    if data.startswith(_ZIP_MAGIC):
        census = check_xlsx(data, label, limits)
        errors = {name: c.errors for name, c in census.items() if c.errors}
        return _read_in_child(data, "book", label, limits, errors=errors)
    if data.startswith(_OLE_MAGIC):
        if _has_ole_entry(data, _ENCRYPTED_STREAM):
            raise fp.encrypted(label)
        if _has_ole_entry(data, _MACRO_STORAGE):
            raise fp.macros(label)
        return _read_in_child(data, "book", label, limits)
    if b"\x00" in data[:_BINARY_PROBE] and not data.startswith(_UTF16_BOMS):
        raise fp.not_a_spreadsheet(label)
    text = _decode(data, label)
    if _MARKUP_START.match(text):
        return _read_markup(text, stem, label, limits)
    return [_read_csv(text, stem, label, limits)]


# ---------------------------------------------------------------------------- whole file

def _read_bytes(source, label: str, limits: Limits) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        _check_size(os.stat(source).st_size, label, limits)   # before loading it
        data = Path(source).read_bytes()
    else:
        data = bytes(source)
        _check_size(len(data), label, limits)
    if not data:
        raise fp.empty_file(label)
    return data


def _check_size(size: int, label: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise fp.too_large(label, size, limits.max_bytes)


def _has_ole_entry(data: bytes, name: str) -> bool:
    encoded = name.encode("utf-16-le")
    length = struct.pack("<H", len(encoded) + 2)
    position = data.find(encoded)
    while position != -1:
        if position % 128 == 0 and data[position + 64:position + 66] == length:
            return True
        position = data.find(encoded, position + 1)
    return False


# ---------------------------------------------------------------------------- office "xls"

def _read_markup(text: str, stem: str, label: str, limits: Limits) -> list[RawSheet]:
    """An HTML table or a SpreadsheetML file, as office systems export them with an .xls name."""
    first = _FIRST_ELEMENT.search(text[:64 * 1024])
    root = first.group(1).lower().rsplit(":", 1)[-1] if first else ""
    if _ENTITY.search(text):
        raise fp.unsafe_declaration(label)
    if root == "workbook" and "urn:schemas-microsoft-com:office:spreadsheet" in text[:64 * 1024]:
        if _ANY_DOCTYPE.search(text):
            raise fp.unsafe_declaration(label)
        sheets = _read_in_child(text.encode("utf-8"), "xml", label, limits, stem)
    elif root in _HTML_ROOTS:
        if _DOCTYPE_SUBSET.search(text):   # <!DOCTYPE html …> is usual; a DTD subset is not
            raise fp.unsafe_declaration(label)
        sheets = _read_in_child(text.encode("utf-8"), "html", label, limits, stem)
    else:
        raise fp.not_a_spreadsheet(label, "的内容是 XML，但不是 Excel 能打开的表格")
    if not sheets:
        raise fp.markup_without_table(label)
    return sheets


# ---------------------------------------------------------------------------- workbooks

# calamine builds every sheet as a dense grid sized by whatever row and column numbers the
# file claims, and a failed allocation aborts the process: no exception, no cleanup. A 6 KB
# .xls with one cell record moved to row 65535, column 65535 asks for 137 GB; an .xlsx within
# every limit but with cells only at A1 and IV200000 asks for 51 million cells. The .xlsx
# scan refuses the worst before anything is parsed, but nothing cheap bounds memory, so
# every workbook (.xlsx, .xls and the office "xls" exports) is opened in a fresh interpreter
# with hard limits, and whatever becomes of that child, the worker survives and the file
# is refused. Measured (bench): +1 s on a 100,000-row .xlsx (2.2 s → 3.2 s), about 40 ms on
# a small file.
#
# The child is `python -P -c` with the program of child_reader.py: a new interpreter (no
# fork of the Flask process, nothing from __main__ or the app package, nothing of the
# parent's state). It sets its own limits first, before it reads a byte of the file: the
# same as a preexec_fn would, without running Python between fork and exec in a possibly
# threaded worker. What it writes back is described there. The parent unpickles only what
# its own child wrote, and even so with an unpickler that can build nothing but the date
# and time types (_ChildResultUnpickler).
def _read_in_child(data: bytes, kind: str, label: str, limits: Limits,
                   default_name: str = "Sheet1", errors: dict | None = None) -> list[RawSheet]:
    """errors: sheet name -> [(row, column, value)], the Excel error values the .xlsx scan
    found; calamine reads them as empty cells."""
    if not sys.executable:   # embedded interpreter: a deployment error, not the user's file
        raise RuntimeError("sys.executable is unknown: cannot start the workbook reader process")
    command = [sys.executable, "-P", "-c", _CHILD_PROGRAM,   # -P: no current directory on sys.path
               str(limits.child_memory_bytes), str(max(1, math.ceil(limits.child_seconds))),
               str(limits.max_rows), str(limits.max_columns), str(limits.sparse_floor_cells),
               str(limits.max_sparseness), kind, _OFFICE_XML, default_name]
    # An OSError from starting the process propagates: that is the server's trouble.
    child = _Child(command, data, limits.child_seconds, label)
    try:
        kind, *details = _ChildResultUnpickler(child).load()
        if kind == "columns":
            last_column = int(details[0])
        if kind == "sparse":
            name, last_column, last_row, filled = str(details[0]), *(int(x) for x in details[1:4])
        if kind == "ok":
            chunks = _Chunks(child, label)
            sheets = [_raw_sheet(*sheet, chunks=chunks, errors=errors or {})
                      for sheet in details[0]]
    except Exception:   # not what the program writes (or nothing: it failed)
        raise child.failed(unexpected=True) from None
    if kind == "ok":
        if not chunks.pending:   # no rows to come: the child is done
            child.finish()
        return sheets
    child.finish()
    if kind == "encrypted":
        raise fp.encrypted(label)
    if kind == "macros":
        raise fp.macros(label)
    if kind == "rows":
        raise fp.too_many_rows(label, limits.max_rows)
    if kind == "columns":
        raise fp.too_many_columns(label, fp.column_letters(last_column), limits.max_columns)
    if kind == "sparse":
        raise fp.sparse_sheet(label, name, last_column, last_row, filled)
    raise fp.damaged(label)


class _Child:
    """The reader process at work. A thread takes what it writes as it comes, so that it
    never waits for this process, which unpickles the chunks meanwhile (read, readline: a
    file to the unpickler, blocking until the bytes are there). Whatever the child does, the
    caller gets its output or `failed()`: damaged, with why in the log."""

    def __init__(self, command: list[str], data: bytes, seconds: float, label: str):
        self._label, self._seconds = label, seconds
        self._stderr = tempfile.TemporaryFile()   # a pipe the child could fill and block on
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr,
                                         env={**os.environ, "RUST_BACKTRACE": "0"})  # one line, not 40
        self._buffer, self._start, self._received = bytearray(), 0, 0
        self._ended, self._timed_out = False, False
        self._ready = threading.Condition()
        self._timer = threading.Timer(seconds, self._time_out)
        self._timer.daemon = True
        self._timer.start()
        threading.Thread(target=self._feed, args=(data,), daemon=True).start()
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _feed(self, data: bytes) -> None:
        try:
            self._process.stdin.write(data)
            self._process.stdin.close()
        except OSError:   # it has ended without reading it all: its exit status says why
            pass

    def _time_out(self) -> None:
        if self._process.poll() is None:   # not when it has just ended by itself
            self._timed_out = True
            self._process.kill()

    def _collect(self) -> None:
        try:
            while piece := self._process.stdout.read1(1 << 16):
                with self._ready:
                    self._buffer += piece
                    self._received += len(piece)
                    self._ready.notify_all()
        finally:
            self._process.wait()
            self._timer.cancel()
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self._ready:
            while not self._ended and (size < 0 or len(self._buffer) - self._start < size):
                self._ready.wait()
            end = len(self._buffer) if size < 0 else self._start + size
            piece = bytes(self._buffer[self._start:end])
            self._start += len(piece)
            if self._start > 1 << 20:   # what has been read is let go
                del self._buffer[:self._start]
                self._start = 0
            return piece

    def readline(self) -> bytes:
        with self._ready:
            while not self._ended and self._buffer.find(b"\n", self._start) == -1:
                self._ready.wait()
            found = self._buffer.find(b"\n", self._start)
            return self.read(found + 1 - self._start if found != -1 else -1)

    def finish(self) -> None:
        """After the last of its output: the child must have ended well."""
        self._collector.join()
        if self._timed_out or self._process.returncode != 0:
            raise self.failed()

    def failed(self, unexpected: bool = False) -> UnreadableFile:
        """Why the child's output cannot be used, logged; the exception to raise."""
        self._collector.join()
        status = self._process.returncode
        if self._timed_out:
            log.warning("workbook reader process timed out after %s s on %s", self._seconds,
                        self._label)
        elif status != 0 or not self._received:
            self._stderr.seek(0)
            stderr = self._stderr.read().decode("utf-8", "replace").strip()
            if len(stderr) > 1000:   # keep how it started and how it ended
                stderr = stderr[:500] + " … " + stderr[-500:]
            log.warning("workbook reader process failed on %s (exit status %s): %s",
                        self._label, status, stderr)
        else:
            log.warning("workbook reader process wrote an unexpected result on %s", self._label,
                        exc_info=unexpected)
        return fp.damaged(self._label)


def _raw_sheet(name, hidden, has_rows, merges=(), *, chunks: _Chunks, errors: dict) -> RawSheet:
    if not isinstance(name, str) or not isinstance(hidden, bool) or not isinstance(has_rows, bool):
        raise TypeError("not a sheet")
    ranges = [(int(r1) + 1, int(c1), int(r2) + 1, int(c2)) for r1, c1, r2, c2 in merges or ()]
    if not has_rows:
        return RawSheet(name, hidden, [], ranges)
    by_row: dict[int, list] = {}
    for row, column, text in errors.get(name, ()) if not hidden else ():
        by_row.setdefault(row, []).append((column, text))
    return RawSheet(name, hidden, None, ranges, source=chunks.sheet(by_row))


class _Chunks:
    """The sheets' rows in the child's output, unpickled a chunk at a time. The sheets with
    rows follow each other in the output: reading a sheet's rows first reads those of the
    sheets before it, keeping the rows of a sheet nobody has begun to read."""

    def __init__(self, child: _Child, label: str):
        self._child, self._label = child, label
        self._sheets: list[_SheetRows] = []
        self._at = 0   # the sheet whose chunks come next

    def sheet(self, errors: dict) -> _SheetRows:
        rows = _SheetRows(self, len(self._sheets), errors)
        self._sheets.append(rows)
        return rows

    def reach(self, index: int) -> None:
        while self._at < index:
            before = self._sheets[self._at]
            if before.state == "unread":
                before.kept, before.state = list(before.read()), "kept"
            else:   # begun and left: the rest of its rows is nobody's
                for _ in before.read():
                    pass
        if self._at > index:
            raise RuntimeError("the rows of this sheet were read once already")

    def load(self) -> list:
        try:
            # One unpickler for each pickle: each was written with a memo of its own.
            chunk = _ChildResultUnpickler(self._child).load()
            if not isinstance(chunk, list) or not all(isinstance(c, list) for c in chunk):
                raise TypeError("not a chunk of rows")
        except Exception:   # not what the program writes (or it broke off)
            raise self._child.failed(unexpected=True) from None
        return chunk

    @property
    def pending(self) -> bool:
        return self._at < len(self._sheets)

    def finished(self, index: int) -> None:
        self._at = index + 1
        if self._at == len(self._sheets):
            self._child.finish()   # all read: it must have ended well


class _SheetRows:
    """One sheet's rows as they come: numbered, Excel error values put in (the scan found
    them; calamine reads them as empty cells), trailing empty rows left out."""

    def __init__(self, chunks: _Chunks, index: int, errors: dict):
        self._chunks, self._index, self._errors = chunks, index, errors
        self.state = "unread"   # → reading → done, or → kept (read ahead of its turn)
        self.kept: list | None = None

    def __iter__(self):
        if self.state == "kept":
            kept, self.kept, self.state = self.kept, None, "done"
            return iter(kept)
        self._chunks.reach(self._index)
        return self.read()

    def read(self):
        self.state = "reading"
        errors, number, empty = self._errors, 0, []
        while chunk := self._chunks.load():
            for cells in chunk:
                number += 1
                for column, text in errors.get(number, ()):
                    cells.extend([""] * (column + 1 - len(cells)))
                    cells[column] = text
                if all(cell == "" for cell in cells):
                    empty.append((number, cells))   # kept only if a filled row follows
                    continue
                if empty:
                    yield from empty
                    empty = []
                yield number, cells
        self.state = "done"
        self._chunks.finished(self._index)


class _ChildResultUnpickler(pickle.Unpickler):
    """Lists, tuples, strings, numbers and the date and time types: all a result holds."""
    _ALLOWED = {("datetime", name) for name in ("date", "datetime", "time", "timedelta")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return getattr(datetime, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a sheet")


# ---------------------------------------------------------------------------- csv

def _read_csv(text: str, sheet_name: str, label: str, limits: Limits) -> RawSheet:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows = []
    try:
        # One record per Excel row, even when a quoted cell spans several lines.
        for number, cells in enumerate(reader, 1):
            if number > limits.max_rows:
                if any(cells):
                    raise fp.too_many_rows(label, limits.max_rows)
                continue   # only trailing blank lines can follow the limit; they are dropped
            rows.append((number, [_unguard(cell) for cell in cells]))
    except csv.Error as exc:
        raise UnreadableFile(
            f"{label}的 CSV 内容格式有误（第 {reader.line_num} 行：{exc}），文件可能已损坏。"
            "请用 Excel 打开检查后另存为 .xlsx 再上传。") from None
    return RawSheet(sheet_name, False, _drop_trailing_empty(rows), None)


def _unguard(cell: str) -> str:
    """="3100…" is how a CSV keeps a long number as text in Excel: the text is what is meant."""
    if '="' not in cell:
        return cell
    match = _TEXT_GUARD.fullmatch(cell.strip())
    return match.group(1).replace('""', '"') if match else cell


def _decode(data: bytes, label: str) -> str:
    # UTF-8 (Excel's "CSV UTF-8" adds a BOM), else GB18030, a superset of GBK and GB2312
    # that Chinese Windows uses for plain "CSV"; Excel's "Unicode text" is UTF-16.
    encodings = ("utf-16",) if data.startswith(_UTF16_BOMS) else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise fp.not_a_spreadsheet(label, "不是可识别的电子表格文件（也不是 UTF-8 或 GBK 编码的 CSV 文本）")


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_SAMPLE]
    if len(text) > _SNIFF_SAMPLE and "\n" in sample:
        sample = sample[:sample.rfind("\n")]   # whole lines only, or the counts look uneven
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def _drop_trailing_empty(rows: list[tuple[int, list]]) -> list[tuple[int, list]]:
    end = len(rows)
    while end and all(cell == "" for cell in rows[end - 1][1]):
        end -= 1
    del rows[end:]
    return rows
