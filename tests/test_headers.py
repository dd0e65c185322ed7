"""Security headers (issue 6 §4) on the main screens, the API, a download and error pages;
a Content-Security-Policy that blocks injected script but none of the pages' own."""
from __future__ import annotations

import re
import threading
import urllib.request

import pytest
from conftest import api_token, login
from factories import add, make_agency, make_expert

REQUIRED_CSP = ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
                "form-action 'self'", "frame-ancestors 'none'")


def csp_of(resp) -> dict[str, str]:
    policy = resp.headers.get("Content-Security-Policy", "")
    parts = (p.strip().split(None, 1) for p in policy.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def check_headers(resp, what: str) -> None:
    h = resp.headers
    assert h.get("X-Content-Type-Options") == "nosniff", what
    assert h.get("X-Frame-Options") == "DENY", what
    assert h.get("Referrer-Policy") in ("same-origin", "no-referrer",
                                        "strict-origin"), what
    assert "no-store" in h.get("Cache-Control", ""), what
    policy = h.get("Content-Security-Policy", "")
    for directive in REQUIRED_CSP:
        assert directive in policy, (what, directive, policy)
    script = csp_of(resp).get("script-src", "")
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, (what, script)
    assert re.search(r"'nonce-[A-Za-z0-9+/=_-]{16,}'", script), (what, script)
    # nothing from another host, anywhere in the policy
    assert not re.search(r"https?://|\*", policy), (what, policy)
    server = h.get("Server", "")
    assert not re.search(r"\d", server), (what, server)


@pytest.fixture
def records(app):
    return add(app, make_agency(1)), add(app, make_expert(1))


def test_every_kind_of_answer_carries_the_headers(app, client, records):
    agency, expert = records
    check_headers(client.get("/login/"), "login page")
    check_headers(client.get("/experts/list/"), "redirect to login")
    login(client, "clerk")
    for url in ("/", "/experts/list/", f"/experts/show/{expert}", f"/experts/edit/{expert}",
                "/agencies/add", f"/agencies/show/{agency}", "/users/userinfo/",
                "/resetmypassword/form"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        check_headers(resp, url)
    download = client.get("/lists/agencies/export")
    assert download.status_code == 200
    assert "attachment" in download.headers.get("Content-Disposition", "")
    check_headers(download, "export download")
    check_headers(client.get("/lists/experts/template"), "template download")
    check_headers(client.get("/no/such/page"), "404 page")
    check_headers(client.get("/users/list/"), "403 page")
    headers = api_token(client, "clerk")
    check_headers(client.get("/api/v1/experts/", headers=headers), "API list")
    check_headers(client.get(f"/api/v1/experts/{expert}", headers=headers), "API item")
    check_headers(client.get("/api/v1/experts/999999", headers=headers), "API 404")
    check_headers(client.get("/api/v1/experts/"), "API 401")
    check_headers(client.post("/api/v1/security/login", json={"username": "x"}), "API 400")


def test_static_assets_may_be_cached(app, client):
    resp = client.get("/static/appbuilder/js/ab.js")
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    resp.close()


SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def check_scripts_run(resp, what: str) -> int:
    """Every <script> of the page runs under its CSP: it carries the request's nonce and
    comes from this server; no inline handler or javascript: URL (which no nonce allows)."""
    nonce = re.search(r"'nonce-([^']+)'", csp_of(resp)["script-src"]).group(1)
    page = resp.get_data(as_text=True)
    tags = SCRIPT.findall(page)
    assert tags, what
    for attrs in tags:
        assert f'nonce="{nonce}"' in attrs, (what, attrs)
        src = re.search(r'src="([^"]*)"', attrs)
        assert src is None or src.group(1).startswith("/"), (what, attrs)
    assert not INLINE_HANDLER.search(page), (what, INLINE_HANDLER.search(page).group(0))
    assert "javascript:" not in page.lower(), what
    return len(tags)


def test_the_csp_blocks_none_of_the_pages_own_scripts(app, client, records):
    agency, expert = records
    assert check_scripts_run(client.get("/login/"), "login") >= 5
    login(client, "admin")
    for url in ("/experts/list/", f"/experts/edit/{expert}", f"/experts/show/{expert}",
                "/agencies/add", "/lists/agencies/import", "/powers/list/", "/users/list/",
                "/login-events/list/", "/locked-accounts/list/", "/swagger/v1"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        check_scripts_run(resp, url)


def test_each_page_gets_its_own_nonce(app, client):
    nonces = {csp_of(client.get("/login/"))["script-src"] for _ in range(3)}
    assert len(nonces) == 3


def test_development_server_sends_no_version_banner():
    from flask import Flask
    from werkzeug.serving import make_server

    from app.web.headers import QuietRequestHandler
    tiny = Flask("tiny")
    tiny.add_url_rule("/", "index", lambda: "ok")
    server = make_server("127.0.0.1", 0, tiny, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10) as resp:
            banner = resp.headers.get("Server", "")
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert banner == "qingdan"
    assert "Werkzeug" not in banner and "Python" not in banner
