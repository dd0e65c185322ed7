"""No script through messages (issue 6 §2): a value a user typed comes back escaped wherever
it is echoed — field errors, flashed messages, pages, the API's JSON.

The forms and API bodies are generated from the registry (`app.sheets.declare.sheets`), so a
twelfth list is probed without touching this file.
"""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from conftest import api_token, login
from factories import add, make_enterprise

from app.lists.deposits import Policy
from app.sheets import types as t
from app.sheets.declare import sheets

PAYLOADS = ("<img src=x onerror=alert(document.cookie)>",
            "\"><script>alert(1)</script>",
            "50%<svg onload=alert(2)>")  # "%": a message must not be taken as a format string
# Any of these, unescaped, in a response is a tag the browser would build.
RAW = re.compile(r"<img src=x onerror|<script>alert|<svg onload", re.I)


def _text_fields(sheet) -> list[str]:
    """The fields of a list's form that take typed text (not dropdowns, not parents)."""
    out = []
    for c in sheet.stored:
        if c.type.choices is not None and not isinstance(c.type, t.Multi):
            continue  # a dropdown: what it posts is not shown back as typed
        out.append(c.field)
    return out


def _raw_tags(body: str) -> list[str]:
    return [m.group(0) for m in RAW.finditer(body)]


def _form(sheet, payload: str) -> dict:
    data = {name: payload for name in _text_fields(sheet)}
    for relation in sheet.relations:
        data[relation] = payload
    return data


@pytest.mark.parametrize("slug", [s.slug for s in sheets])
def test_typed_script_is_never_echoed_raw_by_a_form(app, client, slug):
    login(client, "admin")
    sheet = sheets[slug]
    assert _text_fields(sheet), slug
    for payload in PAYLOADS:
        resp = client.post(f"/{slug}/add", data=_form(sheet, payload), follow_redirects=True)
        assert resp.status_code < 500, (slug, payload)
        body = resp.get_data(as_text=True)
        assert not _raw_tags(body), (slug, payload, _raw_tags(body))


@pytest.mark.parametrize("slug", [s.slug for s in sheets])
def test_typed_script_is_never_echoed_raw_by_the_api(app, client, slug):
    headers = api_token(client, "admin")
    sheet = sheets[slug]
    for payload in PAYLOADS:
        # every column the body may carry; parents are ids, not text (left out: a text id
        # is a §5 matter, a 500 on PostgreSQL at the time of writing)
        body = {c.field: payload for c in sheet.stored}
        resp = client.post(f"/api/v1/{slug}/", json=body, headers=headers)
        assert resp.status_code < 500, (slug, payload)
        text = resp.get_data(as_text=True)
        assert "<" not in text and ">" not in text, (slug, text[:300])
        # clients read the same values: the escaping is JSON's own (\u003c)
        assert isinstance(json.loads(text), dict)


def test_json_escapes_angle_brackets_and_ampersands_but_reads_the_same(app):
    with app.test_request_context("/"):
        from flask import jsonify
        resp = jsonify(message="<b>A&B</b>")
    raw = resp.get_data(as_text=True)
    assert "<" not in raw and ">" not in raw and "&" not in raw
    assert "\\u003c" in raw and "\\u0026" in raw
    assert json.loads(raw) == {"message": "<b>A&B</b>"}


def _policy(enterprise_id: int, policy_no: str, status: str) -> Policy:
    return Policy(enterprise_id=enterprise_id, policy_no=policy_no, insurer="中国人保财险",
                  kind="安全生产责任保险", starts_on=dt.date(2016, 1, 1),
                  ends_on=dt.date(2016, 12, 31), insured_count=10,
                  per_person_limit=500000, per_accident_limit=5000000, total_limit=10000000,
                  premium=3000, payment_status="已缴", status=status)


def test_stored_policy_number_is_escaped_in_a_deposit_error(app, client):
    """The issue's probe: a clerk stores a policy number that is a tag, with status 已退保;
    an admin opening a deposit that names that policy gets the number in an error."""
    enterprise = add(app, make_enterprise(1))
    payload = PAYLOADS[0]
    add(app, _policy(enterprise, payload, "已退保"))
    login(client, "admin")
    form = {"enterprise": str(enterprise), "year": "2016", "approved_amount": "100000",
            "status": "免存", "exempt_policy": "", "deposited_amount": "",
            "bank": "", "account_no": "", "deposited_on": "", "returned_on": "",
            "returned_amount": ""}
    with app.app_context():
        from app import db
        form["exempt_policy"] = str(db.session.query(Policy).one().id)
    resp = client.post("/deposits/add", data=form)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "不能据以免存" in body          # the message is there …
    assert "&lt;img src=x" in body          # … with the number escaped
    assert not _raw_tags(body), _raw_tags(body)
    # the policy's own pages show it escaped too
    for url in ("/policies/list/", f"/enterprises/show/{enterprise}"):
        page = client.get(url).get_data(as_text=True)
        assert not _raw_tags(page), (url, _raw_tags(page))


STORED = "<svg onload=alert(3)>"


def test_stored_text_is_escaped_on_every_page_and_in_the_api(app, client, session):
    """Whatever reached the database (an import, an old version, a direct fix): every text
    column of one record of each list holds a tag; no page or API answer shows it raw."""
    import sqlalchemy as sa

    from app.seeding import load_seed
    list(load_seed(force=True))
    touched = {}
    for sheet in sheets:
        record = session.scalars(sa.select(sheet.model).limit(1)).first()
        assert record is not None, sheet.slug
        for c in sheet.stored:
            column = sheet.model.__table__.columns.get(c.field)
            length = getattr(column.type, "length", None) if column is not None else None
            if isinstance(c.type, t.Text) and not c.sensitive and (length or 99) >= len(STORED):
                setattr(record, c.field, STORED)
        touched[sheet.slug] = record.id
    session.commit()
    login(client, "admin")
    headers = api_token(app.test_client(), "admin")
    for slug, pk in touched.items():
        for url in (f"/{slug}/list/", f"/{slug}/show/{pk}", f"/{slug}/edit/{pk}"):
            resp = client.get(url)
            assert resp.status_code == 200, url
            assert not _raw_tags(resp.get_data(as_text=True)), url
        for url in (f"/api/v1/{slug}/", f"/api/v1/{slug}/{pk}"):
            text = client.get(url, headers=headers).get_data(as_text=True)
            assert "<svg" not in text and "\\u003csvg" in text, url
    resp = client.get(f"/powers/table/{touched['powers']}")
    assert resp.status_code == 200 and not _raw_tags(resp.get_data(as_text=True))


def test_import_file_name_and_cells_are_escaped_in_preview_flash_and_history(app, client):
    """A file name and cell values are typed by someone too: the preview, the flashed
    『…』已导入 message, the import record and the preview of a bad cell escape them."""
    from conftest import xlsx
    from test_imports_web import EXPERT_HEADER, EXPERT_ROW, draft_id_of, upload
    login(client, "clerk")
    name = "<img src=x onerror=alert(1)>.xlsx"
    bad = [PAYLOADS[1] if h == "聘任日期" else v for h, v in zip(EXPERT_HEADER, EXPERT_ROW)]
    good = [PAYLOADS[2] if h == "工作单位" else v for h, v in zip(EXPERT_HEADER, EXPERT_ROW)]
    for rows in ([EXPERT_HEADER, bad], [EXPERT_HEADER, good]):
        draft = draft_id_of(upload(client, xlsx(rows), name))
        for show in ("", "?show=error", "?show=create"):
            body = client.get(f"/lists/imports/{draft}{show}").get_data(as_text=True)
            assert not _raw_tags(body), (show, _raw_tags(body))
    resp = client.post(f"/lists/imports/{draft}/confirm", follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "已导入" in body and not _raw_tags(body), _raw_tags(body)
    from app.models import ImportBatch
    with app.app_context():
        from app import db
        batch_id = db.session.query(ImportBatch).one().id
    for url in ("/imports/list/", f"/imports/show/{batch_id}", "/experts/list/"):
        body = client.get(url).get_data(as_text=True)
        assert not _raw_tags(body), (url, _raw_tags(body))
