"""The patient's path (design.md): every allowed arrow, forbidden arrows, rollback on error."""

from __future__ import annotations

import pytest

from flow_helpers import (
    LESIONS,
    PROTOCOL,
    VOTES_YES,
    assess,
    context,
    day,
    give_induction,
    mdt,
    randomised_in_arm,
    register,
    surgeon,
    to_assessed,
    to_induction,
    to_randomised,
)
from talentop import services as sv
from talentop.errors import InvalidInput, NotFound, ProtocolViolation
from talentop.store import models as m
from talentop.store import queries

pytestmark = pytest.mark.db


def state(ctx, pid):
    return sv.patient_summary(ctx, pid)["state"]


def table_counts(store):
    with store.unit_of_work() as session:
        return {
            model.__tablename__: queries.count(session, model)
            for model in (
                m.Patient,
                m.StateChange,
                m.AuditEntry,
                m.DrugAdministration,
                m.Surgery,
                m.Randomisation,
            )
        }


def test_path_to_randomisation_records_each_arrow_in_history(store):
    ctx = context(store)
    pid, arm = to_randomised(ctx)
    summary = sv.patient_summary(ctx, pid)
    assert summary["state"] == "randomised" and summary["arm"] == arm in ("A", "B")
    assert [h["to"] for h in summary["history"]] == [
        "registered",
        "screened",
        "induction",
        "assessed",
        "randomised",
    ]
    assert sv.verify(store).ok


def test_screen_failure_and_incomplete_record(store):
    ctx = context(store)
    failed = register(ctx, "SH01", "F1", day(-14))
    out = sv.screen_patient(
        ctx, failed, {**__import__("flow_helpers").ELIGIBLE, "ecog": 2}, day(-7)
    )
    assert out["state"] == "screen_failed" and out["verdict"] == "ineligible"
    assert "ecog_0_1" in sv.patient_summary(ctx, failed)["history"][-1]["reason"]
    incomplete = register(ctx, "SH01", "F2", day(-14))
    before = table_counts(store)
    with pytest.raises(InvalidInput, match="criterion ecog_0_1: missing"):
        sv.screen_patient(ctx, incomplete, {"hcc_confirmed": True}, day(-7))
    assert table_counts(store) == before
    with pytest.raises(
        ProtocolViolation, match="start_induction refused.*'screen_failed'.*rule: induction starts"
    ):
        sv.start_induction(ctx, failed, day(0))


def test_progression_after_induction_ends_before_randomisation(store):
    ctx = context(store)
    pid = to_induction(ctx)
    assess(ctx, pid, 42, shrink=1.3)  # +30% -> PD
    out = sv.complete_assessment(ctx, pid, day(43))
    assert out["state"] == "not_randomised" and out["best_overall_response"] == "PD"
    # Follow-up continues for not-randomised patients.
    sv.record_follow_up(ctx, pid, day(120))
    with pytest.raises(ProtocolViolation, match="randomise refused.*'not_randomised'"):
        sv.randomise(ctx, pid, day(50))


def test_sd_then_progression_at_the_end_of_induction_is_not_randomised(store):
    """SD at week 6 (-10%, 49 days after baseline >= min_sd_days 42) then PD at the
    end-of-induction scan (110 mm >= 1.2 x nadir 90 and +20 mm): the best overall response is
    SD, but the disease progressed before the decision, so the patient is not a PR/SD
    patient to randomise (found by the demo: randomised patients with TTF 0)."""
    ctx = context(store)
    pid = to_induction(ctx)
    give_induction(ctx, pid)
    assess(ctx, pid, 42, shrink=0.9)
    result = assess(ctx, pid, 70, shrink=1.1)
    assert result["recist"]["best_overall_response"] == "SD"
    assert result["recist"]["progression_date"] == day(70).isoformat()
    out = sv.complete_assessment(ctx, pid, day(71))
    assert out["state"] == "not_randomised" and out["best_overall_response"] == "SD"
    assert f"progressed on {day(70).isoformat()}" in out["reason"]


def test_incomplete_induction_cannot_close(store):
    ctx = context(store)
    pid = to_induction(ctx)
    assess(ctx, pid, 42)
    with pytest.raises(
        ProtocolViolation, match=r"induction cycles \[1, 2, 3, 4\] not recorded.*state 'induction'"
    ):
        sv.complete_assessment(ctx, pid, day(43))


def test_decline_and_mdt_negative_lead_to_not_randomised(store):
    ctx = context(store)
    declined = to_assessed(ctx, "D1")
    sv.decline_randomisation(ctx, declined, day(75), "patient withdrew consent")
    assert state(ctx, declined) == "not_randomised"
    rejected = to_assessed(ctx, "D2")
    votes = [dict(v, resectable=False) for v in VOTES_YES]
    out = sv.record_mdt_review(mdt(ctx), rejected, day(72), votes)
    assert out["resectable"] is False and state(ctx, rejected) == "not_randomised"


def test_arm_a_surgery_maintenance_and_failure(store):
    ctx = context(store)
    pid = randomised_in_arm(ctx, "A")
    out = sv.record_surgery(
        surgeon(ctx),
        pid,
        day(110),
        procedure="right hemihepatectomy",
        margin="R0",
        blood_loss_ml=450,
    )
    assert out["days_after_bevacizumab"] == 110 - 42 and state(ctx, pid) == "operated"
    sv.record_complication(
        surgeon(ctx), pid, day(115), description="bile leak", clavien_dindo="IIIa"
    )
    sv.record_biospecimen(
        ctx, pid, day(110), specimen_type="tissue_tumour", pathological_necrosis_pct=70
    )
    sv.start_maintenance(ctx, pid, day(140))
    assert state(ctx, pid) == "maintenance"
    sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(140))
    sv.record_adverse_event(
        ctx, pid, day(150), term="Hypertension", grade=3, attribution="probable"
    )
    assert sv.record_discontinuation(ctx, pid, day(300), "progression") == "treatment_failed"
    sv.record_death(ctx, pid, day(400), cause="HCC")
    assert state(ctx, pid) == "died"
    with pytest.raises(
        ProtocolViolation, match="record_death refused.*'died'.*a patient dies once"
    ):
        sv.record_death(ctx, pid, day(401))
    # A fact dated after the death is wrong data (InvalidInput naming both dates); facts
    # dated before it stay recordable after the death (late CRF entry, QA round 2 item 3).
    with pytest.raises(
        InvalidInput,
        match=rf"onset_date='{day(402)}': expected on or before the recorded death date "
        rf"\({day(400)}\)",
    ):
        sv.record_adverse_event(
            ctx, pid, day(402), term="Fatigue", grade=1, attribution="unrelated"
        )
    assert sv.verify(store).ok


def test_arm_b_continued_treatment_and_non_failure_discontinuation(store):
    ctx = context(store)
    pid = randomised_in_arm(ctx, "B")
    sv.record_dose(
        ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=1050, given_on=day(80), weight_kg=70
    )
    with pytest.raises(ProtocolViolation, match="arm B has no surgery.*switch_to_surgery first"):
        sv.record_surgery(
            surgeon(ctx), pid, day(120), procedure="x", margin="R0", blood_loss_ml=100
        )
    with pytest.raises(ProtocolViolation, match="start_maintenance refused.*'randomised'"):
        sv.start_maintenance(ctx, pid, day(120))
    assert sv.record_discontinuation(ctx, pid, day(200), "lost_to_follow_up") == "off_study"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ctx, pid: sv.randomise(ctx, pid, day(1)), "randomise refused.*'induction'"),
        (
            lambda ctx, pid: sv.start_induction(ctx, pid, day(1)),
            "start_induction refused.*'induction'",
        ),
        (
            lambda ctx, pid: sv.record_surgery(
                surgeon(ctx), pid, day(1), procedure="x", margin="R0", blood_loss_ml=1
            ),
            "record_surgery refused.*'induction'.*surgery follows randomisation",
        ),
        (
            lambda ctx, pid: sv.record_discontinuation(ctx, pid, day(1), "progression"),
            "record_discontinuation refused",
        ),
        (
            lambda ctx, pid: sv.record_mdt_review(mdt(ctx), pid, day(1), VOTES_YES),
            "record_mdt_review refused.*'induction'",
        ),
        (
            lambda ctx, pid: sv.screen_patient(ctx, pid, {}, day(1)),
            "screen_patient refused.*'induction'",
        ),
    ],
)
def test_forbidden_arrows_from_induction_name_state_and_rule(store, call, message):
    ctx = context(store)
    pid = to_induction(ctx)
    before = table_counts(store)
    with pytest.raises(ProtocolViolation, match=message) as info:
        call(ctx, pid)
    assert info.value.state == "induction" and info.value.rule
    assert table_counts(store) == before


def test_randomise_needs_resectable_mdt(store):
    ctx = context(store)
    pid = to_assessed(ctx)
    with pytest.raises(ProtocolViolation, match="no resectable MDT decision.*state 'assessed'"):
        sv.randomise(ctx, pid, day(73))


def test_dose_checks_protocol_schedule_and_flags_deviations(store):
    ctx = context(store)
    pid = to_induction(ctx)
    with pytest.raises(ProtocolViolation, match="bevacizumab is not given in induction cycle 4"):
        sv.record_dose(
            ctx,
            pid,
            cycle=4,
            drug="bevacizumab",
            dose_given_mg=1050,
            given_on=day(63),
            weight_kg=70,
        )
    with pytest.raises(InvalidInput, match="weight_kg=None: expected the weight in kg"):
        sv.record_dose(ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=1050, given_on=day(0))
    ok = sv.record_dose(
        ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=1050, given_on=day(0), weight_kg=70
    )
    assert ok["dose_computed_mg"] == pytest.approx(15 * 70) and ok["deviations"] == []
    late = sv.record_dose(
        ctx, pid, cycle=2, drug="bevacizumab", dose_given_mg=700, given_on=day(30), weight_kg=70
    )
    assert late["delay_days"] == 9
    assert any("differs from protocol 1050 mg" in d for d in late["deviations"])
    assert any("9 days late (window 3 days)" in d for d in late["deviations"])
    with store.unit_of_work() as session:
        assert len(queries.rows_for(session, m.ProtocolDeviation, pid)) == 2


def test_dose_delay_runs_per_drug(store):
    """Cycle 1: atezolizumab on day 0, bevacizumab on day 3 (same cycle, different days).
    Bevacizumab cycle 2 on day 24 is on time: due 21 days after its own cycle 1 (day 24), not
    after atezolizumab's (which would read 3 days late). Cycle 4 has no bevacizumab, so a
    drug absent from cycle k-1 is timed from that cycle's latest dose."""
    ctx = context(store)
    pid = to_induction(ctx)

    def dose(cycle, drug, on):
        mg = 1200 if drug == "atezolizumab" else 15 * 70
        return sv.record_dose(
            ctx, pid, cycle=cycle, drug=drug, dose_given_mg=mg, given_on=day(on), weight_kg=70
        )

    dose(1, "atezolizumab", 0)
    dose(1, "bevacizumab", 3)
    assert dose(2, "atezolizumab", 21)["delay_days"] == 0
    on_time = dose(2, "bevacizumab", 24)
    assert (on_time["delay_days"], on_time["deviations"]) == (0, [])
    late = dose(3, "bevacizumab", 52)  # due day 45: 7 days late
    assert late["delay_days"] == 7


def test_bad_values_name_field_and_leave_database_unchanged(store):
    ctx = context(store)
    pid = to_induction(ctx)
    before = table_counts(store)
    with pytest.raises(InvalidInput, match=r"dose_given_mg=-5(\.0)?: expected a dose in mg"):
        sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=-5, given_on=day(0))
    with pytest.raises(InvalidInput, match=r"target\['T1'\]='big'"):
        sv.record_assessment(ctx, pid, day(42), target={"T1": "big"})
    with pytest.raises(InvalidInput, match=r"lesion=\['T9'\]"):
        sv.record_assessment(ctx, pid, day(42), target={"T9": 10.0})
    with pytest.raises(NotFound, match="no patient with id 9999"):
        sv.start_induction(ctx, 9999, day(0))
    with pytest.raises(InvalidInput, match="pseudo_id='P001': expected an id not yet used"):
        sv.register_patient(ctx, "SH01", "P001", registered_on=day(0))
    assert table_counts(store) == before


def test_error_late_in_a_transaction_rolls_back_earlier_writes(store, monkeypatch):
    """A failure after several writes of one call leaves nothing behind (one transaction)."""
    ctx = context(store)
    pid = to_induction(ctx)
    give_induction(ctx, pid)
    assess(ctx, pid, 70)
    before = table_counts(store)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    # complete_assessment writes a state-history row and updates the patient, then fails.
    import talentop.services._context as context_module

    real_write = context_module.writes.write_together
    monkeypatch.setattr(
        context_module.writes, "write_together", lambda *a, **k: (real_write(*a, **k), boom())
    )
    with pytest.raises(RuntimeError, match="disk full"):
        sv.complete_assessment(ctx, pid, day(71))
    monkeypatch.undo()
    assert table_counts(store) == before
    assert state(ctx, pid) == "induction"
    assert sv.verify(store).ok


def test_baseline_is_frozen_after_first_assessment(store):
    ctx = context(store)
    pid = to_induction(ctx)
    assess(ctx, pid, 42)
    with pytest.raises(
        ProtocolViolation, match="baseline cannot change.*rule: RECIST baseline is fixed"
    ):
        sv.record_lesions_baseline(ctx, pid, day(42), LESIONS[:1])


def test_assessment_stores_recist_and_mrecist_with_engine_version(store):
    ctx = context(store)
    pid = to_induction(ctx)
    out = assess(ctx, pid, 42, shrink=0.6, viable={"T1": 0.0, "T2": 0.0})
    assert out["recist"]["best_overall_response"] == "PR"
    assert out["recist"]["depth_of_response_pct"] == pytest.approx(-40.0)
    # Viable tumour gone in both targets -> mRECIST CR of targets.
    assert out["mrecist"]["timepoints"][-1]["target_response"] == "CR"
    with store.unit_of_work() as session:
        rows = queries.rows_for(session, m.ResponseAssessment, pid)
        assert {r.criteria for r in rows} == {"recist1.1", "mrecist"}
        assert all(r.engine_version and r.engine_version != "unknown" for r in rows)
    assert PROTOCOL.assessment.record_mrecist


def test_maintenance_doses_stop_at_the_arm_cap(store):
    """TALENTOP arm A: maintenance for at most 12 months (protocol arms[A].maintenance_cap_months)."""
    ctx = context(store)
    pid = randomised_in_arm(ctx, "A")
    sv.record_surgery(
        surgeon(ctx), pid, day(110), procedure="resection", margin="R0", blood_loss_ml=300
    )
    sv.start_maintenance(ctx, pid, day(140))
    sv.record_dose(
        ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(140 + 365)
    )
    with pytest.raises(
        ProtocolViolation, match="after the 12-month maintenance cap.*state 'maintenance'"
    ):
        sv.record_dose(
            ctx, pid, cycle=2, drug="atezolizumab", dose_given_mg=1200, given_on=day(140 + 366)
        )
    with pytest.raises(NotFound, match="no user named 'ghost'"):
        sv.record_deviation(
            sv.Context(store, PROTOCOL, "ghost"), pid, day(150), category="x", description="y"
        )


def test_the_path_runs_forward_in_time(store):
    """A step dated before the previous one is refused and nothing is written: induction
    closed before it started, randomisation before the MDT review, death before a visit."""
    ctx = context(store)
    pid = to_induction(ctx)  # induction starts on day 0
    give_induction(ctx, pid)
    assess(ctx, pid, 70)
    before = table_counts(store)
    with pytest.raises(
        InvalidInput,
        match=r"assessed date='2025-01-05': expected on or after the previous step "
        r"'induction' \(2025-01-06\)",
    ):
        sv.complete_assessment(ctx, pid, day(-1))
    assert table_counts(store) == before
    sv.complete_assessment(ctx, pid, day(71))
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    before = table_counts(store)
    with pytest.raises(
        InvalidInput, match=r"randomised_on='2025-03-18': expected on or after the MDT review"
    ):
        sv.randomise(ctx, pid, day(71))
    with pytest.raises(
        InvalidInput,
        match=r"death_date='2025-03-10': expected on or after the last record of the patient "
        r"alive, a tumour assessment \(2025-03-17\)",
    ):
        sv.record_death(ctx, pid, day(63))
    assert table_counts(store) == before
    assert sv.randomise(ctx, pid, day(72))["arm"] in ("A", "B")
