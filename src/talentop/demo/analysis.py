"""The interim analysis a trial statistician would run, and the report built from it.

Inputs: the ADTTE (``talentop.endpoints`` derivation; CNSR 0 = event, AVAL in months) and
the per-patient facts the runner read back from the services. Methods as pre-specified for
TALENTOP-like trials: KM medians with Brookmeyer-Crowley CIs (R ``survfit`` rule), log-rank
and Cox PH stratified by the randomisation strata, Schoenfeld-residual PH test, subgroup
HRs with treatment-by-subgroup interaction (likelihood-ratio), exact CIs for proportions,
and the Lan-DeMets O'Brien-Fleming efficacy bound at the observed information.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from talentop.errors import ConvergenceError
from talentop.reports import (
    ConsortArm,
    ConsortFlow,
    exact_ci,
    fmt_hr,
    fmt_num,
    fmt_range,
    json_number,
    p_equals,
)

ARMS = ("A", "B")
#: Published interim (protocol.md "Interim results"), the calibration targets.
PUBLISHED = {
    "screened": 627, "induction": 489, "randomised": 201, "arm_a": 101, "arm_b": 100,
    "operated": 83, "ttf_median_a": 20.4, "ttf_median_b": 11.8, "ttf_hr": 0.60, "ttf_p": 0.015,
    "os_hr": 0.67, "os_ci": (0.35, 1.29), "cd3_pct": 21.7,
}  # fmt: skip
CD_GRADES = ("I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")


@dataclass
class EndpointResult:
    """One endpoint's comparison A vs B."""

    paramcd: str
    data: pd.DataFrame  # USUBJID, arm, time, event, strata columns
    km: dict[str, Any]
    logrank_p: float
    hr: float
    hr_ci: tuple[float, float]
    hr_p: float
    z: float
    ph: pd.DataFrame | None  # Schoenfeld test: chisq, df, p per covariate and GLOBAL
    rmst: Any = None  # RMST difference A minus B (reference B)
    hr_reason: str | None = None  # why the HR is not estimable (None: it is)

    @property
    def ph_p(self) -> float | None:
        return None if self.ph is None else float(self.ph.loc["GLOBAL", "p"])


@dataclass
class Interim:
    """Everything the report shows, computed once."""

    flow: ConsortFlow
    randomised: pd.DataFrame
    ttf: EndpointResult
    os: EndpointResult
    subgroups: pd.DataFrame
    gs: dict[str, float]
    responses: pd.DataFrame
    complications: pd.DataFrame
    adverse_events: pd.DataFrame
    operated: int
    cd3_count: int
    ttf_sensitivity: EndpointResult | None = None  # TTF censored at its continue reasons
    pfs: EndpointResult | None = None  # RECIST 1.1 PFS (investigator-assessed, from the scans)
    stored: Any = None  # talentop.demo.safety.StoredFacts
    expected: dict[str, float] = field(default_factory=dict)  # calibrated model's values
    extra: dict[str, Any] = field(default_factory=dict)


def endpoint_frame(adtte: pd.DataFrame, paramcd: str, patients: pd.DataFrame) -> pd.DataFrame:
    """One row per randomised patient for ``paramcd``: time (months), event (0/1), covariates."""
    rows = adtte[adtte["PARAMCD"] == paramcd]
    frame = rows[["USUBJID", "ARM", "AVAL", "CNSR"]].rename(columns={"ARM": "arm", "AVAL": "time"})
    frame = frame.assign(event=(frame.pop("CNSR") == 0).astype(int))
    covariates = patients.set_index("usubjid")[
        ["stratum", "ecog", "vp_grade", "bor", "depth_of_response_pct"]
    ]
    frame = frame.join(covariates, on="USUBJID")
    frame["treat_a"] = (frame["arm"] == "A").astype(int)
    return frame.reset_index(drop=True)


#: |log HR| beyond this is a diverging (monotone-likelihood) fit, not an estimate: HR < 1e-4.
MAX_ABS_LOG_HR = 9.0


@dataclass(frozen=True)
class HazardRatio:
    """A Cox HR (A vs B) with its CI, Wald P and z; ``reason`` says why it is missing."""

    hr: float = np.nan
    ci: tuple[float, float] = (np.nan, np.nan)
    p: float = np.nan
    z: float = np.nan
    reason: str | None = None
    fit: Any = field(default=None, repr=False, compare=False)


def hazard_ratio(frame: pd.DataFrame, strata: str | None = "stratum") -> HazardRatio:
    """Cox HR for ``treat_a``, or why it cannot be estimated (no events in an arm, or a
    monotone likelihood: within every stratum one arm's events leave the other arm's
    contribution empty, so the partial likelihood keeps rising as the HR goes to 0 or
    infinity; Heinze & Schemper, Biometrics 2001)."""
    from talentop.stats.cox import cox

    events = {arm: int(frame.event[frame.arm == arm].sum()) for arm in ARMS}
    empty = [arm for arm in ARMS if events[arm] == 0]
    if len(empty) == 2:
        return HazardRatio(reason="no events in either arm")
    if empty:
        return HazardRatio(reason=f"no events in arm {empty[0]}")
    try:
        fit = cox(frame, duration="time", event="event", covariates=["treat_a"], strata=strata)
    except ConvergenceError as error:
        monotone = "monotone" in str(error) or "separat" in str(error)
        return HazardRatio(
            reason="monotone likelihood: too few events within strata"
            if monotone
            else "Cox fit did not converge"
        )
    coef = float(fit.coef["treat_a"])
    lo, hi = float(fit.ci_lower["treat_a"]), float(fit.ci_upper["treat_a"])
    if not np.isfinite(coef) or abs(coef) > MAX_ABS_LOG_HR or not np.isfinite([lo, hi]).all():
        return HazardRatio(reason="monotone likelihood: too few events within strata")
    return HazardRatio(
        float(fit.hr["treat_a"]),
        (lo, hi),
        float(fit.p["treat_a"]),
        float(fit.z["treat_a"]),
        fit=fit,
    )


def compare(frame: pd.DataFrame, paramcd: str) -> EndpointResult:
    """KM per arm, stratified log-rank, stratified Cox HR (A vs B), PH test, RMST if offered."""
    from talentop import stats

    kms = {
        arm: stats.kaplan_meier(g["time"].to_numpy(), g["event"].to_numpy())
        for arm, g in frame.groupby("arm")
    }
    test = stats.logrank(frame["time"], frame["event"], frame["arm"], strata=frame["stratum"])
    estimate = hazard_ratio(frame)
    ph = None
    if estimate.fit is not None:
        try:
            ph = estimate.fit.ph_test().table[["chisq", "df", "p"]]
        except ConvergenceError:  # too few events for the score test: reported as missing
            ph = None
    # tau: the shorter arm's last follow-up (RMST is not estimable beyond it)
    tau = float(min(g["time"].max() for _, g in frame.groupby("arm")))
    rmst = stats.rmst(frame["time"], frame["event"], tau=tau, group=frame["arm"], reference="B")
    return EndpointResult(
        paramcd,
        frame,
        kms,
        float(test.p_value),
        estimate.hr,
        estimate.ci,
        estimate.p,
        estimate.z,
        ph,
        rmst,
        hr_reason=estimate.reason,
    )


def _subgroup_rows(frame: pd.DataFrame, name: str, column: pd.Series) -> list[dict[str, Any]]:
    """HR within each level (Cox stratified by randomisation strata) + interaction LR test."""
    from talentop.stats.cox import cox

    data = frame.assign(level=column).dropna(subset=["level"])
    rows = []
    for level, block in data.groupby("level", sort=True):
        counts = {
            f"{k}_{arm.lower()}": v
            for arm in ARMS
            for k, v in (
                ("n", int((block.arm == arm).sum())),
                ("events", int(block.event[block.arm == arm].sum())),
            )
        }
        if min(counts["events_a"], counts["events_b"]) >= 2:
            estimate = hazard_ratio(block, strata=None)
        else:
            estimate = HazardRatio(reason="fewer than 2 events in an arm")
        rows.append(
            {
                "subgroup": name,
                "level": str(level),
                **counts,
                "hr": estimate.hr,
                "ci_lower": estimate.ci[0],
                "ci_upper": estimate.ci[1],
                "hr_reason": estimate.reason,
            }
        )
    p_int = np.nan
    try:
        dummies = pd.get_dummies(data["level"], prefix="lv", drop_first=True, dtype=float)
        design = pd.concat([data[["time", "event", "treat_a"]], dummies], axis=1)
        inter = dummies.mul(design["treat_a"], axis=0).add_prefix("tx_")
        main = cox(design, duration="time", event="event", covariates=["treat_a", *dummies])
        full = cox(
            pd.concat([design, inter], axis=1),
            duration="time",
            event="event",
            covariates=["treat_a", *dummies, *inter],
        )
        p_int = float(chi2.sf(2 * (full.loglik - main.loglik), df=inter.shape[1]))
    except ConvergenceError:
        pass
    for row in rows:
        row["p_interaction"] = p_int
    return rows


def subgroups(frame: pd.DataFrame) -> pd.DataFrame:
    """Overall + depth of response, SD shrinking vs growing, Vp3/Vp4, ECOG (forest plot rows)."""
    overall = compare(frame, "subgroup")
    rows = [
        {
            "subgroup": "Overall",
            "level": "Overall",
            "n_a": int((frame.arm == "A").sum()),
            "events_a": int(frame.event[frame.arm == "A"].sum()),
            "n_b": int((frame.arm == "B").sum()),
            "events_b": int(frame.event[frame.arm == "B"].sum()),
            "hr": overall.hr,
            "ci_lower": overall.hr_ci[0],
            "ci_upper": overall.hr_ci[1],
            "hr_reason": overall.hr_reason,
            "p_interaction": np.nan,
        }
    ]
    depth = frame["depth_of_response_pct"].astype(float)
    rows += _subgroup_rows(
        frame,
        "Depth of response",
        pd.Series(
            np.where(depth <= -30, "shrinkage >= 30%", "shrinkage < 30% or growth"),
            index=frame.index,
        ),
    )
    sd = frame["bor"] == "SD"
    rows += _subgroup_rows(
        frame,
        "SD patients: tumour size",
        pd.Series(np.where(depth < 0, "SD, shrinking", "SD, growing"), index=frame.index).where(sd),
    )
    rows += _subgroup_rows(
        frame,
        "Portal vein thrombus",
        frame["vp_grade"].map(lambda v: "Vp3/Vp4" if v in ("Vp3", "Vp4") else "Vp0-Vp2"),
    )
    rows += _subgroup_rows(frame, "ECOG PS", frame["ecog"].map(lambda v: f"ECOG {v}"))
    return pd.DataFrame(rows)


def gs_at_observed(
    events: int, *, hazard_ratio: float = 0.6, alpha: float = 0.025
) -> dict[str, Any]:
    """O'Brien-Fleming-type bound at the observed fraction of the planned TTF events.

    With as many events as planned or more the analysis is the final one: its bound is the
    single-look bound spending all of alpha, the fraction is reported as observed (it may
    exceed 1) and ``note`` says so, rather than capping the fraction silently.
    """
    from talentop.design import gs_boundaries, schoenfeld_events

    planned = int(schoenfeld_events(hazard_ratio=hazard_ratio, alpha=2 * alpha, power=0.8))
    fraction = events / planned
    note = None
    if fraction < 1:
        design = gs_boundaries(information=[fraction, 1.0], alpha=alpha, spending="obf")
    else:
        design = gs_boundaries(information=[1.0], alpha=alpha, spending="obf")
        note = (
            f"{events} events observed, {planned} planned (information fraction "
            f"{fraction:.2f}): this is the final analysis, with all of alpha"
        )
    return {
        "planned_events": planned,
        "observed_events": events,
        "information_fraction": fraction,
        "efficacy_z": float(design.efficacy_z[0]),
        "nominal_p": float(design.nominal_p[0]),
        "cumulative_alpha": float(design.cumulative_alpha[0]),
        "alpha": alpha,
        "note": note,
    }


def consort_flow(run: Any) -> ConsortFlow:
    """CONSORT counts from what the services decided for each patient."""
    patients = run.patient_frame()
    randomised = patients[patients["arm"].notna()]
    arms = []
    for arm in ARMS:
        block = randomised[randomised["arm"] == arm]
        if arm == "A":
            missing = (
                block.loc[~block["operated"], "not_operated_reason"].fillna("other").value_counts()
            )
            arms.append(
                ConsortArm(
                    arm,
                    len(block),
                    "Operated",
                    int(block["operated"].sum()),
                    {str(k): int(v) for k, v in missing.items()},
                    len(block),
                )
            )
        else:
            arms.append(
                ConsortArm(arm, len(block), "Continued atezo/bev", len(block), {}, len(block))
            )
    return ConsortFlow(
        assessed=run.screened,
        excluded=dict(run.screen_failures),
        induction=run.induction,
        not_randomised=dict(run.not_randomised),
        randomised=len(randomised),
        arms=tuple(arms),
    )


def interim_analysis(run: Any, adtte: dict[str, pd.DataFrame], stored: Any) -> Interim:
    """Run the whole interim analysis on one trial run (ADTTE and safety from the database).

    ``adtte["primary"]`` is the protocol file's TTF (as ``talentop export adtte``);
    ``adtte["censor_at_completion"]`` (the protocol's continue reasons censor, if it has any)
    is the sensitivity analysis (see ``talentop.demo.run.adtte_both``).
    """
    patients = run.patient_frame()
    db = stored.patients.set_index("usubjid")
    for column in ("operated", "switched"):
        patients[column] = patients["usubjid"].map(db[column].astype(bool).to_dict()).eq(True)
    randomised = patients[patients["arm"].notna()].copy()
    ttf = compare(endpoint_frame(adtte["primary"], "TTF", randomised), "TTF")
    os_ = compare(endpoint_frame(adtte["primary"], "OS", randomised), "OS")
    censored = adtte.get("censor_at_completion")
    ttf_sensitivity = (
        None if censored is None else compare(endpoint_frame(censored, "TTF", randomised), "TTF")
    )
    primary = adtte["primary"]
    pfs = (
        compare(endpoint_frame(primary, "PFS", randomised), "PFS")
        if (primary.PARAMCD == "PFS").any()
        else None
    )
    operated_a = randomised[(randomised.arm == "A") & randomised.operated]
    complications = stored.complications
    cd3 = complications[complications.grade.isin(CD_GRADES[2:]) & (complications.arm == "A")]
    return Interim(
        flow=consort_flow(run),
        randomised=randomised,
        ttf=ttf,
        os=os_,
        subgroups=subgroups(ttf.data),
        gs=gs_at_observed(int(ttf.data.event.sum())),
        responses=patients.assign(group="All induction patients"),
        complications=complications,
        adverse_events=stored.adverse_events,
        operated=len(operated_a),
        cd3_count=int(cd3.patient.nunique()),
        ttf_sensitivity=ttf_sensitivity,
        pfs=pfs,
        stored=stored,
        expected=dict(run.model.expected) if run.model else {},
    )


def sensitivity_changes(primary: EndpointResult, sensitivity: EndpointResult) -> dict[str, int]:
    """How censoring at the TTF continue reasons changed the TTF data, per patient."""
    a = primary.data.set_index("USUBJID")[["time", "event"]]
    b = sensitivity.data.set_index("USUBJID")[["time", "event"]].loc[a.index]
    changed = (a["time"] != b["time"]) | (a["event"] != b["event"])
    return {
        "changed": int(changed.sum()),
        "events_censored": int(((a["event"] == 1) & (b["event"] == 0)).sum()),
    }


def _median(km: Any) -> float | None:
    value = float(km.median)
    return value if np.isfinite(value) else None


def _sensitivity_figures(result: EndpointResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {
        "ttf_sensitivity_median_a": _median(result.km["A"]),
        "ttf_sensitivity_median_b": _median(result.km["B"]),
        "ttf_sensitivity_events": {
            arm: int(result.data.event[result.data.arm == arm].sum()) for arm in ARMS
        },
        "ttf_sensitivity_hr": json_number(result.hr),
        "ttf_sensitivity_hr_ci": [json_number(v) for v in result.hr_ci],
        "ttf_sensitivity_hr_reason": result.hr_reason,
        "ttf_sensitivity_p": json_number(result.logrank_p),
    }


def _pfs_figures(result: EndpointResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {
        "pfs_median_a": _median(result.km["A"]),
        "pfs_median_b": _median(result.km["B"]),
        "pfs_hr": json_number(result.hr),
        "pfs_events": int(result.data.event.sum()),
    }


def key_figures(interim: Interim) -> dict[str, Any]:
    """The headline numbers (JSON-safe), compared with the publication in the report."""
    flow = interim.flow
    n_a = next(a.allocated for a in flow.arms if a.label == "A")
    return {
        "screened": flow.assessed,
        "induction": flow.induction,
        "randomised": flow.randomised,
        "arm_a": n_a,
        "arm_b": flow.randomised - n_a,
        "operated": interim.operated,
        "ttf_median_a": _median(interim.ttf.km["A"]),
        "ttf_median_b": _median(interim.ttf.km["B"]),
        "ttf_hr": json_number(interim.ttf.hr),
        "ttf_hr_ci": [json_number(v) for v in interim.ttf.hr_ci],
        "ttf_hr_reason": interim.ttf.hr_reason,
        "ttf_p": json_number(interim.ttf.logrank_p),
        "os_median_a": _median(interim.os.km["A"]),
        "os_median_b": _median(interim.os.km["B"]),
        "os_hr": json_number(interim.os.hr),
        "os_ci": [json_number(v) for v in interim.os.hr_ci],
        "os_hr_reason": interim.os.hr_reason,
        "os_p": json_number(interim.os.logrank_p),
        "ttf_events": int(interim.ttf.data.event.sum()),
        "os_events": int(interim.os.data.event.sum()),
        **_pfs_figures(interim.pfs),
        "cd3_pct": 100 * interim.cd3_count / interim.operated if interim.operated else None,
        "vp3_vp4_pct": 100 * float(interim.randomised.vp_grade.isin(["Vp3", "Vp4"]).mean()),
        "gs_efficacy_z": interim.gs["efficacy_z"],
        "ttf_z": json_number(-interim.ttf.z),
        **_sensitivity_figures(interim.ttf_sensitivity),
        "maintenance_completed": int(interim.stored.patients.maintenance_completed.sum())
        if interim.stored is not None
        else 0,
        "expected": interim.expected,
    }


def published_rows(figures: dict[str, Any]) -> list[dict[str, str]]:
    """One row per figure of protocol.md's interim table, with the calibrated expectation.

    "Expected" is the calibrated model's value (``calibrate_talentop``: analytic medians
    and large-sample Cox HR at the calibration's data cut); one trial of 201 scatters around
    it (log-HR SE about 0.17).
    """

    num = fmt_num
    f, p, e = figures, PUBLISHED, figures.get("expected") or {}
    lo, hi = exact_ci(f["operated"], f["arm_a"]) if f["arm_a"] else (np.nan, np.nan)
    ex_med = f"{num(e.get('ttf_median_a'))} vs {num(e.get('ttf_median_b'))}" if e else "-"
    ex_p = f", z = {fmt_num(e['ttf_z'], 2)}" if "ttf_z" in e else ""
    rows = [
        ("Screened", str(p["screened"]), "-", str(f["screened"]), "cohort size (--patients)"),
        ("Met criteria, received induction", str(p["induction"]), "-", str(f["induction"]), "eligibility engine"),
        ("PR/SD and resectable, randomised", str(p["randomised"]), "-", str(f["randomised"]), "RECIST engine + MDT"),
        ("Arm A / arm B", f"{p['arm_a']} / {p['arm_b']}", "-", f"{f['arm_a']} / {f['arm_b']}", "stratified permuted blocks"),
        ("Arm A operated", f"{p['operated']} (82.2%)", "82.2%", f"{f['operated']} ({100 * f['operated'] / max(f['arm_a'], 1):.1f}%, 95% CI {fmt_range(100 * lo, 100 * hi)})", "record_surgery; failures before the planned date are not operated"),
        ("Median TTF A vs B, months", f"{p['ttf_median_a']} vs {p['ttf_median_b']}", ex_med, f"{num(f['ttf_median_a'])} vs {num(f['ttf_median_b'])}", "Kaplan-Meier; the protocol file's TTF definition (as talentop export adtte)"),
        ("TTF hazard ratio (A vs B), P", f"{fmt_num(p['ttf_hr'], 2)}, {p_equals(p['ttf_p'])}", f"{fmt_num(e['ttf_hr'], 2)}{ex_p}" if e else "-", f"{fmt_hr(f['ttf_hr'], *f['ttf_hr_ci'], reason=f['ttf_hr_reason'])}, log-rank {p_equals(f['ttf_p'])}", "stratified Cox; stratified log-rank P"),
        ("OS hazard ratio (95% CI)", fmt_hr(p["os_hr"], *p["os_ci"]), fmt_num(e["os_hr"], 2) if e else "-", fmt_hr(f["os_hr"], *f["os_ci"], reason=f["os_hr_reason"]), f"{f['os_events']} deaths: immature"),
        ("Grade >= 3 surgical complications (arm A, operated)", f"{p['cd3_pct']}%", "22%", "-" if f["cd3_pct"] is None else f"{fmt_num(f['cd3_pct'])}%", "Clavien-Dindo >= IIIa, from the database"),
        ("New atezo/bev safety signals", "none", "none", "none (AEs drawn from the known profile)", "simulated"),
    ]  # fmt: skip
    if "ttf_sensitivity_events" in f:
        events = f["ttf_sensitivity_events"]
        hr = fmt_hr(
            f["ttf_sensitivity_hr"],
            *f["ttf_sensitivity_hr_ci"],
            reason=f["ttf_sensitivity_hr_reason"],
        )
        rows.append(
            (
                "Sensitivity: TTF censored at maintenance completion",
                "-",
                "-",
                f"median {num(f['ttf_sensitivity_median_a'])} vs "
                f"{num(f['ttf_sensitivity_median_b'])}; HR {hr}, log-rank "
                f"{p_equals(f['ttf_sensitivity_p'])}; events {events['A']} / {events['B']}",
                f"continue reasons moved to censoring; {f['maintenance_completed']} completed "
                "maintenance",
            )
        )
    keys = ("Figure", "Published (interim)", "Calibrated model (expected)", "This run", "Note")
    return [dict(zip(keys, row, strict=True)) for row in rows]
