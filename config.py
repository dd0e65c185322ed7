"""Settings from the environment.

DATABASE_URL   any SQLAlchemy URL (postgresql+psycopg://…, mysql+pymysql://…);
               default: a SQLite file in the instance folder.
SECRET_KEY     required unless QINGDAN_ENV=development (the embedded default).
QINGDAN_SETTINGS  path to a JSON file overriding domain settings (app/settings.py).
QINGDAN_JOBS   where background jobs run: inline | thread (default) | rq (with REDIS_URL).
"""
import json
import os

basedir = os.path.abspath(os.path.dirname(__file__))
ENV = os.environ.get("QINGDAN_ENV", "production")
INSTANCE_DIR = os.environ.get("QINGDAN_INSTANCE", os.path.join(basedir, "instance"))

SECRET_KEY = os.environ.get("SECRET_KEY")
if not SECRET_KEY and ENV == "development":
    SECRET_KEY = "qingdan-development-only"

SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "qingdan.db"))
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
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
AUTH_RATE_LIMITED = True
RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")

# Several processes share one database: permissions are synced at deploy time
# (`flask --app app qingdan init`), not written on every start.
FAB_UPDATE_PERMS = os.environ.get("FAB_UPDATE_PERMS", "0") == "1"
FAB_CREATE_DB = False
FAB_API_SWAGGER_UI = True
FAB_API_MAX_PAGE_SIZE = 500

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

# Imports
MAX_CONTENT_LENGTH = int(os.environ.get("QINGDAN_MAX_UPLOAD_MB", "20")) * 1024 * 1024 + 64 * 1024
QINGDAN_MAX_UPLOAD_BYTES = int(os.environ.get("QINGDAN_MAX_UPLOAD_MB", "20")) * 1024 * 1024
QINGDAN_MAX_ROWS = int(os.environ.get("QINGDAN_MAX_ROWS", "200000"))
QINGDAN_SEED_ON_FIRST_START = ENV == "development"

# Background jobs (app/jobs.py): where they run — inline (in the request), thread (in the app
# process: the embedded default) or rq (RQ workers on Redis: production with several
# processes or hosts). Exports of more than QINGDAN_EXPORT_JOB_ROWS rows run as jobs.
QINGDAN_JOBS = os.environ.get("QINGDAN_JOBS", "thread")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QINGDAN_JOB_QUEUE = os.environ.get("QINGDAN_JOB_QUEUE", "qingdan")
QINGDAN_JOB_TIMEOUT = int(os.environ.get("QINGDAN_JOB_TIMEOUT", "3600"))        # seconds
QINGDAN_JOB_STALE_SECONDS = int(os.environ.get("QINGDAN_JOB_STALE_SECONDS", "300"))
QINGDAN_JOB_KEEP_HOURS = int(os.environ.get("QINGDAN_JOB_KEEP_HOURS", "24"))
QINGDAN_EXPORT_JOB_ROWS = int(os.environ.get("QINGDAN_EXPORT_JOB_ROWS", "20000"))

# List screens (app/web/paging.py): a table the database estimates above this many rows is
# counted by that estimate (约 N) when unfiltered, and filtered counts stop at the cap (超过 N).
QINGDAN_EXACT_COUNT_ROWS = int(os.environ.get("QINGDAN_EXACT_COUNT_ROWS", "200000"))
QINGDAN_COUNT_CAP = int(os.environ.get("QINGDAN_COUNT_CAP", "10000"))

QINGDAN_SETTINGS = {}
if os.environ.get("QINGDAN_SETTINGS"):
    with open(os.environ["QINGDAN_SETTINGS"], encoding="utf-8") as fh:
        QINGDAN_SETTINGS = json.load(fh)
