"""The normal, chi-square and beta functions the statistics use, from ``scipy.special``.

Importing ``scipy.stats`` costs about 0.5 s (its hundred distribution classes), paid by
every CLI command, the demo and the API server that reach ``talentop.stats``, for seven
functions. Each function here is the one ``scipy.stats`` itself evaluates for the standard
distribution (scipy 1.17: ``norm._ppf`` is ``special.ndtri``, ``norm._sf(x)`` is
``special.ndtr(-x)``, ``chi2._sf`` is ``special.chdtrc``, ``beta._ppf`` is the Boost
``_beta_ppf`` ufunc), with ``scipy.stats``' answers at and outside the support;
tests/stats/test_distributions.py checks them equal, bit for bit, to ``scipy.stats`` on
tens of thousands of points. ``norm``, ``chi2`` and ``beta`` offer the methods used,
named as in ``scipy.stats``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

try:  # the ufunc scipy.stats.beta.ppf evaluates (private: checked against it in the tests)
    from scipy.special._ufuncs import _beta_ppf
except ImportError:  # pragma: no cover - another scipy: fall back to scipy.stats
    _beta_ppf = None

_SQRT_2PI = math.sqrt(2 * math.pi)


def _nan_where(condition: Any, values: Any) -> Any:
    """``values`` with nan where ``condition`` holds (scalars stay scalars)."""
    if not np.any(condition):
        return values
    out = np.where(condition, np.nan, values)
    return out[()] if out.ndim == 0 else out


class _Normal:
    """The standard normal distribution."""

    @staticmethod
    def ppf(q: Any) -> Any:
        return special.ndtri(q)

    @staticmethod
    def isf(q: Any) -> Any:
        return -special.ndtri(q)

    @staticmethod
    def cdf(x: Any) -> Any:
        return special.ndtr(x)

    @staticmethod
    def sf(x: Any) -> Any:
        return special.ndtr(-np.asarray(x, dtype=float))

    @staticmethod
    def pdf(x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        return np.exp(-(x**2) / 2.0) / _SQRT_2PI


class _ChiSquare:
    """The chi-square distribution with ``df`` degrees of freedom."""

    @staticmethod
    def sf(x: Any, df: Any) -> Any:
        # below the support the survival function is 1 (chdtrc itself gives nan there)
        return _nan_where(np.asarray(df) <= 0, special.chdtrc(df, np.maximum(x, 0.0)))


class _Beta:
    """The beta distribution with shapes ``a``, ``b``."""

    @staticmethod
    def ppf(q: Any, a: Any, b: Any) -> Any:
        if _beta_ppf is None:  # pragma: no cover
            from scipy import stats

            return stats.beta.ppf(q, a, b)
        q, a, b = np.asarray(q, dtype=float), np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        values = _beta_ppf(q, a, b)
        values = np.where(q == 0, 0.0, np.where(q == 1, 1.0, values))
        values = values[()] if values.ndim == 0 else values
        return _nan_where((a <= 0) | (b <= 0) | ~((q >= 0) & (q <= 1)), values)


norm = _Normal()
chi2 = _ChiSquare()
beta = _Beta()

__all__ = ["beta", "chi2", "norm"]
