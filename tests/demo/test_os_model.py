"""The demo's OS: TTF plus post-failure survival, calibrated to the published OS HR and CI,
and moving with anything that delays failure (dynamic reassessment).

Model: OS = T + S (design.os_model; the "OS = PFS + survival post progression" structure of
Broglio & Berry, J Natl Cancer Inst 2009;101:1642-1649). Targets (seed article): OS HR 0.67,
95% CI 0.35-1.29 -> SE of the log HR (ln 1.29 - ln 0.35) / 3.92 = 0.333. Reference values are
the large-sample Cox limits (Struthers & Kalbfleisch, Biometrika 1986) at the data cut.
"""

import math

import numpy as np
import pytest

from talentop.demo.outcomes import os_months, outcome_model, switched_time
from talentop.design.os_model import os_survival


def test_convolution_matches_simulation():
    """P(OS > t) by the convolution equals a 400,000-draw simulation of T + S (3 MC SEs)."""
    ttf = [(0.0, 0.09), (0.4, 0.03)]
    rng = np.random.default_rng(7)
    n = 400_000
    e = rng.exponential(size=n)
    t = np.where(e < 0.09 * 0.4, e / 0.09, 0.4 + (e - 0.09 * 0.4) / 0.03)
    dies = rng.random(n) < 0.1
    total = t + np.where(dies, 0.0, rng.exponential(size=n) / 0.05)
    grid = np.array([6.0, 12.0, 24.0, 36.0])
    analytic = os_survival(ttf, 0.05, 0.1, grid)
    simulated = (total[:, None] > grid).mean(axis=0)
    se = np.sqrt(simulated * (1 - simulated) / n)
    assert np.all(np.abs(analytic - simulated) < 3 * se + 1e-4)


@pytest.mark.parametrize("post_hazard", [0.005, 0.05, 1.4, 30.0])
def test_running_sum_convolution_equals_the_sum_per_time(monkeypatch, post_hazard):
    """The one-pass convolution (a running sum of fail x exp(lambda mid)) equals the
    original sum over the cells before each t, which it replaced for speed: 1e-13 absolute
    over 0-60 months (unsorted times, one at 0), for post-failure medians 0.5 to 140
    months; at 30 /month lambda x t is past the overflow guard and the per-t sums run."""
    from talentop.design import os_model

    ttf = [(0.0, 0.09), (0.4, 0.03), (12.0, 0.05)]
    grid = np.concatenate([np.arange(0.0, 60.0, 0.25)[::-1], [7.3, 0.0]])
    fast = os_survival(ttf, post_hazard, 0.1, grid)
    monkeypatch.setattr(os_model, "_MAX_EXPONENT", -1.0)  # force the per-t sums
    per_t = os_survival(ttf, post_hazard, 0.1, grid)
    np.testing.assert_allclose(fast, per_t, rtol=0, atol=1e-13)
    assert fast[-1] == pytest.approx(1.0)


def test_post_failure_hazards_reproduce_the_published_os_hr_and_ci():
    model = outcome_model()
    assert model.expected["os_hr"] == pytest.approx(0.67, abs=1e-4)
    se = (math.log(1.29) - math.log(0.35)) / (2 * 1.959964)
    assert model.expected["os_se_log_hr"] == pytest.approx(se, abs=1e-3)
    # about 4 / se^2 = 36 deaths under PH (Schoenfeld); the crossing hazards give a few more
    assert 30 < model.expected["os_deaths"] < 45


def test_os_moves_with_a_switch_to_surgery():
    """An arm-B patient switched at month 4 while failure-free: failure is delayed (operated
    hazard from the switch) and so is death. Over 20,000 patients the mean OS restricted to
    36 months rises by clearly more than its Monte Carlo SE; under the old one-draw coupling
    of TTF and OS the same switch moved OS only for the late survivors."""
    model = outcome_model()
    rng = np.random.default_rng(3)
    n = 20_000
    e = rng.exponential(size=n)
    dies = rng.random(n) < model.death_at_failure
    unit = rng.exponential(size=n)
    systemic = model.ttf_systemic.inverse(e)
    switched = switched_time(model.ttf_systemic, model.ttf_operated, np.full(n, 4.0), e)
    os_b = np.array(
        [
            os_months(model, t, "systemic", d, u)
            for t, d, u in zip(systemic, dies, unit, strict=True)
        ]
    )
    os_s = np.array(
        [
            os_months(model, t, "switched", d, u)
            for t, d, u in zip(switched, dies, unit, strict=True)
        ]
    )
    gain = np.minimum(os_s, 36) - np.minimum(os_b, 36)
    assert gain.mean() > 5 * gain.std(ddof=1) / math.sqrt(n)
    assert gain.mean() > 0.5  # months of restricted mean survival
    # patients still failure-free at the switch, dying before month 36 without it: some now live
    at_risk = systemic > 4
    saved = at_risk & (os_b < 36) & (os_s >= 36)
    assert saved.sum() > 0.02 * at_risk.sum()


@pytest.mark.slow
def test_expected_os_hr_moves_towards_1_with_dynamic_reassessment():
    """Arm-B patients who respond and become resectable switch; with OS = TTF + post-failure
    survival their deaths come later, so arm B improves and the OS HR (A vs B) rises towards 1.
    Common random numbers: the same 8,000 patients in both readings."""
    from talentop.demo.expected import os_hr_with_reassessment

    model = outcome_model()
    out = os_hr_with_reassessment(model, (model.data_cut_months, 48.0))
    for month in (model.data_cut_months, 48.0):
        assert out["standard"][month] == pytest.approx(0.67, abs=0.05)
        assert out["dynamic"][month] > out["standard"][month] + 0.01
