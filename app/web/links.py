"""Links on the screens (Sheet.links): an optional reference from one list's record to another
list's record, set and shown on the screens only (an interview's 盲审报告).

The record with the link shows it as a link to the other record's page; the other record's
page lists the records linking to it (a related list, as for parents) and, when the link
declares a `start` ("发起警示约谈"), a button that opens the add form with the link set
(FAB's relation filter `_flt_0_<link>`, as a related list's add does) and the form prefilled
by the link's `prefill` (the agency, the reason): `prefill_add`, called on GET only.
"""
from __future__ import annotations

from flask import flash, url_for
from markupsafe import Markup

from ..sheets.declare import Sheet, sheets
from .columns import camel, parent_sheet, shown
from .security import has_permission


def endpoint_of(sheet: Sheet) -> str:
    return f"{camel(sheet.slug)}View"  # as screens.build_view names the view class


def link_formatters(sheet: Sheet) -> dict:
    """A link shows as a link to the other record's page (text only without the right)."""
    out = {}
    for name in sheet.links:
        target = parent_sheet(sheet, name)
        if target is None:
            continue
        out[name] = _to_page(endpoint_of(target))
    return out


def _to_page(endpoint: str):
    def link(obj):
        if obj is None:
            return ""
        if not has_permission(("can_show", endpoint)):
            return str(obj)
        return Markup('<a href="{}">{}</a>').format(url_for(f"{endpoint}.show", pk=obj.id), obj)
    return link


def linking_children(sheet: Sheet) -> list[tuple[Sheet, str]]:
    """(list, link) of every list whose records link to this list's records."""
    return [(child, name) for child in sheets for name in child.links
            if parent_sheet(child, name) is sheet]


def start_links(sheet: Sheet, pk) -> list[tuple[str, str]]:
    """(label, url) of the buttons that open another list's add form linked to this record."""
    out = []
    for child, name in linking_children(sheet):
        link = child.links[name]
        endpoint = endpoint_of(child)
        if link.start and has_permission(("can_add", endpoint)):
            out.append((link.start, url_for(f"{endpoint}.add", **{f"_flt_0_{name}": pk})))
    return out


def prefill_add(view, form, exclude_cols) -> None:
    """An add form opened from a linked record (its link in `exclude_cols`, FAB's relation
    filter): the link's `prefill` values in the form, and a message naming the record."""
    sheet = view.sheet
    for name, link in sheet.links.items():
        if name not in exclude_cols:
            continue
        obj = view.datamodel.get_related_obj(name, view._filters.get_filter_value(name))
        if obj is None:
            continue
        filled = []
        for field, value in (link.prefill(obj) if link.prefill else {}).items():
            if field not in form._fields:
                continue
            if field in sheet.relations:
                form[field].data = value
            else:
                form[field].data = shown(sheet.column(field), value)
            filled.append(view.label_columns.get(field, field))
        said = f"已按该记录填写{'、'.join(filled)}，" if filled else ""
        flash(f"本条「{sheet.title}」将关联{link.label}「{obj}」：{said}请核对后补全其余各项再保存。",
              "info")
