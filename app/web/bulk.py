"""批量修改: one field set to one value on many records of a list — the rows ticked on the list
page, or the whole filtered list — previewed, then confirmed.

    /bulk/<list>?ids=…            (or ?all=1 and the list page's own filters)
        choose the field, then its value (the list's own form field: dropdown, picker …)
    POST /bulk/<list>/preview     each record: old → new, or why it cannot be changed
    POST /bulk/<list>/apply       each record through the record pipeline

Every record goes through `records.update` (app/sheets/records.py): the rules, keys, locks
and versions of a single save apply, and each change is on the audit trail (页面, reason
「批量修改」). The preview runs the same checks without writing (dry_run). Each record is
its own transaction and the result page says, row by row, what was saved and what was not
(a record changed by someone since the preview is refused, not overwritten). Keys and
unique columns are not offered: one value for many records would collide.
"""
from __future__ import annotations

from flask import abort, current_app, request, url_for
from flask_appbuilder import BaseView, expose
from flask_login import current_user

from ..sheets import records
from ..sheets.declare import Problem, Sheet, sheets
from ..sheets.records import Draft
from ..sheets.rows import describe_key, stored_values, with_parent_columns
from .assets import login_redirect
from .columns import record_label, screen_fields, shown
from .commands import web_actor
from .screens import TEMPLATES, filtered_query, view_for
from .security import can_see_id_numbers, has_permission

REASON = "批量修改"
DEFAULT_MAX = 500


def _max_rows() -> int:
    return int(current_app.config.get("QINGDAN_BULK_MAX_ROWS", DEFAULT_MAX))


def editable_fields(sheet: Sheet) -> list[str]:
    """The fields one value may be given for many records: not the key, no unique column,
    no ID number."""
    key = set(sheet.key)
    out = []
    for name in screen_fields(sheet):
        if name in key:
            continue
        if name in sheet.relations:
            if any(c.field in key for c in sheet.relations[name]):
                continue
        else:
            col = sheet.column(name)
            if col.unique or col.sensitive:
                continue
        out.append(name)
    return out


class BulkEditView(BaseView):
    route_base = "/bulk"
    template_folder = TEMPLATES
    default_view = "choose"

    # -- who and what
    def _list(self, slug: str):
        sheet = sheets.get(slug)
        if sheet is None:
            abort(404)
        if not current_user.is_authenticated:
            return sheet, None
        try:
            view = view_for(slug)
        except KeyError:
            abort(404)
        if not has_permission(("can_edit", view.class_permission_name)):
            abort(403)
        return sheet, view

    def _login(self):
        return login_redirect()

    def _selected(self, sheet: Sheet, args) -> tuple[list, bool]:
        """The records chosen (in the list's order) and whether there were more than allowed."""
        limit = _max_rows()
        session = self.appbuilder.session
        if args.get("all"):
            objs = session.scalars(filtered_query(sheet.slug, args).limit(limit + 1)).all()
        else:
            ids = sorted({int(i) for i in args.getlist("ids") if str(i).isdigit()})[:limit + 1]
            objs = [o for o in (session.get(sheet.model, i) for i in ids) if o is not None]
        return objs[:limit], len(objs) > limit

    def _label(self, sheet: Sheet, obj) -> str:
        record = stored_values(sheet, obj)
        mask = (lambda text: text) if can_see_id_numbers() else _mask
        return record_label(sheet, describe_key(sheet, record), record, mask)

    def _field(self, view, name: str):
        """The list's own form field (Flask-WTF reads a POST's form by itself)."""
        form = view.add_form.refresh()
        return form, form[name]

    def _text(self, sheet: Sheet, name: str, value) -> str:
        if name in sheet.relations:
            return "" if value is None else str(value)
        return shown(sheet.column(name), value)

    # -- step 1: the records, the field, its value
    @expose("/<slug>", methods=["GET"])
    def choose(self, slug):
        sheet, view = self._list(slug)
        if view is None:
            return self._login()
        objs, more = self._selected(sheet, request.args)
        fields = editable_fields(sheet)
        name = request.args.get("field")
        field = self._field(view, name)[1] if name in fields else None
        return self.render_template(
            "qingdan/bulk.html", step="choose", title=f"{sheet.title}：批量修改", sheet=sheet,
            objs=objs, more=more, limit=_max_rows(), fields=fields,
            labels=view.label_columns, chosen=name if field is not None else None,
            field=field, list_url=self._back(view), args=request.args,
            names=[self._label(sheet, o) for o in objs[:10]])

    def _back(self, view) -> str:
        return view._list_url() if hasattr(view, "_list_url") else url_for(f"{view.endpoint}.list")

    def _draft(self, sheet: Sheet, view, name: str):
        """The value typed for the field, read by the list's own form field, as a Draft."""
        form, field = self._field(view, name)
        field.validate(form)
        value = field.data if name in sheet.relations else getattr(field, "parsed", None)
        problems = [Problem(name, m) for m in field.errors]
        values = {name: value}
        if name in sheet.relations:
            values = with_parent_columns(sheet, values)
        return Draft(values, problems), value, field

    # -- step 2: what would change
    @expose("/<slug>/preview", methods=["POST"])
    def preview(self, slug):
        sheet, view = self._list(slug)
        if view is None:
            return self._login()
        name = request.form.get("field")
        if name not in editable_fields(sheet):
            abort(400)
        objs, more = self._selected(sheet, request.form)
        draft, value, field = self._draft(sheet, view, name)
        rows = []
        session = self.appbuilder.session
        for obj in objs:
            label, old = self._label(sheet, obj), self._text(sheet, name, getattr(obj, name))
            if draft.problems:
                rows.append(dict(id=obj.id, label=label, old=old, problems=draft.problems))
                continue
            result = records.update(session, sheet, obj.id, Draft(dict(draft.values)),
                                    web_actor(reason=REASON), dry_run=True)
            rows.append(dict(id=obj.id, version=result.version, label=label, old=old,
                             problems=result.problems, warnings=result.warnings,
                             same=result.ok and not result.written))
        return self.render_template(
            "qingdan/bulk.html", step="preview", title=f"{sheet.title}：批量修改（预览）",
            sheet=sheet, rows=rows, more=more, limit=_max_rows(), chosen=name,
            label=view.label_columns.get(name, name), new=self._text(sheet, name, value),
            field=field, raw=request.form.get(name, ""), list_url=self._back(view),
            args=request.form,
            changing=[r for r in rows if not r["problems"] and not r.get("same")])

    # -- step 3: each record through the pipeline
    @expose("/<slug>/apply", methods=["POST"])
    def apply(self, slug):
        sheet, view = self._list(slug)
        if view is None:
            return self._login()
        name = request.form.get("field")
        if name not in editable_fields(sheet):
            abort(400)
        draft, value, _field = self._draft(sheet, view, name)
        session = self.appbuilder.session
        wanted = [(int(i), int(v)) for i, v in (p.split(":", 1) for p in
                  request.form.getlist("rows") if ":" in p) if i.isdigit() and v.isdigit()]
        done, refused = [], []
        for record_id, version in wanted[:_max_rows()]:
            obj = session.get(sheet.model, record_id)
            label = self._label(sheet, obj) if obj is not None else f"#{record_id}"
            if draft.problems:
                refused.append((label, [p.message for p in draft.problems]))
                continue
            result = records.update(session, sheet, record_id, Draft(dict(draft.values)),
                                    web_actor(reason=REASON), version=version)
            if result.ok:
                done.append(label)
            else:
                refused.append((label, [p.message for p in result.problems]))
        return self.render_template(
            "qingdan/bulk.html", step="done", title=f"{sheet.title}：批量修改结果", sheet=sheet,
            done=done, refused=refused, label=view.label_columns.get(name, name),
            new=self._text(sheet, name, value), list_url=self._back(view))


def _mask(text: str) -> str:
    from ..sheets.values import mask_id_number
    return mask_id_number(text) or ""


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(BulkEditView)
