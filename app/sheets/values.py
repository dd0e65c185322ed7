"""Parsing of single cell values (lists.md §1 "Cell values" and "Identifiers").

Every parser takes a raw cell as it comes from a spreadsheet reader, a CSV file or a web form
(str, int, float, bool, Decimal, datetime.date, datetime.datetime, or None / "") and returns a
clean Python value, ``None`` for an empty cell or a null placeholder, or raises
:class:`ValueProblem` whose message is short Simplified Chinese: it quotes the bad value in 「」,
says what is wrong and what to write instead. The caller adds the sheet, row and column.

Pure Python on purpose (no Flask, no database): the importer, the web forms and the API share it.

Normalisation of text (``clean_text``) folds full-width *letters, digits and spaces* to half-width
(that is what the spec's "NFKC" is for) but keeps Chinese full-width punctuation (，（）：；) and
other compatibility characters (…, ①, ², ㎡) as written: applying NFKC to whole Chinese texts
would rewrite legal provisions (``《…》`` → ``《...》``, ``（一）`` → ``(一)``) and would stop
canonical values such as ``乡镇（街道）级`` from matching themselves. Parsers of numbers, dates and
identifiers, and the matching of enumerations, apply full NFKC to their own input.
"""
from __future__ import annotations

import datetime as _dt
import functools
import math
import operator
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

__all__ = [
    "ValueProblem", "NULLS", "EXCEL_ERRORS",
    "clean_text", "is_null", "parse_text", "parse_bool", "parse_date", "parse_int",
    "parse_decimal", "parse_amount", "unit_from_header", "split_multi",
    "parse_credit_code", "parse_id_number", "id_birth_date", "id_gender", "mask_id_number",
    "parse_phone", "parse_email", "normalise_doc_number", "parse_enum", "parse_multi_enum",
    "looks_like_formula", "UNIT_WORDS", "with_unit", "key_form", "is_ditto", "excel_error",
]


class ValueProblem(ValueError):
    """A cell value that cannot be used; ``message`` is Chinese and tells how to fix it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# Null placeholders, compared with the cleaned text (see ``is_null``).
NULLS = frozenset({
    "", "/", "／", "//", "\\",
    "-", "--", "---", "－", "－－", "—", "——", "―", "──", "–",
    "无", "無", "暂无", "暫無",
    "N/A", "n/a", "None", "none", "NULL", "null",
})
_NULLS_FOLDED = frozenset(x.casefold() for x in NULLS)

# Excel error values: a formula went wrong; never silently taken as data or as empty.
EXCEL_ERRORS = frozenset({
    "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
    "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
})

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")

# Full-width digits and Latin letters to ASCII; unusual spaces to an ordinary space.
_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_WIDTH.update({0xFF21 + i: 0x41 + i for i in range(26)})
_WIDTH.update({0xFF41 + i: 0x61 + i for i in range(26)})
_WIDTH.update({c: 0x20 for c in (0x3000, 0x00A0, 0x202F, 0x205F, *range(0x2000, 0x200B))})

_NAME_DOTS = str.maketrans({c: "·" for c in "•・･‧∙"})

_MAX_QUOTE = 40


def _quote(text: str) -> str:
    """「value」, shortened when long (messages stay readable)."""
    text = str(text)
    if len(text) > _MAX_QUOTE:
        text = text[:_MAX_QUOTE] + "…"
    return f"「{text}」"


# --------------------------------------------------------------------------- text

def _number_text(x) -> str | None:
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return repr(x)
        if x.is_integer():
            return str(int(x))
        text = repr(x)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        return text
    if isinstance(x, Decimal):
        if not x.is_finite():
            return str(x)
        if x == x.to_integral_value():
            return str(int(x))
        return format(x.normalize(), "f")
    return str(x)


def _raw_text(raw) -> str | None:
    """Any raw cell -> str (before cleaning), None for None / NaN."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, (int, float, Decimal)):
        return _number_text(raw)
    if isinstance(raw, _dt.datetime):
        if raw.time() == _dt.time(0, 0):
            return raw.date().isoformat()
        return raw.isoformat(sep=" ", timespec="seconds")
    if isinstance(raw, (_dt.date, _dt.time)):
        return raw.isoformat()
    return str(raw)


# What clean_text changes besides the ends: a text without any of these (and in NFC, as
# nearly every text is) is only stripped, and comes back as the same object.
_NEEDS_CLEANING = re.compile(f"[{''.join(map(chr, _WIDTH))}{_ZERO_WIDTH}\r\u2028\u2029]|_x000D_")


def clean_text(raw, *, person_name: bool = False) -> str | None:
    """Clean one cell into text; None when nothing is left. Null placeholders are kept."""
    text = raw if raw.__class__ is str else _raw_text(raw)
    if text is None:
        return None
    if ((text.isascii() and "\r" not in text and "_x000D_" not in text)
            or (unicodedata.is_normalized("NFC", text) and not _NEEDS_CLEANING.search(text))):
        text = text.strip()
    else:
        text = _cleaned(text)
    if text.startswith("'"):
        text = text[1:].strip()
    if person_name and not text.isalpha():   # letters only: no space, no dot to change
        text = re.sub(r"\s+", "", text).translate(_NAME_DOTS)
    return text or None


def _cleaned(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_WIDTH)
    text = _ZERO_WIDTH_RE.sub("", text)
    text = text.replace("_x000D_", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return text.strip()


def is_null(text: str | None, *, none_means_no: bool = False) -> bool:
    """Is this (already cleaned) text empty or a null placeholder such as / — 无 暂无 N/A?"""
    if text is None:
        return True
    text = text.strip()
    if none_means_no and text in ("无", "無"):
        return False
    return text in NULLS or text.casefold() in _NULLS_FOLDED


def _check_excel_error(text: str) -> None:
    if text.upper() in EXCEL_ERRORS:
        raise ValueProblem(f"单元格是 Excel 公式错误值{_quote(text)}：请修正公式，或直接填写内容")


# Excel keeps 15 significant digits: a longer number typed into a cell (a bank account,
# a policy number) has already lost its last digits, whether it arrives as a float or as
# the scientific text Excel shows for it (6.22202E+18).
_FLOAT_DIGITS = 1e15
_SCIENTIFIC_TEXT_RE = re.compile(r"[1-9](?:\.\d+)?E\+?(\d{2})", re.IGNORECASE)


def parse_text(raw, *, person_name: bool = False, max_length: int | None = None,
               digits_text: bool = True) -> str | None:
    """digits_text: refuse a long number that Excel has rounded (not for long texts, where
    a value like 1.5E+20 can be meant)."""
    if isinstance(raw, float) and math.isfinite(raw) and abs(raw) >= _FLOAT_DIGITS:
        raise _excel_damage("", repr(raw))
    text = clean_text(raw, person_name=person_name)
    if is_null(text):
        return None
    _check_excel_error(text)
    if digits_text:
        m = _SCIENTIFIC_TEXT_RE.fullmatch(unicodedata.normalize("NFKC", text))
        if m and int(m[1]) >= 15:
            raise _excel_damage("", text)
    if max_length is not None and len(text) > max_length:
        raise ValueProblem(
            f"内容{_quote(text)}过长：共 {len(text)} 个字，最多 {max_length} 个字，请精简")
    return text


_BARE_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def with_unit(text: str | None, unit: str | None) -> str | None:
    """A bare number under a header that names its unit keeps the unit, as a clerk would
    have written it: 20 under 法定办理时限（工作日） is 20个工作日."""
    if text is None or not unit or not _BARE_NUMBER_RE.fullmatch(text):
        return text
    return f"{text}个{unit}" if unit == "工作日" else f"{text}{unit}"


DITTO_MARKS = frozenset({"同上", "同上。", "〃", "〃。"})


def is_ditto(raw) -> bool:
    """同上 (or 〃) alone in a cell: the same as the row above."""
    return (isinstance(raw, str) and ("同上" in raw or "〃" in raw)
            and clean_text(raw) in DITTO_MARKS)


def excel_error(raw) -> str | None:
    """The Excel error value a cell holds (#N/A, #VALUE! …), or None."""
    if not isinstance(raw, str) or "#" not in raw:
        return None
    text = raw.strip().upper()
    return text if text in EXCEL_ERRORS else None


def key_form(value):
    """How a key part is compared: a text after NFKC (full-width brackets, letters and digits
    are the half-width ones), without whitespace, case-folded. Other values as they are."""
    if not isinstance(value, str):
        return value
    return _fold_key(value)


def _norm(raw) -> str | None:
    """Cleaned text with full NFKC, for numbers, dates and identifiers; None for empty/null."""
    text = clean_text(raw)
    if text is None:
        return None
    if not text.isascii():   # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()
    if is_null(text):
        return None
    _check_excel_error(text)
    return text


_SPACES_RE = re.compile(r"\s+")


def _fold_key(text: str) -> str:
    """Key for tolerant matching: NFKC, no whitespace, case-folded."""
    if text.isascii():  # NFKC and the zero-width characters leave ASCII as it is
        return (_SPACES_RE.sub("", text) if not text.isalnum() else text).casefold()
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH_RE.sub("", text)
    return _SPACES_RE.sub("", text).casefold()


# --------------------------------------------------------------------------- booleans

_TRUE = frozenset({"是", "有", "√", "✓", "✔", "☑", "y", "yes", "1", "1.0", "true", "收费"})
_FALSE = frozenset({"否", "无", "無", "×", "✗", "✘", "n", "no", "0", "0.0", "false",
                    "不收费", "免费"})
_BOOL_HINT = "请填写“是”或“否”（也可用 有/无、√/×、Y/N、1/0、TRUE/FALSE）"


def parse_bool(raw) -> bool | None:
    """是/否 and friends -> True/False; empty -> None (unknown, not 否)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float, Decimal)) and not (isinstance(raw, float) and math.isnan(raw)):
        if raw == 1:
            return True
        if raw == 0:
            return False
        raise ValueProblem(f"{_quote(_number_text(raw))}无法识别为是/否：{_BOOL_HINT}")
    text = clean_text(raw)
    if text is None or is_null(text, none_means_no=True):
        return None
    _check_excel_error(text)
    key = _fold_key(text)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueProblem(f"{_quote(text)}无法识别为是/否：{_BOOL_HINT}")


# --------------------------------------------------------------------------- dates

_DATE_HINT = "请填写有效日期，如 2015-03-01、2015/3/1 或 2015年3月1日"
_MAX_SERIAL = 2958465  # 9999-12-31
_DATE_SEP = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _bad_date(shown) -> ValueProblem:
    return ValueProblem(f"日期{_quote(shown)}无法识别：{_DATE_HINT}")


def _make_date(y: int, m: int, d: int, shown) -> _dt.date:
    try:
        value = _dt.date(y, m, d)
    except ValueError:
        raise _bad_date(shown) from None
    if value.year < 1900:
        raise _bad_date(shown)
    return value


def _date_from_number(x, shown) -> _dt.date:
    """An Excel serial number (or an 8-digit yyyymmdd typed into a number cell)."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        raise _bad_date(shown)
    n = int(x)  # whole days; a time of day is dropped
    if 19000101 <= n <= 99991231 and n == x:
        return _make_date(n // 10000, n // 100 % 100, n % 100, shown)
    if not 1 <= x <= _MAX_SERIAL:
        raise _bad_date(shown)
    if 1900 <= n <= 2100:
        raise ValueProblem(f"日期{_quote(shown)}只有年份：请填写完整日期，如 {n}-03-01")
    # Excel's 1900 system counts the non-existent 1900-02-29 as day 60.
    if n == 60:
        raise _bad_date(shown)
    if n < 60:
        return _dt.date(1899, 12, 31) + _dt.timedelta(days=n)
    return _dt.date(1899, 12, 30) + _dt.timedelta(days=n)


def parse_date(raw) -> _dt.date | None:
    if isinstance(raw, _dt.datetime):
        return raw.date()
    if isinstance(raw, _dt.date):
        return raw
    if isinstance(raw, bool):
        raise _bad_date(_raw_text(raw))
    if isinstance(raw, (int, float, Decimal)):
        if isinstance(raw, float) and math.isnan(raw):
            return None
        return _date_from_number(raw, _number_text(raw))
    text = _norm(raw)
    if text is None:
        return None
    for pattern in (_DATE_SEP, _DATE_CN):
        m = pattern.fullmatch(text)
        if m:
            groups = [g for g in m.groups() if g not in ("-", "/", ".")]
            return _make_date(int(groups[0]), int(groups[1]), int(groups[2]), text)
    m = _DATE_COMPACT.fullmatch(text)
    if m:
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if _NUMBER.fullmatch(text):
        return _date_from_number(Decimal(text), text)
    raise _bad_date(text)


# --------------------------------------------------------------------------- numbers

_INT_RE = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*([\u4e00-\u9fff]{1,5})?")
# A unit word after an integer must not change or blur the number ("12万", "12余人", "12人以上").
_NOT_UNIT_CHARS = set("万亿千百十零〇一二三四五六七八九两余多几约")
_NOT_UNIT_WORDS = ("以上", "以下", "左右")


def _range_problem(shown, value, min_value, max_value) -> None:
    too_small = min_value is not None and value < min_value
    too_big = max_value is not None and value > max_value
    if not (too_small or too_big):
        return
    if min_value is not None and max_value is not None:
        rule = f"应在 {min_value} 到 {max_value} 之间"
    elif min_value is not None:
        rule = f"应不小于 {min_value}"
    else:
        rule = f"应不大于 {max_value}"
    raise ValueProblem(f"{_quote(shown)}超出范围：{rule}")


def parse_int(raw, *, min_value: int | None = None, max_value: int | None = None) -> int | None:
    if isinstance(raw, bool):
        raise ValueProblem(f"{_quote(_raw_text(raw))}不是整数：请填写整数，如 12")
    if isinstance(raw, (int, float, Decimal)):
        if isinstance(raw, float) and math.isnan(raw):
            return None
        shown = _number_text(raw)
        number = _decimal_from_number(raw)
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueProblem(f"{_quote(shown)}不是整数：请填写整数，如 12")
        value = int(number)
    else:
        text = _norm(raw)
        if text is None:
            return None
        shown = text
        m = _INT_RE.fullmatch(text)
        unit = m and m[4]
        if not m or unit and (set(unit) & _NOT_UNIT_CHARS or any(w in unit for w in _NOT_UNIT_WORDS)):
            raise ValueProblem(f"{_quote(text)}无法识别为整数：请填写整数，如 12")
        if m[3] and m[3].strip("0"):
            raise ValueProblem(f"{_quote(text)}不是整数：请填写整数，如 12")
        value = int(m[2].replace(",", ""))
        if m[1] == "-":
            value = -value
    _range_problem(shown, value, min_value, max_value)
    return value


_DEC_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _decimal_from_number(raw) -> Decimal:
    """int / float / Decimal -> Decimal; floats via their shortest repr (0.1 stays 0.1)."""
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return Decimal(raw)


def parse_decimal(raw, *, places: int = 1, min_value=None, max_value=None,
                  suffixes: Sequence[str] = ("分",)) -> Decimal | None:
    """A number with at most ``places`` decimals (scores: ``85``, ``85.5``, ``85分``)."""
    hint = f"请填写数字，最多 {places} 位小数，如 85 或 85.5" if places else "请填写整数，如 85"
    if isinstance(raw, bool):
        raise ValueProblem(f"{_quote(_raw_text(raw))}不是数值：{hint}")
    if isinstance(raw, (int, float, Decimal)):
        if isinstance(raw, float) and math.isnan(raw):
            return None
        shown = _number_text(raw)
        if isinstance(raw, float) and math.isinf(raw):
            raise ValueProblem(f"{_quote(shown)}不是数值：{hint}")
        value = _decimal_from_number(raw)
    else:
        text = _norm(raw)
        if text is None:
            return None
        shown = text
        number = text
        for suffix in suffixes:
            if suffix and number.endswith(suffix):
                number = number[: -len(suffix)].rstrip()
                break
        if not _DEC_RE.fullmatch(number):
            raise ValueProblem(f"{_quote(text)}不是数值：{hint}")
        value = Decimal(number)
    if not value.is_finite():
        raise ValueProblem(f"{_quote(shown)}不是数值：{hint}")
    try:
        rounded = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        raise ValueProblem(f"{_quote(shown)}数值过大：{hint}") from None
    if rounded != value:
        raise ValueProblem(f"{_quote(shown)}小数位过多：最多 {places} 位小数")
    _range_problem(shown, value,
                   None if min_value is None else Decimal(str(min_value)),
                   None if max_value is None else Decimal(str(max_value)))
    return rounded


# --------------------------------------------------------------------------- amounts

_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("1e15")  # 1000 万亿元: more is a typo, and keeps Decimal exact
_UNIT_WORDS = {
    "千": Decimal(1000), "万": Decimal(10000), "十万": Decimal(100000),
    "百万": Decimal(1000000), "千万": Decimal(10000000), "亿": Decimal(100000000),
}
UNIT_WORDS = _UNIT_WORDS
_AMOUNT_RE = re.compile(
    r"(?:¥|￥|RMB|CNY|人民币)?\s*([+-]?)\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)"
    r"\s*(千|万|十万|百万|千万|亿)?\s*(元)?\s*(整)?", re.IGNORECASE)
_AMOUNT_HINT = "请填写数字，如 300000、300,000.00、30万元"


def parse_amount(raw, *, unit: Decimal = Decimal(1)) -> Decimal | None:
    """An amount in 元, exact, 2 places. A bare number is multiplied by ``unit`` (the header's);
    a unit written in the cell (万, 万元, 亿, 元) wins over the header's."""
    unit = Decimal(unit)
    if isinstance(raw, bool):
        raise ValueProblem(f"金额{_quote(_raw_text(raw))}无法识别：{_AMOUNT_HINT}")
    if isinstance(raw, (int, float, Decimal)):
        if isinstance(raw, float) and math.isnan(raw):
            return None
        shown = _number_text(raw)
        if isinstance(raw, float) and math.isinf(raw):
            raise ValueProblem(f"金额{_quote(shown)}无法识别：{_AMOUNT_HINT}")
        value = _decimal_from_number(raw)
        if not value.is_finite():
            raise ValueProblem(f"金额{_quote(shown)}无法识别：{_AMOUNT_HINT}")
        value *= unit
    else:
        text = _norm(raw)
        if text is None:
            return None
        shown = text
        m = _AMOUNT_RE.fullmatch(text)
        if not m:
            raise ValueProblem(f"金额{_quote(text)}无法识别：{_AMOUNT_HINT}")
        sign, number, word, yuan, _ = m.groups()
        value = Decimal(number.replace(",", ""))
        if word:
            value *= _UNIT_WORDS[word]
        elif not yuan:
            value *= unit
        if sign == "-":
            value = -value
    if value < 0:
        raise ValueProblem(f"金额{_quote(shown)}不能为负数：请填写 0 或正数")
    if value >= _MAX_AMOUNT:
        raise ValueProblem(f"金额{_quote(shown)}过大：请核对金额和单位")
    rounded = value.quantize(_CENT)
    if rounded != value:
        raise ValueProblem(f"金额{_quote(shown)}小数位过多：金额以元计，最多精确到分（两位小数）")
    return rounded


_HEADER_UNIT_RE = re.compile(
    r"[(\[【〔]\s*(?:单位\s*[:：]\s*)?(?:人民币\s*)?(千|万|十万|百万|千万|亿)?\s*(元)?\s*[)\]】〕]")


_HEADER_NOTE_RE = re.compile(r"[(\[【〔]\s*([^()\[\]【】〔〕]*?)\s*[)\]】〕]\s*[:：]?\s*$")


def header_note(header: str | None) -> str | None:
    """The trailing bracketed note of a header: 法定办理时限（工作日） -> 工作日."""
    if not header:
        return None
    m = _HEADER_NOTE_RE.search(unicodedata.normalize("NFKC", str(header)))
    return m[1] or None if m else None


def unit_from_header(header: str | None) -> Decimal | None:
    """``核定金额（万元）`` -> 10000, ``(元)`` -> 1, ``（亿元）`` -> 100000000; no unit -> None."""
    if not header:
        return None
    text = unicodedata.normalize("NFKC", header)
    for m in _HEADER_UNIT_RE.finditer(text):
        word, yuan = m.groups()
        if word:
            return _UNIT_WORDS[word]
        if yuan:
            return Decimal(1)
    return None


# --------------------------------------------------------------------------- multi-value cells

_SEPARATORS = "、，,；;/／\n"
_SPLIT_RE = re.compile(f"[{re.escape(_SEPARATORS)}]+")
_CN_DIGITS = "一二三四五六七八九十"
_NUMBERING = (
    r"(?:\d{1,2}\s*[、.．,，)）](?!\d)"                   # 1、 1. 1， 1)
    rf"|[{_CN_DIGITS}]{{1,3}}\s*[、.．]"                   # 一、
    rf"|[(（]\s*(?:\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})\s*[)）]"  # (1) （一）
    r"|[\u2460-\u249b\u2776-\u277f\u3220-\u3229])"       # ① ⑴ ⒈ ❶ ㈠
)
_NUMBERING_RE = re.compile(
    rf"(?:^|(?<=[{re.escape(_SEPARATORS)}]))[ \t]*{_NUMBERING}[ \t]*", re.MULTILINE)


def split_multi(raw) -> list[str]:
    """Split a multi-value cell; strip list numbering; drop empties, placeholders, duplicates."""
    text = clean_text(raw)
    if text is None:
        return []
    text = _NUMBERING_RE.sub("", text)
    parts: list[str] = []
    for piece in _SPLIT_RE.split(text):
        part = clean_text(piece)
        if part is None or is_null(part) or part in parts:
            continue
        parts.append(part)
    return parts


# --------------------------------------------------------------------------- enumerations

_MAX_LISTED = 25


def _allowed(choices: Sequence[str]) -> str:
    shown = "、".join(choices[:_MAX_LISTED])
    return shown + ("等" if len(choices) > _MAX_LISTED else "")


def _match_enum(text: str, choices: list[str], synonyms: Mapping[str, str]) -> str | None:
    if text in choices:
        return text
    if text in synonyms:
        return synonyms[text]
    key = _fold_key(text)
    for choice in choices:
        if _fold_key(choice) == key:
            return choice
    for word, canonical in synonyms.items():
        if _fold_key(word) == key:
            return canonical
    # A numeric code that Excel shortened ("02" -> 2 or 2.0).
    if re.fullmatch(r"\d+(?:\.0+)?", key):
        number = int(key.split(".")[0])
        for word, canonical in synonyms.items():
            word_key = _fold_key(word)
            if word_key.isdigit() and int(word_key) == number:
                return canonical
    return None


def parse_enum(raw, choices: Sequence[str],
               synonyms: Mapping[str, str] | None = None) -> str | None:
    choices = list(choices)
    synonyms = synonyms or {}
    text = clean_text(raw)
    if text is None:
        return None
    if text in choices:        # before the null test: 无 is a value in some lists
        return text
    if text in synonyms:
        return synonyms[text]
    if is_null(text):
        return None
    _check_excel_error(text)
    found = _match_enum(text, choices, synonyms)
    if found is None:
        raise ValueProblem(f"{_quote(text)}不是允许的值，允许的值：{_allowed(choices)}")
    return found


def parse_multi_enum(raw, choices: Sequence[str],
                     synonyms: Mapping[str, str] | None = None) -> list[str] | None:
    choices = list(choices)
    synonyms = synonyms or {}
    whole = clean_text(raw)
    if whole is not None and whole in choices:
        return [whole]
    found: list[str] = []
    unknown: list[str] = []
    for part in split_multi(raw):
        value = _match_enum(part, choices, synonyms)
        if value is None:
            unknown.append(part)
        elif value not in found:
            found.append(value)
    if unknown:
        names = "、".join(_quote(x) for x in unknown)
        raise ValueProblem(f"{names}不是允许的值，允许的值：{_allowed(choices)}")
    return found or None


# --------------------------------------------------------------------------- identifiers

def _compact_id(text: str) -> str:
    if text.isascii() and text.isalnum():   # nearly always: nothing to take out
        return text.upper()
    return re.sub(r"\s+", "", _ZERO_WIDTH_RE.sub("", text)).upper()


_SCIENTIFIC_RE = re.compile(r"\d+(?:\.\d+)?E\+?\d+", re.IGNORECASE)

# GB 32100-2015
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_USCC_NAME = "统一社会信用代码"


def _uscc_check(code17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code17, _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _excel_damage(what: str, shown: str) -> ValueProblem:
    return ValueProblem(
        f"{what}{_quote(shown)}已被 Excel 转成数值，后几位数字已丢失：请在 Excel 中把该列设为“文本”格式，"
        f"重新录入（或从原系统重新导出）这些号码后再导入")


def parse_credit_code(raw) -> str | None:
    if isinstance(raw, bool):
        raise ValueProblem(f"{_USCC_NAME}{_quote(_raw_text(raw))}格式不正确：应为 18 位数字和大写字母")
    if isinstance(raw, float):
        if math.isnan(raw):
            return None
        raise _excel_damage(_USCC_NAME, _number_text(raw) if raw < 1e16 else repr(raw))
    numeric = isinstance(raw, (int, Decimal))
    text = _norm(raw)
    if text is None:
        return None
    code = _compact_id(text)
    if _SCIENTIFIC_RE.fullmatch(code):
        raise _excel_damage(_USCC_NAME, text)
    if len(code) != 18:
        raise ValueProblem(f"{_USCC_NAME}{_quote(text)}位数不对：应为 18 位，现为 {len(code)} 位，请核对")
    bad = [c for c in dict.fromkeys(code) if c not in _USCC_ALPHABET]
    if bad:
        shown = "、".join(f"「{c}」" for c in bad)
        note = "（代码不使用字母 I、O、S、V、Z）" if set(bad) & set("IOSVZ") else ""
        raise ValueProblem(f"{_USCC_NAME}{_quote(text)}含有不允许的字符{shown}：代码只由数字和大写字母组成"
                           f"{note}，请对照营业执照或登记证书核对")
    if code[17] != _uscc_check(code[:17]):
        if numeric:
            raise _excel_damage(_USCC_NAME, text)
        raise ValueProblem(f"{_USCC_NAME}{_quote(text)}校验位不正确：请对照营业执照或登记证书核对代码")
    return code


# GB 11643-1999
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
_ID_NAME = "身份证号码"


_ID_OLD_FLOAT_RE = re.compile(r"\d{15}\.0+")
_ID_FORM_RE = re.compile(r"\d{17}[\dX]")


_ID_ZEROS = ord("0") * sum(_ID_WEIGHTS)


def _id_check(id17: str) -> str:
    if id17.isascii():   # ASCII digits: their codes less those of "0", without int() a digit
        return _ID_CHECKS[(sum(map(operator.mul, id17.encode(), _ID_WEIGHTS)) - _ID_ZEROS) % 11]
    return _ID_CHECKS[sum(map(operator.mul, map(int, id17), _ID_WEIGHTS)) % 11]


def _id_birth_ok(yyyymmdd: str) -> bool:
    return _is_date_since_1900(yyyymmdd) and yyyymmdd <= _today_digits()


_today: list = ["", 0.0]   # today as yyyymmdd, and the time (time.time()) it ends at


def _today_digits() -> str:
    # Asked once an ID number: time.time() costs a tenth of date.today().
    if time.time() >= _today[1]:
        today = _dt.date.today()
        midnight = _dt.datetime.combine(today + _dt.timedelta(days=1), _dt.time())
        _today[:] = [today.strftime("%Y%m%d"), midnight.timestamp()]
    return _today[0]


@functools.lru_cache(maxsize=65536)   # a list of people has some ten thousand birth dates
def _is_date_since_1900(yyyymmdd: str) -> bool:
    try:
        born = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born.year >= 1900


def parse_id_number(raw) -> str | None:
    """居民身份证号码 -> 18 characters, upper-case X; a 15-digit number is upgraded."""
    if (raw.__class__ is str and len(raw) == 18 and raw.isascii() and raw[:17].isdigit()
            and (raw[17] == "X" or raw[17].isdigit()) and _id_birth_ok(raw[6:14])
            and raw[17] == _id_check(raw[:17])):
        return raw   # as it should be written: what the rest would find, in a tenth of the time
    if isinstance(raw, bool):
        raise ValueProblem(f"{_ID_NAME}{_quote(_raw_text(raw))}格式不正确：应为 18 位")
    numeric = isinstance(raw, (int, float, Decimal))
    if isinstance(raw, float):
        if math.isnan(raw):
            return None
        if not (raw.is_integer() and abs(raw) < 1e15):   # 18 digits never survive a float
            raise _excel_damage(_ID_NAME, repr(raw))
        raw = int(raw)
    text = _norm(raw)
    if text is None:
        return None
    number = _compact_id(text)
    if _ID_OLD_FLOAT_RE.fullmatch(number):
        number = number[:15]
    if _SCIENTIFIC_RE.fullmatch(number):
        raise _excel_damage(_ID_NAME, text)
    if len(number) == 15:
        if not number.isdigit():
            raise ValueProblem(f"{_ID_NAME}{_quote(text)}格式不正确：15 位旧号码应全部为数字")
        if not _id_birth_ok("19" + number[6:12]):
            raise ValueProblem(f"{_ID_NAME}{_quote(text)}中的出生日期「19{number[6:12]}」无效：请核对号码")
        id17 = number[:6] + "19" + number[6:]
        return id17 + _id_check(id17)
    if len(number) != 18:
        raise ValueProblem(
            f"{_ID_NAME}{_quote(text)}位数不对：应为 18 位（旧号码 15 位），现为 {len(number)} 位")
    if not _ID_FORM_RE.fullmatch(number):
        raise ValueProblem(f"{_ID_NAME}{_quote(text)}格式不正确：前 17 位应为数字，最后一位为数字或 X")
    if not _id_birth_ok(number[6:14]):
        raise ValueProblem(f"{_ID_NAME}{_quote(text)}中的出生日期「{number[6:14]}」无效：请核对号码")
    if number[17] != _id_check(number[:17]):
        if numeric or number.endswith("000"):
            raise _excel_damage(_ID_NAME, text)
        raise ValueProblem(f"{_ID_NAME}{_quote(text)}校验位不正确：请核对号码是否有数字抄错")
    return number


def id_birth_date(id18: str) -> _dt.date:
    return _dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def id_gender(id18: str) -> str:
    return "男" if int(id18[16]) % 2 == 1 else "女"


ID_MASK_KEEP = 6


def mask_id_number(id18: str | None) -> str | None:
    """Keep only the region (the first 6 characters): 310110************.

    Every other part can be rebuilt from what a list shows beside it or from the rest:
    characters 7-14 are the birth date (出生日期, an age), 15-17 a sequence whose last digit
    is odd for men (性别), and the 18th a check character computed from the first 17. Shown
    with the last 4, the birth date alone filled the gap; so nothing after the region is."""
    if id18 is None:
        return None
    if len(id18) <= ID_MASK_KEEP:
        return "*" * len(id18)
    return id18[:ID_MASK_KEEP] + "*" * (len(id18) - ID_MASK_KEEP)


# --------------------------------------------------------------------------- phones, e-mail

_PHONE_HINT = "请填写手机号（如 13910015679）或座机号（如 021-50006789，分机写作 021-50006789-123）"
_PHONE_EXT_RE = re.compile(r"(.+?)\s*(?:转|分机号?|ext\.?)\s*(\d{1,6})", re.IGNORECASE)
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_LOCAL_RE = re.compile(r"[2-9]\d{7}")
_HOTLINE_RE = re.compile(r"12\d{3}")
_PHONE_SEVERAL_RE = re.compile(r"[、，,；;/]|\d\s*(?:或|及)\s*\d")  # government hotlines: 12345, 12350 (安全生产举报) …


def _landline(digits: str) -> str | None:
    if len(digits) < 2:
        return None  # "0" alone (an API client's 0) names no area
    if not digits.startswith("0"):
        return "021-" + digits if _LOCAL_RE.fullmatch(digits) else None
    size = 3 if digits[1] in "12" else 4      # 010, 020–029; else 0xxx
    area, local = digits[:size], digits[size:]
    if not re.fullmatch(r"[2-9]\d{6,7}", local) or area == "021" and len(local) != 8:
        return None
    return f"{area}-{local}"


def _phone_number(compact: str) -> tuple[str, bool] | None:
    """Digits (maybe with +86) -> (normalised number, is_mobile) or None."""
    international = False
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact, international = compact[len(prefix):], True
            break
    if not compact.isdigit():
        return None
    if not international and len(compact) == 13 and compact.startswith("86"):
        compact, international = compact[2:], True
    if _MOBILE_RE.fullmatch(compact):
        return compact, True
    if international:
        compact = "0" + compact.lstrip("0")
    elif _HOTLINE_RE.fullmatch(compact):
        return compact, False
    found = _landline(compact)
    return (found, False) if found else None


def parse_phone(raw) -> str | None:
    if isinstance(raw, bool):
        raise ValueProblem(f"电话{_quote(_raw_text(raw))}无法识别：{_PHONE_HINT}")
    if isinstance(raw, float) and not math.isnan(raw) and not raw.is_integer():
        raise ValueProblem(f"电话{_quote(_number_text(raw))}无法识别：{_PHONE_HINT}")
    text = _norm(raw)
    if text is None:
        return None
    if len(text) == 11 and text.isdigit() and _MOBILE_RE.fullmatch(text):
        return text   # a mobile number as it should be written: what the rest would find
    if _PHONE_SEVERAL_RE.search(text):
        raise ValueProblem(f"电话{_quote(text)}只能填写一个号码：{_PHONE_HINT}")
    core, ext = text, None
    m = _PHONE_EXT_RE.fullmatch(text)
    if m:
        core, ext = m[1], m[2]
    compact = re.sub(r"[\s()]", "", core)
    if not re.fullmatch(r"\+?[\d-]+", compact):
        raise ValueProblem(f"电话{_quote(text)}无法识别：{_PHONE_HINT}")
    found = None
    if ext is None and "-" in compact:
        # "021-50006789-123", "0571-8765432-1": a short last group after a whole landline
        # is an extension (tried first, so that the dashes the writer put are respected).
        head, _, tail = compact.rpartition("-")
        if 1 <= len(tail) <= 6:
            head_found = _phone_number(head.replace("-", ""))
            if head_found and not head_found[1] and not _HOTLINE_RE.fullmatch(head_found[0]):
                found, ext = head_found, tail
    if found is None:
        found = _phone_number(compact.replace("-", ""))
    if found is None:
        raise ValueProblem(f"电话{_quote(text)}无法识别：{_PHONE_HINT}")
    number, mobile = found
    if ext:
        if mobile or _HOTLINE_RE.fullmatch(number):
            raise ValueProblem(f"电话{_quote(text)}无法识别：只有座机号可以带分机，{_PHONE_HINT}")
        return f"{number}-{ext}"
    return number


_EMAIL_RE = re.compile(
    r"([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})")


def parse_email(raw) -> str | None:
    text = _norm(raw)
    if text is None:
        return None
    if text.isascii():
        address = text[7:].strip() if text[:7].lower() == "mailto:" else text
    else:
        address = re.sub(r"^mailto:", "", text, flags=re.IGNORECASE).strip()
    m = _EMAIL_RE.fullmatch(address)
    if not m or len(address) > 254 or len(m[1]) > 64:
        raise ValueProblem(f"电子邮箱{_quote(text)}格式不正确：请填写一个地址，如 zhangwei@example.com")
    return f"{m[1]}@{m[2].lower()}"


# --------------------------------------------------------------------------- 文号, formulas

_DOC_YEAR_RE = re.compile(r"[\[［【〔（(〖﹝]\s*((?:19|20)[0-9]{2})\s*[\]］】〕）)〗﹞]")
_DIGITS_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}


def normalise_doc_number(text: str) -> str:
    """沪府发[2015]12号 -> 沪府发〔2015〕12号 (the year bracket of a document number is 〔〕)."""
    if not text:
        return text
    return _DOC_YEAR_RE.sub(lambda m: "〔" + m[1] + "〕", text.translate(_DIGITS_WIDTH))


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str | None) -> bool:
    """Would a spreadsheet program read this text as a formula (CSV/formula injection)?

    Exports must then write it as a string cell (openpyxl: ``cell.data_type = "s"``), never
    as a formula; the text itself is kept unchanged so that it re-imports unchanged.
    """
    return bool(text) and text.startswith(_FORMULA_STARTS)
