"""Re-analyse two arms of (reconstructed) patient data with the engine talentop already has.

Kaplan-Meier medians and landmark rates, the log-rank test, the Cox hazard ratio, RMST
differences, a piecewise hazard ratio and the Schoenfeld test of proportional hazards, all
from ``talentop.stats``; the figures and the HTML page from ``talentop.reports``.

The piecewise HR over [a, b) is the Cox HR among the patients still at risk at a, followed
to b (times shifted by a, events after b censored at b). Everyone in that model enters at a,
so its risk sets are exactly those of a Cox model with treatment x interval terms on
(start, stop] episodes, whose partial likelihood factorises over the intervals: the fits
are the same (tested against lifelines' time-varying Cox).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import ConvergenceError, InvalidInput
from talentop.reports import (
    ArmCurve,
    Report,
    Section,
    Table,
    fmt_ci,
    fmt_hr,
    fmt_num,
    fmt_p,
    fmt_range,
    forest_figure,
    km_figure,
    write_report,
)
from talentop.stats import RMST, CoxFit, KaplanMeier, PHTest, TestResult, cox, kaplan_meier
from talentop.stats import logrank as logrank_test
from talentop.stats import rmst as rmst_test
from talentop.stats.results import json_safe

_TIME = ("time", "t", "months", "time_months", "survival_time")
_EVENT = ("event", "status", "dead", "death", "censor_flag", "event_flag")


@dataclass(frozen=True)
class ArmData:
    """One arm's patients: name, times and event flags (1 = event, 0 = censored)."""

    name: str
    time: np.ndarray
    event: np.ndarray


def read_ipd(path: str | Path, name: str | None = None) -> ArmData:
    """Read patient rows (``time``, ``event``; ``arm`` optional) from a CSV file."""
    path = Path(path)
    if path.is_dir() or not path.is_file():
        raise InvalidInput.field("IPD", str(path), "an existing CSV file of patient rows")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput.field("IPD", str(path), f"a readable CSV file ({exc})") from None
    columns = {str(c).lower(): c for c in table.columns}
    time = next((columns[n] for n in _TIME if n in columns), None)
    event = next((columns[n] for n in _EVENT if n in columns), None)
    if time is None or event is None:
        raise InvalidInput.field(
            f"{path} columns", list(table.columns), "a 'time' and an 'event' (1/0) column"
        )
    if name is None:
        arms = table[columns["arm"]].astype(str).unique() if "arm" in columns else []
        name = arms[0] if len(arms) == 1 else path.stem
    return ArmData(str(name), table[time].to_numpy(float), table[event].to_numpy())


@dataclass(frozen=True)
class Reanalysis:
    """Every estimate of the re-analysis; arm ``arms[0]`` is compared with ``arms[1]``."""

    arms: tuple[ArmData, ArmData]
    km: dict[str, KaplanMeier]
    landmarks: pd.DataFrame
    logrank: TestResult
    cox: CoxFit | None  # None: not estimable (``cox_reason`` says why)
    rmst: list[RMST]
    piecewise: pd.DataFrame
    ph: PHTest | None
    cox_reason: str | None = None

    @property
    def hazard_ratio(self) -> tuple[float, float, float]:
        """HR of arms[0] vs arms[1] with its 95 % CI (NaN when not estimable)."""
        if self.cox is None:
            return math.nan, math.nan, math.nan
        name = "arm"
        return (float(self.cox.hr[name]), float(self.cox.ci_lower[name]),
                float(self.cox.ci_upper[name]))  # fmt: skip

    @property
    def hazard_ratio_p(self) -> float:
        return math.nan if self.cox is None else float(self.cox.p["arm"])

    def medians(self) -> pd.DataFrame:
        rows = []
        for arm in self.arms:
            km = self.km[arm.name]
            rows.append({"arm": arm.name, "n": km.n, "events": km.events, "median": km.median,
                         "lower": km.median_ci[0], "upper": km.median_ci[1]})  # fmt: skip
        return pd.DataFrame(rows)

    def rmst_table(self) -> pd.DataFrame:
        a, b = (arm.name for arm in self.arms)
        return pd.DataFrame(
            [{"tau": r.tau, f"rmst_{a}": r.arms.loc[1, "rmst"], f"rmst_{b}": r.arms.loc[0, "rmst"],
              "difference": r.difference, "lower": r.ci[0], "upper": r.ci[1], "p": r.p_value}
             for r in self.rmst]
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        hr, lo, hi = self.hazard_ratio
        return json_safe(
            {
                "arms": [arm.name for arm in self.arms],
                "medians": self.medians(),
                "landmarks": self.landmarks,
                "logrank": {
                    "chisq": self.logrank.statistic,
                    "df": self.logrank.df,
                    "p": self.logrank.p_value,
                },  # fmt: skip
                "cox": {
                    "hr": hr,
                    "lower": lo,
                    "upper": hi,
                    "p": self.hazard_ratio_p,
                    "reason": self.cox_reason,
                },  # fmt: skip
                "rmst": self.rmst_table(),
                "piecewise_hr": self.piecewise,
                "ph_test": None
                if self.ph is None
                else {
                    "chisq": float(self.ph.table.loc["GLOBAL", "chisq"]),
                    "p": self.ph.global_p,
                },  # fmt: skip
            }
        )


def _landmarks(km: dict[str, KaplanMeier], times: Sequence[float]) -> pd.DataFrame:
    rows = []
    for name, fit in km.items():
        table = fit.table
        for t in times:
            index = int(np.searchsorted(table["time"].to_numpy(), t, side="right")) - 1
            last = float(table["time"].iloc[-1])
            if t > last:
                row = (math.nan, math.nan, math.nan)
            elif index < 0:
                row = (1.0, 1.0, 1.0)
            else:
                row = tuple(float(table[c].iloc[index]) for c in ("survival", "lower", "upper"))
            rows.append({"arm": name, "time": float(t), "survival": row[0], "lower": row[1],
                         "upper": row[2]})  # fmt: skip
    return pd.DataFrame(rows)


def _data(a: ArmData, b: ArmData) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": np.concatenate([a.time, b.time]),
            "event": np.concatenate([a.event, b.event]).astype(int),
            "arm": np.concatenate([np.ones(a.time.size, int), np.zeros(b.time.size, int)]),
        }
    )


def piecewise_hazard_ratios(data: pd.DataFrame, cuts: Sequence[float]) -> pd.DataFrame:
    """Cox HR of arm 1 vs arm 0 within each interval [cut_k, cut_k+1) (the last open)."""
    bounds = [*cuts, math.inf]
    rows = []
    for start, stop in zip(bounds, bounds[1:], strict=False):
        at_risk = data[data["time"] >= start]
        episode = pd.DataFrame(
            {
                "time": np.minimum(at_risk["time"], stop) - start,
                "event": ((at_risk["event"] == 1) & (at_risk["time"] < stop)).astype(int),
                "arm": at_risk["arm"],
            }
        )
        label = f"{start:g}-{stop:g}" if math.isfinite(stop) else f">={start:g}"
        counts = {f"{k}_{a}": int(v) for a, group in (("a", 1), ("b", 0))
                  for k, v in (("n", (episode["arm"] == group).sum()),
                               ("events", episode.loc[episode["arm"] == group, "event"].sum()))}  # fmt: skip
        try:
            fit = cox(episode, duration="time", event="event", covariates=["arm"])
            hr, lo, hi, p = (float(fit.hr["arm"]), float(fit.ci_lower["arm"]),
                             float(fit.ci_upper["arm"]), float(fit.p["arm"]))  # fmt: skip
        except (ConvergenceError, InvalidInput):
            hr = lo = hi = p = math.nan  # no events, or all in one arm: not estimable
        rows.append({"interval": label, "start": float(start), "stop": float(stop), **counts,
                     "hr": hr, "ci_lower": lo, "ci_upper": hi, "p": p})  # fmt: skip
    return pd.DataFrame(rows)


def _check_times(name: str, values: Sequence[float], horizon: float) -> list[str]:
    return [
        f"{name}={v!r}: expected a time in (0, {horizon:g}] (the shorter arm's follow-up)"
        for v in values
        if not (math.isfinite(v) and 0 < v <= horizon)
    ]


def reanalyse(
    a: ArmData,
    b: ArmData,
    *,
    taus: Sequence[float] | None = None,
    landmarks: Sequence[float] | None = None,
    cuts: Sequence[float] | None = None,
) -> Reanalysis:
    """Re-analyse arm ``a`` against arm ``b`` (HR a vs b, RMST a - b)."""
    if a.name == b.name:
        b = ArmData(f"{b.name} (2)", b.time, b.event)
    horizon = float(min(a.time.max(), b.time.max()))
    if taus is None:
        taus = [math.floor(horizon) if horizon >= 1 else horizon]
    if landmarks is None:
        landmarks = [t for t in (6.0, 12.0, 24.0) if t <= horizon] or [horizon / 2]
    if cuts is None:
        events = np.concatenate([a.time[a.event == 1], b.time[b.event == 1]])
        middle = float(np.median(events)) if events.size else horizon / 2
        cuts = [0.0, float(round(middle))] if round(middle) > 0 else [0.0]
    problems = _check_times("tau", taus, horizon) + _check_times("landmark", landmarks, horizon)
    cuts = sorted(float(c) for c in cuts)
    if not cuts or cuts[0] != 0 or len(set(cuts)) != len(cuts):
        problems.append(f"intervals={cuts}: expected distinct cut times starting at 0")
    if problems:
        raise InvalidInput(problems)
    data = _data(a, b)
    km = {arm.name: kaplan_meier(arm.time, arm.event) for arm in (a, b)}
    try:
        fit, reason = cox(data, duration="time", event="event", covariates=["arm"]), None
    except ConvergenceError as error:  # e.g. no events in one arm: the rest still stands
        fit, reason = None, str(error)
    return Reanalysis(
        arms=(a, b),
        km=km,
        landmarks=_landmarks(km, landmarks),
        logrank=logrank_test(data["time"], data["event"], data["arm"]),
        cox=fit,
        rmst=[
            rmst_test(data["time"], data["event"], tau=float(t), group=data["arm"], reference=0)
            for t in taus
        ],  # fmt: skip
        piecewise=piecewise_hazard_ratios(data, cuts),
        ph=None if fit is None else fit.ph_test(),
        cox_reason=reason,
    )


def _tables(result: Reanalysis) -> list[Table]:
    a, b = (arm.name for arm in result.arms)
    medians = result.medians()
    survival = Table(
        "Median and landmark survival",
        pd.DataFrame(
            [{"Arm": row.arm, "Patients": row.n, "Events": row.events,
              # NR (not reached), the KM convention, for the median as for its CI limits
              "Median (95% CI)": f"{fmt_num(row.median, 1)} ({fmt_range(row.lower, row.upper, 1)})"}
             for row in medians.itertuples()]
            + [{"Arm": row.arm, "Patients": "", "Events": "",
                "Median (95% CI)": f"S({row.time:g}) = "
                + fmt_ci(row.survival, row.lower, row.upper, 3, "beyond follow-up")}
               for row in result.landmarks.itertuples()]
        ),
        "Kaplan-Meier; median CI by Brookmeyer-Crowley (R survfit), landmark CI log-scale.",
    )  # fmt: skip
    hr, lo, hi = result.hazard_ratio
    effect_rows = [
        ("Log-rank test", f"chi-square {result.logrank.statistic:.3f}, "
                          f"P = {fmt_p(result.logrank.p_value)}"),
        (f"Cox hazard ratio {a} vs {b}",
         fmt_hr(hr, lo, hi, result.hazard_ratio_p, reason=result.cox_reason)),
        ("Proportional hazards (Schoenfeld, km transform)",
         "not assessable (no hazard ratio)" if result.ph is None else
         f"chi-square {result.ph.table.loc['GLOBAL', 'chisq']:.3f}, P = {fmt_p(result.ph.global_p)}"),
    ] + [
        (f"RMST difference {a} - {b} up to {r.tau:g}",
         f"{fmt_ci(r.difference, r.ci[0], r.ci[1], 2)}, P = {fmt_p(r.p_value)} "
         f"({a} {fmt_num(r.arms.loc[1, 'rmst'], 2)}, {b} {fmt_num(r.arms.loc[0, 'rmst'], 2)})")
        for r in result.rmst
    ]  # fmt: skip
    effects = Table("Treatment effect", pd.DataFrame(effect_rows, columns=["Estimate", "Value"]))
    pieces = result.piecewise
    piecewise = Table(
        "Piecewise hazard ratio",
        pd.DataFrame({"Interval": pieces["interval"],
                      f"{a} events/n": [f"{e}/{n}" for e, n in zip(pieces.events_a, pieces.n_a, strict=True)],
                      f"{b} events/n": [f"{e}/{n}" for e, n in zip(pieces.events_b, pieces.n_b, strict=True)],
                      "HR (95% CI)": [fmt_hr(*r) for r in zip(pieces.hr, pieces.ci_lower, pieces.ci_upper, pieces.p, strict=True)]}),
        "Cox HR among patients at risk at the interval's start, followed to its end.",
    )  # fmt: skip
    return [survival, effects, piecewise]


def write_reanalysis(result: Reanalysis, out_dir: str | Path, *, title: str) -> Path:
    """The HTML report (KM figure, forest of piecewise HRs, tables); returns index.html."""
    a, b = result.arms
    horizon = max(float(a.time.max()), float(b.time.max()))
    step = next(s for s in (1, 2, 3, 6, 12, 24, 60, 120, math.inf) if horizon / s <= 10)
    figure = km_figure(
        [ArmCurve(arm.name, arm.time, arm.event.astype(int)) for arm in result.arms],
        name="km",
        title=title,
        y_label="Survival",
        x_label="Time",
        tick_step_months=float(step),
        fitted=result.km,
    ).figure
    hr, lo, hi = result.hazard_ratio
    overall = {"subgroup": "Overall", "level": "", "n_a": a.time.size,
               "events_a": int(a.event.sum()), "n_b": b.time.size, "events_b": int(b.event.sum()),
               "hr": hr, "ci_lower": lo, "ci_upper": hi, "p_interaction": math.nan}  # fmt: skip
    pieces = result.piecewise.assign(subgroup="Interval", level=result.piecewise["interval"],
                                     p_interaction=math.nan)  # fmt: skip
    forest = forest_figure(pd.concat([pd.DataFrame([overall]), pieces], ignore_index=True),
                           name="piecewise_hr", title="Hazard ratio overall and by interval",
                           arm_labels=(a.name, b.name))  # fmt: skip
    survival, effects, piecewise = _tables(result)
    report = Report(
        title=title,
        subtitle=f"{a.name} (n={a.time.size}) vs {b.name} (n={b.time.size})",
        headline=[
            (f"HR {a.name} vs {b.name}", fmt_hr(hr, lo, hi, reason=result.cox_reason)),
            ("Log-rank P", fmt_p(result.logrank.p_value)),
        ],  # fmt: skip
        sections=[
            Section("survival", "Survival", figures=[figure], tables=[survival]),
            Section("effect", "Treatment effect", tables=[effects]),
            Section("piecewise", "Hazard ratio over time", figures=[forest], tables=[piecewise]),
        ],
    )
    return write_report(report, out_dir)
