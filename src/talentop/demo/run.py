"""Feed a synthetic cohort through the real services: one patient, one call per arrow.

Screening (eligibility engine), induction start and every dose (calendar, dose rules),
baseline lesions and RECIST assessments (response engine), MDT review with each member's
vote, and the concealed stratified randomisation all go through ``talentop.services`` and
land in the database with their audit trail. What happens after randomisation (surgery,
complications, adverse events, maintenance, failures, deaths, arm-B reassessment) goes
through the services too (``talentop.demo.follow``); the ADTTE is then derived from the
database by the services' endpoint derivation.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from talentop.demo import conduct
from talentop.demo.cohort import SyntheticPatient
from talentop.demo.follow import after_randomisation
from talentop.demo.outcomes import OutcomeModel
from talentop.errors import InvalidInput

#: Called after each patient with (phase, done, total) for progress bars.
Progress = Callable[[str, int, int], None]
END_OF_INDUCTION_PD = "PD at the end-of-induction scan (after SD)"

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
    model: OutcomeModel | None = None
    screened: int = 0
    screen_failures: Counter = field(default_factory=Counter)
    induction: int = 0
    not_randomised: Counter = field(default_factory=Counter)
    patients: list[dict[str, Any]] = field(default_factory=list)  # one row per induction patient

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


def votes_for(
    mdt_votes: list[tuple[str, bool]], record: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Service-shaped votes from (specialty, resectable?) pairs; members in MDT_MEMBERS order.

    With the screening ``record`` each vote carries its structured criteria (a "resectable"
    vote: R0 feasible and the record's remnant, thrombus and liver function; a "not
    resectable" one: R0 not feasible)."""
    from talentop.demo.pathways import findings

    used: Counter = Counter()
    votes = []
    for specialty, resectable in mdt_votes:
        member = MDT_MEMBERS[specialty][used[specialty]]
        used[specialty] += 1
        vote = {
            "member": member,
            "specialty": specialty,
            "resectable": resectable,
            "reason": "R0 resection feasible, adequate remnant"
            if resectable
            else "thrombus extent / tumour position do not allow R0 resection",
        }
        if record is not None:
            vote["criteria"] = findings(record, r0_feasible=resectable)
        votes.append(vote)
    return votes


def exclusion_label(protocol: Any, criterion_id: str) -> str:
    """A screen failure as the reader says it, from the protocol criterion's ``text``.

    Exclusions worded "No X" fail because X is present ("Extrahepatic spread"); other
    criteria read "Not met: <text>" (short form: the text before " (" or " - ").
    """
    criterion = next((c for c in protocol.eligibility if c.id == criterion_id), None)
    if criterion is None:
        return f"Not met: {criterion_id.replace('_', ' ')}"
    short = criterion.text.split(" (")[0].split(" - ")[0].strip()
    if criterion.kind == "exclusion" and short.lower().startswith("no "):
        return short[3:4].upper() + short[4:]
    return f"Not met: {short}"


def _lesion_rows(baseline: dict[str, Any]) -> list[dict[str, Any]]:
    # mRECIST viable diameter at baseline: the whole lesion (untreated HCC enhances)
    rows = [
        {**t, "kind": "target", "viable_diameter_mm": t["diameter_mm"]} for t in baseline["target"]
    ]
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


def _baseline_class(ctx: Any, pid: int, patient: SyntheticPatient) -> None:
    """The MDT's baseline resectability class at screening, with its structured criteria."""
    from talentop.clinical.resectability import TECHNICALLY_UNRESECTABLE
    from talentop.demo.pathways import findings
    from talentop.services import record_resectability

    if ctx.protocol.resectability is None or patient.pathways is None:
        return
    cls = patient.pathways.baseline_class
    record_resectability(
        ctx,
        pid,
        patient.screened_on,
        criteria=findings(patient.record, r0_feasible=cls != TECHNICALLY_UNRESECTABLE),
        resectability_class=cls,
        reason=patient.pathways.baseline_reason,
    )


def run_patient(ctx: Any, patient: SyntheticPatient, run: TrialRun, *, dynamic: bool) -> None:
    """One patient's path through the services, then its conduct records (SAE reports,
    deviations, withdrawals: ``talentop.demo.conduct``)."""
    count = len(run.patients)
    pid = _path(ctx, patient, run, dynamic=dynamic)
    row = run.patients[-1] if len(run.patients) > count else {}
    conduct.after_patient(ctx, pid, patient, row, run.cutoff_date)


def _path(ctx: Any, patient: SyntheticPatient, run: TrialRun, *, dynamic: bool) -> int:
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
    record = conduct.enrol(ctx, pid, patient)  # consent, history, medication (demo.conduct)
    screening = screen_patient(ctx, pid, record, patient.screened_on)
    if screening["verdict"] != "eligible":
        failed = [c["id"] for c in screening["criteria"] if c["status"] == "not_met"]
        # one reason per patient so the CONSORT boxes reconcile (several: counted as such)
        label = exclusion_label(ctx.protocol, failed[0]) if failed else "Eligibility incomplete"
        run.screen_failures[label if len(failed) <= 1 else "Several criteria not met"] += 1
        return pid
    start = patient.screened_on + dt.timedelta(days=7)
    _baseline_class(ctx, pid, patient)
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
        "usubjid": f"{ctx.protocol.id.upper()}-{patient.site}-{patient.screening_id}",
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
        "switched": False,
        "not_randomised_reason": None,
        "not_operated_reason": None,
        "baseline_class": patient.pathways.baseline_class if patient.pathways else None,
        "mdt_resectable": None,
    }
    run.patients.append(row)
    if outcome["state"] != "assessed":
        # The service ends the path on a non-randomisable best response, and on progression
        # at any scan so far (SD at week 6, PD at the end-of-induction scan).
        progressed = outcome["best_overall_response"] in ("PR", "SD")
        row["not_randomised_reason"] = (
            END_OF_INDUCTION_PD
            if progressed
            else f"{outcome['best_overall_response']} after induction (RECIST)"
        )
        run.not_randomised[row["not_randomised_reason"]] += 1
        return pid
    review_on = assessed_on + dt.timedelta(days=3)
    if patient.withdraws_after_cycle is not None:
        from talentop.services.consent import withdraw_consent

        withdraw_consent(ctx, pid, review_on, scopes=["treatment"], reason="patient's decision")
        decline_randomisation(ctx, pid, review_on, "patient withdrew consent")
        row["not_randomised_reason"] = "Withdrew consent"
        run.not_randomised["Withdrew consent"] += 1
        return pid
    review = record_mdt_review(ctx, pid, review_on, votes_for(patient.mdt_votes, patient.record))
    row["mdt_resectable"] = review["resectable"]
    if not review["resectable"]:
        row["not_randomised_reason"] = "Not resectable (MDT review)"
        run.not_randomised["Not resectable (MDT review)"] += 1
        return pid
    randomised_on = review_on + dt.timedelta(days=1)
    allocation = randomise(ctx, pid, randomised_on)
    row.update(arm=allocation["arm"], stratum=allocation["stratum"], randomised_on=randomised_on)
    after_randomisation(ctx, patient, row, run.model, run.cutoff_date, dynamic=dynamic)
    return pid


def run_cohort(
    cohort: list[SyntheticPatient],
    store: Any,
    protocol: Any,
    *,
    cutoff_date: dt.date,
    model: OutcomeModel,
    dynamic: bool = False,
    progress: Progress | None = None,
) -> TrialRun:
    """Set up the trial in ``store`` and run every patient; return what happened."""
    if not cohort:
        raise InvalidInput.field("cohort", 0, "at least one patient")
    ctx = _context(store, protocol)
    set_up_trial(ctx, tuple(sorted({p.site for p in cohort})))
    run = TrialRun(cutoff_date=cutoff_date, model=model)
    for done, patient in enumerate(cohort, start=1):
        # One transaction per patient's run: every service call joins it (without a
        # savepoint: any error ends the demo), so the calls share one commit.
        with store.transaction(savepoints=False):
            run_patient(ctx, patient, run, dynamic=dynamic)
        if progress:
            progress("patients", done, len(cohort))
    return run


def censoring_continue_reasons(protocol: Any) -> Any:
    """``protocol`` with its TTF continue reasons moved to the censoring reasons.

    The sensitivity reading: treatment ended for a continue reason (TALENTOP: maintenance
    completed) censors TTF on that date instead of letting follow-up for failure go on.
    """
    ttf = protocol.ttf
    moved = ttf.model_copy(
        update={
            "censor_reasons": [*ttf.censor_reasons, *ttf.continue_reasons],
            "continue_reasons": [],
        }
    )
    return protocol.model_copy(update={"ttf": moved})


def adtte_both(
    timelines: list[Any], protocol: Any, cutoff_date: dt.date
) -> dict[str, pd.DataFrame]:
    """ADTTE under the protocol's TTF definition and, if it has continue reasons, censoring at them.

    ``"primary"``: the protocol file's lists as they are, exactly what
    ``services.derive_endpoints`` and ``talentop export adtte`` apply. ``"censor_at_completion"``
    (only when the protocol lists continue reasons): the same timelines with those reasons
    censoring TTF (``censoring_continue_reasons``), the sensitivity analysis. ``"switch_<reading>"``
    for each of ``ttf.switch_to_surgery.sensitivity``: the arm-B switch read that way.
    """
    from talentop.services.endpoints import adtte_for_protocol

    frames = {"primary": adtte_for_protocol(timelines, protocol, cutoff_date)}
    if protocol.ttf.continue_reasons:
        sensitivity = censoring_continue_reasons(protocol)
        frames["censor_at_completion"] = adtte_for_protocol(timelines, sensitivity, cutoff_date)
    switches = protocol.reassessment is not None  # only a reassessed arm can switch
    for reading in protocol.ttf.switch_to_surgery.sensitivity if switches else ():
        # the arm-B switch to surgery read another way (ICH E9(R1) strategies)
        frames[f"switch_{reading}"] = adtte_for_protocol(
            timelines, protocol, cutoff_date, switch_handling=reading
        )
    return frames


def adtte(run: TrialRun, store: Any, protocol: Any) -> dict[str, pd.DataFrame]:
    """ADTTE from the database (the services' stored timelines): see ``adtte_both``."""
    from talentop.services import patient_timelines

    return adtte_both(patient_timelines(_context(store, protocol)), protocol, run.cutoff_date)
