"""Records and values for tests: valid identifiers, one builder per kind of record, and the
helpers that put records in the database and read them back (outside any request).

    from factories import add, make_agency, make_qualification
    agency = add(app, make_agency(1))

Builders take `n` to make records distinct and keyword arguments to change any field.
"""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from app import db
from app.lists.agencies import Agency, Qualification
from app.lists.deposits import Enterprise
from app.lists.experts import Expert
from app.lists.powers import Duty, Power
from app.sheets.declare import sheets
from app.sheets.engine import build_plan

TODAY = dt.date.today()

# ---------------------------------------------------------------------------- identifiers
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_number(birth: str = "19620315", seq: int = 1, region: str = "310110") -> str:
    """A valid 18-digit ID number (GB 11643 check character)."""
    body = f"{region}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]


def credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100 check character)."""
    body = f"91310000{n:09d}"
    total = sum(_USCC.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + _USCC[(31 - total % 31) % 31]


# ---------------------------------------------------------------------------- records
def make_expert(n: int = 1, **kw) -> Expert:
    values = dict(name=f"专家{n}", id_number=id_number(seq=n), employer="上海化工研究院",
                  title_level="正高级", speciality="危险化学品", expert_type="普通专家",
                  appointed_on=dt.date(2020, 1, 1), term_ends_on=dt.date(2025, 12, 31),
                  status="在聘")
    values.update(kw)
    return Expert(**values)


def make_agency(n: int = 1, **kw) -> Agency:
    values = dict(name=f"技术服务机构{n:02d}", credit_code=credit_code(n), org_type="企业",
                  legal_representative="李明", address="上海市浦东新区", status="正常")
    values.update(kw)
    return Agency(**values)


def make_qualification(agency, n: int, category="安全评价", expires=None, **kw):
    values = dict(agency=agency, category=category, grade="甲级", cert_no=f"APJ-{n:04d}",
                  issuer="上海市安全生产监督管理局", issued_on=TODAY - dt.timedelta(days=400),
                  expires_on=expires or TODAY + dt.timedelta(days=400), scope="化工",
                  status="有效")
    values.update(kw)
    return Qualification(**values)


def make_enterprise(n: int = 1, **kw) -> Enterprise:
    values = dict(name=f"生产经营单位{n}", credit_code=credit_code(500 + n), district="浦东新区",
                  industry="危化品生产", size="中型")
    values.update(kw)
    return Enterprise(**values)


def make_power(code="XK001", **kw) -> Power:
    values = dict(list_version="2015版", code=code, category="行政许可", name="危险化学品经营许可",
                  implementing_body="上海市安全生产监督管理局", levels="市级",
                  legal_basis="【法律】《安全生产法》第二十条", procedure="受理、审查、决定",
                  content="许可证核发", objects="企业法人", charged=False, status="在用")
    values.update(kw)
    return Power(**values)


def make_duty(power, stage, seq=1, **kw) -> Duty:
    values = dict(power=power, stage=stage, seq=seq, matter=f"{stage}责任{seq}",
                  accountability_cases="未依法履职", accountability_basis="《行政许可法》")
    values.update(kw)
    return Duty(**values)


# What a clerk types into the new-expert form (strings, as a browser sends them).
EXPERT_FORM = dict(name="张伟", id_number=id_number(seq=21), employer="上海化工研究院",
                   title_level="正高级", speciality="危险化学品", expert_type="普通专家",
                   appointed_on="2020-01-01", term_ends_on="2025-12-31", status="在聘")


# ---------------------------------------------------------------------------- the database
def add(app, *objs):
    """Store records; their id (one record) or ids."""
    with app.app_context():
        for obj in objs:
            db.session.add(obj)
        db.session.commit()
        ids = [obj.id for obj in objs]
        db.session.remove()
    return ids[0] if len(ids) == 1 else ids


def fetch(app, model, pk):
    """A stored record, detached (its loaded attributes readable), or None."""
    with app.app_context():
        obj = db.session.get(model, pk)
        if obj is not None:
            db.session.expunge(obj)
        return obj


def add_enterprises(app, n: int) -> None:
    """n valid enterprises, in one statement (for tests that need volume, not the import)."""
    from app.models import now
    rows = [dict(name=f"生产经营单位{i:06d}", credit_code=credit_code(i), district="浦东新区",
                 industry="危化品生产", size="小型", version=1, created_on=now(),
                 changed_on=now())
            for i in range(n)]
    with app.app_context():
        db.session.execute(sa.insert(Enterprise), rows)
        db.session.commit()


def user_id(app, username: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


# The review batch the review tests work on, its page and the header of its import file.
REVIEW_BATCH = (2016, 1, "安全评价报告")
REVIEW_BATCH_URL = "/review-batches/2016/1/安全评价报告"
REVIEW_HEADERS = ["年度", "期次", "盲审类别", "盲审编号", "统一社会信用代码", "报告编号", "报告类型",
                  "项目名称", "出具日期", "得分"]


def count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


def plan_of(session, slug: str, data: bytes, name: str = "upload.xlsx", **kw):
    """The import plan of a file for a list (build_plan's options as keywords)."""
    return build_plan(sheets[slug], data, name, session=session, **kw)


# ---------------------------------------------------------------------------- pages
def text_of(resp) -> str:
    """A page's visible text (scripts and tags removed)."""
    html = re.sub(r"<script.*?</script>|<head>.*?</head>", " ", resp.get_data(as_text=True),
                  flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
