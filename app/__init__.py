"""qingdan (清单): the back office of the bureau's public lists and registers."""
from __future__ import annotations

import os
import sys

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

db = SQLA()
migrate = Migrate()
csrf = CSRFProtect()

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "migrations")


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    # SQLite ignores foreign keys unless asked, per connection; the other databases enforce them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL: a long read (an export streaming its rows) does not block writers (a background
    # job's progress, a clerk saving a record), nor they it.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# Command-line work on the lists alone (`flask --app app lists import …`): the screens and
# APIs (some sixty views, a second of start-up out of a few seconds' import) are not built
# for it. Everything else — gunicorn, `flask run`, `flask qingdan init` (which syncs the
# screens' permissions), the tests — gets every screen.
LIST_COMMANDS = {"import", "export", "template", "names"}


def screens_wanted(argv: list[str]) -> bool:
    """Whether a process started with `argv` serves or needs the screens."""
    args = [a for a in argv[1:] if not a.startswith("-")]
    return not any(a == "lists" and nxt in LIST_COMMANDS for a, nxt in zip(args, args[1:]))


def create_app(overrides: dict | None = None, *, screens: bool | None = None) -> Flask:
    """Build the application. `overrides` (tests, scripts) win over config.py; `screens`
    (default: unless the command line is a list command, `screens_wanted`) registers the
    screens and APIs."""
    import config

    app = Flask(__name__, instance_path=config.INSTANCE_DIR)
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SECRET_KEY") and app.config.get("ENV") == "development":
        from .instance_key import instance_secret_key
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY 未设置：生产环境必须通过环境变量 SECRET_KEY 提供密钥；"
                           "本地试用请设置 QINGDAN_ENV=development。")
    os.makedirs(app.instance_path, exist_ok=True)
    from . import settings
    settings.bind(app)  # refuses unknown or ill-typed overrides before anything runs

    import flask_appbuilder.security.sqla.models  # noqa: F401  (User, for the stamps)

    from . import drafts, jobs, lists, logins, preferences, publications  # noqa: F401  (models)
    from .web.security import QingdanSecurityManager

    db.init_app(app)
    # SQLite needs batch mode to alter tables in later migrations.
    migrate.init_app(app, db, directory=MIGRATIONS_DIR,
                     render_as_batch=True, compare_type=True)
    from .web import auth, escaping, headers
    headers.install(app)  # first: its nonce exists even for pages of refused requests
    escaping.install(app)  # JSON that never carries a raw tag; messages escaped in pages
    auth.configure(app)  # password policy, session lifetime
    csrf.init_app(app)  # FAB does not register it; without it forged POSTs succeed

    from .web.fab_fixes import install as fix_flask_appbuilder
    fix_flask_appbuilder(app)  # before FAB binds its routes (app/web/fab_fixes.py)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_foreign_keys)
        appbuilder = AppBuilder(security_manager_class=QingdanSecurityManager)
        appbuilder.init_app(app, db.session)
        if screens if screens is not None else screens_wanted(sys.argv):
            from .web import register_views
            register_views(appbuilder)
        auth.install(app)  # a cookie or JWT is a login only while its session is live
        from . import audit
        audit.guard()

    from .cli import register_commands
    register_commands(app)
    return app
