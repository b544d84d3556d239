"""/api/v1/auth: log in and out, one's own account, password, TOTP, API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from talentop.api.deps import (
    SESSION_COOKIE,
    AuthDep,
    CtxDep,
    RowId,
    StateDep,
    credential,
)
from talentop.api.routes._run import act, read
from talentop.api.schemas import LoginIn, PasswordIn, TokenIn, TotpConfirmIn
from talentop.services import identity

router = APIRouter(prefix="/auth", tags=["auth"])


def set_session_cookie(request: Request, response: Response, result: identity.LoginResult) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(identity.ABSOLUTE_TIMEOUT.total_seconds()),
        path="/",
    )


@router.post(
    "/login",
    summary="Log in with username and password (and TOTP code where set up)",
    response_description="A session: the bearer token (also set as an HttpOnly cookie), its "
    "expiry, the CSRF token for cookie-authenticated writes.",
)
def login(body: LoginIn, request: Request, state: StateDep) -> JSONResponse:
    """Wrong username, password or code, a locked (5 failures in a row: 15 minutes) or a
    disabled account all give the same 401: the reason is only in the audit trail."""
    client = request.client.host if request.client else None
    result = identity.login(
        state.store, body.username, body.password, totp=body.totp, client=client
    )
    response = JSONResponse(result.to_dict())
    set_session_cookie(request, response, result)
    return response


@router.post("/logout", summary="End this session", status_code=200)
def logout(request: Request, auth: AuthDep, state: StateDep) -> JSONResponse:
    token, _ = credential(request)
    ended = identity.logout(state.store, token)
    response = JSONResponse({"logged_out": ended})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout-everywhere", summary="End every session of this user")
def logout_everywhere(ctx: CtxDep) -> JSONResponse:
    count = identity.logout_everywhere(ctx)
    response = JSONResponse({"sessions_ended": count})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", summary="The signed-in user")
def me(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: identity.whoami(ctx))


@router.post("/password", summary="Change one's own password (ends one's sessions)")
def change_password(body: PasswordIn, ctx: CtxDep) -> JSONResponse:
    return act(
        ctx,
        "change_password",
        None,
        None,
        lambda: identity.change_password(
            ctx, body.new_password, current_password=body.current_password
        ),
        status=200,
    )


@router.post("/totp/setup", summary="Start TOTP set-up: the seed, shown once")
def totp_setup(ctx: CtxDep) -> JSONResponse:
    return act(ctx, "totp_setup", None, None, lambda: identity.begin_totp_setup(ctx), status=200)


@router.post("/totp/confirm", summary="Confirm TOTP with a code from the app")
def totp_confirm(body: TotpConfirmIn, ctx: CtxDep) -> JSONResponse:
    return act(
        ctx, "totp_confirm", None, None, lambda: identity.confirm_totp(ctx, body.code), status=200
    )


@router.get("/tokens", summary="One's API tokens (never the token itself)")
def tokens(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: identity.list_tokens(ctx))


@router.post("/tokens", summary="Create an API token: shown once in the response", status_code=201)
def create_token(body: TokenIn, ctx: CtxDep) -> JSONResponse:
    return act(
        ctx,
        "create_token",
        None,
        None,
        lambda: identity.create_token(ctx, body.name, expires_in_days=body.expires_in_days),
    )


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
def revoke_token(token_id: RowId, ctx: CtxDep) -> JSONResponse:
    return act(
        ctx, "revoke_token", None, None, lambda: identity.revoke_token(ctx, token_id), status=200
    )
