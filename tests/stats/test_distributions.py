"""``talentop.stats.distributions`` against ``scipy.stats`` (the peer it replaces to save
its import): bit-for-bit equal on random and edge-case points, scalars stay scalars."""

import warnings

import numpy as np
import pytest
from scipy import stats

from talentop.stats.distributions import beta, chi2, norm

RNG = np.random.default_rng(20261130)
Q = np.concatenate([RNG.random(20000), [0.0, 1.0, 0.5, 1e-300, 1 - 1e-16, -0.1, 1.1, np.nan]])
X = np.concatenate([RNG.normal(0, 5, 20000), [0.0, np.inf, -np.inf, np.nan, 40.0, -40.0]])


def same(ours, theirs) -> bool:
    return np.array_equal(np.asarray(ours), np.asarray(theirs), equal_nan=True)


@pytest.mark.parametrize("method", ["ppf", "isf"])
def test_normal_quantiles_equal_scipy_stats(method):
    assert same(getattr(norm, method)(Q), getattr(stats.norm, method)(Q))


@pytest.mark.parametrize("method", ["cdf", "sf", "pdf"])
def test_normal_cdf_sf_pdf_equal_scipy_stats(method):
    assert same(getattr(norm, method)(X), getattr(stats.norm, method)(X))


@pytest.mark.parametrize("df", [1, 2, 3, 7.5, 40, 0, -1])
def test_chi_square_sf_equals_scipy_stats(df):
    x = np.concatenate([np.abs(X), [-1.0, 0.0]])
    assert same(chi2.sf(x, df), stats.chi2.sf(x, df))
    assert same(chi2.sf(3.84, df=df), stats.chi2.sf(3.84, df=df))


@pytest.mark.parametrize(
    "a, b", [(1, 1), (0.5, 20), (3, 400), (12.5, 3), (200, 1), (0, 2), (2, -1)]
)
def test_beta_ppf_equals_scipy_stats(a, b):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # Boost warns where its root finder gives up (a few points of (3, 400)), for both
        warnings.simplefilter("ignore", RuntimeWarning)
        assert same(beta.ppf(Q, a, b), stats.beta.ppf(Q, a, b))


def test_scalars_stay_scalars():
    for value in (norm.ppf(0.975), norm.isf(0.025), norm.sf(1.96), norm.cdf(0.0), norm.pdf(0.0),
                  chi2.sf(3.84, 1), beta.ppf(0.025, 3, 18)):  # fmt: skip
        assert np.ndim(value) == 0 and isinstance(float(value), float)
    assert norm.ppf(0.975) == stats.norm.ppf(0.975)
    assert f"{chi2.sf(3.84, 1):.4f}" == f"{stats.chi2.sf(3.84, 1):.4f}"
