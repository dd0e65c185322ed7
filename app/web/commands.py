"""The web edges' side of the record commands (app/sheets/records.py): who is asking and from
where (an Actor of this request), and the commands' problems by form or API field."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from ..audit import API, OTHER, SCREEN, Actor
from .security import can_see_id_numbers


def web_actor(source: str | None = None, reason: str | None = None) -> Actor:
    """The current user, writing from a screen or the API (told apart by the request's path
    when not given)."""
    if source is None:
        source = (API if request.path.startswith("/api/") else SCREEN) if has_request_context() \
            else OTHER
    user = current_user if has_request_context() else None
    user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    return Actor(user_id=user_id, source=source, reason=(reason or "").strip()[:500] or None,
                 see_ids=can_see_id_numbers())


def target_field(name: str | None, fields) -> str | None:
    """The form or API field a problem belongs to: a relation's lookup column ("agency.
    credit_code") is its relation's field ("agency"); None is the whole record."""
    if name is None:
        return None
    if name in fields:
        return name
    relation = name.split(".", 1)[0]
    return relation if relation in fields else None


def by_field(problems, fields) -> dict[str | None, list[str]]:
    """Problems as {field (None: the whole record): [messages]}, each message once."""
    out: dict[str | None, list[str]] = {}
    for p in problems:
        messages = out.setdefault(target_field(p.field, fields), [])
        if p.message not in messages:
            messages.append(p.message)
    return out
