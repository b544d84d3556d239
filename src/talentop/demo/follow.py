"""After randomisation: doses, surgery, complications, AEs, maintenance, failures, deaths.

Every fact goes through ``talentop.services`` (one call per arrow, audited): the washout
before resection (protocol ``surgery.min_days_after_bevacizumab``) is respected by planning
the date, bevacizumab restarts >= ``surgery.bevacizumab_restart_min_days`` after surgery,
arm-A maintenance stops at the arm's cap (``maintenance_completed``), failures are
discontinuations with reasons from the protocol vocabulary, and in the dynamic run arm-B
patients are reassessed (RECIST visits -> the reassessment service's flag -> MDT review ->
``switch_to_surgery`` -> surgery, the operated hazards applying from the switch as in
``TrialDesign.switching``). Atezo/bev doses are recorded q3w (``talentop.demo.dosing``):
"continued" until failure, death, cut or switch; "maintenance" after resection until the
cap. Nothing dated after the data cut is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.demo.cohort import DAYS_PER_MONTH, SyntheticPatient
from talentop.demo.conduct import biobank_consented
from talentop.demo.dosing import first_cycle_after_induction, record_cycles
from talentop.demo.imaging import (
    POST_FAILURE_PD_FRACTION,
    Schedule,
    course_for,
    documented_pd,
    patient_rng,
    record_scans,
)
from talentop.demo.outcomes import OutcomeModel, os_months, switched_time
from talentop.demo.pathways import ISGLS_FOR_CLAVIEN, findings

#: Arm-B reassessment horizon: conversions were drawn within 14 months of randomisation.
REASSESS_HORIZON_MONTHS = 18.0
POST_OP_DEATH_DAYS = 30  # a death within 30 days of resection is Clavien-Dindo grade V
PROCEDURES = ("right hepatectomy", "left hepatectomy", "extended right hepatectomy")


def _months_to_date(start: dt.date, months: float) -> dt.date:
    return start + dt.timedelta(days=max(1, round(months * DAYS_PER_MONTH)))


def _last_bevacizumab(ctx: Any, pid: int) -> dt.date | None:
    from talentop.store import queries

    with ctx.store.unit_of_work() as session:
        return queries.last_drug_date(session, pid, "bevacizumab")


def _surgery_date(ctx: Any, pid: int, earliest: dt.date) -> dt.date:
    """The planned date: not before ``earliest`` and past the bevacizumab washout."""
    last_bev = _last_bevacizumab(ctx, pid)
    minimum = ctx.protocol.surgery.min_days_after_bevacizumab
    if last_bev is None:
        return earliest
    return max(earliest, last_bev + dt.timedelta(days=minimum))


def _operate(ctx: Any, pid: int, patient: SyntheticPatient, on: dt.date, death: dt.date) -> None:
    """Resection, its complications (worst Clavien-Dindo) and the tissue specimen."""
    from talentop.services import record_biospecimen, record_complication, record_surgery

    record_surgery(
        ctx,
        pid,
        on,
        procedure=PROCEDURES[patient.index % len(PROCEDURES)],
        margin="R0" if patient.index % 10 else "R1",
        blood_loss_ml=float(200 + (patient.index * 37) % 900),
    )
    if death <= on + dt.timedelta(days=POST_OP_DEATH_DAYS):
        record_complication(ctx, pid, death, description="Post-operative death", clavien_dindo="V")
    else:
        categories = patient.complication_categories or [None] * len(patient.complications)
        for offset, ((term, grade), category) in enumerate(
            zip(patient.complications, categories, strict=True), start=3
        ):
            record_complication(
                ctx,
                pid,
                on + dt.timedelta(days=offset),
                description=term,
                clavien_dindo=grade,
                category=category,
                isgls_grade=ISGLS_FOR_CLAVIEN[grade] if category == "liver_failure" else None,
            )
    necrosis = (
        patient.pathways.necrosis_pct if patient.pathways else float((patient.index * 13) % 100)
    )
    if biobank_consented(ctx, pid, on):  # only with the patient's biobank consent
        record_biospecimen(
            ctx, pid, on, specimen_type="tissue_resection", pathological_necrosis_pct=necrosis
        )


def _reassess_arm_b(
    ctx: Any,
    pid: int,
    patient: SyntheticPatient,
    row: dict[str, Any],
    failure: dt.date,
    cut: dt.date,
    schedule: Schedule,
    course: Any,
) -> tuple[dt.date | None, dt.date | None]:
    """Arm-B scans (on the on-treatment schedule, before any progression) until the MDT finds
    the patient resectable; returns (switch date, last scan recorded)."""
    from talentop.services import record_mdt_review, switch_to_surgery

    start: dt.date = row["randomised_on"]
    reviewed_no = False
    horizon = start + dt.timedelta(days=round(REASSESS_HORIZON_MONTHS * DAYS_PER_MONTH))
    last_scan = None
    for index, visit in enumerate(
        schedule.dates(cut, min(failure - dt.timedelta(days=1), cut, horizon))
    ):
        if course.responder:  # only a shrinking tumour can reach the trigger's CR/PR
            _reassessment_data(ctx, pid, patient, visit, index)
        (result,) = record_scans(ctx, pid, course, [visit])
        last_scan = visit
        months = (visit - start).days / DAYS_PER_MONTH
        ready = patient.conversion_months is not None and months >= patient.conversion_months
        if result.get("resectability_flag") and (ready or not reviewed_no):
            # flagged by the service: the MDT reviews (again once the latent state changed)
            from talentop.demo.run import votes_for

            votes = patient.switch_votes if ready else [(s, False) for s, _ in patient.mdt_votes]
            review_on = visit + dt.timedelta(days=3)
            review = record_mdt_review(ctx, pid, review_on, votes_for(votes, patient.record))
            row["reassessment_reviews"] = row.get("reassessment_reviews", 0) + 1
            reviewed_no = True
            if review["resectable"]:
                switch_on = review_on + dt.timedelta(days=1)
                switch_to_surgery(ctx, pid, switch_on, review["review_id"], "MDT: now resectable")
                return switch_on, last_scan
            if ready:
                return None, last_scan  # the MDT disagreed with the latent state
    return None, last_scan


def _local_therapy_before_surgery(
    ctx: Any, pid: int, patient: SyntheticPatient, start: dt.date, surgery_on: dt.date
) -> None:
    """Some arm-A patients get TACE or radiotherapy before the resection (a recorded path;
    its effect on TTF is the protocol's ``local_therapy.ttf_effect``)."""
    from talentop.services import record_local_therapy, record_local_therapy_response

    therapy = patient.pathways.local_therapy if patient.pathways else None
    rules = ctx.protocol.local_therapy
    given = start + dt.timedelta(days=3)
    if therapy is None or rules is None or therapy not in rules.types or surgery_on <= given:
        return
    targets = ["T1"] if therapy == "tace" or not patient.baseline["non_target"] else ["N1"]
    technique = "cTACE" if therapy == "tace" else None
    therapy_id = record_local_therapy(
        ctx, pid, given, therapy=therapy, target_lesions=targets, technique=technique
    )
    if surgery_on - given > dt.timedelta(days=1):
        response = "PR" if patient.latent_response == "PR" else "SD"
        record_local_therapy_response(
            ctx, pid, therapy_id, surgery_on - dt.timedelta(days=1), response=response
        )


def _reassessment_data(
    ctx: Any, pid: int, patient: SyntheticPatient, visit: dt.date, index: int
) -> None:
    """What a site records before an arm-B reassessment scan: volumetry and thrombus (CT),
    bilirubin and albumin (unless the draw says the labs were not done), and the checklist's
    Child-Pugh grade; the trigger reads them (``services.reassessment``)."""
    from talentop.services import record_imaging, record_lab, record_resectability

    record = patient.record
    day = visit - dt.timedelta(days=2)
    record_imaging(
        ctx,
        pid,
        study_date=day,
        modality="CT",
        vp_grade=record["vp_grade"],
        vv_grade=record["vv_grade"],
        future_liver_remnant_ml=record["future_liver_remnant_ml"],
        total_functional_liver_volume_ml=record["total_functional_liver_volume_ml"],
    )
    missing = patient.pathways.labs_missing if patient.pathways else ()
    if not (index < len(missing) and missing[index]):
        record_lab(ctx, pid, sampled_on=day, test="bilirubin",
                   value=record["bilirubin_umol_l"], unit="umol/L")  # fmt: skip
        record_lab(ctx, pid, sampled_on=day, test="albumin",
                   value=record["albumin_g_l"], unit="g/L")  # fmt: skip
    grade = findings(record, r0_feasible=None)["child_pugh_grade"]
    record_resectability(
        ctx, pid, day, context="reassessment", criteria={"child_pugh_grade": grade}
    )


def after_randomisation(
    ctx: Any,
    patient: SyntheticPatient,
    row: dict[str, Any],
    model: OutcomeModel,
    cut: dt.date,
    *,
    dynamic: bool,
) -> None:
    """Record the patient's randomised treatment and outcome up to the data cut ``cut``."""
    from talentop.services import (
        record_adverse_event,
        record_death,
        record_discontinuation,
        record_follow_up,
        start_maintenance,
    )

    pid = row["patient_id"]
    arm = ctx.protocol.arm(row["arm"])
    start: dt.date = row["randomised_on"]
    path, surgery_on = "systemic", None
    ttf_m, os_m = patient.ttf_months["systemic"], patient.os_months["systemic"]
    if arm.includes_surgery and patient.operated_if_allocated:
        ttf_m, os_m = patient.ttf_months["operated"], patient.os_months["operated"]
        planned = _surgery_date(ctx, pid, start + dt.timedelta(days=patient.surgery_delay_days))
        if _months_to_date(start, ttf_m) <= planned:
            row["not_operated_reason"] = "failed before the planned surgery"
        else:
            path, surgery_on = "operated", planned
    elif arm.includes_surgery:
        row["not_operated_reason"] = patient.not_operated_reason
    switch_on = scanned_until = None
    rng = patient_rng(patient)
    schedule = Schedule.for_patient(ctx.protocol, start, rng)
    course = course_for(patient, None, rng)
    pd_fraction = float(rng.uniform(*POST_FAILURE_PD_FRACTION))
    if dynamic and not arm.includes_surgery:
        switch_on, scanned_until = _reassess_arm_b(
            ctx, pid, patient, row, _months_to_date(start, ttf_m), cut, schedule, course
        )
    if switch_on is not None:
        # TrialDesign.switching: from the switch (the MDT decision, as randomisation is for
        # arm A) the operated hazards apply from their start, surgical-risk window included;
        # the same exponential draw as the unswitched path (common random numbers).
        row["switched"] = True
        s = (switch_on - start).days / DAYS_PER_MONTH
        e = float(model.ttf_systemic.cumulative(ttf_m))  # the patient's exponential draw
        path = "switched"
        ttf_m = float(switched_time(model.ttf_systemic, model.ttf_operated, s, e))
        draws = patient.pathways
        os_m = os_months(model, ttf_m, path, draws.dies_at_failure, draws.post_failure_unit)
    reason = patient.failure_reason
    if patient.pathways is not None and patient.pathways.dies_at_failure:
        ttf_m, reason = os_m, "death"  # the failure is the death itself
    failure, death = _months_to_date(start, ttf_m), _months_to_date(start, os_m)
    row.update(path=path, ttf_months_latent=ttf_m, os_months_latent=os_m)
    imaging = _Imaging(schedule, course, reason, failure, death, pd_fraction)
    if surgery_on is None and switch_on is None:
        failure, reason = imaging.plan(None)  # PD documented at a scan: treatment stops then
    next_cycle = first_cycle_after_induction(ctx)
    if surgery_on is None:
        # continued atezo/bev (arm B, arm A not operated) up to failure, death, cut or switch
        stop = min(failure, death, cut, switch_on or cut)
        next_cycle = record_cycles(
            ctx,
            pid,
            patient,
            first=start + dt.timedelta(days=1),
            stop=stop,
            phase="continued",
            first_cycle=next_cycle,
        )
    if switch_on is not None:
        planned = _surgery_date(ctx, pid, switch_on + dt.timedelta(days=14))
        if failure <= planned:
            row["not_operated_reason"] = "failed before the planned surgery (after the switch)"
        else:
            surgery_on = planned

    completion = None
    if surgery_on is not None and surgery_on <= cut:
        _local_therapy_before_surgery(ctx, pid, patient, start, surgery_on)
        _operate(ctx, pid, patient, surgery_on, death)
        row.update(operated=True, surgery_on=surgery_on)
        course.resected_on = surgery_on
        restart = surgery_on + dt.timedelta(
            days=ctx.protocol.surgery.bevacizumab_restart_min_days + patient.index % 15
        )
        if restart < min(failure, death, cut) and arm.maintenance_cap_months:
            completion = _months_to_date(restart, float(arm.maintenance_cap_months))
        failure, reason = imaging.plan(completion)
        if restart < min(failure, death, cut):
            start_maintenance(ctx, pid, restart)
            record_cycles(
                ctx,
                pid,
                patient,
                first=restart,
                stop=min(failure, death, cut, completion or cut),
                phase="maintenance",
                first_cycle=next_cycle,
            )
    if not imaging.planned:
        failure, reason = imaging.plan(None)
    treated_until = min(failure, death, cut, completion or cut)
    span = max((treated_until - start).days, 1)
    for term, grade, fraction, attribution in patient.adverse_events:
        onset = start + dt.timedelta(days=max(1, round(fraction * span)))
        if onset <= treated_until:
            record_adverse_event(ctx, pid, onset, term=term, grade=grade, attribution=attribution)
    # Scheduled scans up to the documented PD (or death / the cut), after any arm-B
    # reassessment scans already recorded.
    record_scans(ctx, pid, course, imaging.to_record(cut, after=scanned_until))
    # what was recorded: the failure (a progression dated at its PD scan) and the PD scan
    row.update(
        failure_on=failure,
        failure_reason=reason,
        pd_documented_on=imaging.pd_on,
        treatment_completion_on=completion,  # planned end of maintenance (may be past the cut)
    )
    if failure <= cut and (completion is None or failure < completion):
        if reason == "unacceptable_toxicity":
            record_adverse_event(
                ctx,
                pid,
                failure,
                term="Hepatitis (immune-related)",
                grade=3,
                attribution="probable",
            )
        if reason != "death":
            record_discontinuation(ctx, pid, failure, reason)
    elif completion is not None and completion <= cut:
        # a progression after completion is a TTF failure through its RECIST PD scan
        record_discontinuation(ctx, pid, completion, "maintenance_completed")
        row["maintenance_completed_on"] = completion
    if death <= cut:
        record_death(ctx, pid, death, cause="hepatocellular carcinoma")
    else:
        record_follow_up(ctx, pid, cut, status="alive", method="data-cut sweep")


class _Imaging:
    """The patient's scans and the documented PD, once the end of treatment is known."""

    def __init__(self, schedule, course, reason, failure, death, pd_fraction) -> None:
        self.schedule, self.course, self.reason = schedule, course, reason
        self.latent_failure, self.death = failure, death
        if reason == "death":
            self.latent_pd = None
        elif reason == "progression":
            self.latent_pd = failure
        else:  # progression after a non-progression failure (PFS only)
            self.latent_pd = failure + (death - failure) * pd_fraction
        self.scans: list[dt.date] = []
        self.pd_on: dt.date | None = None
        self.planned = False

    def plan(self, completion: dt.date | None) -> tuple[dt.date, str]:
        """Scan dates and documented PD; returns the (failure date, reason) to record.

        On-treatment interval up to the end of treatment (completion, a non-progression
        failure, death), then the follow-up interval; a progression failure is dated at the
        scan documenting it (it is what stops treatment).
        """
        ends = [self.death, completion or self.death]
        if self.reason not in ("progression", "death"):
            ends.append(self.latent_failure)
        horizon = self.death + dt.timedelta(days=400)
        self.scans = self.schedule.dates(min(ends), horizon)
        self.pd_on = documented_pd(self.scans, self.latent_pd, self.death)
        self.course.pd_on = self.pd_on
        self.planned = True
        if self.reason == "progression":
            if self.pd_on is None:
                return self.death, "death"
            return self.pd_on, "progression"
        return self.latent_failure, self.reason

    def to_record(self, cut: dt.date, *, after: dt.date | None) -> list[dt.date]:
        last = min(cut, self.death, self.pd_on or cut)
        dates = [d for d in self.scans if d <= last and (after is None or d > after)]
        if self.pd_on is not None and self.pd_on <= last and self.pd_on not in dates:
            dates.append(self.pd_on)  # unscheduled scan (next scheduled one after the death)
        return sorted(dates)
