"""首页 (the dashboard): what needs attention, and each list with its record count.

Every number links to a page that shows exactly the records it counts: a list's named filter
(`?preset=`, declared by the list: app/web/presets.py), the 盲审批次 page of a queue
(app/web/queues.py), or the current user's import drafts. Each is one COUNT over an indexed
condition (EXISTS for the coverage gap), never rows loaded. Windows, sectors and thresholds
are settings (app/settings.py). Made the index by FAB_INDEX_VIEW (config.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from flask_appbuilder import BaseView, IndexView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_login import current_user

from .. import db
from ..drafts import ImportDraft
from ..sheets.declare import sheets
from . import paging
from .presets import ARG, PresetFilters
from .queues import QUEUES
from .screens import TEMPLATES, SheetView
from .security import PERM_IMPORT, has_permission


@dataclass(frozen=True)
class Item:
    """One number of the dashboard and the page that lists what it counts."""
    label: str
    count: int
    url: str
    where: str  # which list or page it opens


def _count(model, condition) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(condition))


def _title(view) -> str:
    sheet = getattr(view, "sheet", None)
    return sheet.title if sheet is not None else (getattr(view, "list_title", "") or "")


def preset_items() -> list[Item]:
    """Every named filter of every list screen the user may open, in menu order."""
    items = []
    for view in current_app.appbuilder.baseviews:
        if not isinstance(view, PresetFilters) or not view.presets:
            continue
        if not has_permission(("can_list", view.class_permission_name)):
            continue
        model = view.datamodel.obj
        for name, preset in view.presets.items():
            items.append(Item(preset.title, _count(model, preset.where()),
                              url_for(f"{view.endpoint}.list", **{ARG: name}), _title(view)))
    return items


def queue_items() -> list[Item]:
    """The review batches waiting for the current user."""
    if not has_permission(("can_list", "ReviewBatches")):
        return []
    return [Item(q.label, q.count(db.session, current_user.id),
                 url_for("ReviewBatchesView.list", queue=q.name), "盲审批次")
            for q in QUEUES.values() if q.is_for_current_user()]


def draft_items() -> list[Item]:
    """The current user's import drafts: uploaded, previewed, not yet confirmed."""
    if not has_permission(PERM_IMPORT):
        return []
    n = _count(ImportDraft, ImportDraft.user_id == current_user.id)
    return [Item("我上传后尚未确认导入的文件", n, url_for("MyDraftsView.list"), "导入导出")]


def attention() -> list[Item]:
    return [*preset_items(), *queue_items(), *draft_items()]


def lists_summary() -> list[tuple[str, list[dict]]]:
    """Each list the user may open, by group, with its record count."""
    groups: dict[str, list[dict]] = {}
    for view in current_app.appbuilder.baseviews:
        if not isinstance(view, SheetView):
            continue
        if not has_permission(("can_list", view.class_permission_name)):
            continue
        sheet = view.sheet
        # As on the list's own page: a large table by the database's estimate ("约 N").
        count = paging.count_rows(db.session, db.session.query(sheet.model.id),
                                  sheet.model.__table__, filtered=False)
        groups.setdefault(sheet.group or "清单", []).append(dict(
            title=sheet.title, slug=sheet.slug, count=count,
            url=url_for(f"{view.endpoint}.list")))
    return list(groups.items())


class DashboardView(IndexView):
    """首页: for a signed-in user what needs attention and the lists; for a visitor the way to
    sign in and to the public pages."""
    template_folder = TEMPLATES
    index_template = "qingdan/index.html"

    @expose("/")
    def index(self):
        self.update_redirect()
        signed_in = current_user.is_authenticated
        return self.render_template(
            self.index_template, attention=attention() if signed_in else [],
            groups=lists_summary() if signed_in else [],
            public_url=url_for("public.home") if "public.home" in current_app.view_functions
            else None)


class MyDraftsView(BaseView):
    """导入草稿: the current user's uploads waiting for 确认导入 (others' are not listed)."""
    route_base = "/my-drafts"
    class_permission_name = PERM_IMPORT[1]
    template_folder = TEMPLATES
    default_view = "list"

    @expose("/")
    @has_access
    @permission_name("import")
    def list(self):
        # The columns only: a draft holds its whole file.
        drafts = db.session.execute(
            sa.select(ImportDraft.id, ImportDraft.slug, ImportDraft.file_name,
                      ImportDraft.created_on)
            .where(ImportDraft.user_id == current_user.id)
            .order_by(ImportDraft.created_on.desc(), ImportDraft.id)).all()
        titles = {s.slug: s.title for s in sheets}
        return self.render_template("qingdan/my_drafts.html", title="我的导入草稿",
                                    drafts=drafts, titles=titles)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(MyDraftsView)
