"""Required events for a two-arm log-rank comparison (Schoenfeld, Freedman).

Source: Schoenfeld, Biometrika 1981;68:316-319 and Biometrics 1983;39:499-503; Freedman,
Stat Med 1982;1:121-129; formulas as in the gsDesign "SurvivalOverview" vignette.
"""

from __future__ import annotations

import math

from talentop.errors import check_problems
from talentop.stats.distributions import norm


def _check(hazard_ratio: float, alpha: float, power: float, allocation: float, sided: int) -> None:
    problems = []
    if not (math.isfinite(hazard_ratio) and hazard_ratio > 0 and hazard_ratio != 1):
        problems.append(
            f"hazard_ratio={hazard_ratio!r}: expected a finite positive ratio other than 1"
        )
    if sided not in (1, 2):
        problems.append(f"sided={sided!r}: expected 1 or 2")
    if not 0 < alpha < 1:
        problems.append(f"alpha={alpha!r}: expected 0 < alpha < 1")
    if not 0 < power < 1:
        problems.append(f"power={power!r}: expected 0 < power < 1")
    if not 0 < allocation < 1:
        problems.append(f"allocation={allocation!r}: expected the experimental fraction, 0 < p < 1")
    check_problems(problems)


def _z_sum(alpha: float, power: float, sided: int) -> float:
    return float(norm.isf(alpha / sided) + norm.isf(1 - power))


def schoenfeld_events_exact(
    *,
    hazard_ratio: float,
    alpha: float = 0.05,
    power: float = 0.8,
    allocation: float = 0.5,
    sided: int = 2,
) -> float:
    """Schoenfeld's d = (z_a + z_b)^2 / (p (1 - p) (ln HR)^2), before rounding up."""
    _check(hazard_ratio, alpha, power, allocation, sided)
    return _z_sum(alpha, power, sided) ** 2 / (
        allocation * (1 - allocation) * math.log(hazard_ratio) ** 2
    )


def schoenfeld_events(
    *,
    hazard_ratio: float,
    alpha: float = 0.05,
    power: float = 0.8,
    allocation: float = 0.5,
    sided: int = 2,
) -> int:
    """Events needed by Schoenfeld's formula, rounded up.

    ``allocation`` is the fraction randomised to the experimental arm (r:1 gives r / (1 + r));
    ``alpha`` is split over ``sided`` tails. Example (clinical-rules.md 8.2): HR 0.7, 90 %,
    1:1, one-sided 0.025 -> 331.
    """
    exact = schoenfeld_events_exact(
        hazard_ratio=hazard_ratio, alpha=alpha, power=power, allocation=allocation, sided=sided
    )
    # round() first so 330.0000000001 from floating point does not become 331
    return math.ceil(round(exact, 9))


def freedman_events(
    *,
    hazard_ratio: float,
    alpha: float = 0.05,
    power: float = 0.8,
    allocation: float = 0.5,
    sided: int = 2,
) -> int:
    """Events by Freedman's formula d = (z_a + z_b)^2 (1 + phi HR)^2 / (phi (1 - HR)^2), rounded up.

    phi = allocation / (1 - allocation) is the experimental:control ratio.
    """
    _check(hazard_ratio, alpha, power, allocation, sided)
    phi = allocation / (1 - allocation)
    exact = (
        _z_sum(alpha, power, sided) ** 2
        * (1 + phi * hazard_ratio) ** 2
        / (phi * (1 - hazard_ratio) ** 2)
    )
    return math.ceil(round(exact, 9))


def schoenfeld_power(
    *,
    hazard_ratio: float,
    events: float,
    alpha: float = 0.025,
    allocation: float = 0.5,
    sided: int = 1,
) -> float:
    """Power of the log-rank test with ``events`` events (Schoenfeld's approximation)."""
    drift = abs(math.log(hazard_ratio)) * math.sqrt(allocation * (1 - allocation) * events)
    return float(norm.cdf(drift - norm.isf(alpha / sided)))
