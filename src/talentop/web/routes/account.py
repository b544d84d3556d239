"""Log in and out, one's own account: password change, TOTP set-up, logout everywhere.

The login form has no session yet, so it carries its own double-submit token (a random
value in an HttpOnly, SameSite=Strict cookie and in a hidden input) against login CSRF.
Every failure shows the service's one message; a lock-out is told plainly because it is
the same for a username that exists and one that does not (``identity.login``).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from talentop.api.deps import SESSION_COOKIE, credential
from talentop.api.routes.auth import set_session_cookie
from talentop.errors import InvalidInput, NotAuthenticated
from talentop.services import identity
from talentop.web.forms import plain
from talentop.web.render import render
from talentop.web.session import PageDep, app_state, local_path, see_other

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "talentop_login"

#: Why the login page is shown (``errors.EXPIRY_CODES``), in words.
NOTICES = {
    "idle": "Your session expired after 30 minutes without activity. Please log in again.",
    "absolute": "Your session expired after 12 hours. Please log in again.",
    "ended": "Your session has ended (logged out, password changed or account changed). "
    "Please log in again.",
    "logout": "You are logged out.",
    "everywhere": "You are logged out on every browser and device.",
    "password": "Your password is changed and every session ended. Log in with the new one.",
    "login": "Please log in.",
}


def _login_page(
    request: Request,
    *,
    status: int = 200,
    username: str = "",
    next_path: str = "/",
    notice: str | None = None,
    failure: str | None = None,
    failure_more: str | None = None,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        "login.html",
        status=status,
        path="/login",
        login_csrf=token,
        next=next_path,
        username=username,
        notice=notice,
        failure=failure,
        failure_more=failure_more,
        max_failures=identity.MAX_FAILURES,
        lockout_minutes=int(identity.LOCKOUT.total_seconds() // 60),
        idle_minutes=int(identity.IDLE_TIMEOUT.total_seconds() // 60),
        absolute_hours=int(identity.ABSOLUTE_TIMEOUT.total_seconds() // 3600),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, why: str | None = None, next: str | None = None) -> Response:
    return _login_page(request, next_path=local_path(next), notice=NOTICES.get(why or ""))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """A session cookie and on to ``next``; or the form again with the one message."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not login_csrf or not hmac.compare_digest(cookie, login_csrf):
        return _login_page(
            request,
            status=403,
            username=username,
            next_path=local_path(next),
            failure="The login form had expired. Please try again.",
        )
    client = request.client.host if request.client else None
    try:
        result = identity.login(
            app_state(request).store, username, password, totp=totp or None, client=client
        )
    except NotAuthenticated as error:
        locked = error.reason == "locked"
        minutes = int(identity.LOCKOUT.total_seconds() // 60)
        return _login_page(
            request,
            status=401,
            username=username,
            next_path=local_path(next),
            failure=(
                f"This username is locked for {minutes} minutes after "
                f"{identity.MAX_FAILURES} failed attempts in a row."
                if locked
                else str(error)[:1].upper() + str(error)[1:] + "."
            ),
            failure_more=(
                "Wait, then try again; an administrator cannot see or unlock it sooner. "
                "(Locks apply to any typed username, so this says nothing about whether "
                "the account exists.)"
                if locked
                else None
            ),
        )
    target = "/account" if result.totp_setup_required else local_path(next)
    response = see_other(target)
    set_session_cookie(request, response, result)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(page: PageDep) -> Response:
    token, _ = credential(page.request)
    identity.logout(page.ctx.store, token)
    response = see_other("/login?why=logout")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout-everywhere")
def logout_everywhere(page: PageDep) -> Response:
    identity.logout_everywhere(page.ctx)
    response = see_other("/login?why=everywhere")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _account(page, *, status: int = 200, **extra) -> HTMLResponse:
    me = identity.whoami(page.ctx)
    values = {
        "me": me,
        "notice": None,
        "totp_required": me["totp_required"] and not me["totp_enabled"],
        "pw_errors": {},
        "pw_other": [],
        "setup": None,
        "totp_error": None,
        "min_length": identity.MIN_LENGTH,
    }
    values.update(extra)
    return page.render("account.html", status=status, title="Account", **values)


@router.get("/account", response_class=HTMLResponse)
def account(page: PageDep) -> Response:
    return _account(page)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(page: PageDep) -> Response:
    try:
        identity.change_password(
            page.ctx, page.value("new_password"), current_password=page.value("current_password")
        )
    except NotAuthenticated:
        return _account(
            page,
            status=422,
            pw_errors={"current_password": "The current password is not right."},
        )
    except InvalidInput as error:
        messages = [plain(d.get("expected") or "") for d in error.details]
        return _account(page, status=422, pw_errors={"new_password": " ".join(messages)})
    response = see_other("/login?why=password")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/account/totp/setup", response_class=HTMLResponse)
def totp_setup(page: PageDep) -> Response:
    import segno

    result = identity.begin_totp_setup(page.ctx)
    # Drawn here, as an SVG data URI: no network, no script, nothing to fetch.
    qr = segno.make(result["otpauth_uri"], error="m").svg_data_uri(scale=5, border=2)
    return _account(page, setup={**result, "qr": qr})


@router.post("/account/totp/confirm", response_class=HTMLResponse)
def totp_confirm(page: PageDep) -> Response:
    try:
        identity.confirm_totp(page.ctx, page.value("code"))
    except InvalidInput:
        return _account(
            page,
            status=422,
            totp_error="That code is not the one your app shows now. Start the set-up again "
            "if the app shows no talentop entry.",
        )
    return _account(page, notice="Two-factor is on: you will be asked for a code at login.")
