"""Large imports as background jobs (app/web/import_jobs.py): a file above
QINGDAN_IMPORT_JOB_KB is planned by a job (读取, 检查, 保存预览) and lands on the preview;
confirming it is a job too (写入) that lands on the import batch. In-process, in a thread and
on a real RQ worker through Redis — killed mid-import, the job is reported failed and the
database is as before."""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from conftest import kill_worker, login, xlsx
from factories import credit_code
from test_imports_web import EXPERT_HEADER, EXPERT_ROW, counts_of, page, upload
from test_jobs import WAIT, job_id_of, wait_for

from app import db
from app import jobs as job_module
from app.drafts import ImportDraft
from app.jobs import Job
from app.lists.deposits import Enterprise
from app.models import Change, ImportBatch

HEADER = ["企业名称", "统一社会信用代码", "所在区", "行业类别", "企业规模"]


def enterprises_file(n: int, start: int = 0) -> bytes:
    return xlsx([HEADER] + [[f"生产经营单位{i:06d}", credit_code(i), "浦东新区", "危化品生产",
                             "小型"] for i in range(start, start + n)])


def state(app):
    """What the database holds that an import changes: the records, the batches, the trail,
    the drafts."""
    with app.app_context():
        return (db.session.execute(sa.select(Enterprise.__table__).order_by(Enterprise.id)).all(),
                db.session.scalars(sa.select(ImportBatch.id)).all(),
                db.session.scalar(sa.select(sa.func.count()).select_from(Change)),
                db.session.scalars(sa.select(ImportDraft.id)).all())


def job_of(app, job_id: str) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def location(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    return resp.headers["Location"]


def draft_of_preview(url: str) -> str:
    match = re.search(r"/lists/imports/([0-9a-f]{32})$", url)
    assert match, url
    return match[1]


def batch_of(url: str) -> int:
    match = re.search(r"/imports/show/(\d+)$", url)
    assert match, url
    return int(match[1])


def n_enterprises(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise))


@pytest.fixture
def large(jobs_config):
    """Every file but the tiniest is large: 1 KB (an .xlsx is never smaller)."""
    jobs_config(QINGDAN_IMPORT_JOB_KB=1)


# ---------------------------------------------------------------------------- in-process
def test_small_upload_is_planned_in_the_request(app, as_clerk, jobs_config):
    jobs_config(QINGDAN_JOBS="inline", QINGDAN_IMPORT_JOB_KB=256)
    resp = upload(as_clerk, enterprises_file(20), "企业.xlsx", slug="enterprises")
    draft_of_preview(location(resp))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_large_upload_is_planned_as_a_job_and_lands_on_the_preview_then_confirm_writes(
        app, as_clerk, jobs_config, large):
    jobs_config(QINGDAN_JOBS="inline")
    resp = upload(as_clerk, enterprises_file(30), "企业.xlsx", slug="enterprises")
    job_id = job_id_of(resp)
    job = job_of(app, job_id)
    assert (job.kind, job.status) == ("import-plan", "done")
    assert list(job.phases) == ["read", "check", "keep"]
    assert job.phases["read"] == [31, 31] and job.phases["check"] == [6, 6]
    assert job.phases["keep"] == [0, 30]
    preview = location(as_clerk.get(f"/jobs/{job_id}"))  # done: on to the preview
    draft_id = draft_of_preview(preview)
    assert counts_of(page(as_clerk, preview))["create"] == 30
    mine = page(as_clerk, "/jobs/")
    assert f"/jobs/{job_id}" in mine and "生产经营单位：导入预览" in mine
    assert n_enterprises(app) == 0  # nothing written before confirming

    confirm = as_clerk.post(f"/lists/imports/{draft_id}/confirm")
    apply_id = job_id_of(confirm)
    job = job_of(app, apply_id)
    assert (job.kind, job.status) == ("import-apply", "done")
    # SQLite has one writer: there the import reports only the start of its writing.
    sqlite = app.config["QINGDAN_DB_KIND"] == "sqlite"
    assert job.phases["write"] == [0 if sqlite else 30, 30]
    landed = as_clerk.get(f"/jobs/{apply_id}")
    batch_id = batch_of(location(landed))
    shown = page(as_clerk, f"/imports/show/{batch_id}")
    assert "「企业.xlsx」已导入生产经营单位：新增 30 条" in shown
    assert n_enterprises(app) == 30
    with app.app_context():
        assert db.session.get(ImportDraft, draft_id) is None
        assert db.session.get(ImportBatch, batch_id).created == 30
    # The draft is gone: its planning job's page no longer sends the clerk to it.
    assert as_clerk.get(f"/jobs/{job_id}").status_code == 200


def test_thread_mode_plans_and_imports_beside_the_requests(app, as_clerk, jobs_config, large):
    jobs_config(QINGDAN_JOBS="thread")
    job_id = job_id_of(upload(as_clerk, enterprises_file(40), "企业.xlsx", slug="enterprises"))
    assert wait_for(app, job_id, {"done", "failed"}, seconds=WAIT) == "done"
    draft_id = draft_of_preview(location(as_clerk.get(f"/jobs/{job_id}")))
    apply_id = job_id_of(as_clerk.post(f"/lists/imports/{draft_id}/confirm"))
    assert wait_for(app, apply_id, {"done", "failed"}, seconds=WAIT) == "done"
    batch_of(location(as_clerk.get(f"/jobs/{apply_id}")))
    assert n_enterprises(app) == 40


def test_a_running_import_shows_its_phases_and_the_clerk_may_come_back(app, as_clerk,
                                                                       jobs_config):
    """The job page names the phases with their counts; the preview of a draft being planned,
    the upload page and the job list all lead back to the job."""
    with app.app_context():
        user = app.appbuilder.sm.find_user(username="clerk")
        draft = ImportDraft(slug="enterprises", user_id=user.id, file_name="大文件.xlsx",
                            content=b"not read", options={})
        db.session.add(draft)
        db.session.flush()
        job = Job(kind="import-plan", slug="enterprises", user_id=user.id, status="running",
                  params={"draft_id": draft.id}, done=3, total=6,
                  phases={"read": [12001, 12001], "check": [3, 6]},
                  started_on=job_module.now(), heartbeat_on=job_module.now())
        db.session.add(job)
        db.session.commit()
        job_id, draft_id = job.id, draft.id
    shown = page(as_clerk, f"/jobs/{job_id}")
    assert "生产经营单位：导入预览" in shown and "进行中" in shown
    assert "读取：12,001 行" in shown and "检查：12,001 行，第 3 / 6 步" in shown
    assert re.search(r'data-phase-state="waiting">\s*<i[^>]*></i>\s*保存预览', shown)
    assert "width: 50%" in shown  # read done, check half done: 1.5 of 3 phases
    assert 'http-equiv="refresh"' in shown
    assert location(as_clerk.get(f"/lists/imports/{draft_id}")).endswith(f"/jobs/{job_id}")
    assert location(as_clerk.post(f"/lists/imports/{draft_id}/confirm")).endswith(
        f"/jobs/{job_id}")  # not a second job for the same draft
    assert f"/jobs/{job_id}" in page(as_clerk, "/lists/enterprises/import")
    assert f"/jobs/{job_id}" in page(as_clerk, "/jobs/")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1


def test_someone_elses_import_job_is_not_found(app, client, jobs_config, large):
    jobs_config(QINGDAN_JOBS="inline")
    clerk = login(app.test_client(), "clerk")
    job_id = job_id_of(upload(clerk, enterprises_file(5), "企业.xlsx", slug="enterprises"))
    head = login(client, "head")  # may import too, but not see the clerk's jobs
    assert job_id not in page(head, "/jobs/")
    assert job_id not in page(head, "/lists/enterprises/import")
    assert head.get(f"/jobs/{job_id}").status_code == 404
    draft_id = draft_of_preview(location(clerk.get(f"/jobs/{job_id}")))
    assert head.get(f"/lists/imports/{draft_id}").status_code == 404


def test_an_unreadable_file_ends_as_a_failed_job_with_the_reason(app, as_clerk, jobs_config,
                                                                 large):
    jobs_config(QINGDAN_JOBS="inline")
    wrong = xlsx([EXPERT_HEADER] + [EXPERT_ROW] * 40)  # experts, uploaded as enterprises
    job_id = job_id_of(upload(as_clerk, wrong, "专家.xlsx", slug="enterprises"))
    resp = as_clerk.get(f"/jobs/{job_id}")
    assert resp.status_code == 200
    shown = resp.get_data(as_text=True)
    assert "失败" in shown and "找不到「生产经营单位」的表头" in shown
    assert "企业名称" in shown and "重新上传文件" in shown
    assert 'http-equiv="refresh"' not in shown
    with app.app_context():  # as in the request: a file that cannot be read is not kept
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportDraft)) == 0

    garbage = b"PK\x03\x04" + bytes(range(256)) * 8
    job_id = job_id_of(upload(as_clerk, garbage, "坏文件.xlsx", slug="enterprises"))
    shown = page(as_clerk, f"/jobs/{job_id}")
    assert "失败" in shown and "坏文件.xlsx" in shown
    assert job_of(app, job_id).status == "failed"


def test_records_changed_after_the_preview_fail_the_confirm_job_with_a_fresh_preview(
        app, as_clerk, jobs_config, large):
    jobs_config(QINGDAN_JOBS="inline")
    job_id = job_id_of(upload(as_clerk, enterprises_file(10), "企业.xlsx", slug="enterprises"))
    draft_id = draft_of_preview(location(as_clerk.get(f"/jobs/{job_id}")))
    # Meanwhile someone imports one of the file's enterprises.
    jobs_config(QINGDAN_IMPORT_JOB_KB=256)
    other = login(app.test_client(), "head")
    other_draft = draft_of_preview(location(upload(other, enterprises_file(1), "一家.xlsx",
                                                   slug="enterprises")))
    batch_of(location(other.post(f"/lists/imports/{other_draft}/confirm")))
    jobs_config(QINGDAN_IMPORT_JOB_KB=1)
    before = state(app)

    apply_id = job_id_of(as_clerk.post(f"/lists/imports/{draft_id}/confirm"))
    shown = page(as_clerk, f"/jobs/{apply_id}")
    assert "失败" in shown and "记录在预览后已变化，未导入任何记录" in shown
    assert f"/lists/imports/{draft_id}" in shown  # 返回预览: the fresh one
    assert state(app) == before
    counts = counts_of(page(as_clerk, f"/lists/imports/{draft_id}"))
    assert counts["create"] == 9 and counts["unchanged"] == 1


# ---------------------------------------------------------------------------- RQ on Redis
def test_rq_worker_plans_and_imports_a_large_file(app, as_clerk, rq_worker, jobs_config,
                                                  large):
    job_id = job_id_of(upload(as_clerk, enterprises_file(200), "企业.xlsx", slug="enterprises"))
    worker = rq_worker()
    status = wait_for(app, job_id, {"done", "failed"}, seconds=WAIT, poll=0.2)
    output = worker.communicate(timeout=WAIT)[0].decode(errors="replace")
    assert status == "done", output[-2000:]
    draft_id = draft_of_preview(location(as_clerk.get(f"/jobs/{job_id}")))
    assert counts_of(page(as_clerk, f"/lists/imports/{draft_id}"))["create"] == 200

    apply_id = job_id_of(as_clerk.post(f"/lists/imports/{draft_id}/confirm"))
    worker = rq_worker()
    status = wait_for(app, apply_id, {"done", "failed"}, seconds=WAIT, poll=0.2)
    output = worker.communicate(timeout=WAIT)[0].decode(errors="replace")
    assert status == "done", output[-2000:]
    batch_id = batch_of(location(as_clerk.get(f"/jobs/{apply_id}")))
    assert "新增 200 条" in page(as_clerk, f"/imports/show/{batch_id}")
    assert n_enterprises(app) == 200


def wait_for_phase(app, job_id: str, phase: str, seconds: float) -> Job | None:
    deadline = time.monotonic() + seconds
    with app.app_context():
        while time.monotonic() < deadline:
            job = db.session.get(Job, job_id)
            found = job is not None and phase in (job.phases or {})
            status = job.status if job is not None else None
            db.session.rollback()  # a fresh snapshot next time
            if found or status in ("done", "failed"):
                return job_of(app, job_id)
            time.sleep(0.01)
    return None


def test_worker_killed_mid_import_leaves_the_job_failed_and_the_database_as_before(
        app, as_clerk, rq_worker, jobs_config, large):
    jobs_config(QINGDAN_JOBS="inline")  # the preview in the request; the import on the worker
    rows = 20_000
    job_id = job_id_of(upload(as_clerk, enterprises_file(rows), "企业.xlsx", slug="enterprises"))
    draft_id = draft_of_preview(location(as_clerk.get(f"/jobs/{job_id}")))
    jobs_config(QINGDAN_JOBS="rq", QINGDAN_JOB_STALE_SECONDS=0)
    before = state(app)
    apply_id = job_id_of(as_clerk.post(f"/lists/imports/{draft_id}/confirm"))
    worker = rq_worker()
    job = wait_for_phase(app, apply_id, "write", seconds=WAIT)
    assert job is not None and job.status == "running", "the import never began writing"
    if app.config["QINGDAN_DB_KIND"] == "sqlite":
        # One writer: the import holds the database until it commits, so nothing can be
        # held against it; it is killed while it writes (20,000 rows take a while).
        kill_worker(worker)
        assert job_of(app, apply_id).status == "running", "finished before it was killed"
    else:
        # Hold the job's row: the import's next progress report (after inserting the new
        # records, in its uncommitted transaction) waits for it; then the worker is killed.
        with app.app_context(), db.engine.connect() as conn:
            held = conn.execute(sa.update(Job).where(Job.id == apply_id,
                                                     Job.status == "running")
                                .values(heartbeat_on=Job.heartbeat_on)).rowcount
            assert held == 1, "the import finished before it could be interrupted"
            time.sleep(0.5)
            kill_worker(worker)
            conn.rollback()
    # QINGDAN_JOB_STALE_SECONDS=0: stale from the next second on (times are in seconds).
    deadline = time.monotonic() + WAIT
    while "处理它的进程中断了" not in (shown := page(as_clerk, f"/jobs/{apply_id}")):
        assert time.monotonic() < deadline, shown[-2000:]
        time.sleep(0.2)
    assert "失败" in shown and "处理它的进程中断了" in shown and "数据未作任何修改" in shown
    assert f"/lists/imports/{draft_id}" in shown  # the draft is kept: 返回预览
    assert state(app) == before
