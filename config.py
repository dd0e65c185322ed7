"""Settings from the environment.

DATABASE_URL   any SQLAlchemy URL (postgresql+psycopg://…, mysql+pymysql://…);
               default: a SQLite file in the instance folder.
SECRET_KEY     required unless QINGDAN_ENV=development (the embedded default), which makes
               a random key on first start and keeps it in instance/secret_key (mode 0600).
QINGDAN_SETTINGS  path to a JSON file overriding domain settings (app/settings.py).
QINGDAN_JOBS   where background jobs run: inline | thread (default) | rq (with REDIS_URL).
The security settings (sessions, lockout, passwords, cookies, headers) are below.
"""
import json
import os


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


basedir = os.path.abspath(os.path.dirname(__file__))
ENV = os.environ.get("QINGDAN_ENV", "production")
INSTANCE_DIR = os.environ.get("QINGDAN_INSTANCE", os.path.join(basedir, "instance"))

# Never a fixed key: without SECRET_KEY, development gets a random one per instance folder
# (create_app: app/instance_key.py); production refuses to start.
SECRET_KEY = os.environ.get("SECRET_KEY")

SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "qingdan.db"))


def _json_text(value) -> str:
    """JSON as the database keeps it (the trail's snapshots): Chinese as itself, not
    \\uXXXX escapes, a third less to write and to store."""
    return json.dumps(value, ensure_ascii=False)


SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "json_serializer": _json_text}
SQLALCHEMY_TRACK_MODIFICATIONS = False

APP_NAME = "qingdan 清单 · 安全生产监管后台"
APP_THEME = ""
BABEL_DEFAULT_LOCALE = "zh"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "gb", "name": "English"},
}

# Authentication: database users; the first admin is made with `flask fab create-admin`.
AUTH_TYPE = 1  # AUTH_DB
AUTH_ROLE_ADMIN = "管理员"
AUTH_ROLE_PUBLIC = "公众"
# FAB's per-IP login limit (Flask-Limiter) is off: it counted per process and refused the
# right password of every colleague behind the attacker's office address. Failed passwords
# are counted per account in the database instead (below). Turning it on
# (AUTH_RATE_LIMITED=1) needs RATELIMIT_STORAGE_URI=redis://… with several processes.
AUTH_RATE_LIMITED = _flag("AUTH_RATE_LIMITED", False)
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 20 second")
RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")

# Account lockout (app/logins.py): per account, in the database that every process shares.
QINGDAN_LOCKOUT_ENABLED = _flag("QINGDAN_LOCKOUT_ENABLED", True)
QINGDAN_LOGIN_MAX_FAILURES = int(_number("QINGDAN_LOGIN_MAX_FAILURES", 5))
QINGDAN_LOGIN_FAILURE_WINDOW_MINUTES = _number("QINGDAN_LOGIN_FAILURE_WINDOW_MINUTES", 30)
QINGDAN_LOGIN_LOCK_MINUTES = _number("QINGDAN_LOGIN_LOCK_MINUTES", 15)  # 0: until unlocked

# Sessions: at most a working day, ended after an idle hour, by logout and by a password
# change; the cookie is not readable by scripts and not sent by other sites' forms.
QINGDAN_SESSION_HOURS = _number("QINGDAN_SESSION_HOURS", 10)
QINGDAN_SESSION_IDLE_MINUTES = _number("QINGDAN_SESSION_IDLE_MINUTES", 60)
SESSION_COOKIE_NAME = os.environ.get("SESSION_COOKIE_NAME", "qingdan_session")
SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", False)  # set 1 behind HTTPS
SESSION_COOKIE_SAMESITE = os.environ.get("SESSION_COOKIE_SAMESITE", "Lax")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_DOMAIN = os.environ.get("SESSION_COOKIE_DOMAIN") or None
SESSION_COOKIE_PATH = os.environ.get("SESSION_COOKIE_PATH") or None
REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE  # (FAB never sets "remember me")
REMEMBER_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
REMEMBER_COOKIE_HTTPONLY = True

# Passwords: on every path that sets one (app/passwords.py).
FAB_PASSWORD_COMPLEXITY_ENABLED = True
QINGDAN_PASSWORD_MIN_LENGTH = int(_number("QINGDAN_PASSWORD_MIN_LENGTH", 8))

# Headers (app/web/headers.py). Behind a reverse proxy that terminates HTTPS, set
# QINGDAN_PROXIES to the number of proxies (their X-Forwarded-For/-Proto are then believed)
# and QINGDAN_FORCE_HTTPS=1 to redirect plain HTTP.
QINGDAN_PROXIES = int(_number("QINGDAN_PROXIES", 0))
QINGDAN_FORCE_HTTPS = _flag("QINGDAN_FORCE_HTTPS", False)
QINGDAN_HSTS_SECONDS = int(_number("QINGDAN_HSTS_SECONDS", 31536000))

# Several processes share one database: permissions are synced at deploy time
# (`flask --app app qingdan init`), not written on every start.
FAB_UPDATE_PERMS = os.environ.get("FAB_UPDATE_PERMS", "0") == "1"
FAB_CREATE_DB = False
FAB_API_SWAGGER_UI = True
FAB_API_MAX_PAGE_SIZE = 500
FAB_INDEX_VIEW = "app.web.dashboard.DashboardView"  # 首页: what needs attention

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

# Imports
MAX_CONTENT_LENGTH = int(os.environ.get("QINGDAN_MAX_UPLOAD_MB", "20")) * 1024 * 1024 + 64 * 1024
QINGDAN_MAX_UPLOAD_BYTES = int(os.environ.get("QINGDAN_MAX_UPLOAD_MB", "20")) * 1024 * 1024
QINGDAN_MAX_ROWS = int(os.environ.get("QINGDAN_MAX_ROWS", "200000"))
# Previews not yet confirmed that a user keeps; uploading more discards the oldest.
QINGDAN_MAX_OPEN_DRAFTS = int(os.environ.get("QINGDAN_MAX_OPEN_DRAFTS", "5"))
# A value longer than this is cut (…) in previews; the error workbook keeps it whole.
QINGDAN_PREVIEW_MAX_CHARS = int(os.environ.get("QINGDAN_PREVIEW_MAX_CHARS", "200"))
QINGDAN_SEED_ON_FIRST_START = ENV == "development"
# Records one bulk edit (批量修改) may change; a larger filtered list is done in parts.
QINGDAN_BULK_MAX_ROWS = int(os.environ.get("QINGDAN_BULK_MAX_ROWS", "500"))

# Background jobs (app/jobs.py): where they run — inline (in the request), thread (in the app
# process: the embedded default) or rq (RQ workers on Redis: production with several
# processes or hosts). Exports of more than QINGDAN_EXPORT_JOB_ROWS rows run as jobs, and so do
# imports of files above QINGDAN_IMPORT_JOB_KB.
QINGDAN_JOBS = os.environ.get("QINGDAN_JOBS", "thread")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QINGDAN_JOB_QUEUE = os.environ.get("QINGDAN_JOB_QUEUE", "qingdan")
QINGDAN_JOB_TIMEOUT = int(os.environ.get("QINGDAN_JOB_TIMEOUT", "3600"))        # seconds
QINGDAN_JOB_STALE_SECONDS = int(os.environ.get("QINGDAN_JOB_STALE_SECONDS", "300"))
QINGDAN_JOB_KEEP_HOURS = int(os.environ.get("QINGDAN_JOB_KEEP_HOURS", "24"))
QINGDAN_EXPORT_JOB_ROWS = int(os.environ.get("QINGDAN_EXPORT_JOB_ROWS", "20000"))
# Uploaded files above this size are planned (preview) and confirmed (import) as jobs: about
# 5,000 rows of a typical list, a second or two of work in a request.
QINGDAN_IMPORT_JOB_KB = int(os.environ.get("QINGDAN_IMPORT_JOB_KB", "256"))

# List screens (app/web/paging.py): a table the database estimates above this many rows is
# counted by that estimate (约 N) when unfiltered, and filtered counts stop at the cap (超过 N).
QINGDAN_EXACT_COUNT_ROWS = int(os.environ.get("QINGDAN_EXACT_COUNT_ROWS", "200000"))
QINGDAN_COUNT_CAP = int(os.environ.get("QINGDAN_COUNT_CAP", "10000"))

QINGDAN_SETTINGS = {}
if os.environ.get("QINGDAN_SETTINGS"):
    with open(os.environ["QINGDAN_SETTINGS"], encoding="utf-8") as fh:
        QINGDAN_SETTINGS = json.load(fh)
