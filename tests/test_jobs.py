"""Background jobs (app/jobs.py, app/web/jobs.py): a large export runs as a job with a
progress page and a file to download; in-process, in a thread, and on a real RQ worker
through Redis — killed mid-job, the job is reported failed and the database is as before."""
from __future__ import annotations

import io
import re
import time
import uuid

import sqlalchemy as sa
from conftest import kill_worker, login
from factories import add_enterprises
from python_calamine import CalamineWorkbook

from app import db
from app import jobs as job_module
from app.jobs import Job, JobChunk
from app.lists.deposits import Enterprise

WAIT = 90  # seconds: an upper bound for a worker's start and an export of 20,000 rows


def snapshot(app):
    """What the lists hold: every enterprise as stored."""
    with app.app_context():
        return db.session.execute(sa.select(Enterprise.__table__).order_by(
            Enterprise.id)).all()


def job_id_of(resp) -> str:
    assert resp.status_code == 302, resp.data[:300]
    match = re.search(r"/jobs/([0-9a-f]{32})$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match[1]


def rows_of(data: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


# ---------------------------------------------------------------------------- in-process
def test_small_export_is_sent_at_once(app, as_clerk, jobs_config):
    jobs_config(QINGDAN_JOBS="inline", QINGDAN_EXPORT_JOB_ROWS=10)
    add_enterprises(app, 10)
    resp = as_clerk.get("/lists/enterprises/export")
    assert resp.status_code == 200 and resp.mimetype.endswith("sheet")
    assert len(rows_of(resp.data)) == 11


def test_large_export_runs_as_a_job_with_a_progress_page_and_its_file(app, as_clerk,
                                                                       jobs_config):
    from app.logins import LoginEvent, LoginSession
    jobs_config(QINGDAN_JOBS="inline", QINGDAN_EXPORT_JOB_ROWS=5)
    add_enterprises(app, 25)
    with app.app_context():
        signed_in = (db.session.query(LoginSession).count(), db.session.query(LoginEvent).count())
    job_id = job_id_of(as_clerk.get("/lists/enterprises/export?_flt_0_name=生产经营单位00001"))
    with app.app_context():  # the job acted as the clerk without signing the clerk in again
        assert (db.session.query(LoginSession).count(),
                db.session.query(LoginEvent).count()) == signed_in
    page = as_clerk.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成" in page and "已导出 10 条记录" in page  # the page's filter: 10 of 25
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
    resp = as_clerk.get(f"/jobs/{job_id}/file")
    assert resp.status_code == 200 and resp.mimetype.endswith("sheet")
    data = resp.get_data()
    assert int(resp.headers["Content-Length"]) == len(data)
    rows = rows_of(data)
    assert len(rows) == 11 and rows[1][1] == "生产经营单位000010"
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.status, job.done, job.total) == ("done", 10, 10)
    mine = as_clerk.get("/jobs/").get_data(as_text=True)
    assert f"/jobs/{job_id}/file" in mine and "生产经营单位：导出" in mine


def test_a_running_job_shows_its_progress_and_refreshes(app, as_clerk):
    with app.app_context():
        user = app.appbuilder.sm.find_user(username="clerk")
        job = Job(kind="export", slug="enterprises", user_id=user.id, status="running",
                  done=3000, total=12000, started_on=job_module.now(),
                  heartbeat_on=job_module.now())
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = as_clerk.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "进行中" in page and "3,000 / 12,000" in page and "width: 25%" in page
    assert 'http-equiv="refresh"' in page
    assert as_clerk.get(f"/jobs/{job_id}/file").status_code == 404  # nothing to send yet


def test_someone_elses_job_is_not_found(app, client, jobs_config):
    jobs_config(QINGDAN_JOBS="inline", QINGDAN_EXPORT_JOB_ROWS=1)
    add_enterprises(app, 3)
    clerk = login(app.test_client(), "clerk")
    job_id = job_id_of(clerk.get("/lists/enterprises/export"))
    other = login(client, "reader")
    assert job_id not in other.get("/jobs/").get_data(as_text=True)
    assert other.get(f"/jobs/{job_id}").status_code == 404
    assert other.get(f"/jobs/{job_id}/file").status_code == 404
    assert other.get(f"/jobs/{uuid.uuid4().hex}").status_code == 404


def test_a_job_whose_process_died_is_reported_failed(app, as_clerk, jobs_config):
    jobs_config(QINGDAN_JOB_STALE_SECONDS=60)
    with app.app_context():
        user = app.appbuilder.sm.find_user(username="clerk")
        long_ago = job_module.now() - job_module.dt.timedelta(minutes=5)
        job = Job(kind="export", slug="enterprises", user_id=user.id, status="running",
                  done=1000, total=5000, started_on=long_ago, heartbeat_on=long_ago)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = as_clerk.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "失败" in page and "处理它的进程中断了" in page


def test_thread_mode_runs_the_job_beside_the_request(app, as_clerk, jobs_config):
    jobs_config(QINGDAN_JOBS="thread", QINGDAN_EXPORT_JOB_ROWS=5)
    add_enterprises(app, 40)
    job_id = job_id_of(as_clerk.get("/lists/enterprises/export"))
    status = wait_for(app, job_id, {"done", "failed"}, seconds=WAIT)
    assert status == "done"
    assert len(rows_of(as_clerk.get(f"/jobs/{job_id}/file").get_data())) == 41


def test_an_unreachable_queue_fails_the_job_with_a_reason(app, as_clerk, jobs_config):
    jobs_config(QINGDAN_JOBS="rq", QINGDAN_EXPORT_JOB_ROWS=1, REDIS_URL="redis://127.0.0.1:1/0")
    add_enterprises(app, 3)
    job_id = job_id_of(as_clerk.get("/lists/enterprises/export"))
    page = as_clerk.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "失败" in page and "Redis" in page and "数据未作任何修改" in page


# ---------------------------------------------------------------------------- RQ on Redis
def wait_for(app, job_id: str, statuses: set[str], seconds: float, *, poll=0.01) -> str:
    deadline = time.monotonic() + seconds
    with app.app_context():
        while True:
            status = db.session.scalar(sa.select(Job.status).where(Job.id == job_id))
            db.session.rollback()  # a fresh snapshot next time
            if status in statuses or time.monotonic() > deadline:
                return status
            time.sleep(poll)


def test_rq_worker_runs_an_export_to_completion(app, as_clerk, rq_worker, jobs_config):
    jobs_config(QINGDAN_EXPORT_JOB_ROWS=100)
    add_enterprises(app, 250)
    job_id = job_id_of(as_clerk.get("/lists/enterprises/export"))
    worker = rq_worker()
    status = wait_for(app, job_id, {"done", "failed"}, seconds=WAIT, poll=0.2)
    output = worker.communicate(timeout=WAIT)[0].decode(errors="replace")
    assert status == "done", output[-2000:]
    page = as_clerk.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已导出 250 条记录" in page
    rows = rows_of(as_clerk.get(f"/jobs/{job_id}/file").get_data())
    assert len(rows) == 251 and rows[-1][1] == "生产经营单位000249"


def test_worker_killed_mid_job_leaves_the_job_failed_and_the_database_as_before(
        app, as_clerk, rq_worker, jobs_config):
    jobs_config(QINGDAN_EXPORT_JOB_ROWS=100, QINGDAN_JOB_STALE_SECONDS=2)
    add_enterprises(app, 20_000)
    before = snapshot(app)
    job_id = job_id_of(as_clerk.get("/lists/enterprises/export"))
    worker = rq_worker()
    assert wait_for(app, job_id, {"running", "done", "failed"}, seconds=WAIT) == "running"
    # Hold the job's row: the worker's next write (a progress report, or the result) waits
    # for it, so the job is certainly unfinished when the worker is killed.
    with app.app_context(), db.engine.connect() as conn:
        held = conn.execute(sa.update(Job).where(Job.id == job_id, Job.status == "running")
                            .values(heartbeat_on=Job.heartbeat_on)).rowcount
        assert held == 1, "the export finished before it could be interrupted"
        time.sleep(0.5)
        kill_worker(worker)
        conn.rollback()
    time.sleep(2.5)  # QINGDAN_JOB_STALE_SECONDS: no heartbeat since
    page = as_clerk.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "失败" in page and "处理它的进程中断了" in page
    assert as_clerk.get(f"/jobs/{job_id}/file").status_code == 404
    assert snapshot(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobChunk)
                                 .where(JobChunk.job_id == job_id)) == 0

