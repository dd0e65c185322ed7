"""Public responses are cacheable and self-contained.

Every answer carries an ETag and `Cache-Control: public, no-cache`: a browser or proxy keeps
it and asks again each time, and gets 304 while nothing changed, so a withdrawn result is
never served from a cache. Pages are tagged by their bytes; downloads by their data (a
workbook's bytes carry the time it was written), and answered 304 before being written.
The Content-Security-Policy allows nothing from elsewhere and no script at all.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, request

CACHE_CONTROL = "public, no-cache"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def conditional(etag: str, build: Callable[[], Response]) -> Response:
    """304 when the client holds this version, else `build()` tagged with it."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = build()
    response.set_etag(etag)
    return response


def finish(response: Response) -> Response:
    """after_request of the public blueprint."""
    response.headers.setdefault("Cache-Control", CACHE_CONTROL)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if (request.method in ("GET", "HEAD") and response.status_code == 200
            and not response.direct_passthrough and "ETag" not in response.headers):
        response.add_etag()
        response.make_conditional(request)
    return response
