"""§6 of issue 6: a review cannot change once its batch is locked by the workflow, even when
the write and the locking action are sent at the same moment.

Since the two-person workflow (issue 8) the reviews are read-only from 提交审核 on: the
submission is the action a write can race (an approval finds the batch locked already).
Each test runs two real connections in two threads: a clerk's 提交审核 that has locked its
batch and is held just before it commits, and a write of one of its reviews in another
session (form, API, delete, import, undo). The writer must wait for the submission (seen as a lock
wait on PostgreSQL and MariaDB; on SQLite, which has one writer at a time, as the writer
reaching for the database's write lock), and is then refused with the lock's Chinese reason.
Code without the lock let the writer read 草稿 and write while the submission was under way.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from conftest import api_token, login, xlsx
from factories import credit_code
from sqlalchemy import event, select, text

from app import db
from app.lists.agencies import Agency, Review, ReviewBatch
from app.reviews import submit
from app.sheets.declare import sheets
from app.sheets.engine import ImportRefused, UndoRefused, apply_plan, build_plan, undo_batch

KEY = (2016, 1, "安全评价报告")
CODE = credit_code(61)
HEADERS = ["年度", "期次", "盲审类别", "盲审编号", "统一社会信用代码", "报告编号", "报告类型",
           "项目名称", "出具日期", "得分"]
TIMEOUT = 60  # seconds a step may take before the test fails (never reached when it works)
SUBMITTED = "已提交审核，其盲审结果不能修改"


# ---------------------------------------------------------------------------- set-up
@pytest.fixture
def reviews(app):
    """An agency and two reviews of batch KEY, a draft without a batch row yet."""
    with app.app_context():
        agency = Agency(name="上海示例安全评价有限公司", credit_code=CODE, org_type="企业",
                        legal_representative="王强", address="上海市黄浦区中山东一路1号",
                        status="正常")
        db.session.add(agency)
        db.session.flush()
        for n in (1, 2):
            db.session.add(Review(year=KEY[0], period=KEY[1], category=KEY[2],
                                  blind_no=f"A1-0{n}", agency_id=agency.id,
                                  report_no=f"SA-2016-00{n}", report_type="安全现状评价",
                                  project_name=f"示例项目{n}", issued_on=dt.date(2016, 3, n),
                                  score=Decimal("82.0")))
        db.session.commit()
        db.session.remove()
    return app


def with_batch_row(app) -> None:
    """Give KEY its (draft) batch row, as a batch sent back (退回) leaves it."""
    with app.app_context():
        db.session.add(ReviewBatch(year=KEY[0], period=KEY[1], category=KEY[2],
                                   status="草稿", revision=1, history=[]))
        db.session.commit()
        db.session.remove()


def stored(app, blind_no: str) -> Review | None:
    with app.app_context():
        obj = db.session.scalar(select(Review).where(Review.blind_no == blind_no))
        if obj is not None:
            db.session.expunge(obj)
        db.session.remove()
        return obj


def batch_status(app) -> str | None:
    with app.app_context():
        status = db.session.scalar(select(ReviewBatch.status).where(
            ReviewBatch.year == KEY[0], ReviewBatch.period == KEY[1],
            ReviewBatch.category == KEY[2]))
        db.session.remove()
        return status


def submitter_id(app) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user("clerk").id


# ---------------------------------------------------------------------------- the harness
class Thread(threading.Thread):
    """A thread that keeps what its target returned or raised."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self._run, self.result, self.error = target, None, None

    def run(self):
        try:
            self.result = self._run()
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            self.error = exc

    def finish(self):
        self.join(TIMEOUT)
        assert not self.is_alive(), "a thread did not finish: the two writes deadlocked"
        if self.error is not None:
            raise self.error
        return self.result


class Submission:
    """提交审核 of KEY in its own thread and session, held after it has locked the batch and
    changed it, just before it commits, until `commit()`."""

    def __init__(self, app):
        self.app, self.user = app, submitter_id(app)
        self.holding, self.go = threading.Event(), threading.Event()
        self.thread = Thread(self._submit)

    def _submit(self):
        with self.app.app_context():
            session = db.session()  # this thread's own session and connection

            def hold(_session):
                self.holding.set()
                assert self.go.wait(TIMEOUT), "the test never let the submission commit"
            event.listen(session, "before_commit", hold)
            try:
                return submit(db.session, KEY, self.user).status
            finally:
                event.remove(session, "before_commit", hold)
                db.session.remove()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(TIMEOUT), "the submission never reached its commit"
        return self

    def commit(self):
        self.go.set()
        return self.thread.finish()

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join(TIMEOUT)


class Writer:
    """A clerk's write in its own thread (a request of the test client, or the engine in an
    app context: either way its own session and connection)."""

    def __init__(self, app, write):
        self.app = app
        self.reaching = threading.Event()  # SQLite: the writer asks for the write lock
        self.thread = Thread(write)

    def start(self):
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "before_cursor_execute", self._sqlite_write)
        self.thread.start()
        return self

    def _sqlite_write(self, _conn, _cursor, statement, *_args):
        if threading.current_thread() is self.thread and statement.lstrip().upper().startswith(
                ("INSERT", "UPDATE", "DELETE")):
            self.reaching.set()

    def wait_until_blocked_or_done(self):
        """Until the writer waits for the submission's lock, or has finished without waiting
        (today's code), whichever comes first. Bounded: never reaching either fails."""
        deadline = time.monotonic() + TIMEOUT
        while not (self._waits_for_a_lock() or not self.thread.is_alive()):
            assert time.monotonic() < deadline, "the writer neither waited nor finished"
            # MariaDB refreshes INNODB_TRX only when it was not read for 0.1 s.
            time.sleep(0.2)

    def _waits_for_a_lock(self) -> bool:
        kind = db.engine.dialect.name
        if kind == "sqlite":  # SQLite serialises writers: its wait cannot be seen from outside
            return self.reaching.is_set()
        query = {
            "postgresql": "SELECT count(*) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND wait_event_type = 'Lock'",
            "mysql": "SELECT count(*) FROM information_schema.INNODB_TRX t "
                     "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
                     "WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()",
        }["mysql" if kind in ("mysql", "mariadb") else kind]
        with db.engine.connect() as conn:
            return bool(conn.execute(text(query)).scalar())

    def finish(self):
        if db.engine.dialect.name == "sqlite":
            event.remove(db.engine, "before_cursor_execute", self._sqlite_write)
        return self.thread.finish()


def race(app, write):
    """The submission locks the batch and holds; the write is sent; once it waits (or, on
    code without the lock, has gone through), the submission commits. Returns the write's
    result."""
    with app.app_context(), Submission(app) as submission:
        writer = Writer(app, write).start()
        writer.wait_until_blocked_or_done()
        assert submission.commit() == "待审核"
        return writer.finish()


# ---------------------------------------------------------------------------- the writes
def form_of(r: Review, **changes) -> dict:
    data = dict(year=r.year, period=r.period, category=r.category, blind_no=r.blind_no,
                agency=r.agency_id, report_no=r.report_no, report_type=r.report_type,
                project_name=r.project_name, issued_on=r.issued_on.isoformat(),
                score=str(r.score), grade=r.grade or "", problems=r.problems or "",
                site_check=r.site_check or "", measure=r.measure or "", _version=r.version)
    data.update(changes)
    return data


def test_api_save_sent_during_a_submission_waits_and_is_refused(reviews, client):
    with_batch_row(reviews)
    before = stored(reviews, "A1-01")
    headers = api_token(client, "clerk")

    def save():
        return reviews.test_client().put(f"/api/v1/reviews/{before.id}",
                                         json={"score": "99"}, headers=headers)
    resp = race(reviews, save)
    assert resp.status_code == 422, resp.get_json()
    assert SUBMITTED in str(resp.get_json()["message"])
    after = stored(reviews, "A1-01")
    assert (after.score, after.version) == (before.score, before.version)
    assert batch_status(reviews) == "待审核"


def test_form_save_of_a_batch_without_a_row_waits_for_its_submission(reviews):
    """No batch row yet: the submission creates it, and the writer has no row to lock: it
    must still wait for the submission that creates the row."""
    before = stored(reviews, "A1-02")
    clerk = login(reviews.test_client(), "clerk")

    def save():
        return clerk.post(f"/reviews/edit/{before.id}", data=form_of(before, score="61"))
    resp = race(reviews, save)
    assert resp.status_code == 200 and SUBMITTED in resp.get_data(as_text=True)
    after = stored(reviews, "A1-02")
    assert (after.score, after.version) == (before.score, before.version)


def test_api_delete_sent_during_a_submission_waits_and_is_refused(reviews, client):
    with_batch_row(reviews)
    before = stored(reviews, "A1-01")
    headers = api_token(client, "clerk")

    def delete():
        return reviews.test_client().delete(f"/api/v1/reviews/{before.id}", headers=headers)
    resp = race(reviews, delete)
    assert resp.status_code == 422 and SUBMITTED in str(resp.get_json()["message"])
    assert stored(reviews, "A1-01") is not None


def _rows(*blind_nos, score=75.0):
    return [[*KEY, b, CODE, f"SA-2016-{b}", "安全现状评价", f"项目{b}", "2016-04-01", score]
            for b in blind_nos]


def test_import_confirmed_during_a_submission_writes_nothing(reviews):
    """The plan was made (and checked) while the batch was a draft; the confirm comes while
    it is being submitted: it waits, finds the batch submitted, and writes none of the rows."""
    with_batch_row(reviews)
    added = [f"B-{n:02d}" for n in range(6)]
    data = xlsx([HEADERS, *_rows(*added)])
    with reviews.app_context():
        plan = build_plan(sheets["reviews"], data, "盲审.xlsx", session=db.session)
        assert plan.count("create") == 6 and plan.writable
        db.session.close()  # the preview's request ends: nothing held meanwhile

    def confirm():
        with reviews.app_context():
            try:
                apply_plan(plan, session=db.session, data=data)
            finally:
                db.session.remove()
    with pytest.raises(ImportRefused, match=SUBMITTED):
        race(reviews, confirm)
    assert [stored(reviews, b) for b in added] == [None] * 6


def test_import_wizard_confirm_during_a_submission_writes_nothing(reviews):
    with_batch_row(reviews)
    from test_imports_web import draft_id_of, upload
    clerk = login(reviews.test_client(), "clerk")
    draft = draft_id_of(upload(clerk, xlsx([HEADERS, *_rows("D-01", "D-02")]), "盲审.xlsx",
                               slug="reviews"))

    def confirm():
        return clerk.post(f"/lists/imports/{draft}/confirm", follow_redirects=True)
    page = race(reviews, confirm).get_data(as_text=True)
    assert "记录在预览后已变化" in page and SUBMITTED in page
    assert stored(reviews, "D-01") is None and stored(reviews, "D-02") is None


def test_undo_sent_during_a_submission_waits_and_is_refused(reviews):
    with_batch_row(reviews)
    data = xlsx([HEADERS, *_rows("C-01")])
    with reviews.app_context():
        plan = build_plan(sheets["reviews"], data, "盲审.xlsx", session=db.session)
        batch_id = apply_plan(plan, session=db.session, data=data).id
        db.session.remove()

    def undo():
        with reviews.app_context():
            try:
                undo_batch(batch_id, session=db.session)
            finally:
                db.session.remove()
    with pytest.raises(UndoRefused, match=SUBMITTED):
        race(reviews, undo)
    assert stored(reviews, "C-01") is not None


def test_the_lock_check_leaves_no_batch_row_behind(reviews):
    """Holding a batch that has no row does not create one: the batch screen still lists it
    as a draft of revision 1, as before."""
    with reviews.app_context():
        assert sheets["reviews"].lock_reasons(db.session, [
            {"year": KEY[0], "period": KEY[1], "category": KEY[2]}]) == [None]
        db.session.commit()
        db.session.remove()
    assert batch_status(reviews) is None
