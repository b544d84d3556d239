"""Atezolizumab + bevacizumab after randomisation, one ``record_dose`` call per drug and cycle.

Protocol (protocol.md, "Flow"): arm B continues atezo/bev, arm A restarts it as maintenance
after resection; both at the induction doses (atezolizumab 1200 mg, bevacizumab 15 mg/kg)
every ``induction.cycle_length_days`` (q3w). Cycle numbers continue from the induction's last
cycle; ``phase`` is "continued" before any surgery and "maintenance" after it. Dosing stops
before the first of treatment failure, death, the data cut, the arm's maintenance cap or
an arm-B switch to surgery (the bevacizumab washout is then checked by ``record_surgery``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.demo.cohort import SyntheticPatient


def _drugs(ctx: Any, patient: SyntheticPatient) -> list[tuple[str, float]]:
    """(drug, dose in mg) of the protocol's full induction cycle (cycle 1: both drugs)."""
    out = []
    for drug in ctx.protocol.induction.cycles[0].drugs:
        per_kg = drug.dose_unit == "mg_per_kg"
        out.append((drug.drug, round(drug.dose * patient.weight_kg if per_kg else drug.dose, 0)))
    return out


def record_cycles(
    ctx: Any,
    pid: int,
    patient: SyntheticPatient,
    *,
    first: dt.date,
    stop: dt.date,
    phase: str,
    first_cycle: int,
) -> int:
    """Doses q3w from ``first`` while the date is before ``stop``; returns the next cycle number."""
    from talentop.services.induction import record_dose

    interval = dt.timedelta(days=ctx.protocol.induction.cycle_length_days)
    cycle, given_on = first_cycle, first
    drugs = _drugs(ctx, patient)
    while given_on < stop:
        for drug, dose in drugs:
            record_dose(
                ctx,
                pid,
                cycle=cycle,
                drug=drug,
                dose_given_mg=dose,
                given_on=given_on,
                weight_kg=patient.weight_kg,
                phase=phase,
            )
        cycle += 1
        given_on += interval
    return cycle


def first_cycle_after_induction(ctx: Any) -> int:
    """Post-randomisation cycles continue the induction's numbering."""
    return len(ctx.protocol.induction.cycles) + 1
