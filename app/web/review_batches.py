"""盲审批次: the review batches and their workflow (审核通过, 退回, 发布, 撤回修订).

The screen reads `app.reviews.batch_rows` and each button calls one of its actions, which
own their transaction and say in Chinese why a transition is refused. Reading is for every
staff role; the actions need PERM_PUBLISH (科长, 管理员).
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_login import current_user

from .. import db
from ..lists.agencies import BATCH_PUBLISHED, REVIEW_GRADES, batch_lock_reason
from ..reviews import ACTIONS, ACTIONS_BY_STATUS, BatchRefused, batch_rows, withdraw
from .queues import queue_named
from .screens import TEMPLATES
from .security import PERM_PUBLISH, has_permission

TITLE = "盲审批次"
CATEGORY = "技术服务机构"
BUTTONS = {"approve": ("审核通过", "btn-success", "fa-check"),
           "send_back": ("退回", "btn-warning", "fa-reply"),
           "publish": ("发布", "btn-primary", "fa-bullhorn"),
           "withdraw": ("撤回修订", "btn-danger", "fa-undo")}


class ReviewBatchesView(BaseView):
    route_base = "/review-batches"
    class_permission_name = PERM_PUBLISH[1]  # "ReviewBatches": can_list, can_show, can_publish
    template_folder = TEMPLATES
    default_view = "list"

    @expose("/")
    @has_access
    @permission_name("list")
    def list(self):
        rows = batch_rows(db.session)
        queue = queue_named(request.args.get("queue"))  # the dashboard's 待办 links
        if queue is not None:
            keys = queue.key_set(db.session, current_user.id)
            rows = [r for r in rows if r.key in keys]
        return self.render_template("qingdan/review_batches.html", title=TITLE, rows=rows,
                                    queue=queue, **self._context())

    @expose("/<int:year>/<int:period>/<category>")
    @has_access
    @permission_name("show")
    def show(self, year, period, category):
        rows = batch_rows(db.session, (year, period, category))
        if not rows:
            abort(404)
        row = rows[0]
        return self.render_template(
            "qingdan/review_batch.html", title=f"{TITLE}：{row.name}", row=row,
            locked=batch_lock_reason(row.batch), reviews_url=_reviews_url(row),
            **self._context())

    @expose("/<int:year>/<int:period>/<category>/<action>", methods=["POST"])
    @has_access
    @permission_name("publish")
    def act(self, year, period, category, action):
        key = (year, period, category)
        if action not in BUTTONS:
            abort(404)
        try:
            if action == "withdraw":
                batch = withdraw(db.session, key, current_user.id, request.form.get("note", ""))
            else:
                batch = ACTIONS[action][1](db.session, key, current_user.id)
        except BatchRefused as exc:
            flash(str(exc), "danger")
        else:
            done = BUTTONS[action][0]
            extra = (f"，现为第 {batch.revision} 版草稿，可修改后重新审核发布"
                     if action == "withdraw" else "")
            flash(f"{batch}：已{done}{extra}。", "success")
        return redirect(url_for(".show", year=year, period=period, category=category))

    def _context(self) -> dict:
        return dict(grades=REVIEW_GRADES, buttons=BUTTONS, actions_by_status=ACTIONS_BY_STATUS,
                    can_act=has_permission(PERM_PUBLISH), published=BATCH_PUBLISHED)


def _reviews_url(row) -> str | None:
    """The reviews list filtered to this batch."""
    try:
        return url_for("ReviewsView.list", _flt_0_year=row.year, _flt_0_period=row.period,
                       _flt_0_category=row.category)
    except Exception:
        return None


def register(appbuilder) -> None:
    # After the lists: last in 技术服务机构, after 警示约谈.
    appbuilder.add_view(ReviewBatchesView, TITLE, icon="fa-gavel", category=CATEGORY)
