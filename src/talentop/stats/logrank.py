"""Log-rank test for k groups, stratified, with Fleming-Harrington G(rho, gamma) weights.

Sources: Mantel (1966); Peto & Peto (1972); Fleming & Harrington, "Counting processes
and survival analysis" (1991) for G(rho, gamma); R `survival::survdiff` (its `rho` is
G(rho, 0), weights S(t-)^rho with S the pooled Kaplan-Meier curve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg
from scipy import stats as sps

from talentop.errors import InvalidInput
from talentop.stats import _validate
from talentop.stats.km import count_at
from talentop.stats.results import Result


@dataclass(frozen=True, eq=False)
class TestResult(Result):
    """A chi-square test; `table` has one row per group (n, observed, expected, O-E, var)."""

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame
    rho: float = 0.0
    gamma: float = 0.0
    title: str = "Log-rank test"

    @property
    def summary(self) -> pd.DataFrame:
        return self.table

    @property
    def observed(self) -> pd.Series:
        return self.table["observed"]

    @property
    def expected(self) -> pd.Series:
        return self.table["expected"]

    def _footer(self) -> list[str]:
        weights = (
            ""
            if self.rho == 0 and self.gamma == 0
            else f", G(rho={self.rho:g}, gamma={self.gamma:g})"
        )
        return [
            f"Chisq = {self.statistic:.4g} on {self.df} degrees of freedom, "
            f"p = {self.p_value:.4g}{weights}"
        ]


#: Up to this many groups the per-time counts use one sort per group, else bincount.
_SORT_PER_GROUP_MAX_K = 8


def _stratum_terms(
    time: np.ndarray, event: np.ndarray, codes: np.ndarray, k: int, rho: float, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected (unweighted), weighted O-E and its covariance, within one stratum."""
    unique = np.unique(time)
    if k <= _SORT_PER_GROUP_MAX_K:
        # one value sort per group (no argsort + inverse): faster for a few arms
        leave_g = np.empty((len(unique), k))
        deaths_g = np.empty((len(unique), k))
        for j in range(k):
            member = codes == j
            leave_g[:, j] = count_at(unique, np.sort(time[member]))
            deaths_g[:, j] = count_at(unique, np.sort(time[member & event]))
    else:
        slot = np.searchsorted(unique, time)
        cells = slot * k + codes
        size = len(unique) * k
        deaths_g = np.bincount(cells, weights=event, minlength=size).reshape(-1, k)
        leave_g = np.bincount(cells, minlength=size).reshape(-1, k).astype(float)
    # at risk per group at time j = those with time >= t_j: reverse cumulative sum
    risk_g = np.cumsum(leave_g[::-1], axis=0)[::-1]
    n_risk = risk_g.sum(axis=1)
    deaths = deaths_g.sum(axis=1)
    has = deaths > 0
    deaths_g, risk_g, deaths, n_risk = deaths_g[has], risk_g[has], deaths[has], n_risk[has]
    # pooled left-continuous Kaplan-Meier S(t-) for the Fleming-Harrington weights
    surv = np.cumprod(1 - deaths / n_risk)
    surv_left = np.concatenate([[1.0], surv[:-1]])
    weight = surv_left**rho * (1 - surv_left) ** gamma
    expected_g = risk_g * (deaths / n_risk)[:, None]
    o_minus_e = (weight[:, None] * (deaths_g - expected_g)).sum(axis=0)
    # hypergeometric covariance: d (n - d) / (n - 1) * (diag(p) - p p'), p = n_g / n
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(n_risk > 1, deaths * (n_risk - deaths) / (n_risk - 1), 0.0)
    share = risk_g / n_risk[:, None]
    scaled = (weight**2 * factor)[:, None] * share
    covariance = np.diag(scaled.sum(axis=0)) - scaled.T @ share
    return deaths_g.sum(axis=0), expected_g.sum(axis=0), o_minus_e, covariance


def logrank(
    time: Any,
    event: Any,
    group: Any,
    *,
    strata: Any = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> TestResult:
    """k-sample (stratified) log-rank test; matches R `survdiff(Surv(time, event) ~ group)`.

    Weights are S(t-)^rho * (1 - S(t-))^gamma with S(t-) the left-continuous Kaplan-Meier
    curve of the pooled sample within each stratum (rho=gamma=0: log-rank; rho=1,
    gamma=0: Peto-Peto-Prentice as R `survdiff(rho=1)`). The statistic is
    (O-E)' V^- (O-E) summed over strata, df = rank(V) = k - 1.
    `observed`/`expected` in the table are the unweighted event counts; `o_minus_e`
    and `variance` are weighted.
    """
    problems = []
    for name, value in (("rho", rho), ("gamma", gamma)):
        if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
            problems.append(f"{name}={value!r}: expected a finite number >= 0")
    if problems:
        raise InvalidInput(problems)
    t, e, checked = _validate.survival_data(time, event, group=group, strata=strata)
    labels = checked["group"]
    codes, levels = _validate.codes(labels)
    if len(levels) < 2:
        raise InvalidInput.field(
            "group",
            _validate._plain(levels[0]) if levels else None,
            "at least two groups to compare",
        )
    if not e.any():
        raise InvalidInput.field("event", "no events", "at least one event to test")
    k = len(levels)
    strata_codes = (
        _validate.codes(checked["strata"])[0] if "strata" in checked else np.zeros(len(t), int)
    )
    observed = np.zeros(k)
    expected = np.zeros(k)
    o_minus_e = np.zeros(k)
    covariance = np.zeros((k, k))
    # unstratified: one stratum, no masks (three copies of every column otherwise)
    parts = (
        ((t[m], e[m], codes[m]) for m in (strata_codes == s for s in np.unique(strata_codes)))
        if "strata" in checked
        else [(t, e, codes)]
    )
    for t_s, e_s, codes_s in parts:
        o, ex, ome, cov = _stratum_terms(t_s, e_s, codes_s, k, float(rho), float(gamma))
        observed += o
        expected += ex
        o_minus_e += ome
        covariance += cov
    # drop one group (the variance matrix has rank k - 1); pseudo-inverse if more is singular
    sub = covariance[:-1, :-1]
    try:
        statistic = float(o_minus_e[:-1] @ linalg.solve(sub, o_minus_e[:-1], assume_a="sym"))
        df = k - 1
    except (linalg.LinAlgError, ValueError):
        statistic = float(o_minus_e @ linalg.pinvh(covariance) @ o_minus_e)
        df = int(np.linalg.matrix_rank(covariance))
    p_value = float(sps.chi2.sf(statistic, df)) if df > 0 else float("nan")
    counts = np.bincount(codes, minlength=k)
    table = pd.DataFrame(
        {
            "n": counts.astype(int),
            "observed": observed,
            "expected": expected,
            "o_minus_e": o_minus_e,
            "variance": np.diag(covariance),
        },
        index=pd.Index(levels, name="group"),
    )
    return TestResult(
        statistic=statistic, df=df, p_value=p_value, table=table, rho=float(rho), gamma=float(gamma)
    )
