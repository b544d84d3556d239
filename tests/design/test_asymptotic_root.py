"""The limiting Cox log HR's root finder (``design.asymptotic._score_root``): safeguarded
Newton on the limiting score, checked against scipy's brentq on the same score (the solver
it replaced) and against the exponential model's closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from talentop.design.asymptotic import _score_root, limiting_cox
from talentop.design.trial import Arm, TrialDesign


def _design(hazards_a, hazard_b, n=300, noncompliance=0.0):
    return TrialDesign(
        arms=(
            Arm(name="A", hazards=hazards_a, noncompliance=noncompliance),
            Arm(name="B", hazards=[(0.0, hazard_b)]),
        ),
        n_patients=n,
        accrual={"rate_per_month": 10.0, "ramp_up_months": 3.0},
        look_events=[100],
    )


@pytest.mark.parametrize(
    "hazards_a, hazard_b, noncompliance",
    [
        ([(0.0, 0.03)], 0.06, 0.0),  # proportional hazards, HR 0.5
        ([(0.0, 0.09), (0.4, 0.029)], 0.0587, 0.0),  # TALENTOP's crossing hazards
        ([(0.0, 0.2), (2.0, 0.01)], 0.05, 0.1),  # strongly crossing, 10 % non-compliance
        ([(0.0, 0.5)], 0.01, 0.0),  # log HR about 3.9: many Newton steps from 0
    ],
)
def test_newton_root_equals_brentq_on_the_same_score(hazards_a, hazard_b, noncompliance):
    """brentq(U, -10, 10, xtol=1e-12) (the previous solver) and the Newton root agree to
    1e-11; the information is V at that root."""
    design = _design(hazards_a, hazard_b, noncompliance=noncompliance)
    limit = limiting_cox(design, 40.0)
    # the same score, rebuilt from the limit's inputs through a probe of limiting_cox
    seen: list = []

    def probe(score, u0, v0, lo=-10.0, hi=10.0):
        seen.append(score)
        return _score_root(score, u0, v0, lo, hi)

    import talentop.design.asymptotic as asymptotic

    original = asymptotic._score_root
    asymptotic._score_root = probe
    try:
        assert limiting_cox(design, 40.0) == limit
    finally:
        asymptotic._score_root = original
    score = seen[0]
    expected = brentq(lambda b: score(b)[0], -10.0, 10.0, xtol=1e-12)
    assert limit.log_hr == pytest.approx(expected, abs=1e-11)
    assert limit.information == pytest.approx(score(limit.log_hr)[1], rel=1e-12)


def test_exponential_arms_without_censoring_give_the_hazard_ratio():
    """Two exponential arms, all followed to a late cut: the limiting Cox log HR is the log
    of the hazard ratio (the model holds; Struthers & Kalbfleisch 1986)."""
    design = _design([(0.0, 0.04)], 0.08, n=200)
    limit = limiting_cox(design, 2000.0)
    assert limit.log_hr == pytest.approx(math.log(0.5), abs=1e-3)


def test_a_score_without_a_sign_change_is_an_error():
    """A score positive over the whole bracket has no root: an error, not the bracket's end."""
    weights = np.array([1.0, 2.0])

    def score(beta: float) -> tuple[float, float]:
        return float(np.sum(weights) * math.exp(-beta) + 1.0), float(np.sum(weights))

    u0, v0 = score(0.0)
    with pytest.raises(ValueError, match="no root"):
        _score_root(score, u0, v0)
