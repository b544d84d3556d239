"""Who is acting: credentials, browser sessions, API tokens, access events, MDT ballots.

No secret is stored: passwords as argon2id hashes, session ids and API tokens as SHA-256
of a 256-bit random value (useless to a reader of the table), the TOTP seed encrypted
with the server key kept outside the database (``talentop.services.identity.keys``).
Columns listed in ``__redacted__`` appear in the audit trail only as a fingerprint;
columns in ``__volatile__`` (last use) are not audited at all, so every request does not
write an audit row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from talentop.store.models.base import Base, utcnow


class RolePolicy(Base):
    """Per-role security settings an admin can change (e.g. TOTP required)."""

    __tablename__ = "role_policies"
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False)


class UserSite(Base):
    """A site a monitor (or another multi-site user) is assigned to, beside ``users.site_id``."""

    __tablename__ = "user_sites"
    __table_args__ = (UniqueConstraint("user_id", "site_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))


class AuthSession(Base):
    """A browser (or API login) session: the opaque id is stored only as its SHA-256."""

    __tablename__ = "auth_sessions"
    __volatile__ = frozenset({"last_seen_at"})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    #: True while a role that requires TOTP has none set up: only TOTP set-up is allowed.
    totp_setup_only: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    """A named, expiring, revocable token for integrations; shown once, stored hashed."""

    __tablename__ = "api_tokens"
    __volatile__ = frozenset({"last_used_at"})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuthEvent(Base):
    """An access or account event (ICH E6(R3) logs of access and account changes): login
    success or failure, logout, lock-out, password change, token creation or revocation,
    role or site change. ``username`` is what was typed (it may name no user)."""

    __tablename__ = "auth_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins in a row per typed username (known or not, so a lock-out reveals
    nothing about which accounts exist). Telemetry, not trial data: not audited; every
    failure is also an audited ``AuthEvent``."""

    __tablename__ = "login_throttle"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class IdempotencyRecord(Base):
    """The first result of a create request sent with an ``Idempotency-Key``: a retry with
    the same key returns it instead of acting twice (above all for randomisation)."""

    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The client's key prefixed by who sent it (``u<user id>:`` or ``a:<actor>:``), so keys
    #: of different users never collide and one unique index serialises retries.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    operation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MdtBallot(Base):
    """One MDT member's own vote, cast while the review is open; the review is decided
    (``mdt_reviews`` + ``mdt_votes``) once the protocol's quorum and specialties are met."""

    __tablename__ = "mdt_ballots"
    __table_args__ = (UniqueConstraint("patient_id", "purpose", "round", "member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=1)
    member: Mapped[str] = mapped_column(String(64))
    specialty: Mapped[str] = mapped_column(String(64))
    resectable: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    cast_on: Mapped[dt.date] = mapped_column(Date)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("mdt_reviews.id"))
