"""The list screens, generated from the declarations: `build_view(sheet)` turns one Sheet
into a ModelView (list, show, add, edit, delete); `register()` adds every list's screens and
API under its group's menu. The only hand-written view is the power's "一项一表" page."""
from __future__ import annotations

import itertools
import os

import sqlalchemy as sa
from flask import abort, current_app, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder import baseviews as fab_baseviews
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup

from ..sheets.declare import Col, Sheet, sheets
from .api import build_api
from .columns import (
    camel,
    derived_fields,
    descriptions,
    is_hybrid,
    labels_of,
    parent_sheet,
    screen_fields,
    search_fields,
    shown,
    yes_no,
)
from .datamodel import SheetInterface
from .fab_fixes import PAGE_SIZE, get_page_args, get_page_size_args
from .filters import PerRequestFilters, apply_filter_args, checked_filters
from .forms import build_form, edit_form, search_extra_fields
from .history import record_history
from .links import link_formatters, linking_children, prefill_add, start_links
from .list_page import ListPage, column_classes, one_status
from .presets import PresetFilters, with_preset
from .saving import RecordWrites
from .search import with_text_search
from .security import (
    PERM_EXPORT,
    PERM_IMPORT,
    PERM_RESTORE,
    can_export,
    can_see_id_numbers,
    has_permission,
)

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# Copies of FAB templates that hard-code English; searched before FAB's own (see register()).
OVERRIDES = os.path.join(TEMPLATES, "overrides")

class SheetView(ListPage, RecordWrites, PresetFilters, PerRequestFilters, ModelView):
    """A list's screens. Subclassed per list by `build()`; attributes come from the Sheet.
    Adds, edits and deletes are record commands (RecordWrites); a record's page shows its
    history (变更记录); ?preset= applies a named filter (PresetFilters); the search box,
    filter tags, bulk selection and locked rows are ListPage's."""
    sheet: Sheet = None
    page_size = PAGE_SIZE
    template_folder = TEMPLATES  # FAB resolves "templates" inside its own package
    list_template = "qingdan/list.html"
    show_template = "qingdan/show.html"
    exclude_route_methods = {"download", "action", "action_post"}  # no files, no actions
    row_links: dict[str, tuple[str, str]] = {}  # list column -> (label, method of this view)

    add_row_message = "已新增记录"
    edit_row_message = "已保存修改"
    delete_row_message = "已删除记录"

    def _list(self, **kwargs):
        """FAB's _list with the order column checked (an unknown one is an SQL error in FAB,
        and ordering by a masked column would reveal it) and filters read per request."""
        name = self.__class__.__name__
        order_column, order_direction = fab_baseviews.get_order_args().get(name, ("", ""))
        if order_column not in self.order_columns:
            order_column, order_direction = "", ""
        filters = self._filters
        apply_filter_args(filters, request.args)
        widgets = self._get_list_widget(
            filters=filters, order_column=order_column, order_direction=order_direction,
            page=get_page_args().get(name), page_size=get_page_size_args().get(name),
            **kwargs)
        self.update_redirect()
        return self._get_search_widget(form=self.search_form.refresh(), widgets=widgets)

    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        """FAB's search widget, with only the filters this user may use (no 身份证号码 or
        出生日期 for who may not see them: datamodel.get_filters)."""
        widgets = super()._get_search_widget(form, exclude_cols, widgets)
        usable = self._filters.get_search_filters()
        search = widgets["search"]
        search.template_args["include_cols"] = [c for c in self.search_columns if c in usable]
        return widgets

    def render_template(self, template, **kwargs):
        kwargs.setdefault("sheet", self.sheet)
        kwargs.setdefault("view", self)
        return super().render_template(template, **kwargs)

    def history(self, pk) -> list[dict]:
        """The record's 变更记录, newest first, as the show page lists it."""
        return record_history(self.sheet, int(pk))

    def item_links(self, pk) -> list[tuple[str, str]]:
        """(label, url) of the pages of one record besides show/edit (e.g. 一项一表)."""
        return [(label, url_for(f"{self.endpoint}.{method}", pk=pk))
                for label, method in self.row_links.values()
                if has_permission((f"can_{method}", self.class_permission_name))]

    def start_links(self, pk) -> list[tuple[str, str]]:
        """(label, url) of the add forms of other lists that link to this record (发起警示约谈)."""
        return start_links(self.sheet, pk)

    def prefill_add(self, form, exclude_cols) -> None:
        prefill_add(self, form, exclude_cols)


class PowersView(SheetView):
    """行政权力清单, with "一项一表": one power, all its fields and its duties, printable."""
    row_links = {"link_table": ("一项一表", "table")}

    @expose("/table/<int:pk>")
    @has_access
    def table(self, pk):
        power = self.datamodel.get(pk, self._base_filters)
        if power is None:
            abort(404)
        fields = [(c.header, shown(c, getattr(power, c.field))) for c in self.sheet.stored]
        duties = sheets.for_model(type(power).duties.property.mapper.class_)
        columns = [c for c in duties.stored if c.field != "stage"]
        # power.duties is ordered by the stage's place in the procedure, then 序号.
        stages = [(stage, [[shown(c, getattr(d, c.field)) for c in columns] for d in group])
                  for stage, group in itertools.groupby(power.duties, lambda d: d.stage)]
        return self.render_template(
            "qingdan/power_table.html", title=f"{power.name}（一项一表）", power=power,
            fields=fields, duty_headers=[c.header for c in columns], stages=stages,
            stage_label=duties.column("stage").header, duties_title=duties.title)


VIEW_CLASSES: dict[str, type[SheetView]] = {"powers": PowersView}


def _formatter(col: Col):
    return lambda value: shown(col, value)


def _link_formatter(view_name: str, label: str, method: str):
    def link(pk):
        if not has_permission((f"can_{method}", view_name)):
            return ""
        url = url_for(f"{view_name}.{method}", pk=pk)
        return Markup('<a href="{}">{}</a>').format(url, label)
    return link


def build_view(sheet: Sheet) -> type[SheetView]:
    """The ModelView of one list, from its declaration alone."""
    model = sheet.model
    name = camel(sheet.slug)
    base = VIEW_CLASSES.get(sheet.slug, SheetView)
    labels = labels_of(sheet)
    fields = screen_fields(sheet)
    links = list(sheet.links)  # Sheet.links: on the screens only, after the columns
    labels.update({name: link.label for name, link in sheet.links.items()})
    derived = derived_fields(sheet)
    stored = {c.field: c for c in sheet.stored}

    shown_fields = one_status(sheet, fields + [n for n in derived if n not in fields], labels)
    list_columns = one_status(sheet, list(sheet.list_fields or fields[:6]), labels)
    list_columns += list(base.row_links)
    labels.update({k: label for k, (label, _m) in base.row_links.items()})
    hybrids = tuple(n for n in list_columns if is_hybrid(model, n))
    order_columns = [n for n in list_columns
                     if (n in stored and not stored[n].sensitive) or n in hybrids]
    formatters = {n: _formatter(c) for n, c in stored.items()}
    formatters.update({n: yes_no for n in derived if is_hybrid(model, n)})
    formatters.update({k: _link_formatter(f"{name}View", label, method)
                       for k, (label, method) in base.row_links.items()})
    formatters.update(link_formatters(sheet))
    datamodel = SheetInterface.for_sheet(sheet)
    datamodel.derived_columns = hybrids
    form = build_form(sheet, labels)
    return type(f"{name}View", (base,), dict(
        sheet=sheet, datamodel=datamodel, route_base=f"/{sheet.slug}",
        list_title=sheet.title, show_title=f"{sheet.title}：查看",
        add_title=f"{sheet.title}：新增", edit_title=f"{sheet.title}：编辑",
        label_columns=labels, description_columns=descriptions(sheet),
        list_columns=list_columns, order_columns=order_columns,
        base_order=datamodel.default_order,
        show_columns=shown_fields + links, column_classes=column_classes(sheet, list_columns),
        add_columns=fields + links, edit_columns=fields + links, add_form=form,
        edit_form=edit_form(form),
        search_columns=search_fields(sheet),
        search_form_extra_fields=search_extra_fields(sheet, labels),
        formatters_columns=formatters, presets=dict(sheet.presets),
    ))


def register(appbuilder) -> None:
    """Every declared list: its screens under its group's menu, and its API."""
    built = {s.slug: (build_view(s), build_api(s)) for s in sheets}
    # Related lists on a record's page (an agency's certificates …): every list whose
    # records name this one as their parent.
    for sheet in sheets:
        view = built[sheet.slug][0]
        view.related_views = [
            built[child.slug][0] for child in sheets
            if any(parent_sheet(child, rel) is sheet for rel in child.relations)
            or any(c is child for c, _link in linking_children(sheet))]
    for sheet in sheets.menu():  # Sheet.menu_order: 权责清单, 专家库, 技术服务机构, 抵押金与保险
        view, api = built[sheet.slug]
        appbuilder.add_view(view, sheet.title, category=sheet.group or "清单",
                            icon="fa-table")
        appbuilder.add_api(api)
    # FAB's blueprints come before ours in template lookup; only the app's own loader comes
    # first, so the overrides of FAB templates are put in front of it.
    current_app.jinja_loader = ChoiceLoader([FileSystemLoader(OVERRIDES),
                                             *filter(None, [current_app.jinja_loader])])
    current_app.jinja_env.globals.update(
        can_see_id_numbers=can_see_id_numbers, qd_has=has_permission,
        qd_can_export=can_export, PERM_IMPORT=PERM_IMPORT, PERM_EXPORT=PERM_EXPORT,
        PERM_RESTORE=PERM_RESTORE)


# ---------------------------------------------------------------------------- for others
def view_for(slug: str) -> SheetView:
    """The registered ModelView instance of a list (of the current app)."""
    for view in current_app.appbuilder.baseviews:
        if isinstance(view, SheetView) and view.sheet.slug == slug:
            return view
    raise KeyError(slug)


def filtered_query(slug: str, args) -> sa.Select:
    """The list's records as its page filters them by `args` (the page's query string):
    same filters and preset, built for this call only (#2367), in the declared order."""
    view = view_for(slug)
    filters = view.new_filters()
    apply_filter_args(filters, args)
    filters = with_preset(filters, view.presets, args)
    filters = with_text_search(filters, view.sheet, args)
    joined = checked_filters(filters.get_joined_filters(view._base_filters))
    stmt = joined.apply_all(sa.select(view.datamodel.obj))
    return stmt.order_by(*view.datamodel.sheet_order)

