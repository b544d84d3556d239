"""Roles and sites (services.permissions): each write call is refused to a role that does
not grant its action, and to a user of another site; "system" and admin may do all."""

from __future__ import annotations

import pytest

from flow_helpers import PROTOCOL, VOTES_YES, context, day, mdt, surgeon, to_assessed
from talentop import services as sv
from talentop.errors import InvalidInput, NotFound, PermissionDenied
from talentop.services.permissions import (
    ACTIONS,
    ROLE_ACTIONS,
    ROLES,
    SCOPED_BY_READ,
    SERVICE_ACTIONS,
    WRITE_ACTIONS,
    allowed,
)
from talentop.services.states import ARROWS
from talentop.store import models as m
from talentop.store import queries

pytestmark = pytest.mark.db


def test_table_covers_every_write_call_and_every_arrow():
    """Every arrow of the state machine and every write in the public API names an action."""
    assert set(ARROWS) <= set(SERVICE_ACTIONS)
    assert set(SERVICE_ACTIONS) <= set(sv.__all__)
    assert set(SERVICE_ACTIONS.values()) == set(ACTIONS)
    assert ROLE_ACTIONS["admin"] == frozenset(ACTIONS)
    # The brief's table: coordinators register/screen/record; investigators also randomise
    # and discontinue; MDT members vote; surgeons operate.
    assert {a for a in WRITE_ACTIONS if allowed("coordinator", a)} == {
        "register",
        "screen",
        "record_data",
    }
    assert {"randomise", "discontinue"} <= ROLE_ACTIONS["investigator"]
    assert ROLE_ACTIONS["mdt_member"] & set(WRITE_ACTIONS) == {"vote", "sign"}
    assert "surgery" in ROLE_ACTIONS["surgeon"]
    # Monitors and statisticians never write clinical data (issue: who is acting); their
    # writes are data management (queries, SDV, signatures).
    for reader in ("monitor", "statistician"):
        assert not ROLE_ACTIONS[reader] & (set(WRITE_ACTIONS) - SCOPED_BY_READ)
    assert not allowed("no_such_role", "record_data")


def user(ctx, name, role, site_code=None):
    sv.create_user(sv.Context(ctx.store, PROTOCOL, "system"), name, role, site_code=site_code)
    return sv.Context(ctx.store, PROTOCOL, name)


def audit_rows(store):
    return sv.verify(store).rows


def test_roles_are_refused_actions_they_do_not_grant(store):
    ctx = context(store)
    coordinator = user(ctx, "coord1", "coordinator", "SH01")
    pid = to_assessed(ctx)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    # A coordinator records data but does not randomise; nothing is written when refused.
    sv.record_lab(coordinator, pid, sampled_on=day(72), test="albumin", value=38, unit="g/L")
    rows = audit_rows(store)
    with pytest.raises(
        PermissionDenied,
        match=r"randomise refused: user 'coord1' has role 'coordinator'.*'randomise'.*"
        r"\['admin', 'investigator'\]",
    ):
        sv.randomise(coordinator, pid, day(73))
    assert audit_rows(store) == rows and sv.patient_summary(ctx, pid)["arm"] is None
    # An MDT member votes but does not operate; an investigator does not vote.
    with pytest.raises(PermissionDenied, match="record_surgery refused: user 'mdt1'.*'surgery'"):
        sv.record_surgery(mdt(ctx), pid, day(110), procedure="x", margin="R0", blood_loss_ml=1)
    with pytest.raises(PermissionDenied, match="record_mdt_review refused: user 'inv1'.*'vote'"):
        sv.record_mdt_review(ctx, pid, day(72), VOTES_YES)
    with pytest.raises(PermissionDenied, match="create_site refused: user 'inv1'.*manage_trial"):
        sv.create_site(ctx, "SH02", "Other")
    # The surgeon may record data (a lab) but not randomise.
    sv.record_lab(surgeon(ctx), pid, sampled_on=day(72), test="bilirubin", value=15, unit="umol/L")
    with pytest.raises(PermissionDenied, match="role 'surgeon'"):
        sv.randomise(surgeon(ctx), pid, day(73))
    assert sv.randomise(ctx, pid, day(73))["arm"] in ("A", "B")


def test_users_act_only_on_their_own_site(store):
    ctx = context(store)
    sv.create_site(sv.Context(store, PROTOCOL, "system"), "BJ02", "Beijing", country="CN")
    other = user(ctx, "inv_bj", "investigator", "BJ02")
    with pytest.raises(
        PermissionDenied, match="register_patient refused: user 'inv_bj' belongs to site 'BJ02'"
    ):
        sv.register_patient(other, "SH01", "X1", registered_on=day(0))
    pid = sv.register_patient(ctx, "SH01", "X1", registered_on=day(0))
    for call in (
        lambda: sv.record_follow_up(other, pid, day(5)),
        lambda: sv.record_lab(other, pid, sampled_on=day(5), test="albumin", value=38, unit="g/L"),
        lambda: sv.record_deviation(other, pid, day(5), category="x", description="y"),
    ):
        with pytest.raises(PermissionDenied, match="the patient to site 'SH01'"):
            call()
    # An admin without a site acts everywhere; "system" needs no user row.
    admin = user(ctx, "boss", "admin")
    sv.record_deviation(
        admin,
        pid,
        day(5),
        category="informed_consent",
        description="late signature",
        preventive_action="consent checklist before screening",
    )
    sv.record_deviation(
        sv.Context(store, PROTOCOL, "system"), pid, day(6), category="other", description="y"
    )
    with store.unit_of_work() as session:
        assert len(queries.rows_for(session, m.ProtocolDeviation, pid)) == 2
    with pytest.raises(NotFound, match="no user named 'ghost'"):
        sv.record_lab(
            sv.Context(store, PROTOCOL, "ghost"),
            pid,
            sampled_on=day(5),
            test="albumin",
            value=38,
            unit="g/L",
        )


def test_every_role_can_be_created_and_unknown_roles_are_refused(store):
    ctx = context(store)
    for role in ROLES:
        user(ctx, f"u_{role}", role)
    with pytest.raises(InvalidInput, match=r"role='nurse': expected one of"):
        user(ctx, "n1", "nurse")
