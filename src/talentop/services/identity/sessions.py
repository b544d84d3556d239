"""Logging in and out, browser sessions and API tokens: from a credential to a ``Principal``.

- ``login`` checks a password (and a TOTP code where the user has one): 5 failed attempts in
  a row for one typed username lock it for 15 minutes, whether the account exists or not,
  so neither the message nor the lock tells which accounts exist. Every attempt is an
  audited ``auth_events`` row; the caller only ever hears "login failed" (``NotAuthenticated``).
- A session is an opaque 256-bit random id (``tps_...``) stored as its SHA-256; idle
  time-out 30 minutes, absolute 12 hours; ``logout`` revokes it.
- An API token (``tpt_...``) is shown once, stored as its SHA-256, named, expiring and
  revocable; use updates ``last_used_at`` (to within a minute; not audited: using is not
  changing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talentop.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from talentop.services._context import Context, Principal
from talentop.services._validate import RecordId, service
from talentop.services.identity import totp as totp_codes
from talentop.services.identity.events import auth_event
from talentop.services.identity.passwords import hash_password, needs_rehash, verify_password
from talentop.services.permissions import SYSTEM, acting_user
from talentop.store import Store, auth_queries, queries, writes
from talentop.store import models as m
from talentop.store.models import utcnow

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
#: ``last_seen_at`` / ``last_used_at`` are written at most this often (a write per request would
#: serialise reads): the recorded last use is at most this stale.
TOUCH_EVERY = dt.timedelta(seconds=60)
SESSION_PREFIX = "tps_"
TOKEN_PREFIX = "tpt_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
#: The audit actor of login and logout events (the username is in the event row).
AUTH_ACTOR = "auth"

FAILED = "login failed: wrong username, password or code, or the account is locked or disabled"


def digest(secret: str) -> str:
    """What is stored of a session id or token: its SHA-256 (hex)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The session's CSRF synchroniser token: derived from the session id, so it needs no
    storage and cannot be computed without the (HttpOnly) session cookie."""
    return hmac.new(session_token.encode(), b"talentop-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    """A new session: the id (give it to the client once), when it expires, the CSRF
    token, the principal, and whether TOTP must be set up before anything else."""

    session_token: str
    expires_at: dt.datetime
    idle_timeout_s: int
    csrf_token: str
    principal: Principal
    totp_setup_required: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.session_token,
            "token_type": "bearer",
            "expires_at": self.expires_at.isoformat() + "Z",
            "idle_timeout_s": self.idle_timeout_s,
            "csrf_token": self.csrf_token,
            "username": self.principal.username,
            "role": self.principal.role,
            "totp_setup_required": self.totp_setup_required,
        }


def principal_of(user: Any, via: str, credential_id: int | None = None) -> Principal:
    """The principal of a user row (or ``auth_queries.CredentialUser``)."""
    return Principal(user.id, user.username, user.role, user.site_id, via, credential_id)


def _typed(username: Any) -> str:
    # What the throttle and the event row keep of a typed username: bounded, printable.
    text = username if isinstance(username, str) else repr(username)
    return "".join(ch if ch.isprintable() else "?" for ch in text.strip())[:64] or "?"


def login(
    store: Store,
    username: Any,
    password: Any,
    *,
    totp: Any = None,
    client: str | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> LoginResult:
    """A new session for a correct username + password (+ TOTP code where set up), else
    ``NotAuthenticated`` with the same message whatever went wrong."""
    typed = _typed(username)
    at = now()
    outcome: LoginResult | None = None
    typed_password = password if isinstance(password, str) else ""
    # The password hash is checked before the write transaction (it is the slow part and
    # holds no lock); the transaction then locks the username's throttle row, so logins of
    # one username count their failures one after the other.
    with store.read_only() as session:
        user = queries.user_by_name(session, typed) if isinstance(username, str) else None
        checked_hash = user.password_hash if user is not None else None
    ok_password = verify_password(checked_hash, typed_password)
    with store.unit_of_work() as session:
        throttle = auth_queries.throttle(session, typed.lower())
        user = queries.user_by_name(session, typed) if isinstance(username, str) else None
        current_hash = user.password_hash if user is not None else None
        if current_hash != checked_hash:  # the password changed meanwhile: check again
            ok_password = verify_password(current_hash, typed_password)
        reason = _refusal(session, store, user, ok_password, throttle, totp, at)
        if reason is None:
            assert user is not None
            throttle.failures, throttle.locked_until = 0, None
            if needs_rehash(user.password_hash or ""):
                writes.update(session, AUTH_ACTOR, user, password_hash=hash_password(password))
            outcome = _open_session(session, user, at, client)
        else:
            throttle.failures += 1
            locked = throttle.failures >= MAX_FAILURES and reason != "locked"
            if locked:
                throttle.locked_until = at + LOCKOUT
            auth_event(session, AUTH_ACTOR, "login_failed", typed, user, reason, client, at)
            if locked:
                auth_event(
                    session,
                    AUTH_ACTOR,
                    "locked",
                    typed,
                    user,
                    f"{MAX_FAILURES} failures",
                    client,
                    at,
                )
    if outcome is None:
        raise NotAuthenticated(FAILED, reason=reason or "")
    return outcome


def _refusal(
    session: Any,
    store: Store,
    user: m.User | None,
    ok_password: bool,
    throttle: m.LoginThrottle,
    totp: Any,
    at: dt.datetime,
) -> str | None:
    """Why a login is refused (for the audit only), or None to let it in."""
    if throttle.locked_until is not None and throttle.locked_until > at:
        return "locked"
    if throttle.locked_until is not None:
        throttle.failures, throttle.locked_until = 0, None  # the lock has run out
    if user is None:
        return "unknown user"
    if not ok_password:
        return "wrong password"
    if not user.active:
        return "disabled"
    if user.totp_enabled:
        if totp is None or str(totp).strip() == "":
            return "TOTP code missing"
        if not totp_codes.accept(session, store, user, str(totp), at):
            return "wrong TOTP code"
    return None


def _open_session(session: Any, user: m.User, at: dt.datetime, client: str | None) -> LoginResult:
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    policy = auth_queries.role_policy(session, user.role)
    setup_only = bool(policy and policy.require_totp and not user.totp_enabled)
    row = writes.insert(
        session,
        AUTH_ACTOR,
        m.AuthSession(
            token_hash=digest(token),
            user_id=user.id,
            created_at=at,
            last_seen_at=at,
            expires_at=at + ABSOLUTE_TIMEOUT,
            totp_setup_only=setup_only,
        ),
    )
    auth_event(session, AUTH_ACTOR, "login", user.username, user, None, client, at)
    return LoginResult(
        session_token=token,
        expires_at=row.expires_at,
        idle_timeout_s=int(IDLE_TIMEOUT.total_seconds()),
        csrf_token=csrf_token(token),
        principal=principal_of(user, "session", row.id),
        totp_setup_required=setup_only,
    )


@dataclass(frozen=True)
class Authenticated:
    """A credential resolved to its user: the principal and, for sessions, whether only
    TOTP set-up is allowed yet."""

    principal: Principal
    totp_setup_only: bool = False


def authenticate(
    store: Store, credential: Any, *, now: Callable[[], dt.datetime] = utcnow
) -> Authenticated:
    """The principal of a session id or API token, or ``NotAuthenticated`` (unknown,
    expired, idle too long, revoked, or the user disabled). Expired sessions are revoked.

    A read-only check: the only writes are the revocation of an expired session and the
    last-use time of a session or token, written at most once a minute (``TOUCH_EVERY``),
    so a burst of requests does not queue on the write lock."""
    if not isinstance(credential, str) or not credential.startswith((SESSION_PREFIX, TOKEN_PREFIX)):
        raise NotAuthenticated(
            "not authenticated: no valid session or API token", reason="malformed"
        )
    at = now()
    resolve = _resolve_session if credential.startswith(SESSION_PREFIX) else _resolve_token
    with store.lookup() as session:  # one statement: no transaction around it
        result, why, pending = resolve(session, credential, at)
    if pending is not None:
        model, row_id, changes = pending
        with store.unit_of_work() as session:
            writes.update(session, AUTH_ACTOR, queries.get(session, model, row_id), **changes)
    if result is None:
        raise NotAuthenticated(f"not authenticated: {why}", reason=why)
    return result


Pending = tuple[type, int, dict[str, Any]] | None


def _resolve_session(
    session: Any, token: str, at: dt.datetime
) -> tuple[Authenticated | None, str, Pending]:
    found = auth_queries.session_with_user(session, digest(token))
    if found is None:
        return None, "session unknown", None
    row, user = found
    if row.revoked_at is not None:
        return None, "session ended (logged out or revoked); log in again", None
    expired = None
    if at >= row.expires_at:
        expired = "session expired after 12 hours; log in again"
    elif at - row.last_seen_at >= IDLE_TIMEOUT:
        expired = "session expired after 30 minutes without activity; log in again"
    if expired is None and not user.active:
        expired = "account disabled"
    if expired is not None:
        return (
            None,
            expired,
            (m.AuthSession, row.id, {"revoked_at": at, "revoked_reason": expired[:64]}),
        )
    touch = (
        (m.AuthSession, row.id, {"last_seen_at": at})
        if at - row.last_seen_at >= TOUCH_EVERY
        else None
    )
    return Authenticated(principal_of(user, "session", row.id), row.totp_setup_only), "", touch


def _resolve_token(
    session: Any, token: str, at: dt.datetime
) -> tuple[Authenticated | None, str, Pending]:
    found = auth_queries.token_with_user(session, digest(token))
    if found is None:
        return None, "API token unknown", None
    row, user = found
    if row.revoked_at is not None:
        return None, "API token revoked", None
    if at >= row.expires_at:
        return None, "API token expired", None
    if not user.active:
        return None, "account disabled", None
    stale = row.last_used_at is None or at - row.last_used_at >= TOUCH_EVERY
    touch = (m.ApiToken, row.id, {"last_used_at": at}) if stale else None
    return Authenticated(principal_of(user, "token", row.id)), "", touch


def logout(store: Store, credential: Any, *, now: Callable[[], dt.datetime] = utcnow) -> bool:
    """Revoke a session (True if one was open). Logging out twice is harmless."""
    if not isinstance(credential, str) or not credential.startswith(SESSION_PREFIX):
        return False
    at = now()
    with store.unit_of_work() as session:
        row = auth_queries.session_by_hash(session, digest(credential))
        if row is None or row.revoked_at is not None:
            return False
        writes.update(session, AUTH_ACTOR, row, revoked_at=at, revoked_reason="logout")
        user = queries.get(session, m.User, row.user_id)
        auth_event(session, AUTH_ACTOR, "logout", user.username, user, None, None, at)
        return True


def revoke_sessions(session: Any, actor: str, user: m.User, reason: str, at: dt.datetime) -> int:
    """Revoke every open session of ``user`` (password change, disable, role change)."""
    rows = auth_queries.live_sessions(session, user.id)
    for row in rows:
        writes.update(session, actor, row, revoked_at=at, revoked_reason=reason[:64])
    return len(rows)


@service
def logout_everywhere(ctx: Context) -> int:
    """Revoke every session of the acting user (all browsers, all devices)."""
    with ctx.store.unit_of_work() as session:
        user = _self(session, ctx)
        count = revoke_sessions(session, ctx.actor, user, "logout everywhere", ctx.now())
        auth_event(
            session,
            ctx.actor,
            "logout_everywhere",
            user.username,
            user,
            f"{count} sessions",
            None,
            ctx.now(),
        )
        return count


def _self(session: Any, ctx: Context) -> m.User:
    user = acting_user(session, ctx.actor)
    if user is None:
        raise InvalidInput("actor: 'system' has no account, sessions or tokens")
    return user


def _owner(session: Any, ctx: Context, username: str | None) -> m.User:
    """The user whose tokens are managed: oneself, or anyone for an admin (or ``system``)."""
    if ctx.actor == SYSTEM:
        if username is None:
            raise InvalidInput("username: expected whose tokens ('system' has none)")
        user = queries.user_by_name(session, username)
        if user is None:
            raise NotFound(f"username: no user named {username!r}")
        return user
    me = _self(session, ctx)
    if username is None or username == me.username:
        return me
    if me.role != "admin":
        raise PermissionDenied(
            f"user {me.username!r} ({me.role}) manages only their own API tokens; "
            "expected an admin to manage another user's"
        )
    user = queries.user_by_name(session, username)
    if user is None:
        raise NotFound(f"username: no user named {username!r}")
    return user


@service
def create_token(
    ctx: Context,
    name: str,
    *,
    expires_in_days: int = DEFAULT_TOKEN_DAYS,
    username: str | None = None,
) -> dict[str, Any]:
    """A new API token for the acting user (or, for an admin, ``username``): the token is
    in the result once and never again."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise InvalidInput.field("name", name, "a name of 1-64 characters (what the token is for)")
    if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise InvalidInput.field("expires_in_days", expires_in_days, f"1..{MAX_TOKEN_DAYS} days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    at = ctx.now()
    with ctx.store.unit_of_work() as session:
        owner = _owner(session, ctx, username)
        row = writes.insert(
            session,
            ctx.actor,
            m.ApiToken(
                user_id=owner.id,
                name=name.strip(),
                prefix=token[:10],
                token_hash=digest(token),
                created_at=at,
                expires_at=at + dt.timedelta(days=expires_in_days),
            ),
        )
        auth_event(
            session,
            ctx.actor,
            "token_created",
            owner.username,
            owner,
            f"token {row.id} {row.name!r}",
            None,
            at,
        )
        return {**_token_dict(row, owner.username), "token": token}


def _token_dict(row: m.ApiToken, username: str) -> dict[str, Any]:
    return {
        "token_id": row.id,
        "username": username,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat() + "Z",
        "expires_at": row.expires_at.isoformat() + "Z",
        "last_used_at": row.last_used_at.isoformat() + "Z" if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() + "Z" if row.revoked_at else None,
    }


@service
def list_tokens(
    ctx: Context, *, username: str | None = None, all_users: bool = False
) -> list[dict[str, Any]]:
    """API tokens (never the token itself): one's own, another user's or everyone's (admin)."""
    with ctx.store.unit_of_work() as session:
        if all_users:
            me = None if ctx.actor == SYSTEM else _self(session, ctx)
            if me is not None and me.role != "admin":
                raise PermissionDenied(
                    f"user {me.username!r} ({me.role}) lists only their own tokens"
                )
            rows = auth_queries.tokens_of(session, None)
        else:
            rows = auth_queries.tokens_of(session, _owner(session, ctx, username).id)
        return [_token_dict(row, owner) for row, owner in rows]


@service
def revoke_token(ctx: Context, token_id: RecordId) -> dict[str, Any]:
    """Revoke an API token (one's own; an admin any); revoking twice is harmless."""
    at = ctx.now()
    with ctx.store.unit_of_work() as session:
        row = queries.get(session, m.ApiToken, token_id, what="api token")
        owner = queries.get(session, m.User, row.user_id)
        _owner(session, ctx, owner.username)
        if row.revoked_at is None:
            writes.update(session, ctx.actor, row, revoked_at=at)
            auth_event(
                session,
                ctx.actor,
                "token_revoked",
                owner.username,
                owner,
                f"token {row.id} {row.name!r}",
                None,
                at,
            )
        return _token_dict(row, owner.username)
