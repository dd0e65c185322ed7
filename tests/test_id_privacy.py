"""A masked ID number cannot be rebuilt (issue 6 §1): roles without the right to see whole ID
numbers (科员, 只读, anonymous) get nothing, anywhere, from which one of them can be put back
together — not the number, not its birth date beside the mask, not a message quoting the
date it holds, not a filter or an order that answers guesses, not an accept/refuse that
does. Each probe of the issue is a test here; the last one fetches everything a role can
fetch about one expert and tries to rebuild the number from it."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from conftest import api_token, login, xlsx
from factories import EXPERT_FORM, add, fetch, id_number, make_expert, make_power
from test_imports_web import draft_id_of, upload

from app.lists.experts import Expert

BIRTH = dt.date(1958, 7, 23)
NUMBER = id_number(birth="19580723", seq=46)  # 女 (17th digit even)
OTHER = id_number(birth="19700101", seq=13)   # another expert, 男
MASKED = NUMBER[:6] + "*" * 12
HIDDEN_DATE = "****-**-**"
HEADER = ["姓名", "身份证号码", "性别", "出生日期", "工作单位", "职称级别", "专业类别", "专家类型",
          "聘任日期", "聘期届满", "状态"]


def row(number, name, birth, gender, employer="上海化工研究院"):
    return [name, number, gender, birth, employer, "正高级", "危险化学品", "普通专家",
            "2020-01-01", "2025-12-31", "在聘"]


@pytest.fixture
def expert(app):
    return add(app, make_expert(1, name="王芳", id_number=NUMBER, gender="女", birth_date=BIRTH))


def edit_form(pk_expert, **changes) -> dict:
    """What the clerk's edit form sends back: every field as shown (masked ones masked)."""
    form = dict(EXPERT_FORM, name="王芳", id_number=MASKED, gender="女",
                birth_date=HIDDEN_DATE)
    form.update(changes)
    return form


# ---------------------------------------------------------------------------- the rebuild
_DATE_FORMATS = ("{y}{m:02d}{d:02d}", "{y}-{m:02d}-{d:02d}", "{y}-{m}-{d}", "{y}/{m:02d}/{d:02d}",
                 "{y}/{m}/{d}", "{y}.{m:02d}.{d:02d}", "{y}年{m}月{d}日", "{y}年{m:02d}月{d:02d}日")


def revealed(texts: list[str], number: str) -> set[int]:
    """The positions (0-17) of `number` that these texts give away: the number itself, its
    birth date in any usual format (or the year of it, as a date half masked shows it), what a
    mask leaves visible, and any run of 5 or more of its hidden digits that shows elsewhere
    (which, put in the mask's gap, rebuilds it)."""
    whole = "\n".join(texts)
    known = set(range(6))  # the region is shown on purpose
    if number in whole or number in re.sub(r"[\s-]", "", whole):
        return set(range(18))
    y, m, d = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if any(f.format(y=y, m=m, d=d) in whole for f in _DATE_FORMATS):
        known |= set(range(6, 14))
    if re.search(rf"(?<!\d){y}(?:[-/.年]|\d\d[-/.*])", whole):  # the year of a date, masked or not
        known |= set(range(6, 10))
    for shown in re.findall(r"(?<![\dA-Za-z*])[\dXx*]{18}(?![\dA-Za-z*])", whole):
        if shown[:6] == number[:6] and "*" in shown:  # a masked reading of a number
            known |= {i for i, ch in enumerate(shown) if ch != "*" and ch == number[i]}
    for run in re.findall(r"\d{5,}", whole):
        for start in range(6, 19 - len(run)):
            if number[start:start + len(run)] == run:
                known |= set(range(start, start + len(run)))
    return known


def rebuilt(texts: list[str], number: str = NUMBER) -> bool:
    """Could the number be rebuilt? 17 known characters suffice: the 18th is their check."""
    return set(range(17)) <= revealed(texts, number)


def workbook_text(data: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    out = []
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            for cell in cells:
                out.append("" if cell.value is None else str(cell.value))
                if cell.comment is not None:
                    out.append(cell.comment.text)
    return "\n".join(out)


def text_of_response(resp) -> str:
    if resp.data[:2] == b"PK":  # a workbook: exports, templates, error workbooks, originals
        return workbook_text(resp.data)
    return resp.get_data(as_text=True)


def everything(app, role: str | None, pk: int) -> list[str]:
    """All a role can fetch about the expert: screens (its page holds its change history),
    API, downloads, imports, the logs, messages."""
    c = app.test_client()
    if role:
        login(c, role)
    headers = api_token(app.test_client(), role) if role else {}
    texts = []

    def fetch_text(method, url, **kw):
        resp = getattr(c, method)(url, **kw)
        texts.append(f"{method} {url} {resp.status_code}\n{text_of_response(resp)}")
        return resp

    power = add(app, make_power())
    for url in ("/", "/experts/list/", "/experts/list/?psize_ExpertsView=100",
                "/experts/list/?_flt_0_name=王", f"/experts/show/{pk}", f"/experts/edit/{pk}",
                "/experts/add", "/lists/experts/export", "/lists/experts/template",
                f"/powers/table/{power}", "/lists/powers/single-tables", "/imports/list/",
                "/audit/", "/audit/export", "/records/deleted/experts", "/export-log/list/"):
        fetch_text("get", url)
    for url in ("/api/v1/experts/?q=(page_size:500)", f"/api/v1/experts/{pk}",
                "/api/v1/experts/_info", "/api/v1/experts/?q=(columns:!(id_number,birth_date))",
                "/api/v1/_openapi"):
        fetch_text("get", url, headers=headers)
    # what a role is told when it saves (the clerk may; the others are refused). What it
    # types comes back to it, so no guess of the hidden values is typed here (the test of
    # guesses is test_saving_a_guessed_birth_date_answers_the_same_right_or_wrong).
    for changes in ({"birth_date": "2000-01-01"}, {"gender": "男"}, {"id_number": OTHER},
                    {"id_number": OTHER, "birth_date": "1970-02-02"}):
        fetch_text("post", f"/experts/edit/{pk}", data=edit_form(pk, **changes))
        fetch_text("put", f"/api/v1/experts/{pk}", headers=headers, json=changes)
    # an import (complete: the expert, not in the file, is listed to be deleted)
    resp = upload(c, xlsx([HEADER, row(OTHER, "李强", "1970-01-01", "女")]), "others.xlsx",
                  complete=True)
    texts.append(text_of_response(resp))
    if resp.status_code == 302 and "/lists/imports/" in resp.headers.get("Location", ""):
        draft = draft_id_of(resp)
        for show in ("", "delete", "error", "create"):
            fetch_text("get", f"/lists/imports/{draft}?show={show}")
        fetch_text("get", f"/lists/imports/{draft}/errors.xlsx")
    for batch in _batch_ids(app):
        fetch_text("get", f"/imports/show/{batch}")
        fetch_text("get", f"/lists/imports/batch/{batch}/file")
    return texts


def _batch_ids(app) -> list[int]:
    from sqlalchemy import select

    from app import db
    from app.models import ImportBatch
    with app.app_context():
        return list(db.session.scalars(select(ImportBatch.id)))


@pytest.fixture
def expert_with_history(app):
    """The expert, added without a birth date, then given one by an administrator's import
    (so the import history holds the date as a change)."""
    pk = add(app, make_expert(1, name="王芳", id_number=NUMBER, gender="女"))
    admin = login(app.test_client(), "admin")
    draft = draft_id_of(upload(admin, xlsx([HEADER, row(NUMBER, "王芳", BIRTH.isoformat(), "女")]),
                               "birth.xlsx"))
    resp = admin.post(f"/lists/imports/{draft}/confirm")
    assert resp.status_code == 302 and "/imports/show/" in resp.headers["Location"]
    assert fetch(app, Expert, pk).birth_date == BIRTH
    add(app, make_expert(2, name="赵敏", id_number=id_number(birth="19660606", seq=81)))
    return pk


@pytest.mark.parametrize("role", ["clerk", "reader", None])
def test_nothing_a_role_can_fetch_rebuilds_a_masked_number(app, expert_with_history, role):
    texts = everything(app, role, expert_with_history)
    assert revealed(texts, NUMBER) == set(range(6)), (role, sorted(revealed(texts, NUMBER)))
    assert fetch(app, Expert, expert_with_history).id_number == NUMBER  # nothing changed


def test_the_rebuild_finds_the_number_for_who_may_see_it(app, expert_with_history):
    """The same collection as 科长 (who may see numbers) rebuilds it: the test can fail."""
    assert rebuilt(everything(app, "head", expert_with_history))


def test_the_old_mask_beside_the_birth_date_rebuilds_the_number():
    """The issue's finding, as the rebuild sees it: 310110********8684 hid exactly digits
    7-14, and 出生日期 filled them in."""
    old_mask = NUMBER[:6] + "*" * 8 + NUMBER[-4:]
    assert rebuilt([old_mask, f"出生日期 {BIRTH.isoformat()}"])
    assert not rebuilt([MASKED, "性别 女"])


# ---------------------------------------------------------------------------- each probe
def test_birth_date_is_masked_wherever_the_number_is(app, client, expert):
    for role in ("clerk", "reader"):
        c = login(app.test_client(), role)
        page = c.get(f"/experts/show/{expert}").get_data(as_text=True)
        assert MASKED in page and HIDDEN_DATE in page and BIRTH.isoformat() not in page
        headers = api_token(client, role)
        row_ = client.get("/api/v1/experts/?q=(page_size:500)", headers=headers).get_json()[
            "result"][0]
        item = client.get(f"/api/v1/experts/{expert}", headers=headers).get_json()["result"]
        for shown in (row_, item):
            assert (shown["id_number"], shown["birth_date"]) == (MASKED, HIDDEN_DATE)
    head = login(app.test_client(), "head")
    page = head.get(f"/experts/show/{expert}").get_data(as_text=True)
    assert NUMBER in page and BIRTH.isoformat() in page


def test_clerk_form_keeps_masked_values_and_saves_other_fields(app, as_clerk, expert):
    page = as_clerk.get(f"/experts/edit/{expert}").get_data(as_text=True)
    assert f'value="{MASKED}"' in page and f'value="{HIDDEN_DATE}"' in page
    resp = as_clerk.post(f"/experts/edit/{expert}", data=edit_form(expert, employer="新单位"))
    assert resp.status_code == 302
    saved = fetch(app, Expert, expert)
    assert (saved.id_number, saved.birth_date, saved.employer) == (NUMBER, BIRTH, "新单位")


def test_a_mismatching_birth_date_is_refused_without_the_hidden_one(app, client, expert):
    """The probe: 出生日期 = 2000-01-01 answered 「…对应的出生日期是 1958-07-23」."""
    clerk = login(app.test_client(), "clerk")
    resp = clerk.post(f"/experts/edit/{expert}", data=edit_form(expert, birth_date="2000-01-01"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "出生日期" in page
    assert BIRTH.isoformat() not in page and "1958" not in page
    headers = api_token(client, "clerk")
    resp = client.put(f"/api/v1/experts/{expert}", json={"birth_date": "2000-01-01"},
                      headers=headers)
    assert resp.status_code == 422 and "出生日期" in str(resp.get_json()["message"])
    assert "1958" not in resp.get_data(as_text=True)
    # a new number typed whole, with a date that disagrees: said, without the number's date
    resp = client.put(f"/api/v1/experts/{expert}", headers=headers,
                      json={"id_number": OTHER, "birth_date": "1970-02-02"})
    assert resp.status_code == 422 and "不一致" in str(resp.get_json()["message"])
    assert "1970-01-01" not in resp.get_data(as_text=True)
    assert fetch(app, Expert, expert).birth_date == BIRTH
    # 科长 sees the number, and is told what it says
    resp = client.put(f"/api/v1/experts/{expert}", json={"birth_date": "2000-01-01"},
                      headers=api_token(client, "head"))
    assert resp.status_code == 422 and BIRTH.isoformat() in resp.get_data(as_text=True)


def test_saving_a_guessed_birth_date_answers_the_same_right_or_wrong(app, client, expert):
    """Otherwise the answer (saved / refused) would test guesses against the hidden date."""
    clerk = login(app.test_client(), "clerk")
    headers = api_token(client, "clerk")
    answers = []
    for guess in (BIRTH.isoformat(), "1958-07-24"):
        form = clerk.post(f"/experts/edit/{expert}", data=edit_form(expert, birth_date=guess))
        api = client.put(f"/api/v1/experts/{expert}", json={"birth_date": guess},
                         headers=headers)
        text = re.sub(re.escape(guess), "GUESS", form.get_data(as_text=True))
        answers.append((form.status_code, text.count("由「身份证号码」决定"), api.status_code,
                        api.get_json()["message"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and answers[0][2] == 422
    assert fetch(app, Expert, expert).version == 1
    # a new whole number with the hidden date kept masked is refused the same way
    resp = clerk.post(f"/experts/edit/{expert}", data=edit_form(expert, id_number=OTHER))
    assert resp.status_code == 200 and "请同时填写" in resp.get_data(as_text=True)
    # both typed: saved
    resp = clerk.post(f"/experts/edit/{expert}", data=edit_form(
        expert, id_number=OTHER, birth_date="1970-01-01", gender="男"))
    assert resp.status_code == 302
    assert fetch(app, Expert, expert).id_number == OTHER


@pytest.mark.parametrize("role", ["clerk", "reader"])
def test_no_filter_search_or_order_on_hidden_values(app, client, role, expert):
    add(app, make_expert(2, id_number=id_number(birth="19660606", seq=81),
                         birth_date=dt.date(1966, 6, 6), gender="男"))
    headers = api_token(client, role)

    def api(q):
        return client.get("/api/v1/experts/", query_string={"q": q}, headers=headers)
    for guess in (NUMBER, NUMBER[:-1] + "0"):
        for column in ("id_number", "birth_date"):
            value = guess if column == "id_number" else BIRTH.isoformat()
            for opr in ("eq", "neq", "sw", "ct", "gt"):
                resp = api(f"(filters:!((col:{column},opr:{opr},value:'{value}')))")
                assert resp.status_code == 400, (column, opr, resp.get_json())
    for column in ("id_number", "birth_date"):
        for direction in ("asc", "desc"):
            assert api(f"(order_column:{column},order_direction:{direction})"
                       ).status_code == 400
    filters = client.get("/api/v1/experts/_info", headers=headers).get_json()["filters"]
    assert "id_number" not in filters and "birth_date" not in filters
    # screens: the filter is not offered, and one typed into the address is ignored
    c = login(app.test_client(), role)
    pages = [c.get(f"/experts/list/?_flt_{i}_id_number={guess}").get_data(as_text=True)
             for guess in (NUMBER, "310110") for i in range(6)]
    assert all("王芳" in p and "专家2" in p for p in pages)
    assert 'name="id_number"' not in pages[0]
    orders = [re.findall(r"王芳|专家2", c.get(f"/experts/list/?_oc_ExpertsView=birth_date"
                                             f"&_od_ExpertsView={d}").get_data(as_text=True))
              for d in ("asc", "desc")]
    assert orders[0] == orders[1]
    # 科长 may filter on the number
    head = api_token(client, "head")
    resp = client.get("/api/v1/experts/", headers=head, query_string={
        "q": f"(filters:!((col:id_number,opr:eq,value:'{NUMBER}')))"})
    assert resp.get_json()["count"] == 1


def test_import_preview_masks_the_birth_date_of_records_to_delete(app, as_clerk, expert):
    draft = draft_id_of(upload(as_clerk, xlsx([HEADER, row(OTHER, "李强", "1970-01-01", "男")]),
                               "others.xlsx", complete=True))
    page = as_clerk.get(f"/lists/imports/{draft}?show=delete").get_data(as_text=True)
    assert "王芳" in page and MASKED in page and HIDDEN_DATE in page
    assert BIRTH.isoformat() not in page
