"""Import and export screens, the same for every list: upload → preview → confirm, the error
workbook, the template, the export, and the history of imports with its undo.

The views only parse the request, call the engine (app/sheets) and render. Everything a
clerk's file can get wrong is said by the engine in Chinese; the views pass it on.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import PurePath

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_login import current_user
from sqlalchemy import and_, func, not_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from .. import db
from ..audit import IMPORT, record_export
from ..drafts import (
    ImportDraft,
    discard_oldest_drafts,
    keep_plan,
    kept_rows,
    kept_summary,
    purge_old_drafts,
)
from ..models import Change, ImportBatch, ImportFile, now
from ..settings import setting
from ..sheets.declare import Preset, sheets
from ..sheets.engine import (
    ImportRefused,
    StalePlan,
    UndoRefused,
    UnreadableFile,
    apply_plan,
    build_plan,
    undo_batch,
)
from ..sheets.errorbook import write_errorbook
from ..sheets.exporting import count_at_most, export_query, export_rows
from ..sheets.reader import Limits
from ..sheets.single_table import write_single_tables
from ..sheets.undo import undo_preview
from ..sheets.values import mask_id_number
from ..sheets.writer import write_export_rows, write_template
from .errors import message_page
from .history import change_rows
from .import_jobs import (
    APPLY,
    PLAN,
    draft_size,
    imported_message,
    in_background,
    is_large,
    open_job,
    open_jobs,
)
from .jobs import export_in_background
from .presets import PresetFilters
from .screens import filtered_query, view_for
from .security import PERM_UNDO, can_export, can_see_id_numbers, has_permission

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTIONS = {"create": "新增", "update": "更新", "unchanged": "无变化", "error": "错误",
           "delete": "删除"}
SOURCES = {"web": "网页", "cli": "命令行", "seed": "演示数据"}
CATEGORY = "导入导出"
STALE_PREVIEW = "记录在预览后已变化，请重新预览：下面是按当前数据重新生成的预览，核对后再确认导入。"
DISCARDED = ("未确认的导入预览每人最多保留 {n} 个：较早的{names}已作废（未导入任何记录），"
             "如仍需导入，请重新上传该文件。")
# MariaDB/MySQL refuse a statement over max_allowed_packet (16 MB by default), and the file is
# stored whole (draft, then batch): the clerk is told what to do instead of getting a 500.
NOT_STORED = ("文件未能保存到数据库，未导入任何记录：文件可能超过了数据库单次可接收的大小。"
              "请把文件拆分成几个较小的文件分批上传；如仍失败，请联系管理员。")


# ---------------------------------------------------------------------------- helpers
def _sheet_or_404(slug: str):
    sheet = sheets.get(slug)
    if sheet is None:
        abort(404)
    return sheet


def _limits() -> Limits:
    cfg = current_app.config
    return Limits(max_bytes=cfg.get("QINGDAN_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
                  max_rows=cfg.get("QINGDAN_MAX_ROWS", 200_000))


def _has_id_numbers(sheet) -> bool:
    return any(c.sensitive for c in sheet.columns)


# An ID number anywhere in a text (a value, a message, a record's label): 15 to 18 digits,
# full-width ones included (a cell as the clerk typed it), the last one possibly X.
_ID_LIKE = re.compile(r"(?<![\dA-Za-z])\d{14,17}[\dXx](?![\dA-Za-z])")


def _masker(sheet):
    """How this user sees texts of this list: ID numbers masked unless they may see them whole
    (spec §1). Messages quote the cell, so whole texts are masked, not only the ID column; a
    value of a sensitive column (出生日期: eight of the number's digits) is masked whole."""
    if not _has_id_numbers(sheet) or can_see_id_numbers():
        return lambda text, col=None: text

    def mask(text, col=None):
        if col is not None and col.sensitive:
            return col.masked(text) or ""
        return _ID_LIKE.sub(lambda m: mask_id_number(m[0]), text or "")
    return mask


def _plan_for(draft: ImportDraft):
    return build_plan(sheets[draft.slug], draft.content, draft.file_name, session=db.session,
                      complete=draft.complete, valid_only=draft.valid_only, limits=_limits())


def _own_draft_or_404(draft_id: str) -> ImportDraft:
    draft = db.session.get(ImportDraft, draft_id)
    # Someone else's draft is "not found", not "forbidden": its existence is not theirs to know.
    if draft is None or draft.user_id != current_user.id or sheets.get(draft.slug) is None:
        abort(404)
    return draft


def _download_name(name: str, suffix: str = "") -> str:
    stem = PurePath(name).stem or "导入文件"
    return f"{stem}{suffix}.xlsx"


def _send_xlsx(write, download_name: str):
    """Write a workbook to an anonymous temp file (removed when closed) and send it from
    disk: memory stays flat however long the list."""
    out = tempfile.TemporaryFile()
    write(out)
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=download_name)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _may_download(batch: ImportBatch) -> bool:
    """The original file carries whole ID numbers: it is for those who may see them, and for
    its uploader, who had it anyway."""
    sheet = sheets.get(batch.slug)
    return (sheet is None or not _has_id_numbers(sheet) or can_see_id_numbers()
            or batch.created_by_fk == current_user.id)


# ---------------------------------------------------------------------------- preview model
@dataclass
class ShownRow:
    """One row of the preview as the template shows it."""
    sheet: str
    row: int
    action: str
    label: str
    changes: list[tuple[str, str, str]]   # (field label, old, new)
    values: list[tuple[str, str]]         # (field label, value as it will be stored)
    issues: list                          # ShownIssues, masked


def _named(label: str, extra: str, mask) -> str:
    """A record as named on screen (see columns.record_label), from what a kept plan says."""
    return mask(label) + (f"（{extra}）" if extra else "")


def _shown(sheet, r, mask) -> ShownRow:
    cols = {c.header: c for c in sheet.stored}  # a sensitive column is masked whole
    return ShownRow(r.sheet, r.row, r.action, _named(r.label, r.extra, mask),
                    [(label, mask(old, cols.get(label)), mask(new, cols.get(label)))
                     for label, old, new in r.changes],
                    [(header, mask(value, cols.get(header))) for header, value in r.values],
                    [_masked(i, mask) for i in r.issues])


def _masked(issue, mask):
    return replace(issue, value=mask(issue.value), message=mask(issue.message))


def _preview_limit() -> int:
    return current_app.config.get("QINGDAN_PREVIEW_MAX_CHARS", 200)


def _keep(draft: ImportDraft, plan):
    """Keep the plan with the draft: the preview pages from it (the caller commits)."""
    return keep_plan(db.session, draft, plan, limit=_preview_limit())


def _preview_context(draft: ImportDraft, summary, show: str, page: int) -> dict:
    """One page of the kept preview: the summary and the page's rows, from the database."""
    sheet = sheets[draft.slug]
    mask = _masker(sheet)
    counts = summary.counts
    show = show if show in ACTIONS else ""
    total = counts.get(show, 0) if show else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    window = kept_rows(db.session, draft, action=show, offset=(page - 1) * PAGE_SIZE,
                       limit=PAGE_SIZE)
    return dict(
        draft=draft, plan=summary, sheet=sheet, counts=counts,
        warning_count=summary.warning_count, error_count=summary.error_count,
        file_issues=[_masked(i, mask) for i in summary.file_issues],
        rows=[_shown(sheet, r, mask) for r in window], show=show, page=page, pages=pages,
        total=total, actions=ACTIONS, size=_size(summary.file_size),
    )


# ---------------------------------------------------------------------------- the wizard
class ListsView(BaseView):
    """Template, export and the import wizard of every list (the slug names the list)."""
    route_base = "/lists"
    class_permission_name = "Lists"   # permissions read can_import / can_export on "Lists"
    default_view = "upload"

    @expose("/<slug>/template")
    @has_access
    @permission_name("import")
    def template(self, slug):
        sheet = _sheet_or_404(slug)
        return _send_xlsx(lambda out: write_template(sheet, out), f"{sheet.title}_导入模板.xlsx")

    @expose("/<slug>/export")
    @has_access
    @permission_name("export")
    def export(self, slug):
        sheet = _sheet_or_404(slug)
        if not can_export(sheet):
            # An export is for re-import, so it carries whole ID numbers.
            return message_page(f"「{sheet.title}」含有身份证号码，导出文件包含完整号码，"
                                 "只有有权查看完整证件号码的用户才能导出。"
                                 "如需导出，请联系管理员。", 403, "无权导出")
        # The list as its screen shows it, filtered by the same query string; a large one
        # is written in the background (app/jobs.py), with a progress page.
        stmt = filtered_query(slug, request.args)
        limit = current_app.config.get("QINGDAN_EXPORT_JOB_ROWS", 20_000)
        if count_at_most(stmt, sheet, db.session, limit + 1) > limit:
            return export_in_background(sheet, request.args, current_user.id)

        def write(out):
            rows = write_export_rows(sheet, export_rows(sheet, stmt, db.session), out)
            if _has_id_numbers(sheet):  # who took which ID numbers away, and how many
                record_export(db.session, sheet, rows, user_id=current_user.id,
                              filters=request.query_string.decode("utf-8", "replace"))
                db.session.commit()
        return _send_xlsx(write, f"{sheet.title}_{now():%Y%m%d}.xlsx")

    @expose("/powers/single-tables")
    @has_access
    @permission_name("export")
    def single_tables(self):
        """"一项一表": the powers as filtered on screen, one worksheet per power."""
        from sqlalchemy.orm import selectinload
        powers, duties = sheets["powers"], sheets["responsibilities"]
        stmt = export_query(powers, filtered_query("powers", request.args)).options(
            selectinload(powers.model.duties))
        return _send_xlsx(
            lambda out: write_single_tables(powers, duties, db.session.scalars(stmt), out),
            f"行政权力清单_一项一表_{now():%Y%m%d}.xlsx")

    @expose("/import", methods=["GET", "POST"])
    @expose("/<slug>/import", methods=["GET", "POST"])
    @has_access
    @permission_name("import")
    def upload(self, slug=None):
        slug = slug or request.values.get("slug") or None
        sheet = sheets.get(slug) if slug else None
        if slug and sheet is None:
            abort(404)
        if request.method == "GET":
            return self._upload_form(sheet)
        options = {"complete": bool(request.form.get("complete")),
                   "valid_only": bool(request.form.get("valid_only"))}
        upload = request.files.get("file")
        if sheet is None:
            return self._upload_form(None, options, "请先选择要导入的清单。")
        if upload is None or not upload.filename:
            return self._upload_form(sheet, options, "请选择要上传的文件。")
        data = upload.read()
        file_name = PurePath(upload.filename.replace("\\", "/")).name[:255]
        # A large file is planned in the background (import_jobs.py): kept first, unread.
        plan = None
        if not is_large(len(data)):
            try:
                plan = build_plan(sheet, data, file_name, session=db.session,
                                  limits=_limits(), **options)
            except UnreadableFile as exc:  # nothing is stored
                db.session.rollback()
                return self._upload_form(sheet, options, str(exc))
        purge_old_drafts(db.session)
        # A clerk who uploads again usually replaces an attempt: the oldest previews go.
        keep = max(current_app.config.get("QINGDAN_MAX_OPEN_DRAFTS", 5), 1)
        discarded = discard_oldest_drafts(db.session, current_user.id, keep - 1)
        draft = ImportDraft(slug=sheet.slug, user_id=current_user.id, file_name=file_name,
                            content=data, options=options)
        db.session.add(draft)
        try:
            db.session.flush()
            if plan is not None:
                _keep(draft, plan)  # the preview pages from it
            db.session.commit()
        except DBAPIError:
            db.session.rollback()
            current_app.logger.exception("import draft of %s bytes not stored", len(data))
            return self._upload_form(sheet, options, NOT_STORED)
        if discarded:
            flash(DISCARDED.format(n=keep, names="、".join(f"「{n}」" for n in discarded)),
                  "info")
        if plan is None:
            return in_background(PLAN, draft)
        return redirect(url_for(".preview", draft_id=draft.id))

    def _upload_form(self, sheet, options=None, error=None):
        groups: dict[str, list] = {}
        for s in sheets:
            groups.setdefault(s.group or "其他", []).append(s)
        return self.render_template(
            "imports/upload.html", sheet=sheet, groups=groups, options=options or {},
            error=error, max_mb=_limits().max_bytes / 1024 / 1024,
            running=[(j, sheets[j.slug].title if sheets.get(j.slug) else j.slug)
                     for j in open_jobs(current_user.id)],
            list_url=_list_url(sheet.slug) if sheet else None), 400 if error else 200

    @expose("/imports/<draft_id>")
    @has_access
    @permission_name("import")
    def preview(self, draft_id):
        """A page of the plan kept with the draft: the file is not read again (confirming
        plans it afresh and says so when the records changed meanwhile)."""
        draft = _own_draft_or_404(draft_id)
        job = open_job(draft.id, current_user.id)
        if job is not None:  # being planned, or imported: its progress
            return redirect(url_for("JobsView.show", job_id=job.id))
        summary = kept_summary(draft)
        if summary is None:  # a draft kept without its plan: plan it once, and keep it
            if is_large(draft_size(draft)):
                return in_background(PLAN, draft)
            try:
                summary = _keep(draft, _plan_for(draft))
            except UnreadableFile as exc:
                db.session.rollback()
                return message_page(str(exc), 400, "文件无法读取")
            db.session.commit()
        context = _preview_context(draft, summary, request.args.get("show", ""),
                                   request.args.get("page", 1, type=int))
        return self.render_template("imports/preview.html", **context,
                                    list_url=_list_url(draft.slug))

    @expose("/imports/<draft_id>/confirm", methods=["POST"])
    @has_access
    @permission_name("import")
    def confirm(self, draft_id):
        draft = _own_draft_or_404(draft_id)
        job = open_job(draft.id, current_user.id)
        if job is not None:  # a second click: the import already under way
            return redirect(url_for("JobsView.show", job_id=job.id))
        if is_large(draft_size(draft)):  # planned afresh and written in the background
            return in_background(APPLY, draft)
        plan = _plan_for(draft)
        back = redirect(url_for(".preview", draft_id=draft.id))
        if plan.fingerprint() != draft.fingerprint:
            _keep(draft, plan)  # the clerk now sees the records as they are
            db.session.commit()
            flash(STALE_PREVIEW, "danger")
            return back
        data, file_name = draft.content, draft.file_name
        # Deleting the draft in the import's own transaction: imported and gone, or neither.
        # A second confirm (double click, another tab) then finds nothing to import.
        db.session.delete(draft)
        try:
            batch = apply_plan(plan, session=db.session, user_id=current_user.id,
                               source="web", data=data)
        except (ImportRefused, StalePlan) as exc:
            db.session.rollback()  # the draft stays
            flash(str(exc), "danger")
            return back
        except StaleDataError:
            db.session.rollback()
            flash("这个文件已经确认导入过了，请在导入记录中查看。", "warning")
            return redirect(url_for("ImportBatchView.list"))
        except DBAPIError:  # apply_plan has rolled back: nothing written, the draft kept
            current_app.logger.exception("import of draft %s not stored", draft_id)
            flash(NOT_STORED, "danger")
            return back
        flash(imported_message(file_name, batch, plan), "success")
        return redirect(url_for("ImportBatchView.show", pk=batch.id))

    @expose("/imports/<draft_id>/errors.xlsx")
    @has_access
    @permission_name("import")
    def errors(self, draft_id):
        draft = _own_draft_or_404(draft_id)
        plan = _plan_for(draft)
        mask = _masker(plan.sheet)  # its messages as the preview shows them
        return _send_xlsx(lambda out: write_errorbook(plan, out, shown=lambda i: _masked(i, mask)),
                          _download_name(draft.file_name, "_错误说明"))

    @expose("/imports/batch/<int:batch_id>/file")
    @has_access
    @permission_name("import")
    def batch_file(self, batch_id):
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None or batch.file is None:
            abort(404)
        if not _may_download(batch):
            return message_page(f"「{batch.list_title}」的原始文件含有完整的身份证号码，"
                                 "只有有权查看完整证件号码的用户和上传者本人才能下载。",
                                 403, "无权下载")
        return send_file(io.BytesIO(batch.file.content), as_attachment=True,
                         mimetype="application/octet-stream", download_name=batch.file_name)

    @expose("/imports/batch/<int:batch_id>/undo", methods=["GET", "POST"])
    @has_access
    @permission_name("undo")
    def undo(self, batch_id):
        """GET, or a POST that does not come from it (the button on the batch's page): the
        confirmation page, with the counts of what the undo removes and restores. POST from
        the confirmation page: the undo."""
        if request.method == "POST" and request.form.get("confirmed") == "1":
            batch = db.session.get(ImportBatch, batch_id)
            mask = _masker(sheets[batch.slug]) if batch is not None else (lambda t: t)
            try:
                undo_batch(batch_id, session=db.session, user_id=current_user.id)
            except UndoRefused as exc:
                flash(mask(str(exc)), "danger")
            else:
                flash(f"导入批次 {batch_id} 已撤销：它新增的记录已删除，修改和删除的记录已恢复。",
                      "success")
            return redirect(url_for("ImportBatchView.show", pk=batch_id))
        preview = undo_preview(batch_id, session=db.session)
        if preview is None or sheets.get(preview.batch.slug) is None:
            abort(404)
        mask = _masker(sheets[preview.batch.slug])
        return self.render_template(
            "imports/undo_confirm.html", title=f"确认撤销导入批次 #{batch_id}", p=preview,
            refused=mask(preview.refused) if preview.refused else None)


def _list_url(slug: str) -> str | None:
    """The list's own screen, when the generic screens have one for it."""
    try:
        return url_for(f"{view_for(slug).endpoint}.list")
    except KeyError:
        return None


# ---------------------------------------------------------------------------- history
def _options_text(options: dict | None) -> str:
    options = options or {}
    return "；".join([
        "按完整清单导入" if options.get("complete") else "不删除文件中没有的记录",
        "只导入无错误的行" if options.get("valid_only") else "有错误时不导入",
    ])


def recent_with_errors():
    """Imports of the last RECENT_IMPORT_DAYS days that skipped rows with errors (not undone)."""
    since = now() - dt.timedelta(days=int(setting("RECENT_IMPORT_DAYS")))
    return and_(ImportBatch.errors > 0, not_(ImportBatch.undone), ImportBatch.created_on >= since)


class ImportBatchView(PresetFilters, ModelView):
    """导入记录: every import, with its file, its changes and an undo. Read-only."""
    datamodel = SQLAInterface(ImportBatch)
    list_template = "qingdan/list.html"
    presets = {"recent_errors": Preset(
        lambda: f"近 {setting('RECENT_IMPORT_DAYS')} 天内有错误行的导入", recent_with_errors)}
    route_base = "/imports"
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = "导入记录"
    base_order = ("created_on", "desc")
    page_size = 50
    list_columns = ["created_on", "list_title", "file_name", "file_size", "created_by",
                    "source", "created", "updated", "unchanged", "deleted", "errors", "undone"]
    search_columns = ["list_title", "file_name", "source", "undone", "created_on"]
    label_columns = {
        "created_on": "时间", "list_title": "清单", "file_name": "文件名", "file_size": "大小",
        "created_by": "操作人", "source": "来源", "created": "新增", "updated": "更新",
        "unchanged": "无变化", "deleted": "删除", "errors": "错误", "undone": "已撤销",
    }
    formatters_columns = {
        "file_size": _size,
        "source": lambda s: SOURCES.get(s, s),
        "undone": lambda b: "是" if b else "否",
        "created_on": lambda d: f"{d:%Y-%m-%d %H:%M}" if d else "",
    }

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        batch = db.session.get(ImportBatch, int(pk)) if str(pk).isdigit() else None
        if batch is None:
            abort(404)
        page = max(request.args.get("page", 1, type=int), 1)
        mine = (Change.batch_id == batch.id, Change.source == IMPORT)  # not its undo
        total = db.session.scalar(select(func.count()).select_from(Change).where(*mine))
        changes = db.session.scalars(select(Change).where(*mine)
                                     .order_by(Change.id).offset((page - 1) * PAGE_SIZE)
                                     .limit(PAGE_SIZE)).all()
        undone_by = (current_app.appbuilder.sm.get_user_by_id(batch.undone_by_fk)
                     if batch.undone_by_fk else None)
        return self.render_template(
            "imports/batch_show.html", title=self.show_title, batch=batch,
            changes=change_rows(changes), page=page,
            pages=max(1, -(-total // PAGE_SIZE)), total=total, undone_by=undone_by,
            options=_options_text(batch.options), size=_size(batch.file_size),
            source=SOURCES.get(batch.source, batch.source),
            # Whether a file is kept, without loading it (it may be 20 MB).
            has_file=_may_download(batch) and db.session.scalar(
                select(ImportFile.id).where(ImportFile.batch_id == batch.id)) is not None,
            can_undo=has_permission(PERM_UNDO) and not batch.undone)


# ---------------------------------------------------------------------------- registration
def _too_large(_exc):
    limit = current_app.config.get("QINGDAN_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
    return message_page(f"上传的文件超过了 {_size(limit)} 的上限，未能接收。"
                         "请删除无关的工作表、图片和多余的空行后再上传，"
                         "或拆分成几个文件分批上传。", 413, "文件太大")


def register(appbuilder) -> None:
    """Add the import/export screens and the 导入导出 menu."""
    # FAB's own blueprints look for templates in FAB's package; this one adds imports/*.html.
    current_app.register_blueprint(
        Blueprint("qingdan_imports", __name__, template_folder="templates"))
    appbuilder.add_view(ImportBatchView, "导入记录", icon="fa-history", category=CATEGORY)
    appbuilder.add_view(ListsView, "导入数据", icon="fa-upload", category=CATEGORY)
    # Flask sets MAX_CONTENT_LENGTH a little above the import limit; beyond it the request
    # is cut off before any view runs, and the clerk gets a page, not a bare error.
    current_app.register_error_handler(413, _too_large)
