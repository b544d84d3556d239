"""Baseline hazard and predicted survival of a fitted Cox model, per stratum.

Sources: Breslow (1972, discussion of Cox 1972) for the baseline cumulative hazard
H0(t) = sum over event times t_i <= t of d_i / sum_{j at risk} w_j exp(x_j' beta); Efron's
tie-corrected increment sum_l 1 / (S0 - (l/m) D0) is what R `survfit.coxph` uses after an
Efron fit (its `ctype = 2`); lifelines (`baseline_cumulative_hazard_`) and statsmodels
(`PHReg.baseline_cumulative_hazard`) use Breslow's. Predicted survival for covariates x:
S(t | x) = exp(-H0(t) exp((x - xbar)' beta)) with H0 the centred baseline of x's stratum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput
from talentop.stats import _cox_math, _validate

if TYPE_CHECKING:
    from talentop.stats.cox import CoxFit

METHODS = ("breslow", "efron")


def _strata_keys(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The key a row's stratum is stored under (the strata values joined), as cox() does."""
    return frame[columns].astype(str).agg("\x1f".join, axis=1).to_numpy()


def baseline_hazard(fit: CoxFit, *, method: str = "breslow", centered: bool = True) -> pd.DataFrame:
    """One row per stratum and distinct follow-up time: n_risk, n_event, hazard (the
    increment), cumulative_hazard and survival = exp(-cumulative_hazard).

    ``centered=True`` (R ``basehaz`` default, lifelines): the baseline is at the covariate
    means (case-weighted, as R's ``fit$means``); ``False``: at covariates 0 (statsmodels
    ``PHReg``). ``method``: "breslow"
    (lifelines, statsmodels) or "efron" (R ``survfit.coxph`` after an Efron fit; equal to
    Breslow's when no event times are tied). Case weights weigh the events and risk sets.
    """
    table = _increments(fit, method)
    design = fit._design
    data: _cox_math.CoxData = design.data
    # the increments are at the internal centring (unweighted means); move them to the
    # reference point r: H_r(t) = H(t | x = r) = H_internal(t) exp((r - internal)' beta)
    if centered:
        reference = data.means
        if data.weights is not None:
            reference = data.means + data.z[1:] @ data.weights / data.weights.sum()
    else:
        reference = np.zeros_like(data.means)
    factor = float(np.exp((reference - data.means) @ design.beta))
    table["hazard"] = table["hazard"] * factor
    table["cumulative_hazard"] = table["cumulative_hazard"] * factor
    table["survival"] = np.exp(-table["cumulative_hazard"])
    return table


def _increments(fit: CoxFit, method: str) -> pd.DataFrame:
    """The baseline table at the fit's internal centring (the unweighted covariate means)."""
    if method not in METHODS:
        raise InvalidInput.field("method", method, f"one of {', '.join(METHODS)}")
    design = fit._design
    data: _cox_math.CoxData = design.data
    if method == "efron" and data.ties != "efron":
        # Efron's increments go with the Efron partial likelihood only
        raise InvalidInput.field("method", method, "breslow for a fit with ties='breslow'")
    ev = _cox_math.evaluate(data, design.beta)
    # d / S0 (Breslow) or sum_l 1 / den_l (Efron; c0 already holds it, with the mean event
    # weight for weighted fits); S0 and den are on the exp(eta - shift) scale
    if method == "efron":
        increment = ev.c0 * np.exp(-ev.shift)
    else:
        events = (
            data.events_per_group.astype(float) if data.event_weight is None else data.event_weight
        )
        increment = events / ev.s0 * np.exp(-ev.shift)
    sizes = np.diff(np.append(data.group_start, len(data.time)))
    n_risk = _cox_math._risk_cumsum(data, sizes[:, None].astype(float))[:, 0]
    stratum_code = design.strata_codes[data.order[data.group_start]]
    frame = pd.DataFrame(
        {
            "stratum": [design.strata_names[c] for c in stratum_code],
            "time": data.time[data.group_start],
            "n_risk": n_risk.astype(int),
            "n_event": data.events_per_group,
            "hazard": increment,
            "_code": stratum_code,
        }
    )
    # groups run time-descending within each stratum: reverse for a running sum in time
    frame = frame.sort_values(["_code", "time"], kind="stable").reset_index(drop=True)
    frame["cumulative_hazard"] = frame.groupby("_code")["hazard"].cumsum()
    frame["survival"] = np.exp(-frame["cumulative_hazard"])
    frame = frame.drop(columns=["_code"])
    if len(design.strata_names) == 1:
        frame = frame.drop(columns="stratum")
    return frame


def _new_covariates(fit: CoxFit, new: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """Check the new rows: every covariate (and stratum) column, finite numbers, known strata.

    Returns the frame and the stratum code of each row.
    """
    design = fit._design
    if not isinstance(new, pd.DataFrame):
        raise InvalidInput.field("X", type(new).__name__, "a pandas DataFrame of covariates")
    needed = [*(design.inputs or design.names), *design.strata_columns]
    missing = [c for c in needed if c not in new.columns]
    if missing:
        raise InvalidInput(
            [
                f"X: column {c!r} not found; expected the model's covariates and strata"
                for c in missing
            ]
        )
    if design.codings:  # text covariates: the fit's dummies, same levels and reference
        dummies = [
            coding.expand(new[column].astype(str).str.strip())
            for column, coding in design.codings.items()
        ]
        new = pd.concat([new.drop(columns=list(design.codings)), *dummies], axis=1)
    problems = []
    for name in design.names:
        values = pd.to_numeric(new[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            shown = ", ".join(f"row {_validate._plain(new.index[i])!r}" for i in bad[:5])
            problems.append(f"X: {name}: missing, infinite or not a number at {shown}")
    codes = np.zeros(len(new), np.int64)
    if design.strata_columns:
        lookup = {key: code for code, key in enumerate(design.strata_keys)}
        keys = _strata_keys(new, design.strata_columns)
        unknown = sorted({k for k in keys if k not in lookup})
        if unknown:
            known = ", ".join(map(str, design.strata_names))
            problems.append(
                f"X: strata {[k.replace(chr(31), '/') for k in unknown]} not in the fit; "
                f"expected one of {known}"
            )
        else:
            codes = np.array([lookup[k] for k in keys], np.int64)
    _validate.check(problems)
    return new, codes


def predict_cumulative_hazard(fit: CoxFit, new: Any, times: Any = None) -> pd.DataFrame:
    """H(t | x) for each row of ``new`` (columns, labelled by ``new.index``) at ``times``
    (index; default every distinct follow-up time). NaN after the last follow-up time of
    the row's stratum, where the model says nothing (as ``KaplanMeier.survival_at``)."""
    design = fit._design
    frame, codes = _new_covariates(fit, new)
    base = _increments(fit, "breslow")
    if "stratum" not in base:
        base = base.assign(stratum=design.strata_names[0])
    if times is None:
        grid = np.unique(base["time"].to_numpy())
    else:
        grid = np.atleast_1d(np.asarray(times, dtype=float))
        if grid.ndim != 1 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise InvalidInput.field("times", times, "finite times >= 0")
    x = frame[design.names].to_numpy(dtype=np.float64)
    risk = np.exp((x - design.data.means) @ design.beta)
    out = np.empty((len(grid), len(frame)))
    for code, name in enumerate(design.strata_names):
        members = np.flatnonzero(codes == code)
        if not members.size:
            continue
        block = base[base["stratum"] == name]
        t = block["time"].to_numpy()
        cumulative = np.concatenate([[0.0], block["cumulative_hazard"].to_numpy()])
        at = cumulative[np.searchsorted(t, grid, side="right")]
        at = np.where(grid > t[-1], np.nan, at)
        out[:, members] = at[:, None] * risk[members][None, :]
    return pd.DataFrame(out, index=pd.Index(grid, name="time"), columns=frame.index)


def predict_survival(fit: CoxFit, new: Any, times: Any = None) -> pd.DataFrame:
    """S(t | x) = exp(-H(t | x)) for each row of ``new``; see `predict_cumulative_hazard`."""
    return np.exp(-predict_cumulative_hazard(fit, new, times))
