"""Restricted mean survival time (area under the Kaplan-Meier curve up to tau).

Sources: Royston & Parmar (BMC Med Res Methodol 2013); Uno et al. (J Clin Oncol 2014);
variance as R `survRM2::rmst2` (Greenwood plug-in):
var = sum over event times t_i <= tau of A_i^2 d_i / (n_i (n_i - d_i)), A_i = area of
the curve from t_i to tau (terms with n_i = d_i count as 0, as survRM2 does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput
from talentop.stats import _validate
from talentop.stats import distributions as dist
from talentop.stats.km import km_counts
from talentop.stats.results import Result


def rmst_one(time: np.ndarray, event: np.ndarray, tau: float) -> tuple[float, float]:
    """RMST and its survRM2 standard error for one sample."""
    unique, n_risk, n_event, _ = km_counts(time, event)
    keep = unique <= tau
    unique, n_risk, n_event = unique[keep], n_risk[keep], n_event[keep]
    survival = np.cumprod(1 - n_event / n_risk)
    knots = np.concatenate([[0.0], unique, [tau]])
    # the curve is 1 on [0, t_1), then survival[i] on [t_i, t_{i+1}), up to tau
    areas = np.diff(knots) * np.concatenate([[1.0], survival])
    estimate = float(areas.sum())
    tail_area = np.cumsum(areas[::-1])[::-1][1:]  # area from t_i to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        increment = np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), 0.0)
    variance = float((tail_area**2 * increment).sum())
    return estimate, float(np.sqrt(variance))


@dataclass(frozen=True, eq=False)
class RMST(Result):
    """RMST up to `tau`: one group (`estimate`, `se`) or two (`difference` = arm - reference).

    With two groups `arms` holds per-arm estimate/se/CI; `ratio` and its CI are the
    ratio of RMSTs (arm / reference) on the log scale, as survRM2.
    """

    tau: float
    conf_level: float
    arms: pd.DataFrame
    estimate: float | None = None
    se: float | None = None
    difference: float | None = None
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    ratio: float | None = None
    ratio_ci: tuple[float, float] | None = None
    ratio_p_value: float | None = None
    reference: Any = None
    note: str | None = None  # why a test is missing (zero variance)
    title: str = "Restricted mean survival time"

    @property
    def summary(self) -> pd.DataFrame:
        table = self.arms.copy()
        if self.difference is not None:
            table.loc["difference"] = [
                np.nan,
                self.difference,
                self.se,
                self.ci[0],
                self.ci[1],
            ]
        return table

    def _footer(self) -> list[str]:
        lines = [f"tau = {self.tau:g}"]
        if self.difference is not None:
            lines.append(
                f"difference {self.difference:.4g} (CI {self.ci[0]:.4g} to {self.ci[1]:.4g}), "
                f"p = {self.p_value:.4g}; ratio {self.ratio:.4g} "
                f"(CI {self.ratio_ci[0]:.4g} to {self.ratio_ci[1]:.4g})"
            )
        if self.note:
            lines.append(f"note: {self.note}")
        return lines


def rmst(
    time: Any,
    event: Any,
    *,
    tau: float,
    group: Any = None,
    reference: Any = None,
    conf_level: float = 0.95,
) -> RMST:
    """RMST up to `tau` for one group, or the difference between two (R `survRM2::rmst2`).

    With two groups the difference is (other group) - `reference`; the reference
    defaults to the first level in sorted order (0 when the arms are coded 0/1).
    `tau` must not exceed the last follow-up time of any group (not estimable beyond).
    """
    level = _validate.conf_level(conf_level)
    t, e, checked = _validate.survival_data(time, event, group=group)
    number = _validate.real(tau)
    if number is None or not np.isfinite(number) or number <= 0:
        raise InvalidInput.field("tau", _validate._plain(tau), "a finite time > 0")
    tau = number
    z = dist.norm.ppf(0.5 + level / 2)
    labels = checked.get("group")
    if labels is None:
        if tau > t.max():
            raise InvalidInput.field("tau", tau, f"at most the last follow-up time {t.max():g}")
        estimate, se = rmst_one(t, e, tau)
        arms = pd.DataFrame(
            [[len(t), estimate, se, estimate - z * se, estimate + z * se]],
            columns=["n", "rmst", "se", "lower", "upper"],
            index=pd.Index(["all"], name="group"),
        )
        return RMST(tau=tau, conf_level=level, arms=arms, estimate=estimate, se=se)
    levels = sorted(pd.unique(labels), key=str)
    if len(levels) != 2:
        raise InvalidInput.field(
            "group", [_validate._plain(v) for v in levels], "exactly two groups"
        )
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise InvalidInput.field("reference", reference, f"one of {levels}")
    other = levels[1] if reference == levels[0] else levels[0]
    rows = {}
    problems = []
    for label in (reference, other):
        mask = labels == label
        if tau > t[mask].max():
            problems.append(
                f"tau={tau:g}: expected at most the last follow-up time of group "
                f"{_validate._plain(label)!r} ({t[mask].max():g})"
            )
            continue
        estimate, se = rmst_one(t[mask], e[mask], tau)
        rows[label] = [int(mask.sum()), estimate, se, estimate - z * se, estimate + z * se]
    _validate.check(problems)
    arms = pd.DataFrame.from_dict(
        rows, orient="index", columns=["n", "rmst", "se", "lower", "upper"]
    )
    arms.index.name = "group"
    (r0, se0), (r1, se1) = arms.loc[reference, ["rmst", "se"]], arms.loc[other, ["rmst", "se"]]
    difference = float(r1 - r0)
    se = float(np.hypot(se0, se1))
    note = None
    with np.errstate(divide="ignore", invalid="ignore"):
        # SE 0: no event before tau in either arm, each RMST is exact and equals tau; the
        # difference is known without error and there is nothing to test
        p_value = float(2 * dist.norm.sf(abs(difference) / se)) if se > 0 else float("nan")
        log_ratio = float(np.log(r1 / r0))
        se_log_ratio = float(np.sqrt((se1 / r1) ** 2 + (se0 / r0) ** 2))
        ratio_p = (
            float(2 * dist.norm.sf(abs(log_ratio) / se_log_ratio))
            if se_log_ratio > 0
            else float("nan")
        )
    if se == 0:
        note = (
            f"no event before tau={tau:g} in either group: both RMSTs are exact (SE 0), the "
            "difference has no sampling error and no test (P missing)"
        )
    return RMST(
        tau=tau,
        conf_level=level,
        arms=arms,
        se=se,
        difference=difference,
        ci=(difference - z * se, difference + z * se),
        p_value=p_value,
        ratio=float(np.exp(log_ratio)),
        ratio_ci=(
            float(np.exp(log_ratio - z * se_log_ratio)),
            float(np.exp(log_ratio + z * se_log_ratio)),
        ),
        ratio_p_value=ratio_p,
        reference=_validate._plain(reference),
        note=note,
    )
