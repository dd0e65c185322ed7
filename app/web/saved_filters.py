"""我的筛选: a filtered list saved under a name, found again on the list page (its 我的筛选
menu) and on one page of all of them. Each user's own; what is saved is the list page's
query string (search words, filters, preset, order), paging left out.

    POST /saved-filters/<list>          save the page's filter as name (a name used again
                                        for the same list replaces it)
    POST /saved-filters/<id>/delete
    GET  /saved-filters/                all of mine, by list
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_login import current_user
from sqlalchemy import select

from .. import db
from ..preferences import SAVED_FILTER_NAME_MAX, SavedFilter
from ..sheets.declare import sheets
from .assets import login_redirect
from .screens import TEMPLATES, view_for
from .security import has_permission

PAGING = re.compile(r"^(page|psize)_")
MAX_PER_USER = 200


def clean_query(query: str) -> str:
    """A list page's query string without paging (and without an empty search)."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False)
             if not PAGING.match(k) and k != "csrf_token"]
    return urlencode(pairs)


def mine(slug: str | None = None) -> list[SavedFilter]:
    if not current_user.is_authenticated:
        return []
    stmt = select(SavedFilter).where(SavedFilter.user_id == current_user.id)
    if slug:
        stmt = stmt.where(SavedFilter.slug == slug)
    return list(db.session.scalars(stmt.order_by(SavedFilter.slug, SavedFilter.name)))


def url_of(saved: SavedFilter) -> str | None:
    try:
        base = url_for(f"{view_for(saved.slug).endpoint}.list")
    except KeyError:
        return None
    return base + ("?" + saved.query if saved.query else "")


class SavedFiltersView(BaseView):
    route_base = "/saved-filters"
    template_folder = TEMPLATES
    default_view = "list"

    def _login(self):
        return login_redirect()

    @expose("/", methods=["GET"])
    def list(self):
        if not current_user.is_authenticated:
            return self._login()
        rows = [(s, sheets[s.slug].title if sheets.get(s.slug) else s.slug, url_of(s))
                for s in mine()]
        return self.render_template("qingdan/saved_filters.html", title="我的筛选", rows=rows)

    @expose("/<slug>", methods=["POST"])
    def save(self, slug):
        if not current_user.is_authenticated:
            return self._login()
        sheet = sheets.get(slug)
        if sheet is None:
            abort(404)
        view = view_for(slug)
        if not has_permission(("can_list", view.class_permission_name)):
            abort(403)
        back = url_for(f"{view.endpoint}.list")
        query = clean_query(request.form.get("query", ""))
        name = (request.form.get("name") or "").strip()[:SAVED_FILTER_NAME_MAX]
        if not name:
            flash("未保存：请给这个筛选起个名字，如“在聘的危险化学品专家”。", "danger")
            return redirect(back + ("?" + query if query else ""))
        if not query:
            flash("未保存：当前没有任何筛选条件。请先搜索或筛选，再保存。", "danger")
            return redirect(back)
        saved = db.session.scalar(select(SavedFilter).where(
            SavedFilter.user_id == current_user.id, SavedFilter.slug == slug,
            SavedFilter.name == name))
        if saved is None:
            if len(mine()) >= MAX_PER_USER:
                flash(f"未保存：每人最多保存 {MAX_PER_USER} 个筛选，请先删除不用的。", "danger")
                return redirect(back + "?" + query)
            db.session.add(SavedFilter(user_id=current_user.id, slug=slug, name=name,
                                       query=query))
            flash(f"已保存筛选「{name}」：在本页“我的筛选”中可随时打开。", "success")
        else:
            saved.query = query
            flash(f"已更新筛选「{name}」。", "success")
        db.session.commit()
        return redirect(back + "?" + query)

    @expose("/<int:saved_id>/delete", methods=["POST"])
    def delete(self, saved_id):
        if not current_user.is_authenticated:
            return self._login()
        saved = db.session.get(SavedFilter, saved_id)
        if saved is None or saved.user_id != current_user.id:
            abort(404)  # someone else's is not theirs to know of
        name = saved.name
        db.session.delete(saved)
        db.session.commit()
        flash(f"已删除筛选「{name}」。", "success")
        return redirect(request.form.get("next") or url_for(".list"))


def register(appbuilder) -> None:
    from flask import current_app
    appbuilder.add_view_no_menu(SavedFiltersView)
    current_app.jinja_env.globals.update(qd_saved_filters=mine, qd_saved_url=url_of)
