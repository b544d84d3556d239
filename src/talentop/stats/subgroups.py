"""Treatment hazard ratios within subgroups, with treatment x subgroup interaction tests.

Sources: Cox PH per subgroup level (R `coxph(Surv ~ treatment, subset = level)`); the
interaction test is the likelihood-ratio test of treatment x subgroup terms added to
treatment + subgroup main effects (Wang et al., NEJM 2007 "Statistics in medicine:
reporting of subgroup analyses").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import ConvergenceError, InvalidInput
from talentop.stats import _validate
from talentop.stats import distributions as dist
from talentop.stats.cox import cox

#: Columns of the forest-plot table, in order.
COLUMNS = [
    "subgroup",  # variable name ("Overall" for the whole population)
    "level",  # level of the variable ("" for Overall)
    "n",  # patients in the level
    "n_treated",  # patients with treatment == 1
    "n_control",  # patients with treatment == 0
    "events_treated",
    "events_control",
    "hr",  # hazard ratio treated vs control (Cox, ties = efron, optional strata)
    "ci_lower",
    "ci_upper",
    "p",  # Wald p-value of the HR within the level
    "interaction_p",  # LR test of treatment x subgroup (same value on each level's row)
    "note",  # why an HR is missing (no events in an arm, ...)
]


def _hr_row(frame: pd.DataFrame, duration: str, event: str, treatment: str, strata, level):
    treated = frame[treatment] == 1
    row: dict[str, Any] = {
        "n": len(frame),
        "n_treated": int(treated.sum()),
        "n_control": int((~treated).sum()),
        "events_treated": int(frame.loc[treated, event].sum()),
        "events_control": int(frame.loc[~treated, event].sum()),
        "hr": np.nan,
        "ci_lower": np.nan,
        "ci_upper": np.nan,
        "p": np.nan,
        "note": "",
    }
    if row["n_treated"] == 0 or row["n_control"] == 0:
        row["note"] = "one arm is empty"
        return row
    if row["events_treated"] + row["events_control"] == 0:
        row["note"] = "no events"
        return row
    try:
        fit = cox(frame, duration=duration, event=event, covariates=[treatment], strata=strata)
    except (ConvergenceError, InvalidInput) as exc:
        row["note"] = f"not estimable: {exc}"
        return row
    row.update(
        hr=float(fit.hr.iloc[0]),
        ci_lower=float(fit.ci_lower.iloc[0]),
        ci_upper=float(fit.ci_upper.iloc[0]),
        p=float(fit.p.iloc[0]),
    )
    return row


def _interaction_p(frame, duration, event, treatment, variable, strata) -> float:
    """LR test: treatment + dummies(variable) vs + treatment x dummies(variable)."""
    dummies = pd.get_dummies(frame[variable].astype(str), prefix="lvl", drop_first=True).astype(
        float
    )
    if dummies.shape[1] == 0:
        return float("nan")
    products = dummies.mul(frame[treatment], axis=0).add_prefix("trt_x_")
    # a level seen in one arm only has no interaction to estimate: leave its term out
    products = products.loc[
        :, products.to_numpy().any(axis=0) & (products.to_numpy() != dummies.to_numpy()).any(axis=0)
    ]
    if products.shape[1] == 0:
        return float("nan")
    data = pd.concat([frame[[duration, event, treatment]], dummies, products], axis=1)
    if strata is not None:
        for column in [strata] if isinstance(strata, str) else strata:
            data[column] = frame[column]
    main = [treatment, *dummies.columns]
    try:
        reduced = cox(data, duration=duration, event=event, covariates=main, strata=strata)
        full = cox(
            data,
            duration=duration,
            event=event,
            covariates=[*main, *products.columns],
            strata=strata,
        )
    except (ConvergenceError, InvalidInput):
        return float("nan")
    statistic = 2 * (full.loglik - reduced.loglik)
    return float(dist.chi2.sf(statistic, products.shape[1]))


def subgroup_hazard_ratios(
    data: pd.DataFrame,
    *,
    duration: str,
    event: str,
    treatment: str,
    subgroups: list[str],
    strata: str | list[str] | None = None,
) -> pd.DataFrame:
    """Forest-plot table: overall HR, then one row per level of each subgroup variable.

    `treatment` is 0/1 (1 = experimental arm); HR < 1 favours it. Columns: see `COLUMNS`.
    Rows with a missing value of a subgroup variable are left out of that variable only.
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput.field("data", type(data).__name__, "a pandas DataFrame")
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else strata)
    missing = [c for c in [duration, event, treatment, *subgroups, *strata_cols] if c not in data]
    if missing:
        raise InvalidInput(
            [f"column {c!r}: not in data; columns are {list(data.columns)}" for c in missing]
        )
    arms = set(pd.unique(data[treatment].dropna()))
    if not arms <= {0, 1}:
        raise InvalidInput.field(
            treatment,
            sorted((_validate._plain(a) for a in arms), key=str),
            "0 = control, 1 = experimental arm",
        )
    _validate.survival_data(data[duration].to_numpy(), data[event].to_numpy())
    rows = [
        {
            "subgroup": "Overall",
            "level": "",
            **_hr_row(data, duration, event, treatment, strata, None),
            "interaction_p": np.nan,
        }
    ]
    for variable in subgroups:
        frame = data[data[variable].notna()]
        p_int = _interaction_p(frame, duration, event, treatment, variable, strata)
        for level in sorted(pd.unique(frame[variable]), key=str):
            part = frame[frame[variable] == level]
            row = _hr_row(part, duration, event, treatment, strata, level)
            rows.append(
                {
                    "subgroup": variable,
                    "level": _validate._plain(level),
                    **row,
                    "interaction_p": p_int,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
