"""Induction treatment: ECOG check, doses from the protocol's drug entries, the cycle
calendar and the bevacizumab-to-surgery interval.

Sources: IMbrave150 regimen / FDA label (atezolizumab 1200 mg + bevacizumab 15 mg/kg IV
q3w); bevacizumab label: withhold >= 28 days before elective surgery, restart >= 28 days
after major surgery (perioperative literature prefers 6 weeks: set
``surgery.min_days_after_bevacizumab: 42`` in the protocol or pass ``min_days=42``).
Doses and schedule come from the protocol file, never from this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from talentop.errors import InvalidInput

__all__ = [
    "CycleVisit",
    "InductionCalendar",
    "SurgeryTiming",
    "check_surgery_timing",
    "cycle_doses_mg",
    "days_from_last_bevacizumab",
    "dose_mg",
    "earliest_surgery_date",
    "induction_calendar",
    "validate_ecog",
]

#: Body weight accepted for weight-based dosing (kg); outside it is a data error.
WEIGHT_RANGE_KG = (25.0, 250.0)


def validate_ecog(value: Any) -> int:
    """ECOG performance status as an int 0-5 (Oken 1982); InvalidInput otherwise."""
    if isinstance(value, bool):
        raise InvalidInput.field("ecog", value, "a whole number 0-5")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput.field("ecog", value, "a whole number 0-5") from None
    if not number.is_integer() or not 0 <= number <= 5:
        raise InvalidInput.field("ecog", value, "a whole number 0-5")
    return int(number)


def _weight(weight_kg: Any) -> float:
    low, high = WEIGHT_RANGE_KG
    if isinstance(weight_kg, bool) or not isinstance(weight_kg, int | float):
        raise InvalidInput.field("weight_kg", weight_kg, f"a body weight in kg ({low}-{high})")
    if not low <= weight_kg <= high:
        raise InvalidInput.field("weight_kg", weight_kg, f"a plausible body weight {low}-{high} kg")
    return float(weight_kg)


def dose_mg(drug_dose: Any, *, weight_kg: float | None = None) -> float:
    """Dose in mg of one protocol drug entry (``DrugDose``): fixed, or mg/kg x weight."""
    if drug_dose.dose_unit == "mg":
        return float(drug_dose.dose)
    if drug_dose.dose_unit == "mg_per_kg":
        if weight_kg is None:
            raise InvalidInput.field(
                "weight_kg", None, f"a body weight: {drug_dose.drug} is dosed per kg"
            )
        return float(drug_dose.dose) * _weight(weight_kg)
    raise InvalidInput.field("dose_unit", drug_dose.dose_unit, "'mg' or 'mg_per_kg'")


def cycle_doses_mg(cycle: Any, *, weight_kg: float | None = None) -> dict[str, float]:
    """{drug: mg} for one ``InductionCycle``."""
    return {d.drug: dose_mg(d, weight_kg=weight_kg) for d in cycle.drugs}


@dataclass(frozen=True)
class CycleVisit:
    """One planned cycle: day-1 date, the visit window around it, and what is given."""

    number: int
    planned_date: date
    window_start: date
    window_end: date
    drugs: tuple[str, ...]
    doses_mg: dict[str, float] | None  # None when no weight was given


@dataclass(frozen=True)
class InductionCalendar:
    """The planned induction: one visit per protocol cycle, q<cycle_length_days>."""

    start_date: date
    cycle_length_days: int
    visits: tuple[CycleVisit, ...]

    @property
    def end_date(self) -> date:
        """Day after the last cycle's length: when the response assessment is due."""
        return self.visits[-1].planned_date + timedelta(days=self.cycle_length_days)

    def last_date_of(self, drug: str) -> date | None:
        """Planned date of the last cycle that gives ``drug`` (None if never given)."""
        dates = [v.planned_date for v in self.visits if drug in v.drugs]
        return max(dates) if dates else None


def induction_calendar(
    protocol: Any, start_date: date, *, weight_kg: float | None = None
) -> InductionCalendar:
    """Plan the protocol's induction from ``start_date`` (cycle 1 day 1).

    Cycle n is planned on start + (n - 1) x cycle_length_days, with a +/- visit window of
    ``induction.visit_window_days``. Doses are computed when ``weight_kg`` is given.
    """
    if not isinstance(start_date, date):
        raise InvalidInput.field("start_date", start_date, "a date")
    induction = protocol.induction
    window = timedelta(days=induction.visit_window_days)
    visits = []
    for cycle in induction.cycles:
        planned = start_date + timedelta(days=(cycle.number - 1) * induction.cycle_length_days)
        visits.append(
            CycleVisit(
                number=cycle.number,
                planned_date=planned,
                window_start=planned - window,
                window_end=planned + window,
                drugs=tuple(d.drug for d in cycle.drugs),
                doses_mg=None if weight_kg is None else cycle_doses_mg(cycle, weight_kg=weight_kg),
            )
        )
    return InductionCalendar(start_date, induction.cycle_length_days, tuple(visits))


def days_from_last_bevacizumab(
    calendar: InductionCalendar, surgery_date: date, *, drug: str = "bevacizumab"
) -> int | None:
    """Days from the last planned bevacizumab dose to surgery (None: no bevacizumab given)."""
    last = calendar.last_date_of(drug)
    if last is None:
        return None
    if surgery_date < last:
        raise InvalidInput.field(
            "surgery_date", surgery_date.isoformat(), f"a date on or after {last.isoformat()}"
        )
    return (surgery_date - last).days


@dataclass(frozen=True)
class SurgeryTiming:
    """Whether surgery is far enough from the last bevacizumab dose."""

    days_from_last_bevacizumab: int | None
    min_days: int
    ok: bool
    earliest_date: date


def earliest_surgery_date(
    calendar: InductionCalendar, protocol: Any, *, min_days: int | None = None
) -> date:
    """First date surgery may take place: last bevacizumab + minimum washout (the protocol's
    ``surgery.min_days_after_bevacizumab`` unless ``min_days`` overrides it)."""
    minimum = protocol.surgery.min_days_after_bevacizumab if min_days is None else min_days
    last = calendar.last_date_of("bevacizumab")
    return calendar.start_date if last is None else last + timedelta(days=minimum)


def check_surgery_timing(
    calendar: InductionCalendar, surgery_date: date, protocol: Any, *, min_days: int | None = None
) -> SurgeryTiming:
    """Check a planned surgery date against the protocol's bevacizumab washout."""
    minimum = protocol.surgery.min_days_after_bevacizumab if min_days is None else min_days
    days = days_from_last_bevacizumab(calendar, surgery_date)
    ok = days is None or days >= minimum
    return SurgeryTiming(
        days, minimum, ok, earliest_surgery_date(calendar, protocol, min_days=min_days)
    )
