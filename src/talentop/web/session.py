"""Who is looking at a page: the same dependency as the API (``talentop.api.deps``), fed
the form's CSRF token, wrapped in a ``Page`` that renders templates for that user.

A form POST is read before authentication so that its hidden ``csrf_token`` input can be
checked (``request.state.form_csrf``); htmx requests send the same token in the
``X-CSRF-Token`` header (``hx-headers`` on ``<body>``). A POST without it is refused with
403 before any service runs, so nothing is written. One token per session
(``identity.csrf_token``), never rotated per request (concurrent htmx requests would race).

Every page route is declared with ``page(service)``: the service it calls names the action
it needs in the permission table, a role without it gets 403 before the page runs, and the
route tests derive each role's expected status from that declaration (``PAGE_SERVICES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from talentop.api.deps import (
    SAFE_METHODS,
    SESSION_COOKIE,
    app_state,
    authenticated,
    credential,
    make_context,
)
from talentop.services import Context, Principal
from talentop.services.identity import Authenticated, csrf_token
from talentop.services.permissions import check_role
from talentop.web.render import render

#: Largest form the pages accept (fields); a form is small, a flood is refused early.
MAX_FIELDS = 400

#: (method, path template) -> the service it calls (its action decides who may open it).
PAGE_SERVICES: dict[tuple[str, str], str] = {}


async def read_form(request: Request) -> FormData | None:
    """The submitted form of a POST (and its CSRF token for the check), else None."""
    if request.method in SAFE_METHODS:
        return None
    form = await request.form(max_fields=MAX_FIELDS, max_files=0)
    token = form.get("csrf_token")
    request.state.form_csrf = token if isinstance(token, str) else None
    return form


FormDep = Annotated[FormData | None, Depends(read_form)]


def web_authenticated(request: Request, form: FormDep) -> Authenticated:
    """``api.deps.authenticated`` after the form was read (so its CSRF token counts);
    FastAPI caches it per request, so the session is checked once."""
    return authenticated(request)


WebAuth = Annotated[Authenticated, Depends(web_authenticated)]


#: ``Page.render_form``'s default: the violation of the form's own state.
_SHOWN: Any = object()


@dataclass
class Page:
    """One page request: the caller's principal and service context, the form if any."""

    request: Request
    auth: Authenticated
    ctx: Context
    form: FormData | None
    csrf: str = field(default="")

    @property
    def user(self) -> Principal:
        return self.auth.principal

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def value(self, name: str, default: str = "") -> str:
        """A submitted form value as text ('' when absent)."""
        if self.form is None:
            return default
        value = self.form.get(name)
        return value if isinstance(value, str) else default

    def values(self) -> dict[str, str]:
        """Every submitted text field (first value of each), without the CSRF token."""
        if self.form is None:
            return {}
        return {
            k: v for k, v in self.form.multi_items() if isinstance(v, str) and k != "csrf_token"
        }

    def render(self, name: str, *, status: int = 200, **ctx: Any) -> HTMLResponse:
        return render(
            name,
            status=status,
            user=self.user,
            csrf=self.csrf,
            path=self.request.url.path,
            **ctx,
        )

    def render_form(self, shown: dict[str, Any], *, violation: Any = _SHOWN, **ctx: Any) -> HTMLResponse:  # fmt: skip
        """``form.html`` in the state ``shown`` (``submit.form_state``): its status, values,
        errors and problems; ``violation`` replaces the state's own when given."""
        return self.render(
            "form.html",
            status=shown["status"],
            values=shown["values"],
            errors=shown["errors"],
            other=shown["other"],
            violation=shown["violation"] if violation is _SHOWN else violation,
            **ctx,
        )


async def page_context(request: Request, form: FormDep, auth: WebAuth) -> Page:
    """The ``Page`` of an authenticated request (401/403 otherwise, turned into a redirect
    to the login page or a 403 page by ``talentop.web.errors``)."""
    token, _ = credential(request)
    return Page(request, auth, make_context(request, auth), form, csrf_token(token or ""))


PageDep = Annotated[Page, Depends(page_context)]


def page(method: str, path: str, service: str) -> dict[str, Any]:
    """Route options of a page that calls ``service``: registered in ``PAGE_SERVICES``,
    left out of OpenAPI, and refused with 403 for a role without the service's action
    (before the form is even looked at; the service checks again with the site)."""
    PAGE_SERVICES[(method, path)] = service

    async def permitted(auth: WebAuth) -> None:  # no I/O: on the event loop
        check_role(auth.principal.username, auth.principal.role, service)

    return {"dependencies": [Depends(permitted)], "include_in_schema": False}


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get: a 303 to ``url`` (htmx follows it too)."""
    return RedirectResponse(url, status_code=303)


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (no open redirect), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


__all__ = [
    "SESSION_COOKIE",
    "Page",
    "PageDep",
    "app_state",
    "local_path",
    "page",
    "see_other",
]
