"""Logging in and out in a browser: the session cookie's flags, lock-out and expiry told
plainly (and identically for a username that does not exist), login CSRF, logout and
logout everywhere, password change, TOTP set-up with a server-drawn QR code."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from web_helpers import Browser

from talentop.services import identity
from talentop.store import models as m
from trial_builder import PASSWORD

pytestmark = pytest.mark.db


def test_login_sets_an_httponly_samesite_cookie_and_goes_back_where_asked(web_trial):
    b = Browser(web_trial)
    first = b.get("/patients?site=SH01")
    assert (
        first.status_code == 303 and first.headers["location"] == "/login?why=login&next=/patients"
    )
    response = b.login("coordinator_a", next="/patients")
    assert response.status_code == 303 and response.headers["location"] == "/patients"
    cookie = response.headers["set-cookie"].lower()
    assert "talentop_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; Secure when served over https
    page = b.get("/")
    assert page.status_code == 200 and "coordinator_a" in page.text
    for header, value in (("x-frame-options", "DENY"), ("x-content-type-options", "nosniff")):
        assert page.headers[header] == value
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_secure_cookie_over_https(web_trial):
    from fastapi.testclient import TestClient

    client = TestClient(web_trial.app, base_url="https://testserver", follow_redirects=False)
    form = client.get("/login")
    token = form.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": "coordinator_a", "password": PASSWORD, "login_csrf": token}
    )
    assert response.status_code == 303 and "secure" in response.headers["set-cookie"].lower()


def test_an_open_redirect_is_not_followed(web_trial):
    b = Browser(web_trial)
    assert b.login("coordinator_a", next="//evil.example/x").headers["location"] == "/"


def test_login_without_its_form_token_is_refused(web_trial):
    b = Browser(web_trial)
    response = b.client.post("/login", data={"username": "coordinator_a", "password": PASSWORD})
    assert response.status_code == 403 and "talentop_session" not in response.headers.get("set-cookie", "")  # fmt: skip


def _normalised(html: str) -> str:
    import re

    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_lock_out_is_told_plainly_and_the_same_for_unknown_usernames(web_trial):
    pages = {}
    for username in ("coordinator_a", "nobody_at_all"):
        b = Browser(web_trial)
        texts = []
        for _ in range(identity.MAX_FAILURES + 1):
            response = b.login(username, "wrong password, sorry")
            assert response.status_code == 401
            texts.append(_normalised(response.text))
        assert "Login failed: wrong username, password or code" in texts[0]
        assert "This username is locked" not in texts[0]
        assert "This username is locked for 15 minutes" in texts[-1]
        assert "says nothing about whether the account exists" in texts[-1]
        pages[username] = texts
    # the pages a stranger sees are the same whether or not the account exists
    assert pages["coordinator_a"] == pages["nobody_at_all"]
    # while locked, even the right password does not get in
    assert Browser(web_trial).login("coordinator_a").status_code == 401


def test_expired_session_is_said_plainly(web_trial):
    b = Browser(web_trial)
    b.login("coordinator_a")
    with web_trial.store.unit_of_work() as session:
        for row in session.query(m.AuthSession):
            row.last_seen_at -= dt.timedelta(minutes=31)
    response = b.get("/patients")
    assert response.status_code == 303 and "why=idle" in response.headers["location"]
    page = b.get(response.headers["location"])
    assert "expired after 30 minutes without activity" in page.text


def test_logout_and_logout_everywhere(web_trial):
    one, two = Browser(web_trial), Browser(web_trial)
    one.login("coordinator_a")
    two.login("coordinator_a")
    assert one.post("/logout", csrf=False).status_code == 403  # a form without its token
    assert one.get("/").status_code == 200
    response = one.post("/logout-everywhere")
    assert response.status_code == 303 and "why=everywhere" in response.headers["location"]
    assert one.get("/").status_code == 303 and two.get("/").status_code == 303
    three = Browser(web_trial)
    three.login("coordinator_a")
    assert three.post("/logout").headers["location"] == "/login?why=logout"
    assert three.get("/").status_code == 303


def test_password_change_ends_sessions_and_errors_are_next_to_the_field(web_trial):
    b = Browser(web_trial)
    b.login("coordinator_a")
    wrong = b.post("/account/password", {"current_password": "nope", "new_password": "x" * 20})
    assert wrong.status_code == 422 and "The current password is not right." in wrong.text
    short = b.post("/account/password", {"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = b.post(
        "/account/password", {"current_password": PASSWORD, "new_password": "a much longer phrase"}
    )
    assert done.status_code == 303 and "why=password" in done.headers["location"]
    assert b.get("/").status_code == 303
    assert Browser(web_trial).login("coordinator_a", "a much longer phrase").status_code == 303


def test_totp_set_up_with_a_qr_code_then_required_at_login(web_trial):
    b = Browser(web_trial)
    b.login("coordinator_a")
    page = b.post("/account/totp/setup")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    uri = page.text.split("Address: <code>")[1].split("</code>")[0].replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/")
    wrong = b.post("/account/totp/confirm", {"code": "000000"})
    assert wrong.status_code == 422 and "not the one your app shows" in wrong.text
    page = b.post("/account/totp/setup")
    uri = page.text.split("Address: <code>")[1].split("</code>")[0].replace("&amp;", "&")
    code = pyotp.parse_uri(uri).now()
    assert "Two-factor is on" in b.post("/account/totp/confirm", {"code": code}).text
    assert Browser(web_trial).login("coordinator_a").status_code == 401  # no code
