"""Queries of the identity tables (users' credentials, sessions, tokens, the login throttle,
idempotency keys). Callers pass only hashes of credentials, never the credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError as SaIntegrityError
from sqlalchemy.orm import Session

from talentop.store import models as m


def session_by_hash(session: Session, token_hash: str) -> m.AuthSession | None:
    return session.execute(
        select(m.AuthSession).where(m.AuthSession.token_hash == token_hash)
    ).scalar_one_or_none()


#: What authentication reads of a credential's user (a plain row, not the ORM object: this
#: runs on every request, and the user's hashes and secrets are not needed for it).
_USER_COLUMNS = (
    m.User.id.label("user_id"),
    m.User.username,
    m.User.role,
    m.User.site_id,
    m.User.active,
)
_SESSION_WITH_USER = (
    select(
        m.AuthSession.id,
        m.AuthSession.revoked_at,
        m.AuthSession.expires_at,
        m.AuthSession.last_seen_at,
        m.AuthSession.totp_setup_only,
        *_USER_COLUMNS,
    )
    .join(m.User, m.User.id == m.AuthSession.user_id)
    .where(m.AuthSession.token_hash == bindparam("token_hash"))
)
_TOKEN_WITH_USER = (
    select(
        m.ApiToken.id,
        m.ApiToken.revoked_at,
        m.ApiToken.expires_at,
        m.ApiToken.last_used_at,
        *_USER_COLUMNS,
    )
    .join(m.User, m.User.id == m.ApiToken.user_id)
    .where(m.ApiToken.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True)
class CredentialUser:
    """The user a session or token belongs to, as authentication needs it."""

    id: int
    username: str
    role: str
    site_id: int | None
    active: bool


def _with_user(session: Session, stmt: Any, token_hash: str) -> tuple[Any, CredentialUser] | None:
    row = session.execute(stmt, {"token_hash": token_hash}).first()
    if row is None:
        return None
    user = CredentialUser(row.user_id, row.username, row.role, row.site_id, bool(row.active))
    return row, user


def session_with_user(session: Session, token_hash: str) -> tuple[Any, CredentialUser] | None:
    """A session's row (id, revoked_at, expires_at, last_seen_at, totp_setup_only) and its
    user in one statement (authentication on every request)."""
    return _with_user(session, _SESSION_WITH_USER, token_hash)


def token_with_user(session: Session, token_hash: str) -> tuple[Any, CredentialUser] | None:
    """An API token's row (id, revoked_at, expires_at, last_used_at) and its user in one
    statement."""
    return _with_user(session, _TOKEN_WITH_USER, token_hash)


def token_by_hash(session: Session, token_hash: str) -> m.ApiToken | None:
    return session.execute(
        select(m.ApiToken).where(m.ApiToken.token_hash == token_hash)
    ).scalar_one_or_none()


def live_sessions(session: Session, user_id: int) -> list[m.AuthSession]:
    stmt = select(m.AuthSession).where(
        m.AuthSession.user_id == user_id, m.AuthSession.revoked_at.is_(None)
    )
    return list(session.execute(stmt.order_by(m.AuthSession.id)).scalars())


def tokens_of(session: Session, user_id: int | None) -> list[tuple[m.ApiToken, str]]:
    """API tokens (of one user, or all) with their owner's username, newest first."""
    stmt = select(m.ApiToken, m.User.username).join(m.User, m.User.id == m.ApiToken.user_id)
    if user_id is not None:
        stmt = stmt.where(m.ApiToken.user_id == user_id)
    return list(session.execute(stmt.order_by(m.ApiToken.id.desc())).all())


_LOCK_THROTTLE = (
    select(m.LoginThrottle)
    .where(m.LoginThrottle.username == bindparam("username"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def throttle(session: Session, username: str) -> m.LoginThrottle:
    """The throttle row of a typed username (created at zero; not audited), locked for this
    transaction, so concurrent logins of one username count their failures one after the
    other (and two first logins cannot both insert the row: PostgreSQL inserts it with
    ``ON CONFLICT DO NOTHING``; SQLite's writer already holds the database lock)."""
    params = {"username": username}
    row = session.execute(_LOCK_THROTTLE, params).scalar_one_or_none()
    if row is not None:
        return row
    values = {"username": username, "failures": 0, "locked_until": None}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(m.LoginThrottle).values(**values).on_conflict_do_nothing())
    else:
        session.execute(insert(m.LoginThrottle).values(**values))
    return session.execute(_LOCK_THROTTLE, params).scalar_one()


def role_policy(session: Session, role: str) -> m.RolePolicy | None:
    return session.get(m.RolePolicy, role)


def idempotent_result(session: Session, key: str) -> m.IdempotencyRecord | None:
    """The stored first result of ``key`` (already prefixed by who sent it)."""
    stmt = select(m.IdempotencyRecord).where(m.IdempotencyRecord.key == key)
    return session.execute(stmt).scalar_one_or_none()


def user_sites(session: Session, user_id: int) -> list[m.UserSite]:
    stmt = select(m.UserSite).where(m.UserSite.user_id == user_id).order_by(m.UserSite.id)
    return list(session.execute(stmt).scalars())


def claim_idempotency(
    session: Session, user_id: int | None, key: str, operation: str, request_hash: str
) -> m.IdempotencyRecord | None:
    """Insert the key's row in a savepoint; None if another request holds the key (on
    PostgreSQL this waits for that request's transaction to end). Audit with
    ``writes.insert_audit_only``."""
    row = m.IdempotencyRecord(
        user_id=user_id,
        key=key,
        operation=operation,
        request_hash=request_hash,
        response_json="null",
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except SaIntegrityError:
        return None
    return row
