"""What a list shows, from its declaration: labels, help texts, the fields of its screens, the
values derived from the stored ones (双资质, 有效状态), and how a stored value reads."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import HybridExtensionType

from ..sheets import types as t
from ..sheets.declare import Col, Sheet, column_help, sheets
from ..sheets.rows import name_beside
from .security import can_see_id_numbers


def is_hybrid(model, name: str) -> bool:
    desc = sa.inspect(model).all_orm_descriptors.get(name)
    return desc is not None and desc.extension_type is HybridExtensionType.HYBRID_PROPERTY


def derived_fields(sheet: Sheet) -> list[str]:
    """The values the declaration says are computed from the stored ones (`Sheet.computed`)."""
    return list(sheet.computed)


def yes_no(value) -> str:
    return "" if value is None else ("是" if value else "否")


def shown(col: Col, value) -> str:
    """A stored value as people read it; sensitive ones (身份证号码, 出生日期) masked unless the
    user may see them."""
    if value is None or value == "":
        return ""
    text = col.type.to_text(value)
    if col.sensitive and not can_see_id_numbers():
        return col.masked(text)
    return text


def camel(slug: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", slug) if p)


def screen_fields(sheet: Sheet) -> list[str]:
    """Stored fields and parent relations, in declaration order (informational columns,
    which only repeat a parent's attribute, left out)."""
    out: list[str] = []
    for c in sheet.columns:
        name = c.relation or c.field
        if not c.info and name not in out:
            out.append(name)
    return out


def parent_sheet(sheet: Sheet, relation: str) -> Sheet | None:
    target = sa.inspect(sheet.model).relationships[relation].mapper.class_
    return sheets.for_model(target)


def _relation_label(sheet: Sheet, relation: str) -> str:
    """A parent is labelled with its list's title (技术服务机构); an optional reference such as
    an exempting policy, with its own column's header (免存保单号)."""
    cols = sheet.relations[relation]
    parent = parent_sheet(sheet, relation)
    if any(c.required for c in cols) and parent is not None:
        return parent.title
    return sheet.label(relation)


def labels_of(sheet: Sheet) -> dict[str, str]:
    labels = {c.field: c.header for c in sheet.columns}
    labels.update({rel: _relation_label(sheet, rel) for rel in sheet.relations})
    labels.update(sheet.computed)
    return labels


def description(col: Col, *, for_form: bool = True) -> str:
    """Help text next to a form field: `column_help` as a form says it (a red * marks a
    required field). for_form=False: the words of the template and its instructions, with
    required or not (the API's descriptions; a plain 文本 says nothing)."""
    if for_form:
        return "；".join(column_help(col, for_form=True))
    parts = ["必填" if col.required else "",
             *(p for p in column_help(col) if p != t.ValueType.word)]
    return "；".join(p for p in parts if p)


def descriptions(sheet: Sheet, *, for_form: bool = True) -> dict[str, str]:
    """Help texts by field. No empty ones: FAB's API runs each through gettext, and
    gettext("") is the catalogue's header."""
    out = {c.field: description(c, for_form=for_form) for c in sheet.stored}
    return {k: v for k, v in out.items() if v}


def search_fields(sheet: Sheet) -> list[str]:
    """The declared search fields, plus the boolean derived values (双资质, 已过期)."""
    extra = [n for n in derived_fields(sheet) if is_boolean(sheet, n)]
    return list(dict.fromkeys([*sheet.search, *extra]))


def is_boolean(sheet: Sheet | None, name: str) -> bool:
    if sheet is None:
        return False
    if name in sheet.computed and is_hybrid(sheet.model, name):
        return isinstance(getattr(sheet.model, name).type, sa.Boolean)  # its SQL expression
    return any(c.field == name and isinstance(c.type, t.Boolean) for c in sheet.stored)


def record_label(sheet: Sheet, label: str, record: dict, mask) -> str:
    """How a record is named on screen: its key, and when the key is an ID number that may be
    masked, also its first required text (姓名), or masked records would all look alike."""
    extra = name_beside(sheet, record)
    return mask(label) + (f"（{extra}）" if extra else "")
