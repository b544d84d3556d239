"""Informed consent and its withdrawal, honoured by the services (SQLite and PostgreSQL).

Sources: ICH E6(R3) 2.8.7 (the consent form is signed and dated before participation),
2.8.2 (new information that may affect willingness to continue: re-consent on revised
materials), 2.8 consent information (participation voluntary, may be withdrawn; data handling
on withdrawal); FDA guidance "Data Retention When Subjects Withdraw from FDA-Regulated
Clinical Trials" (2008): data collected before withdrawal are kept; TALENTOP registry
NCT04649489 and ICH E6: adults (age >= 18) who consented.
"""

from __future__ import annotations

import datetime as dt

import pytest

from flow_helpers import (
    PROTOCOL,
    assess,
    consent,
    context,
    day,
    give_induction,
    register,
    surgeon,
    to_induction,
    to_randomised,
)
from patient_records import ELIGIBLE
from talentop import services as sv
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol import protocol_from_mapping
from talentop.store import models as m
from talentop.store import queries

pytestmark = pytest.mark.db


def test_screening_before_consent_is_a_protocol_violation_naming_the_rule(store):
    """ICH E6(R3) 2.8.7: no trial procedure before the form is signed and dated."""
    ctx = context(store)
    pid = sv.register_patient(ctx, "SH01", "C001", registered_on=day(-14))
    for call in (
        lambda: sv.screen_patient(ctx, pid, ELIGIBLE, day(-7)),
        lambda: sv.record_lab(ctx, pid, sampled_on=day(-7), test="albumin", value=38, unit="g/L"),
        lambda: sv.record_imaging(ctx, pid, study_date=day(-7), modality="CT", vp_grade="Vp3"),
    ):
        with pytest.raises(ProtocolViolation) as info:
            call()
        assert info.value.rule == "informed consent before any trial procedure (ICH E6(R3) 2.8.7)"
        assert "has no informed consent on record" in str(info.value)
    consent(ctx, pid, day(-5))
    # A screening dated before the signature is still screening before consent.
    with pytest.raises(
        ProtocolViolation, match="consented on 2025-01-01, after this record's date 2024-12-30"
    ):
        sv.screen_patient(ctx, pid, ELIGIBLE, day(-7))
    out = sv.screen_patient(ctx, pid, ELIGIBLE, day(-5))
    assert out["verdict"] == "eligible"
    criteria = {c["id"]: c["status"] for c in out["criteria"]}
    assert criteria["informed_consent"] == "met" and criteria["adult"] == "met"
    assert sv.verify(store).ok


def test_age_and_consent_are_eligibility_criteria_of_both_protocols():
    """Both shipped protocols screen for adults (age >= 18) with consent in force."""
    from talentop.clinical import evaluate_eligibility
    from talentop.protocol import load_protocol

    for name in ("talentop", "talentace"):
        protocol = load_protocol(name)
        ids = [c.id for c in protocol.eligibility]
        assert {"informed_consent", "adult"} <= set(ids), name
        record = {**ELIGIBLE, "up_to_seven_score": 8, "vascular_invasion_any": False}
        for changes, failed in (
            ({"age_years": 17}, "adult"),
            ({"informed_consent": False}, "informed_consent"),
        ):
            result = evaluate_eligibility({**record, **changes}, protocol)
            assert failed in result.failed, (name, changes)
        assert "adult" not in evaluate_eligibility({**record, "age_years": 18}, protocol).failed


def test_consent_comes_from_the_records_not_the_form(store):
    """The screening's ``informed_consent`` is what the consent records say on the date: a
    patient who declined data use is ineligible whatever the form field says; an age the
    registered birth year contradicts is refused."""
    ctx = context(store)
    pid = sv.register_patient(ctx, "SH01", "C002", registered_on=day(-14), birth_year=1966)
    consent(ctx, pid, day(-14), scopes=["treatment", "follow_up"])
    with pytest.raises(InvalidInput, match=r"age_years=30: expected 57 or 58 \(born 1966"):
        sv.screen_patient(ctx, pid, {**ELIGIBLE, "age_years": 30}, day(-7))
    out = sv.screen_patient(ctx, pid, {**ELIGIBLE, "informed_consent": True}, day(-7))
    assert out["state"] == "screen_failed"
    assert [c["id"] for c in out["criteria"] if c["status"] == "not_met"] == ["informed_consent"]


def test_form_version_must_be_the_one_in_force(store):
    """A consent on a form the protocol does not list, or on a superseded form, is refused;
    a form signed before it takes effect is refused."""
    data = PROTOCOL.model_dump(mode="json")
    data["consent"]["forms"].append(
        {"version": "2.0", "effective_on": day(60).isoformat(), "reconsent_required": True}
    )
    protocol = protocol_from_mapping(data)
    ctx = context(store)
    ctx2 = sv.Context(store, protocol, ctx.actor)
    pid = sv.register_patient(ctx, "SH01", "C003", registered_on=day(-14))
    with pytest.raises(InvalidInput, match="form_version='9.9': expected one of the protocol's"):
        consent(ctx2, pid, day(-14), form_version="9.9")
    with pytest.raises(
        InvalidInput, match=r"form_version='2.0': expected the form in force on 2024-12-23 \(1.0\)"
    ):
        consent(ctx2, pid, day(-14), form_version="2.0")
    with pytest.raises(
        InvalidInput, match=r"form_version='1.0': expected the form in force on 2025-03-07 \(2.0\)"
    ):
        consent(ctx2, pid, day(60), form_version="1.0")


def test_a_new_form_version_lists_the_patients_who_must_re_consent(store):
    """ICH E6(R3) 2.8.2: patients on study sign the revised form; screen failures, patients
    who died or withdrew follow-up are not asked; once signed, the patient leaves the list."""
    data = PROTOCOL.model_dump(mode="json")
    data["consent"]["forms"].append(
        {"version": "2.0", "effective_on": day(40).isoformat(), "reconsent_required": True,
         "summary": "new safety information: hepatic failure"}
    )  # fmt: skip
    protocol = protocol_from_mapping(data)
    ctx = sv.Context(store, protocol, context(store).actor)
    on_study = to_induction(ctx, "R001")
    failed = register(ctx, "SH01", "R002")
    sv.screen_patient(ctx, failed, {**ELIGIBLE, "ecog": 3}, day(-7))
    gone = to_induction(ctx, "R003")
    sv.withdraw_consent(ctx, gone, day(10), scopes=["follow_up"])
    later = register(ctx, "SH01", "R004", day(45))  # enrolled on form 2.0: not due
    assert sv.consent_status(ctx, later)["consents"][0]["form_version"] == "2.0"
    # Before the new form takes effect nobody is due.
    early = sv.Context(store, protocol, ctx.actor, today=lambda: day(39))
    assert sv.reconsent_due(early) == []
    due = sv.reconsent_due(ctx)
    assert [d["patient_id"] for d in due] == [on_study]
    assert due[0] | {"site": "SH01"} == {
        "patient_id": on_study,
        "pseudo_id": "R001",
        "site": "SH01",
        "state": "induction",
        "signed_version": "1.0",
        "due_version": "2.0",
        "due_since": day(40).isoformat(),
    }
    assert sv.consent_status(ctx, on_study)["reconsent_due"] == "2.0"
    out = consent(ctx, on_study, day(41), form_version="2.0")
    assert out["kind"] == "reconsent"
    assert sv.reconsent_due(ctx) == []


def test_withdrawal_of_treatment_stops_treatment_not_follow_up(store):
    """Treatment withdrawn: no new dose or randomisation from that date; assessments and
    contacts continue; a dose dated before the withdrawal may still be entered late."""
    ctx = context(store)
    pid = to_induction(ctx)
    sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(0))
    out = sv.withdraw_consent(ctx, pid, day(30), scopes=["treatment"], reason="tired of infusions")
    assert (
        out["withdrawn"] == ["treatment"] and out["treatment_stops"] and not out["follow_up_stops"]
    )
    with pytest.raises(ProtocolViolation) as info:
        sv.record_dose(ctx, pid, cycle=2, drug="atezolizumab", dose_given_mg=1200, given_on=day(30))
    assert "withdrew consent to treatment on 2025-02-05" in str(info.value)
    assert info.value.rule.startswith("a withdrawal of consent is honoured")
    # Late entry of a dose given while consent was in force.
    sv.record_dose(ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=1050, given_on=day(0),
                   weight_kg=70)  # fmt: skip
    assess(ctx, pid, 42)
    sv.record_lab(ctx, pid, sampled_on=day(45), test="albumin", value=38, unit="g/L")
    # Safety reporting is never blocked by a withdrawal.
    sv.record_adverse_event(ctx, pid, day(50), term="Fatigue", grade=2, attribution="possible")
    assert sv.verify(store).ok


def test_withdrawal_of_follow_up_stops_new_data_and_implies_treatment(store):
    """Follow-up withdrawn: no new assessment, lab or contact dated on or after it; the
    treatment scope goes with it (no follow-up, no treatment); records dated before stay."""
    ctx = context(store)
    pid = to_induction(ctx)
    give_induction(ctx, pid)
    out = sv.withdraw_consent(ctx, pid, day(60), scopes=["follow_up"])
    assert out["withdrawn"] == ["treatment", "follow_up"]
    assert out["implied"] == {"treatment": "follow_up"}
    for call in (
        lambda: assess(ctx, pid, 60),
        lambda: sv.record_lab(ctx, pid, sampled_on=day(61), test="albumin", value=38, unit="g/L"),
        lambda: sv.record_conmed(ctx, pid, day(61), name="Paracetamol", indication="pain"),
    ):
        with pytest.raises(ProtocolViolation, match="withdrew consent to follow_up on 2025-03-07"):
            call()
    assess(ctx, pid, 59)  # dated before the withdrawal: data collected while consented
    with pytest.raises(InvalidInput, match="scopes not already withdrawn"):
        sv.withdraw_consent(ctx, pid, day(61), scopes=["treatment"])
    status = sv.consent_status(ctx, pid)
    assert status["in_force"] == {
        "treatment": False, "follow_up": False, "data_use": True, "biobank": True,
    }  # fmt: skip


def test_data_use_withdrawal_stops_everything_but_safety(store):
    ctx = context(store)
    pid = to_induction(ctx)
    out = sv.withdraw_consent(ctx, pid, day(5), scopes=["data_use"])
    assert out["withdrawn"] == ["treatment", "follow_up", "data_use"]
    with pytest.raises(ProtocolViolation):
        sv.record_lab(ctx, pid, sampled_on=day(6), test="albumin", value=38, unit="g/L")
    ae = sv.record_adverse_event(ctx, pid, day(6), term="Rash", grade=1, attribution="possible")
    assert ae > 0


def test_biobank_withdrawal_flags_samples_for_destruction(store):
    """Biobank consent withdrawn: the patient's specimens are flagged for destruction (audited
    update) and no new specimen is taken; treatment and follow-up go on."""
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    cut = surgeon(ctx)
    first = sv.record_biospecimen(cut, pid, day(74), specimen_type="blood")
    second = sv.record_biospecimen(cut, pid, day(75), specimen_type="blood")
    out = sv.withdraw_consent(ctx, pid, day(80), scopes=["biobank"], reason="no research use")
    assert out["specimens_flagged_for_destruction"] == [first, second]
    assert not out["follow_up_stops"] and not out["treatment_stops"]
    with store.unit_of_work() as session:
        flagged = [
            s.destruction_requested_on for s in queries.rows_for(session, m.Biospecimen, pid)
        ]
    assert flagged == [day(80), day(80)]
    with pytest.raises(ProtocolViolation, match="withdrew consent to biobank"):
        sv.record_biospecimen(cut, pid, day(81), specimen_type="blood")
    assess(ctx, pid, 90)
    with pytest.raises(InvalidInput, match=r"scopes=\['biobank'\]: expected scopes not withdrawn"):
        consent(ctx, pid, day(90), scopes=["treatment", "follow_up", "data_use", "biobank"])
    assert sv.verify(store).ok


def test_a_patient_who_declined_biobank_gives_no_samples(store):
    ctx = context(store)
    pid = sv.register_patient(ctx, "SH01", "C010", registered_on=day(-14))
    consent(ctx, pid, day(-14), scopes=["treatment", "follow_up", "data_use"])
    sv.screen_patient(ctx, pid, ELIGIBLE, day(-7))
    with pytest.raises(ProtocolViolation, match="did not consent to biobank"):
        sv.record_biospecimen(ctx, pid, day(-7), specimen_type="blood")


def test_consent_reads_are_scoped_and_pseudonymised(store):
    ctx = context(store)
    pid = to_induction(ctx)
    stat = sv.Context(store, PROTOCOL, "stat1")
    status = sv.consent_status(stat, pid)
    assert "obtained_by" not in status["consents"][0]
    assert sv.consent_status(ctx, pid)["consents"][0]["obtained_by"] == "Dr Chen (investigator)"
    assert dt.date.fromisoformat(status["consents"][0]["consented_on"]) == day(-14)


def test_nothing_is_overdue_of_a_withdrawn_scope(store):
    """Follow-up stops only when follow-up consent is withdrawn: after a treatment
    withdrawal no dose is due, scans still are; after follow-up withdrawal nothing is."""
    ctx = context(store)
    pid, _ = to_randomised(ctx)  # arm-dependent doses; scans are due on treatment

    def kinds(on):
        return {o["kind"] for o in sv.overdue(ctx, on=on) if o["patient_id"] == pid}

    before = kinds(day(200))
    assert "assessment" in before
    sv.withdraw_consent(ctx, pid, day(100), scopes=["treatment"])
    after = kinds(day(200))
    assert "dose" not in after and "assessment" in after
    sv.withdraw_consent(ctx, pid, day(101), scopes=["follow_up"])
    assert kinds(day(200)) == set()
