"""Flask-AppBuilder 5.3 fixes, each with what it works around upstream.

- FAB reads page_<View> and psize_<View> with a bare int() and no upper bound: a non-number
  is HTTP 500 and a huge page size loads a whole table (notes/flask-appbuilder-5.md).
- FAB's add/edit read _flt_ arguments with an unchecked index (IndexError: HTTP 500).
- One Filters object per view, shared by every request (#2366): see filters.PerRequestFilters.
"""
from __future__ import annotations

from flask import request
from flask_appbuilder import baseviews as fab_baseviews
from flask_appbuilder import views as fab_views

from .filters import apply_filter_args

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000  # beyond any list; keeps OFFSET a sane number


def _bounded_args(prefix: str, low: int, high: int) -> dict[str, int]:
    out = {}
    for arg, value in request.args.items():
        if not arg.startswith(prefix):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue  # a non-number is ignored, not an HTTP 500
        out[arg[len(prefix):]] = max(low, min(number, high))
    return out


def get_page_args() -> dict[str, int]:
    return _bounded_args("page_", 0, MAX_PAGE)


def get_page_size_args() -> dict[str, int]:
    return _bounded_args("psize_", 1, MAX_PAGE_SIZE)


def harden_fab_request_args() -> None:
    """FAB reads page_<View> and psize_<View> with a bare int() and no upper bound (notes):
    give every FAB view (ours, the security screens) the bounded readers above, and the
    checked filter reader below."""
    for module in (fab_baseviews, fab_views):
        module.get_page_args = get_page_args
        module.get_page_size_args = get_page_size_args
    # FAB's add/edit read _flt_ arguments with an unchecked index (IndexError: HTTP 500).
    fab_baseviews.get_filter_args = lambda filters, disallow_if_not_in_search=True: \
        apply_filter_args(filters, request.args, search_only=disallow_if_not_in_search)
