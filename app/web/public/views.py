"""The routes of /public/: each parses its arguments, asks listing/results for the public
records, and renders a page or a download. Only GET; nothing here writes."""
from __future__ import annotations

import io
import itertools
import json
from urllib.parse import urlencode

from flask import abort, redirect, render_template, request, send_file, url_for

from ... import db
from ...lists.agencies import REVIEW_GRADES, Interview, Qualification
from ...settings import setting
from ...sheets.declare import sheets
from . import bp
from .caching import conditional, etag_of, finish
from .chart import score_chart
from .downloads import FORMATS, WRITERS, Table, fingerprint_source
from .fields import public_fields, public_select, record_of, text, value_of
from .listing import PAGE_SIZE, PAGES, PRINT_MAX, choices, count, searched
from .openapi import document
from .results import (
    AGENCY_FIELDS,
    AGENCY_ID,
    Shown,
    agency_results,
    batch,
    batch_name,
    batches,
    chart_points,
    report_fields,
)

bp.after_request(finish)

NAV = (("public.home", {}, "首页"), ("public.listing", {"slug": "powers"}, "权力清单"),
       ("public.listing", {"slug": "responsibilities"}, "责任清单"),
       ("public.listing", {"slug": "reforms"}, "审批改革"),
       ("public.listing", {"slug": "agencies"}, "机构名录"),
       ("public.reviews", {}, "盲审结果"), ("public.data", {}, "开放数据"))


@bp.context_processor
def _site():
    return {"site_title": setting("PUBLIC_SITE_TITLE"),
            "nav": [(url_for(e, **kw), label) for e, kw, label in NAV]}


@bp.errorhandler(404)
def _not_found(_exc):
    return render_template("public/message.html", title="页面不存在",
                           message="您要找的页面不存在，或该信息未公开、已撤回。请从上方栏目重新进入。"), 404


@bp.errorhandler(410)
def _gone(exc):
    return render_template("public/message.html", title="已撤回",
                           message=getattr(exc, "description", "") or "该信息已撤回。"), 410


def _pairs(fields, obj) -> list[tuple[str, str, bool]]:
    """(label, text, long) of each field of a record that has a value."""
    out = []
    for f in fields:
        shown = text(f, value_of(obj, f))
        if shown:
            out.append((f.label, shown, f.long))
    return out


def _public_one(slug: str, pk: int):
    sheet = sheets[slug]
    obj = db.session.scalar(public_select(sheet).where(sheet.model.id == pk))
    if obj is None:
        abort(404)
    return obj


# ---------------------------------------------------------------------------- home
@bp.route("/")
def home():
    counts = {slug: count(db.session, public_select(p.sheet)) for slug, p in PAGES.items()}
    return render_template("public/home.html", title="首页", pages=PAGES, counts=counts,
                           batches=len(batches(db.session)))


# ---------------------------------------------------------------------------- lists
@bp.route("/<slug>/")
def listing(slug):
    page = PAGES.get(slug)
    if page is None:
        abort(404)
    stmt, given = searched(page, request.args)
    total = count(db.session, stmt)
    show_all = request.args.get("all") == "1"
    size = PRINT_MAX if show_all else PAGE_SIZE
    pages = max(1, -(-total // size))
    number = min(max(request.args.get("page", 1, type=int), 1), pages)
    records = db.session.scalars(stmt.offset((number - 1) * size).limit(size)).unique().all()
    fields = page.fields()
    rows = [dict(cells=[text(f, value_of(r, f)) for f in fields],
                 link=page.link(r) if page.link else None,
                 certificates=_certificates(r) if slug == "agencies" else None)
            for r in records]
    return render_template(
        "public/list.html", title=page.title, page=page, fields=fields, rows=rows,
        total=total, number=number, pages=pages, show_all=show_all, given=given,
        choices={s.arg: choices(db.session, page, s) for s in page.searches
                 if s.kind == "choice"},
        query=urlencode(given), page_url=lambda n: _page_url(slug, given, n),
        downloads=[(fmt, url_for("public.download", slug=slug, fmt=fmt, **given))
                   for fmt in FORMATS])


def _page_url(slug: str, given: dict, number: int) -> str:
    return url_for("public.listing", slug=slug, page=number, **given)


def _certificates(agency) -> list[dict]:
    """An agency's certificates in the directory: category, grade, validity today."""
    return [dict(category=q.category, grade=q.grade, validity=q.validity,
                 valid=q.validity == Qualification.VALID, expires_on=q.expires_on)
            for q in agency.qualifications]


@bp.route("/powers/<int:pk>")
def power(pk):
    """一项一表: a power in force, every public field, then its duties by stage."""
    item = _public_one("powers", pk)
    duty_fields = [f for f in public_fields(sheets["responsibilities"])
                   if not f.name.startswith("power.") and f.name != "stage"]
    stages = [(stage, [[text(f, value_of(d, f)) for f in duty_fields] for d in group])
              for stage, group in itertools.groupby(item.duties, lambda d: d.stage)]
    return render_template("public/power.html", title=f"{item.name}（一项一表）", power=item,
                           fields=_pairs(public_fields(sheets["powers"]), item),
                           duty_headers=[f.label for f in duty_fields], stages=stages)


@bp.route("/agencies/<int:pk>")
def agency(pk):
    """An agency's quality profile: its certificates, its published results batch by batch
    with their chart, its interviews and their rectification."""
    item = _public_one("agencies", pk)
    cert_fields = [f for f in public_fields(sheets["qualifications"])
                   if not f.name.startswith("agency.")]
    certs = db.session.scalars(public_select(sheets["qualifications"])
                               .where(Qualification.agency_id == pk)).all()
    talk_fields = [f for f in public_fields(sheets["interviews"])
                   if not f.name.startswith("agency.")]
    talks = db.session.scalars(public_select(sheets["interviews"])
                               .where(Interview.agency_id == pk)).all()
    results = agency_results(db.session, pk)
    shown = [f for f in report_fields() if f.name not in AGENCY_FIELDS]
    return render_template(
        "public/agency.html", title=item.name, agency=item,
        fields=_pairs(public_fields(sheets["agencies"]), item),
        cert_fields=cert_fields,
        certs=[[text(f, value_of(c, f)) for f in cert_fields] for c in certs],
        talk_fields=talk_fields,
        talks=[[text(f, value_of(i, f)) for f in talk_fields] for i in talks],
        results=results, result_fields=shown, batch_name=batch_name, text=text,
        chart=score_chart(chart_points(results), f"{item.name}历次盲审得分"))


# ---------------------------------------------------------------------------- reviews
@bp.route("/reviews/")
def reviews():
    shown = [Shown(h, h.current or h.publications[-1]) for h in batches(db.session)]
    return render_template("public/reviews.html", title="报告盲审结果", shown=shown,
                           grades=REVIEW_GRADES, batch_name=batch_name)


@bp.route("/reviews.json")
def reviews_json():
    """The index of published batches: each one's state and the documents of its revisions."""
    items = []
    for h in batches(db.session):
        b, current = h.batch, h.current
        items.append({
            "year": b.year, "period": b.period, "category": b.category,
            "state": "现行" if current else "已撤回",
            "current_revision": current.revision if current else None,
            "revisions": [{"revision": p.revision, "state": Shown(h, p).state_text,
                           "published_on": p.published_on.date().isoformat(),
                           "json": _revision_url(b, p.revision, "json")
                           if h.state(p) != "withdrawn" else None}
                          for p in h.publications]})
    return _send_json({"title": "报告盲审结果（已发布批次）", "count": len(items), "items": items})


def _batch_or_404(year, period, category):
    found = batch(db.session, (year, period, category))
    if found is None:
        abort(404)
    return found


def _revision_url(b, revision: int, fmt: str | None = None) -> str:
    if fmt is None:
        return url_for("public.revision", year=b.year, period=b.period, category=b.category,
                       revision=revision)
    return url_for("public.revision_download", year=b.year, period=b.period,
                   category=b.category, revision=revision, fmt=fmt)


def _render_revision(history, publication, canonical: bool):
    shown = Shown(history, publication)
    b = history.batch
    current = history.current
    # Profiles to link to: the agencies of the rows that are (still) public.
    ids = {r[AGENCY_ID] for r in shown.rows if r[AGENCY_ID] is not None}
    agencies = set(db.session.scalars(public_select(sheets["agencies"]).with_only_columns(
        sheets["agencies"].model.id).where(sheets["agencies"].model.id.in_(ids)))) if ids else set()
    return render_template(
        "public/batch.html", title=batch_name(b), shown=shown, history=history,
        canonical=canonical, fields=report_fields(), text=text, agencies=agencies,
        grades=REVIEW_GRADES, current_url=url_for("public.batch", year=b.year,
                                                  period=b.period, category=b.category),
        current=current, revision_url=lambda n, fmt=None: _revision_url(b, n, fmt),
        downloads=[] if shown.state == "withdrawn" else
        [(fmt, _revision_url(b, publication.revision, fmt)) for fmt in FORMATS])


@bp.route("/reviews/<int:year>/<int:period>/<category>/", endpoint="batch")
def batch_page(year, period, category):
    """A batch: its current revision (or the notice that it is withdrawn), and its history."""
    history = _batch_or_404(year, period, category)
    return _render_revision(history, history.current or history.publications[-1], True)


@bp.route("/reviews/<int:year>/<int:period>/<category>/r<int:revision>")
def revision(year, period, category, revision):
    history = _batch_or_404(year, period, category)
    publication = history.revision(revision)
    if publication is None:
        abort(404)
    if history.state(publication) == "current":
        return redirect(url_for("public.batch", year=year, period=period, category=category))
    return _render_revision(history, publication, False)


@bp.route("/reviews/<int:year>/<int:period>/<category>/r<int:revision>.<fmt>")
def revision_download(year, period, category, revision, fmt):
    history = _batch_or_404(year, period, category)
    publication = history.revision(revision)
    if publication is None or fmt not in FORMATS:
        abort(404)
    shown = Shown(history, publication)
    if shown.state == "withdrawn":
        abort(410, description=f"{batch_name(history.batch)}已撤回更正，更正后的结果发布前不提供下载。")
    suffix = "" if shown.state == "current" else f"_{shown.state_text}"
    return _send_table(shown.table(), fmt,
                       f"{batch_name(history.batch)}_第{revision}版{suffix}")


# ---------------------------------------------------------------------------- open data
@bp.route("/data/")
def data():
    lists = [(p, count(db.session, public_select(p.sheet))) for p in PAGES.values()]
    shown = [Shown(h, h.current) for h in batches(db.session) if h.current is not None]
    return render_template("public/data.html", title="开放数据", lists=lists, formats=FORMATS,
                           shown=shown, batch_name=batch_name, revision_url=_revision_url)


@bp.route("/data/<slug>.<fmt>")
def download(slug, fmt):
    """A public list (as searched by the same arguments as its page), whole."""
    page = PAGES.get(slug)
    if page is None or fmt not in FORMATS:
        abort(404)
    stmt, given = searched(page, request.args)
    fields = public_fields(page.sheet)
    records = db.session.scalars(stmt).unique().all()
    table = Table(page.title, fields, [record_of(r, fields) for r in records],
                  about={"list": slug, "search": given},
                  note=page.intro + (f" 检索条件：{urlencode(given)}" if given else ""))
    return _send_table(table, fmt, page.title + ("_检索结果" if given else ""))


def _send_table(table: Table, fmt: str, name: str):
    def build():
        data = WRITERS[fmt](table)
        return send_file(io.BytesIO(data), mimetype=FORMATS[fmt], as_attachment=fmt != "json",
                         download_name=f"{name}.{fmt}", etag=False, max_age=None)
    return conditional(etag_of(fmt.encode() + fingerprint_source(table)), build)


def _send_json(doc: dict):
    data = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    return conditional(etag_of(data), lambda: send_file(
        io.BytesIO(data), mimetype=FORMATS["json"], etag=False, max_age=None))


@bp.route("/openapi.json")
def openapi():
    return _send_json(document())
