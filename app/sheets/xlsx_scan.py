"""The safety scan of an .xlsx before calamine sees it.

Only the zip directory and streamed reads of its parts are used, so memory stays bounded
and a hostile file is refused at once. The scan refuses zip bombs, macro-enabled workbooks,
entity declarations (anywhere in any part), cells far beyond the row and column limits,
and sheets whose used range is absurd for what they hold; on the way it takes a census of
every worksheet (filled cells, last row and column, Excel error cells), because calamine
reads an error value as an empty cell.
"""
from __future__ import annotations

import functools
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeTree

from . import file_problems as fp

_MB = 1024 * 1024
_MAX_MEMBERS = 10_000
_RATIO_CHECK_FROM = _MB        # small parts compress well legitimately; only big ones can bomb
_CHUNK = _MB                   # streamed read size for zip members
_PROLOG = 4096                 # where a UTF-16 part shows its NUL bytes
_MAX_TAG = _MB                 # longest markup carried over between two chunks
_MAX_INDEX_PART = 16 * _MB     # workbook.xml and its relationships are read whole
_WORKBOOK = "xl/workbook.xml"  # where calamine looks for it
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"

# A DTD is how entity-expansion (billion laughs) and external-entity attacks start; Excel
# never writes one. Looked for in every part, whole, with an overlap between chunks.
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION_OVERLAP = len(b"<!DOCTYPE") - 1

# Tags are read as an XML parser reads them: a quoted value may hold ">", "/>" or " r=",
# which are no end of tag and no attribute. A value may not hold "<" (XML forbids it);
# a tag with one is not taken for a tag, which can only make the scan refuse more.
_ATTRIBUTE = rb"""\s+[^\s=/>"'<]+\s*=\s*(?:"[^"<]*"|'[^'<]*')"""
_ATTRIBUTE_PAIR = re.compile(rb"""\s+([^\s=/>"'<]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
_START_TAG = re.compile(rb"<([^\s/>\"'<]+)(?:" + _ATTRIBUTE + rb")*\s*/?>")   # group 1: name
_CELL_START = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])")
_CELL_END = re.compile(rb"</(?:[\w.-]+:)?c\s*>")
# A cell that holds nothing, <c r="…" s="3"/> or <c r="…" s="3"></c>: calamine skips it.
_EMPTY_CELL = re.compile(rb"<((?:[\w.-]+:)?c)(?:" + _ATTRIBUTE + rb")*\s*(?:/>|></\1>)")
# A cell that holds something, with its reference: column letters (1) and row (2).
_FILLED_CELL = re.compile(
    rb"<(?:[\w.-]+:)?c(?=[\s/>])(?:" + _ATTRIBUTE + rb""")*?\s+r\s*=\s*["']([A-Za-z]{1,4})0*(\d{1,9})["']"""
    rb"(?:" + _ATTRIBUTE + rb")*\s*>(?!\s*</(?:[\w.-]+:)?c\s*>)")
_ERROR_TYPE = re.compile(rb"""\st\s*=\s*["']e["']""")
_CELL_VALUE = re.compile(rb"<(?:[\w.-]+:)?v\s*>([^<]*)</(?:[\w.-]+:)?v\s*>")
_REFERENCE = re.compile(rb"([A-Za-z]{1,4})0*(\d{1,9})")

# Cell start tags without an r="A1" reference: calamine then places the cell by counting,
# which a scan cannot bound cheaply (Excel, WPS and LibreOffice always write it). A cell
# has one only if well-formed attributes lead to it. The plain <c …> pattern is cheap; only
# a part that seems to prefix its tags (<x:c …>) pays for the general one.
_HAS_REF = rb"(?:" + _ATTRIBUTE + rb""")*?\s+r\s*=\s*["']"""
_CELL_WITHOUT_REF = re.compile(rb"<c(?=[\s/>])(?!" + _HAS_REF + rb")")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_PREFIXED_CELL_WITHOUT_REF = re.compile(rb"<[\w.-]+:c(?=[\s/>])(?!" + _HAS_REF + rb")")

_MARKUP_SUFFIXES = (".xml", ".rels", ".vml")


# The quick census reads cells as Excel, WPS and LibreOffice write them, reference first,
# and counts formatted empty cells too; a sheet it cannot clear gets an exact pass.
# Lists of bytes, not of tuples: millions of tuples would keep the garbage collector busy.
_USUAL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})\d')
_USUAL_ROW = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')
_UNUSUAL_CELL = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,3}\d{1,7}")')
_USUAL_REFERENCE = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,7})"')

# A piece wholly in that form, with every attribute written name="value" (no space around
# "=", no single quotes on r) and r only on cells and rows (rows numbered), is read by
# counts and by searches that start with a literal (which re finds fast): how many cells,
# how far they reach. A 100,000-row sheet then costs a few passes, not millions of matches
# of each pattern. Any other piece takes the patterns above; both say the same of a piece.
_SPACED_EQUALS = re.compile(rb"=(?:(?<=\s=)|\s)")
_OTHER_R = re.compile(rb'r="(?<!<c r=")(?:(?<!<row r=")|(?!\d))')   # not a cell's, nor a row number


@dataclass
class _Usual:
    """A piece in the usual form (see _usual_piece): its cells, formatted empty ones too,
    and the farthest column and row the cells of its part name up to its end."""
    cells: int
    last_column: int
    last_row: int


@dataclass
class _Reach:
    """The farthest column and row the usual pieces of one part have named so far."""
    column: int = 0
    row: int = 0


@dataclass
class SheetCensus:
    """What one worksheet part holds, as calamine will see it: filled cells, the last row
    and column of the used range, and where the Excel error values are."""
    sheet: str
    filled: int = 0
    last_row: int = 0
    last_column: int = 0
    errors: list[tuple[int, int, str]] = field(default_factory=list)   # row (1-), column (0-), value
    usual: bool = True     # every cell in the usual form: the quick census is enough
    exact: bool = False    # counted by the exact pattern (only filled cells)

    def take(self, text: bytes, prefixed: bool, usual: _Usual | None = None) -> None:
        if self.exact:
            found = _FILLED_CELL.findall(text)
            self.filled += len(found)
            letters, rows = (set(x) for x in zip(*found)) if found else ((), ())
        elif not self.usual:
            return   # the exact pass will count this part again, from its start
        elif usual is not None:   # the same figures as the patterns below, by counting
            self.filled += usual.cells
            self.last_column = max(self.last_column, usual.last_column)
            self.last_row = max(self.last_row, usual.last_row)
            letters = rows = ()
        else:
            columns = _USUAL_COLUMN.findall(text)
            self.filled += len(columns)   # formatted empty cells too: an exact pass decides
            letters, rows = set(columns), set(_USUAL_ROW.findall(text))
            self.usual = not prefixed and not _UNUSUAL_CELL.search(text)
            if not self.usual:
                return
        self.last_column = max(self.last_column,
                               max((column_number(x) for x in letters), default=0))
        self.last_row = max(self.last_row, max(map(int, rows), default=0))
        if b'"e"' in text or (b"'" in text and b"'e'" in text):
            for match in _ERROR_TYPE.finditer(text):
                _note_error_cell(text, match.start(), self)


def column_number(letters: bytes | str) -> int:
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def check_xlsx(data: bytes, label: str, limits) -> dict[str, SheetCensus]:
    """Refuse a hostile or unreadable archive; return the census of each worksheet, by name."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_directory(members, label, limits)
            names = {m.filename for m in members}
            if _WORKBOOK not in names:
                raise fp.not_a_spreadsheet(
                    label, "是压缩包或其他格式的文档（如 Word、.xlsb、.ods），不是 .xlsx 工作簿")
            if any(_is_macro_part(m.filename) for m in members):
                raise fp.macros(label)
            parts = _worksheet_parts(archive, names, label)
            # Part names are compared as OPC compares them: without regard to case.
            census = {part.lower(): SheetCensus(sheet) for part, sheet in parts.items()}
            far_reference = _far_reference_pattern(limits)
            for member in members:
                with archive.open(member) as stream:
                    _scan_member(stream, member.filename, census.get(member.filename.lower()),
                                 far_reference, label, limits)
            by_name = {m.filename.lower(): m for m in members}
            for part, counted in list(census.items()):
                if part in by_name and (_looks_sparse(counted, limits) or not counted.usual):
                    census[part] = _exact_census(archive, by_name[part], counted.sheet, label)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # Truncated or corrupt archive, bad CRC, unknown compression, zip-level password.
        raise fp.damaged(label) from None
    by_sheet = {c.sheet: c for c in census.values()}
    for c in by_sheet.values():
        if _looks_sparse(c, limits):
            raise fp.sparse_sheet(label, c.sheet, c.last_column, c.last_row, c.filled)
    return by_sheet


def _check_directory(members, label: str, limits) -> None:
    if len(members) > _MAX_MEMBERS:
        raise fp.UnreadableFile(
            f"{label}内部包含的部件超过 {_MAX_MEMBERS} 个，疑似恶意构造的文件，系统拒绝读取。"
            "请用 Excel 打开后另存为 .xlsx 再上传。")
    if (sum(m.file_size for m in members) > limits.max_unzipped_bytes
            or any(m.file_size > _RATIO_CHECK_FROM
                   and m.file_size > limits.max_ratio * m.compress_size for m in members)):
        raise fp.UnreadableFile(
            f"{label}解压后的数据量异常庞大，超过了安全上限（疑似“压缩炸弹”），系统拒绝读取。"
            "请用 Excel 打开后另存为 .xlsx 再上传；如果确是正常文件，请拆分后分批上传。")


def _is_macro_part(name: str) -> bool:
    """VBA code (an .xlsm renamed .xlsx still has it) or Excel 4.0 macro sheets."""
    lower = name.lower()
    return lower.endswith("vbaproject.bin") or lower.startswith("xl/macrosheets/")


# ---------------------------------------------------------------------------- which part is which sheet
def _worksheet_parts(archive: zipfile.ZipFile, names: set[str], label: str) -> dict[str, str]:
    """Worksheet part name -> sheet name, as calamine finds them (workbook.xml and its rels)."""
    if _WORKBOOK_RELS not in names:
        return {}
    workbook = _small_part(archive, _WORKBOOK, label)
    relations = _small_part(archive, _WORKBOOK_RELS, label)
    targets = {}
    for element in relations.iter():
        if _local(element.tag) == "Relationship" and element.get("Id") and element.get("Target"):
            target = element.get("Target").replace("\\", "/")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
            targets[element.get("Id")] = path
    parts = {}
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        if rid in targets and element.get("name") is not None:
            parts[targets[rid]] = element.get("name")
    return parts


def _small_part(archive: zipfile.ZipFile, name: str, label: str):
    info = archive.getinfo(name)
    if info.file_size > _MAX_INDEX_PART:
        raise fp.nonstandard(label)
    content = archive.read(info)
    if _DECLARATION.search(content):
        raise fp.unsafe_declaration(label)
    try:
        return SafeTree.fromstring(content)
    except Exception:   # malformed, or anything defusedxml refuses
        raise fp.nonstandard(label) from None


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# ---------------------------------------------------------------------------- streamed parts
def _scan_member(stream, name: str, census: SheetCensus | None, far_reference, label: str,
                 limits) -> None:
    lower = name.lower()
    markup = lower.endswith(_MARKUP_SUFFIXES)
    reach = _Reach()
    for text in _pieces(stream, label, markup=markup, cells=lower.endswith(".xml")):
        usual = _usual_piece(text, reach)
        prefixed = _check_cells(text, far_reference, label, limits, usual)
        if census is not None:
            census.take(text, prefixed, usual)


def _pieces(stream, label: str, *, markup: bool, cells: bool):
    """The member's text in pieces that cut no tag and no cell, after every chunk was looked
    at for a declaration (and a markup part for UTF-16). Parts without cells yield nothing."""
    tail = b""
    carry = b""
    first = True
    while chunk := stream.read(_CHUNK):
        if _DECLARATION.search(tail + chunk[:_DECLARATION_OVERLAP]) or (
                b"!" in chunk and b"<!" in chunk and _DECLARATION.search(chunk)):
            raise fp.unsafe_declaration(label)
        tail = chunk[-_DECLARATION_OVERLAP:]
        if markup and first and b"\x00" in chunk[:_PROLOG]:
            # Excel writes its parts in UTF-8, which has no NUL byte; UTF-16 would also
            # hide tags from the byte patterns of the scan.
            raise fp.nonstandard(label)
        first = False
        if not cells:
            continue
        text = carry + chunk
        cut = _safe_cut(text)
        text, carry = text[:cut], text[cut:]
        if len(carry) > _MAX_TAG:
            raise fp.nonstandard(label)
        yield text
    if cells and carry:
        yield carry


def _safe_cut(text: bytes) -> int:
    """Where to cut a chunk so that no tag and no cell is scanned in two pieces: before the
    last cell if it is not finished, else before the last tag (which may be cut)."""
    start = _last_cell_start(text)
    end = 0
    if start != -1:
        tag = _START_TAG.match(text, start)
        if tag is None:
            return start
        if tag.group(0).endswith(b"/>"):
            end = tag.end()
        else:
            close = _CELL_END.search(text, tag.end())
            if close is None:
                return start
            end = close.end()
    last_tag = text.rfind(b"<", end)
    return last_tag if last_tag != -1 else len(text)


def _last_cell_start(text: bytes) -> int:
    if _PREFIXED_CELL.search(text):   # rare: any <x:c …> tags, looked for by pattern
        last = -1
        for match in _CELL_START.finditer(text):
            last = match.start()
        return last
    position = text.rfind(b"<c")
    while position != -1 and not _CELL_START.match(text, position):   # <col …>, <cfRule …>
        position = text.rfind(b"<c", 0, position)
    return position


def _usual_piece(text: bytes, reach: _Reach) -> _Usual | None:
    """The piece's figures if it is in the usual form (see _SPACED_EQUALS), else None.

    Then a far reference (_far_reference_pattern) can only be a cell's r="B12": there is no
    other r="…" and no other way to write one, and a row's is a number. The farthest column
    and row of the cells are looked for from the last cell's: rows come in order, so it is
    usually the farthest, and one search for a cell beyond it says so."""
    if (_PREFIXED_CELL.search(text) or _UNUSUAL_CELL.search(text) or _SPACED_EQUALS.search(text)
            or (b"'" in text and b"r='" in text) or _OTHER_R.search(text)):
        return None
    cells = text.count(b'<c r="')
    if cells:
        last = _USUAL_REFERENCE.match(text, text.rfind(b'<c r="'))
        column, row = column_number(last.group(1)), int(last.group(2))
        if _beyond(max(reach.column, column), max(reach.row, row)).search(text):
            column = max(column_number(x) for x in set(_USUAL_COLUMN.findall(text)))
            row = max(map(int, set(_USUAL_ROW.findall(text))))
        reach.column, reach.row = max(reach.column, column), max(reach.row, row)
    return _Usual(cells, reach.column, reach.row)


@functools.lru_cache(maxsize=64)
def _beyond(column: int, row: int) -> re.Pattern[bytes]:
    """A cell in the usual form that names a column after `column` or a row after `row`."""
    letters = _greater_than(fp.column_letters(column), "A", "Z", "[A-Z]")
    number = _greater_than(str(row), "0", "9", "[1-9]")
    # Possessive: a usual reference's letters are followed by digits, and a larger row
    # number starts with a digit other than 0, so nothing given back could match.
    return re.compile(rf'<c r="(?:{letters}[0-9]|[A-Z]{{1,3}}+0*+{number}")'.encode())


def _check_cells(text: bytes, far_reference, label: str, limits,
                 usual: _Usual | None = None) -> bool:
    """Refuse cells that calamine would place by counting, or beyond the limits; whether the
    text seems to prefix its cell tags (<x:c …>)."""
    if (usual is not None and usual.last_column <= limits.max_columns
            and usual.last_row <= limits.max_rows):
        return False   # every cell has its reference, none reaches beyond the limits
    prefixed = bool(_PREFIXED_CELL.search(text))
    if _CELL_WITHOUT_REF.search(text) or (prefixed and _PREFIXED_CELL_WITHOUT_REF.search(text)):
        raise fp.nonstandard(label)
    for match in far_reference.finditer(text):
        if _in_empty_cell(text, match.start()):
            continue   # formatted but empty
        if match.group(1):
            raise fp.too_many_columns(label, match.group(1).decode().upper(), limits.max_columns)
        raise fp.too_many_rows(label, limits.max_rows)
    return prefixed


def _note_error_cell(text: bytes, position: int, census: SheetCensus) -> None:
    """A cell of type "e" holds an Excel error value (#N/A, #VALUE! …) that calamine reads as
    an empty cell: remember where it is and what it says."""
    start = text.rfind(b"<", 0, position)
    tag = _START_TAG.match(text, start) if start != -1 else None
    if tag is None or not (tag.group(1) == b"c" or tag.group(1).endswith(b":c")):
        return
    attributes = {m.group(1).split(b":")[-1]: m.group(2) if m.group(2) is not None else m.group(3)
                  for m in _ATTRIBUTE_PAIR.finditer(tag.group(0))}
    reference = _REFERENCE.fullmatch(attributes.get(b"r", b""))
    if attributes.get(b"t") != b"e" or reference is None or tag.group(0).endswith(b"/>"):
        return
    close = _CELL_END.search(text, tag.end())
    value = _CELL_VALUE.search(text, tag.end(), close.start() if close else len(text))
    shown = value.group(1).decode("utf-8", "replace").strip() if value else ""
    census.errors.append((int(reference.group(2)), column_number(reference.group(1)) - 1,
                          shown or "#N/A"))


def _in_empty_cell(text: bytes, position: int) -> bool:
    """Whether `position` lies in the start tag of an empty cell. The tag is read from the
    last "<" before it; as no value holds a "<", that is where the tag really starts."""
    start = text.rfind(b"<", 0, position)
    cell = _EMPTY_CELL.match(text, start) if start != -1 else None
    return cell is not None and cell.end() > position


def _looks_sparse(census: SheetCensus, limits) -> bool:
    """calamine holds a sheet as a dense grid from A1 to its last filled cell: one stray cell
    at IV199990 makes 51 million cells (11 s and 2.2 GB) out of an 11 KB file."""
    area = census.last_row * census.last_column
    return area > limits.sparse_floor_cells and area > limits.max_sparseness * max(census.filled, 1)


def _exact_census(archive: zipfile.ZipFile, part, sheet: str, label: str) -> SheetCensus:
    """Filled cells only, in any form: for a sheet the quick census cannot clear."""
    census = SheetCensus(sheet, exact=True)
    with archive.open(part) as stream:
        for text in _pieces(stream, label, markup=True, cells=True):
            census.take(text, prefixed=True)
    return census


# ---------------------------------------------------------------------------- far references
def _far_reference_pattern(limits) -> re.Pattern[bytes]:
    """An r="…" reference to a column after the widest allowed one (group 1), or to a row
    after the row limit (leading zeros allowed: calamine reads them)."""
    column = _greater_than(fp.column_letters(limits.max_columns), "A", "Z", "[A-Z]")
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
