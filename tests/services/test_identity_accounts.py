"""Identity (issue: who is acting): argon2id passwords, lock-out, sessions, API tokens, TOTP,
and the access/account events ICH E6(R3) asks to be logged (5.2.2 / 4.2.x: logs of access
and of account changes)."""

from __future__ import annotations

import datetime as dt
import json

import pyotp
import pytest

from flow_helpers import PROTOCOL
from talentop import services as sv
from talentop.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from talentop.services import identity
from talentop.services.identity import keys
from talentop.store import models as m
from talentop.store import queries

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery"
T0 = dt.datetime(2026, 6, 1, 9, 0, 0)


class Clock:
    """A settable UTC clock for time-outs and lock-outs."""

    def __init__(self, at: dt.datetime = T0):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture
def trial(store):
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "SH01", "Zhongshan")
    identity.create_account(system, "admin1", "admin", PASSWORD)
    identity.create_account(system, "coord1", "coordinator", PASSWORD, site_code="SH01")
    return system


def events(store, kind=None):
    with store.unit_of_work() as session:
        rows = session.query(m.AuthEvent).order_by(m.AuthEvent.id).all()
        return [(e.kind, e.username, e.detail) for e in rows if kind is None or e.kind == kind]


def test_password_is_stored_as_argon2id_and_never_in_the_audit_trail(store, trial):
    with store.unit_of_work() as session:
        user = queries.user_by_name(session, "coord1")
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    trail = json.dumps(sv.audit_entries(store, limit=10_000))
    assert PASSWORD not in trail and "$argon2id$" not in trail
    assert "sha256:" in trail  # the trail keeps a fingerprint, so a change is still seen
    assert sv.verify(store).ok


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("u1", "short", r"at least 12 characters, got 5"),
        ("longusername1", "LongUsername1", r"other than the username"),
        ("system", PASSWORD, r"not reserved"),
        ("SYSTEM", PASSWORD, r"not reserved"),
        ("has space", PASSWORD, r"letters, digits"),
    ],
)
def test_account_rules(store, trial, username, password, message):
    with pytest.raises(InvalidInput, match=message):
        identity.create_account(trial, username, "coordinator", password)
    with store.unit_of_work() as session:
        assert queries.user_by_name(session, username) is None


def test_login_opens_a_session_stored_hashed(store, trial):
    result = identity.login(store, "coord1", PASSWORD, now=Clock())
    assert result.session_token.startswith("tps_") and len(result.session_token) > 40
    with store.unit_of_work() as session:
        stored = session.query(m.AuthSession).one()
        assert stored.token_hash != result.session_token and len(stored.token_hash) == 64
    assert result.expires_at == T0 + dt.timedelta(hours=12)
    auth = identity.authenticate(store, result.session_token, now=Clock())
    assert (auth.principal.username, auth.principal.role, auth.principal.via) == (
        "coord1",
        "coordinator",
        "session",
    )
    assert ("login", "coord1", None) in events(store)


def test_five_failures_lock_the_account_for_15_minutes_and_the_reason_is_not_told(store, trial):
    clock = Clock()
    messages = set()
    for _ in range(5):
        with pytest.raises(NotAuthenticated) as caught:
            identity.login(store, "coord1", "wrong password!", now=clock)
        messages.add(str(caught.value))
    # Locked: even the right password is refused, with the same message.
    with pytest.raises(NotAuthenticated) as caught:
        identity.login(store, "coord1", PASSWORD, now=clock)
    messages.add(str(caught.value))
    # An unknown user gets the same message too, and is locked the same way.
    for _ in range(6):
        with pytest.raises(NotAuthenticated) as caught:
            identity.login(store, "nobody", PASSWORD, now=clock)
        messages.add(str(caught.value))
    assert len(messages) == 1
    kinds = [(k, u) for k, u, _ in events(store) if k in ("login_failed", "locked")]
    assert kinds.count(("login_failed", "coord1")) == 6 and ("locked", "coord1") in kinds
    assert ("locked", "nobody") in kinds
    reasons = [d for k, u, d in events(store, "login_failed") if u == "coord1"]
    assert reasons[:5] == ["wrong password"] * 5 and reasons[5] == "locked"
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(NotAuthenticated):
        identity.login(store, "coord1", PASSWORD, now=clock)
    clock.advance(seconds=2)
    assert identity.login(store, "coord1", PASSWORD, now=clock).principal.username == "coord1"
    assert sv.verify(store).ok


def test_concurrent_logins_of_one_username_all_count(store, trial):
    """Logins of one username at once (32 API clients of one account): each opens its own
    session, and concurrent failures are all counted (the throttle row is created once
    and locked, not read and written back by each: 8 wrong passwords at once lock the
    account). Before, the second first login failed on the throttle row's primary key."""
    from concurrent.futures import ThreadPoolExecutor

    clock = Clock()
    with ThreadPoolExecutor(8) as pool:
        tokens = list(
            pool.map(lambda _: identity.login(store, "coord1", PASSWORD, now=clock), range(8))
        )
    assert len({t.session_token for t in tokens}) == 8

    def wrong(_):
        with pytest.raises(NotAuthenticated):
            identity.login(store, "admin1", "wrong password!", now=clock)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(wrong, range(8)))
    reasons = [d for k, u, d in events(store, "login_failed") if u == "admin1"]
    assert sorted(reasons) == ["locked"] * 3 + ["wrong password"] * 5
    with pytest.raises(NotAuthenticated):
        identity.login(store, "admin1", PASSWORD, now=clock)
    assert sv.verify(store).ok


def test_session_idle_and_absolute_time_outs_and_logout(store, trial):
    clock = Clock()
    token = identity.login(store, "coord1", PASSWORD, now=clock).session_token
    clock.advance(minutes=29)
    identity.authenticate(store, token, now=clock)  # activity keeps it alive
    clock.advance(minutes=29)
    identity.authenticate(store, token, now=clock)
    clock.advance(minutes=30)
    with pytest.raises(NotAuthenticated, match="30 minutes without activity"):
        identity.authenticate(store, token, now=clock)
    # Absolute: active every 20 minutes, still ends at 12 hours.
    token = identity.login(store, "coord1", PASSWORD, now=clock).session_token
    for _ in range(35):
        clock.advance(minutes=20)
        identity.authenticate(store, token, now=clock)
    clock.advance(minutes=20)
    with pytest.raises(NotAuthenticated, match="12 hours"):
        identity.authenticate(store, token, now=clock)
    token = identity.login(store, "coord1", PASSWORD, now=clock).session_token
    assert identity.logout(store, token, now=clock) is True
    with pytest.raises(NotAuthenticated, match="logged out or revoked"):
        identity.authenticate(store, token, now=clock)
    assert identity.logout(store, token, now=clock) is False
    assert ("logout", "coord1", None) in events(store)


def test_api_tokens_are_shown_once_hashed_expire_and_revoke(store, trial):
    clock = Clock()
    coord = sv.Context(store, PROTOCOL, "coord1", now=clock)
    created = identity.create_token(coord, "lab-import", expires_in_days=30)
    token = created["token"]
    assert token.startswith("tpt_")
    listed = identity.list_tokens(coord)
    assert "token" not in listed[0] and listed[0]["prefix"] == token[:10]
    assert listed[0]["last_used_at"] is None
    clock.advance(days=1)
    assert identity.authenticate(store, token, now=clock).principal.via == "token"
    assert identity.list_tokens(coord)[0]["last_used_at"].startswith("2026-06-02")
    clock.advance(days=30)
    with pytest.raises(NotAuthenticated, match="expired"):
        identity.authenticate(store, token, now=clock)
    token2 = identity.create_token(coord, "second")["token"]
    identity.revoke_token(coord, identity.list_tokens(coord)[0]["token_id"])
    with pytest.raises(NotAuthenticated, match="revoked"):
        identity.authenticate(store, token2, now=clock)
    with store.unit_of_work() as session:
        for row in session.query(m.ApiToken):
            assert row.token_hash not in (token, token2)
    trail = json.dumps(sv.audit_entries(store, limit=10_000))
    assert token not in trail and token2 not in trail
    assert [k for k, *_ in events(store) if k.startswith("token")] == [
        "token_created",
        "token_created",
        "token_revoked",
    ]
    # A coordinator manages only their own tokens.
    with pytest.raises(PermissionDenied, match="only their own"):
        identity.create_token(coord, "x", username="admin1")
    assert sv.verify(store).ok


def test_disable_password_and_role_changes_end_sessions(store, trial):
    clock = Clock()
    admin = sv.Context(store, PROTOCOL, "admin1", now=clock)
    token = identity.login(store, "coord1", PASSWORD, now=clock).session_token
    identity.set_active(admin, "coord1", False)
    with pytest.raises(NotAuthenticated):
        identity.authenticate(store, token, now=clock)
    with pytest.raises(NotAuthenticated):
        identity.login(store, "coord1", PASSWORD, now=clock)
    with pytest.raises(PermissionDenied, match="disabled"):
        sv.list_patients(sv.Context(store, PROTOCOL, "coord1"))
    identity.set_active(admin, "coord1", True)
    token = identity.login(store, "coord1", PASSWORD, now=clock).session_token
    identity.change_role(admin, "coord1", role="investigator")
    with pytest.raises(NotAuthenticated):
        identity.authenticate(store, token, now=clock)
    coord = sv.Context(store, PROTOCOL, "coord1", now=clock)
    with pytest.raises(NotAuthenticated, match="current password is wrong"):
        identity.change_password(coord, "a new long password", current_password="nope")
    identity.change_password(coord, "a new long password", current_password=PASSWORD)
    identity.login(store, "coord1", "a new long password", now=clock)
    kinds = [k for k, *_ in events(store)]
    for kind in ("account_disabled", "account_enabled", "role_changed", "password_changed"):
        assert kind in kinds
    # Only an admin manages accounts.
    with pytest.raises(PermissionDenied, match="manage_trial"):
        identity.set_active(coord, "admin1", False)
    assert sv.verify(store).ok


def test_totp_set_up_confirm_login_and_replay(store, trial, tmp_path, monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(tmp_path / "server.key"))
    clock = Clock()
    coord = sv.Context(store, PROTOCOL, "coord1", now=clock)
    setup = identity.begin_totp_setup(coord)
    seed = setup["secret"]
    assert setup["otpauth_uri"].startswith("otpauth://totp/talentop:coord1")
    with store.unit_of_work() as session:
        stored = queries.user_by_name(session, "coord1").totp_secret_enc
        assert stored and seed not in stored
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600
    code = pyotp.TOTP(seed).at(clock.at.replace(tzinfo=dt.UTC))
    with pytest.raises(InvalidInput, match="6-digit code"):
        identity.confirm_totp(coord, "000000" if code != "000000" else "111111")
    identity.confirm_totp(coord, code)
    # The password alone no longer logs in; password + current code does, once.
    with pytest.raises(NotAuthenticated):
        identity.login(store, "coord1", PASSWORD, now=clock)
    clock.advance(seconds=30)
    code = pyotp.TOTP(seed).at(clock.at.replace(tzinfo=dt.UTC))
    identity.login(store, "coord1", PASSWORD, totp=code, now=clock)
    with pytest.raises(NotAuthenticated):
        identity.login(store, "coord1", PASSWORD, totp=code, now=clock)  # replayed
    assert "TOTP code missing" in [d for k, _, d in events(store, "login_failed")]
    assert sv.verify(store).ok


def test_role_policy_requires_totp_set_up_first(store, trial, tmp_path, monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(tmp_path / "server.key"))
    identity.set_role_policy(
        sv.Context(store, PROTOCOL, "admin1"), "coordinator", require_totp=True
    )
    clock = Clock()
    result = identity.login(store, "coord1", PASSWORD, now=clock)
    assert result.totp_setup_required
    assert identity.authenticate(store, result.session_token, now=clock).totp_setup_only
    coord = sv.Context(store, PROTOCOL, "coord1", now=clock)
    seed = identity.begin_totp_setup(coord)["secret"]
    identity.confirm_totp(coord, pyotp.TOTP(seed).at(clock.at.replace(tzinfo=dt.UTC)))
    assert not identity.authenticate(store, result.session_token, now=clock).totp_setup_only


def test_system_is_never_a_login(store, trial):
    with pytest.raises(NotAuthenticated):
        identity.login(store, "system", "")
    with pytest.raises(NotAuthenticated):
        identity.authenticate(store, "system")


def test_production_hash_profile_is_rfc9106_argon2id():
    """The suite runs with the cheapest profile (tests/conftest.py); a server without the
    variable uses argon2-cffi's RFC 9106 low-memory argon2id profile (m=64 MiB, t=3, p=4)."""
    import subprocess
    import sys

    code = (
        "from talentop.services.identity import passwords as p; h = p.hash_password('x' * 12);"
        "print(p.PROFILE, h.split('$')[1], h.split('$')[3])"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "TALENTOP_PASSWORD_PROFILE"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["rfc9106_low_memory", "argon2id", "m=65536,t=3,p=4"]


def test_a_monitor_is_created_with_the_sites_they_read_in_one_transaction(store, trial):
    """`user add mon --role monitor --assign-sites SH01`: the monitor reads SH01 from the
    first login; an unknown site creates nothing (one transaction)."""
    sv.create_site(trial, "BJ02", "Beijing")
    identity.create_account(trial, "mon1", "monitor", PASSWORD, assigned_sites=["SH01"])
    users = {u["username"]: u for u in sv.list_users(trial).items}
    assert users["mon1"]["assigned_sites"] == ["SH01"]
    with pytest.raises(NotFound, match="XX9"):
        identity.create_account(trial, "mon2", "monitor", PASSWORD, assigned_sites=["XX9"])
    assert "mon2" not in {u["username"] for u in sv.list_users(trial).items}
