"""Security headers on every answer (issue 6 §4), by flask-talisman plus what it lacks.

- Content-Security-Policy: scripts only from this server and inline scripts only with the
  request's nonce. FAB 5.3's templates already write `nonce="{{ baselib.get_nonce() }}"` on
  every <script> and have no inline event handlers (onclick=…), and talisman provides the
  `csp_nonce()` they call; qingdan's own templates do the same. So script-src has no
  'unsafe-inline': an injected <script> or onerror= handler does not run. Styles keep
  'unsafe-inline' — FAB's templates and widgets (select2, the date picker) write style=
  attributes — which lets no script run. Nothing is loaded from another host (the bureau's
  network has no internet anyway); no plugins (object-src 'none'), no <base> elsewhere, forms
  post only here, and no other site may frame a page (frame-ancestors 'none', and
  X-Frame-Options: DENY for old browsers).
- X-Content-Type-Options: nosniff; Referrer-Policy: same-origin (no address of a record
  leaves for another site).
- Cache-Control: no-store on everything but the static assets and the answers that say
  `public` themselves (the /public/ pages: published data only, cached with an ETag): pages,
  API answers and downloads carry personal data and must not stay in a browser's or a
  proxy's cache.
- Strict-Transport-Security when the request came over HTTPS; QINGDAN_FORCE_HTTPS redirects
  plain HTTP.
- No version banner: Werkzeug's development server says "Werkzeug/3.1 Python/3.11" unless
  started with QuietRequestHandler (app.py does); gunicorn sends "Server: gunicorn" without
  a version; a reverse proxy in front should hide its own (nginx: server_tokens off).
"""
from __future__ import annotations

from flask import request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",  # + the request's nonce (talisman)
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
NO_STORE = "no-store"
STATIC_PREFIXES = ("/static/",)

talisman = Talisman()


def _no_store(response):
    if request.path.startswith(STATIC_PREFIXES):
        return response
    response.headers.pop("Server", None)
    if response.cache_control.public:  # published data, chosen by its view (app/web/public)
        return response
    if NO_STORE not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = NO_STORE
    response.headers["Pragma"] = "no-cache"
    return response


def install(app) -> None:
    cfg = app.config
    if cfg.get("QINGDAN_PROXIES"):
        n = int(cfg["QINGDAN_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    talisman.init_app(
        app,
        force_https=bool(cfg.get("QINGDAN_FORCE_HTTPS")),
        strict_transport_security=True,
        strict_transport_security_max_age=int(cfg.get("QINGDAN_HSTS_SECONDS", 31536000)),
        frame_options="DENY",
        content_security_policy=CSP,
        content_security_policy_nonce_in=["script-src"],
        referrer_policy="same-origin",
        session_cookie_secure=bool(cfg.get("SESSION_COOKIE_SECURE")),
        session_cookie_samesite=cfg.get("SESSION_COOKIE_SAMESITE", "Lax"),
        session_cookie_http_only=True,
        x_content_type_options=True,
    )
    app.after_request(_no_store)


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's development server without its version banner."""

    def version_string(self) -> str:
        return "qingdan"
