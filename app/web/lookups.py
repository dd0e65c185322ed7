"""Parent fields (机构, 企业, 保单, 权力) as type-ahead pickers that ask the server.

Flask-AppBuilder renders a parent field as a dropdown of the whole related table (#796), on
every add and edit form and in every filter panel: with thousands of enterprises the page
is slow. Here the field holds only its current value; select2 (shipped with FAB, in ajax
mode: app/web/static/qingdan.js) asks

    GET /lookup/<list>/<field>?q=<words>&page=<n>   ->  {"results": [{"id", "text"}], "more"}

for at most PAGE matches, searched like the parent list's own search box (app/web/search.py)
and in its declared order. Only a signed-in user who may open the list the field belongs to
gets an answer (the list shows those parents' names anyway).

The empty choice reads 「请选择…」 and sends "" (FAB's dropdown preselected `__None`); a
required parent left empty is refused in the words of the field the clerk sees
(「生产经营单位」为必填项), not those of a spreadsheet column the form does not have.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.validators import ValidationError

from ..sheets.declare import Sheet, sheets
from .search import text_condition
from .security import has_permission

PAGE = 20
PLACEHOLDER = "请选择…"
REQUIRED = "「{label}」为必填项：请在框中输入名称或编号的几个字，从列表中选择"
GONE = "所选的「{label}」记录已不存在（可能已被删除）：请重新选择"

bp = Blueprint("qingdan_lookups", __name__, url_prefix="/lookup")


def _target(sheet: Sheet, relation: str):
    return sa.inspect(sheet.model).relationships[relation].mapper.class_


class LookupWidget:
    """A <select> holding only the chosen parent; qingdan.js makes it a type-ahead."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        css = f"{kwargs.pop('class', '')} {kwargs.pop('class_', '')} form-control qd-lookup"
        attrs = {"class": css.strip(), "name": field.name, "data-url": field.url(),
                 "data-placeholder": PLACEHOLDER, **kwargs}
        if field.is_required:
            attrs["aria-required"] = "true"
        options = [Markup('<option value=""></option>')]
        for obj in field.chosen():
            options.append(Markup('<option value="{}" selected>{}</option>').format(obj.id,
                                                                                   str(obj)))
        html = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items() if v is not None)
        return Markup(f"<select {html}>") + Markup("").join(options) + Markup("</select>")


class LookupField(Field):
    """A parent record chosen by its id. `data` is the parent instance (or None), as FAB's
    related-list links and the record commands expect.

    search=True: a filter of the list's search form, whose chosen values are those of the
    page's own `_flt_` arguments (FAB's filter panel keeps them)."""
    widget = LookupWidget()

    def __init__(self, label=None, *, sheet: Sheet, relation: str, required: bool = False,
                 search: bool = False, **kwargs):
        super().__init__(label, **kwargs)
        self.sheet, self.relation = sheet, relation
        self.is_required, self.search = required, search
        self.model = _target(sheet, relation)
        if required:
            self.flags.qd_required = True
        self._unknown = False

    def url(self) -> str:
        return url_for("qingdan_lookups.lookup", slug=self.sheet.slug, relation=self.relation)

    def _session(self):
        return current_app.appbuilder.session

    def chosen(self) -> list:
        if not self.search:
            return [self.data] if self.data is not None else []
        ids = {int(v) for k, v in request.args.items(multi=True)
               if re.fullmatch(rf"_flt_\d_{re.escape(self.relation)}", k) and str(v).isdigit()}
        return [o for o in (self._session().get(self.model, i) for i in sorted(ids)) if o]

    def _value(self):
        return "" if self.data is None else str(self.data.id)

    def process_formdata(self, valuelist):
        self._unknown = False
        raw = (valuelist[0] if valuelist else "") or ""
        raw = raw.strip()
        if not raw or raw == "__None":
            self.data = None
        elif raw.isdigit():
            self.data = self._session().get(self.model, int(raw))
            self._unknown = self.data is None
        else:
            self.data, self._unknown = None, True

    def pre_validate(self, form):
        label = self.label.text
        if self._unknown:
            raise ValidationError(GONE.format(label=label))
        if self.is_required and self.data is None:
            raise ValidationError(REQUIRED.format(label=label))

    def populate_obj(self, obj, name):
        setattr(obj, name, self.data)


# ---------------------------------------------------------------------------- the endpoint
def _list_view(slug: str):
    from .screens import view_for
    try:
        return view_for(slug)
    except KeyError:
        return None


def _denied(status: int, message: str):
    return jsonify(results=[], more=False, message=message), status


@bp.route("/<slug>/<relation>")
def lookup(slug, relation):
    sheet = sheets.get(slug)
    if sheet is None or relation not in sheet.relations:
        return _denied(404, "没有这个选择框。")
    if not current_user.is_authenticated:
        return _denied(401, "请先登录。")
    view = _list_view(slug)
    if view is None or not has_permission(("can_list", view.class_permission_name)):
        return _denied(403, "您的账号无权查看这一清单。")
    model = _target(sheet, relation)
    parent = sheets.for_model(model)
    stmt = sa.select(model)
    words = request.args.get("q", "")
    if parent is not None:
        condition = text_condition(parent, words)
        if condition is not None:
            stmt = stmt.where(condition)
        stmt = stmt.order_by(*parent_order(parent))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = current_app.appbuilder.session.scalars(
        stmt.order_by(model.id).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return jsonify(results=[{"id": o.id, "text": str(o)} for o in rows[:PAGE]],
                   more=len(rows) > PAGE)


def parent_order(sheet: Sheet) -> list:
    from ..sheets.sorting import declared_order
    return declared_order(sheet)


def register(app) -> None:
    app.register_blueprint(bp)
