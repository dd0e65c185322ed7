"""The order of a list's records: Chinese text by pinyin, enumerations in their declared
order, the same on SQLite, PostgreSQL and MariaDB.

Databases sort text by code point (何, 刘, 吴, 唐, 宋) or by a collation that knows no pinyin.
So every text column a list shows or is ordered by (`Sheet.list_fields`, `Sheet.order_by`)
has a stored sort key beside it, `<column>_sort`, added to the model when the registry is
sealed (no model declares it) and written with the record on every path: the ORM's flush
for the record commands (app/sheets/records.py), `applying.row_values` for an import,
the undo of an import. The audit trail does not keep it (it is derived, like the stamps).

An enumeration in a list's own order (专业类别, 所在区, 资质类别 …) has a key too: its
position in the dictionary ("000", "001", …), so that the declared order is read from one
composite index (app/sheets/indexes.py) instead of sorting a million rows by a CASE. A
dictionary that is a setting may change: `refresh_choice_keys` (run by `flask qingdan init`
at every deploy) brings the stored positions up to date.

The key is made of digits only, two per sound — so it sorts the same under every collation
(none ignores or reorders digits): a syllable's letters, then its tone, which ends it
(he² < heng²); digits and letters as themselves; punctuation and spaces lowest (A1-01 <
A1-10 < A10-01, as in ASCII). A person's name reads its surname as a surname (曾 zēng,
单 shàn). Other enumerations sort by a CASE in the order their dictionary declares them
(甲级, 乙级, 丙级; 在聘, 暂停, 终止).
"""
from __future__ import annotations

import functools
import re
import unicodedata

import sqlalchemy as sa

from . import types as t

SUFFIX = "_sort"
KEY_LENGTH = 255
INFO_KEY = "qd_sort_key"  # Column.info marker: the field whose sort key the column holds

# Surnames read otherwise than the character's most common reading.
SURNAMES = {"曾": "zeng1", "单": "shan4", "解": "xie4", "仇": "qiu2", "朴": "piao2", "区": "ou1",
            "查": "zha1", "缪": "miao4", "乐": "yue4", "覃": "qin2", "翟": "zhai2", "盖": "ge3",
            "员": "yun4", "尉": "yu4", "万俟": "mo4qi2", "长孙": "zhang3sun1", "句": "gou1",
            "种": "chong2", "秘": "bi4", "折": "she2", "召": "shao4", "黑": "he4", "重": "chong2",
            "繁": "po2", "柏": "bai3", "薄": "bo2"}
_SURNAME_LENGTHS = sorted({len(s) for s in SURNAMES}, reverse=True)

# pypinyin's own range of Chinese characters (pypinyin.constants.RE_HANS, unanchored). The
# library itself is imported on first use: loading its dictionaries costs a second or two,
# which a command that never sorts (or the app's start-up) should not pay.
_HANS = re.compile(
    "([\u3007\ue815-\ue864\ufa18\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002A6DF\U0002A703-\U0002B73F\U0002B740-\U0002B81D"
    "\U0002B825-\U0002BF6E\U0002C029-\U0002CE93\U0002D016\U0002D11B-\U0002EBD9"
    "\U0002F80A-\U0002FA1F\U00030000-\U0003134A\U00031350-\U00032389]+)")


def _code(ch: str) -> str:
    if ch.isdigit() and ch.isascii():
        return f"1{ch}"
    if "a" <= ch <= "z":
        return f"{20 + ord(ch) - ord('a')}"
    return "00"


class _Codes(dict):
    """str.translate table: every character to its code, worked out once per character."""

    def __missing__(self, codepoint: int) -> str:
        self[codepoint] = code = _code(chr(codepoint))
        return code


_CODES = _Codes()


def _syllable(pinyin: str) -> str:
    """'he2' -> letters then the tone (01–05), which sorts below every letter."""
    if pinyin and pinyin[-1] in "12345" and pinyin[:-1].isalpha() and pinyin[:-1].isascii():
        return pinyin[:-1].translate(_CODES) + f"0{pinyin[-1]}"
    return pinyin.translate(_CODES)


def _readings(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin
    return lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True,
                       errors=lambda chars: list(chars))


def _part_key(part: str) -> str:
    return _syllable(part) if _is_pinyin(part) else part.translate(_CODES)


@functools.lru_cache(maxsize=65536)
def _char_key(ch: str) -> str:
    return "".join(_part_key(p) for p in _readings(ch))


@functools.lru_cache(maxsize=65536)
def _run_key(run: str) -> str:
    """The key of a run of Chinese characters. pypinyin reads a run character by character
    unless a phrase of its dictionary occurs in it; only then is the run itself read (a
    phrase decides a polyphone: 银行 is yín háng). The same key as reading the whole run,
    at a fraction of the cost: names and employers are short runs that mostly hold none."""
    if len(run) > 1:
        from pypinyin.constants import PHRASES_DICT
        n = len(run)
        if any(run[i:j] in PHRASES_DICT for i in range(n - 1) for j in range(i + 2, n + 1)):
            return "".join(_part_key(p) for p in _readings(run))
    return "".join(_char_key(ch) for ch in run)


def pinyin_key(text: str | None, *, person_name: bool = False) -> str | None:
    """The sort key of a text (None for no text): digits only, see the module's docstring."""
    if text is None or text == "":
        return None
    if type(text) is str and text.isascii():
        # NFKC leaves ASCII as it is, and no surname or Chinese run is ASCII: codes only.
        # Not cached: such texts are mostly codes, each its own (专家编号), which would only
        # push the names out of the cache.
        return text.lower().translate(_CODES)[:KEY_LENGTH]
    return _text_key(text, person_name)


@functools.lru_cache(maxsize=65536)
def _text_key(text, person_name: bool) -> str:
    """pinyin_key of a text with more than ASCII. Cached: a list's texts repeat (names,
    employers, titles), and each key is a pure function."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    head = ""
    if person_name:
        for n in _SURNAME_LENGTHS:  # the longest surname first (万俟 before 万)
            surname = text[:n]
            if surname in SURNAMES:
                head, text = _syllable_run(SURNAMES[surname]), text[n:]
                break
    parts = _HANS.split(text)  # other text, a run of Chinese, other text, ...
    key = head + "".join(_run_key(p) if i % 2 else p.translate(_CODES)
                         for i, p in enumerate(parts) if p)
    return key[:KEY_LENGTH]


def _syllable_run(pinyins: str) -> str:
    out, current = "", ""
    for ch in pinyins:
        current += ch
        if ch in "12345":
            out, current = out + _syllable(current), ""
    return out + _syllable(current) if current else out


def _is_pinyin(part: str) -> bool:
    return len(part) > 1 and part[-1] in "12345" and part[:-1].isalpha() and part.isascii()


# ---------------------------------------------------------------------------- declaration
CHOICE_KEY_LENGTH = 3
UNKNOWN_CHOICE = "999"  # a value outside the dictionary (an old record): after every choice


def _keyed(sheet) -> tuple:
    """(texts, enumerations, person names) of a list, worked out once per declaration:
    every written record asks (an import of 100,000 rows, 100,000 times)."""
    return sheet.memo("sort_keys", _work_out_keyed)


def _work_out_keyed(sheet) -> tuple:
    wanted = set(sheet.list_fields) | set(sheet.order_by)
    stored = sheet.stored
    texts = tuple(c.field for c in stored if isinstance(c.type, t.Text)
                  and not c.sensitive and c.field in wanted)
    enums = tuple(c.field for c in stored if isinstance(c.type, t.Enum)
                  and not c.sensitive and c.field in sheet.order_by)
    persons = frozenset(c.field for c in stored if getattr(c.type, "person_name", False))
    return texts, enums, persons


def sort_fields(sheet) -> tuple[str, ...]:
    """The text fields of a list that get a sort key: shown in its list or ordered by."""
    return _keyed(sheet)[0]


def choice_fields(sheet) -> tuple[str, ...]:
    """The enumerations of a list's own order: they get a key of their dictionary position."""
    return _keyed(sheet)[1]


def keyed_fields(sheet) -> tuple[str, ...]:
    return sort_fields(sheet) + choice_fields(sheet)


def key_name(field: str) -> str:
    return field + SUFFIX


def key_names(sheet) -> set[str]:
    return {key_name(f) for f in keyed_fields(sheet)}


def add_sort_columns(sheet) -> None:
    """Give the model a sort-key column for each of `keyed_fields` (idempotent), and have
    the ORM fill them on every flush."""
    model = sheet.model
    table = model.__table__
    added = False
    choices = set(choice_fields(sheet))
    for field in keyed_fields(sheet):
        name = key_name(field)
        if name in table.c:
            continue
        if hasattr(model, name):
            raise ValueError(f"{sheet.slug}: {name!r} is taken: a sort key needs that name")
        length = CHOICE_KEY_LENGTH if field in choices else KEY_LENGTH
        setattr(model, name, sa.Column(name, sa.String(length), nullable=True,
                                       info={INFO_KEY: field}))
        added = True
    if added and not sa.event.contains(model, "before_insert", _fill_keys):
        sa.event.listen(model, "before_insert", _fill_keys)
        sa.event.listen(model, "before_update", _fill_keys)


def choice_key(value_type, value) -> str | None:
    """The key of an enumeration's value: its position in the dictionary (`Enum.position`)."""
    if value is None or value == "":
        return None
    position = value_type.position(value)
    return UNKNOWN_CHOICE if position is None else f"{position:0{CHOICE_KEY_LENGTH}d}"


def _steps(sheet) -> tuple:
    """sort_values' work, once per declaration: (field, key column, person name) of each
    keyed text, (field, key column, type) of each keyed enumeration."""
    texts, enums, persons = _keyed(sheet)
    return (tuple((f, key_name(f), f in persons) for f in texts),
            tuple((f, key_name(f), sheet.column(f).type) for f in enums))


def sort_values(sheet, values: dict) -> dict:
    """{key column: key} for the keyed fields among `values` (a record's, by field name)."""
    texts, enums = sheet.memo("sort_steps", _steps)
    out = {}
    for f, name, person in texts:
        if f in values:
            out[name] = pinyin_key(values[f], person_name=person)
    for f, name, value_type in enums:
        if f in values:
            out[name] = choice_key(value_type, values[f])
    return out


def _fill_keys(_mapper, _connection, target) -> None:
    from .declare import sheets
    sheet = sheets.for_model(type(target))
    if sheet is None:
        return
    for name, key in sort_values(sheet, {f: getattr(target, f) for f in keyed_fields(sheet)}
                                 ).items():
        setattr(target, name, key)


def _choice_case(choices: list[str], attr):
    return sa.case({v: f"{i:0{CHOICE_KEY_LENGTH}d}" for i, v in enumerate(choices)},
                   value=attr, else_=UNKNOWN_CHOICE)


def refresh_choice_keys(session) -> int:
    """Bring every stored dictionary position up to date with the dictionaries as they are
    now configured (a district added to DISTRICTS, say): one UPDATE per keyed enumeration,
    touching only the rows whose key differs. The number of rows changed."""
    from .declare import sheets
    changed = 0
    for sheet in sheets:
        model = sheet.model
        for f in choice_fields(sheet):
            attr, key = getattr(model, f), getattr(model, key_name(f))
            wanted = _choice_case(sheet.column(f).type.choices, attr)
            stmt = (sa.update(model.__table__)
                    .where(attr.is_not(None), sa.or_(key.is_(None), key != wanted))
                    .values({key_name(f): wanted}))
            changed += session.execute(stmt).rowcount or 0
    return changed


def is_sort_key(column) -> bool:
    return INFO_KEY in getattr(column, "info", {})


# ---------------------------------------------------------------------------- ordering
def order_expressions(sheet, name: str) -> list:
    """What ordering by one field of a list means in SQL (ascending; the caller applies a
    direction to each): its sort key then the text, an enumeration's declared order, or
    the column itself."""
    model = sheet.model
    attr = getattr(model, name)
    if name in sort_fields(sheet):
        return [getattr(model, key_name(name)), attr]
    if name in choice_fields(sheet):
        return [getattr(model, key_name(name))]
    stored = {c.field: c for c in sheet.stored}
    col = stored.get(name)
    if col is not None and isinstance(col.type, t.Enum):
        choices = col.type.choices
        if choices:
            return [sa.case({v: i for i, v in enumerate(choices)}, value=attr,
                            else_=len(choices)), attr]
    return [attr]


def declared_order(sheet) -> list:
    """The list's own order (`Sheet.order_by`), then the id."""
    out = []
    for name in sheet.order_by:
        out += order_expressions(sheet, name)
    return out + [sheet.model.id]
