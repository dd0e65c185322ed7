"""Read an uploaded spreadsheet safely and return its raw cells with Excel's row numbers.

The format is told by content, never by extension. Everything a user can get wrong about
the file itself (wrong format, damaged, encrypted, too big, hostile) raises `UnreadableFile`
whose text says, in Chinese, what is wrong and how to fix it. Cleaning the cells is the
caller's job: values come back as the file holds them.
"""
from __future__ import annotations

import csv
import io
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetVisibleEnum

ACCEPTED_FORMATS = ".xlsx、.xls、.csv"

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

# Cell start tags without an r="A1" reference: calamine then places the cell by counting,
# which a scan cannot bound cheaply (Excel, WPS and LibreOffice always write it). The plain
# <c …> pattern is cheap; only a part that seems to prefix its tags (<x:c …>) pays for the
# general one.
_CELL_WITHOUT_REF = re.compile(rb"<c(?=[\s/>])(?![^>]*?\sr\s*=)")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_PREFIXED_CELL_WITHOUT_REF = re.compile(rb"<[\w.-]+:c(?=[\s/>])(?![^>]*?\sr\s*=)")


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
        return _read_workbook(data, label, limits)
    if data.startswith(_OLE_MAGIC):
        if _is_encrypted_ooxml(data):
            raise _encrypted(label)
        return _read_workbook(data, label, limits)
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
        # Keep an unfinished tag for the next chunk so no tag is cut in two.
        start = text.rfind(b"<")
        if start != -1 and b">" not in text[start:]:
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
        end = text.find(b">", match.end())
        if end != -1 and text[end - 1:end] == b"/":
            continue   # <c r="…" s="3"/>: formatted but empty, calamine skips it
        if match.group(1):
            raise _too_many_columns(label, match.group(1).decode().upper(), limits)
        raise _too_many_rows(label, limits)


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# ---------------------------------------------------------------------------- xlsx / xls

def _read_workbook(data: bytes, label: str, limits: Limits) -> list[RawSheet]:
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            return _read_sheets(workbook, label, limits)
    except PasswordError:
        raise _encrypted(label) from None
    except CalamineError:
        raise _damaged(label) from None
    except BaseException as exc:
        # calamine panics on many truncated .xls files; pyo3 raises that as PanicException,
        # a BaseException subclass that no module exports, so it is recognised by name.
        if type(exc).__name__ != "PanicException":
            raise
        raise _damaged(label) from None


def _read_sheets(workbook: CalamineWorkbook, label: str, limits: Limits) -> list[RawSheet]:
    sheets = []
    total_rows = 0
    for index, meta in enumerate(workbook.sheets_metadata):
        if meta.visible != SheetVisibleEnum.Visible:
            sheets.append(RawSheet(meta.name, True, []))
            continue
        sheet = workbook.get_sheet_by_index(index)
        if sheet.end is None:   # nothing in it (or a chart sheet)
            sheets.append(RawSheet(meta.name, False, []))
            continue
        # Rows and columns counted from A1, as returned; checked before building the cells.
        last_row, last_column = sheet.end
        total_rows += last_row + 1
        if total_rows > limits.max_rows:
            raise _too_many_rows(label, limits)
        if last_column + 1 > limits.max_columns:
            raise _too_many_columns(label, _column_letters(last_column + 1), limits)
        # skip_empty_area=False pads from A1, so list positions are Excel's rows and columns.
        values = sheet.to_python(skip_empty_area=False)
        sheets.append(RawSheet(meta.name, False, _drop_trailing_empty(list(enumerate(values, 1)))))
    return sheets


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
