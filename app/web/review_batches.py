"""盲审批次: the review batches and their workflow (提交审核, 审核通过, 退回, 发布, 撤回修订).

The screen reads `app.batch_summary.batch_rows`. Every action is a confirmation page first (GET:
what it will do, to how many reports of which agencies, or why it cannot be done now), then
the page's form (POST) calls the action's command (app/reviews.py), which owns its
transaction, says in Chinese why it refuses, and refuses if the batch changed since the page
was shown (the form carries the batch's `digest`). Nothing is done on GET, nor by a POST without
the page's state. Reading is for every staff role; 提交审核 needs PERM_SUBMIT (科员, 科长),
the other actions PERM_PUBLISH (科长, 管理员).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_login import current_user

from .. import db
from ..batch_summary import batch_rows, confirmation
from ..lists.agencies import BATCH_PUBLISHED, REVIEW_GRADES, batch_lock_reason
from ..reviews import ACTIONS_BY_STATUS, TRANSITIONS, BatchRefused, run
from .queues import queue_named
from .screens import TEMPLATES
from .security import PERM_PUBLISH, PERM_SUBMIT, has_permission

TITLE = "盲审批次"
CATEGORY = "技术服务机构"
BUTTONS = {"submit": ("btn-success", "fa-paper-plane"),
           "approve": ("btn-success", "fa-check"),
           "send_back": ("btn-warning", "fa-reply"),
           "publish": ("btn-primary", "fa-bullhorn"),
           "withdraw": ("btn-danger", "fa-undo")}
DONE = {"submit": "，等待科长审核；审核前如需修改，请科长退回",
        "send_back": "，退回原因已显示在本批次页面上，提交人修改后可重新提交审核",
        "publish": "，已在公开页面公布"}


def _permission(action: str) -> tuple[str, str]:
    return PERM_PUBLISH if TRANSITIONS[action].approver else PERM_SUBMIT


class ReviewBatchesView(BaseView):
    route_base = "/review-batches"
    class_permission_name = PERM_PUBLISH[1]  # "ReviewBatches": list, show, submit, publish
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
            public_url=_public_url, **self._context())

    @expose("/<int:year>/<int:period>/<category>/submit", methods=["GET", "POST"])
    @has_access
    @permission_name("submit")
    def submit(self, year, period, category):
        return self._confirm_or_act("submit", (year, period, category))

    @expose("/<int:year>/<int:period>/<category>/<action>", methods=["GET", "POST"])
    @has_access
    @permission_name("publish")
    def act(self, year, period, category, action):
        if action == "submit" or action not in TRANSITIONS:
            abort(404)
        return self._confirm_or_act(action, (year, period, category))

    def _confirm_or_act(self, action: str, key: tuple):
        """GET (or a POST without the page's state): the confirmation page. POST from it: the
        command; refused, the page again, as the batch is now."""
        seen = request.form.get("seen") if request.method == "POST" else None
        reason = request.form.get("reason", "") if request.method == "POST" else ""
        if seen:
            try:
                batch = run(db.session, action, key, current_user.id, reason, seen=seen)
            except BatchRefused as exc:
                flash(str(exc), "danger")
            else:
                label = TRANSITIONS[action].label
                extra = (f"，现为第 {batch.revision} 版草稿，可修改后重新提交审核"
                         if action == "withdraw" else DONE.get(action, ""))
                flash(f"{batch}：已{label}{extra}。", "success")
                return redirect(url_for(".show", year=key[0], period=key[1], category=key[2]))
        found = confirmation(db.session, key, action, current_user.id)
        if found is None:
            abort(404)
        return self.render_template(
            "qingdan/review_batch_confirm.html",
            title=f"确认{found.transition.label}：{found.row.name}", c=found, reason=reason,
            grades=REVIEW_GRADES, buttons=BUTTONS)

    def _context(self) -> dict:
        allowed = {a: has_permission(_permission(a)) for a in TRANSITIONS}
        return dict(grades=REVIEW_GRADES, buttons=BUTTONS, actions_by_status=ACTIONS_BY_STATUS,
                    transitions=TRANSITIONS, allowed=allowed, published=BATCH_PUBLISHED,
                    action_url=action_url)


def action_url(row, action: str) -> str:
    """The confirmation page of `action` on the batch of `row`."""
    key = dict(year=row.year, period=row.period, category=row.category)
    if action == "submit":
        return url_for("ReviewBatchesView.submit", **key)
    return url_for("ReviewBatchesView.act", action=action, **key)


def _reviews_url(row) -> str | None:
    """The reviews list filtered to this batch: 年度, 期次 and 盲审类别 each 等于 (FAB's filter
    argument names the filter by its index among the column's filters)."""
    view = next((v for v in current_app.appbuilder.baseviews
                 if type(v).__name__ == "ReviewsView"), None)
    if view is None:
        return None
    args = {}
    for column in ("year", "period", "category"):
        kinds = [type(f).__name__ for f in view._filters._search_filters.get(column, [])]
        index = kinds.index("FilterEqual") if "FilterEqual" in kinds else 0
        args[f"_flt_{index}_{column}"] = getattr(row, column)
    return url_for("ReviewsView.list", **args)


def _public_url(row, revision: int) -> str | None:
    """The public page of one published revision (when the public pages are there)."""
    if "public.revision" not in current_app.view_functions:
        return None
    return url_for("public.revision", year=row.year, period=row.period, category=row.category,
                   revision=revision)


def register(appbuilder) -> None:
    # After the lists: last in 技术服务机构, after 警示约谈.
    appbuilder.add_view(ReviewBatchesView, TITLE, icon="fa-gavel", category=CATEGORY)
