"""A list screen's add, edit and delete: the form read, the record command called
(app/sheets/records.py), its answer shown. FAB's own flow would populate the model and write
it through the interface; here the command checks, writes and records the change, and the
screen only maps its problems to the form's fields."""
from __future__ import annotations

from flask import abort, flash, request
from flask_appbuilder import baseviews as fab_baseviews

from ..sheets import records
from .commands import web_actor


class RecordWrites:
    """Mixed into SheetView (a FAB ModelView): add/edit/delete through the record commands."""

    def _session(self):
        return self.datamodel.session

    def _form_context(self):
        # As FAB's _add/_edit: a related list's "add" link prefills the parent (_flt_ args).
        fab_baseviews.get_filter_args(self._filters, disallow_if_not_in_search=False)
        return self._filters.get_relation_cols()

    def prefill_add(self, form, exclude_cols) -> None:
        """What a new record's form starts with (SheetView: a link's prefill)."""

    def _add(self):
        exclude_cols = self._form_context()
        if request.method != "POST":  # FAB's own GET, with the prefill
            form = self.add_form.refresh()
            self.prefill_add(form, exclude_cols)
            self.update_redirect()
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        form = self.add_form.refresh()
        self._fill_form_exclude_cols(exclude_cols, form)
        form.validate()
        result = records.create(self._session(), self.sheet, form.draft(), web_actor())
        if form.show(result):
            flash(self.add_row_message, "success")
            return None
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        if request.method != "POST":
            return super()._edit(pk)
        pages, page_sizes = fab_baseviews.get_page_args(), fab_baseviews.get_page_size_args()
        orders = fab_baseviews.get_order_args()
        exclude_cols = self._form_context()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        form = self.edit_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude_cols, form)
        form._id = pk
        form.validate()
        if form.stale is None:  # a stale form is shown again, not saved
            result = records.update(self._session(), self.sheet, pk, form.draft(),
                                    web_actor(), version=form.sent_version())
            if form.show(result):
                flash(self.edit_row_message, "success")
                return None
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(item, filters={}, orders=orders, pages=pages,
                                               page_sizes=page_sizes, widgets=widgets)

    def _delete(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        result = records.delete(self._session(), self.sheet, item.id, web_actor())
        if result.ok:
            flash(self.delete_row_message, "success")
        for p in result.problems:
            flash(p.message, "danger")
        self.update_redirect()
