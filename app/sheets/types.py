"""Column value types: the spec's type words (文本, 枚举, 日期, 金额 …) as objects.

A type knows how to read a raw cell (from a spreadsheet or a web form), how to write a
value back to a cell so that it re-imports unchanged, and how to describe itself in the
template. Parsing itself lives in `values`; these classes only choose and configure it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from . import values as v
from .values import ValueProblem

MULTI_SEPARATOR = "、"  # how multi-value cells are stored and exported

Choices = Sequence[str] | Callable[[], Sequence[str]]
Synonyms = Mapping[str, str] | Callable[[], Mapping[str, str]]


def _resolve(x):
    return x() if callable(x) else x


class ValueType:
    word = "文本"             # the spec's type word, shown in template notes
    number_format = "@"       # Excel format of the column: text unless said otherwise
    width = 16                # column width in the template and exports

    # Whether a unit line in the title area (金额单位：万元) applies to this column.
    takes_unit_line = False

    def parse(self, raw, *, unit=None):
        """Raw cell -> clean value or None; raises ValueProblem (message in Chinese).
        unit: what header_unit found in the column's header (or the unit line)."""
        return v.parse_text(raw)

    def header_unit(self, header: str | None):
        """The unit a header names for bare numbers of this column (（万元） for an amount,
        （工作日） for a time limit), as parse takes it; None when it names none."""
        return None

    def to_cell(self, value):
        """Stored value -> what goes into an exported cell."""
        return value

    def to_text(self, value) -> str:
        """Stored value -> how a person reads it (screens, previews, diffs)."""
        if value is None:
            return ""
        return str(self.to_cell(value))

    @property
    def choices(self) -> list[str] | None:
        return None

    def describe(self) -> str:
        return self.word

    def mask(self, text: str) -> str:
        """A sensitive value as shown to who may not see it: every letter and digit hidden,
        the shape kept (1958-05-19 -> ****-**-**)."""
        return "".join("*" if ch.isalnum() else ch for ch in text)

    def describe_for_form(self) -> str:
        """The same help for a web form's field: no spreadsheet hints, nothing a dropdown or
        the date picker already shows ("" when there is nothing to add)."""
        return "" if self.describe() in (ValueType.word, self.word) else self.describe()


class Text(ValueType):
    """units: the units a header may name for a bare number in this column, which the value
    then keeps (法定办理时限（工作日） with 20 is 20个工作日)."""
    digits_text = True   # a long number Excel has rounded is refused (see values.parse_text)

    def __init__(self, max_length: int | None = 255, *, person_name: bool = False,
                 doc_number: bool = False, units: tuple[str, ...] = ()):
        self.max_length = max_length
        self.person_name = person_name
        self.doc_number = doc_number
        self.units = units

    def parse(self, raw, *, unit=None):
        text = v.parse_text(raw, person_name=self.person_name, max_length=self.max_length,
                            digits_text=self.digits_text)
        if text is not None and self.doc_number:
            text = v.normalise_doc_number(text)
        return v.with_unit(text, unit) if unit in self.units else text

    def header_unit(self, header):
        note = v.header_note(header)
        return note if note in self.units else None


class LongText(Text):
    word = "长文本"
    width = 40
    digits_text = False

    def __init__(self, max_length: int | None = 20000):
        super().__init__(max_length)


class Enum(ValueType):
    word = "枚举"

    def __init__(self, choices: Choices, synonyms: Synonyms | None = None):
        self._choices = choices
        self._synonyms = synonyms or {}

    @property
    def choices(self) -> list[str]:
        return list(_resolve(self._choices))

    @property
    def synonyms(self) -> Mapping[str, str]:
        return _resolve(self._synonyms)

    def position(self, value) -> int | None:
        """The value's place in the dictionary (None: not in it), read from the dictionary
        as it is now without the copy `choices` makes: every written record asks (its sort
        key, app/sheets/sorting.py)."""
        try:
            return _resolve(self._choices).index(value)
        except ValueError:
            return None

    def parse(self, raw, *, unit=None):
        return v.parse_enum(raw, _resolve(self._choices), self.synonyms)   # it copies them

    def describe(self) -> str:
        return "枚举，可选：" + "、".join(self.choices)

    def describe_for_form(self) -> str:
        return ""  # a dropdown of exactly these


class Multi(ValueType):
    """Several values in one cell; stored joined by 、."""
    word = "多选"
    width = 24

    def __init__(self, choices: Choices | None = None, synonyms: Synonyms | None = None):
        self._choices = choices
        self._synonyms = synonyms or {}

    @property
    def choices(self) -> list[str] | None:
        return None if self._choices is None else list(_resolve(self._choices))

    def parse(self, raw, *, unit=None):
        if self._choices is None:
            parts = v.split_multi(raw)
        else:
            parts = v.parse_multi_enum(raw, _resolve(self._choices), _resolve(self._synonyms))
        return MULTI_SEPARATOR.join(parts) if parts else None

    def describe_for_form(self) -> str:
        text = "可填多个，用“、”分隔"
        if self._choices is not None:
            text += "，可选：" + "、".join(self.choices)
        return text

    def describe(self) -> str:
        text = "多选，多个值用“、”分隔"
        if self._choices is not None:
            text += "，可选：" + "、".join(self.choices)
        return text


class Date(ValueType):
    word = "日期"
    number_format = "yyyy-mm-dd"
    width = 12

    def parse(self, raw, *, unit=None):
        return v.parse_date(raw)

    def to_text(self, value) -> str:
        return value.isoformat() if value else ""

    def describe(self) -> str:
        return "日期，如 2015-03-01"

    def describe_for_form(self) -> str:
        return "从日历中选择，或输入如 2015-03-01"


class Integer(ValueType):
    word = "整数"
    number_format = "0"
    width = 10

    def __init__(self, min_value: int | None = None, max_value: int | None = None):
        self.min_value, self.max_value = min_value, max_value

    def parse(self, raw, *, unit=None):
        return v.parse_int(raw, min_value=self.min_value, max_value=self.max_value)

    def describe(self) -> str:
        bounds = []
        if self.min_value is not None:
            bounds.append(f"不小于 {self.min_value}")
        if self.max_value is not None:
            bounds.append(f"不大于 {self.max_value}")
        return "整数" + ("，" + "，".join(bounds) if bounds else "")


class Score(ValueType):
    """A decimal with a fixed number of places, e.g. a review score 0–100."""
    word = "数值"
    number_format = "0.0"
    width = 8

    def __init__(self, places: int = 1, min_value=None, max_value=None):
        self.places, self.min_value, self.max_value = places, min_value, max_value

    def parse(self, raw, *, unit=None):
        return v.parse_decimal(raw, places=self.places, min_value=self.min_value,
                               max_value=self.max_value)

    def to_cell(self, value):
        return float(value) if value is not None else None

    def to_text(self, value) -> str:
        return "" if value is None else f"{value:.{self.places}f}"

    def describe(self) -> str:
        return f"数值，{self.min_value}–{self.max_value}，最多 {self.places} 位小数"

    def describe_for_form(self) -> str:
        return f"{self.min_value}–{self.max_value}，最多 {self.places} 位小数"


class Amount(ValueType):
    """Money, stored in 元 as an exact decimal with 2 places."""
    word = "金额"
    number_format = "#,##0.00"
    width = 14

    takes_unit_line = True

    def parse(self, raw, *, unit=None):
        return v.parse_amount(raw, unit=unit or Decimal(1))

    def header_unit(self, header):
        return v.unit_from_header(header)

    def to_cell(self, value):
        # Exported in 元 as a number; 2-place decimals survive float round-trip.
        return float(value) if value is not None else None

    def to_text(self, value) -> str:
        return "" if value is None else f"{value:,.2f}"

    def describe(self) -> str:
        return "金额（元），可写 300000、30万元"

    def describe_for_form(self) -> str:
        return "单位：元，可写 300000 或 30万元"


class Boolean(ValueType):
    word = "是否"
    width = 8

    def parse(self, raw, *, unit=None):
        return v.parse_bool(raw)

    def to_cell(self, value):
        return None if value is None else ("是" if value else "否")

    @property
    def choices(self) -> list[str]:
        return ["是", "否"]

    def describe(self) -> str:
        return "是否：填“是”或“否”"

    def describe_for_form(self) -> str:
        return ""  # a dropdown of 是 / 否


class CreditCode(ValueType):
    word = "信用代码"
    width = 22

    def parse(self, raw, *, unit=None):
        return v.parse_credit_code(raw)

    def describe(self) -> str:
        return "18 位统一社会信用代码"


class IdNumber(ValueType):
    """身份证号码: personal data, masked on screens for roles without the right."""
    word = "身份证"
    width = 22
    sensitive = True

    def parse(self, raw, *, unit=None):
        return v.parse_id_number(raw)

    def describe(self) -> str:
        return "18 位居民身份证号码（请将本列设为文本格式）"

    def mask(self, text: str) -> str:
        return v.mask_id_number(text)

    def describe_for_form(self) -> str:
        return "18 位居民身份证号码，末位可为 X"


class Phone(ValueType):
    word = "电话"
    width = 16

    def parse(self, raw, *, unit=None):
        return v.parse_phone(raw)

    def describe(self) -> str:
        return "手机号或 021-XXXXXXXX 座机"

    def describe_for_form(self) -> str:
        return "手机号或座机号码，如 13800000000、021-12345678"


class Email(ValueType):
    word = "电子邮箱"
    width = 24

    def parse(self, raw, *, unit=None):
        return v.parse_email(raw)


def is_sensitive(value_type: ValueType) -> bool:
    return getattr(value_type, "sensitive", False)


__all__ = [
    "ValueProblem", "ValueType", "Text", "LongText", "Enum", "Multi", "Date", "Integer",
    "Score", "Amount", "Boolean", "CreditCode", "IdNumber", "Phone", "Email",
    "MULTI_SEPARATOR", "is_sensitive",
]
