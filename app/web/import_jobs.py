"""Large imports as background jobs (app/jobs.py): planning an upload, confirming a draft.

A file above QINGDAN_IMPORT_JOB_KB is not planned in the upload request: the request keeps
the draft (the file, app/drafts.py) and submits an "import-plan" job, which plans it
(build_plan: 读取, 检查) and keeps the plan with the draft (keep_plan: 保存预览); the clerk
watches the job's page and lands on the usual preview. Confirming such a draft submits an
"import-apply" job: the file is planned afresh and compared with the preview's fingerprint,
then apply_plan writes it (写入) in one transaction, which also deletes the draft and marks
the job done (jobs.done_on_commit). Killed midway, that transaction is rolled back by the
database: nothing written, the draft kept, the job reported failed.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, url_for
from sqlalchemy import delete, event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import db, jobs
from ..drafts import ImportDraft, keep_plan, kept_summary
from ..models import ImportBatch
from ..sheets.declare import sheets
from ..sheets.engine import ImportRefused, StalePlan, UnreadableFile, apply_plan, build_plan
from .jobs import JobScreens, register_screens
from .security import PERM_IMPORT

PLAN, APPLY = "import-plan", "import-apply"
GONE = ("这份导入预览已不存在：可能已经确认导入（请在「导入记录」中查看），或已作废"
        "（超过一天未确认，或之后又上传了多个文件）。如仍需导入，请重新上传文件。")
CHANGED = ("记录在预览后已变化，未导入任何记录：已按当前数据重新生成预览，"
           "请核对后再确认导入。")
ALREADY = "这个文件已经确认导入过了，请在「导入记录」中查看。"
NO_RIGHT = "您已没有导入数据的权限，文件未处理，数据未作任何修改。"


def is_large(size: int | None) -> bool:
    """Whether a file of `size` bytes is planned and imported in the background."""
    return (size or 0) > current_app.config.get("QINGDAN_IMPORT_JOB_KB", 256) * 1024


def draft_size(draft: ImportDraft) -> int:
    summary = kept_summary(draft)
    return summary.file_size if summary is not None else len(draft.content)


def open_job(draft_id: str, user_id: int):
    """The unfinished import job of this draft, if there is one."""
    for job in jobs.jobs_of(user_id):
        if (job.kind in (PLAN, APPLY) and not job.finished
                and (job.params or {}).get("draft_id") == draft_id):
            return job
    return None


def open_jobs(user_id: int) -> list:
    """The user's import jobs still running: the upload page links to them."""
    return [j for j in jobs.jobs_of(user_id) if j.kind in (PLAN, APPLY) and not j.finished]


def in_background(kind_name: str, draft: ImportDraft):
    """Submit the planning or the confirming of `draft` and send the clerk to its page."""
    job_id = jobs.submit(kind_name, slug=draft.slug, user_id=draft.user_id,
                         params={"draft_id": draft.id})
    return redirect(url_for("JobsView.show", job_id=job_id))


def imported_message(file_name: str, batch: ImportBatch, plan) -> str:
    """What the clerk is told when a file has been imported (on the batch's page)."""
    skipped = plan.count("error")
    return (f"「{file_name}」已导入{sheets[batch.slug].title}：新增 {batch.created} 条，"
            f"更新 {batch.updated} 条，无变化 {batch.unchanged} 条，删除 {batch.deleted} 条"
            + (f"，跳过有错误的行 {skipped} 行" if skipped else "")
            + "。如有误，可在本页撤销。")


# ---------------------------------------------------------------------------- the jobs
def _reporter(progress):
    """The engine's progress(phase, done, total) as the job's. SQLite has a single writer:
    once an import writes, a progress report from another connection would wait for that very
    transaction, so on SQLite the write phase reports only its start (before any write)."""
    sqlite = db.engine.dialect.name == "sqlite"

    def report(phase: str, done: int, total: int | None) -> None:
        if sqlite and phase == "write" and done:
            return
        progress(done, total, phase)
    return report


def _draft_of(job) -> ImportDraft:
    draft = db.session.get(ImportDraft, (job.params or {}).get("draft_id") or "")
    if draft is None or draft.user_id != job.user_id or sheets.get(draft.slug) is None:
        raise jobs.JobFailed(GONE)
    # Checked again: the user's rights may have changed since the job was submitted. (Not
    # by signing the user in, as the export does: that would open a login session.)
    sm = current_app.appbuilder.sm
    user = sm.get_user_by_id(job.user_id)
    if user is None or not user.is_active or not sm._has_view_access(user, *PERM_IMPORT):
        raise jobs.JobFailed(NO_RIGHT)
    return draft


def _plan(draft: ImportDraft, report):
    from .imports import _limits  # the wizard's limits (imports.py imports this module)
    return build_plan(sheets[draft.slug], draft.content, draft.file_name, session=db.session,
                      complete=draft.complete, valid_only=draft.valid_only, limits=_limits(),
                      progress=report)


def _keep(draft: ImportDraft, plan, report) -> None:
    from .imports import _preview_limit
    report("keep", 0, len(plan.rows) + len(plan.deletions))
    keep_plan(db.session, draft, plan, limit=_preview_limit())


@jobs.kind(PLAN, label="导入预览")
def plan_job(job, progress) -> jobs.JobResult:
    draft = _draft_of(job)
    report = _reporter(progress)
    try:
        plan = _plan(draft, report)
    except UnreadableFile as exc:  # as in the request: a file that cannot be read is not kept
        db.session.rollback()
        db.session.execute(delete(ImportDraft).where(ImportDraft.id == draft.id))
        db.session.commit()
        raise jobs.JobFailed(str(exc)) from exc
    try:
        _keep(draft, plan, report)  # committed with the job's state (jobs.run)
    except (StaleDataError, IntegrityError) as exc:  # the draft was discarded meanwhile
        db.session.rollback()
        raise jobs.JobFailed(GONE) from exc
    return jobs.JobResult(message=f"「{draft.file_name}」已读取并检查完毕，请核对预览后确认导入。",
                          outcome={"draft_id": draft.id})


@jobs.kind(APPLY, label="确认导入")
def apply_job(job, progress) -> jobs.JobResult:
    from .imports import NOT_STORED
    draft = _draft_of(job)
    report = _reporter(progress)
    try:
        plan = _plan(draft, report)
    except UnreadableFile as exc:
        raise jobs.JobFailed(str(exc)) from exc
    if plan.fingerprint() != draft.fingerprint:  # the clerk must see the records as they are
        _keep(draft, plan, report)
        db.session.commit()
        raise jobs.JobFailed(CHANGED)
    data, file_name = draft.content, draft.file_name
    # Deleted in the import's own transaction: imported and gone, or neither.
    db.session.delete(draft)
    session = db.session()
    written: list[ImportBatch] = []

    def caught(_session, instance):
        if isinstance(instance, ImportBatch):
            written.append(instance)

    def result() -> jobs.JobResult:
        batch = written[0]
        return jobs.JobResult(message=imported_message(file_name, batch, plan),
                              outcome={"batch_id": batch.id})

    event.listen(session, "pending_to_persistent", caught)
    try:
        with jobs.done_on_commit(job.id, result):
            apply_plan(plan, session=session, user_id=job.user_id, source="web", data=data,
                       progress=report)
    except (ImportRefused, StalePlan) as exc:  # rolled back: the draft stays
        raise jobs.JobFailed(str(exc)) from exc
    except StaleDataError as exc:  # the draft was deleted meanwhile: imported by another
        raise jobs.JobFailed(ALREADY) from exc
    except DBAPIError as exc:
        current_app.logger.exception("import of draft %s not stored", draft.id)
        raise jobs.JobFailed(NOT_STORED) from exc
    finally:
        event.remove(session, "pending_to_persistent", caught)
    return result()


# ---------------------------------------------------------------------------- the screens
def _draft_exists(job) -> str | None:
    draft_id = (job.outcome or job.params or {}).get("draft_id")
    return draft_id if draft_id and db.session.get(ImportDraft, draft_id) is not None else None


def _plan_landing(job):
    """A planned draft: its preview (while the draft is there to be confirmed)."""
    if job.status == jobs.DONE and _draft_exists(job):
        return url_for("ListsView.preview", draft_id=job.outcome["draft_id"])
    return None


def _apply_landing(job):
    """An imported file: its batch in 导入记录, with what was written."""
    batch_id = (job.outcome or {}).get("batch_id")
    if job.status == jobs.DONE and batch_id and db.session.get(ImportBatch, batch_id):
        flash(job.message, "success")
        return url_for("ImportBatchView.show", pk=batch_id)
    return None


def _links(job) -> list[tuple[str, str]]:
    out = []
    draft_id = _draft_exists(job)
    if draft_id and job.kind == APPLY:
        out.append(("返回预览", url_for("ListsView.preview", draft_id=draft_id)))
    if job.status == jobs.FAILED or not draft_id:
        out.append(("重新上传文件", url_for("ListsView.upload", slug=job.slug)))
    out.append(("导入记录", url_for("ImportBatchView.list")))
    return out


register_screens(PLAN, JobScreens(phases=("read", "check", "keep"), landing=_plan_landing,
                                  links=_links))
register_screens(APPLY, JobScreens(phases=("read", "check", "write"), landing=_apply_landing,
                                   links=_links))
