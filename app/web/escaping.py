"""No script through messages (issue 6 §2).

Messages quote what people typed ("「专户账号」“…”应为 16–22 位数字", "保单 … 的状态是“已退保”"),
so every place a message is output must escape it:

- field errors: FAB renders them with `{{ _(error) }}`; Jinja's new-style gettext marks the
  result safe (and %-formats it). The override of general/lib.html calls `qd_message` instead:
  translated, then escaped by autoescape like any other value.
- flashed messages: FAB's flash.html outputs `{{ m }}`, escaped, as long as no one flashes
  Markup; qingdan flashes plain strings only.
- JSON: the API's messages are data, but a client that puts them into a page, or a browser
  that sniffs a JSON answer as HTML, would build the tag. The app's JSON writes `<`, `>`
  and `&` as \\u003c, \\u003e and \\u0026 (as Go's encoder and Rails do): the same values for
  any JSON reader, and no raw tag in any answer.
"""
from __future__ import annotations

from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 # line separators end a JavaScript string literal: written escaped too
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


class EscapingJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with the characters that make markup written as \\u escapes. They can
    only occur inside JSON strings, where the escape means the same character."""

    def dumps(self, obj, **kwargs) -> str:
        return super().dumps(obj, **kwargs).translate(_JSON_ESCAPES)


def qd_message(message) -> str:
    """A (field error) message for a template: translated if the catalogue knows it (FAB's
    and WTForms' English ones), returned as a plain string, so autoescape escapes it."""
    text = str(message)
    return str(gettext(text)) if text else text


def install(app) -> None:
    app.json = EscapingJSONProvider(app)
    app.jinja_env.globals["qd_message"] = qd_message
