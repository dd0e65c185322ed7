"""系统 › 操作日志 and 导出记录 (administrators), and restoring a record from its history
(科长, 管理员). Nothing here edits or deletes the trail: the views only read it, and a
restore is a record command that adds to it."""
from __future__ import annotations

import tempfile

import sqlalchemy as sa
from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from openpyxl import Workbook

from .. import db
from ..audit import SOURCES
from ..models import Change, ExportRecord, now
from ..sheets import records
from ..sheets.declare import sheets
from .commands import web_actor
from .history import change_rows, log_filters, log_query, subjects, user_name
from .screens import TEMPLATES, view_for
from .security import has_permission

CATEGORY = "系统"
PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOG_HEADERS = ("时间", "操作人", "来源", "导入批次", "清单", "记录", "操作", "版本",
               "变更内容（原值 → 新值）", "原因与说明")


class AuditLogView(BaseView):
    """操作日志: the whole trail, filtered by user, list, record, date range, source and import
    batch; exported as a workbook. Read-only: it has no route that writes."""
    route_base = "/audit"
    class_permission_name = "AuditLog"
    template_folder = TEMPLATES
    default_view = "list"

    @expose("/", methods=["GET"])
    @has_access
    @permission_name("list")
    def list(self):
        filters = log_filters(request.args)
        stmt = log_query(filters)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(
            stmt.order_by(None).subquery()))
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(request.args.get("page", 1, type=int), 1), pages)
        changes = db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        users = [(u.id, user_name(u)) for u in db.session.scalars(
            sa.select(self.appbuilder.sm.user_model).order_by("username"))]
        return self.render_template(
            "qingdan/audit_log.html", title="操作日志", rows=change_rows(changes),
            filters=filters, users=users, subjects=subjects(), sources=SOURCES, total=total,
            page=page, pages=pages, can_export=has_permission(("can_export", "AuditLog")))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        """The filtered log as a workbook, streamed from disk."""
        stmt = log_query(log_filters(request.args))
        out = tempfile.TemporaryFile()
        write_log(db.session.scalars(stmt.execution_options(yield_per=500)), out)
        out.seek(0)
        return send_file(out, mimetype=XLSX, as_attachment=True,
                         download_name=f"操作日志_{now():%Y%m%d}.xlsx")


def write_log(changes, out) -> int:
    """The changes as a workbook (one row each), in bounded memory."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("操作日志")
    for letter, width in zip("ABCDEFGHIJ", (19, 16, 10, 9, 16, 28, 8, 8, 60, 30)):
        ws.column_dimensions[letter].width = width
    ws.append(list(LOG_HEADERS))
    count = 0
    batch: list[Change] = []

    def flush():
        for c in change_rows(batch):
            ws.append([c["on"], c["who"], c["source"], c["batch_id"], c["list_title"],
                       c["label"], c["action"], c["version"],
                       "\n".join(f"{label}：{old or '（空）'} → {new or '（空）'}"
                                 for label, old, new in c["fields"]),
                       "；".join(filter(None, [f"恢复自第 {c['restored_version']} 版"
                                              if c["restored_version"] else "",
                                              c["reason"], c["summary"]]))])
        batch.clear()
    for change in changes:
        batch.append(change)
        count += 1
        if len(batch) >= 500:
            flush()
    flush()
    wb.save(out)
    return count


class RecordRestoreView(BaseView):
    """Bringing a record back to an earlier version, or a deleted record back (PERM_RESTORE:
    科长, 管理员), through the record commands: checked, refused with a reason, recorded."""
    route_base = "/records"
    class_permission_name = "Lists"  # can_restore on "Lists" (security.PERM_RESTORE)
    template_folder = TEMPLATES
    base_permissions = ["can_restore"]

    @expose("/restore/<int:change_id>", methods=["POST"])
    @has_access
    @permission_name("restore")
    def restore(self, change_id):
        change = db.session.get(Change, change_id)
        if change is None or sheets.get(change.slug) is None:
            abort(404)
        slug, record_id = change.slug, change.record_id
        result = records.restore(db.session, change_id,
                                 web_actor(reason=request.form.get("reason", "")))
        if result.ok:
            flash(f"已恢复：记录现为第 {result.version} 版，变更记录中已留档。", "success")
            return redirect(url_for(f"{view_for(slug).endpoint}.show", pk=record_id))
        for p in result.problems:
            flash(f"未恢复：{p.message}", "danger")
        return redirect(request.referrer or url_for(".deleted", slug=slug))

    @expose("/deleted/<slug>")
    @has_access
    @permission_name("restore")
    def deleted(self, slug):
        """The list's deleted records (the last deletion of each record not there now)."""
        sheet = sheets.get(slug)
        if sheet is None:
            abort(404)
        model = sheet.model
        last = (sa.select(sa.func.max(Change.id)).where(Change.slug == slug)
                .group_by(Change.record_id).scalar_subquery())
        stmt = (sa.select(Change).where(Change.id.in_(last), Change.action == "delete",
                                        ~sa.exists().where(model.id == Change.record_id))
                .order_by(Change.id.desc()).limit(500))
        rows = change_rows(db.session.scalars(stmt).all())
        try:
            list_url = url_for(f"{view_for(slug).endpoint}.list")
        except KeyError:
            list_url = None
        return self.render_template("qingdan/deleted.html", title=f"{sheet.title}：已删除的记录",
                                    rows=rows, sheet=sheet, list_url=list_url)


class ExportLogView(ModelView):
    """导出记录: every export of a list that holds ID numbers. Read-only."""
    datamodel = SQLAInterface(ExportRecord)
    route_base = "/export-log"
    class_permission_name = "ExportLog"
    base_permissions = ["can_list"]
    include_route_methods = {"list"}  # no add, edit, delete, show: not even as routes
    list_title = "导出记录"
    base_order = ("created_on", "desc")
    page_size = 50
    list_columns = ["created_on", "created_by", "list_title", "rows", "filters", "source"]
    search_columns = ["list_title", "created_by", "created_on", "source"]
    label_columns = {"created_on": "时间", "created_by": "操作人", "list_title": "清单",
                     "rows": "行数", "filters": "筛选条件", "source": "来源"}
    formatters_columns = {
        "created_on": lambda d: f"{d:%Y-%m-%d %H:%M:%S}" if d else "",
        "created_by": user_name,
        "filters": lambda f: f or "（全部记录）",
        "source": lambda s: {"web": "网页", "cli": "命令行"}.get(s, s),
    }


def register(appbuilder) -> None:
    appbuilder.add_view(AuditLogView, "操作日志", icon="fa-book", category=CATEGORY)
    appbuilder.add_view(ExportLogView, "导出记录", icon="fa-download", category=CATEGORY)
    appbuilder.add_view_no_menu(RecordRestoreView)
