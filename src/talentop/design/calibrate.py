"""Calibrate piecewise-exponential hazards to the published TALENTOP interim.

Targets (protocol.md, "Interim results"): median TTF 20.4 vs 11.8 months, TTF HR 0.60,
OS HR 0.67, 83 of 101 arm-A patients operated. Model: arm B exponential; operated arm-A
patients have an early surgical-risk window (higher hazard) and a lower hazard after it, so
the curves cross; the 18/101 not operated follow arm B. The HRs are the large-sample limit of
the Cox estimate at the interim data cut (``asymptotic.limiting_log_hr``), then checked by
Monte Carlo with ``simulate_trials``. What the publication does not give (accrual length,
data cut, OS control median, OS early-window HR) are stated assumptions, reported with the fit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from talentop.design.asymptotic import limiting_log_hr, true_median
from talentop.design.events import accrual_for, expected_events
from talentop.design.simulate import simulate_trials
from talentop.design.trial import TrialDesign
from talentop.errors import ConvergenceError

Hazards = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class CalibrationTargets:
    """The published interim figures (protocol.md table)."""

    ttf_median_a_months: float = 20.4
    ttf_median_b_months: float = 11.8
    ttf_hr: float = 0.60
    os_hr: float = 0.67
    randomised_a: int = 101
    randomised_b: int = 100
    operated_a: int = 83


@dataclass(frozen=True)
class CalibrationAssumptions:
    """Settings the publication does not give; change them to test sensitivity."""

    accrual_months: float = 36.0
    data_cut_months: float = 48.0  # calendar month of the interim analysis
    surgical_window_months: float = 3.0
    os_control_median_months: float = 30.0
    os_early_hr: float = 1.5  # OS hazard of operated vs arm B inside the surgical window


@dataclass
class CalibrationResult:
    """Fitted hazards, ready to generate synthetic patients.

    ``ttf_hazards["A"]`` / ``os_hazards["A"]`` are for OPERATED arm-A patients, as
    ``(start_month, hazard_per_month)`` pieces; arm-A patients not operated (fraction
    ``1 - operated_fraction``) follow ``["B"]``.
    """

    ttf_hazards: Hazards
    os_hazards: Hazards
    operated_fraction: float
    targets: CalibrationTargets
    assumptions: CalibrationAssumptions
    fit: pd.DataFrame = field(repr=False)

    def design(self, endpoint: str = "ttf") -> TrialDesign:
        """The TALENTOP interim as a ``TrialDesign`` (one look at the expected events)."""
        hazards = self.ttf_hazards if endpoint == "ttf" else self.os_hazards
        return _design(hazards, self.operated_fraction, self.targets, self.assumptions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: hazards, operated fraction, targets, assumptions and the fit table."""
        return {
            "ttf_hazards": {k: [list(p) for p in v] for k, v in self.ttf_hazards.items()},
            "os_hazards": {k: [list(p) for p in v] for k, v in self.os_hazards.items()},
            "operated_fraction": self.operated_fraction,
            "targets": asdict(self.targets),
            "assumptions": asdict(self.assumptions),
            "fit": self.fit.replace({np.nan: None}).to_dict(orient="records"),
        }


def _design(
    hazards: Hazards, operated: float, targets: CalibrationTargets, assume: CalibrationAssumptions
) -> TrialDesign:
    n = targets.randomised_a + targets.randomised_b
    return TrialDesign.build(
        arms=(
            {
                "name": "A",
                "allocation": targets.randomised_a,
                "hazards": hazards["A"],
                "noncompliance": 1 - operated,
            },
            {"name": "B", "allocation": targets.randomised_b, "hazards": hazards["B"]},
        ),
        n_patients=n,
        accrual=accrual_for(n, assume.accrual_months),
        look_events=[1],
        efficacy_z=[1.959964],  # the interim's two-sided 5 % test
        max_duration_months=assume.data_cut_months,
    )


def _two_piece(early: float, late: float, window: float) -> list[tuple[float, float]]:
    return [(0.0, early), (window, late)]


def _late_for_median(early: float, control: float, operated: float, median: float, base) -> float:
    """Late hazard of operated patients that gives the arm-A mixture median."""

    def excess(late: float) -> float:
        design = base({"A": _two_piece(early, late, base.window), "B": [(0.0, control)]})
        m = true_median(design, 0)
        return (1000.0 if math.isnan(m) else m) - median

    return float(brentq(excess, 1e-6, 5.0, xtol=1e-12))


def calibrate_talentop(
    targets: CalibrationTargets | None = None,
    assumptions: CalibrationAssumptions | None = None,
    *,
    replicates: int = 2000,
    seed: int = 20251017,
) -> CalibrationResult:
    """Fit TTF (early hazard, late hazard) to the median and HR, and OS late hazard to the HR."""
    targets = targets or CalibrationTargets()
    assume = assumptions or CalibrationAssumptions()
    operated = targets.operated_a / targets.randomised_a
    cut = assume.data_cut_months

    def base(hazards: Hazards) -> TrialDesign:
        return _design(hazards, operated, targets, assume)

    base.window = assume.surgical_window_months  # type: ignore[attr-defined]

    # TTF: arm B exponential from its median; for each early hazard the late one matches the
    # arm-A median, and the early hazard is chosen so the limiting Cox HR matches
    ttf_b = math.log(2) / targets.ttf_median_b_months

    def ttf_hazards(early: float) -> Hazards:
        late = _late_for_median(early, ttf_b, operated, targets.ttf_median_a_months, base)
        return {"A": _two_piece(early, late, assume.surgical_window_months), "B": [(0.0, ttf_b)]}

    def ttf_excess(early: float) -> float:
        try:
            hazards = ttf_hazards(early)
        except ValueError:
            # so much early failure that no late hazard reaches the median: HR far too high
            return 1.0
        return limiting_log_hr(base(hazards), cut)[0] - math.log(targets.ttf_hr)

    try:
        early = float(brentq(ttf_excess, 1e-4, 1.0, xtol=1e-10))
    except ValueError:
        raise ConvergenceError(
            f"no early-window TTF hazard reproduces HR {targets.ttf_hr} with median "
            f"{targets.ttf_median_a_months} months: try another surgical_window_months"
        ) from None
    ttf = ttf_hazards(early)

    # OS: arm B exponential (assumed median); early window = os_early_hr x arm B; late fitted
    os_b = math.log(2) / assume.os_control_median_months
    os_early = assume.os_early_hr * os_b

    def os_hazards(late: float) -> Hazards:
        return {"A": _two_piece(os_early, late, assume.surgical_window_months), "B": [(0.0, os_b)]}

    def os_excess(late: float) -> float:
        return limiting_log_hr(base(os_hazards(late)), cut)[0] - math.log(targets.os_hr)

    try:
        os_late = float(brentq(os_excess, 1e-6, 1.0, xtol=1e-12))
    except ValueError:
        raise ConvergenceError(
            f"no late OS hazard reproduces HR {targets.os_hr}: try another os_early_hr"
        ) from None
    os = os_hazards(os_late)
    fit = _fit_table(ttf, os, operated, targets, assume, replicates, seed)
    return CalibrationResult(ttf, os, operated, targets, assume, fit)


def _monte_carlo(design: TrialDesign, cut: float, replicates: int, seed: int) -> pd.DataFrame:
    events = int(round(expected_events(design, [cut])[0]))
    trial = design.model_copy(update={"look_events": [events], "max_duration_months": 10 * cut})
    return simulate_trials(trial, replicates=replicates, seed=seed)


def _fit_table(
    ttf: Hazards,
    os: Hazards,
    operated: float,
    targets: CalibrationTargets,
    assume: CalibrationAssumptions,
    replicates: int,
    seed: int,
) -> pd.DataFrame:
    cut = assume.data_cut_months
    ttf_design = _design(ttf, operated, targets, assume)
    os_design = _design(os, operated, targets, assume)
    ttf_beta, ttf_z = limiting_log_hr(ttf_design, cut)
    os_beta, os_z = limiting_log_hr(os_design, cut)
    ttf_sim = _monte_carlo(ttf_design, cut, replicates, seed)
    os_sim = _monte_carlo(os_design, cut, replicates, seed + 1)
    operated_sim = 1 - ttf_sim["noncompliant"] / targets.randomised_a

    def mc(values: pd.Series, log: bool = False) -> tuple[float, float]:
        v = np.log(values.dropna()) if log else values.dropna()
        mean, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))
        return (math.exp(mean), math.exp(mean) * se) if log else (mean, se)

    rows = [
        (
            "TTF median A (months)",
            targets.ttf_median_a_months,
            true_median(ttf_design, 0),
            *mc(ttf_sim["median_A"]),
        ),
        (
            "TTF median B (months)",
            targets.ttf_median_b_months,
            true_median(ttf_design, 1),
            *mc(ttf_sim["median_B"]),
        ),
        ("TTF hazard ratio", targets.ttf_hr, math.exp(ttf_beta), *mc(ttf_sim["hr"], log=True)),
        ("OS hazard ratio", targets.os_hr, math.exp(os_beta), *mc(os_sim["hr"], log=True)),
        ("operated fraction, arm A", operated, operated, *mc(operated_sim)),
        ("TTF expected log-rank z", None, ttf_z, *mc(ttf_sim["z_1"])),
        (
            "TTF events at the data cut",
            None,
            float(expected_events(ttf_design, [cut])[0]),
            *mc(ttf_sim["events"]),
        ),
    ]
    return pd.DataFrame(rows, columns=["quantity", "target", "analytic", "monte_carlo", "mc_se"])
