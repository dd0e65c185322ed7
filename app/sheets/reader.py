"""Read an uploaded spreadsheet safely and return its raw cells with Excel's row numbers.

The format is told by content, never by extension. Everything a user can get wrong about
the file itself (wrong format, damaged, encrypted, too big, hostile) raises `UnreadableFile`
whose text says, in Chinese, what is wrong and how to fix it. Cleaning the cells is the
caller's job: values come back as the file holds them.
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
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

ACCEPTED_FORMATS = ".xlsx、.xls、.csv"

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# An OLE2 directory entry (128 bytes, 128-aligned) names a stream in UTF-16LE and stores the
# name's byte length, terminator included, at offset 64. "EncryptedPackage" is the stream
# in which Office keeps a password-protected .xlsx.
_ENCRYPTED_NAME = "EncryptedPackage".encode("utf-16-le")
_ENCRYPTED_NAME_LENGTH = len(_ENCRYPTED_NAME) + 2

_MAX_MEMBERS = 10_000
_RATIO_CHECK_FROM = _MB        # small parts compress well legitimately; only big ones can bomb
_CHUNK = _MB                   # streamed read size for zip members
_PROLOG = 4096                 # where an XML part's DOCTYPE would have to be
_MAX_TAG = _MB                 # longest markup carried over between two chunks
_BINARY_PROBE = 8192           # a text file has no NUL byte here
_SNIFF_SAMPLE = 16 * 1024
_MARKUP_START = re.compile(r"\s*<")

# Tags are read as an XML parser reads them: a quoted value may hold ">", "/>" or " r=",
# which are no end of tag and no attribute. A value may not hold "<" (XML forbids it);
# a tag with one is not taken for a tag, which can only make the scan refuse more.
_ATTRIBUTE = rb"""\s+[^\s=/>"'<]+\s*=\s*(?:"[^"<]*"|'[^'<]*')"""
_START_TAG = re.compile(rb"<([^\s/>\"'<]+)(?:" + _ATTRIBUTE + rb")*\s*/?>")   # group 1: name
# A cell that holds nothing, <c r="…" s="3"/> or <c r="…" s="3"></c>: calamine skips it.
_EMPTY_CELL = re.compile(rb"<((?:[\w.-]+:)?c)(?:" + _ATTRIBUTE + rb")*\s*(?:/>|></\1>)")

# Cell start tags without an r="A1" reference: calamine then places the cell by counting,
# which a scan cannot bound cheaply (Excel, WPS and LibreOffice always write it). A cell
# has one only if well-formed attributes lead to it. The plain <c …> pattern is cheap; only
# a part that seems to prefix its tags (<x:c …>) pays for the general one.
_HAS_REF = rb"(?:" + _ATTRIBUTE + rb""")*?\s+r\s*=\s*["']"""
_CELL_WITHOUT_REF = re.compile(rb"<c(?=[\s/>])(?!" + _HAS_REF + rb")")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_PREFIXED_CELL_WITHOUT_REF = re.compile(rb"<[\w.-]+:c(?=[\s/>])(?!" + _HAS_REF + rb")")


class UnreadableFile(Exception):
    """The file itself cannot be read. str(exc) is a complete message in Simplified Chinese
    that says what is wrong and how to fix it."""


@dataclass
class RawSheet:
    name: str
    hidden: bool
    rows: list[tuple[int, list]]   # (excel_row_number starting at 1, cell values); empty sheet -> []


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

    if data.startswith(_ZIP_MAGIC):
        _check_xlsx(data, label, limits)
        return _read_in_child(data, label, limits)
    if data.startswith(_OLE_MAGIC):
        if _is_encrypted_ooxml(data):
            raise _encrypted(label)
        return _read_in_child(data, label, limits)
    sheet_name = Path(filename).stem if filename else "Sheet1"
    return [_read_csv(data, sheet_name, label, limits)]


# ---------------------------------------------------------------------------- whole file

def _read_bytes(source, label: str, limits: Limits) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        _check_size(os.stat(source).st_size, label, limits)   # before loading it
        data = Path(source).read_bytes()
    else:
        data = bytes(source)
        _check_size(len(data), label, limits)
    if not data:
        raise UnreadableFile(f"{label}是空文件，不是电子表格。请上传 {ACCEPTED_FORMATS} 格式的文件。")
    return data


def _check_size(size: int, label: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise UnreadableFile(
            f"{label}大小为 {_megabytes(size)}，超过了 {_megabytes(limits.max_bytes)} 的上限。"
            "请删除无关的工作表、图片和多余的空行后再上传，或拆分成几个文件分批上传。")


def _megabytes(size: int) -> str:
    if size < _MB // 10:   # a tiny limit (tests, tight configs) would read "0 MB"
        return f"{round(size / 1024, 1):g} KB"
    return f"{round(size / _MB, 1):g} MB"


def _is_encrypted_ooxml(data: bytes) -> bool:
    position = data.find(_ENCRYPTED_NAME)
    while position != -1:
        if position % 128 == 0 and data[position + 64:position + 66] == struct.pack(
                "<H", _ENCRYPTED_NAME_LENGTH):
            return True
        position = data.find(_ENCRYPTED_NAME, position + 1)
    return False


def _encrypted(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}设置了打开密码（文件已加密），系统无法读取。请在 Excel 中打开它，"
        "在“文件 → 信息 → 保护工作簿 → 用密码进行加密”中删除密码并保存，再重新上传。")


def _damaged(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}已损坏或不完整，无法读取。请用 Excel 打开，确认内容完好后另存为 .xlsx 格式，再重新上传。")


def _not_a_spreadsheet(label: str, why: str = "不是可识别的电子表格文件") -> UnreadableFile:
    return UnreadableFile(
        f"{label}{why}。系统只接受 {ACCEPTED_FORMATS} 格式；"
        "如果是其他格式的表格，请用 Excel 打开后另存为 .xlsx 再上传。")


def _nonstandard(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}的内部结构不是 Excel 保存的标准格式，系统无法安全读取。请用 Excel 打开后另存为 .xlsx 再上传。")


def _too_many_rows(label: str, limits: Limits) -> UnreadableFile:
    return UnreadableFile(
        f"{label}的行数超过了单次导入 {limits.max_rows} 行的上限。"
        "如果表格下方远处有误填的内容，请删除后再上传；否则请拆分成几个文件分批导入。")


def _too_many_columns(label: str, column: str, limits: Limits) -> UnreadableFile:
    return UnreadableFile(
        f"{label}在第 {column} 列有内容，超过了 {limits.max_columns} 列的上限。"
        "如果是误填的内容，请删除这些列后再上传。")


# ---------------------------------------------------------------------------- xlsx safety

def _check_xlsx(data: bytes, label: str, limits: Limits) -> None:
    """Refuse hostile archives before calamine sees them, using only the zip directory and
    streamed reads, so memory stays bounded and a bomb is refused at once."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > _MAX_MEMBERS:
                raise UnreadableFile(
                    f"{label}内部包含的部件超过 {_MAX_MEMBERS} 个，疑似恶意构造的文件，系统拒绝读取。"
                    "请用 Excel 打开后另存为 .xlsx 再上传。")
            if (sum(m.file_size for m in members) > limits.max_unzipped_bytes
                    or any(m.file_size > _RATIO_CHECK_FROM
                           and m.file_size > limits.max_ratio * m.compress_size for m in members)):
                raise UnreadableFile(
                    f"{label}解压后的数据量异常庞大，超过了安全上限（疑似“压缩炸弹”），系统拒绝读取。"
                    "请用 Excel 打开后另存为 .xlsx 再上传；如果确是正常文件，请拆分后分批上传。")
            if "xl/workbook.xml" not in archive.namelist():   # where calamine looks for it
                raise _not_a_spreadsheet(label, "是压缩包或其他格式的文档（如 Word、.xlsb、.ods），不是 .xlsx 工作簿")
            far_reference = _far_reference_pattern(limits)
            for member in members:
                name = member.filename.lower()
                if name.endswith(".rels"):
                    with archive.open(member) as stream:
                        _check_prolog(stream.read(_PROLOG), label)
                elif name.endswith(".xml"):
                    with archive.open(member) as stream:
                        _scan_xml_part(stream, far_reference, label, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # Truncated or corrupt archive, bad CRC, unknown compression, zip-level password.
        raise _damaged(label) from None


def _check_prolog(head: bytes, label: str) -> None:
    # Excel writes its parts in UTF-8, which has no NUL byte; UTF-16 would also hide tags
    # from the byte patterns of the scan.
    if b"\x00" in head:
        raise _nonstandard(label)
    # A DTD is how entity-expansion (billion laughs) and external-entity attacks start;
    # Excel never writes one.
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise UnreadableFile(
            f"{label}内含不安全的 XML 声明（DOCTYPE/ENTITY），可能是恶意构造的文件，系统拒绝读取。"
            "请用 Excel 打开后另存为 .xlsx 再上传。")


def _far_reference_pattern(limits: Limits) -> re.Pattern[bytes]:
    """An r="…" reference to a column after the widest allowed one (group 1), or to a row
    after the row limit (leading zeros allowed: calamine reads them)."""
    column = _greater_than(_column_letters(limits.max_columns), "A", "Z", "[A-Z]")
    row = _greater_than(str(limits.max_rows), "0", "9", "[1-9]")
    return re.compile(rf"""r\s*=\s*["'](?:((?i:{column}))[0-9]|[A-Za-z]+0*{row}["'])""".encode())


def _greater_than(value: str, lowest: str, highest: str, leading: str) -> str:
    """A regex for the strings of a positional alphabet lowest..highest that come after
    `value`: longer ones (starting with `leading`), or as long and larger at the first
    difference. Used for decimal rows and for column letters (A…Z, AA…)."""
    symbol = f"[{lowest}-{highest}]"
    options = [f"{leading}{symbol}{{{len(value)},}}"]
    for i, char in enumerate(value):
        if char < highest:
            options.append(f"{value[:i]}[{chr(ord(char) + 1)}-{highest}]{symbol}{{{len(value) - i - 1}}}")
    return "(?:" + "|".join(options) + ")"


def _scan_xml_part(stream, far_reference: re.Pattern[bytes], label: str, limits: Limits) -> None:
    carry = b""
    first = True
    while chunk := stream.read(_CHUNK):
        if first:
            _check_prolog(chunk[:_PROLOG], label)
            first = False
        text = carry + chunk
        # Keep the last start tag for the next chunk if it is cut, so no tag is scanned in
        # two pieces, or if it opens a cell: whether the cell is empty shows after the tag.
        start = text.rfind(b"<")
        while start != -1 and text[start + 1:start + 2] == b"/":   # end tags: look before
            start = text.rfind(b"<", 0, start)
        tag = _START_TAG.match(text, start) if start != -1 else None
        if start != -1 and (tag is None or _is_cell(tag.group(1))):
            text, carry = text[:start], text[start:]
            if len(carry) > _MAX_TAG:
                raise _nonstandard(label)
        else:
            carry = b""
        _check_cells(text, far_reference, label, limits)
    _check_cells(carry, far_reference, label, limits)


def _check_cells(text: bytes, far_reference: re.Pattern[bytes], label: str, limits: Limits) -> None:
    if _CELL_WITHOUT_REF.search(text) or (
            _PREFIXED_CELL.search(text) and _PREFIXED_CELL_WITHOUT_REF.search(text)):
        raise _nonstandard(label)
    for match in far_reference.finditer(text):
        if _in_empty_cell(text, match.start()):
            continue   # formatted but empty
        if match.group(1):
            raise _too_many_columns(label, match.group(1).decode().upper(), limits)
        raise _too_many_rows(label, limits)


def _is_cell(name: bytes) -> bool:
    return name == b"c" or name.endswith(b":c")


def _in_empty_cell(text: bytes, position: int) -> bool:
    """Whether `position` lies in the start tag of an empty cell. The tag is read from the
    last "<" before it; as no value holds a "<", that is where the tag really starts."""
    start = text.rfind(b"<", 0, position)
    cell = _EMPTY_CELL.match(text, start) if start != -1 else None
    return cell is not None and cell.end() > position


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# ---------------------------------------------------------------------------- workbooks

# calamine builds every sheet as a dense grid sized by whatever row and column numbers the
# file claims, and a failed allocation aborts the process: no exception, no cleanup. A 6 KB
# .xls with one cell record moved to row 65535, column 65535 asks for 137 GB; an .xlsx within
# every limit but with cells only at A1 and IV200000 asks for 51 million cells. The .xlsx
# scan above refuses the worst before anything is parsed, but nothing cheap bounds memory,
# so every workbook (.xlsx and .xls) is opened in a fresh interpreter with hard limits, and
# whatever becomes of that child, the worker survives and the file is refused. Measured
# (bench): +1 s on a 100,000-row .xlsx (2.2 s → 3.2 s), about 40 ms on a small file.
#
# The child is `python -c` with the program below: a new interpreter (no fork of the
# Flask process, nothing from __main__ or the app package, nothing of the parent's state),
# which imports only the standard library and python_calamine. It sets its own limits
# first, before it reads a byte of the file: the same as a preexec_fn would, without
# running Python between fork and exec in a possibly threaded worker. It takes the file
# on stdin and the limits in argv, applies the row and column limits before it
# builds any cell, and writes one pickle to stdout:
#   ("ok", [(name, hidden, rows or None), ...])   rows: one list of cells per Excel row
#   ("encrypted",) | ("rows",) | ("columns", last column number)
# Anything else (an exception, a panic, an abort, a signal, no output) means damaged.
# The parent unpickles only what its own child wrote, and even so with an unpickler that
# can build nothing but the date and time types (_ChildResultUnpickler).
_CHILD_PROGRAM = r"""
import resource, sys
memory, seconds, max_rows, max_columns = (int(a) for a in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
import io, pickle
from python_calamine import CalamineWorkbook, PasswordError, SheetVisibleEnum

def read(data):
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError:
        return ("encrypted",)
    sheets = []
    total_rows = 0
    with workbook:
        for index, meta in enumerate(workbook.sheets_metadata):
            if meta.visible != SheetVisibleEnum.Visible:
                sheets.append((meta.name, True, None))
                continue
            sheet = workbook.get_sheet_by_index(index)
            if sheet.end is None:
                sheets.append((meta.name, False, None))
                continue
            last_row, last_column = sheet.end
            total_rows += last_row + 1
            if total_rows > max_rows:
                return ("rows",)
            if last_column + 1 > max_columns:
                return ("columns", last_column + 1)
            sheets.append((meta.name, False, sheet.to_python(skip_empty_area=False)))
    return ("ok", sheets)

result = pickle.dumps(read(sys.stdin.buffer.read()), protocol=pickle.HIGHEST_PROTOCOL)
sys.stdout.buffer.write(result)
sys.stdout.buffer.flush()
"""


def _read_in_child(data: bytes, label: str, limits: Limits) -> list[RawSheet]:
    if not sys.executable:   # embedded interpreter: a deployment error, not the user's file
        raise RuntimeError("sys.executable is unknown: cannot start the .workbook reader process")
    command = [sys.executable, "-P", "-c", _CHILD_PROGRAM,   # -P: no current directory on sys.path
               str(limits.child_memory_bytes), str(max(1, math.ceil(limits.child_seconds))),
               str(limits.max_rows), str(limits.max_columns)]
    try:
        done = subprocess.run(command, input=data, capture_output=True, check=False,
                              timeout=limits.child_seconds,
                              env={**os.environ, "RUST_BACKTRACE": "0"})   # one line, not 40
    except subprocess.TimeoutExpired:   # run() has killed the child
        log.warning("workbook reader process timed out after %s s on %s", limits.child_seconds, label)
        raise _damaged(label) from None
    # An OSError from starting the process propagates: that is the server's trouble.
    if done.returncode != 0 or not done.stdout:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        if len(stderr) > 1000:   # keep how it started and how it ended
            stderr = stderr[:500] + " … " + stderr[-500:]
        log.warning("workbook reader process failed on %s (exit status %s): %s", label,
                    done.returncode, stderr)
        raise _damaged(label)
    try:
        kind, *details = _ChildResultUnpickler(io.BytesIO(done.stdout)).load()
        if kind == "ok":
            return [RawSheet(name, hidden, _drop_trailing_empty(list(enumerate(values or [], 1))))
                    for name, hidden, values in details[0]]
        if kind == "columns":
            last_column = int(details[0])
    except Exception:   # not what the program above writes
        log.warning("workbook reader process wrote an unexpected result on %s", label, exc_info=True)
        raise _damaged(label) from None
    if kind == "encrypted":
        raise _encrypted(label)
    if kind == "rows":
        raise _too_many_rows(label, limits)
    if kind == "columns":
        raise _too_many_columns(label, _column_letters(last_column), limits)
    raise _damaged(label)


class _ChildResultUnpickler(pickle.Unpickler):
    """Lists, tuples, strings, numbers and the date and time types: all a result holds."""
    _ALLOWED = {("datetime", name) for name in ("date", "datetime", "time", "timedelta")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return getattr(datetime, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a sheet")


# ---------------------------------------------------------------------------- csv

def _read_csv(data: bytes, sheet_name: str, label: str, limits: Limits) -> RawSheet:
    if b"\x00" in data[:_BINARY_PROBE]:
        raise _not_a_spreadsheet(label)
    text = _decode(data, label)
    if _MARKUP_START.match(text):
        # Many systems export an HTML table or XML and name it .xls; Excel opens those
        # with a warning, but they are not a format we read.
        raise _not_a_spreadsheet(label, "的内容是网页或 XML，不是真正的 Excel 或 CSV 文件（常见于从其他系统导出的表格）")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows = []
    try:
        # One record per Excel row, even when a quoted cell spans several lines.
        for number, cells in enumerate(reader, 1):
            if number > limits.max_rows:
                if any(cells):
                    raise _too_many_rows(label, limits)
                continue   # only trailing blank lines can follow the limit; they are dropped
            rows.append((number, cells))
    except csv.Error as exc:
        raise UnreadableFile(
            f"{label}的 CSV 内容格式有误（第 {reader.line_num} 行：{exc}），文件可能已损坏。"
            "请用 Excel 打开检查后另存为 .xlsx 再上传。") from None
    return RawSheet(sheet_name, False, _drop_trailing_empty(rows))


def _decode(data: bytes, label: str) -> str:
    # UTF-8 (Excel's "CSV UTF-8" adds a BOM), else GB18030, a superset of GBK and GB2312
    # that Chinese Windows uses for plain "CSV".
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _not_a_spreadsheet(label, "不是可识别的电子表格文件（也不是 UTF-8 或 GBK 编码的 CSV 文本）")


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
