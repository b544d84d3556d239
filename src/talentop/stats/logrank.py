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

from talentop.errors import InvalidInput
from talentop.stats import _validate
from talentop.stats import distributions as dist
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
    note: str | None = None  # why the df is lower than k - 1, or why there is no P
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
        lines = [
            f"Chisq = {self.statistic:.4g} on {self.df} degrees of freedom, "
            f"p = {self.p_value:.4g}{weights}"
        ]
        return lines + ([f"note: {self.note}"] if self.note else [])


#: Relative eigenvalue below which the variance of O - E counts as singular in that direction
#: (R's toler.chol, .Machine$double.eps^0.75, used by coxph.wtest for the same purpose).
RANK_TOLERANCE = float(np.finfo(float).eps ** 0.75)


def _chi_square(o_minus_e: np.ndarray, covariance: np.ndarray) -> tuple[float, int, str | None]:
    """(O-E)' V^- (O-E) and its degrees of freedom = the numerical rank of V.

    V has rank at most k - 1 (its rows sum to 0). When it has that rank, one group is
    dropped and the k - 1 system solved (R survdiff). A lower numerical rank (groups
    nested in strata, so some contrasts have no information) would make that solve
    succeed on rounding noise with a condition number near 1e-16: the generalised inverse
    over the eigenvalues above RANK_TOLERANCE x the largest is used instead, df = that
    rank, as R's coxph.wtest does, and the result says so.
    """
    k = len(o_minus_e)
    eigenvalues, vectors = linalg.eigh(covariance)
    largest = float(eigenvalues.max()) if eigenvalues.size else 0.0
    if not largest > 0:
        return (
            0.0,
            0,
            "the variance of observed minus expected is zero (no event time has subjects "
            "of two groups at risk in the same stratum): no test is possible, P is missing",
        )
    kept = eigenvalues > RANK_TOLERANCE * largest
    rank = int(kept.sum())
    if rank == k - 1:
        sub = covariance[:-1, :-1]
        return float(o_minus_e[:-1] @ linalg.solve(sub, o_minus_e[:-1], assume_a="sym")), rank, None
    projected = vectors[:, kept].T @ o_minus_e
    statistic = float(np.sum(projected**2 / eigenvalues[kept]))
    return (
        statistic,
        rank,
        f"the variance matrix of observed minus expected has numerical rank {rank}, not "
        f"{k - 1} (groups nested within strata, or groups never at risk together): "
        f"df = {rank}, generalised inverse (as R)",
    )


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
    (O-E)' V^- (O-E) summed over strata, df = the numerical rank of V (k - 1 unless groups
    are nested in strata; then `note` says so). With zero variance P is NaN and `note` says
    why.
    `observed`/`expected` in the table are the unweighted event counts; `o_minus_e`
    and `variance` are weighted.
    """
    problems = []
    weights = {}
    for name, value in (("rho", rho), ("gamma", gamma)):
        number = _validate.real(value)
        if number is None or not np.isfinite(number) or number < 0:
            problems.append(f"{name}={_validate._plain(value)!r}: expected a finite number >= 0")
        weights[name] = number
    if problems:
        raise InvalidInput(problems)
    rho, gamma = weights["rho"], weights["gamma"]
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
    statistic, df, note = _chi_square(o_minus_e, covariance)
    p_value = float(dist.chi2.sf(statistic, df)) if df > 0 else float("nan")
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
        statistic=statistic,
        df=df,
        p_value=p_value,
        table=table,
        rho=float(rho),
        gamma=float(gamma),
        note=note,
    )
