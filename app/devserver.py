"""The development server of `python app.py`: Werkzeug's, with a log a person can read.

Alembic's logging setup (run by the first start's `db upgrade`) routes Werkzeug's lines
through its own format, and Werkzeug colours them with ANSI codes: the log read
`INFO  [werkzeug] \\x1b[31m\\x1b[1mWARNING: This is a development server…`. Here Werkzeug's
lines are written as they are, without colour codes, and the start says in Chinese where
the server listens and that production uses gunicorn (README).
"""
from __future__ import annotations

import logging
import sys

from werkzeug import serving

BANNER = ("qingdan 开发服务器已启动：http://{host}:{port}/ —— 仅供本机试用，生产环境请用 "
          "gunicorn（见 README）。按 Ctrl+C 停止；换端口请设 PORT，如 PORT=8080 python app.py。")


def configure_logging(stream=None) -> logging.Logger:
    """Werkzeug's request lines, plain: no level prefix, no colour codes."""
    serving._log_add_style = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("werkzeug")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.disabled = False  # Alembic's fileConfig (db upgrade on first start) disables it
    return logger


def make(application, host: str, port: int):
    from .web.headers import QuietRequestHandler  # no "Werkzeug/… Python/…" banner
    return serving.make_server(host, port, application, threaded=True,
                               request_handler=QuietRequestHandler)


def run(application, host: str, port: int) -> None:
    configure_logging()
    server = make(application, host, port)
    print(BANNER.format(host=host, port=server.server_port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
