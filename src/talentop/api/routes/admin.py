"""/api/v1 sites, users, role policies, the protocol: trial set-up (admins write; everyone
signed in may list sites and read the protocol)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from talentop import services as sv
from talentop.api.deps import CtxDep, PagingDep, StateDep
from talentop.api.routes._run import act, needs, read
from talentop.api.schemas import PasswordIn, RolePolicyIn, SiteIn, UserChangeIn, UserIn
from talentop.services import identity

router = APIRouter(tags=["trial set-up"])


@router.get("/sites", summary="Recruiting sites", **needs("list_sites"))
def sites(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.list_sites(ctx))


@router.post("/sites", summary="Create a site (admin)", status_code=201, **needs("create_site"))
def create_site(body: SiteIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "create_site",
        body,
        None,
        lambda: {
            "site_id": sv.create_site(ctx, body.code, body.name, country=body.country),
            "code": body.code,
        },
    )


@router.get("/users", summary="Users: role, site, active, TOTP (admin)", **needs("list_users"))
def users(ctx: CtxDep, paging: PagingDep) -> dict[str, Any]:
    return read(lambda: sv.list_users(ctx, limit=paging.limit, offset=paging.offset))


@router.post(
    "/users",
    summary="Create a user who can log in (admin)",
    status_code=201,
    **needs("create_user"),
)
def create_user(body: UserIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "create_user",
        None,
        None,
        lambda: {
            "user_id": identity.create_account(
                ctx,
                body.username,
                body.role,
                body.password,
                site_code=body.site_code,
                full_name=body.full_name,
                specialty=body.specialty,
                assigned_sites=body.assigned_sites,
            ),
            "username": body.username,
        },
    )


@router.patch(
    "/users/{username}",
    summary="Change role, site, assigned sites, active (admin)",
    **needs("create_user"),
)
def change_user(username: str, body: UserChangeIn, ctx: CtxDep) -> Any:
    def run() -> dict[str, Any]:
        out: dict[str, Any] = {"username": username}
        if (
            body.role is not None
            or body.site_code is not None
            or body.clear_site
            or (body.assigned_sites is not None)
        ):
            out.update(
                identity.change_role(
                    ctx,
                    username,
                    role=body.role,
                    site_code=body.site_code,
                    clear_site=body.clear_site,
                    assigned_sites=body.assigned_sites,
                )
            )
        if body.active is not None:
            out.update(identity.set_active(ctx, username, body.active))
        return out

    return act(ctx, "change_user", None, None, run, status=200)


@router.post(
    "/users/{username}/password",
    summary="Reset a user's password (admin)",
    **needs("create_user"),
)
def reset_password(username: str, body: PasswordIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "reset_password",
        None,
        None,
        lambda: identity.change_password(ctx, body.new_password, username=username),
        status=200,
    )


@router.post(
    "/users/{username}/totp-reset",
    summary="Remove a user's TOTP (admin)",
    **needs("create_user"),
)
def reset_totp(username: str, ctx: CtxDep) -> Any:
    return act(
        ctx, "reset_totp", None, None, lambda: identity.reset_totp(ctx, username), status=200
    )


@router.put(
    "/roles/{role}/policy",
    summary="Require TOTP for a role (admin)",
    **needs("create_user"),
)
def role_policy(role: str, body: RolePolicyIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "role_policy",
        None,
        None,
        lambda: identity.set_role_policy(ctx, role, require_totp=body.require_totp),
        status=200,
    )


@router.get(
    "/protocol",
    summary="The protocol this server runs (criteria, schedule, strata)",
    **needs("list_sites"),
)
def protocol(ctx: CtxDep, state: StateDep) -> dict[str, Any]:
    # Authentication is the CtxDep dependency; the protocol itself holds nothing secret.
    return state.protocol.model_dump(mode="json")
