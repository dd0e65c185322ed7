"""导出所选列: a list's records, as its page filters them, with the columns the clerk ticks —
remembered for the next time (per user and list, `ExportChoice`), beside the full export in
template form (which re-imports).

    /export-columns/<list>?<the list page's filters>     the columns, ticked as last time
    POST the same                                        the workbook; the choice is kept

The workbook is the template's first sheet cut to the chosen columns (the same headers,
formats and dropdowns: app/sheets/writer.py), so it reads like any export but, lacking
columns, does not update records when imported. Who may not see ID numbers whole is not
offered them, nor the columns that repeat what the number says (a note 「须与身份证号码一致」:
性别, 出生日期) — so such users can export the other columns of the experts' list too. An
export holding ID numbers is on the export log, as a full export is.
"""
from __future__ import annotations

import tempfile
from dataclasses import replace

from flask import abort, current_app, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_login import current_user
from sqlalchemy import select

from .. import db
from ..audit import record_export
from ..models import now
from ..preferences import ExportChoice
from ..sheets.declare import Col, Sheet, sheets
from ..sheets.exporting import export_query, records_for_export
from ..sheets.writer import write_export
from .assets import login_redirect
from .screens import TEMPLATES, filtered_query, view_for
from .security import PERM_EXPORT, can_see_id_numbers, has_permission

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FOLLOWS_ID = "身份证号码"  # a note naming the ID number: the column repeats what it says


def offered(sheet: Sheet) -> list[Col]:
    """The columns this user may export, in the template's order."""
    if can_see_id_numbers():
        return list(sheet.columns)
    has_ids = any(c.sensitive for c in sheet.columns)
    return [c for c in sheet.columns
            if not c.sensitive and not (has_ids and FOLLOWS_ID in c.note)]


def remembered(sheet: Sheet, user_id: int) -> list[str] | None:
    choice = db.session.scalar(select(ExportChoice).where(ExportChoice.user_id == user_id,
                                                          ExportChoice.slug == sheet.slug))
    return list(choice.fields) if choice is not None else None


def remember(sheet: Sheet, user_id: int, fields: list[str]) -> None:
    choice = db.session.scalar(select(ExportChoice).where(ExportChoice.user_id == user_id,
                                                          ExportChoice.slug == sheet.slug))
    if choice is None:
        db.session.add(ExportChoice(user_id=user_id, slug=sheet.slug, fields=fields))
    else:
        choice.fields = fields


def cut(sheet: Sheet, columns: list[Col]) -> Sheet:
    """The list's declaration with only these columns (no key: the file updates nothing)."""
    return replace(sheet, columns=tuple(columns), key=(), rules=(), public=None)


class ExportColumnsView(BaseView):
    route_base = "/export-columns"
    template_folder = TEMPLATES
    default_view = "choose"

    def _sheet(self, slug: str) -> Sheet:
        sheet = sheets.get(slug)
        if sheet is None:
            abort(404)
        try:
            view_for(slug)
        except KeyError:
            abort(404)
        if not has_permission(PERM_EXPORT):
            abort(403)
        return sheet

    @expose("/<slug>", methods=["GET", "POST"])
    def choose(self, slug):
        if not current_user.is_authenticated:
            return login_redirect()
        sheet = self._sheet(slug)
        columns = offered(sheet)
        if request.method == "POST":
            return self._export(sheet, columns)
        kept = remembered(sheet, current_user.id)
        chosen = set(kept) if kept is not None else {c.field for c in columns}
        return self.render_template(
            "qingdan/export_columns.html", title=f"{sheet.title}：导出所选列", sheet=sheet,
            columns=columns, chosen=chosen, args=request.args,
            hidden=len(columns) < len(sheet.columns),
            list_url=url_for(f"{view_for(slug).endpoint}.list") + (
                "?" + request.query_string.decode() if request.query_string else ""))

    def _export(self, sheet: Sheet, columns: list[Col]):
        wanted = set(request.form.getlist("fields"))
        chosen = [c for c in columns if c.field in wanted]
        if not chosen:
            return redirect(url_for(".choose", slug=sheet.slug, **request.args))
        remember(sheet, current_user.id, [c.field for c in chosen])
        db.session.commit()
        part = cut(sheet, chosen)
        filters = {k: v for k, v in request.form.items(multi=True)
                   if k not in ("fields", "csrf_token")}
        args = request.form.copy()
        stmt = export_query(sheet, filtered_query(sheet.slug, args))
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        out = tempfile.TemporaryFile()
        rows = write_export(part, records_for_export(sheet, stmt, db.session), out)
        if any(c.sensitive for c in chosen):  # who took which ID numbers away
            record_export(db.session, sheet, rows, user_id=current_user.id, filters=query)
            db.session.commit()
        current_app.logger.info("export of %s columns of %s by %s", len(chosen), sheet.slug,
                                current_user.id)
        out.seek(0)
        return send_file(out, mimetype=XLSX, as_attachment=True,
                         download_name=f"{sheet.title}_所选列_{now():%Y%m%d}.xlsx")


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(ExportColumnsView)
