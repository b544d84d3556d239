"""Proportional-hazards test from Schoenfeld residuals, as R `survival::cox.zph`.

Sources: Grambsch & Therneau (Biometrika 1994); Therneau & Grambsch (2000) §6.2;
R survival >= 3.0 `cox.zph` (a score test for adding x_k * g(t) to the model, using the
full information matrix) and, as `method="gt"`, the earlier Grambsch-Therneau
approximation (R < 3.0, lifelines `proportional_hazard_test`) that uses the fitted
variance and scaled residuals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import linalg

from talentop.errors import InvalidInput
from talentop.stats import _cox_math
from talentop.stats import distributions as dist
from talentop.stats.results import Result

if TYPE_CHECKING:
    from talentop.stats.cox import CoxFit

TRANSFORMS = ("km", "identity", "log")
METHODS = ("score", "gt")


@dataclass(frozen=True, eq=False)
class PHTest(Result):
    """One row per covariate and a GLOBAL row: chisq, df, p (R `cox.zph` print)."""

    table: pd.DataFrame
    transform: str
    method: str
    title: str = "Test of proportional hazards (Schoenfeld residuals)"

    @property
    def summary(self) -> pd.DataFrame:
        return self.table

    @property
    def global_p(self) -> float:
        return float(self.table.loc["GLOBAL", "p"])

    def _footer(self) -> list[str]:
        return [f"time transform: {self.transform}; method: {self.method}"]


def _time_transform(data: _cox_math.CoxData, transform: str) -> np.ndarray:
    """g(t) at each event row (sorted order)."""
    event_times = data.time[data.event_index]
    if transform == "identity":
        return event_times
    if transform == "log":
        return np.log(event_times)
    # "km": 1 - S(t-) from the Kaplan-Meier curve of all rows, strata ignored (as R)
    unique, inverse = np.unique(data.time, return_inverse=True)
    deaths = np.bincount(inverse, weights=data.event, minlength=len(unique))
    leaving = np.bincount(inverse, minlength=len(unique))
    at_risk = leaving[::-1].cumsum()[::-1]
    surv = np.cumprod(1 - deaths / at_risk)
    surv_left = np.concatenate([[1.0], surv[:-1]])
    return 1 - surv_left[np.searchsorted(unique, event_times)]


def ph_test(fit: CoxFit, *, transform: str = "km", method: str = "score") -> PHTest:
    """Schoenfeld-residual test of proportional hazards, per covariate and global."""
    if transform not in TRANSFORMS:
        raise InvalidInput.field("transform", transform, f"one of {', '.join(TRANSFORMS)}")
    if method not in METHODS:
        raise InvalidInput.field("method", method, f"one of {', '.join(METHODS)}")
    design = fit._design
    if design.weighted:
        # R's weighted cox.zph has no independent oracle here; refuse rather than guess
        raise InvalidInput.field(
            "fit",
            f"a Cox fit with case weights {fit.weights!r}",
            "an unweighted fit: ph_test() does not support case weights (refit without "
            "weights, or test proportional hazards on the replicated data for integer weights)",
        )
    data = design.data
    ev = _cox_math.evaluate(data, design.beta, per_group=True)
    resid = _cox_math.schoenfeld(data, ev)
    g = _time_transform(data, transform)
    centred = g - g.mean()
    p = len(design.names)
    n_events = len(g)
    if method == "score":
        u = centred @ resid
        # g(t) is shared by the tied events of a group: sum of their centred values
        # weights that group's information (Efron's per-event-row shares are equal)
        rows_group = data.group_of_row[data.event_index]
        n_groups = len(data.group_start)
        g_group = np.bincount(rows_group, centred, n_groups) / np.maximum(data.events_per_group, 1)
        i_xx = ev.group_info.sum(axis=0)
        i_xg = np.einsum("g,gjk->jk", g_group, ev.group_info)
        i_gg = np.einsum("g,gjk->jk", g_group**2, ev.group_info)
        full = np.block([[i_xx, i_xg], [i_xg.T, i_gg]])
        per = np.empty(p)
        for k in range(p):
            idx = [k, p + k]
            vec = np.array([0.0, u[k]])
            per[k] = vec @ linalg.solve(full[np.ix_(idx, idx)], vec)
        block = linalg.inv(full)[p:, p:]
        global_stat = float(u @ block @ u)
    else:
        variance = design.variance
        scaled = resid @ variance * n_events
        test = centred @ scaled
        per = test**2 / (np.diag(variance) * n_events * (centred**2).sum())
        raw = centred @ resid
        global_stat = float(raw @ variance @ raw * n_events / (centred**2).sum())
    chisq = np.append(per, global_stat)
    df = np.append(np.ones(p, int), p)
    table = pd.DataFrame(
        {"chisq": chisq, "df": df, "p": dist.chi2.sf(chisq, df)},
        index=pd.Index([*design.names, "GLOBAL"], name="covariate"),
    )
    return PHTest(table=table, transform=transform, method=method)
