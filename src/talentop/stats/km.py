"""Kaplan-Meier estimate with Greenwood variance, pointwise bands and quantiles by R's rule.

Sources: Kaplan & Meier (JASA 1958); Greenwood (1926); confidence bands and quantile
rule as in R `survival::survfit` / `quantile.survfit` (Therneau); Brookmeyer & Crowley
(Biometrics 1982) for the median's confidence interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput
from talentop.stats import _validate
from talentop.stats import distributions as dist
from talentop.stats.results import Result

CONF_TYPES = ("log", "log-log", "plain")
#: R's `quantile.survfit` tolerance for "the curve is flat exactly at the level".
_QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))


def km_counts(
    time: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unique times with numbers at risk, events and censorings (time >= t is at risk)."""
    # sorting the values (not argsort + inverse) is the fast path: counts per distinct
    # time then come from the run boundaries and a binary search of the event times
    ordered = np.sort(time)
    boundary = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
    unique = ordered[boundary[:-1]]
    leaving = np.diff(boundary)
    n_event = count_at(unique, np.sort(time[event.astype(bool)]))
    n_risk = np.cumsum(leaving[::-1])[::-1]
    return unique, n_risk, n_event, leaving - n_event


def count_at(unique: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """How many of `sorted_values` equal each of `unique` (both ascending)."""
    return np.searchsorted(sorted_values, unique, side="right") - np.searchsorted(
        sorted_values, unique, side="left"
    )


def band(
    survival: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise band for S(t) given the Greenwood SE of log S(t) (R `survfit` conf.type)."""
    z = dist.norm.ppf(0.5 + conf_level / 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = z * se_log * survival
            lower, upper = np.clip(survival - half, 0, 1), np.clip(survival + half, 0, 1)
        elif conf_type == "log":
            lower = np.exp(np.log(survival) - z * se_log)
            upper = np.minimum(np.exp(np.log(survival) + z * se_log), 1.0)
        else:  # log-log: g = log(-log S), se(g) = se(log S) / |log S|; S = exp(-exp(g))
            log_s = np.log(survival)
            g = np.log(-log_s)
            se_g = se_log / np.abs(log_s)
            lower = np.exp(-np.exp(g + z * se_g))
            upper = np.exp(-np.exp(g - z * se_g))
            # before the first event (S = 1, se = 0) the band is the point S: R's rule
            # "use p if se=0" (survfit_confint, therneau/survival R/survfit.R)
            lower = np.where(survival == 1, 1.0, lower)
            upper = np.where(survival == 1, 1.0, upper)
    # where S = 0 (se infinite) the log and log-log bands are undefined (R: NA)
    if conf_type != "plain":
        lower = np.where(survival == 0, np.nan, lower)
        upper = np.where(survival == 0, np.nan, upper)
    return lower, upper


def find_quantile(times: np.ndarray, cdf: np.ndarray, p: float, last_time: float) -> float:
    """R `findq`: first time the step CDF reaches p; midpoint of a flat lying exactly at p.

    `times` starts with 0 and `cdf` with 0 (the curve before the first time).
    """
    keep = ~np.isnan(cdf)
    x, y = times[keep], cdf[keep]
    if p == 0:
        return float(x[0])
    if y.size == 0 or y.max() < p:
        return float("nan")
    # drop repeated levels (censorings) keeping the first time each level is reached
    _, first = np.unique(y, return_index=True)
    first.sort()
    x, y = x[first], y[first]
    i1 = np.flatnonzero(y + _QUANTILE_TOL >= p)
    i2 = np.flatnonzero(y - _QUANTILE_TOL >= p)
    if i1.size == 0:
        return float("nan")
    if abs(p - y[-1]) < _QUANTILE_TOL:
        # the curve ends flat exactly at the level: midpoint with the last follow-up time
        return float((x[i1[0]] + last_time) / 2)
    if i2.size == 0:
        return float("nan")
    return float((x[i1[0]] + x[i2[0]]) / 2)


@dataclass(frozen=True, eq=False)
class Quantile(Result):
    """A survival-time quantile with its Brookmeyer-Crowley interval (NaN = not reached)."""

    p: float
    estimate: float
    lower: float
    upper: float
    conf_level: float
    title: str = "Quantile of survival time"

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [[self.p, self.estimate, self.lower, self.upper]],
            columns=["p", "estimate", "lower", "upper"],
        )


@dataclass(frozen=True, eq=False)
class KaplanMeier(Result):
    """A Kaplan-Meier curve: `.table` holds one row per distinct time (events or censorings).

    `std_err` is the Greenwood standard error of S(t) (as R `summary.survfit` prints);
    `lower`/`upper` are the pointwise band of `conf_type` at `conf_level`.
    """

    table: pd.DataFrame
    n: int
    events: int
    conf_type: str
    conf_level: float
    median: float
    median_ci: tuple[float, float]
    title: str = field(default="Kaplan-Meier estimate")

    @property
    def summary(self) -> pd.DataFrame:
        """One row like R `print(survfit(...))`: n, events, median and its CI."""
        lo_name = f"{self.conf_level:g}LCL"
        hi_name = f"{self.conf_level:g}UCL"
        return pd.DataFrame(
            [[self.n, self.events, self.median, *self.median_ci]],
            columns=["n", "events", "median", lo_name, hi_name],
        )

    def _footer(self) -> list[str]:
        return [f"confidence band: {self.conf_type}, level {self.conf_level:g}"]

    def quantile(self, p: float) -> Quantile:
        """Time by which a fraction `p` has had the event (p=0.5: median), with its CI.

        R `quantile.survfit`: the point estimate is where the curve crosses 1 - p; the
        limits are where the lower and upper bands cross it (Brookmeyer-Crowley).
        """
        number = _validate.real(p)
        if number is None or not 0 <= number <= 1:
            raise InvalidInput.field("p", _validate._plain(p), "a probability between 0 and 1")
        p = number
        x = np.concatenate([[0.0], self.table["time"].to_numpy()])
        last = float(x[-1])

        def at(column: str) -> float:
            cdf = np.concatenate([[0.0], 1 - self.table[column].to_numpy()])
            return find_quantile(x, cdf, float(p), last)

        # the lower band crosses first, so it gives the lower limit
        return Quantile(
            p=float(p),
            estimate=at("survival"),
            lower=at("lower"),
            upper=at("upper"),
            conf_level=self.conf_level,
        )

    def survival_at(self, t: Any) -> Any:
        """S(t) (right-continuous step); NaN after the last follow-up time. Scalar or array."""
        query = np.asarray(t, dtype=float)
        times = self.table["time"].to_numpy()
        surv = np.concatenate([[1.0], self.table["survival"].to_numpy()])
        index = np.searchsorted(times, query, side="right")
        out = np.where(query > times[-1], np.nan, surv[index])
        return float(out) if out.ndim == 0 else out

    def summary_at(self, times: Any) -> pd.DataFrame:
        """S(t) with its standard error and band at given times, as R
        ``summary(survfit(...), times = ...)``: one row per time (n_risk = at risk at t,
        follow-up time >= t). Beyond the last follow-up time every value is NaN (R refuses
        such times unless ``extend = TRUE``; the curve is not known there)."""
        query = np.atleast_1d(np.asarray(times, dtype=float))
        table = self.table
        index = np.searchsorted(table["time"].to_numpy(), query, side="right") - 1
        beyond = query > table["time"].iloc[-1]

        def pick(column: str, before: float) -> np.ndarray:
            values = np.concatenate([[before], table[column].to_numpy(dtype=float)])
            return np.where(beyond, np.nan, values[index + 1])

        return pd.DataFrame(
            {
                "time": query,
                "n_risk": np.where(beyond, 0, self.at_risk(query).to_numpy()),
                "survival": pick("survival", 1.0),
                "std_err": pick("std_err", 0.0),
                "lower": pick("lower", 1.0),
                "upper": pick("upper", 1.0),
            }
        )

    def at_risk(self, times: Any) -> pd.Series:
        """Numbers at risk (follow-up time >= t) at the given times, for a KM figure."""
        query = np.atleast_1d(np.asarray(times, dtype=float))
        table_times = self.table["time"].to_numpy()
        n_risk = np.concatenate([self.table["n_risk"].to_numpy(), [0]])
        index = np.searchsorted(table_times, query, side="left")
        return pd.Series(n_risk[index].astype(int), index=query, name="n_risk")


def _fit(time: np.ndarray, event: np.ndarray, conf_type: str, conf_level: float) -> KaplanMeier:
    unique, n_risk, n_event, n_censor = km_counts(time, event)
    hazard = n_event / n_risk
    survival = np.cumprod(1 - hazard)
    # Greenwood: var(log S) = sum d / (n (n - d)); infinite once S reaches 0
    with np.errstate(divide="ignore", invalid="ignore"):
        increments = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    se_log = np.sqrt(np.cumsum(increments))
    lower, upper = band(survival, se_log, conf_type, conf_level)
    with np.errstate(invalid="ignore"):  # 0 * inf where S reaches 0: reported as NaN
        std_err = np.where(np.isinf(se_log), np.nan, survival * se_log)
    table = pd.DataFrame(
        {
            "time": unique,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": n_censor.astype(int),
            "survival": survival,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        }
    )
    draft = KaplanMeier(
        table=table,
        n=len(time),
        events=int(event.sum()),
        conf_type=conf_type,
        conf_level=conf_level,
        median=float("nan"),
        median_ci=(float("nan"), float("nan")),
    )
    median = draft.quantile(0.5)
    return KaplanMeier(
        table=table,
        n=len(time),
        events=int(event.sum()),
        conf_type=conf_type,
        conf_level=conf_level,
        median=median.estimate,
        median_ci=(median.lower, median.upper),
    )


def _check_conf_type(conf_type: str) -> str:
    if conf_type not in CONF_TYPES:
        raise InvalidInput.field("conf_type", conf_type, f"one of {', '.join(CONF_TYPES)}")
    return conf_type


def kaplan_meier(
    time: Any, event: Any, *, conf_type: str = "log", conf_level: float = 0.95
) -> KaplanMeier:
    """Kaplan-Meier curve of right-censored data (R `survfit(Surv(time, event) ~ 1)`).

    `event`: 1/True = event, 0/False = censored. `conf_type`: "log" (R default),
    "log-log" (SAS default) or "plain".
    """
    _check_conf_type(conf_type)
    level = _validate.conf_level(conf_level)
    t, e, _ = _validate.survival_data(time, event)
    return _fit(t, e, conf_type, level)


@dataclass(frozen=True, eq=False)
class KaplanMeierGroups(Result):
    """One Kaplan-Meier curve per group (R `survfit(Surv(time, status) ~ group)`)."""

    curves: dict[Any, KaplanMeier]
    title: str = "Kaplan-Meier estimate by group"

    @property
    def summary(self) -> pd.DataFrame:
        rows = [curve.summary.assign(group=label) for label, curve in self.curves.items()]
        table = pd.concat(rows, ignore_index=True)
        return table.set_index("group")

    def __getitem__(self, label: Any) -> KaplanMeier:
        return self.curves[label]

    def to_dict(self) -> dict[str, Any]:
        from talentop.stats.results import json_safe

        return {
            "curves": {str(k): v.to_dict() for k, v in self.curves.items()},
            "summary": json_safe(self.summary.reset_index()),
        }


def kaplan_meier_by(
    time: Any, event: Any, group: Any, *, conf_type: str = "log", conf_level: float = 0.95
) -> KaplanMeierGroups:
    """One Kaplan-Meier curve per level of `group`, levels in sorted order."""
    _check_conf_type(conf_type)
    level = _validate.conf_level(conf_level)
    t, e, checked = _validate.survival_data(time, event, group=group)
    codes, levels = _validate.codes(checked["group"])
    curves = {}
    for code, label in enumerate(levels):
        mask = codes == code
        curves[label] = _fit(t[mask], e[mask], conf_type, level)
    return KaplanMeierGroups(curves=curves)


def median_follow_up(
    time: Any, event: Any, *, conf_type: str = "log", conf_level: float = 0.95
) -> Quantile:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper & Smith, CCT 1996).

    Censoring is the "event" and deaths are censored, so a death ends follow-up
    information early but is not counted as loss to follow-up.
    """
    _check_conf_type(conf_type)
    level = _validate.conf_level(conf_level)
    t, e, _ = _validate.survival_data(time, event)
    return _fit(t, ~e, conf_type, level).quantile(0.5)
