"""Feed a synthetic cohort through the real services: one patient, one call per arrow.

Screening (eligibility engine), induction start and every dose (calendar, dose rules),
baseline lesions and RECIST assessments (response engine), MDT review with each member's
vote, and the concealed stratified randomisation all go through ``talentop.services`` and
land in the database with their audit trail. What happens after randomisation (surgery,
complications, adverse events, failures, deaths) is taken from the cohort's draws and turned
into ADTTE records by ``talentop.endpoints.derive_adtte`` (the same derivation the services
use) with the dates the database holds.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from talentop.demo.cohort import DAYS_PER_MONTH, SyntheticPatient
from talentop.errors import InvalidInput

#: Called after each patient with (phase, done, total) for progress bars.
Progress = Callable[[str, int, int], None]

MDT_MEMBERS = {  # specialty -> usernames (a patient's MDT draws members in this order)
    "hepatobiliary_surgeon": ["dr_surgeon_1", "dr_surgeon_2"],
    "hepatologist_or_oncologist": ["dr_oncologist"],
    "radiologist": ["dr_radiologist"],
    "pathologist": ["dr_pathologist"],
}


@dataclass
class TrialRun:
    """What the runner did: patient ids, the path each took, and post-randomisation facts."""

    cutoff_date: dt.date
    screened: int = 0
    screen_failures: Counter = field(default_factory=Counter)
    induction: int = 0
    not_randomised: Counter = field(default_factory=Counter)
    patients: list[dict[str, Any]] = field(default_factory=list)  # one row per induction patient
    complications: list[dict[str, Any]] = field(default_factory=list)
    adverse_events: list[dict[str, Any]] = field(default_factory=list)
    timelines: list[Any] = field(default_factory=list)

    def patient_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.patients)


def _context(store: Any, protocol: Any):
    from talentop.services._context import Context

    return Context(store=store, protocol=protocol, actor="system")


def set_up_trial(ctx: Any, sites: tuple[str, ...]) -> None:
    """Sites, investigators and the MDT members (each with a specialty)."""
    from talentop.services.registry import create_site, create_user

    for code in sites:
        create_site(ctx, code, f"Demo site {code}", country="CN")
        create_user(ctx, f"inv_{code.lower()}", "investigator", site_code=code)
    for specialty, names in MDT_MEMBERS.items():
        for name in names:
            create_user(ctx, name, "mdt_member", specialty=specialty)


def _votes(patient: SyntheticPatient) -> list[dict[str, Any]]:
    used: Counter = Counter()
    votes = []
    for specialty, resectable in patient.mdt_votes:
        member = MDT_MEMBERS[specialty][used[specialty]]
        used[specialty] += 1
        votes.append(
            {
                "member": member,
                "specialty": specialty,
                "resectable": resectable,
                "reason": "R0 resection feasible, adequate remnant"
                if resectable
                else "thrombus extent / remnant volume do not allow R0 resection",
            }
        )
    return votes


def _lesion_rows(baseline: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{**t, "kind": "target"} for t in baseline["target"]]
    rows += [{**n, "kind": "non_target", "nodal": False} for n in baseline["non_target"]]
    return rows


def _induction(ctx: Any, pid: int, patient: SyntheticPatient, start: dt.date) -> None:
    from talentop.services.induction import record_dose

    for cycle in ctx.protocol.induction.cycles:
        given_on = start + dt.timedelta(
            days=ctx.protocol.induction.cycle_length_days * (cycle.number - 1)
        )
        for drug in cycle.drugs:
            per_kg = drug.dose_unit == "mg_per_kg"
            dose = drug.dose * patient.weight_kg if per_kg else drug.dose
            record_dose(
                ctx,
                pid,
                cycle=cycle.number,
                drug=drug.drug,
                dose_given_mg=round(dose, 0),
                given_on=given_on,
                weight_kg=patient.weight_kg,
            )


def run_patient(ctx: Any, patient: SyntheticPatient, run: TrialRun, *, dynamic: bool) -> None:
    """One patient's path through the services (stops where the services say it stops)."""
    from talentop.services.assessment import (
        complete_assessment,
        decline_randomisation,
        record_assessment,
        record_lesions_baseline,
    )
    from talentop.services.induction import start_induction
    from talentop.services.mdt import record_mdt_review
    from talentop.services.randomise import randomise
    from talentop.services.registry import register_patient
    from talentop.services.screening import screen_patient

    pid = register_patient(
        ctx,
        patient.site,
        patient.screening_id,
        registered_on=patient.screened_on,
        sex="M" if patient.sex == "male" else "F",
        birth_year=patient.screened_on.year - patient.age_years,
    )
    run.screened += 1
    screening = screen_patient(ctx, pid, patient.record, patient.screened_on)
    if screening["verdict"] != "eligible":
        failed = [
            c["id"]
            for c in screening["criteria"]
            if c["status"] not in ("met", "pass", "not_applicable")
        ]
        run.screen_failures[failed[0] if failed else "other"] += 1
        return
    start = patient.screened_on + dt.timedelta(days=7)
    record_lesions_baseline(ctx, pid, patient.baseline["date"], _lesion_rows(patient.baseline))
    start_induction(ctx, pid, start)
    run.induction += 1
    _induction(ctx, pid, patient, start)
    result: dict[str, Any] = {}
    for visit in patient.followups:
        result = record_assessment(
            ctx,
            pid,
            visit["date"],
            target=visit["target"],
            non_target=visit["non_target"],
            new_lesions=visit["new_lesions"],
        )
    assessed_on = dt.date.fromisoformat(patient.followups[-1]["date"])
    outcome = complete_assessment(ctx, pid, assessed_on)
    row = {
        "patient_id": pid,
        "usubjid": patient.screening_id,
        "bor": outcome["best_overall_response"],
        "depth_of_response_pct": outcome.get(
            "depth_of_response_pct", result.get("depth_of_response_pct")
        ),
        "ecog": patient.record["ecog"],
        "vp_grade": patient.record["vp_grade"],
        "age_years": patient.age_years,
        "sex": patient.sex,
        "weight_kg": patient.weight_kg,
        "largest_tumour_diameter_cm": patient.record["largest_tumour_diameter_cm"],
        "arm": None,
        "operated": False,
        "not_randomised_reason": None,
    }
    run.patients.append(row)
    if outcome["state"] != "assessed":
        row["not_randomised_reason"] = f"{outcome['best_overall_response']} after induction"
        run.not_randomised[row["not_randomised_reason"]] += 1
        return
    review_on = assessed_on + dt.timedelta(days=3)
    if patient.withdraws_after_cycle is not None:
        decline_randomisation(ctx, pid, review_on, "patient withdrew consent")
        row["not_randomised_reason"] = "withdrew consent"
        run.not_randomised["withdrew consent"] += 1
        return
    review = record_mdt_review(ctx, pid, review_on, _votes(patient))
    if not review["resectable"]:
        row["not_randomised_reason"] = "not resectable (MDT)"
        run.not_randomised["not resectable (MDT)"] += 1
        return
    randomised_on = review_on + dt.timedelta(days=1)
    allocation = randomise(ctx, pid, randomised_on)
    row.update(arm=allocation["arm"], stratum=allocation["stratum"], randomised_on=randomised_on)
    _after_randomisation(ctx, patient, row, run, dynamic=dynamic)


def _after_randomisation(
    ctx: Any, patient: SyntheticPatient, row: dict[str, Any], run: TrialRun, *, dynamic: bool
) -> None:
    """Surgery, complications, AEs, failure and death dates -> a PatientTimeline."""
    from talentop.endpoints import PatientTimeline

    arm = ctx.protocol.arm(row["arm"])
    randomised_on: dt.date = row["randomised_on"]
    path = "systemic"
    surgery_month = None
    if arm.includes_surgery and patient.operated_if_allocated:
        path, surgery_month = "operated", 1.0
    elif arm.includes_surgery:
        row["not_operated_reason"] = patient.not_operated_reason
    elif dynamic and patient.conversion_months is not None and "switched" in patient.ttf_months:
        path, surgery_month = "switched", patient.conversion_months
    ttf_m = min(patient.ttf_months[path], patient.os_months[path])
    if surgery_month is not None and ttf_m <= surgery_month:
        path, surgery_month = "systemic", None  # failed before the operation could happen
        ttf_m = min(patient.ttf_months["systemic"], patient.os_months["systemic"])
        row["not_operated_reason"] = row.get("not_operated_reason") or "progression_before_surgery"
    os_m = patient.os_months[path]

    def day(months: float) -> dt.date:
        return randomised_on + dt.timedelta(days=max(1, round(months * DAYS_PER_MONTH)))

    surgery_date = day(surgery_month) if surgery_month is not None else None
    operated = surgery_date is not None and surgery_date <= run.cutoff_date
    row.update(
        operated=operated,
        switched=path == "switched" and operated,
        clavien_dindo=patient.clavien_dindo if operated else None,
    )
    if operated:
        for term, grade in patient.complications:
            run.complications.append(
                {"patient": row["usubjid"], "arm": row["arm"], "term": term, "grade": grade}
            )
    for term, grade, offset in patient.adverse_events:
        run.adverse_events.append(
            {"patient": row["usubjid"], "arm": row["arm"], "term": term, "grade": grade}
        )
        del offset  # onset day kept in the cohort; the table counts worst grade per patient
    death = day(os_m)
    failure = day(ttf_m)
    reason = "death" if ttf_m >= os_m else patient.failure_reason
    last_contact = min(run.cutoff_date, death)
    interval = 7 * int(ctx.protocol.assessment.interval_weeks)
    assessments = tuple(
        randomised_on + dt.timedelta(days=k * interval)
        for k in range(1, 200)
        if randomised_on + dt.timedelta(days=k * interval) < last_contact
    )
    row.update(ttf_months_latent=ttf_m, os_months_latent=os_m)
    run.timelines.append(
        PatientTimeline(
            usubjid=row["usubjid"],
            arm=row["arm"],
            randomisation_date=randomised_on,
            progression_date_recist=failure if reason == "progression" else None,
            death_date=death,
            last_contact_date=last_contact,
            last_adequate_assessment_date=assessments[-1] if assessments else None,
            assessment_dates=assessments,
            discontinuations=((failure, reason),) if reason != "death" else (),
            surgery_date=surgery_date if operated else None,
            strata={"ecog": str(row["ecog"])},
        )
    )


def run_cohort(
    cohort: list[SyntheticPatient],
    store: Any,
    protocol: Any,
    *,
    cutoff_date: dt.date,
    dynamic: bool = False,
    progress: Progress | None = None,
) -> TrialRun:
    """Set up the trial in ``store`` and run every patient; return what happened."""
    if not cohort:
        raise InvalidInput.field("cohort", 0, "at least one patient")
    ctx = _context(store, protocol)
    set_up_trial(ctx, tuple(sorted({p.site for p in cohort})))
    run = TrialRun(cutoff_date=cutoff_date)
    for done, patient in enumerate(cohort, start=1):
        run_patient(ctx, patient, run, dynamic=dynamic)
        if progress:
            progress("patients", done, len(cohort))
    return run


def adtte(run: TrialRun, protocol: Any) -> pd.DataFrame:
    """ADTTE (TTF, OS, PFS...) by the endpoint derivation, with the protocol's TTF reasons."""
    from talentop.endpoints import derive_adtte

    return derive_adtte(
        run.timelines,
        failure_reasons=list(protocol.ttf.failure_reasons),
        censor_reasons=list(protocol.ttf.censor_reasons),
        cutoff_date=run.cutoff_date,
        assessment_interval_days=7 * int(protocol.assessment.interval_weeks),
    )
