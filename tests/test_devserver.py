"""`python app.py`'s log reads plainly: no level prefix from Alembic's logging setup, no raw
colour codes, a Chinese start line that says how to change the port (PORT)."""
from __future__ import annotations

import io
import logging
import threading
import urllib.request

from app import devserver


def tiny(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_request_lines_are_plain_even_after_alembic_set_up_logging():
    # What Alembic's fileConfig leaves behind: a root handler with "INFO  [name] message".
    root = logging.getLogger()
    alembic_like = logging.StreamHandler(io.StringIO())
    alembic_like.setFormatter(logging.Formatter("%(levelname)-5.5s [%(name)s] %(message)s"))
    root.addHandler(alembic_like)
    out = io.StringIO()
    try:
        devserver.configure_logging(out)
        server = devserver.make(tiny, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/x").read()
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
    finally:
        root.removeHandler(alembic_like)
    assert body == b"ok"
    log = out.getvalue()
    assert '"GET /x HTTP/1.1" 200' in log
    assert "\x1b[" not in log and "[werkzeug]" not in log and not log.startswith("INFO")
    assert "[werkzeug]" not in alembic_like.stream.getvalue()


def test_the_start_line_says_where_and_how_to_change_the_port():
    line = devserver.BANNER.format(host="127.0.0.1", port=5000)
    assert "http://127.0.0.1:5000/" in line and "PORT=" in line and "gunicorn" in line
