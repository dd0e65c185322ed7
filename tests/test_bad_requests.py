"""Bad requests get a 4xx with a Chinese message, never a 500 (issue 6 §5): each probe below
was a 500 (or a wrong 4xx) before app/web/fab_fixes.py, filters.checked_filters and the body
checks of app/web/api.py."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import api_token, login
from factories import add, fetch, make_expert, make_power

from app.lists.experts import Expert

HUGE = "99999999999999999999"  # 20 digits
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def chinese(resp) -> str:
    """The response's message (JSON) or page text, asserted to be in Chinese."""
    if resp.is_json:
        message = str(resp.get_json().get("message"))
    else:
        message = resp.get_data(as_text=True)
    assert CHINESE.search(message), message[:300]
    return message


@pytest.fixture
def expert(app):
    return add(app, make_expert(1, birth_date=dt.date(1962, 3, 15), gender="男"))


@pytest.mark.parametrize("screen", ["imports", "users", "roles"])
def test_unknown_action_is_400_for_everyone(app, client, screen):
    for who in (None, "admin"):
        c = login(app.test_client(), who) if who else app.test_client()
        resp = c.post(f"/{screen}/action_post", data={"action": "nope", "rowid": ["1"]})
        assert resp.status_code == 400, (who, resp.status_code)
        assert "操作不存在" in chinese(resp)
    resp = login(app.test_client(), "admin").get(f"/{screen}/action/nope/1")
    assert resp.status_code == 400


def test_ids_no_database_can_hold_are_not_found(app, client, expert):
    power = add(app, make_power())
    admin = login(app.test_client(), "admin")
    for bad in (HUGE, "2147483648", "-1", "0", "abc"):
        for url in (f"/experts/show/{bad}", f"/experts/edit/{bad}", f"/powers/table/{bad}",
                    f"/imports/show/{bad}", f"/users/show/{bad}"):
            resp = admin.get(url)
            assert resp.status_code == 404, (url, resp.status_code)
            chinese(resp)
    headers = api_token(client, "admin")
    for bad in (HUGE, "2147483648", "-1", "0"):
        for method in ("get", "put", "delete"):
            resp = getattr(client, method)(f"/api/v1/experts/{bad}", headers=headers,
                                           **({"json": {}} if method == "put" else {}))
            assert resp.status_code == 404, (method, bad, resp.status_code)
            chinese(resp)
    # real ids still work
    assert admin.get(f"/powers/table/{power}").status_code == 200
    assert client.get(f"/api/v1/experts/{expert}", headers=headers).status_code == 200


@pytest.mark.parametrize("body", ["[]", "null", "1", '"x"'])
def test_a_json_body_that_is_not_an_object_is_400(app, client, expert, body):
    headers = dict(api_token(client, "admin"), **{"Content-Type": "application/json"})
    for resp in (client.put(f"/api/v1/experts/{expert}", data=body, headers=headers),
                 client.post("/api/v1/experts/", data=body, headers=headers)):
        assert resp.status_code == 400, resp.get_json()
        assert "JSON 对象" in chinese(resp)
    resp = client.put(f"/api/v1/experts/{expert}", data="{not json", headers=headers)
    assert resp.status_code == 400
    chinese(resp)
    assert fetch(app, Expert, expert).status == "在聘"


def test_version_that_is_not_an_integer_is_422(app, client, expert):
    headers = api_token(client, "admin")
    for version in ("abc", 1.5, True, [1]):
        resp = client.put(f"/api/v1/experts/{expert}", json={"version": version}, headers=headers)
        assert resp.status_code == 422, (version, resp.get_json())
        assert "version" in resp.get_json()["message"]


def test_bad_query_arguments_are_400_and_odd_ones_work(app, client, expert):
    headers = api_token(client, "admin")

    def get(q):
        return client.get("/api/v1/experts/", query_string={"q": q}, headers=headers)
    for q in ("((", "(" * 5000, "(filters:!((col:name,opr:ct,value:(a:1))))",
              "(filters:!((col:years_in_field,opr:eq,value:abc)))",
              f"(filters:!((col:years_in_field,opr:eq,value:{HUGE})))",
              "(filters:!((col:term_ends_on,opr:gt,value:'not a date')))",
              "(filters:!((col:nonsense,opr:eq,value:1)))", "(order_column:nonsense)"):
        resp = get(q)
        assert resp.status_code == 400, (q[:40], resp.get_json())
        chinese(resp)
    # a number where text is compared (PostgreSQL refused "varchar = integer"), contains
    # with a number (TypeError in FAB)
    assert get("(filters:!((col:name,opr:ct,value:1)))").get_json()["count"] == 1
    assert get("(filters:!((col:name,opr:eq,value:1)))").get_json()["count"] == 0
    assert get("(filters:!((col:term_ends_on,opr:gt,value:'2020-01-01')))").get_json()[
        "count"] == 1
    # pages beyond any list, or before the first, are empty or the first, never an error
    for page in (HUGE, "999999999999", "-5"):
        resp = get(f"(page:{page},page_size:10)")
        assert resp.status_code == 200, resp.get_json()
    assert get(f"(page:{HUGE},page_size:10)").get_json()["result"] == []
    resp = client.get("/api/v1/experts/_info", headers=headers,
                      query_string={"q": f"(add_columns:(x:(page:{HUGE},page_size:-1)))"})
    assert resp.status_code == 200


def test_screen_filters_with_values_their_column_cannot_hold_are_400(app, client, expert):
    admin = login(client, "admin")
    resp = admin.get("/experts/list/?_flt_0_term_ends_on=99999-99-99")
    assert resp.status_code == 400 and "日期" in chinese(resp)
    assert admin.get(f"/experts/list/?page_ExpertsView={HUGE}").status_code == 200


def test_download_of_a_file_that_is_not_there_is_404(app, client):
    admin = login(client, "admin")
    for url in ("/roles/download/x", "/users/download/..%2Fconfig.py"):
        assert admin.get(url).status_code == 404, url
    assert app.test_client().get("/roles/download/x").status_code == 302  # login first


def test_a_bad_token_is_401_in_chinese(app, client):
    from flask_jwt_extended import create_access_token
    with app.app_context():
        expired = create_access_token(identity="1", expires_delta=dt.timedelta(seconds=-1))
    for token in ("abc", "a.b.c", expired, ""):
        resp = client.get("/api/v1/experts/", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401, (token[:10], resp.get_json())
        chinese(resp)
    resp = client.post("/api/v1/security/login", json={"username": "admin", "password": "x",
                                                       "provider": "db"})
    assert resp.status_code == 401
    chinese(resp)


def test_api_messages_are_chinese(app, client, expert):
    headers = api_token(client, "reader")
    for resp, status in ((client.get("/api/v1/experts/12345", headers=headers), 404),
                         (client.post("/api/v1/experts/", json={}, headers=headers), 403),
                         (client.get("/api/v1/experts/"), 401)):
        assert resp.status_code == status
        chinese(resp)
    headers = api_token(client, "admin")
    resp = client.post("/api/v1/experts/", json={"nonsense": 1}, headers=headers)
    assert resp.status_code == 422 and "不是「安全生产专家库」的字段" in chinese(resp)
