"""The password policy, on every path that sets a password (issue 6 §3).

At least QINGDAN_PASSWORD_MIN_LENGTH characters (8 by default), with letters and digits, and
not the account's own name. FAB checks it in its forms through FAB_PASSWORD_COMPLEXITY_
VALIDATOR (user add, the administrator's reset, one's own change); the security manager
checks it again in add_user/reset_password, which the command line (`flask fab create-admin`,
`create-user`, `reset-password`) calls without any form.
"""
from __future__ import annotations

from flask import current_app, has_app_context
from flask_appbuilder.exceptions import PasswordComplexityValidationError

DEFAULT_MIN_LENGTH = 8


class PasswordPolicyError(PasswordComplexityValidationError, ValueError):
    """A password the policy refuses; the message says why in Chinese."""


def min_length() -> int:
    if not has_app_context():
        return DEFAULT_MIN_LENGTH
    return int(current_app.config.get("QINGDAN_PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH))


def policy_text() -> str:
    return f"密码至少 {min_length()} 位，须同时包含字母和数字，且不能与用户名相同。"


def problem(password: str | None, username: str | None = None) -> str | None:
    """Why this password may not be used, or None."""
    password = password or ""
    if len(password) < min_length():
        return f"密码太短：至少需要 {min_length()} 位（现为 {len(password)} 位）。{policy_text()}"
    if not any(ch.isascii() and ch.isalpha() for ch in password) \
            or not any(ch.isdigit() for ch in password):
        return f"密码须同时包含字母和数字。{policy_text()}"
    if username and username.strip().lower() == password.lower():
        return f"密码不能与用户名相同。{policy_text()}"
    return None


def check(password: str | None, username: str | None = None) -> None:
    """Raise PasswordPolicyError (FAB's PasswordComplexityValidationError) if refused."""
    message = problem(password, username)
    if message:
        raise PasswordPolicyError(message)


def fab_validator(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: FAB's forms turn the error into a field error."""
    check(password)
