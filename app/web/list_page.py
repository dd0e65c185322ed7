"""What a list's screens add to FAB's, for the clerk who lives in them:

- the search box (`?q=`, app/web/search.py), always in view, and the active filters as tags;
- a checkbox per row for bulk edit (app/web/bulk.py), for those who may edit;
- a row that may not be written (a review of a published batch, app/web/locks.py) without
  编辑 / 删除, and its edit page read-only, with the reason and a link to the batch;
- table cells styled from the declaration: long texts wrap with their line breaks, short
  values stay on one line (`column_classes`);
- after a record is added or edited, back to the list it was opened from (FAB goes back two
  steps of its history: after a failed save, that was the home page).
"""
from __future__ import annotations

from flask import redirect, request, session, url_for

from ..per_request import request_cache
from ..sheets import types as t
from .locks import lock_link, lock_reasons
from .search import ARG, filter_tags, search_labels, with_text_search
from .security import has_permission

LOCKED_TEMPLATE = "qingdan/locked.html"
STATUS, VALIDITY = "status", "validity"


def one_status(sheet, names: list[str], labels: dict[str, str]) -> list[str]:
    """A certificate or policy has a typed status (有效, 暂停 …) and a status derived with its
    dates (有效 / 已过期, app/models.ValidityWindow). Shown side by side they contradict
    each other (证书状态 有效, 有效状态 已过期): the screens show the derived one only, under
    the typed one's name and in its place. The form still edits the typed status."""
    if VALIDITY not in sheet.computed or STATUS not in names:
        return names
    labels[VALIDITY] = labels.get(STATUS, labels.get(VALIDITY, ""))
    return [VALIDITY if n == STATUS else n for n in names if n != VALIDITY]


def column_classes(sheet, list_columns) -> dict[str, str]:
    """CSS classes of a list's cells: qd-long (long text, keeps its line breaks), qd-text
    (a name or address: may wrap); everything else (codes, dates, amounts, 是/否) one line."""
    out = {}
    stored = {c.field: c for c in sheet.stored}
    for name in list_columns:
        col = stored.get(name)
        if col is None:
            if name in sheet.relations:
                out[name] = "qd-text"
            continue
        if isinstance(col.type, t.LongText):
            out[name] = "qd-long"
        elif isinstance(col.type, t.Text) and (col.type.max_length or 1000) > 100:
            out[name] = "qd-text"
    return out


class ListPage:
    """Mixed into SheetView (before RecordWrites): see the module's docstring."""
    column_classes: dict[str, str] = {}

    # -- the list
    def _get_list_widget(self, filters, **kwargs):
        if self.is_own_list_page():
            filters = with_text_search(filters, self.sheet, request.args)
        widgets = super()._get_list_widget(filters=filters, **kwargs)
        args = widgets["list"].template_args
        session_ = self.datamodel.session
        items = [session_.get(self.datamodel.obj, pk) for pk in args.get("pks", [])]
        args.update(row_locks=lock_reasons(self.sheet, session_, [i for i in items if i]),
                    selectable=self.is_own_list_page() and self.may_bulk_edit(),
                    column_classes=self.column_classes, list_label=self.sheet.title)
        return widgets

    def is_own_list_page(self) -> bool:
        """This view's own list page (not its list among another record's related lists)."""
        return request.endpoint == f"{self.endpoint}.list"

    def may_bulk_edit(self) -> bool:
        return has_permission(("can_edit", self.class_permission_name))

    def list_context(self) -> dict:
        """What the list template shows above the table."""
        if not self.is_own_list_page():
            return {}
        return dict(search_text=request.args.get(ARG, ""), search_arg=ARG,
                    search_labels=search_labels(self.sheet),
                    filter_tags=filter_tags(self, request.args),
                    may_bulk_edit=self.may_bulk_edit())

    # -- after a save: back to the list
    def _list_url(self) -> str:
        """The list page the record was opened from (with its filters), else the list."""
        own = url_for(f"{self.endpoint}.list")
        for url in reversed(session.get("page_history", [])):
            if url.split("?", 1)[0].endswith(own):
                return url
        return own

    def post_add_redirect(self):
        return redirect(self._list_url())

    def post_edit_redirect(self):
        return redirect(self._list_url())

    # -- a locked record: its edit page read-only
    def _edit(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None:
            reason = lock_reasons(self.sheet, self.datamodel.session, [item]).get(item.id)
            if reason:
                request_cache("locked_edit")[id(self)] = (reason, lock_link(self.sheet, item))
                return self._get_show_widget(pk, item)
        return super()._edit(pk)

    def render_template(self, template, **kwargs):
        locked = request_cache("locked_edit").get(id(self))
        if locked and template == self.edit_template:
            template = LOCKED_TEMPLATE
            kwargs.update(lock_reason=locked[0], lock_link=locked[1],
                          title=f"{self.sheet.title}：不能修改")
        if template == self.list_template:
            kwargs.update(self.list_context())
        return super().render_template(template, **kwargs)

