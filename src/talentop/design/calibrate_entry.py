"""Calibrate a two-arm trial with an exponential control and a two-piece experimental hazard to
published medians and a hazard ratio (e.g. TALENTACE: TACE-PFS 11.30 vs 7.03 months, HR 0.71).

With proportional hazards the medians fix the HR (7.03 / 11.30 = 0.62); a published HR of
0.71 with those medians means the hazards are not proportional (the TALENTACE curves
separated early and converged around 24 months). Model: control hazard ``c1`` from its
published median, changing at ``change_month`` to ``c2`` fitted to a published later KM rate
of the control arm (``control_rate``: (month, survival); without it the control stays
exponential); experimental hazard ``h1`` up to ``change_month``, ``h2`` after it: ``h1``
solved for the experimental median, ``h2`` for the large-sample Cox HR at the data cut
(``limiting_cox``, Struthers & Kalbfleisch 1986), under uniform accrual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq

from talentop.design.asymptotic import LimitingCox, limiting_cox, true_median
from talentop.design.events import accrual_for
from talentop.design.trial import TrialDesign
from talentop.errors import ConvergenceError, InvalidInput


@dataclass(frozen=True)
class TwoPieceFit:
    """Fitted hazards (per month) and the large-sample values at the data cut."""

    control: list[tuple[float, float]]  # [(0, c1)] or [(0, c1), (change_month, c2)]
    experimental: list[tuple[float, float]]  # [(0, h1), (change_month, h2)]
    limit: LimitingCox
    design: TrialDesign

    @property
    def hazard_ratio(self) -> float:
        return math.exp(self.limit.log_hr)


def fit_two_piece(
    *,
    control_median: float,
    experimental_median: float,
    hazard_ratio: float,
    n_patients: int,
    accrual_months: float,
    data_cut_months: float,
    change_month: float,
    control_rate: tuple[float, float] | None = None,
) -> TwoPieceFit:
    """Solve the control pieces, ``h1`` (experimental median) then ``h2`` (Cox HR at the cut)."""
    problems = []
    for name, value in (
        ("control_median", control_median),
        ("experimental_median", experimental_median),
        ("hazard_ratio", hazard_ratio),
        ("accrual_months", accrual_months),
        ("change_month", change_month),
    ):
        if not (isinstance(value, int | float) and value > 0):
            problems.append(f"{name}={value!r}: expected a number > 0")
    if data_cut_months <= accrual_months:
        problems.append(
            f"data_cut_months={data_cut_months!r}: expected after the end of accrual "
            f"({accrual_months})"
        )
    if control_median > change_month:
        problems.append(
            f"control_median={control_median!r}: expected at most change_month={change_month!r}"
        )
    if control_rate is not None and not (
        control_rate[0] > change_month and 0 < control_rate[1] < 0.5
    ):
        problems.append(
            f"control_rate={control_rate!r}: expected (month after change_month, survival "
            "below the median's 0.5)"
        )
    if problems:
        raise InvalidInput(problems)
    c1 = math.log(2) / control_median
    control = [(0.0, c1)]
    if control_rate is not None:
        month, rate = control_rate
        at_change = math.exp(-c1 * change_month)
        c2 = -math.log(rate / at_change) / (month - change_month)
        if c2 <= 0:
            raise ConvergenceError(
                f"control_rate={control_rate}: above the survival at month {change_month:g} "
                f"({at_change:.3f}) under the median"
            )
        control.append((change_month, c2))

    def design(h1: float, h2: float) -> TrialDesign:
        return TrialDesign.build(
            arms=(
                {"name": "A", "hazards": [(0.0, h1), (change_month, h2)]},
                {"name": "B", "hazards": control},
            ),
            n_patients=n_patients,
            accrual=accrual_for(n_patients, accrual_months),
            look_events=[1],
            max_duration_months=data_cut_months,
        )

    if experimental_median <= change_month:
        h1 = math.log(2) / experimental_median

        def solve_h1(h2: float) -> float:
            return h1
    else:

        def solve_h1(h2: float) -> float:
            def excess(h: float) -> float:
                return true_median(design(h, h2), 0) - experimental_median

            return float(brentq(excess, 1e-6, 5.0, xtol=1e-12))

    def hr_excess(h2: float) -> float:
        return limiting_cox(design(solve_h1(h2), h2), data_cut_months).log_hr - math.log(
            hazard_ratio
        )

    try:
        h2 = float(brentq(hr_excess, 1e-5, 5.0, xtol=1e-10))
    except ValueError:
        raise ConvergenceError(
            f"no late hazard after month {change_month:g} gives HR {hazard_ratio} with medians "
            f"{experimental_median} vs {control_median} at month {data_cut_months:g}: try "
            "another change_month"
        ) from None
    h1 = solve_h1(h2)
    fitted = design(h1, h2)
    return TwoPieceFit(
        control, [(0.0, h1), (change_month, h2)], limiting_cox(fitted, data_cut_months), fitted
    )
