"""Binomial CIs against statsmodels proportion_confint (test-only oracle)."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from talentop.errors import InvalidInput
from talentop.stats import binomial_ci

ORACLE = {"clopper-pearson": "beta", "wilson": "wilson", "jeffreys": "jeffreys"}


@pytest.mark.parametrize("method", list(ORACLE))
@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 10), (83, 101), (21, 97), (10, 10)])
def test_matches_statsmodels(method, x, n):
    ours = binomial_ci(x, n, method=method, conf_level=0.9)
    lo, hi = proportion_confint(x, n, alpha=0.1, method=ORACLE[method])
    if method == "jeffreys" and x in (0, n):
        # Brown, Cai & DasGupta (2001): set the limit to 0 (x = 0) or 1 (x = n);
        # statsmodels keeps the raw beta quantile there
        lo, hi = (0.0, hi) if x == 0 else (lo, 1.0)
    assert ours.lower == pytest.approx(lo, abs=1e-10)
    assert ours.upper == pytest.approx(hi, abs=1e-10)
    assert ours.estimate == x / n


def test_clopper_pearson_published_value():
    """Clopper-Pearson 95% for 0/10 has upper limit 1 - 0.025^(1/10) = 0.3084 (exact)."""
    assert binomial_ci(0, 10).upper == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)


@pytest.mark.parametrize(
    ("x", "n", "kwargs", "pattern"),
    [
        (5, 3, {}, "successes=5: expected at most n=3"),
        (-1, 3, {}, "successes=-1"),
        (1, 0, {}, "n=0: expected at least one trial"),
        (1, 3, {"method": "wald"}, "method='wald'"),
        (1.5, 3, {}, "successes=1.5: expected a whole number"),
    ],
)
def test_bad_input(x, n, kwargs, pattern):
    with pytest.raises(InvalidInput, match=pattern):
        binomial_ci(x, n, **kwargs)
