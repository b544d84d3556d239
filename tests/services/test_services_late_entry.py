"""Late data entry after a recorded death (QA round 2 item 3).

Rule: the state machine forbids new treatment arrows once a patient has died, not facts
that happened while the patient was alive. ``states.RETROSPECTIVE_RECORDS`` (assessments,
contacts, doses, labs, imaging, AEs, complications, new therapy, biospecimens) stay
recordable in ``died`` for event dates on or before the death, checked against the state
on that date; later dates are ``InvalidInput`` naming the date and the death date. PFS then
follows FDA 2007 Appendix 3 Table A with the late scan included.
"""

from __future__ import annotations

import pytest

from flow_helpers import (
    assess,
    context,
    day,
    randomised_in_arm,
    statistician,
    surgeon,
    to_randomised,
)
from talentop import services as sv
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.services.states import RETROSPECTIVE_RECORDS

pytestmark = pytest.mark.db

DAYS_PER_MONTH = 365.25 / 12


def pfs(ctx, pseudo_id, cutoff=400):
    frame = sv.derive_endpoints(statistician(ctx), day(cutoff))
    hit = frame[(frame.USUBJID == f"TALENTOP-SH01-{pseudo_id}") & (frame.PARAMCD == "PFS")]
    return hit.iloc[0]


def test_scan_dated_before_the_death_is_accepted_and_used_for_pfs(store):
    """Randomised day 73 (calendar 115, 157, 199; window 7), died day 200, no scan after
    randomisation on record: visits 115 and 157 missed (199's window still open at the
    death) -> more than one missed visit -> PFS censored at randomisation (CNSR 8).
    The day-150 scan showing PD (targets x 1.5 = +50% >= +20%, RECIST 1.1) is then entered:
    accepted; only visit 115 was missed (157's window [150, 164] holds the scan) -> PFS
    event PROGRESSION at day 150, AVAL = (150 - 73) / 30.4375 months."""
    ctx = context(store)
    pid, _ = to_randomised(ctx, "LATE")
    sv.record_death(ctx, pid, day(200), cause="HCC")
    before = pfs(ctx, "LATE")
    assert (before.CNSR, before.EVNTDESC) == (8, "EVENT AFTER MISSED VISITS")
    audited = len(sv.audit_entries(store, limit=10_000))

    result = assess(ctx, pid, 150, shrink=1.5)
    assert result["recist"]["progression_date"] == day(150).isoformat()
    assert result["resectability_flag"] is None  # no MDT flag for a patient who has died
    after = pfs(ctx, "LATE")
    assert (after.CNSR, after.EVNTDESC) == (0, "PROGRESSION")
    assert after.AVAL == pytest.approx((150 - 73) / DAYS_PER_MONTH, abs=1e-9)
    assert sv.patient_summary(ctx, pid)["state"] == "died"
    # Audited as any write, and the chain still verifies.
    assert len(sv.audit_entries(store, limit=10_000)) > audited
    assert sv.verify(store).ok


def test_records_dated_after_the_death_are_refused_naming_both_dates(store):
    """A contact on day 250 for a patient who died on day 200 cannot be true: InvalidInput
    naming the date and the death date. The death day itself is still a day alive."""
    ctx = context(store)
    pid, _ = to_randomised(ctx, "AFTER")
    sv.record_death(ctx, pid, day(200))
    with pytest.raises(
        InvalidInput,
        match=rf"contact_date='{day(250)}': expected on or before the recorded death date "
        rf"\({day(200)}\)",
    ):
        sv.record_follow_up(ctx, pid, day(250), status="alive")
    with pytest.raises(InvalidInput, match=rf"visit_date='{day(201)}'.*death date"):
        assess(ctx, pid, 201)
    with pytest.raises(InvalidInput, match=rf"sampled_on='{day(230)}'.*death date"):
        sv.record_lab(ctx, pid, sampled_on=day(230), test="albumin", value=35, unit="g/L")
    assert sv.record_follow_up(ctx, pid, day(200), status="alive") > 0
    assert sv.record_lab(ctx, pid, sampled_on=day(190), test="albumin", value=35, unit="g/L")
    assert sv.record_adverse_event(
        ctx, pid, day(180), term="Fatigue", grade=2, attribution="possible"
    )
    assert sv.verify(store).ok


def test_late_dose_is_checked_against_the_state_on_its_date(store):
    """Arm B, randomised day 73, died day 200. A continued-treatment dose on day 100 (state
    then: randomised) is accepted; an induction-phase dose on day 100 is refused, because
    the patient was no longer in induction then (state on that date, not 'died')."""
    ctx = context(store)
    pid = randomised_in_arm(ctx, "B")
    sv.record_death(ctx, pid, day(200))
    out = sv.record_dose(
        ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(100)
    )
    assert out["deviations"] == []
    with pytest.raises(ProtocolViolation, match="phase 'induction'.*state 'randomised'"):
        sv.record_dose(
            ctx, pid, cycle=5, drug="atezolizumab", dose_given_mg=1200, given_on=day(100),
            phase="induction",
        )  # fmt: skip


def test_treatment_arrows_stay_refused_after_death(store):
    """New arrows (surgery, MDT, discontinuation...) are not records of the past: refused
    in 'died' whatever their date; only the record services are retrospective."""
    ctx = context(store)
    pid, _ = to_randomised(ctx, "ARROW")
    sv.record_death(ctx, pid, day(200))
    with pytest.raises(ProtocolViolation, match="record_surgery refused.*state 'died'"):
        sv.record_surgery(
            surgeon(ctx), pid, day(150), procedure="x", margin="R0", blood_loss_ml=100
        )
    with pytest.raises(ProtocolViolation, match="record_discontinuation refused.*'died'"):
        sv.record_discontinuation(ctx, pid, day(150), "progression")
    state_changing = {"record_discontinuation", "record_surgery", "randomise", "record_death"}
    assert not (RETROSPECTIVE_RECORDS & state_changing)
