"""RMST: survRM2's variance by hand, lifelines for the area, a seeded bootstrap for the SE."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from numpy.testing import assert_allclose

from talentop.errors import InvalidInput
from talentop.stats import rmst

from .conftest import simulated


def test_one_group_by_hand():
    """times 1,2+,3,4,5+ ; tau = 4.5. KM: S = .8 on [1,3), .5333 on [3,4), .2667 on [4,4.5].
    RMST = 1 + .8*2 + .5333*1 + .2667*.5 = 3.266667.
    survRM2 variance = sum A_i^2 d_i/(n_i(n_i-d_i)), A_i = area from t_i to tau:
      t=1: 2.266667^2 * 1/(5*4) = 0.256889 ; t=3: 0.666667^2 * 1/(3*2) = 0.074074 ;
      t=4: 0.133333^2 * 1/(2*1) = 0.008889 ; total 0.339852, se = 0.582968.
    """
    result = rmst([1, 2, 3, 4, 5], [1, 0, 1, 1, 0], tau=4.5)
    assert result.estimate == pytest.approx(3.266667, abs=1e-6)
    assert result.se == pytest.approx(0.582968, abs=1e-6)


def test_area_matches_lifelines(lung):
    for tau in (180, 365, 730):
        ours = rmst(lung.time, lung.status, tau=tau).estimate
        kmf = KaplanMeierFitter().fit(lung.time, lung.status)
        assert_allclose(ours, restricted_mean_survival_time(kmf, t=tau), rtol=1e-10)


def test_two_groups_difference_and_ratio(lung):
    result = rmst(lung.time, lung.status, tau=365, group=lung.sex)
    one = rmst(lung.time[lung.sex == 1], lung.status[lung.sex == 1], tau=365)
    two = rmst(lung.time[lung.sex == 2], lung.status[lung.sex == 2], tau=365)
    assert result.difference == pytest.approx(two.estimate - one.estimate, rel=1e-12)
    assert result.se == pytest.approx(np.hypot(one.se, two.se), rel=1e-12)
    assert result.ci[0] < result.difference < result.ci[1]
    assert result.ratio == pytest.approx(two.estimate / one.estimate)
    assert result.reference == 1
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["arms"][0]["n"] == 138
    flipped = rmst(lung.time, lung.status, tau=365, group=lung.sex, reference=2)
    assert flipped.difference == pytest.approx(-result.difference)


def test_se_of_difference_agrees_with_bootstrap():
    """Seeded nonparametric bootstrap, B = 400 resamples within arms. The Monte-Carlo
    relative error of a bootstrap SD is about 1/sqrt(2B) = 3.5%; allow 12% (3.4 MC SDs),
    and the analytic SE itself is only asymptotically exact at n = 300."""
    data = simulated(300, seed=31, grid=0.05)
    tau = 1.5
    analytic = rmst(data.time, data.event, tau=tau, group=data.arm)
    rng = np.random.default_rng(2024)
    arms = [data[data.arm == a] for a in (0, 1)]
    diffs = []
    for _ in range(400):
        boot = [arm.iloc[rng.integers(0, len(arm), len(arm))] for arm in arms]
        means = [rmst(b.time, b.event, tau=tau).estimate for b in boot]
        diffs.append(means[1] - means[0])
    assert np.std(diffs, ddof=1) == pytest.approx(analytic.se, rel=0.12)


def test_tau_beyond_follow_up_and_bad_groups(lung):
    with pytest.raises(InvalidInput, match="tau=2000: expected at most the last follow-up"):
        rmst(lung.time, lung.status, tau=2000, group=lung.sex)
    with pytest.raises(InvalidInput, match="tau=-1: expected a finite time > 0"):
        rmst(lung.time, lung.status, tau=-1)
    with pytest.raises(InvalidInput, match="exactly two groups"):
        rmst(lung.time, lung.status, tau=100, group=lung["ph.ecog"].fillna(0))
