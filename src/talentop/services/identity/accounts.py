"""Accounts: users with passwords, password changes, disabling, roles, sites, TOTP policy.

Every change is audited twice over: the ``users`` row's before/after (credentials only as
fingerprints) and an ``auth_events`` row saying what kind of account change it was.
A password change, a disable and a role or site change end the user's open sessions.
"""

from __future__ import annotations

from typing import Any

from talentop.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from talentop.services._context import Context, check_actor
from talentop.services._validate import service
from talentop.services.identity.events import auth_event
from talentop.services.identity.passwords import check_rules, hash_password, verify_password
from talentop.services.identity.sessions import revoke_sessions
from talentop.services.permissions import ROLES, acting_user
from talentop.services.registry import create_user
from talentop.store import auth_queries, queries, writes
from talentop.store import models as m


def _user(session: Any, username: str) -> m.User:
    user = queries.user_by_name(session, username)
    if user is None:
        raise NotFound(f"username: no user named {username!r}")
    return user


def _site_id(session: Any, code: str | None) -> int | None:
    if code is None:
        return None
    site = queries.site_by_code(session, code)
    if site is None:
        raise NotFound(f"site_code: no site {code!r}")
    return site.id


@service
def create_account(
    ctx: Context,
    username: str,
    role: str,
    password: str,
    *,
    site_code: str | None = None,
    full_name: str | None = None,
    specialty: str | None = None,
    assigned_sites: list[str] | None = None,
) -> int:
    """Create a user who can log in (``create_user`` + an argon2id password), one transaction.
    Only an admin (or ``system``, for the first admin) may. ``assigned_sites``: the sites a
    monitor reads (as ``change_role``), set in the same transaction."""
    check_rules(username, password)
    with ctx.store.atomic() as session:
        user_id = create_user(
            ctx, username, role, site_code=site_code, full_name=full_name, specialty=specialty
        )
        user = queries.get(session, m.User, user_id)
        _set_password(session, ctx, user, password, "account_created")
        if assigned_sites:
            change_role(ctx, username, assigned_sites=assigned_sites)
        return user_id


def _set_password(session: Any, ctx: Context, user: m.User, password: str, kind: str) -> None:
    at = ctx.now()
    writes.update(
        session, ctx.actor, user, password_hash=hash_password(password), password_changed_at=at
    )
    auth_event(session, ctx.actor, kind, user.username, user, None, None, at)


@service
def change_password(
    ctx: Context,
    new_password: str,
    *,
    current_password: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    """Change a password: one's own (the current password is required), or, for an admin,
    another user's (a reset). Ends the user's open sessions; returns how many."""
    with ctx.store.unit_of_work() as session:
        me = acting_user(session, ctx.actor)
        target = me if username is None or (me is not None and username == me.username) else None
        if target is None:
            check_actor(session, ctx, "create_user")  # manage_trial: admins only
            target = _user(session, username or "")
        elif not verify_password(target.password_hash, current_password or ""):
            auth_event(
                session,
                ctx.actor,
                "login_failed",
                target.username,
                target,
                "wrong current password at password change",
                None,
                ctx.now(),
            )
            raise NotAuthenticated("password change refused: the current password is wrong")
        check_rules(target.username, new_password)
        _set_password(session, ctx, target, new_password, "password_changed")
        ended = revoke_sessions(session, ctx.actor, target, "password changed", ctx.now())
        return {"username": target.username, "sessions_ended": ended}


@service
def set_active(ctx: Context, username: str, active: bool) -> dict[str, Any]:
    """Disable (sessions end, tokens stop working, nothing is deleted) or enable an account."""
    with ctx.store.unit_of_work() as session:
        check_actor(session, ctx, "create_user")
        user = _user(session, username)
        if user.username == ctx.actor and not active:
            raise InvalidInput("username: an admin cannot disable their own account")
        writes.update(session, ctx.actor, user, active=active)
        ended = (
            0
            if active
            else revoke_sessions(session, ctx.actor, user, "account disabled", ctx.now())
        )
        kind = "account_enabled" if active else "account_disabled"
        auth_event(session, ctx.actor, kind, user.username, user, None, None, ctx.now())
        return {"username": user.username, "active": active, "sessions_ended": ended}


@service
def change_role(
    ctx: Context,
    username: str,
    *,
    role: str | None = None,
    site_code: str | None = None,
    clear_site: bool = False,
    assigned_sites: list[str] | None = None,
) -> dict[str, Any]:
    """Change a user's role, home site (``clear_site`` for none) or assigned sites
    (monitors). Ends their sessions so the new rights apply at once."""
    if role is not None and role not in ROLES:
        raise InvalidInput.field("role", role, f"one of {list(ROLES)}")
    with ctx.store.unit_of_work() as session:
        check_actor(session, ctx, "create_user")
        user = _user(session, username)
        before = (user.role, user.site_id)
        changes: dict[str, Any] = {}
        if role is not None:
            changes["role"] = role
        if clear_site:
            changes["site_id"] = None
        elif site_code is not None:
            changes["site_id"] = _site_id(session, site_code)
        writes.update(session, ctx.actor, user, **changes)
        detail = []
        if (user.role, user.site_id) != before:
            detail.append(f"role {before[0]} -> {user.role}, site {before[1]} -> {user.site_id}")
        if assigned_sites is not None:
            wanted = {_site_id(session, code) for code in assigned_sites}
            current = auth_queries.user_sites(session, user.id)
            for row in current:
                if row.site_id not in wanted:
                    writes.delete(session, ctx.actor, row)
            have = {row.site_id for row in current}
            for site_id in sorted(wanted - have):
                writes.insert(session, ctx.actor, m.UserSite(user_id=user.id, site_id=site_id))
            detail.append(f"assigned sites {sorted(assigned_sites)}")
        ended = 0
        if detail:
            auth_event(
                session,
                ctx.actor,
                "role_changed",
                user.username,
                user,
                "; ".join(detail),
                None,
                ctx.now(),
            )
            ended = revoke_sessions(session, ctx.actor, user, "role or site changed", ctx.now())
        return {"username": user.username, "role": user.role, "sessions_ended": ended}


@service
def set_role_policy(ctx: Context, role: str, *, require_totp: bool) -> dict[str, Any]:
    """Require (or stop requiring) a TOTP second factor for every user of ``role``."""
    if role not in ROLES:
        raise InvalidInput.field("role", role, f"one of {list(ROLES)}")
    with ctx.store.unit_of_work() as session:
        check_actor(session, ctx, "create_user")
        policy = auth_queries.role_policy(session, role)
        if policy is None:
            writes.insert(session, ctx.actor, m.RolePolicy(role=role, require_totp=require_totp))
        else:
            writes.update(session, ctx.actor, policy, require_totp=require_totp)
        auth_event(
            session,
            ctx.actor,
            "policy_changed",
            role,
            None,
            f"require_totp={require_totp}",
            None,
            ctx.now(),
        )
        return {"role": role, "require_totp": require_totp}


@service
def reset_totp(ctx: Context, username: str) -> dict[str, Any]:
    """Remove a user's TOTP (lost phone): they set it up again at their next login."""
    with ctx.store.unit_of_work() as session:
        check_actor(session, ctx, "create_user")
        user = _user(session, username)
        writes.update(
            session, ctx.actor, user, totp_enabled=False, totp_secret_enc=None, totp_last_step=None
        )
        auth_event(session, ctx.actor, "totp_reset", user.username, user, None, None, ctx.now())
        revoke_sessions(session, ctx.actor, user, "TOTP reset", ctx.now())
        return {"username": user.username, "totp_enabled": False}


@service
def whoami(ctx: Context) -> dict[str, Any]:
    """The acting user's account as they may see it (no credential)."""
    with ctx.store.unit_of_work() as session:
        user = acting_user(session, ctx.actor)
        if user is None:
            raise PermissionDenied("actor: 'system' is not an account")
        site = queries.get(session, m.Site, user.site_id).code if user.site_id else None
        policy = auth_queries.role_policy(session, user.role)
        return {
            "user_id": user.id,
            "username": user.username,
            "full_name": user.full_name,
            "role": user.role,
            "specialty": user.specialty,
            "site": site,
            "totp_enabled": user.totp_enabled,
            "totp_required": bool(policy and policy.require_totp),
        }
