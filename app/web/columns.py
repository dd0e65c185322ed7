"""What a list shows, from its declaration: labels, help texts, the fields of its screens, the
values derived from the stored ones (双资质, 有效状态), and how a stored value reads."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import HybridExtensionType

from ..sheets import types as t
from ..sheets.declare import Col, Sheet, sheets
from .security import can_see_id_numbers

# Values derived from the stored ones, never typed: shown (and, when boolean, filtered 是/否)
# wherever a list's model has them. Label by attribute name.
DERIVED = {"dual_qualified": "双资质", "validity": "有效状态", "expired": "已过期"}


def is_hybrid(model, name: str) -> bool:
    desc = sa.inspect(model).all_orm_descriptors.get(name)
    return desc is not None and desc.extension_type is HybridExtensionType.HYBRID_PROPERTY


def _is_property(model, name: str) -> bool:
    return isinstance(getattr(model, name, None), property)


def derived_fields(model) -> list[str]:
    return [n for n in DERIVED if is_hybrid(model, n) or _is_property(model, n)]


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
    labels.update({n: DERIVED[n] for n in derived_fields(sheet.model)})
    return labels


def description(col: Col) -> str:
    """Help text next to a form field: required or not, the type's description, the note."""
    describe = col.type.describe()
    parts = ["必填" if col.required else "",
             "" if describe == t.ValueType.word else describe,  # plain 文本 says nothing
             "" if col.note in describe else col.note]
    return "；".join(p for p in parts if p)


def descriptions(sheet: Sheet) -> dict[str, str]:
    """Help texts by field. No empty ones: FAB's API runs each through gettext, and
    gettext("") is the catalogue's header."""
    return {c.field: description(c) for c in sheet.stored if description(c)}


def search_fields(sheet: Sheet) -> list[str]:
    """The declared search fields, plus the boolean derived values (双资质, 已过期)."""
    extra = [n for n in derived_fields(sheet.model) if is_hybrid(sheet.model, n)]
    return list(dict.fromkeys([*sheet.search, *extra]))


def is_boolean(sheet: Sheet | None, name: str) -> bool:
    if sheet is None:
        return False
    if is_hybrid(sheet.model, name) and name in DERIVED:
        return True
    return any(c.field == name and isinstance(c.type, t.Boolean) for c in sheet.stored)
