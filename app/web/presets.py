"""Named filters of list screens: `?preset=<name>` selects the records of one SQL condition
that a list declares (`Sheet(presets=...)`, or `presets` on any ModelView), such as the
certificates expiring within the warning window. The dashboard links to them, so its counts
and the list pages they open come from the same condition.

A preset joins the page's other filters (search, paging and order keep working) and the
export of the page. An unknown name is ignored, as FAB ignores an unknown filter.
"""
from __future__ import annotations

from types import SimpleNamespace

from flask import has_request_context, request
from flask_appbuilder.models.filters import BaseFilter

from ..sheets.declare import Preset

ARG = "preset"


class FilterPreset(BaseFilter):
    """One preset as a FAB filter, so that FAB's count and page queries both apply it."""
    name = "预设筛选"
    arg_name = "qd_preset"
    from_code = True  # its value is the list's own Preset, never a typed one (checked_filters)

    def apply(self, query, value: Preset):
        return query.filter(value.where())


def preset_named(presets: dict[str, Preset], args) -> tuple[str, Preset] | None:
    name = (args.get(ARG) or "").strip()
    return (name, presets[name]) if name in presets else None


def with_preset(filters, presets: dict[str, Preset], args):
    """`filters` joined with the preset `args` name (a new Filters: FAB's may be shared)."""
    found = preset_named(presets, args)
    if found is None:
        return filters
    datamodel = filters.datamodel
    extra = SimpleNamespace(filters=[FilterPreset(datamodel.get_pk_name(), datamodel)],
                            values=[found[1]])
    return filters.get_joined_filters(extra)


class PresetFilters:
    """Mixin for a ModelView: its list applies the preset of the request (`presets` maps
    names to Preset; SheetView takes its list's). Templates call `active_preset()`."""
    presets: dict[str, Preset] = {}

    def active_preset(self) -> tuple[str, Preset] | None:
        """The preset of this request, on this view's own list page only (not on the related
        lists of another record's page, whose URL the argument does not address)."""
        if not has_request_context() or request.endpoint != f"{self.endpoint}.list":
            return None
        return preset_named(self.presets, request.args)

    def render_template(self, template, **kwargs):
        kwargs.setdefault("active_preset", self.active_preset())
        return super().render_template(template, **kwargs)

    def _get_list_widget(self, filters, **kwargs):
        if self.active_preset() is not None:
            filters = with_preset(filters, self.presets, request.args)
        return super()._get_list_widget(filters=filters, **kwargs)
