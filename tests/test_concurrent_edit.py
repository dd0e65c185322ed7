"""Optimistic locking across an edit form's round-trip (app/web/forms.py): a save made from
a form shown before someone else's save is refused, with what was typed kept, and goes
through once the clerk has seen the warning; the API's PUT may send the version it read."""
from __future__ import annotations

import re

from conftest import api_token, login
from factories import add, fetch

from app import db
from app.lists.deposits import Enterprise

CODE = "91310115MA1D1YM25W"
FORM = dict(name="上海某化工有限公司", credit_code=CODE, district="浦东新区", industry="其他",
            size="小型")
STALE = "保存未完成：您打开此记录后，它已被其他人修改"


def create(app) -> int:
    return add(app, Enterprise(**FORM))


def stored(app, pk) -> Enterprise:
    return fetch(app, Enterprise, pk)


def version_in(page: str) -> str:
    """The value of the edit form's hidden `_version` field."""
    tag = re.search(r'<input[^>]*name="_version"[^>]*>', page)
    assert tag, "the edit form carries no _version"
    return re.search(r'value="([^"]*)"', tag[0])[1]


def open_edit(client, pk) -> str:
    resp = client.get(f"/enterprises/edit/{pk}")
    assert resp.status_code == 200
    return version_in(resp.get_data(as_text=True))


def test_single_edit_saves_and_the_version_goes_up_by_one(app, client):
    pk = create(app)
    login(client, "clerk")
    assert open_edit(client, pk) == "1"
    resp = client.post(f"/enterprises/edit/{pk}",
                       data=dict(FORM, name="上海甲化工有限公司", _version="1"))
    assert resp.status_code == 302
    enterprise = stored(app, pk)
    assert (enterprise.name, enterprise.version) == ("上海甲化工有限公司", 2)
    assert open_edit(client, pk) == "2"


def test_later_save_from_an_older_form_is_refused_and_nothing_is_lost(app):
    pk = create(app)
    clerk = login(app.test_client(), "clerk")
    head = login(app.test_client(), "head")
    version_a = open_edit(clerk, pk)
    version_b = open_edit(head, pk)
    assert version_a == version_b == "1"

    # the clerk saves first
    resp = clerk.post(f"/enterprises/edit/{pk}",
                      data=dict(FORM, name="上海甲化工有限公司", _version=version_a))
    assert resp.status_code == 302
    assert stored(app, pk).version == 2

    # the head's form still shows version 1: refused, shown again with what was typed
    typed = dict(FORM, name="上海乙化工有限公司", size="中型", _version=version_b)
    resp = head.post(f"/enterprises/edit/{pk}", data=typed)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert STALE in page and "当前为第 2 版" in page and "您填写的内容仍保留在表单中" in page
    assert 'value="上海乙化工有限公司"' in page
    assert '<option selected value="中型">中型</option>' in page
    assert version_in(page) == "2"  # refreshed: a deliberate second save goes through
    enterprise = stored(app, pk)
    assert (enterprise.name, enterprise.size, enterprise.version) == ("上海甲化工有限公司", "小型", 2)

    # saving again from the re-rendered form (the head has seen the warning)
    resp = head.post(f"/enterprises/edit/{pk}", data=dict(typed, _version=version_in(page)))
    assert resp.status_code == 302
    enterprise = stored(app, pk)
    assert (enterprise.name, enterprise.size, enterprise.version) == ("上海乙化工有限公司", "中型", 3)

    # and the clerk's own form (version 2) is now stale in turn
    resp = clerk.post(f"/enterprises/edit/{pk}",
                      data=dict(FORM, name="上海丙化工有限公司", _version="2"))
    assert resp.status_code == 200 and "当前为第 3 版" in resp.get_data(as_text=True)
    assert stored(app, pk).name == "上海乙化工有限公司"


def test_form_without_version_is_saved_as_before(app, client):
    pk = create(app)
    login(client, "clerk")
    client.post(f"/enterprises/edit/{pk}", data=dict(FORM, name="上海甲化工有限公司"))
    resp = client.post(f"/enterprises/edit/{pk}", data=dict(FORM, name="上海乙化工有限公司"))
    assert resp.status_code == 302
    enterprise = stored(app, pk)
    assert (enterprise.name, enterprise.version) == ("上海乙化工有限公司", 3)


def test_stale_version_and_other_problems_are_all_shown(app, client):
    pk = create(app)
    login(client, "clerk")
    client.post(f"/enterprises/edit/{pk}", data=dict(FORM, name="上海甲化工有限公司"))
    resp = client.post(f"/enterprises/edit/{pk}",
                       data=dict(FORM, credit_code="91310115MA1D1YM25X", _version="1"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and STALE in page
    assert 'value="91310115MA1D1YM25X"' in page  # the bad value, kept, with its message
    assert stored(app, pk).credit_code == CODE


def test_add_form_is_unaffected(app, client):
    login(client, "clerk")
    assert "_version" not in client.get("/enterprises/add").get_data(as_text=True)
    resp = client.post("/enterprises/add", data=FORM)
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(Enterprise).one().version == 1


# ---------------------------------------------------------------------------- API
def test_api_put_with_a_stale_version_is_409(app, client):
    pk = create(app)
    clerk, head = api_token(client, "clerk"), api_token(client, "head")
    read = client.get(f"/api/v1/enterprises/{pk}", headers=clerk).get_json()["result"]
    assert read["version"] == 1

    resp = client.put(f"/api/v1/enterprises/{pk}", headers=head,
                      json={"name": "上海甲化工有限公司", "version": 1})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["result"]["version"] == 2

    resp = client.put(f"/api/v1/enterprises/{pk}", headers=clerk,
                      json={"name": "上海乙化工有限公司", "version": read["version"]})
    assert resp.status_code == 409
    body = resp.get_json()
    assert "已被其他人修改" in body["message"] and body["version"] == 2
    assert stored(app, pk).name == "上海甲化工有限公司"

    resp = client.put(f"/api/v1/enterprises/{pk}", headers=clerk,
                      json={"name": "上海乙化工有限公司", "version": "二"})
    assert resp.status_code == 422 and "version" in resp.get_json()["message"]

    resp = client.put(f"/api/v1/enterprises/{pk}", headers=clerk,
                      json={"name": "上海乙化工有限公司", "version": body["version"]})
    assert resp.status_code == 200 and resp.get_json()["result"]["version"] == 3
    # without a version, as before
    resp = client.put(f"/api/v1/enterprises/{pk}", headers=clerk, json={"size": "中型"})
    assert resp.status_code == 200
    enterprise = stored(app, pk)
    assert (enterprise.name, enterprise.size, enterprise.version) == ("上海乙化工有限公司", "中型", 4)
