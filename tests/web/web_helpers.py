"""Helpers of the page tests: the API tests' trial (two sites, one login per role) and a
browser-like client that logs in through the login form and keeps its session cookie."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from trial_builder import PASSWORD, ApiTrial

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


class Browser:
    """A TestClient that logs in like a person: the login form, then the session cookie."""

    def __init__(self, trial: ApiTrial):
        self.trial = trial
        self.client = TestClient(trial.app, raise_server_exceptions=False, follow_redirects=False)
        self.csrf: str | None = None

    def login(self, username: str, password: str = PASSWORD, **extra):
        page = self.client.get("/login")
        token = LOGIN_CSRF.search(page.text).group(1)
        response = self.client.post(
            "/login",
            data={"username": username, "password": password, "login_csrf": token, **extra},
        )
        if response.status_code == 303:
            home = self.client.get("/account")
            match = CSRF.search(home.text)
            self.csrf = match.group(1) if match else None
        return response

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kw):
        body = dict(data or {})
        if csrf and self.csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.client.post(url, data=body, **kw)
