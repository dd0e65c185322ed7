"""Who is signed in, and who may still try: login sessions, account lockout, the login record.

Sessions. A browser's signed cookie alone proved a login until it expired: a copied cookie
kept working after /logout/ and after a password reset. Now every login (screen or API) is a
row of `qd_login_session`; the cookie, or the JWT's "sid" claim, carries its token (the table
keeps only its SHA-256), and each request checks the row: ended (logout, password changed or
reset, account deactivated), older than QINGDAN_SESSION_HOURS, or idle longer than
QINGDAN_SESSION_IDLE_MINUTES, and the request is anonymous again.

Lockout. Failed passwords are counted per account in the database, which every process
shares: after QINGDAN_LOGIN_MAX_FAILURES failures within QINGDAN_LOGIN_FAILURE_WINDOW_MINUTES
the account is locked for QINGDAN_LOGIN_LOCK_MINUTES (0: until an administrator unlocks it),
and while locked even the right password is refused. Nothing is counted per IP address, so
colleagues behind one office address are not locked out by someone else's typing. A name
that belongs to no account is counted and locked the same way, so the answers do not tell
which accounts exist.

Every login, failure, lockout, unlock, logout and password change is a row of
`qd_login_event`, shown to administrators under 安全 › 登录记录.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.exc import IntegrityError

from . import db
from .models import now
from .per_request import request_cache
from .settings import setting

WEB, API, CLI = "web", "api", "cli"
CHANNELS = {WEB: "网页", API: "API", CLI: "命令行"}

# What a login event records, and how the record screen names it.
LOGIN, FAILURE, LOCKED, REFUSED, UNLOCKED, LOGOUT, PASSWORD_CHANGED, PASSWORD_RESET = (
    "login", "failure", "locked", "refused", "unlocked", "logout", "password_changed",
    "password_reset")
KINDS = {LOGIN: "登录成功", FAILURE: "密码错误", LOCKED: "账号锁定", REFUSED: "锁定期间登录被拒",
         UNLOCKED: "解除锁定", LOGOUT: "退出登录", PASSWORD_CHANGED: "本人修改密码",
         PASSWORD_RESET: "密码被重置"}

# Why a session ended.
ENDED_LOGOUT, ENDED_PASSWORD, ENDED_EXPIRED, ENDED_IDLE = "logout", "password", "expired", "idle"

SEEN_EVERY = dt.timedelta(seconds=60)
MIN_RECORD_DAYS = 180  # 网络安全法 第二十一条: network logs are kept six months or more  # how often a busy session's last activity is written


class LoginSession(Model):
    __tablename__ = "qd_login_session"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE",
                                         name="fk_qd_login_session_user"), nullable=False)
    channel = Column(String(10), nullable=False)
    created_on = Column(DateTime, nullable=False, default=now)
    seen_on = Column(DateTime, nullable=False, default=now)
    ended_on = Column(DateTime)
    end_reason = Column(String(20))
    ip = Column(String(45))

    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uq_qd_login_session_token"),
        sa.Index("ix_qd_login_session_user", "user_id"),
    )


class LoginGuard(Model):
    """The failed-password count and lock of one account name (lower-case)."""
    __tablename__ = "qd_login_guard"

    id = Column(Integer, primary_key=True)
    account = Column(String(128), nullable=False)
    failures = Column(Integer, nullable=False, default=0)
    last_failure_on = Column(DateTime)
    locked_on = Column(DateTime)     # set while locked
    locked_until = Column(DateTime)  # None while locked: until an administrator unlocks
    refused = Column(Integer, nullable=False, default=0)  # attempts refused while locked

    __table_args__ = (sa.UniqueConstraint("account", name="uq_qd_login_guard_account"),)

    @property
    def locked(self) -> bool:
        return self.locked_on is not None

    @property
    def locked_label(self) -> str:
        return "已锁定" if self.locked else "未锁定"

    @property
    def unlocks_label(self) -> str:
        if not self.locked:
            return ""
        if self.locked_until is None:
            return "不自动解除：须管理员解除"
        return f"{self.locked_until:%Y-%m-%d %H:%M:%S}"

    def __str__(self):
        return self.account


class LoginEvent(Model):
    __tablename__ = "qd_login_event"

    id = Column(Integer, primary_key=True)
    happened_on = Column(DateTime, nullable=False, default=now)
    account = Column(String(128), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL",
                                         name="fk_qd_login_event_user"))
    kind = Column(String(20), nullable=False)
    channel = Column(String(10), nullable=False)
    ip = Column(String(45))
    actor = Column(String(128))  # who did it, when not the account itself (an unlock, a reset)
    detail = Column(String(200))

    __table_args__ = (
        sa.Index("ix_qd_login_event_happened_on", "happened_on"),
        sa.Index("ix_qd_login_event_account", "account"),
    )

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)


# ---------------------------------------------------------------------------- settings
def _minutes(name: str) -> dt.timedelta:
    return dt.timedelta(minutes=float(current_app.config[name]))


def lockout_enabled() -> bool:
    return bool(current_app.config.get("QINGDAN_LOCKOUT_ENABLED", True))


def current_channel() -> str:
    if not has_request_context():
        return CLI
    return API if request.path.startswith("/api/") else WEB


def _ip() -> str | None:
    return request.remote_addr if has_request_context() else None


# ---------------------------------------------------------------------------- the record
def record(kind: str, account: str, user_id: int | None = None, *, actor: str | None = None,
           detail: str | None = None, channel: str | None = None) -> None:
    """Add a login event (committed by the caller's transaction, or by `commit=True` ones)."""
    db.session.add(LoginEvent(kind=kind, account=account[:128], user_id=user_id,
                              channel=channel or current_channel(), ip=_ip(), actor=actor,
                              detail=(detail or None) and detail[:200]))


# ---------------------------------------------------------------------------- sessions
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user, channel: str) -> str:
    """A new session of `user`: its token, for the cookie or the JWT."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token_hash=_hash(token), user_id=user.id, channel=channel,
                                ip=_ip()))
    forget_old_logins()
    db.session.commit()
    return token


def forget_old_logins() -> None:
    """Remove login events and ended sessions older than LOGIN_RECORD_DAYS (at least
    MIN_RECORD_DAYS): the record stays bounded. Run at each login, in its transaction; both
    deletes use an index (the event's time; the sessions table holds only recent rows)."""
    days = max(int(setting("LOGIN_RECORD_DAYS")), MIN_RECORD_DAYS)
    cutoff = now() - dt.timedelta(days=days)
    db.session.execute(sa.delete(LoginEvent).where(LoginEvent.happened_on < cutoff))
    # A session not seen for that long has expired long since, whether or not it was marked.
    db.session.execute(sa.delete(LoginSession).where(
        sa.or_(LoginSession.ended_on < cutoff, LoginSession.seen_on < cutoff)))


def _session(token: str | None) -> LoginSession | None:
    if not token or not isinstance(token, str):
        return None
    # Looked up once per request: an API call checks its token twice (Flask-JWT-Extended's
    # revocation check, then the user loader).
    cache = request_cache("login_sessions")
    key = _hash(token)
    if key not in cache:
        cache[key] = db.session.scalars(sa.select(LoginSession).where(
            LoginSession.token_hash == key)).first()
    return cache[key]


def _end(row: LoginSession, reason: str) -> None:
    row.ended_on, row.end_reason = now(), reason


def session_user(token: str | None, user_id, channel: str) -> bool:
    """Is `token` a live session of this user on this channel? Ends it if it has run out."""
    row = _session(token)
    try:
        same_user = row is not None and row.user_id == int(user_id)
    except (TypeError, ValueError):
        same_user = False
    if not same_user or row.channel != channel or row.ended_on is not None:
        return False
    moment = now()
    if channel == WEB:
        reason = None
        if moment - row.created_on > dt.timedelta(
                hours=float(current_app.config["QINGDAN_SESSION_HOURS"])):
            reason = ENDED_EXPIRED
        elif moment - row.seen_on > _minutes("QINGDAN_SESSION_IDLE_MINUTES"):
            reason = ENDED_IDLE
        if reason:
            _end(row, reason)
            db.session.commit()
            return False
    if moment - row.seen_on >= SEEN_EVERY:
        row.seen_on = moment
        db.session.commit()
    return True


def end_session(token: str | None, reason: str = ENDED_LOGOUT) -> LoginSession | None:
    row = _session(token)
    if row is not None and row.ended_on is None:
        _end(row, reason)
    return row


def end_user_sessions(user_id: int, reason: str, keep: str | None = None) -> int:
    """End every live session of a user, except the one whose token is `keep`."""
    stmt = (sa.update(LoginSession)
            .where(LoginSession.user_id == user_id, LoginSession.ended_on.is_(None))
            .values(ended_on=now(), end_reason=reason))
    if keep:
        stmt = stmt.where(LoginSession.token_hash != _hash(keep))
    return db.session.execute(stmt).rowcount


# ---------------------------------------------------------------------------- lockout
def account_name(identifier: str, user=None) -> str:
    """The name failures are counted under: the account's username when the identifier (a
    username or an e-mail address) names one, else the identifier itself, lower-case."""
    if user is not None:
        return user.username.lower()
    return (identifier or "").strip().lower()[:128]


def _guard(account: str) -> LoginGuard | None:
    return db.session.scalars(sa.select(LoginGuard).where(LoginGuard.account == account)
                              .execution_options(populate_existing=True)).first()


def current_lock(account: str) -> LoginGuard | None:
    """The account's lock, if it is locked now (a lock whose time is over is lifted here)."""
    if not lockout_enabled():
        return None
    guard = _guard(account)
    if guard is None or not guard.locked:
        return None
    if guard.locked_until is not None and guard.locked_until <= now():
        lifted = db.session.execute(
            sa.update(LoginGuard)
            .where(LoginGuard.id == guard.id, LoginGuard.locked_on == guard.locked_on)
            .values(locked_on=None, locked_until=None, failures=0, refused=0)).rowcount
        if lifted:
            record(UNLOCKED, account, detail="锁定时间已到，自动解除")
        db.session.commit()
        return None
    return guard


def note_refused(guard: LoginGuard, user_id: int | None) -> None:
    """An attempt on a locked account: counted on the lock, not one event per attempt (an
    attacker hammering a locked account must not fill the record)."""
    first = not guard.refused
    db.session.execute(sa.update(LoginGuard).where(LoginGuard.id == guard.id)
                       .values(refused=LoginGuard.refused + 1))
    if first:
        record(REFUSED, guard.account, user_id, detail="账号锁定期间尝试登录")
    db.session.commit()


def note_failure(account: str, user_id: int | None, detail: str = "密码错误") -> LoginGuard | None:
    """Count a wrong password; returns the lock when this failure locked the account."""
    record(FAILURE, account, user_id, detail=detail)
    db.session.commit()
    if not lockout_enabled():
        return None
    moment = now()
    cutoff = moment - _minutes("QINGDAN_LOGIN_FAILURE_WINDOW_MINUTES")
    # In this order: MySQL/MariaDB evaluate SET left to right, with the values already set.
    bump = (sa.update(LoginGuard).where(LoginGuard.account == account).ordered_values(
        (LoginGuard.failures, sa.case((LoginGuard.last_failure_on < cutoff, 1),
                                      else_=LoginGuard.failures + 1)),
        (LoginGuard.last_failure_on, moment)))
    if not db.session.execute(bump).rowcount:
        try:
            db.session.add(LoginGuard(account=account, failures=1, last_failure_on=moment))
            db.session.commit()
        except IntegrityError:  # another process counted this account's first failure
            db.session.rollback()
            db.session.execute(bump)
    db.session.commit()
    guard = _guard(account)
    if guard.locked or guard.failures < int(current_app.config["QINGDAN_LOGIN_MAX_FAILURES"]):
        return None
    minutes = float(current_app.config["QINGDAN_LOGIN_LOCK_MINUTES"])
    until = moment + dt.timedelta(minutes=minutes) if minutes > 0 else None
    won = db.session.execute(  # one process locks it, and records it once
        sa.update(LoginGuard).where(LoginGuard.id == guard.id, LoginGuard.locked_on.is_(None))
        .values(locked_on=moment, locked_until=until, refused=0)).rowcount
    if won:
        record(LOCKED, account, user_id, detail=f"连续 {guard.failures} 次密码错误")
    db.session.commit()
    return _guard(account) if won else None


def note_success(account: str, user_id: int) -> None:
    record(LOGIN, account, user_id)
    db.session.execute(sa.update(LoginGuard).where(LoginGuard.account == account,
                                                   LoginGuard.locked_on.is_(None))
                       .values(failures=0))
    db.session.commit()


def unlock(account: str, actor: str | None, detail: str = "管理员解除锁定") -> bool:
    """Lift an account's lock and forget its failures. True if it was locked."""
    guard = _guard(account)
    if guard is None:
        return False
    was_locked = guard.locked
    guard.locked_on = guard.locked_until = None
    guard.failures = guard.refused = 0
    if was_locked:
        record(UNLOCKED, account, actor=actor, detail=detail)
    db.session.commit()
    return was_locked


def lock_message(guard: LoginGuard) -> str:
    max_failures = current_app.config["QINGDAN_LOGIN_MAX_FAILURES"]
    if guard.locked_until is None:
        when = "请联系管理员解除锁定"
    else:
        when = (f"将于 {guard.locked_until:%H:%M} 自动解除（也可请管理员提前解除）；"
                "在此之前即使密码正确也无法登录")
    return f"该账号因连续 {max_failures} 次密码错误已被锁定，{when}。"


def retry_after(guard: LoginGuard) -> int | None:
    """Seconds until the lock ends (the API's Retry-After), None when an admin must act."""
    if guard.locked_until is None:
        return None
    return max(1, int((guard.locked_until - now()).total_seconds()))
