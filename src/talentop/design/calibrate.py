"""Calibrate piecewise-exponential hazards to the published TALENTOP interim.

Targets (protocol.md, "Interim results"): median TTF 20.4 vs 11.8 months, TTF HR 0.60 with
two-sided P = 0.015, OS HR 0.67 (95% CI 0.35-1.29), 83 of 101 arm-A patients operated.
Model: arm B exponential; operated arm-A patients have an early surgical-risk window (higher
hazard) and a lower hazard after it, so the curves cross; the 18/101 not operated follow
arm B. HRs, z and standard errors are large-sample limits at the interim data cut
(``asymptotic.limiting_cox``), checked by Monte Carlo with ``simulate_trials``.

The P-value and the CI width are information constraints: the calendar month of the data cut
is fitted so the expected log-rank z equals Phi^-1(1 - 0.015 / 2) = 2.432, and the arm-B OS
hazard so the expected Cox SE of the OS log HR equals (ln 1.29 - ln 0.35) / (2 x 1.96) =
0.333. Under proportional hazards these mean about 4 (2.432 / ln 0.6)^2 = 90.7 TTF events and
4 / 0.333^2 = 36.1 deaths (Schoenfeld, Biometrika 1981;68:316-319); the fit reports the
model's own counts beside them. What stays assumed (accrual length, surgical window, OS
early-window HR) is reported with the fit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from talentop.design.asymptotic import LimitingCox, limiting_cox, true_median
from talentop.design.events import accrual_for
from talentop.design.simulate import simulate_trials
from talentop.design.trial import TrialDesign
from talentop.errors import ConvergenceError, InvalidInput
from talentop.stats.distributions import norm

Z_975 = float(norm.isf(0.025))

Hazards = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class CalibrationTargets:
    """The published interim figures (protocol.md table)."""

    ttf_median_a_months: float = 20.4
    ttf_median_b_months: float = 11.8
    ttf_hr: float = 0.60
    ttf_p_two_sided: float = 0.015
    os_hr: float = 0.67
    os_hr_ci: tuple[float, float] = (0.35, 1.29)
    randomised_a: int = 101
    randomised_b: int = 100
    operated_a: int = 83

    @property
    def ttf_z(self) -> float:
        """|z| of the published two-sided P: Phi^-1(1 - P / 2)."""
        return float(norm.isf(self.ttf_p_two_sided / 2))

    @property
    def os_se_log_hr(self) -> float:
        """SE of the OS log HR from the 95 % CI width: (ln upper - ln lower) / (2 x 1.96)."""
        low, high = self.os_hr_ci
        return (math.log(high) - math.log(low)) / (2 * Z_975)

    def _allocation_factor(self) -> float:
        p = self.randomised_a / (self.randomised_a + self.randomised_b)
        return 1.0 / (p * (1 - p))

    @property
    def ttf_events_ph(self) -> float:
        """TTF events the HR and P imply under PH: (z / ln HR)^2 / (p (1 - p)) (Schoenfeld)."""
        return self._allocation_factor() * (self.ttf_z / math.log(self.ttf_hr)) ** 2

    @property
    def os_deaths_ph(self) -> float:
        """Deaths the CI width implies under PH: 1 / (p (1 - p) SE^2) (Schoenfeld)."""
        return self._allocation_factor() / self.os_se_log_hr**2


@dataclass(frozen=True)
class CalibrationAssumptions:
    """Settings the publication does not give; ``None`` means "fit it to the targets".

    Accrual defaults to 24 months because with 36 the expected TTF z at the end of accrual
    (all 201 randomised) already exceeds the published 2.432: no data cut could match P.
    """

    accrual_months: float = 24.0
    #: calendar month of the interim (from the first randomisation); None: fitted to TTF P
    data_cut_months: float | None = None
    #: length of the early TTF risk window after randomisation; None: fitted to the TTF HR
    ttf_window_months: float | None = None
    ttf_early_hr: float = 1.5  # TTF hazard of operated vs arm B inside that window
    surgical_window_months: float = 3.0  # early OS (peri-operative) risk window
    #: arm-B OS median (exponential); None: fitted to the width of the OS HR CI
    os_control_median_months: float | None = None
    os_early_hr: float = 1.5  # OS hazard of operated vs arm B inside the surgical window


@dataclass
class CalibrationResult:
    """Fitted hazards, ready to generate synthetic patients.

    ``ttf_hazards["A"]`` / ``os_hazards["A"]`` are for OPERATED arm-A patients, as
    ``(start_month, hazard_per_month)`` pieces; arm-A patients not operated (fraction
    ``1 - operated_fraction``) follow ``["B"]``. ``assumptions`` holds every setting used,
    fitted ones filled in (names in ``fitted``), so ``assumptions.data_cut_months`` is the
    data cut whichever way it was set.
    """

    ttf_hazards: Hazards
    os_hazards: Hazards
    operated_fraction: float
    targets: CalibrationTargets
    assumptions: CalibrationAssumptions
    fit: pd.DataFrame = field(repr=False)
    fitted: tuple[str, ...] = ()
    ttf_limit: LimitingCox | None = None
    os_limit: LimitingCox | None = None

    @property
    def data_cut_months(self) -> float:
        """Calendar month of the interim data cut (fitted unless it was given)."""
        return float(self.assumptions.data_cut_months)

    def design(self, endpoint: str = "ttf") -> TrialDesign:
        """The TALENTOP interim as a ``TrialDesign`` (one look at the expected events)."""
        hazards = self.ttf_hazards if endpoint == "ttf" else self.os_hazards
        return _design(hazards, self.operated_fraction, self.targets, self.assumptions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: hazards, operated fraction, targets, assumptions and the fit table."""
        targets = asdict(self.targets)
        targets.update(
            ttf_z=self.targets.ttf_z,
            os_se_log_hr=self.targets.os_se_log_hr,
            ttf_events_ph=self.targets.ttf_events_ph,
            os_deaths_ph=self.targets.os_deaths_ph,
            os_hr_ci=list(self.targets.os_hr_ci),
        )
        limits = {
            name: asdict(limit) | {"se_log_hr": limit.se_log_hr}
            for name, limit in (("ttf", self.ttf_limit), ("os", self.os_limit))
            if limit is not None
        }
        return {
            "ttf_hazards": {k: [list(p) for p in v] for k, v in self.ttf_hazards.items()},
            "os_hazards": {k: [list(p) for p in v] for k, v in self.os_hazards.items()},
            "operated_fraction": self.operated_fraction,
            "data_cut_months": self.data_cut_months,
            "targets": targets,
            "assumptions": asdict(self.assumptions),
            "fitted": list(self.fitted),
            "limits": limits,
            "fit": self.fit.replace({np.nan: None}).to_dict(orient="records"),
        }


def _design(
    hazards: Hazards, operated: float, targets: CalibrationTargets, assume: CalibrationAssumptions
) -> TrialDesign:
    n = targets.randomised_a + targets.randomised_b
    return TrialDesign.build(
        arms=(
            {
                "name": "A",
                "allocation": targets.randomised_a,
                "hazards": hazards["A"],
                "noncompliance": 1 - operated,
            },
            {"name": "B", "allocation": targets.randomised_b, "hazards": hazards["B"]},
        ),
        n_patients=n,
        accrual=accrual_for(n, assume.accrual_months),
        look_events=[1],
        efficacy_z=[Z_975],  # the interim's two-sided 5 % test
        max_duration_months=assume.data_cut_months or 10 * assume.accrual_months,
    )


def _two_piece(early: float, late: float, window: float) -> list[tuple[float, float]]:
    return [(0.0, early), (window, late)]


class _Fit:
    """The nested root finding; each level solves one target by brentq on one setting."""

    def __init__(self, targets: CalibrationTargets, assume: CalibrationAssumptions):
        self.targets, self.assume = targets, assume
        self.operated = targets.operated_a / targets.randomised_a
        self.ttf_b = math.log(2) / targets.ttf_median_b_months
        self.ttf_early = assume.ttf_early_hr * self.ttf_b
        self._late_cache: dict[float, float] = {}

    def design(self, hazards: Hazards) -> TrialDesign:
        return _design(hazards, self.operated, self.targets, self.assume)

    def ttf_late(self, window: float) -> float:
        """Late TTF hazard of operated patients giving the arm-A mixture median (no cut)."""
        if window not in self._late_cache:

            def excess(late: float) -> float:
                design = self.design(
                    {"A": _two_piece(self.ttf_early, late, window), "B": [(0.0, self.ttf_b)]}
                )
                m = true_median(design, 0)
                return (1000.0 if math.isnan(m) else m) - self.targets.ttf_median_a_months

            self._late_cache[window] = float(brentq(excess, 1e-7, 5.0, xtol=1e-12))
        return self._late_cache[window]

    def ttf_hazards(self, window: float) -> Hazards:
        late = self.ttf_late(window)
        return {"A": _two_piece(self.ttf_early, late, window), "B": [(0.0, self.ttf_b)]}

    def ttf_at_cut(self, cut: float) -> Hazards:
        """TTF hazards reproducing both medians and the HR at data cut ``cut``.

        The early hazard is ``ttf_early_hr`` x arm B (so the curves cross); a longer window
        raises the Cox HR, and the window is solved so the HR is the published one.
        """
        if self.assume.ttf_window_months is not None:
            return self.ttf_hazards(self.assume.ttf_window_months)

        def excess(window: float) -> float:
            try:
                hazards = self.ttf_hazards(window)
            except ValueError:
                # so long a window that no late hazard reaches the median: HR far too high
                return 1.0
            return limiting_cox(self.design(hazards), cut).log_hr - math.log(self.targets.ttf_hr)

        try:
            window = float(brentq(excess, 1e-3, 24.0, xtol=1e-10))
        except ValueError:
            raise ConvergenceError(
                f"no early TTF window (hazard {self.assume.ttf_early_hr} x arm B) reproduces HR "
                f"{self.targets.ttf_hr} with median {self.targets.ttf_median_a_months} months at "
                f"month {cut:.1f}: try another ttf_early_hr or data cut"
            ) from None
        return self.ttf_hazards(window)

    def data_cut(self) -> float:
        """Calendar month at which the refitted TTF model's expected z is the published one.

        Searched from the end of accrual (all 201 randomised by the interim) to 10 x accrual.
        """
        target = self.targets.ttf_z
        accrual = self.assume.accrual_months

        def excess(cut: float) -> float:
            return limiting_cox(self.design(self.ttf_at_cut(cut)), cut).logrank_z - target

        low, high = accrual, 10 * accrual
        if excess(low) > 0:
            raise ConvergenceError(
                f"accrual_months={accrual}: the expected TTF z already exceeds {target:.3f} "
                "(P = {:.3g}) when accrual ends; expected a shorter accrual".format(
                    self.targets.ttf_p_two_sided
                )
            )
        if excess(high) < 0:
            raise ConvergenceError(
                f"no data cut before month {high:g} reaches the TTF z {target:.3f}"
            )
        return float(brentq(excess, low, high, xtol=1e-8))

    def os_hazards(self, control: float, cut: float) -> Hazards:
        """OS hazards with arm-B hazard ``control`` reproducing the OS HR at ``cut``."""
        early, window = self.assume.os_early_hr * control, self.assume.surgical_window_months

        def hazards(late: float) -> Hazards:
            return {"A": _two_piece(early, late, window), "B": [(0.0, control)]}

        def excess(late: float) -> float:
            limit = limiting_cox(self.design(hazards(late)), cut)
            return limit.log_hr - math.log(self.targets.os_hr)

        try:
            late = float(brentq(excess, 1e-7, 1.0, xtol=1e-12))
        except ValueError:
            raise ConvergenceError(
                f"no late OS hazard reproduces HR {self.targets.os_hr}: try another os_early_hr"
            ) from None
        return hazards(late)

    def os_control(self, cut: float) -> float:
        """Arm-B OS hazard whose refitted model has the published SE of the OS log HR."""
        target = self.targets.os_se_log_hr

        def excess(control: float) -> float:
            limit = limiting_cox(self.design(self.os_hazards(control, cut)), cut)
            return limit.se_log_hr - target

        # SE falls as deaths accrue: search arm-B medians from 1,000 down to 6 months
        low, high = math.log(2) / 1000.0, math.log(2) / 6.0
        if excess(low) * excess(high) > 0:
            raise ConvergenceError(
                f"no arm-B OS median between 6 and 1000 months gives SE {target:.3f} at month "
                f"{cut:.1f}: check os_hr_ci"
            )
        return float(brentq(excess, low, high, xtol=1e-12))


def calibrate_talentop(
    targets: CalibrationTargets | None = None,
    assumptions: CalibrationAssumptions | None = None,
    *,
    replicates: int = 2000,
    seed: int = 20251017,
) -> CalibrationResult:
    """Fit data cut and TTF/OS hazards to the interim; check them by Monte Carlo.

    Order: the data cut (unless given) so the expected TTF log-rank z matches the published P,
    with TTF (early, late) hazards refitted at each trial cut to the arm-A median and the HR;
    then the arm-B OS hazard (unless its median is given) so the Cox SE matches the CI width,
    with the late OS hazard refitted to the OS HR.
    """
    targets = targets or CalibrationTargets()
    assume = assumptions or CalibrationAssumptions()
    problems = []
    if not 0 < targets.ttf_p_two_sided < 1:
        problems.append(f"ttf_p_two_sided={targets.ttf_p_two_sided!r}: expected 0 < P < 1")
    low, high = targets.os_hr_ci
    if not 0 < low < targets.os_hr < high:
        problems.append(f"os_hr_ci={targets.os_hr_ci!r}: expected 0 < lower < os_hr < upper")
    if assume.data_cut_months is not None and assume.data_cut_months <= 0:
        problems.append(f"data_cut_months={assume.data_cut_months!r}: expected a positive month")
    if problems:
        raise InvalidInput(problems)
    fitted = []
    fit = _Fit(targets, assume)
    cut = assume.data_cut_months
    if cut is None:
        cut = fit.data_cut()
        fitted.append("data_cut_months")
    ttf = fit.ttf_at_cut(cut)
    if assume.ttf_window_months is None:
        fitted.append("ttf_window_months")
    if assume.os_control_median_months is None:
        os_b = fit.os_control(cut)
        fitted.append("os_control_median_months")
    else:
        os_b = math.log(2) / assume.os_control_median_months
    os = fit.os_hazards(os_b, cut)
    assume = replace(
        assume,
        data_cut_months=cut,
        ttf_window_months=ttf["A"][1][0],
        os_control_median_months=math.log(2) / os_b,
    )
    table, ttf_limit, os_limit = _fit_table(
        ttf, os, fit.operated, targets, assume, replicates, seed
    )
    return CalibrationResult(
        ttf, os, fit.operated, targets, assume, table, tuple(fitted), ttf_limit, os_limit
    )


def _monte_carlo(design: TrialDesign, events: float, replicates: int, seed: int) -> pd.DataFrame:
    """Replicates analysed at the expected event count (an event-driven interim)."""
    looks = [max(1, int(round(events)))]
    trial = design.model_copy(update={"look_events": looks, "max_duration_months": 1e4})
    return simulate_trials(trial, replicates=replicates, seed=seed)


def _mc_mean(values: pd.Series, log: bool = False) -> tuple[float, float]:
    v = np.log(values.dropna()) if log else values.dropna()
    mean, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))
    return (math.exp(mean), math.exp(mean) * se) if log else (mean, se)


def _mc_sd(values: pd.Series) -> tuple[float, float]:
    """Empirical SD and its Monte-Carlo SE, SD / sqrt(2 (R - 1)) (normal theory)."""
    v = values.dropna()
    sd = float(v.std(ddof=1))
    return sd, sd / math.sqrt(2 * (len(v) - 1))


def _fit_table(
    ttf: Hazards,
    os: Hazards,
    operated: float,
    targets: CalibrationTargets,
    assume: CalibrationAssumptions,
    replicates: int,
    seed: int,
) -> tuple[pd.DataFrame, LimitingCox, LimitingCox]:
    cut = float(assume.data_cut_months)
    ttf_design = _design(ttf, operated, targets, assume)
    os_design = _design(os, operated, targets, assume)
    t_lim, o_lim = limiting_cox(ttf_design, cut), limiting_cox(os_design, cut)
    ttf_sim = _monte_carlo(ttf_design, t_lim.events, replicates, seed)
    os_sim = _monte_carlo(os_design, o_lim.events, replicates, seed + 1)
    operated_sim = 1 - ttf_sim["noncompliant"] / targets.randomised_a
    p_sim = 2 * norm.sf(np.abs(ttf_sim["z_1"]))
    os_log = np.log(os_sim["hr"])
    nan2 = (math.nan, math.nan)
    published = "published"
    rows = [
        ("TTF median A (months)", targets.ttf_median_a_months, published,
         true_median(ttf_design, 0), *_mc_mean(ttf_sim["median_A"])),
        ("TTF median A reached (MC share of trials)", math.nan, "MC medians use these only",
         math.nan, *_mc_mean(ttf_sim["median_A"].notna().astype(float))),
        ("TTF median B (months)", targets.ttf_median_b_months, published,
         true_median(ttf_design, 1), *_mc_mean(ttf_sim["median_B"])),
        ("TTF hazard ratio", targets.ttf_hr, published,
         math.exp(t_lim.log_hr), *_mc_mean(ttf_sim["hr"], log=True)),
        ("TTF expected log-rank z", targets.ttf_z, "published P, Phi^-1(1 - P/2)",
         t_lim.logrank_z, *_mc_mean(ttf_sim["z_1"])),
        ("TTF two-sided P (at the expected z; MC: median)", targets.ttf_p_two_sided, published,
         2 * norm.sf(t_lim.logrank_z), float(np.median(p_sim)), math.nan),
        ("TTF events at the data cut", targets.ttf_events_ph, "implied under PH (Schoenfeld)",
         t_lim.events, *_mc_mean(ttf_sim["events"])),
        ("OS hazard ratio", targets.os_hr, published,
         math.exp(o_lim.log_hr), *_mc_mean(os_sim["hr"], log=True)),
        ("OS log HR standard error", targets.os_se_log_hr, "published CI width / (2 x 1.96)",
         o_lim.se_log_hr, *_mc_mean(os_sim["se_1"])),
        ("OS log HR SD across trials (MC)", targets.os_se_log_hr, "as above",
         o_lim.se_log_hr, *_mc_sd(os_log)),
        ("OS HR 95% CI lower", targets.os_hr_ci[0], published,
         math.exp(o_lim.log_hr - Z_975 * o_lim.se_log_hr), *nan2),
        ("OS HR 95% CI upper", targets.os_hr_ci[1], published,
         math.exp(o_lim.log_hr + Z_975 * o_lim.se_log_hr), *nan2),
        ("OS deaths at the data cut", targets.os_deaths_ph, "implied under PH (Schoenfeld)",
         o_lim.events, *_mc_mean(os_sim["events"])),
        ("operated fraction, arm A", operated, "published 83/101", operated,
         *_mc_mean(operated_sim)),
        ("arm A operated (patients)", operated * targets.randomised_a,
         f"published {targets.operated_a} of {targets.randomised_a}",
         operated * targets.randomised_a, *_mc_mean(operated_sim * targets.randomised_a)),
        ("data cut (calendar month)", math.nan, "fitted to P unless given", cut, *nan2),
        ("TTF early window (months)", math.nan, "fitted to HR unless given", ttf["A"][1][0],
         *nan2),
        ("OS median B (months)", math.nan, "fitted", true_median(os_design, 1), *nan2),
    ]  # fmt: skip
    columns = ["quantity", "target", "source", "analytic", "monte_carlo", "mc_se"]
    table = pd.DataFrame(rows, columns=columns)
    table.insert(1, "kind", [_kind(q) for q in table["quantity"]])
    table["flag"] = _flags(table)
    return table, t_lim, o_lim


#: How each fit quantity is a number: counts print as counts.
def _kind(quantity: str) -> str:
    if "events" in quantity or "deaths" in quantity or "(patients)" in quantity:
        return "count"
    if "(months)" in quantity or "month" in quantity:
        return "months"
    if "share" in quantity or "fraction" in quantity:
        return "fraction"
    return "statistic"


#: A Monte-Carlo mean further than this many of its SEs from the target is flagged.
FLAG_SE = 3.0


def _flags(table: pd.DataFrame) -> list[str]:
    """ "> 3 MC SE" where the Monte-Carlo mean is further than ``FLAG_SE`` SEs from the target
    (the fit, checked by simulation, does not reach the published value)."""
    out = []
    for row in table.itertuples(index=False):
        values = (row.target, row.monte_carlo, row.mc_se)
        if any(v is None or not np.isfinite(v) for v in values) or row.mc_se <= 0:
            out.append("")
            continue
        distance = abs(row.monte_carlo - row.target) / row.mc_se
        out.append(f"> {FLAG_SE:g} MC SE ({distance:.1f})" if distance > FLAG_SE else "")
    return out
