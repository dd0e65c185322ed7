"""The screens of background jobs (app/jobs.py): a job's progress bar, its file when done;
and the export job, which writes a list as its page filtered it, as the user who asked.
Other kinds (the import jobs, import_jobs.py) say through register_screens which phases
they go through and where a finished job sends the user (the preview, the import batch).

A job belongs to the user who submitted it: anyone else's is "not found". The page refreshes
itself (a meta refresh, no script) until the job is done or failed.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    stream_with_context,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import jobs
from ..audit import record_export
from ..sheets.declare import sheets
from ..sheets.exporting import count_at_most, export_rows
from ..sheets.writer import write_export_rows
from .screens import filtered_query
from .security import PERM_EXPORT, can_export

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REFRESH_SECONDS = 2
PHASE_LABELS = {"read": "读取", "check": "检查", "keep": "保存预览", "write": "写入"}


@dataclass
class JobScreens:
    """How the screens show a kind of job: its phases in order, where a finished job sends
    its user (a URL, or None: the job's own page), and links offered on that page."""
    phases: tuple[str, ...] = ()
    landing: Callable | None = None
    links: Callable | None = None


_SCREENS: dict[str, JobScreens] = {}


def register_screens(kind_name: str, screens: JobScreens) -> None:
    _SCREENS[kind_name] = screens


@dataclass
class PhaseRow:
    label: str
    text: str
    state: str  # "done", "running", "waiting"


def _phase_text(name: str, done: int, total: int | None, rows: int | None) -> str:
    if name == "check":  # counted in steps; the rows are those read
        of = f"{rows:,} 行，" if rows is not None else ""
        return f"{of}第 {done} / {total} 步" if total else f"{of}开始"
    if total is None:
        return "进行中"
    if name == "read":
        return f"{total:,} 行"
    return f"{done:,} / {total:,} 条" if name == "write" else f"{total:,} 行"


def phase_rows(job) -> list[PhaseRow]:
    """Each phase of the job with its counts (读取 12,000 行, 检查 第 3 / 6 步 …)."""
    screens = _SCREENS.get(job.kind)
    if screens is None or not screens.phases:
        return []
    seen = job.phases or {}
    rows = (seen.get("read") or [None, None])[1]
    out = []
    for name in screens.phases:
        label = PHASE_LABELS.get(name, name)
        if name not in seen:
            out.append(PhaseRow(label, "", "waiting"))
            continue
        done, total = seen[name]
        finished = job.status == jobs.DONE or name != job.phase
        out.append(PhaseRow(label, _phase_text(name, done, total, rows),
                            "done" if finished else "running"))
    return out


def percent(job) -> int:
    """The bar: over the phases of the kind, each an equal share."""
    screens = _SCREENS.get(job.kind)
    if job.status == jobs.DONE or screens is None or not screens.phases or not job.phases:
        return job.percent
    names = list(screens.phases)
    current = job.phase if job.phase in names else names[0]
    done, total = job.phases.get(current, [0, None])
    part = min(1.0, done / total) if total else 0.0
    return min(99, int(100 * (names.index(current) + part) / len(names)))


def export_in_background(sheet, args, user_id: int):
    """Submit the export of `sheet` as its list page filters it (`args`, the page's query
    string) and send the user to the job's page."""
    job_id = jobs.submit("export", slug=sheet.slug, user_id=user_id,
                         params={"args": list(args.items(multi=True))})
    return redirect(url_for("JobsView.show", job_id=job_id))


@jobs.kind("export", label="导出")
def export_job(job, progress) -> jobs.JobResult:
    sheet = sheets.get(job.slug)
    if sheet is None:
        raise jobs.JobFailed(f"清单「{job.slug}」已不存在，无法导出。")
    args = MultiDict([tuple(pair) for pair in job.params.get("args", [])])
    with _as_user(job.user_id, f"/lists/{sheet.slug}/export", args):
        # Checked again: the user's rights may have changed since the job was submitted.
        if not can_export(sheet):
            raise jobs.JobFailed(f"您已没有导出「{sheet.title}」的权限，未导出。")
        stmt = filtered_query(sheet.slug, args)
        session = current_app.appbuilder.session
        total = count_at_most(stmt, sheet, session, 10**9)
        progress(0, total)
        out = tempfile.TemporaryFile()
        n = write_export_rows(sheet, export_rows(sheet, stmt, session), out,
                              progress=lambda done: progress(done, total))
        if any(c.sensitive for c in sheet.columns):  # who took which ID numbers away
            record_export(session, sheet, n, user_id=job.user_id, source="job",
                          filters="&".join(f"{k}={v}" for k, v in args.items(multi=True)))
            session.commit()
    stamp = f"{dt.date.today():%Y%m%d}"
    return jobs.JobResult(out, f"{sheet.title}_{stamp}.xlsx", f"已导出 {n:,} 条记录。")


class _as_user:
    """A request context in which the job's user is the current user: the list's filters,
    masking and permissions are worked out exactly as on that user's own page."""

    def __init__(self, user_id: int, path: str, args: MultiDict):
        self.user_id, self.path, self.args = user_id, path, args

    def __enter__(self):
        app = current_app._get_current_object()
        user = app.appbuilder.sm.get_user_by_id(self.user_id)
        if user is None or not user.is_active:
            raise jobs.JobFailed("提交任务的用户已不存在或已停用，任务未执行。")
        self.ctx = app.test_request_context(self.path, query_string=self.args)
        self.ctx.push()
        # Flask-Login's own slot for the request's user: current_user is the job's user,
        # without signing in (login_user would start a login session and record a sign-in).
        g._login_user = user
        g.user = user
        return user

    def __exit__(self, *exc):
        self.ctx.pop()
        return False


class JobsView(BaseView):
    """后台任务: one job's progress and result."""
    route_base = "/jobs"
    # The export permission, which every role that may import also has (security.py); no
    # permission of its own, so no role needs to learn about this screen. The import jobs
    # check the import permission themselves.
    class_permission_name = PERM_EXPORT[1]
    default_view = "list"

    def _own_or_404(self, job_id: str):
        job = jobs.get_job(job_id, current_user.id)
        if job is None:
            abort(404)
        return job

    @expose("/")
    @has_access
    @permission_name("export")
    def list(self):
        rows = [(job, sheets[job.slug].title if sheets.get(job.slug) else job.slug,
                 percent(job)) for job in jobs.jobs_of(current_user.id)]
        return self.render_template("qingdan/jobs.html", rows=rows, title="我的后台任务")

    @expose("/<job_id>")
    @has_access
    @permission_name("export")
    def show(self, job_id):
        job = self._own_or_404(job_id)
        screens = _SCREENS.get(job.kind, JobScreens())
        if job.finished and screens.landing is not None:
            url = screens.landing(job)
            if url:
                return redirect(url)
        sheet = sheets.get(job.slug)
        return self.render_template(
            "qingdan/job.html", job=job,
            title=f"{sheet.title if sheet else job.slug}：{job.kind_label}",
            phases=phase_rows(job), percent=percent(job),
            links=screens.links(job) if screens.links is not None else [],
            refresh=None if job.finished else REFRESH_SECONDS)

    @expose("/<job_id>/file")
    @has_access
    @permission_name("export")
    def file(self, job_id):
        job = self._own_or_404(job_id)
        if job.status != jobs.DONE or not job.file_name:
            abort(404)
        # Streamed piece by piece from the database: memory stays flat for any size.
        response = Response(stream_with_context(jobs.result_chunks(job)), mimetype=XLSX)
        response.headers["Content-Length"] = str(job.file_size or 0)
        response.headers["Content-Disposition"] = (
            f"attachment; filename=export.xlsx; filename*=UTF-8''{quote(job.file_name)}")
        return response


def register(appbuilder) -> None:
    current_app.register_blueprint(
        Blueprint("qingdan_jobs", __name__, template_folder="templates"))
    appbuilder.add_view_no_menu(JobsView)
