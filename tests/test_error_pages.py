"""Errors a clerk meets are explained in Chinese, in the app's own layout."""
from __future__ import annotations

from conftest import login


def test_no_permission_not_found_and_expired_form_are_chinese(app, client):
    login(client, "reader")
    resp = client.get("/experts/add")
    assert resp.status_code == 403
    page = resp.get_data(as_text=True)
    assert "没有权限" in page and "联系管理员" in page and "qingdan" in page
    resp = client.get("/no-such-page/")
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post("/experts/delete/1")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)


def test_api_errors_stay_json(app, client):
    resp = client.get("/api/v1/no-such-thing/")
    assert resp.status_code == 404
    assert resp.is_json and resp.get_json()["message"] == "您要找的页面或记录不存在，可能已被删除。请从菜单重新进入。"
