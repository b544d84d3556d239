"""Concomitant medication and medical history, and the protocol's medication rules checked
against them (the rules are protocol data: ``medication.rules``, see
``talentop.protocol.conduct.MedicationRule``).

TALENTOP names three: antiviral therapy when HBV DNA is detectable, with HBV DNA monitored
on treatment (patients with HBV-related HCC on atezolizumab + bevacizumab, as in
IMbrave150, which required anti-HBV treatment and HBV DNA monitoring); anticoagulants taken
while bevacizumab is given (bleeding risk, bevacizumab SmPC 4.4) flagged for review; the
registry's traditional Chinese medicine washout of 7 days before induction (NCT04649489).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import Field

from talentop.errors import InvalidInput
from talentop.services._context import Context, enter_any, event_date, not_before
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, require_patient
from talentop.services.states import INDUCTION, STATES
from talentop.store import models as m
from talentop.store import queries, writes
from talentop.store.read_queries import patients_in_states

Name = Annotated[str, Field(min_length=1, max_length=200)]


@dataclass(frozen=True)
class Finding:
    """One rule's finding for one patient: ``severity`` "violation" (the rule is broken)
    or "flag" (for the investigator's review)."""

    rule: str
    severity: str
    date: str
    message: str


@service
def record_conmed(
    ctx: Context,
    patient_id: RecordId,
    start_date: dt.date | str,
    *,
    name: Name,
    indication: Name,
    dose_value: Annotated[float, Field(gt=0, le=1e6)] | None = None,
    dose_unit: Annotated[str, Field(min_length=1, max_length=32)] | None = None,
    frequency: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
    stop_date: dt.date | str | None = None,
    ongoing: bool | None = None,
    drug_class: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
) -> dict[str, Any]:
    """A concomitant medication (name, indication, dose, start, stop or ongoing); its class
    is given or matched on the name against the protocol's classes. Returns the id, the
    class and the patient's medication findings after this record."""
    on = event_date(ctx, "start_date", start_date)
    stop = None if stop_date is None else event_date(ctx, "stop_date", stop_date)
    if stop is not None:
        not_before("stop_date", stop, on, "start_date")
    if ongoing is None:
        ongoing = stop is None
    if ongoing and stop is not None:
        raise InvalidInput.field("ongoing", ongoing, "false when a stop_date is given")
    if not ongoing and stop is None:
        raise InvalidInput.field("stop_date", None, "a stop date for a medication not ongoing")
    classes = {c.id for c in ctx.protocol.medication.classes}
    if drug_class is not None and drug_class not in classes:
        raise InvalidInput.field("drug_class", drug_class, f"one of {sorted(classes)}")
    klass = drug_class or ctx.protocol.medication.classify(name)
    with ctx.store.unit_of_work() as session:
        # Medication started before consent is still recorded (prior and ongoing
        # medication): the consent gate checks the consent now, not at the start date.
        patient = enter_any(session, ctx, patient_id, "record_conmed")
        row = writes.insert(
            session,
            ctx.actor,
            m.ConcomitantMedication(
                patient_id=patient.id,
                start_date=on,
                stop_date=stop,
                ongoing=ongoing,
                name=name,
                drug_class=klass,
                indication=indication,
                dose_value=dose_value,
                dose_unit=dose_unit,
                frequency=frequency,
            ),
        )
        findings = patient_findings(session, ctx.protocol, patient.id, ctx.today())
        return {
            "conmed_id": row.id,
            "drug_class": klass,
            "findings": [asdict(f) for f in findings],
        }


@service
def record_medical_history(
    ctx: Context,
    patient_id: RecordId,
    recorded_on: dt.date | str,
    *,
    condition: Name,
    onset_year: Annotated[int, Field(ge=1900, le=2200)] | None = None,
    ongoing: bool = False,
    note: Annotated[str, Field(max_length=10_000)] | None = None,
) -> int:
    """A prior or ongoing condition, recorded at screening (e.g. chronic hepatitis B)."""
    on = event_date(ctx, "recorded_on", recorded_on)
    if onset_year is not None and onset_year > on.year:
        raise InvalidInput.field("onset_year", onset_year, f"a year up to {on.year}")
    with ctx.store.unit_of_work() as session:
        patient = enter_any(session, ctx, patient_id, "record_medical_history")
        row = m.MedicalHistory(
            patient_id=patient.id,
            recorded_on=on,
            condition=condition,
            onset_year=onset_year,
            ongoing=ongoing,
            note=note,
        )
        return writes.insert(session, ctx.actor, row).id


def _induction_start(session: Any, patient_id: int) -> dt.date | None:
    steps = queries.rows_for(session, m.StateChange, patient_id, m.StateChange.id)
    return next((s.on_date for s in steps if s.to_state == INDUCTION), None)


def _active(med: m.ConcomitantMedication, on: dt.date) -> bool:
    return med.start_date <= on and (med.stop_date is None or med.stop_date >= on)


def patient_findings(
    session: Any, protocol: Any, patient_id: int, today: dt.date, meds: list | None = None
) -> list[Finding]:
    """Every medication rule of the protocol checked on one patient's records (``meds``:
    the patient's medications, when the caller has read them already)."""
    if meds is None:
        meds = queries.rows_for(session, m.ConcomitantMedication, patient_id)
    labs = queries.rows_for(session, m.LabResult, patient_id, m.LabResult.sampled_on)
    doses = queries.rows_for(session, m.DrugAdministration, patient_id)
    return check_rules(protocol, meds, labs, doses, _induction_start(session, patient_id))


def check_rules(
    protocol: Any,
    meds: list[Any],
    labs: list[Any],
    doses: list[Any],
    induction_start: dt.date | None,
) -> list[Finding]:
    """The protocol's medication rules on plain records (pure; the service reads them)."""
    out: list[Finding] = []
    for rule in protocol.medication.rules:
        of_class = [med for med in meds if med.drug_class == rule.drug_class]
        if rule.kind == "required_when_lab":
            out += _required_when_lab(rule, of_class, labs, doses, induction_start)
        elif rule.kind == "flag_with_drug":
            given = sorted(d.given_on for d in doses if d.drug == rule.drug)
            for med in of_class:
                during = [d for d in given if _active(med, d)]
                if during:
                    out.append(
                        Finding(
                            rule.id,
                            "flag",
                            during[0].isoformat(),
                            f"{med.name} ({rule.drug_class}) taken while {rule.drug} was given "
                            f"({len(during)} dose(s), first {during[0]}): {rule.text}",
                        )
                    )
        elif rule.kind == "washout" and induction_start is not None:
            limit = induction_start - dt.timedelta(days=rule.days)
            for med in of_class:
                if med.start_date <= induction_start and (
                    med.stop_date is None or med.stop_date > limit
                ):
                    stopped = "still taken" if med.stop_date is None else f"stopped {med.stop_date}"
                    out.append(
                        Finding(
                            rule.id,
                            "violation",
                            induction_start.isoformat(),
                            f"{med.name} {stopped}; induction started {induction_start}, "
                            f"needs a stop on or before {limit}: {rule.text}",
                        )
                    )
    return out


def _required_when_lab(rule, meds, labs, doses, induction_start) -> list[Finding]:
    positive = [
        lab
        for lab in labs
        if lab.test == rule.lab and lab.unit == rule.unit and lab.value > rule.above
    ]
    if not positive:
        return []
    first = positive[0]
    out = []
    # From induction (or from the positive result if later), the medication must be taken.
    needed_from = max(first.sampled_on, induction_start) if induction_start else None
    if needed_from is not None and not any(_active(med, needed_from) for med in meds):
        out.append(
            Finding(
                rule.id,
                "violation",
                needed_from.isoformat(),
                f"{rule.lab} {first.value:g} {rule.unit} on {first.sampled_on} (> {rule.above:g}): "
                f"no {rule.drug_class} taken on {needed_from}: {rule.text}",
            )
        )
    given = sorted(d.given_on for d in doses)
    if rule.monitoring_weeks and induction_start and given:
        gap = dt.timedelta(weeks=rule.monitoring_weeks)
        tests = sorted({lab.sampled_on for lab in labs if lab.test == rule.lab})
        points = [induction_start] + [d for d in tests if induction_start <= d <= given[-1]]
        points.append(given[-1])
        for before, after in zip(points, points[1:], strict=False):
            if after - before > gap:
                out.append(
                    Finding(
                        rule.id,
                        "violation",
                        (before + gap).isoformat(),
                        f"no {rule.lab} test between {before} and {after} while on treatment "
                        f"(every {rule.monitoring_weeks} weeks): {rule.text}",
                    )
                )
    return out


@service
def medication_checks(ctx: Context, patient_id: RecordId) -> dict[str, Any]:
    """One patient's medications, medical history and rule findings."""
    with ctx.store.read_only() as session:
        patient, _ = require_patient(session, ctx, "medication_checks", patient_id)
        meds = queries.rows_for(session, m.ConcomitantMedication, patient.id)
        history = queries.rows_for(session, m.MedicalHistory, patient.id)
        findings = patient_findings(session, ctx.protocol, patient.id, ctx.today(), meds)
        return {
            "patient_id": patient.id,
            "medications": [
                {
                    "conmed_id": med.id,
                    "name": med.name,
                    "drug_class": med.drug_class,
                    "indication": med.indication,
                    "dose_value": med.dose_value,
                    "dose_unit": med.dose_unit,
                    "frequency": med.frequency,
                    "start_date": med.start_date.isoformat(),
                    "stop_date": None if med.stop_date is None else med.stop_date.isoformat(),
                    "ongoing": med.ongoing,
                }
                for med in meds
            ],
            "medical_history": [
                {
                    "condition": h.condition,
                    "onset_year": h.onset_year,
                    "ongoing": h.ongoing,
                    "recorded_on": h.recorded_on.isoformat(),
                }
                for h in history
            ],
            "findings": [asdict(f) for f in findings],
        }


@service
def medication_alerts(ctx: Context) -> list[dict[str, Any]]:
    """Every medication finding of the patients the caller may read (for the dashboard)."""
    out = []
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "medication_alerts")
        for patient, site in patients_in_states(session, scope.sql_filter(), STATES):
            for finding in patient_findings(session, ctx.protocol, patient.id, ctx.today()):
                out.append(
                    {"patient_id": patient.id, "pseudo_id": patient.pseudo_id, "site": site}
                    | asdict(finding)
                )
    return out
