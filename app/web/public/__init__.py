"""公开信息: the pages and open data the public reads without logging in, under /public/.

A plain Flask blueprint, outside Flask-AppBuilder's permission checks: an anonymous visitor
needs no role for it, and gains no access to anything else (the back office stays behind
its login). Its own templates and stylesheet, served by the app: no CDN, no web font, no
script. What it may show is the allow-list of the declarations (`Sheet.public`, fields.py);
review results only as a publication stored them (app/publications.py).

    /public/                          home
    /public/<list>/                   powers, responsibilities, reforms, agencies,
                                      qualifications, interviews (search, paging, 全部显示)
    /public/powers/<id>               一项一表
    /public/agencies/<id>             an agency's quality profile
    /public/reviews/                  published review batches
    /public/reviews/<y>/<p>/<cat>/    a batch (its current revision, its corrections)
    /public/reviews/<y>/<p>/<cat>/r<n>[.xlsx|.csv|.json]
    /public/data/                     open data; /public/data/<list>.xlsx|.csv|.json
    /public/openapi.json              the JSON documents described
"""
from __future__ import annotations

import inspect

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public", template_folder="templates",
               static_folder="static")


def register(app) -> None:
    from . import views  # noqa: F401  (the routes)
    from .listing import check_pages
    check_pages()
    app.register_blueprint(bp)
    # flask-talisman (app/web/headers.py) writes the back office's policy after this
    # blueprint's after_request has written its own: the stricter one of the public pages
    # (no script at all) is given to talisman as the option of each public view (the
    # static files, a bound method shared by every blueprint, keep the default).
    from .caching import CSP
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("public.") and inspect.isfunction(view):
            view.talisman_view_options = {"content_security_policy": CSP,
                                          "content_security_policy_nonce_in": []}
