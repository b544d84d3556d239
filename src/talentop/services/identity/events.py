"""Access and account events (ICH E6(R3): logs of access and of account changes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.store import models as m
from talentop.store import writes

#: Event kinds written by the identity services.
KINDS = (
    "login",
    "login_failed",
    "locked",
    "logout",
    "logout_everywhere",
    "password_changed",
    "account_created",
    "account_disabled",
    "account_enabled",
    "role_changed",
    "sites_changed",
    "token_created",
    "token_revoked",
    "totp_enabled",
    "totp_reset",
    "policy_changed",
    "signed",
    "audit_exported",
)


def auth_event(
    session: Any,
    actor: str,
    kind: str,
    username: str,
    user: m.User | None,
    detail: str | None,
    client: str | None,
    at: dt.datetime,
) -> None:
    """Append one audited ``auth_events`` row (never a password, code or token)."""
    writes.insert(
        session,
        actor,
        m.AuthEvent(
            at=at,
            kind=kind,
            username=username[:64],
            user_id=None if user is None else user.id,
            detail=detail,
            client=None if client is None else client[:64],
        ),
    )
