"""Trial conduct in the demo: informed consent, medical history and concomitant medication
at screening, HBV DNA monitoring, SAE reports with their clocks, a few deviations and
withdrawals; all through the services, like the rest of the demo.

Draws come from a per-patient stream of their own (``conduct_rng``), so the calibrated
cohort draws are unchanged. Frequencies (SETTINGS, illustrative): chronic hepatitis B in
about 80% of Chinese HCC patients with macrovascular invasion, with a nucleos(t)ide analogue
for those on it; SAEs from the atezolizumab + bevacizumab profile (IMbrave150: grade 3-4
bleeding, immune-mediated hepatitis, hypertension; serious events in about 38% of
patients), most initial reports within 24 hours and some late.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from talentop.demo.cohort import SyntheticPatient

#: Scopes every enrolled demo patient consents to; biobank is asked separately.
CORE_SCOPES = ["treatment", "follow_up", "data_use"]
P_BIOBANK = 0.85
P_HBV = 0.8
P_HBV_DNA_DETECTABLE = 0.6
P_CIRRHOSIS = 0.6
P_ANTICOAGULANT = 0.03
P_HBV_MONITORING_GAP = 0.1
#: AE terms that become SAEs at grade >= 3, with the criterion and P(report).
SERIOUS_TERMS = {
    "Gastrointestinal haemorrhage": ("hospitalisation", 0.95),
    "Hepatitis (immune-related)": ("hospitalisation", 0.9),
    "Hypertension": ("hospitalisation", 0.25),
    "Aspartate aminotransferase increased": ("important_medical_event", 0.3),
    "Diarrhoea": ("hospitalisation", 0.5),
    "Fatigue": ("hospitalisation", 0.2),
    "Decreased appetite": ("hospitalisation", 0.2),
    "Rash": ("important_medical_event", 0.3),
}
#: Rare serious events drawn on top of the cohort's AEs (per randomised patient):
#: (term, grade, probability, relatedness to atezolizumab, to bevacizumab).
RARE_SAES = (
    ("Hepatic failure", 4, 0.02, "possible", "unlikely"),
    ("Pneumonitis", 3, 0.02, "probable", "unrelated"),
    ("Gastrointestinal perforation", 4, 0.008, "unlikely", "probable"),
)
BEVACIZUMAB_TERMS = frozenset(
    {"Hypertension", "Proteinuria", "Gastrointestinal haemorrhage", "Gastrointestinal perforation"}
)
IMMUNE_TERMS = frozenset(
    {
        "Hepatitis (immune-related)",
        "Hypothyroidism",
        "Rash",
        "Aspartate aminotransferase increased",
        "Pneumonitis",
    }
)
P_LATE_REPORT = 0.15
P_DEVIATION_WINDOW = 0.03
P_CONSENT_DEVIATION = 0.01


def conduct_rng(patient: SyntheticPatient, phase: int) -> np.random.Generator:
    """A per-patient stream for conduct draws (``phase`` 0 enrolment, 1 afterwards),
    separate from the cohort's and imaging's."""
    return np.random.default_rng([0x13, phase, patient.index, patient.screened_on.toordinal()])


def biobank_consented(ctx: Any, pid: int, on: dt.date) -> bool:
    """Whether the patient's consent on ``on`` covers the biobank (samples for research)."""
    from talentop.services.consent_rules import scope_open

    with ctx.store.read_only() as session:
        return scope_open(session, pid, "biobank", on)


def investigator(patient: SyntheticPatient) -> str:
    return f"inv_{patient.site.lower()}"


def enrol(ctx: Any, pid: int, patient: SyntheticPatient) -> dict[str, Any]:
    """Consent on the screening day, then medical history, HBV DNA and medication. Returns
    the screening record (the cohort's, with the age)."""
    from talentop.services import (
        record_conmed,
        record_consent,
        record_lab,
        record_medical_history,
    )

    rng = conduct_rng(patient, 0)
    on = patient.screened_on
    form = ctx.protocol.consent.in_force(on)
    scopes = CORE_SCOPES + (["biobank"] if rng.random() < P_BIOBANK else [])
    record_consent(
        ctx,
        pid,
        on,
        form_version=form.version,
        obtained_by=f"Dr {patient.site} investigator ({investigator(patient)})",
        scopes=scopes,
    )
    start = on + dt.timedelta(days=7)  # the planned first dose (run.py)
    if rng.random() < P_HBV:
        record_medical_history(
            ctx,
            pid,
            on,
            condition="Chronic hepatitis B",
            onset_year=on.year - int(rng.integers(5, 30)),
            ongoing=True,
        )
        record_conmed(
            ctx,
            pid,
            on - dt.timedelta(days=int(rng.integers(60, 2000))),
            name=str(rng.choice(["Entecavir", "Tenofovir disoproxil"])),
            indication="chronic hepatitis B",
            dose_value=0.5,
            dose_unit="mg",
            frequency="once daily",
        )
        detectable = rng.random() < P_HBV_DNA_DETECTABLE
        value = float(np.round(10 ** rng.uniform(1.5, 3.5))) if detectable else 0.0
        record_lab(ctx, pid, sampled_on=on, test="hbv_dna", value=value, unit="IU/mL")
    if rng.random() < P_CIRRHOSIS:
        record_medical_history(ctx, pid, on, condition="Liver cirrhosis", ongoing=True)
    if patient.record.get("tcm_used"):
        stopped = start - dt.timedelta(
            days=int(patient.record["tcm_stopped_days_before_induction"])
        )
        if stopped <= on:
            record_conmed(
                ctx,
                pid,
                stopped - dt.timedelta(days=int(rng.integers(30, 365))),
                stop_date=stopped,
                name="Huaier granule (traditional Chinese medicine)",
                indication="liver cancer (self-medication)",
            )
    if rng.random() < P_ANTICOAGULANT:
        record_conmed(
            ctx,
            pid,
            on,
            stop_date=on + dt.timedelta(days=int(rng.integers(20, 60))),
            name="Enoxaparin",
            indication="portal vein thrombosis (bland component)",
            dose_value=40,
            dose_unit="mg",
            frequency="once daily",
        )
    return {**patient.record, "age_years": patient.age_years}


@dataclass(frozen=True)
class _Event:
    id: int
    term: str
    grade: int
    attribution: str
    onset_date: dt.date


def _causality(term: str, attribution: str, operated: bool) -> dict[str, str]:
    other = "unlikely"
    if term in BEVACIZUMAB_TERMS:
        out = {"atezolizumab": other, "bevacizumab": attribution}
    elif term in IMMUNE_TERMS:
        out = {"atezolizumab": attribution, "bevacizumab": other}
    else:
        out = {"atezolizumab": attribution, "bevacizumab": attribution}
    if operated:
        out["surgery"] = "unrelated"
    return out


def _report_times(rng: np.random.Generator, onset: dt.date) -> tuple[dt.datetime, dt.datetime]:
    aware = dt.datetime.combine(onset, dt.time(8)) + dt.timedelta(
        days=int(rng.integers(0, 3)), hours=int(rng.integers(0, 12))
    )
    hours = rng.uniform(26, 96) if rng.random() < P_LATE_REPORT else rng.uniform(1, 20)
    return aware, aware + dt.timedelta(hours=float(hours))


def after_patient(
    ctx: Any, pid: int, patient: SyntheticPatient, row: dict[str, Any], cut: dt.date
) -> None:
    """After the patient's path: HBV DNA monitoring labs, SAE reports with follow-ups and
    expedited SUSAR reports, deviations, a treatment or biobank withdrawal."""
    from talentop.services import (
        record_adverse_event,
        record_deviation,
        record_expedited_report,
        record_lab,
        record_sae_follow_up,
        report_sae,
        withdraw_consent,
    )
    from talentop.store import models as m
    from talentop.store import queries

    rng = conduct_rng(patient, 1)
    with ctx.store.read_only() as session:
        doses = sorted(d.given_on for d in queries.rows_for(session, m.DrugAdministration, pid))
        hbv = [
            lab.value
            for lab in queries.rows_for(session, m.LabResult, pid, m.LabResult.sampled_on)
            if lab.test == "hbv_dna"
        ]
        surgeries = [s.surgery_date for s in queries.rows_for(session, m.Surgery, pid)]
        state = queries.get(session, m.Patient, pid).state
        death = queries.latest(session, m.Death, pid, m.Death.death_date)
        last_day = death.death_date if death else None
    if hbv and doses:
        gap = rng.random() < P_HBV_MONITORING_GAP
        on = doses[0] + dt.timedelta(weeks=12)
        skipped = False
        while on <= doses[-1]:
            if gap and not skipped:
                skipped = True  # one missed test: a monitoring finding
            else:
                value = hbv[0] * float(rng.uniform(0.0, 0.3))
                record_lab(
                    ctx, pid, sampled_on=on, test="hbv_dna", value=round(value), unit="IU/mL"
                )
            on += dt.timedelta(weeks=12)
    if row.get("arm") is not None and doses:
        for term, grade, probability, *_ in RARE_SAES:
            if rng.random() < probability:
                onset = doses[0] + dt.timedelta(days=int(rng.integers(20, 200)))
                if onset <= doses[-1] and (last_day is None or onset <= last_day):
                    record_adverse_event(
                        ctx, pid, onset, term=term, grade=grade, attribution="possible"
                    )
    with ctx.store.read_only() as session:
        events = [
            _Event(e.id, e.term, e.grade, e.attribution, e.onset_date)
            for e in queries.rows_for(session, m.AdverseEvent, pid)
        ]
    rare = {t: (a, b) for t, _, _, a, b in RARE_SAES}
    late_reports = []
    for ae in events:
        operated = any(on <= ae.onset_date for on in surgeries)
        if ae.term in rare:
            criterion, causality = (
                "life_threatening" if ae.grade == 4 else "hospitalisation",
                {
                    "atezolizumab": rare[ae.term][0],
                    "bevacizumab": rare[ae.term][1],
                    **({"surgery": "unrelated"} if operated else {}),
                },
            )
        elif ae.grade >= 3 and ae.term in SERIOUS_TERMS:
            criterion, probability = SERIOUS_TERMS[ae.term]
            if rng.random() >= probability:
                continue
            if ae.grade == 4 and criterion == "hospitalisation" and rng.random() < 0.5:
                criterion = "life_threatening"
            causality = _causality(ae.term, ae.attribution, operated)
        else:
            continue
        aware, sent = _report_times(rng, ae.onset_date)
        report = report_sae(
            ctx,
            ae.id,
            criteria=[criterion] + (["hospitalisation"] if criterion == "life_threatening" else []),
            awareness_at=aware,
            reported_at=sent,
            causality=causality,
            outcome="not_recovered",
            narrative=f"{ae.term}, CTCAE grade {ae.grade}; admitted for management.",
        )
        if not report["on_time"]:
            late_reports.append((ae, sent))
        received = sent + dt.timedelta(days=int(rng.integers(5, 20)), hours=int(rng.integers(0, 8)))
        follow_late = rng.random() < P_LATE_REPORT / 2
        delay = rng.uniform(25, 60) if follow_late else rng.uniform(1, 20)
        record_sae_follow_up(
            ctx,
            report["sae_id"],
            info_received_at=received,
            reported_at=received + dt.timedelta(hours=float(delay)),
            description="Discharged; event resolved with treatment.",
            outcome="recovered" if rng.random() < 0.8 else "recovered_with_sequelae",
        )
        if report["susar"]:
            due = dt.date.fromisoformat(report["expedited_due_on"])
            days = int(rng.integers(-5, 1)) if rng.random() < 0.8 else int(rng.integers(1, 6))
            record_expedited_report(
                ctx, report["sae_id"], max(sent.date(), due + dt.timedelta(days=days))
            )
    for ae, sent in late_reports:
        record_deviation(
            ctx,
            pid,
            min(sent.date(), last_day or sent.date()),
            category="sae_reporting",
            description=f"Initial SAE report of '{ae.term}' sent after the 24-hour clock",
            corrective_action="Report completed and sent to the sponsor",
            preventive_action="Site staff retrained on SAE timelines; weekend on-call reporter named",
            decided_by=investigator(patient),
        )
    if doses and rng.random() < P_DEVIATION_WINDOW:
        on = doses[min(1, len(doses) - 1)]
        record_deviation(
            ctx,
            pid,
            on,
            category="visit_window",
            description="Cycle given outside the +/- 3 day window (public holiday)",
        )
    if rng.random() < P_CONSENT_DEVIATION:
        record_deviation(
            ctx,
            pid,
            patient.screened_on,
            category="informed_consent",
            description="Time of the patient's signature missing on the consent form",
            corrective_action="Note to file; patient re-confirmed consent at the next visit",
            preventive_action="Consent checklist added to the screening visit",
            decided_by=investigator(patient),
        )
    if state == "died":
        return
    failure_on = row.get("failure_on")
    if row.get("failure_reason") == "patient_withdrawal" and failure_on and failure_on <= cut:
        withdraw_consent(ctx, pid, failure_on, scopes=["treatment"], reason="patient's decision")
    elif surgeries and rng.random() < 0.03:
        on = surgeries[0] + dt.timedelta(days=60)
        if on <= cut:
            withdraw_consent(
                ctx, pid, on, scopes=["biobank"], reason="no longer wishes samples kept"
            )
