"""TOTP second factor (RFC 6238, pyotp): set-up, confirmation, checking a code once.

The seed is created at set-up, shown once (as an ``otpauth://`` URI for an authenticator
app), stored only encrypted with the server key (``keys``), and switched on when the user
confirms a code. A code is accepted once (``totp_last_step`` guards replays), within one
30-second step either side for clock drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyotp

from talentop.errors import InvalidInput
from talentop.services._context import Context
from talentop.services._validate import service
from talentop.services.identity import keys
from talentop.services.identity.events import auth_event
from talentop.services.permissions import acting_user
from talentop.store import Store, auth_queries, writes
from talentop.store import models as m

ISSUER = "talentop"
STEP_S = 30
DRIFT_STEPS = 1


def _step(at: dt.datetime) -> int:
    return int(at.replace(tzinfo=dt.UTC).timestamp()) // STEP_S


def accept(session: Any, store: Store, user: m.User, code: str, at: dt.datetime) -> bool:
    """Whether ``code`` is the user's current code (± one step) and not used before; if so,
    remember its step so the same code cannot be replayed."""
    if user.totp_secret_enc is None or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(keys.decrypt(store, user.totp_secret_enc))
    now_step = _step(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if totp.at(step * STEP_S) == code:
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            writes.update(session, "auth", user, totp_last_step=step)
            return True
    return False


def _me(session: Any, ctx: Context) -> m.User:
    user = acting_user(session, ctx.actor)
    if user is None:
        raise InvalidInput("actor: 'system' has no account to set TOTP up for")
    return user


@service
def begin_totp_setup(ctx: Context) -> dict[str, Any]:
    """A new TOTP seed for the acting user, shown once as an ``otpauth://`` URI (and the
    base32 seed for manual entry); it takes effect after ``confirm_totp``."""
    seed = pyotp.random_base32()
    with ctx.store.unit_of_work() as session:
        user = _me(session, ctx)
        if user.totp_enabled:
            raise InvalidInput("totp: already set up; an admin can reset it (user totp-reset)")
        writes.update(session, ctx.actor, user, totp_secret_enc=keys.encrypt(ctx.store, seed))
        uri = pyotp.TOTP(seed).provisioning_uri(name=user.username, issuer_name=ISSUER)
        return {"secret": seed, "otpauth_uri": uri}


@service
def confirm_totp(ctx: Context, code: str) -> dict[str, Any]:
    """Switch TOTP on once the user proves their app shows the right code."""
    at = ctx.now()
    with ctx.store.unit_of_work() as session:
        user = _me(session, ctx)
        if user.totp_secret_enc is None:
            raise InvalidInput("totp: no set-up in progress; start it first")
        if user.totp_enabled:
            raise InvalidInput("totp: already set up")
        if not accept(session, ctx.store, user, str(code).strip(), at):
            raise InvalidInput.field(
                "code", "******", "the 6-digit code your authenticator app shows now"
            )
        writes.update(session, ctx.actor, user, totp_enabled=True)
        auth_event(session, ctx.actor, "totp_enabled", user.username, user, None, None, at)
        # Sessions opened before set-up were limited to it: lift that now.
        for row in auth_queries.live_sessions(session, user.id):
            if row.totp_setup_only and row.revoked_at is None:
                writes.update(session, ctx.actor, row, totp_setup_only=False)
        return {"totp_enabled": True}
