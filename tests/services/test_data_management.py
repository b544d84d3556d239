"""Data management (issue: clean data, provably), on SQLite and PostgreSQL: corrections with
reasons and re-derivation, queries through their whole cycle, SDV, locks, e-signatures,
stratification errors, and the audit trail that keeps all of it verifiable."""

from __future__ import annotations

import json

import pytest

from flow_helpers import PROTOCOL, VOTES_YES, context, day, mdt, to_assessed
from talentop import services as sv
from talentop.errors import InvalidInput, PermissionDenied, ProtocolViolation
from talentop.services import identity
from talentop.store import models as m

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def trial(store):
    ctx = context(store)  # SH01 investigator inv1, mdt1, surgeon1, stat1
    system = sv.Context(store, PROTOCOL, "system")
    identity.create_account(system, "mon1", "monitor", PASSWORD, full_name="Mona Itor")
    identity.change_role(system, "mon1", assigned_sites=["SH01"])
    identity.create_account(system, "dm1", "data_manager", PASSWORD)
    identity.create_account(system, "coord1", "coordinator", PASSWORD, site_code="SH01")
    identity.change_password(system, PASSWORD, username="inv1")
    with store.unit_of_work() as session:
        session.query(m.User).filter_by(username="inv1").one().full_name = None
    return ctx


def as_(ctx, name):
    return sv.Context(ctx.store, PROTOCOL, name)


def measurement(store, pid, code, visit_day=70):
    with store.unit_of_work() as session:
        lesion = session.query(m.Lesion).filter_by(patient_id=pid, code=code).one()
        return (
            session.query(m.LesionMeasurement)
            .join(m.AssessmentVisit, m.AssessmentVisit.id == m.LesionMeasurement.visit_id)
            .filter(m.LesionMeasurement.lesion_id == lesion.id)
            .one()
            .id
        )


def test_a_target_size_correction_turns_pr_into_sd(trial):
    """Baseline 60 + 40 = 100 mm; 36 + 24 = 60 mm is -40 % (PR, RECIST 1.1 Table 1:
    >= 30 % decrease). Corrected T1 54 mm: 78 mm, -22 % (SD)."""
    ctx = trial
    pid = to_assessed(ctx, "C1", shrink=0.6)
    assert sv.patient_summary(ctx, pid)["state"] == "assessed"
    meas = measurement(ctx.store, pid, "T1")
    result = sv.correct_record(
        ctx,
        "lesion_measurements",
        meas,
        {"diameter_mm": 54.0},
        reason="re-measured on the source CT",
        category="source_corrected",
    )
    assert result["changed"] == {"diameter_mm": {"old": 36.0, "new": 54.0}}
    recist = [c for c in result["rederived"]["responses"] if c["criteria"] == "recist1.1"]
    assert (
        recist[0]["before"]["overall_response"] == "PR"
        and recist[0]["after"]["overall_response"] == "SD"
    )
    assert recist[0]["after"]["depth_of_response_pct"] == pytest.approx(-22.0)
    with ctx.store.unit_of_work() as session:
        stored = (
            session.query(m.ResponseAssessment)
            .filter_by(patient_id=pid, criteria="recist1.1")
            .one()
        )
        assert stored.overall_response == "SD"
        correction = session.query(m.Correction).one()
        assert (correction.old_json, correction.new_json, correction.corrected_by) == (
            "36.0",
            "54.0",
            "inv1",
        )
    # The earlier value stays in the audit trail, with who and when.
    history = sv.audit_history(
        as_(ctx, "mon1"), patient_id=pid, entity="lesion_measurements", entity_id=str(meas)
    ).items
    assert (
        history[0]["before"]["diameter_mm"] == 36.0 and history[0]["after"]["diameter_mm"] == 54.0
    )
    assert sv.verify(ctx.store).ok
    with pytest.raises(InvalidInput, match="reason"):
        sv.correct_record(
            ctx, "lesion_measurements", meas, {"diameter_mm": 50.0}, reason=" ", category="other"
        )
    with pytest.raises(InvalidInput, match="category"):
        sv.correct_record(
            ctx, "lesion_measurements", meas, {"diameter_mm": 50.0}, reason="x", category="whim"
        )
    with pytest.raises(PermissionDenied):
        sv.correct_record(
            as_(ctx, "mon1"),
            "lesion_measurements",
            meas,
            {"diameter_mm": 50.0},
            reason="x",
            category="other",
        )


def test_a_stratum_correction_leaves_the_arm_and_is_listed(trial):
    ctx = trial
    pid = to_assessed(ctx, "S1")
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    allocation = sv.randomise(ctx, pid, day(73))
    with ctx.store.unit_of_work() as session:
        screening = session.query(m.Screening).filter_by(patient_id=pid).one().id
    result = sv.correct_record(
        ctx,
        "screenings",
        screening,
        {"record.ecog": 1},
        reason="ECOG 1 in the clinic notes",
        category="source_corrected",
    )
    errors = result["stratification_errors"]
    assert [(e["stratum"], e["as_randomised"], e["corrected"]) for e in errors] == [
        ("ecog", "ecog0", "ecog1")
    ]
    assert sv.patient_summary(ctx, pid)["arm"] == allocation["arm"]
    listed = sv.stratification_errors(as_(ctx, "stat1"))
    assert listed[0]["level_as_randomised"] == "ecog0" and listed[0]["arm"] == allocation["arm"]
    frame = sv.derive_endpoints(as_(ctx, "stat1"), day(300))
    assert set(frame["ECOG"]) == {"ecog0"}  # the analysis uses the value as randomised (ITT)
    with pytest.raises(PermissionDenied):
        sv.stratification_errors(ctx)  # an investigator does not see the list


def test_query_full_cycle_with_three_roles(trial):
    ctx = trial
    pid = to_assessed(ctx, "Q1")
    lab = sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=3.8, unit="g/L")
    monitor, coord = as_(ctx, "mon1"), as_(ctx, "coord1")
    query = sv.raise_query(monitor, "labs", lab, "value", "3.8 g/L is implausible: g/dL?")
    assert query["state"] == "open"
    with pytest.raises(PermissionDenied):
        sv.raise_query(coord, "labs", lab, "value", "site staff do not raise queries")
    answered = sv.answer_query(
        coord, query["query_id"], "typed g/dL; source 38 g/L", correction={"value": 38}
    )
    assert (
        answered["state"] == "answered"
        and answered["correction"]["changed"]["value"]["new"] == 38.0
    )
    with pytest.raises(PermissionDenied, match="raised by 'mon1'"):
        sv.close_query(as_(ctx, "dm1"), query["query_id"])
    sv.reopen_query(monitor, query["query_id"], "please attach the lab report")
    sv.answer_query(coord, query["query_id"], "report filed")
    closed = sv.close_query(monitor, query["query_id"], "resolved")
    assert closed["state"] == "closed"
    page = sv.list_queries(coord, patient_id=pid)
    history = [h["action"] for h in page.items[0]["history"]]
    assert history == ["raise", "answer", "reopen", "answer", "close"]
    assert [h["by"] for h in page.items[0]["history"]] == [
        "mon1",
        "coord1",
        "mon1",
        "coord1",
        "mon1",
    ]
    counts = sv.query_counts(monitor)
    assert counts["by_state"]["closed"] == 1 and counts["by_state"]["open"] == 0
    with pytest.raises(ProtocolViolation, match="only an open query is answered"):
        sv.answer_query(coord, query["query_id"], "again")
    assert sv.verify(ctx.store).ok


def test_sdv_cleared_by_an_edit_and_a_locked_patient_refuses_a_dose(trial):
    ctx = trial
    pid = to_assessed(ctx, "L1")
    lab = sv.record_lab(ctx, pid, sampled_on=day(60), test="bilirubin", value=18, unit="umol/L")
    monitor, dm = as_(ctx, "mon1"), as_(ctx, "dm1")
    sv.verify_form(monitor, "labs", lab)
    status = {
        (f["entity"], f["entity_id"]): f["sdv"]
        for f in sv.patient_data_status(monitor, pid)["forms"]
    }
    assert status[("labs", lab)] == "verified"
    result = sv.correct_record(
        ctx, "labs", lab, {"value": 21}, reason="late result", category="late_result"
    )
    assert result["sdv_cleared"] is True
    status = {
        (f["entity"], f["entity_id"]): f["sdv"]
        for f in sv.patient_data_status(monitor, pid)["forms"]
    }
    assert status[("labs", lab)] == "verification_cleared"
    with pytest.raises(PermissionDenied):
        sv.verify_form(ctx, "labs", lab)  # investigators do not verify
    lock = sv.lock_records(dm, "patient", reason="interim freeze", patient_id=pid)
    with pytest.raises(ProtocolViolation, match="interim freeze") as refused:
        sv.record_follow_up(ctx, pid, day(80))
    # The refusal names the lock (what unlock takes) and the patient as site staff know it.
    assert f"lock {lock['lock_id']} on patient L1 (id {pid}) by dm1" in str(refused.value)
    with pytest.raises(ProtocolViolation, match="lock"):
        sv.correct_record(ctx, "labs", lab, {"value": 22}, reason="x", category="other")
    with pytest.raises(InvalidInput, match="reason"):
        sv.unlock_records(dm, lock["lock_id"], reason="")
    sv.unlock_records(dm, lock["lock_id"], reason="query answered after the freeze")
    sv.record_follow_up(ctx, pid, day(80))
    frozen = sv.lock_records(dm, "database", reason="final analysis")
    with pytest.raises(ProtocolViolation, match="whole database"):
        sv.register_patient(ctx, "SH01", "NEW", registered_on=day(0))
    sv.unlock_records(dm, frozen["lock_id"], reason="re-opened for the follow-up")
    assert sv.verify(ctx.store).ok


def test_signatures_need_the_password_and_break_when_the_content_changes(trial):
    ctx = trial
    pid = to_assessed(ctx, "G1")
    with pytest.raises(InvalidInput, match="password"):
        sv.sign(
            ctx,
            "case_report",
            meaning="approved",
            password="wrong",
            patient_id=pid,
            milestone="end_of_induction",
        )
    with pytest.raises(ProtocolViolation, match="randomisation"):
        sv.sign(
            ctx,
            "case_report",
            meaning="approved",
            password=PASSWORD,
            patient_id=pid,
            milestone="randomisation",
        )
    signed = sv.sign(
        ctx,
        "case_report",
        meaning="approved",
        password=PASSWORD,
        patient_id=pid,
        milestone="end_of_induction",
    )
    assert signed["status"] == "valid" and signed["printed_name"] == "inv1"
    assert signed["manifest"].endswith("UTC, approved")
    assert [s["status"] for s in sv.list_signatures(ctx, patient_id=pid)] == ["valid"]
    with ctx.store.unit_of_work() as session:
        lab_id = session.query(m.LesionMeasurement).first().id
    sv.correct_record(
        ctx,
        "lesion_measurements",
        lab_id,
        {"diameter_mm": 35.0},
        reason="re-read",
        category="other",
    )
    assert [s["status"] for s in sv.list_signatures(ctx, patient_id=pid)] == ["broken"]
    with pytest.raises(PermissionDenied, match="investigator signs"):
        sv.sign(
            as_(ctx, "mon1"),
            "case_report",
            meaning="reviewed",
            password=PASSWORD,
            patient_id=pid,
            milestone="end_of_induction",
        )
    assert sv.verify(ctx.store).ok


def test_edit_checks_open_queries_in_batch_and_audit_export(trial):
    ctx = trial
    pid = to_assessed(ctx, "E1")
    sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=3.5, unit="g/L")
    result = sv.run_checks(as_(ctx, "dm1"))
    assert result["queries_opened"] >= 1
    assert any(f["check"] == "albumin_range" for f in result["findings"])
    assert sv.run_checks(as_(ctx, "dm1"))["queries_opened"] == 0  # not raised twice
    csv_text = sv.export_audit(as_(ctx, "mon1"), pid)
    header = csv_text.splitlines()[0]
    assert header == "seq,at_utc,actor,entity,entity_id,action,field,old,new,reason"
    assert "albumin" in csv_text
    with ctx.store.unit_of_work() as session:
        assert session.query(m.AuthEvent).filter_by(kind="audit_exported").count() == 1
    assert sv.verify(ctx.store).ok


def test_direct_edits_of_data_management_rows_are_detected(trial):
    ctx = trial
    pid = to_assessed(ctx, "T1")
    lab = sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=40, unit="g/L")
    query = sv.raise_query(as_(ctx, "mon1"), "labs", lab, "value", "check")
    sv.checkpoint(ctx.store)
    with ctx.store.unit_of_work() as session:
        row = session.get(m.DataQuery, query["query_id"])
        row.state = "closed"  # behind the services' back
    report = sv.verify(ctx.store)
    assert not report.ok and any(p.entity == "data_queries" for p in report.problems)
    assert json.dumps([p.to_dict() for p in report.problems])


def test_the_statistician_signs_the_interim_and_a_later_event_breaks_it(trial):
    """The interim signature binds the ADTTE of the live database at the cut-off (derived
    before the write transaction: on SQLite a second transaction cannot read under it)."""
    from flow_helpers import statistician, to_randomised

    ctx = trial
    pid, _ = to_randomised(ctx, "IS1")
    system = sv.Context(ctx.store, PROTOCOL, "system")
    identity.change_password(system, PASSWORD, username="stat1")
    stat = statistician(ctx)
    signed = sv.sign(stat, "interim", meaning="approved", password=PASSWORD, target_id=day(300).isoformat())  # fmt: skip
    assert signed["status"] == "valid" and signed["target_id"] == day(300).isoformat()
    assert [s["status"] for s in sv.list_signatures(stat)] == ["valid"]
    with pytest.raises(PermissionDenied, match="statistician signs"):
        sv.sign(ctx, "interim", meaning="approved", password=PASSWORD, target_id=day(300).isoformat())  # fmt: skip
    sv.record_death(ctx, pid, day(200))  # overall survival changes at this cut-off
    assert [s["status"] for s in sv.list_signatures(stat)] == ["broken"]
    assert sv.verify(ctx.store).ok


def test_edit_checks_at_save_run_only_where_the_write_can_change_them(trial):
    """A save runs the checks that read what it wrote (``checks.applicable``): a lab runs
    the lab checks, a randomisation (its state history row) the checks dated against
    randomisation, a write of tables no check reads runs none and reads nothing."""
    from talentop.services.data.checks import applicable, check_patient, inputs

    ids = {c.id: c for c in PROTOCOL.edit_checks}
    assert inputs(ids["surgery_after_randomisation"]) == {"surgeries", "state:randomised"}
    assert inputs(ids["contact_before_death"]) == {
        "follow_up_contacts",
        "state:registered",
        "state:died",
    }
    assert inputs(ids["labs_before_induction"]) == {"labs", "state:induction"}

    def names(written):
        return sorted(c.id for c in applicable(PROTOCOL.edit_checks, written))

    assert names({"randomisations", "patients"}) == []
    assert names({"randomisations", "patients", "patient_state_history", "state:randomised"}) == [
        "scan_in_window",
        "surgery_after_randomisation",
    ]
    assert names({"labs"}) == [
        "albumin_range",
        "bilirubin_range",
        "labs_before_induction",
        "platelets_range",
    ]
    ctx = trial
    pid = to_assessed(ctx, "E2")
    sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=3.5, unit="g/L")
    with ctx.store.transaction():  # nothing a check reads: no finding, no query opened
        assert check_patient(ctx, pid, written={"randomisations"}) == []
    with ctx.store.transaction():
        found = check_patient(ctx, pid, written={"labs"})
    assert [f["check"] for f in found] == ["albumin_range"]
    with ctx.store.transaction():  # all checks (batch, or no marks given): already known
        assert check_patient(ctx, pid) == []


def test_data_status_marks_exactly_the_forms_a_lock_covers(trial):
    """A record lock covers its form only (not the patient's other labs, not another
    patient's); a patient lock or a database lock covers every form of the patient and is
    listed under ``locks``; unlocked, nothing is locked again."""
    ctx = trial
    pid, other = to_assessed(ctx, "K1"), to_assessed(ctx, "K2")
    labs = [
        sv.record_lab(ctx, p, sampled_on=day(60), test="bilirubin", value=18, unit="umol/L")
        for p in (pid, pid, other)
    ]
    monitor, dm = as_(ctx, "mon1"), as_(ctx, "dm1")

    def locked(patient):
        status = sv.patient_data_status(monitor, patient)
        return {(f["entity"], f["entity_id"]) for f in status["forms"] if f["locked"]}, status

    record = sv.lock_records(dm, "record", reason="cleaned", entity="labs", entity_id=labs[0])
    assert locked(pid)[0] == {("labs", labs[0])}
    assert locked(other)[0] == set()
    assert locked(pid)[1]["locks"] == []  # a record lock is shown on its form
    for scope, kwargs in (("patient", {"patient_id": pid}), ("database", {})):
        lock = sv.lock_records(dm, scope, reason=f"{scope} freeze", **kwargs)
        forms, status = locked(pid)
        assert forms == {(f["entity"], f["entity_id"]) for f in status["forms"]}
        assert ("labs", labs[1]) in forms and ("patients", pid) in forms
        assert [lk.split(" by ")[0] for lk in status["locks"]] == [
            f"lock {lock['lock_id']} on "
            + ("the whole database" if scope == "database" else f"patient K1 (id {pid})")
        ]
        assert locked(other)[0] == (forms_of(monitor, other) if scope == "database" else set())
        sv.unlock_records(dm, lock["lock_id"], reason="re-opened")
    sv.unlock_records(dm, record["lock_id"], reason="re-opened")
    assert locked(pid)[0] == set()


def forms_of(ctx, patient):
    return {(f["entity"], f["entity_id"]) for f in sv.patient_data_status(ctx, patient)["forms"]}
