"""Log-rank / Fleming-Harrington: R survdiff on lung, lifelines as oracle elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.statistics import logrank_test, multivariate_logrank_test
from numpy.testing import assert_allclose

from talentop.errors import InvalidInput
from talentop.stats import logrank

from .conftest import simulated


def test_lung_sex_matches_r(lung):
    """> survdiff(Surv(time, status) ~ sex, data = lung)
             N Observed Expected (O-E)^2/E (O-E)^2/V
    sex=1 138      112     91.6      4.55      10.3
    sex=2  90       53     73.4      5.68      10.3
     Chisq= 10.3  on 1 degrees of freedom, p= 0.001
    """
    result = logrank(lung.time, lung.status, lung.sex)
    assert result.df == 1
    assert round(result.statistic, 1) == 10.3
    assert round(result.p_value, 3) == 0.001
    assert result.table.n.tolist() == [138, 90]
    assert result.observed.tolist() == [112, 53]
    assert_allclose(result.expected, [91.6, 73.4], atol=0.05)


def test_k_groups_match_lifelines(lung):
    sub = lung.dropna(subset=["ph.ecog"])
    result = logrank(sub.time, sub.status, sub["ph.ecog"])
    ref = multivariate_logrank_test(sub.time, sub["ph.ecog"], sub.status)
    assert result.df == 3
    assert_allclose(result.statistic, ref.test_statistic, rtol=1e-10)
    assert_allclose(result.p_value, ref.p_value, rtol=1e-8)


@pytest.mark.parametrize(("rho", "gamma"), [(1, 0), (0, 1), (1, 1), (0.5, 2)])
def test_fleming_harrington_matches_lifelines(rho, gamma):
    data = simulated(300, seed=4, grid=0.1)
    m = data.arm == 1
    result = logrank(data.time, data.event, data.arm, rho=rho, gamma=gamma)
    ref = logrank_test(
        data.time[m],
        data.time[~m],
        data.event[m],
        data.event[~m],
        weightings="fleming-harrington",
        p=rho,
        q=gamma,
    )
    assert_allclose(result.statistic, ref.test_statistic, rtol=1e-10)


def test_stratified_is_sum_over_strata():
    """Stratified statistic = (sum O-E)^2 / (sum V) with each stratum's own risk sets."""
    data = simulated(400, seed=5, grid=0.05)
    result = logrank(data.time, data.event, data.arm, strata=data.site)
    total_ome = total_var = 0.0
    for _, part in data.groupby("site"):
        one = logrank(part.time, part.event, part.arm)
        total_ome += one.table.o_minus_e.iloc[0]
        total_var += one.table.variance.iloc[0]
        # a single stratum's own statistic is lifelines' plain log-rank
        m = part.arm == 1
        ref = logrank_test(part.time[m], part.time[~m], part.event[m], part.event[~m])
        assert_allclose(one.statistic, ref.test_statistic, rtol=1e-10)
    assert_allclose(result.statistic, total_ome**2 / total_var, rtol=1e-12)
    assert not np.isclose(result.statistic, logrank(data.time, data.event, data.arm).statistic)


def test_refuses_single_group_and_no_events():
    with pytest.raises(InvalidInput, match="group=1: expected at least two groups"):
        logrank([1, 2, 3], [1, 0, 1], [1, 1, 1])
    with pytest.raises(InvalidInput, match="no events"):
        logrank([1, 2, 3], [0, 0, 0], [1, 2, 1])
    with pytest.raises(InvalidInput, match="rho=-1"):
        logrank([1, 2, 3], [1, 0, 1], [1, 2, 1], rho=-1)
    with pytest.raises(InvalidInput, match="group: 1 missing label"):
        logrank([1, 2, 3], [1, 0, 1], [1, None, 2])


def test_result_is_json_safe(lung):
    import json

    result = logrank(lung.time, lung.status, lung.sex)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["df"] == 1 and "Chisq" in str(result)


def test_many_groups_use_the_bincount_path_and_match_lifelines(monkeypatch):
    """Above _SORT_PER_GROUP_MAX_K groups the counts come from bincount; both paths agree
    with lifelines' multivariate log-rank on heavily tied times."""
    import importlib

    # the package re-exports the function under the module's name
    logrank_module = importlib.import_module("talentop.stats.logrank")

    data = simulated(900, seed=31, grid=0.25)
    group = np.arange(len(data)) % 10
    ref = multivariate_logrank_test(data.time, group, data.event)
    fast = logrank(data.time, data.event, group)
    monkeypatch.setattr(logrank_module, "_SORT_PER_GROUP_MAX_K", 20)
    sorted_path = logrank(data.time, data.event, group)
    assert_allclose(fast.statistic, ref.test_statistic, rtol=1e-10)
    assert_allclose(sorted_path.statistic, ref.test_statistic, rtol=1e-10)


def test_json_rows_carry_their_label_and_a_default_index_is_left_out():
    """A script reading to_dict() rows must know which group each row is about."""
    import pandas as pd

    from talentop.stats.results import json_safe

    labelled = pd.DataFrame({"n": [3, 4]}, index=pd.Index(["a", "b"], name="group"))
    assert json_safe(labelled) == [{"group": "a", "n": 3}, {"group": "b", "n": 4}]
    unnamed = pd.DataFrame({"n": [3]}, index=["x"])
    assert json_safe(unnamed) == [{"index": "x", "n": 3}]
    assert json_safe(pd.DataFrame({"n": [3, 4]})) == [{"n": 3}, {"n": 4}]
