"""Background jobs with progress: work too long for a request (a large export, the planning
and the confirming of a large import) runs as a job the clerk can leave and come back to.

The job's state lives in the database (qd_job; its result file in qd_job_chunk), so any app
process can show it. Where a job runs is configuration (config.py, QINGDAN_JOBS):

  inline   in the request that submits it (tests, scripts)
  thread   in a thread of the app process: the embedded default, one machine, no Redis
  rq       on an RQ worker through Redis (REDIS_URL): production, any number of processes
           and hosts; workers run `rq worker -w app.jobs_worker.Worker --url $REDIS_URL
           qingdan` (README)

A job is a function registered with @kind("name"): it gets the Job row and a `progress`
callback, and returns a JobResult (a file, or an outcome for the screens: the draft planned,
the batch written) or raises JobFailed with a Chinese reason. The runner claims the job
(queued -> running, once, whoever delivers it), records progress (per phase: read, check,
write) with a heartbeat in short transactions of their own, and writes the result and the
final state in one transaction: a job killed halfway leaves no partial result. A job whose
work commits itself (an import) marks itself done in that commit (done_on_commit). A running
job whose heartbeat stops (its process killed, the machine restarted) is reported failed.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from flask import current_app
from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    event,
    select,
    update,
)

from . import db
from .models import FileContent, now

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUS_LABELS = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "失败"}
CHUNK_BYTES = 1024 * 1024  # result files are stored in pieces: no statement exceeds this

INTERRUPTED = ("任务没有完成：处理它的进程中断了（可能被重启或内存不足），没有生成结果，"
               "数据未作任何修改。请重新提交；如反复出现，请联系管理员。")
NO_QUEUE = ("后台任务服务（Redis）暂时无法连接，任务未能开始，数据未作任何修改："
            "请稍后重试，或联系管理员检查 Redis 与后台任务进程。")
CRASHED = "任务因系统错误失败，没有生成结果，数据未作任何修改：请重试；如反复出现，请联系管理员。"


def _new_id() -> str:
    return uuid.uuid4().hex  # unguessable: the id is in the URL of a file of personal data


class Job(Model):
    __tablename__ = "qd_job"

    id = Column(String(32), primary_key=True, default=_new_id)
    kind = Column(String(20), nullable=False)
    slug = Column(String(40), nullable=False)
    params = Column(JSON, nullable=False, default=dict)  # what the job needs (filters …)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(10), nullable=False, default=QUEUED)
    done = Column(Integer, nullable=False, default=0)    # rows done so far
    total = Column(Integer, nullable=True)               # rows in all, once known
    # Progress per phase, in order: {"read": [done, total], "check": [...], ...}; None for a
    # job of a single phase (an export).
    phases = Column(JSON, nullable=True)
    outcome = Column(JSON, nullable=True)                # what the screens go on to (ids)
    message = Column(Text, nullable=True)                # the outcome or the reason, in Chinese
    file_name = Column(String(255), nullable=True)
    file_size = Column(BigInteger, nullable=True)
    created_on = Column(DateTime, nullable=False, default=now, index=True)
    started_on = Column(DateTime, nullable=True)
    heartbeat_on = Column(DateTime, nullable=True)
    finished_on = Column(DateTime, nullable=True)

    __table_args__ = (Index("ix_qd_job_user", "user_id", "created_on"),)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return _LABELS.get(self.kind, self.kind)

    @property
    def phase(self) -> str | None:
        """The phase running (the last one reported)."""
        return list(self.phases)[-1] if self.phases else None

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * (self.done or 0) / self.total))


class JobChunk(Model):
    """A piece of a job's result file, in order."""
    __tablename__ = "qd_job_chunk"

    job_id = Column(String(32), ForeignKey("qd_job.id", ondelete="CASCADE"), primary_key=True)
    seq = Column(Integer, primary_key=True, autoincrement=False)
    content = Column(FileContent, nullable=False)


class JobFailed(Exception):
    """A job cannot be done; the message (Chinese) says why and what to do."""


@dataclass
class JobResult:
    file: IO[bytes] | None = None   # positioned anywhere; read from the start
    file_name: str | None = None
    message: str = ""
    outcome: dict = field(default_factory=dict)


_KINDS: dict[str, Callable] = {}
_LABELS: dict[str, str] = {}


def kind(name: str, label: str = "导出"):
    """Register a job function: fn(job, progress) -> JobResult, where
    progress(done, total=None, phase=None); `label` names the kind on the screens."""
    def register(fn):
        _KINDS[name] = fn
        _LABELS[name] = label
        return fn
    return register


# ---------------------------------------------------------------------------- submitting
def submit(kind_name: str, *, slug: str, user_id: int, params: dict | None = None,
           total: int | None = None) -> str:
    """Record a job, start it as configured (QINGDAN_JOBS) and return its id. The caller's
    transaction is committed first: the job must be visible to whoever runs it."""
    if kind_name not in _KINDS:
        raise KeyError(kind_name)
    purge_old_jobs()
    job = Job(kind=kind_name, slug=slug, user_id=user_id, params=params or {}, total=total)
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    mode = current_app.config.get("QINGDAN_JOBS", "thread")
    if mode == "inline":
        run(job_id)
    elif mode == "thread":
        app = current_app._get_current_object()
        threading.Thread(target=_run_in_app, args=(app, job_id), daemon=True,
                         name=f"qingdan-job-{job_id[:8]}").start()
    elif mode == "rq":
        try:
            _queue().enqueue(perform, job_id, job_id=f"qingdan-{job_id}",
                             job_timeout=current_app.config.get("QINGDAN_JOB_TIMEOUT", 3600),
                             description=f"{kind_name} {slug}")
        except Exception:  # Redis down: say so, do not leave the job waiting forever
            log.exception("job %s not queued", job_id)
            _finish(job_id, FAILED, NO_QUEUE)
    else:
        raise ValueError(f"QINGDAN_JOBS={mode!r}: expected inline, thread or rq")
    return job_id


def _queue():
    from redis import Redis
    from rq import Queue
    cfg = current_app.config
    return Queue(cfg.get("QINGDAN_JOB_QUEUE", "qingdan"),
                 connection=Redis.from_url(cfg.get("REDIS_URL", "redis://127.0.0.1:6379/0")))


def _run_in_app(app, job_id: str) -> None:
    with app.app_context():
        run(job_id)
        db.session.remove()


_worker_app = None
_worker_pid = None


def preload_app():
    """The app of a worker process, built from its environment (DATABASE_URL, SECRET_KEY …
    as the web processes have them); no database connection is kept open, so that the
    processes forked from this one share none."""
    global _worker_app, _worker_pid
    if _worker_app is None:
        from . import create_app
        _worker_app, _worker_pid = create_app(), os.getpid()
        with _worker_app.app_context():
            db.engine.dispose()
    return _worker_app


def perform(job_id: str) -> None:
    """The RQ entry point (app.jobs_worker.Worker preloads the app; any RQ worker works)."""
    app = preload_app()
    if os.getpid() != _worker_pid:  # a forked work horse: inherited connections are not ours
        with app.app_context():
            db.engine.dispose(close=False)
    _run_in_app(app, job_id)


# ---------------------------------------------------------------------------- running
def _write_state(job_id: str, *, only_if: str | None = None, **values) -> int:
    """Update the job's row in a transaction of its own (the job's own reads stay open);
    with only_if, only while the job has that status. Returns the rows changed (0 or 1)."""
    stmt = update(Job).where(Job.id == job_id)
    if only_if is not None:
        stmt = stmt.where(Job.status == only_if)
    with db.engine.begin() as conn:
        return conn.execute(stmt.values(**values)).rowcount


def _finish(job_id: str, status: str, message: str) -> None:
    _write_state(job_id, status=status, message=message, finished_on=now(), heartbeat_on=now())


def run(job_id: str) -> None:
    """Run one job to its end, whoever calls: it is claimed once (queued -> running)."""
    if not _write_state(job_id, only_if=QUEUED, status=RUNNING, started_on=now(),
                        heartbeat_on=now()):
        return  # already run, or being run (a second delivery of the same job)
    job = db.session.get(Job, job_id)
    fn = _KINDS.get(job.kind)
    phases: dict[str, list] = {}

    def progress(done: int, total: int | None = None, phase: str | None = None) -> None:
        values = {"done": done, "heartbeat_on": now()}
        if total is not None or phase is not None:
            values["total"] = total
        if phase is not None:
            phases[phase] = [done, total]
            values["phases"] = dict(phases)
        _write_state(job_id, **values)

    try:
        if fn is None:
            raise JobFailed(f"未知的任务类型「{job.kind}」：请联系管理员。")
        result = fn(job, progress)
        _store_result(job_id, result)
    except JobFailed as exc:
        db.session.rollback()
        _finish(job_id, FAILED, str(exc))
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        _finish(job_id, FAILED, CRASHED)


def _store_result(job_id: str, result: JobResult) -> None:
    """The file and the final state, in one transaction."""
    session = db.session
    size = seq = 0
    if result.file is not None:
        result.file.seek(0)
        while piece := result.file.read(CHUNK_BYTES):
            chunk = JobChunk(job_id=job_id, seq=seq, content=piece)
            session.add(chunk)
            session.flush()
            session.expunge(chunk)  # one piece in memory at a time
            size += len(piece)
            seq += 1
    session.execute(update(Job).where(Job.id == job_id).values(
        status=DONE, message=result.message, file_name=result.file_name,
        file_size=size if result.file is not None else None,
        outcome=result.outcome or None, finished_on=now(), heartbeat_on=now()))
    session.commit()
    if result.file is not None:
        result.file.close()


@contextmanager
def done_on_commit(job_id: str, result_of: Callable[[], JobResult]):
    """For a job whose work commits itself (an import writes in one transaction of its own):
    within the block, that commit also marks the job done, with result_of()'s message and
    outcome. So the work and the job's state cannot part: a process killed after the commit
    does not leave a job reported "interrupted, nothing changed" over records it wrote."""
    session = db.session()

    def before_commit(sess):
        result = result_of()
        sess.execute(update(Job.__table__).where(Job.__table__.c.id == job_id).values(
            status=DONE, message=result.message, outcome=result.outcome or None,
            finished_on=now(), heartbeat_on=now()))

    event.listen(session, "before_commit", before_commit)
    try:
        yield
    finally:
        event.remove(session, "before_commit", before_commit)


# ---------------------------------------------------------------------------- reading
def get_job(job_id: str, user_id: int) -> Job | None:
    """The job, if it is this user's; a running job whose heartbeat stopped is failed."""
    job = db.session.get(Job, job_id) if isinstance(job_id, str) else None
    if job is None or job.user_id != user_id:
        return None
    if job.status == RUNNING and _stale(job):
        # Through the reading session itself: a separate write would not be seen by its
        # snapshot (MariaDB's REPEATABLE READ).
        db.session.execute(update(Job).where(Job.id == job.id, Job.status == RUNNING)
                           .values(status=FAILED, message=INTERRUPTED, finished_on=now()))
        db.session.commit()
        db.session.refresh(job)
    return job


def jobs_of(user_id: int, limit: int = 50) -> list[Job]:
    """The user's jobs, newest first (stale running ones reported failed)."""
    ids = db.session.scalars(select(Job.id).where(Job.user_id == user_id)
                             .order_by(Job.created_on.desc()).limit(limit)).all()
    return [job for job in (get_job(i, user_id) for i in ids) if job is not None]


def _stale(job: Job) -> bool:
    limit = dt.timedelta(seconds=current_app.config.get("QINGDAN_JOB_STALE_SECONDS", 300))
    beat = job.heartbeat_on or job.started_on or job.created_on
    return beat is not None and now() - beat > limit


def result_chunks(job: Job) -> Iterator[bytes]:
    """The result file, piece by piece (one piece in memory at a time)."""
    engine = db.engine
    seq = 0
    while True:
        with engine.connect() as conn:
            piece = conn.scalar(select(JobChunk.content).where(
                JobChunk.job_id == job.id, JobChunk.seq == seq))
        if piece is None:
            return
        yield bytes(piece)
        seq += 1


def purge_old_jobs() -> None:
    """Jobs (and their files) older than QINGDAN_JOB_KEEP_HOURS; the caller commits."""
    hours = current_app.config.get("QINGDAN_JOB_KEEP_HOURS", 24)
    old = select(Job.id).where(Job.created_on < now() - dt.timedelta(hours=hours))
    db.session.execute(delete(JobChunk).where(JobChunk.job_id.in_(old)))
    db.session.execute(delete(Job).where(Job.created_on < now() - dt.timedelta(hours=hours)))
