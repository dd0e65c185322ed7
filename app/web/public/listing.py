"""The public lists as pages: which public fields each page shows, how the public searches it
(name, 权力类别, 实施主体 …), and the query of one page of it.

Every column and every search field here must be public (`Sheet.public`): checked when the
pages are registered, so that searching cannot reveal what showing does not.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import joinedload, selectinload

from ...sheets import types as t
from ...sheets.declare import Sheet, sheets
from .fields import PublicField, public_fields, public_select

PAGE_SIZE = 30
PRINT_MAX = 2000  # 全部显示 (for printing) shows at most this many rows
YES, NO = "是", "否"


@dataclass(frozen=True)
class Search:
    arg: str
    label: str
    fields: tuple[str, ...]
    kind: str = "text"  # text (contains, any of the fields) / choice (equals) / yesno


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    intro: str
    columns: tuple[str, ...]
    searches: tuple[Search, ...]
    link: Callable[[object], str | None] | None = None  # a row's page

    @property
    def sheet(self) -> Sheet:
        return sheets[self.slug]

    def fields(self) -> list[PublicField]:
        by_name = {f.name: f for f in public_fields(self.sheet)}
        return [by_name[n] for n in self.columns]


def _power_link(power) -> str:
    return url_for("public.power", pk=power.id)


def _agency_link(agency) -> str | None:
    return url_for("public.agency", pk=agency.id) if agency is not None else None


PAGES: dict[str, Page] = {p.slug: p for p in (
    Page("powers", "权力清单",
         "本局现行有效的行政权力事项。点击事项名称查看“一项一表”，含该事项的全部责任事项。",
         ("code", "category", "name", "sub_item", "implementing_body"),
         (Search("q", "事项名称或编码", ("name", "sub_item", "code")),
          Search("category", "权力类别", ("category",), "choice"),
          Search("body", "实施主体", ("implementing_body",), "choice")),
         link=_power_link),
    Page("responsibilities", "责任清单",
         "与现行权力事项对应的责任事项、追责情形和问责依据。",
         ("power.code", "power.name", "stage", "seq", "matter", "responsible_unit"),
         (Search("q", "责任事项或权力名称", ("matter", "power.name")),
          Search("stage", "环节", ("stage",), "choice")),
         link=lambda duty: _power_link(duty.power)),
    Page("reforms", "审批事项改革",
         "行政审批事项的取消、调整、下放等改革决定及其文号。",
         ("power_code", "item_name", "change_type", "decision_no", "decided_on", "effective_on",
          "delegated_to", "supervision_measures"),
         (Search("q", "事项名称、编码或文号", ("item_name", "power_code", "decision_no")),
          Search("type", "变更类型", ("change_type",), "choice"))),
    Page("agencies", "安全生产技术服务机构名录",
         "在本市登记的安全生产技术服务机构及其资质证书。有效状态和双资质按今日判断。",
         ("name", "credit_code", "district", "status", "dual_qualified"),
         (Search("q", "机构名称或信用代码", ("name", "credit_code")),
          Search("district", "所在区", ("district",), "choice"),
          Search("dual", "双资质", ("dual_qualified",), "yesno")),
         link=_agency_link),
    Page("qualifications", "机构资质证书",
         "技术服务机构的资质证书。有效状态按今日判断。",
         ("agency.name", "category", "grade", "cert_no", "issued_on", "expires_on", "status",
          "validity"),
         (Search("q", "机构名称或证书编号", ("agency.name", "cert_no")),
          Search("category", "资质类别", ("category",), "choice"),
          Search("grade", "资质等级", ("grade",), "choice")),
         link=lambda q: _agency_link(q.agency)),
    Page("interviews", "警示约谈",
         "对技术服务机构的警示约谈及整改结果。",
         ("agency.name", "interviewed_on", "reason", "deadline", "result"),
         (Search("q", "机构名称或约谈事由", ("agency.name", "reason")),
          Search("result", "整改结果", ("result",), "choice")),
         link=lambda i: _agency_link(i.agency)),
)}


def check_pages() -> None:
    """Every page shows and searches public fields only."""
    for page in PAGES.values():
        public = {f.name for f in public_fields(page.sheet)}
        used = set(page.columns) | {f for s in page.searches for f in s.fields}
        if not used <= public or page.sheet.public is None or not page.sheet.public.listed:
            raise ValueError(f"public page {page.slug}: not public: {sorted(used - public)}")


# ---------------------------------------------------------------------------- queries
def _attr(model, name: str):
    return getattr(model, name)


def _expr(sheet: Sheet, name: str, make: Callable):
    """`make(column)` on a field, through the parent for "rel.attr" (an EXISTS)."""
    model = sheet.model
    if "." not in name:
        return make(_attr(model, name))
    rel, attr = name.split(".", 1)
    relationship = _attr(model, rel)
    target = relationship.property.mapper.class_
    return relationship.has(make(_attr(target, attr)))


def _condition(sheet: Sheet, search: Search, value: str):
    if search.kind == "text":
        return sa.or_(*(_expr(sheet, f, lambda c: c.contains(value, autoescape=True))
                        for f in search.fields))
    if search.kind == "yesno":
        expr = _attr(sheet.model, search.fields[0])
        return expr if value == YES else sa.not_(expr)
    return _expr(sheet, search.fields[0], lambda c: c == value)


def searched(page: Page, args) -> tuple[sa.Select, dict[str, str]]:
    """The public records of the page matching the search arguments, and those arguments."""
    sheet = page.sheet
    stmt = public_select(sheet)
    given = {}
    for s in page.searches:
        value = (args.get(s.arg) or "").strip()[:100]
        if not value or (s.kind == "yesno" and value not in (YES, NO)):
            continue
        given[s.arg] = value
        stmt = stmt.where(_condition(sheet, s, value))
    return stmt.options(*_loads(sheet)), given


def _loads(sheet: Sheet) -> list:
    """Parents of dotted public fields, and an agency's certificates (双资质)."""
    fields = sheet.public.fields
    out = [joinedload(_attr(sheet.model, rel))
           for rel in dict.fromkeys(f.split(".", 1)[0] for f in fields if "." in f)]
    if "dual_qualified" in fields:
        out.append(selectinload(sheet.model.qualifications))
    return out


def count(session, stmt: sa.Select) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(
        stmt.order_by(None).subquery()))


def choices(session, page: Page, search: Search) -> list[str]:
    """What a choice search offers: the dictionary of an enumerated field, else the values
    the public records hold."""
    sheet = page.sheet
    name = search.fields[0]
    col = next((c for c in sheet.columns if c.field == name), None)
    if col is not None and isinstance(col.type, t.Enum):
        return list(col.type.choices)
    column = _attr(sheet.model, name)
    stmt = sa.select(column).distinct().where(column.is_not(None)).order_by(column)
    if sheet.public.where is not None:
        stmt = stmt.where(sheet.public.where())
    return [v for v in session.scalars(stmt) if v]
