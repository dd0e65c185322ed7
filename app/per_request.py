"""Caches that live as long as the current request (permissions, filters, login sessions)."""
from __future__ import annotations

from flask import has_request_context, request


def request_cache(name: str) -> dict:
    """A dict that lives as long as the current request (outside a request: a new one each
    call, so nothing is kept).

    Kept on the request rather than on `g`: `g` belongs to the app context, which a request
    shares with whoever pushed one before it (a test, a script), so it can outlive a request.
    """
    if not has_request_context():
        return {}
    req = request._get_current_object()
    caches = req.__dict__.setdefault("_qd_caches", {})
    return caches.setdefault(name, {})
