"""Feed a randomised-at-entry cohort (TALENTACE) through the real services.

Per patient: registration, screening (eligibility engine), baseline lesions, randomisation at
entry (the protocol's gate), the first TACE (``record_local_therapy``), in the arms whose
drugs start after it atezo/bev q3w from a week later (``record_dose``: the services refuse a
drug the arm does not give), scans every ``assessment.interval_weeks`` (mRECIST viable
diameters), each TACE's response at the first scan three weeks or more after it; a treatable
intrahepatic progression (new lesion) is answered by a repeat TACE (not a TACE-PFS event);
the event is an untreatable progression or TACE refractoriness (two insufficient post-TACE
responses; the investigator records the discontinuation) or death. Nothing after the cut.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from talentop.demo.cohort import DAYS_PER_MONTH
from talentop.demo.conduct import CORE_SCOPES
from talentop.demo.dosing import record_cycles
from talentop.demo.entry_cohort import EntryModel, EntryPatient
from talentop.demo.run import Progress, exclusion_label

#: Viable (arterially enhancing) share of the targets after a TACE that worked (mRECIST PR).
VIABLE_AFTER_TACE = 0.4
#: Days from a treatable progression scan to the repeat TACE; from TACE to its drugs.
REPEAT_TACE_DAYS, DRUGS_AFTER_TACE_DAYS = 7, 7


@dataclass
class EntryRun:
    """What the runner did: counts and one row per randomised patient."""

    cutoff_date: dt.date
    model: EntryModel
    screened: int = 0
    screen_failures: Counter = field(default_factory=Counter)
    patients: list[dict[str, Any]] = field(default_factory=list)

    def patient_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.patients)


def _months(start: dt.date, months: float) -> dt.date:
    return start + dt.timedelta(days=max(1, round(months * DAYS_PER_MONTH)))


class _Course:
    """The scans' measurements: viable targets shrink after the first TACE, a new lesion at a
    treatable progression, growth at the event."""

    def __init__(self, baseline: dict[str, Any]) -> None:
        self.sizes = {t["id"]: float(t["diameter_mm"]) for t in baseline["target"]}

    def visit(self, *, treated: bool, new_lesion: bool, growing: bool) -> dict[str, Any]:
        factor = 1.5 if growing else (VIABLE_AFTER_TACE if treated else 1.0)
        viable = {k: round(v * factor, 0) for k, v in self.sizes.items()}
        return {
            "target": dict(self.sizes) if not growing else viable,
            "viable": viable,
            "non_target": {},
            "new_lesions": "unequivocal" if new_lesion else "none",
        }


def run_entry_patient(ctx: Any, patient: EntryPatient, run: EntryRun) -> None:
    """One patient through the services (stops where the services say it stops)."""
    from talentop import services as sv

    # An adult of 40-79 (not drawn: the entry cohort's random stream is left as it was).
    age = 40 + (patient.index * 17) % 40
    pid = sv.register_patient(
        ctx,
        patient.site,
        patient.screening_id,
        registered_on=patient.screened_on,
        birth_year=patient.screened_on.year - age,
    )
    run.screened += 1
    # Informed consent before any trial procedure (ICH E6(R3) 2.8.7), the form in force.
    sv.record_consent(
        ctx,
        pid,
        patient.screened_on,
        form_version=ctx.protocol.consent.in_force(patient.screened_on).version,
        obtained_by=f"Dr {patient.site} investigator",
        scopes=CORE_SCOPES,
    )
    record = {**patient.record, "age_years": age}
    screening = sv.screen_patient(ctx, pid, record, patient.screened_on)
    if screening["verdict"] != "eligible":
        failed = [c["id"] for c in screening["criteria"] if c["status"] == "not_met"]
        label = exclusion_label(ctx.protocol, failed[0]) if failed else "Eligibility incomplete"
        run.screen_failures[label if len(failed) <= 1 else "Several criteria not met"] += 1
        return
    rows = [
        {**t, "kind": "target", "viable_diameter_mm": t["diameter_mm"]}
        for t in patient.baseline["target"]
    ]
    sv.record_lesions_baseline(ctx, pid, patient.baseline["date"], rows)
    start = patient.screened_on + dt.timedelta(days=1)
    allocation = sv.randomise(ctx, pid, start)
    arm = ctx.protocol.arm(allocation["arm"])
    cut = run.cutoff_date
    event = _months(start, patient.event_months[arm.id])
    death = _months(start, patient.os_months[arm.id])
    if death < event:
        death = event
    kind = patient.event_type
    course = _Course(patient.baseline)
    scans = []
    day = start + dt.timedelta(weeks=ctx.protocol.assessment.interval_weeks)
    while day < min(event, death, cut + dt.timedelta(days=1)):
        scans.append(day)
        day += dt.timedelta(weeks=ctx.protocol.assessment.interval_weeks)
    treatable = [_months(start, m) for m in patient.treatable_pd_months]
    progressed: set[dt.date] = set()
    for t in treatable:
        later = [s for s in scans if s >= t]
        if later and later[0] < event - dt.timedelta(days=30):
            progressed.add(later[0])
    tace_days = [start + dt.timedelta(days=2)] + [
        s + dt.timedelta(days=REPEAT_TACE_DAYS) for s in sorted(progressed)
    ]
    refractory = []
    if kind == "tace_refractoriness" and event <= cut:
        refractory = [event - dt.timedelta(days=84), event - dt.timedelta(days=42)]
        if refractory[0] <= tace_days[0] + dt.timedelta(days=21):
            kind = "untreatable_progression"  # too early for two failed TACEs
            refractory = []
    therapies = []
    for on in sorted({d for d in tace_days + refractory if d <= min(event, cut)}):
        technique = "DEB-TACE" if patient.index % 3 == 0 else "cTACE"
        therapy_id = sv.record_local_therapy(
            ctx, pid, on, therapy="tace", target_lesions=["T1", "T2"], technique=technique
        )
        therapies.append((on, therapy_id, on in refractory))
    if arm.drugs and arm.drugs_after_local_therapy:
        record_cycles(
            ctx, pid, patient,
            first=tace_days[0] + dt.timedelta(days=DRUGS_AFTER_TACE_DAYS),
            stop=min(event, death, cut), phase="continued", first_cycle=1,
        )  # fmt: skip
    answered: set[int] = set()
    for scan in scans:
        sv.record_assessment(
            ctx, pid, scan,
            **course.visit(treated=True, new_lesion=scan in progressed, growing=False),
        )  # fmt: skip
        for on, therapy_id, failed in therapies:
            # no sufficient response is read once the failing TACEs began (JSH: consecutive)
            before_failure = not refractory or scan < refractory[0]
            if (
                therapy_id not in answered
                and on + dt.timedelta(days=21) <= scan
                and not failed
                and before_failure
            ):
                response = "CR" if patient.index % 5 == 0 else "PR"
                sv.record_local_therapy_response(ctx, pid, therapy_id, scan, response=response)
                answered.add(therapy_id)
    for index, (on, therapy_id, _) in enumerate(t for t in therapies if t[2]):
        # the two insufficient responses: the second one is read on the event day
        read = event if index == 1 else on + dt.timedelta(days=41)
        if read <= cut:
            sv.record_local_therapy_response(ctx, pid, therapy_id, read, response="SD")
    row = {
        "patient_id": pid,
        "usubjid": f"{ctx.protocol.id.upper()}-{patient.site}-{patient.screening_id}",
        "arm": arm.id,
        "stratum": allocation["stratum"],
        "randomised_on": start,
        "ecog": patient.record["ecog"],
        "vp_grade": patient.record["vp_grade"],
        "event_type": kind,
        "tace_count": len(therapies),
        "treatable_progressions": len(progressed),
    }
    run.patients.append(row)
    if event <= cut and kind != "death":
        sv.record_assessment(
            ctx, pid, event, **course.visit(treated=True, new_lesion=True, growing=True)
        )
        sv.record_discontinuation(ctx, pid, event, kind)
    if death <= cut:
        sv.record_death(ctx, pid, death, cause="hepatocellular carcinoma")
    else:
        sv.record_follow_up(ctx, pid, cut, status="alive", method="data-cut sweep")


def run_entry_cohort(
    cohort: list[EntryPatient],
    store: Any,
    protocol: Any,
    *,
    cutoff_date: dt.date,
    model: EntryModel,
    progress: Progress | None = None,
) -> EntryRun:
    """Set up sites and users, run every patient; return what happened."""
    from talentop.demo.run import _context, set_up_trial

    ctx = _context(store, protocol)
    set_up_trial(ctx, tuple(sorted({p.site for p in cohort})))
    run = EntryRun(cutoff_date=cutoff_date, model=model)
    for done, patient in enumerate(cohort, start=1):
        run_entry_patient(ctx, patient, run)
        if progress:
            progress("patients", done, len(cohort))
    return run
