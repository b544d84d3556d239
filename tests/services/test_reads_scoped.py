"""Reads are permission-checked and scoped (issue: who is acting): site staff see their
site, monitors their assigned sites, MDT members the patients awaiting a review, the
statistician every site without free text; lists filter, sort and page in SQL."""

from __future__ import annotations

import pytest

from flow_helpers import (
    CRITERIA_YES,
    PROTOCOL,
    VOTES_YES,
    context,
    day,
    mdt,
    register,
    to_assessed,
    to_induction,
)
from talentop import services as sv
from talentop.errors import InvalidInput, NotFound, PermissionDenied
from talentop.services import identity
from talentop.services.permissions import READ_SCOPE, ROLES

pytestmark = pytest.mark.db


@pytest.fixture
def two_sites(store):
    """Site SH01 (patients P001 induction, P002 assessed) and BJ02 (B001 registered,
    B002 assessed); one user per role at SH01, a coordinator at BJ02, a monitor of BJ02."""
    ctx = context(store)
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "BJ02", "Beijing")
    for role in ROLES:
        sv.create_user(
            system,
            f"{role}_sh",
            role,
            site_code=None
            if role in ("mdt_member", "statistician", "admin", "monitor")
            else "SH01",
        )
    sv.create_user(system, "coord_bj", "coordinator", site_code="BJ02")
    sv.create_user(system, "inv_bj", "investigator", site_code="BJ02")
    identity.change_role(system, "monitor_sh", assigned_sites=["SH01"])
    ids = {
        "P001": to_induction(ctx, "P001"),
        "P002": to_assessed(ctx, "P002"),
    }
    bj = sv.Context(store, PROTOCOL, "inv_bj")
    ids["B001"] = sv.register_patient(bj, "BJ02", "B001", registered_on=day(-30))
    from flow_helpers import LESIONS
    from patient_records import ELIGIBLE

    pid = register(bj, "BJ02", "B002", day(-14))
    sv.screen_patient(bj, pid, ELIGIBLE, day(-7))
    sv.record_lesions_baseline(bj, pid, day(-7), LESIONS)
    sv.start_induction(bj, pid, day(0))
    from flow_helpers import assess, give_induction

    give_induction(bj, pid)
    assess(bj, pid, 70, 0.6)
    sv.complete_assessment(bj, pid, day(71))
    ids["B002"] = pid
    return ctx, ids


def as_(ctx, name):
    return sv.Context(ctx.store, PROTOCOL, name)


def visible(ctx, name):
    return {p["pseudo_id"] for p in sv.list_patients(as_(ctx, name), limit=500).items}


def test_who_sees_which_patients(two_sites):
    ctx, ids = two_sites
    everyone = {"P001", "P002", "B001", "B002"}
    assert visible(ctx, "coordinator_sh") == {"P001", "P002"}
    assert visible(ctx, "investigator_sh") == {"P001", "P002"}
    assert visible(ctx, "coord_bj") == {"B001", "B002"}
    assert visible(ctx, "monitor_sh") == {"P001", "P002"}
    # MDT members: patients awaiting a review at any site (assessed, no decision yet).
    assert visible(ctx, "mdt_member_sh") == {"P002", "B002"}
    assert visible(ctx, "statistician_sh") == everyone
    assert visible(ctx, "admin_sh") == everyone
    assert READ_SCOPE["monitor"] == "assigned"
    for name, pid in (("coord_bj", ids["P001"]), ("coordinator_sh", ids["B001"])):
        with pytest.raises(PermissionDenied, match="belongs to another site"):
            sv.patient_summary(as_(ctx, name), pid)
        with pytest.raises(PermissionDenied):
            sv.patient_timeline(as_(ctx, name), pid)
        with pytest.raises(PermissionDenied):
            sv.audit_history(as_(ctx, name), patient_id=pid)
    with pytest.raises(PermissionDenied, match="not awaiting an MDT review"):
        sv.patient_summary(as_(ctx, "mdt_member_sh"), ids["P001"])
    # Once decided, the patient leaves the MDT member's view.
    sv.record_mdt_review(mdt(ctx), ids["B002"], day(72), VOTES_YES)
    assert visible(ctx, "mdt_member_sh") == {"P002"}
    # An unknown user reads nothing.
    with pytest.raises(NotFound, match="no user named 'ghost'"):
        sv.list_patients(as_(ctx, "ghost"))
    with pytest.raises(PermissionDenied, match="may not read site 'BJ02'"):
        sv.list_patients(as_(ctx, "coordinator_sh"), site="BJ02")


def test_list_filters_sorts_and_pages(two_sites):
    ctx, ids = two_sites
    admin = as_(ctx, "admin_sh")
    page = sv.list_patients(admin, sort="pseudo_id", limit=2, offset=1)
    assert [p["pseudo_id"] for p in page.items] == ["B002", "P001"] and page.total == 4
    assert sv.list_patients(admin, state="assessed").total == 2
    assert sv.list_patients(admin, state=["assessed", "registered"]).total == 3
    assert [
        p["pseudo_id"]
        for p in sv.list_patients(
            admin, q="00", site="BJ02", sort="pseudo_id", descending=True
        ).items
    ] == ["B002", "B001"]
    assert sv.list_patients(admin, q="%").total == 0  # LIKE wildcards are literal
    with pytest.raises(InvalidInput, match="state="):
        sv.list_patients(admin, state="nonsense")
    with pytest.raises(InvalidInput, match="limit=501"):
        sv.list_patients(admin, limit=501)


def test_statistician_reads_pseudonymised(two_sites):
    ctx, ids = two_sites
    sv.decline_randomisation(ctx, ids["P002"], day(73), "patient preference: called Mrs Wang")
    stats = as_(ctx, "statistician_sh")
    history = sv.patient_summary(stats, ids["P002"])["history"]
    assert all("reason" not in step for step in history)
    timeline = sv.patient_timeline(stats, ids["P002"])
    assert "Mrs Wang" not in str(timeline)
    assert "Mrs Wang" in str(sv.patient_timeline(ctx, ids["P002"]))
    with pytest.raises(PermissionDenied, match="record_data"):
        sv.record_follow_up(stats, ids["P002"], day(80))


def test_timeline_names_who_entered_each_record_and_when(two_sites):
    ctx, ids = two_sites
    timeline = sv.patient_timeline(ctx, ids["P002"])
    kinds = {r["kind"] for r in timeline["records"]}
    assert {
        "patients",
        "screenings",
        "screening_criteria",
        "lesions",
        "drug_administrations",
        "assessment_visits",
        "lesion_measurements",
        "response_assessments",
    } <= kinds
    assert all(r["entered_by"] == "inv1" and r["entered_at"] for r in timeline["records"])
    dates = [r["date"] for r in timeline["records"] if r["date"]]
    assert dates == sorted(dates)


def test_a_response_assessment_is_dated_by_its_visit(two_sites):
    """A response's only date column is its progression date (empty until progression):
    read as the record's date it sorted every response before the registration and the
    patient page showed "None" as its visit. It takes its visit's date."""
    ctx, ids = two_sites
    records = sv.patient_timeline(ctx, ids["P002"])["records"]
    visits = {r["id"]: r["date"] for r in records if r["kind"] == "assessment_visits"}
    responses = [r for r in records if r["kind"] == "response_assessments"]
    assert responses and visits
    for response in responses:
        assert response["date"] == visits[response["data"]["visit_id"]]
    assert all(r["date"] for r in responses)
    order = [r["kind"] for r in records]
    assert order.index("assessment_visits") < order.index("response_assessments")
    dates = [r["date"] for r in records if r["date"]]
    assert dates == sorted(dates)


def test_screening_log_funnel_recruitment_queue(two_sites):
    ctx, ids = two_sites
    from patient_records import ELIGIBLE

    pid = register(ctx, "SH01", "F001", day(-3))
    sv.screen_patient(ctx, pid, {**ELIGIBLE, "ecog": 3}, day(-2))
    log = sv.screening_log(ctx)
    failed = [row for row in log.items if row["verdict"] != "eligible"]
    assert len(failed) == 1 and failed[0]["failed"][0]["criterion"] == "ecog_0_1"
    assert log.total == 3  # SH01 only: P001, P002, F001
    funnel = sv.consort_funnel(as_(ctx, "admin_sh"))
    assert funnel["registered"] == 5 and funnel["screened"] == 4 and funnel["screen_failed"] == 1
    assert funnel["induction"] == 3 and funnel["assessed"] == 2
    assert sv.consort_funnel(ctx)["registered"] == 3  # the investigator's site only
    recruitment = sv.recruitment(as_(ctx, "admin_sh"))
    assert recruitment["total"] == 5 and set(recruitment["sites"]) == {"SH01", "BJ02"}
    assert sum(recruitment["per_month"]) == 5
    queue = sv.mdt_queue(as_(ctx, "mdt_member_sh"))
    assert {q["pseudo_id"] for q in queue} == {"P002", "B002"}
    assert all(q["votes_needed"] == 3 for q in queue)


def test_overdue_doses_and_scans(two_sites):
    ctx, ids = two_sites
    # P001 started induction on day 0 without a dose: due day 0, window 3 days.
    late = sv.overdue(ctx, on=day(10))
    assert {(r["pseudo_id"], r["kind"]) for r in late} >= {("P001", "dose")}
    row = next(r for r in late if r["pseudo_id"] == "P001" and r["kind"] == "dose")
    assert row["due_on"] == day(0).isoformat() and row["days_overdue"] == 10
    assert not [
        r for r in sv.overdue(ctx, on=day(3)) if r["pseudo_id"] == "P001" and r["kind"] == "dose"
    ]


def test_cast_vote_each_member_own_ballot_until_quorum(two_sites):
    ctx, ids = two_sites
    system = sv.Context(ctx.store, PROTOCOL, "system")
    members = [
        ("m_surg", "hepatobiliary_surgeon"),
        ("m_onc", "hepatologist_or_oncologist"),
        ("m_rad", "radiologist"),
    ]
    for name, specialty in members:
        sv.create_user(system, name, "mdt_member", specialty=specialty)
    pid = ids["P002"]
    first = sv.cast_mdt_vote(
        as_(ctx, "m_surg"), pid, day(72), resectable=True, reason="R0", criteria=CRITERIA_YES
    )
    assert not first["decided"] and first["votes_cast"] == 1
    with pytest.raises(InvalidInput, match="one vote per member"):
        sv.cast_mdt_vote(
            as_(ctx, "m_surg"),
            pid,
            day(72),
            resectable=False,
            reason="again",
            criteria=CRITERIA_YES,
        )
    with pytest.raises(PermissionDenied, match="'vote'"):
        sv.cast_mdt_vote(
            ctx, pid, day(72), resectable=True, reason="investigator", criteria=CRITERIA_YES
        )
    sv.cast_mdt_vote(
        as_(ctx, "m_onc"), pid, day(72), resectable=True, reason="PR", criteria=CRITERIA_YES
    )
    last = sv.cast_mdt_vote(
        as_(ctx, "m_rad"), pid, day(72), resectable=False, reason="thrombus", criteria=CRITERIA_YES
    )
    assert last["decided"], last["still_needed"]
    assert last["resectable"] and last["votes_resectable"] == 2
    assert sv.randomise(ctx, pid, day(73))["arm"] in ("A", "B")
    assert sv.verify(ctx.store).ok


def test_inputs_are_validated_not_type_errors(two_sites):
    ctx, ids = two_sites
    pid = ids["P001"]
    result = sv.record_dose(
        ctx,
        pid,
        cycle="1",
        drug="bevacizumab",
        dose_given_mg="1050",
        given_on=day(0).isoformat(),
        weight_kg="70",
    )
    assert result["dose_computed_mg"] == pytest.approx(1050.0)
    for kwargs, field in (
        (dict(weight_kg="seventy"), "weight_kg"),
        (dict(weight_kg=float("nan")), "weight_kg"),
        (dict(cycle=[1]), "cycle"),
        (dict(given_on=12), "given_on"),
    ):
        args = dict(cycle=2, drug="atezolizumab", dose_given_mg=1200, given_on=day(21))
        args.update(kwargs)
        with pytest.raises(InvalidInput, match=field):
            sv.record_dose(ctx, pid, **args)
    assert sv.register_patient(ctx, "SH01", "Y1", registered_on=day(0), birth_year="1960")
    with pytest.raises(InvalidInput, match="birth_year"):
        sv.register_patient(ctx, "SH01", "Y2", registered_on=day(0), birth_year="nineteen")
    with pytest.raises(InvalidInput, match="patient_id"):
        sv.patient_summary(ctx, "abc")
    with pytest.raises(InvalidInput, match="wrong shape|lesions"):
        sv.record_lesions_baseline(ctx, ids["P001"], day(0), [{"id": "T9"}])
    with pytest.raises(InvalidInput):
        sv.record_mdt_review(mdt(ctx), ids["P002"], day(72), [{"member": 1}])


def test_a_caller_owned_transaction_commits_all_or_nothing(two_sites):
    ctx, ids = two_sites
    store = ctx.store
    before = sv.verify(store).rows
    with pytest.raises(InvalidInput):
        with store.transaction():
            sv.record_follow_up(ctx, ids["P002"], day(80))
            sv.record_follow_up(ctx, ids["P002"], "not a date")
    assert sv.verify(store).rows == before
    with store.transaction():
        sv.record_follow_up(ctx, ids["P002"], day(80))
        try:  # one call may fail alone inside (a savepoint); the caller decides
            sv.record_follow_up(ctx, 999_999, day(80))
        except NotFound:
            pass
        sv.record_follow_up(ctx, ids["P002"], day(81))
    assert sv.verify(store).rows > before and sv.verify(store).ok


def test_idempotent_create_returns_the_first_result(two_sites):
    from talentop.services.idempotency import once

    ctx, ids = two_sites
    system = sv.Context(ctx.store, PROTOCOL, "system")
    sv.record_mdt_review(mdt(ctx), ids["P002"], day(72), VOTES_YES)
    calls = []

    def run():
        calls.append(1)
        return sv.randomise(ctx, ids["P002"], day(73))

    first, replayed = once(ctx, "key-1", "randomise", {"p": 1}, run)
    again, replayed_again = once(ctx, "key-1", "randomise", {"p": 1}, run)
    assert (replayed, replayed_again) == (False, True) and first == again and len(calls) == 1
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        once(ctx, "key-1", "randomise", {"p": 2}, run)
    assert system is not None and sv.verify(ctx.store).ok
