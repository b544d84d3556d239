"""The planned analysis of a pre-specified SAP: events per look and bounds, and an interim
judged against that plan (never against the observed result).

Events: Schoenfeld's fixed-design count for the planned HR, alpha, sidedness and power, times
the group-sequential inflation of the spending design (gsDesign ``gsDesign(k, test.type,
alpha, beta, timing, sfu)`` sizes the same way). At an interim, the information fraction is
observed events / planned maximum events, and the efficacy bound is recomputed by the same
spending function at that fraction (Lan & DeMets, Biometrika 1983;70:659-663).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from talentop.design.boundaries import gs_boundaries
from talentop.design.sample_size import schoenfeld_events_exact

#: ``PlannedAnalysis.at_interim`` with no event observed: nothing spent, nothing to test.
NO_EVENTS_NOTE = "no events observed: no information, no alpha spent, no bound to test against"


def look_event_counts(fixed_events: float, inflation: float, fractions: list[float]) -> list[int]:
    """Whole events per look: the final is ceil(fixed x inflation), the others ceil(f x final)."""
    final = math.ceil(round(fixed_events * inflation, 9))
    events = [max(1, math.ceil(round(f * final, 9))) for f in fractions]
    events[-1] = final
    return events


@dataclass(frozen=True)
class PlannedAnalysis:
    """What the SAP fixes before any data: events per look and the efficacy bounds."""

    hazard_ratio: float
    alpha: float  # total over ``sided`` tails
    sided: int
    power: float
    looks: list[float]
    spending: str
    allocation: float
    fixed_events: float
    inflation: float
    look_events: list[int]
    efficacy_z: list[float]
    nominal_p: list[float]

    @property
    def max_events(self) -> int:
        return self.look_events[-1]

    def at_interim(self, observed_events: int, observed_z: float | None) -> dict[str, object]:
        """The first interim against the plan: fraction of the planned events, the bound
        recomputed at that fraction (Lan-DeMets), and whether the observed z crossed it.

        The later planned looks stay as planned; an interim at or past the maximum is the
        final analysis (fraction 1).
        """
        common = {
            "planned_events": self.max_events,
            "observed_events": observed_events,
            "observed_z": observed_z,
        }
        if observed_events == 0:
            # No information yet: the spending function spends nothing at fraction 0, so
            # there is no bound to compare with (gs_boundaries takes fractions > 0 only).
            return common | {
                "information_fraction": 0.0,
                "efficacy_z": None,
                "nominal_p": None,
                "cumulative_alpha": 0.0,
                "crossed": None,
                "note": NO_EVENTS_NOTE,
            }
        observed_fraction = observed_events / self.max_events
        fraction = min(observed_fraction, 1.0)
        later = [f for f in self.looks if f > fraction]
        design = gs_boundaries(
            information=[fraction, *later] if later else [1.0],
            alpha=self.alpha,
            spending=self.spending,
            sided=self.sided,
        )
        bound = float(design.efficacy_z[0])
        return common | {
            "information_fraction": fraction,
            "efficacy_z": bound,
            "nominal_p": float(design.nominal_p[0]),
            "cumulative_alpha": float(design.cumulative_alpha[0]),
            "crossed": None if observed_z is None else bool(observed_z >= bound),
            # Never rescaled silently: past the planned events, this is the final analysis.
            "note": None
            if observed_fraction <= 1
            else (
                f"{observed_events} events observed, {self.max_events} planned (information "
                f"fraction {observed_fraction:.2f}): analysed as the final look, with all of "
                "alpha"
            ),
        }


def planned_analysis(
    *,
    hazard_ratio: float,
    alpha: float,
    sided: int,
    power: float,
    looks: list[float],
    spending: str,
    allocation: float = 0.5,
) -> PlannedAnalysis:
    """Events and bounds the SAP's assumptions imply (see module docstring)."""
    design = gs_boundaries(
        information=list(looks), alpha=alpha, spending=spending, beta=1 - power, sided=sided
    )
    fixed = schoenfeld_events_exact(
        hazard_ratio=hazard_ratio, alpha=alpha, power=power, allocation=allocation, sided=sided
    )
    inflation = float(design.inflation)
    return PlannedAnalysis(
        hazard_ratio=hazard_ratio,
        alpha=alpha,
        sided=sided,
        power=power,
        looks=list(looks),
        spending=spending,
        allocation=allocation,
        fixed_events=fixed,
        inflation=inflation,
        look_events=look_event_counts(fixed, inflation, list(design.information)),
        efficacy_z=[float(z) for z in design.efficacy_z],
        nominal_p=[float(p) for p in design.nominal_p],
    )


def plan_from_sap(sap, allocation: float = 0.5) -> PlannedAnalysis:
    """``planned_analysis`` of a protocol's ``sap`` section (``protocol.plan.Sap``)."""
    return planned_analysis(
        hazard_ratio=sap.planned_hazard_ratio,
        alpha=sap.alpha.value,
        sided=sap.sided.value,
        power=sap.power.value,
        looks=list(sap.looks.value),
        spending=sap.spending.value,
        allocation=allocation,
    )
