"""Induction (screened -> induction) and drug administrations checked against the protocol."""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import InvalidInput
from talentop.protocol import Protocol
from talentop.services._context import (
    Context,
    enter,
    event_date,
    not_before,
    state_on,
    transition,
    violation,
)
from talentop.services._validate import RecordId, service
from talentop.services.dose_dates import check_dose_dates
from talentop.services.states import INDUCTION, MAINTENANCE
from talentop.store import models as m
from talentop.store import path_queries, queries, writes

#: Relative difference between the dose given and the protocol dose recorded as a deviation.
#: 10% is the usual tolerance for IV antibody dosing (weight measured on the day, rounding
#: to whole vials); a larger difference is flagged, never refused.
DOSE_TOLERANCE = 0.10
PHASES = ("induction", "continued", "maintenance")


@service
def start_induction(ctx: Context, patient_id: RecordId, start_date: dt.date | str) -> None:
    """An eligible patient starts induction: ``screened`` -> ``induction``.

    Refused when the protocol has no induction before randomisation
    (``induction.before_randomisation`` false: randomised at entry, e.g. TALENTACE).
    """
    on = event_date(ctx, "start_date", start_date)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "start_induction", patient_id)
        if not ctx.protocol.induction.before_randomisation:
            raise violation(
                f"protocol {ctx.protocol.id} has no induction before randomisation",
                state=patient.state,
                rule="randomisation at entry: treatment starts after randomisation",
            )
        screening = queries.latest(session, m.Screening, patient.id, m.Screening.screened_on)
        not_before("start_date", on, screening.screened_on if screening else None, "screening")
        transition(session, ctx, patient, INDUCTION, on_date=on)


def protocol_dose_mg(
    protocol: Protocol, phase: str, cycle: int, drug: str, weight_kg: float | None
) -> float:
    """The dose the protocol prescribes (mg) for this drug in this cycle.

    Induction doses come from the protocol's cycle table; later phases (continued arm-B
    treatment, maintenance) use the drug's induction dose, as the protocol gives no other.
    A drug the protocol does not give in that induction cycle is a ``ProtocolViolation``
    (e.g. bevacizumab in cycle 4 of TALENTOP, left out before surgery).
    """
    cycles = protocol.induction.cycles
    if phase == "induction":
        if not 1 <= cycle <= len(cycles):
            raise InvalidInput.field("cycle", cycle, f"an induction cycle 1..{len(cycles)}")
        doses = [d for d in cycles[cycle - 1].drugs if d.drug == drug]
        if not doses:
            given = [d.drug for d in cycles[cycle - 1].drugs]
            raise violation(
                f"{drug} is not given in induction cycle {cycle} (protocol gives {given})",
                state=INDUCTION,
                rule="induction drugs follow the protocol's cycle table",
            )
    else:
        doses = [d for c in cycles for d in c.drugs if d.drug == drug][:1]
        if not doses:
            known = sorted({d.drug for c in cycles for d in c.drugs})
            raise InvalidInput.field("drug", drug, f"a protocol drug, one of {known}")
    dose = doses[0]
    if dose.dose_unit == "mg":
        return float(dose.dose)
    if weight_kg is None:
        raise InvalidInput.field(
            "weight_kg", weight_kg, f"the weight in kg: {drug} is dosed per kg"
        )
    return float(dose.dose) * weight_kg


@service
def record_dose(
    ctx: Context,
    patient_id: RecordId,
    *,
    cycle: int,
    drug: str,
    dose_given_mg: float,
    given_on: dt.date | str,
    weight_kg: float | None = None,
    phase: str | None = None,
    override_reason: str | None = None,
) -> dict[str, Any]:
    """Record one drug given in one cycle; computes the protocol dose and flags deviations.

    ``phase`` defaults to "induction" during induction, "maintenance" in maintenance and
    "continued" otherwise. Delay = days after (previous cycle + cycle length) beyond the
    protocol's visit window. Deviations (dose outside 10%, delay) are recorded, not refused.
    Date floors (``check_dose_dates``): induction doses on or after the screening and the
    induction start, later phases on or after randomisation (maintenance: its start), and
    bevacizumab >= ``surgery.bevacizumab_restart_min_days`` after surgery unless
    ``override_reason`` is given (then recorded as a protocol deviation).
    """
    on = event_date(ctx, "given_on", given_on)
    problems = []
    if isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 1:
        problems.append(f"cycle={cycle!r}: expected a cycle number >= 1")
    if (
        isinstance(dose_given_mg, bool)
        or not isinstance(dose_given_mg, int | float)
        or not 0 < dose_given_mg <= 10000
    ):
        problems.append(f"dose_given_mg={dose_given_mg!r}: expected a dose in mg, 0-10000")
    if weight_kg is not None and not (20 <= weight_kg <= 300):
        problems.append(f"weight_kg={weight_kg!r}: expected a body weight 20-300 kg")
    if phase is not None and phase not in PHASES:
        problems.append(f"phase={phase!r}: expected one of {list(PHASES)}")
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_dose", patient_id, on=on, field="given_on")
        # A dose entered after a recorded death is checked against the state on its date.
        state = state_on(session, patient, on)
        phase = phase or {"induction": "induction", "maintenance": "maintenance"}.get(
            state, "continued"
        )
        if (phase == "induction") != (state == INDUCTION):
            raise violation(
                f"phase {phase!r} does not match the patient's state",
                state=state,
                rule="induction doses only during induction; continued/maintenance doses after it",
            )
        steps = path_queries.state_steps(session, patient.id)
        if state == MAINTENANCE:
            _check_maintenance_cap(session, ctx, patient, on, steps)
        restart_note = check_dose_dates(
            session,
            ctx,
            patient,
            phase,
            drug,
            on,
            state=state,
            override_reason=override_reason,
            steps=steps,
        )
        computed = protocol_dose_mg(ctx.protocol, phase, cycle, drug, weight_kg)
        # Only this cycle and the one before matter (duplicate check, cycle clock): one
        # query for those rows, not the patient's whole dosing history.
        nearby = path_queries.doses_of_cycles(session, patient.id, phase, cycle)
        if any(c == cycle and d == drug for c, d, _ in nearby):
            raise InvalidInput.field(
                "cycle", cycle, f"a cycle in which {drug} was not yet recorded"
            )
        notes = [restart_note] if restart_note else []
        if abs(dose_given_mg - computed) > DOSE_TOLERANCE * computed:
            notes.append(
                f"dose {dose_given_mg:g} mg differs from protocol {computed:g} mg by more than "
                f"{DOSE_TOLERANCE:.0%}"
            )
        delay_days = 0
        # The cycle clock runs per drug: cycle k is due one cycle after the same drug's cycle
        # k-1 (atezolizumab and bevacizumab of one cycle may be given on different days); a
        # drug left out of cycle k-1 falls back to the latest dose of that cycle.
        previous_cycle = [given for c, _, given in nearby if c == cycle - 1]
        same_drug = [given for c, d, given in nearby if c == cycle - 1 and d == drug]
        previous = same_drug or previous_cycle[-1:]
        if previous:
            planned = previous[0] + dt.timedelta(days=ctx.protocol.induction.cycle_length_days)
            not_before("given_on", on, previous[0], f"cycle {cycle - 1}")
            delay_days = max(0, (on - planned).days)
            if delay_days > ctx.protocol.induction.visit_window_days:
                notes.append(
                    f"cycle {cycle} given {delay_days} days late (window "
                    f"{ctx.protocol.induction.visit_window_days} days)"
                )
        dose = writes.insert(
            session,
            ctx.actor,
            m.DrugAdministration(
                patient_id=patient.id,
                phase=phase,
                cycle=cycle,
                drug=drug,
                given_on=on,
                weight_kg=weight_kg,
                dose_computed_mg=round(computed, 3),
                dose_given_mg=float(dose_given_mg),
                delay_days=delay_days,
                deviation="; ".join(notes) or None,
            ),
        )
        for note in notes:
            writes.insert(
                session,
                ctx.actor,
                m.ProtocolDeviation(
                    patient_id=patient.id,
                    deviation_date=on,
                    category="bevacizumab_restart" if note is restart_note else "dosing",
                    description=note,
                ),
            )
        return {
            "administration_id": dose.id,
            "dose_computed_mg": dose.dose_computed_mg,
            "delay_days": delay_days,
            "deviations": notes,
        }


def _check_maintenance_cap(
    session: Any, ctx: Context, patient: m.Patient, on: dt.date, steps: list[Any] | None = None
) -> None:
    """Refuse maintenance doses beyond the arm's cap (TALENTOP arm A: 12 months)."""
    cap_months = ctx.protocol.arm(patient.arm or "").maintenance_cap_months
    if steps is None:
        steps = path_queries.state_steps(session, patient.id)
    starts = [on_date for state, on_date in steps if state == MAINTENANCE]
    if cap_months is None or not starts or starts[-1] is None:
        return
    # Calendar months as average month length (365.25 / 12 days), as for AVAL in ADTTE.
    limit = starts[-1] + dt.timedelta(days=int(cap_months * 365.25 / 12))
    if on > limit:
        raise violation(
            f"dose on {on} is after the {cap_months}-month maintenance cap ({limit})",
            state=MAINTENANCE,
            rule=f"arm {patient.arm} maintenance lasts at most {cap_months} months",
        )


def induction_complete(protocol: Protocol, doses: list[m.DrugAdministration]) -> list[int]:
    """Induction cycles with no recorded administration (empty when induction is complete)."""
    given = {d.cycle for d in doses if d.phase == "induction"}
    return [c.number for c in protocol.induction.cycles if c.number not in given]
