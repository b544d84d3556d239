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

from talentop.errors import ConvergenceError, InvalidInput
from talentop.reports import (
    ConsortArm,
    ConsortFlow,
    json_number,
)
from talentop.stats.distributions import chi2

ARMS = ("A", "B")
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
    logrank_reason: str | None = None  # why the log-rank P is missing (None: it is not)

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
    os_subgroups: pd.DataFrame | None = None  # the same subgroups for OS
    plan: Any = None  # talentop.design.plan.PlannedAnalysis (the SAP's)
    switch: dict[str, EndpointResult] = field(default_factory=dict)  # TTF per switch reading
    experts: dict[str, Any] = field(default_factory=dict)  # demo.experts tables


def endpoint_frame(adtte: pd.DataFrame, paramcd: str, patients: pd.DataFrame) -> pd.DataFrame:
    """One row per randomised patient for ``paramcd``: time (months), event (0/1), covariates."""
    rows = adtte[adtte["PARAMCD"] == paramcd]
    frame = rows[["USUBJID", "ARM", "AVAL", "CNSR"]].rename(columns={"ARM": "arm", "AVAL": "time"})
    frame = frame.assign(event=(frame.pop("CNSR") == 0).astype(int))
    wanted = ["stratum", "ecog", "vp_grade", "bor", "depth_of_response_pct", "baseline_class"]
    covariates = patients.set_index("usubjid")[[c for c in wanted if c in patients.columns]]
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
    if frame["event"].any():
        test = stats.logrank(frame["time"], frame["event"], frame["arm"], strata=frame["stratum"])
        logrank_p, logrank_reason = float(test.p_value), test.note
    else:  # an early cut of a small trial: nothing to test yet, reported as such
        logrank_p, logrank_reason = np.nan, "no events in either arm"
    estimate = hazard_ratio(frame)
    ph = None
    if estimate.fit is not None:
        try:
            ph = estimate.fit.ph_test().table[["chisq", "df", "p"]]
        except ConvergenceError:  # too few events for the score test: reported as missing
            ph = None
    # tau: the shorter arm's last follow-up (RMST is not estimable beyond it)
    tau = float(min(g["time"].max() for _, g in frame.groupby("arm")))
    rmst = (  # no follow-up yet in an arm (patients randomised on the cut-off): none
        stats.rmst(frame["time"], frame["event"], tau=tau, group=frame["arm"], reference="B")
        if tau > 0
        else None
    )
    return EndpointResult(
        paramcd,
        frame,
        kms,
        logrank_p,
        estimate.hr,
        estimate.ci,
        estimate.p,
        estimate.z,
        ph,
        rmst,
        hr_reason=estimate.reason,
        logrank_reason=logrank_reason,
    )


def _subgroup_rows(frame: pd.DataFrame, name: str, column: pd.Series) -> list[dict[str, Any]]:
    """HR within each level (Cox stratified by randomisation strata) + interaction LR test."""
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
    p_int = _interaction_p(data)
    for row in rows:
        row["p_interaction"] = p_int
    return rows


def _interaction_p(data: pd.DataFrame) -> float:
    """Treatment x subgroup likelihood-ratio P, NaN when there is nothing to test (one level
    or none, e.g. no SD patient in a small run; no event) or the fit does not converge."""
    from talentop.stats.cox import cox

    if data["level"].nunique() < 2 or not data["event"].any():
        return np.nan
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
    except ConvergenceError:
        return np.nan
    return float(chi2.sf(2 * (full.loglik - main.loglik), df=inter.shape[1]))


def subgroups(frame: pd.DataFrame, protocol: Any = None) -> pd.DataFrame:
    """Forest-plot rows: overall, then the experts' subgroups (seed article), each with the
    treatment x subgroup interaction (likelihood-ratio):

    - depth of response, cut as the protocol's ``depth_of_response`` stratum (deep <= -30%,
      shallow -30% to 0% "shrinkage < 30% or no change", growth > 0%);
    - SD patients, shrinkage or no change (<= 0%) vs growth (> 0%): 0% falls where the
      stratum puts it (with shrinkage), not with growth;
    - Vp3 vs Vp4 (the high-risk thrombus grades, compared with each other);
    - baseline resectability class; ECOG PS.
    """
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
    stratum = _depth_stratum(protocol)
    if stratum is not None:
        labels = {lvl.id: lvl.label or lvl.id for lvl in stratum.levels}
        level = depth.map(lambda v: None if pd.isna(v) else labels[stratum.level_for(float(v))])
    else:
        level = pd.Series(
            np.where(depth <= -30, "shrinkage >= 30%", "shrinkage < 30% or growth"),
            index=frame.index,
        )
    rows += _subgroup_rows(frame, "Depth of response", level)
    sd = frame["bor"] == "SD"
    rows += _subgroup_rows(
        frame,
        "SD patients: tumour size",
        pd.Series(
            np.where(depth <= 0, "SD, shrinkage or no change (<= 0%)", "SD, growth (> 0%)"),
            index=frame.index,
        ).where(sd),
    )
    rows += _subgroup_rows(
        frame,
        "Portal vein thrombus",
        frame["vp_grade"].where(frame["vp_grade"].isin(["Vp3", "Vp4"])),
    )
    if "baseline_class" in frame.columns and frame["baseline_class"].notna().any():
        rows += _subgroup_rows(
            frame,
            "Baseline resectability",
            frame["baseline_class"].map(lambda c: None if pd.isna(c) else c.replace("_", " ")),
        )
    rows += _subgroup_rows(frame, "ECOG PS", frame["ecog"].map(lambda v: f"ECOG {v}"))
    return pd.DataFrame(rows)


def _depth_stratum(protocol: Any) -> Any:
    """The protocol's stratum on depth of response, if it has one."""
    if protocol is None:
        return None
    return next((s for s in protocol.strata if s.variable == "depth_of_response_pct"), None)


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


def require_both_arms(screened: int, randomised: pd.DataFrame) -> None:
    """A demo's comparison of the arms needs patients in both: a small cohort may randomise
    none or one arm only (about a third of those screened are randomised). A live trial
    checks its own way (``demo.live.live_interim``)."""
    counts = {arm: int((randomised.arm == arm).sum()) for arm in ARMS}
    if min(counts.values()) == 0:
        raise InvalidInput.field(
            "patients",
            screened,
            "enough screened patients for both arms to be randomised: this run randomised "
            f"{len(randomised)} ({', '.join(f'arm {a} {n}' for a, n in counts.items())}), "
            "so the arms cannot be compared; screen more (e.g. --patients 50)",
        )


def interim_analysis(
    run: Any, adtte: dict[str, pd.DataFrame], stored: Any, *, protocol: Any = None
) -> Interim:
    """Run the whole interim analysis on one trial run (ADTTE and safety from the database).

    ``adtte["primary"]`` is the protocol file's TTF (as ``talentop export adtte``);
    ``adtte["censor_at_completion"]`` (the protocol's continue reasons censor, if it has any)
    and ``adtte["switch_<reading>"]`` (the arm-B switch read another way) are sensitivity
    analyses (``talentop.demo.run.adtte_both``). The interim is judged against the SAP's
    planned events (``design.plan``), never against the observed hazard ratio.
    """
    from talentop.demo import experts
    from talentop.design.plan import plan_from_sap
    from talentop.protocol import load_protocol

    protocol = protocol or load_protocol("talentop")
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
    switch = {protocol.ttf.switch_to_surgery.primary: ttf}
    for reading in protocol.ttf.switch_to_surgery.sensitivity:
        frame = adtte.get(f"switch_{reading}")
        if frame is not None:
            switch[reading] = compare(endpoint_frame(frame, "TTF", randomised), "TTF")
    plan = plan_from_sap(protocol.sap) if protocol.sap is not None else None
    z = None if ttf.hr_reason is not None else float(-ttf.z)
    gs = plan.at_interim(int(ttf.data.event.sum()), z) if plan is not None else {}
    expert = {
        "conversion": experts.conversion_table(patients),
        "landmark": experts.depth_landmark(os_.data),
        "surgical_safety": experts.surgical_safety(stored, protocol),
        "pathology": experts.pathology(stored, os_.data, protocol),
        "switch": experts.switch_sensitivity(
            switch, int(stored.patients.switched.sum()), protocol.ttf.switch_to_surgery.primary
        ),
    }
    if protocol.reassessment is not None:
        expert["operable"] = experts.operable_within(
            stored, protocol.reassessment.operable_within_months.value, run.cutoff_date
        )
    return Interim(
        flow=consort_flow(run),
        randomised=randomised,
        ttf=ttf,
        os=os_,
        subgroups=subgroups(ttf.data, protocol),
        gs=gs,
        responses=patients.assign(group="All induction patients"),
        complications=complications,
        adverse_events=stored.adverse_events,
        operated=len(operated_a),
        cd3_count=int(cd3.patient.nunique()),
        ttf_sensitivity=ttf_sensitivity,
        pfs=pfs,
        stored=stored,
        expected=_expected(run),
        os_subgroups=subgroups(os_.data, protocol),
        plan=plan,
        switch=switch,
        experts=expert,
        extra={"ae_terms_outside_profile": _outside_profile(stored.adverse_events, protocol)},
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
        "ttf_sensitivity_p_reason": result.logrank_reason,
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


def _expected(run: Any) -> dict[str, float]:
    """The model's expected figures: calibration, CONSORT counts, grade >= 3 complications."""
    from talentop.demo.expected import expected_cd3_pct, expected_counts

    if run.model is None:
        return {}
    return {
        **run.model.expected,
        **expected_counts(run.screened),
        "cd3_pct": expected_cd3_pct(run.model),
    }


def _outside_profile(events: pd.DataFrame, protocol: Any = None) -> int:
    """Distinct AE terms recorded that are in no product's reference safety information in
    the protocol file (``safety.products[].expected``: atezolizumab, bevacizumab and the
    expected complications of surgery), nor among the terms the demo's generator draws
    from (``demo.cohort.AE_TERMS``, plus immune-related hepatitis at a toxicity stop): a
    term outside both would be a new safety signal."""
    from talentop.demo.cohort import AE_TERMS

    known = set(AE_TERMS) | {"Hepatitis (immune-related)"}
    safety = getattr(protocol, "safety", None)
    if safety is not None:
        known |= {e.term for product in safety.products for e in product.expected}
    known = {term.casefold() for term in known}
    if not len(events):
        return 0
    return len({t for t in events["term"] if str(t).casefold() not in known})


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
        "ttf_p_reason": interim.ttf.logrank_reason,
        "os_median_a": _median(interim.os.km["A"]),
        "os_median_b": _median(interim.os.km["B"]),
        "os_hr": json_number(interim.os.hr),
        "os_ci": [json_number(v) for v in interim.os.hr_ci],
        "os_hr_reason": interim.os.hr_reason,
        "os_p": json_number(interim.os.logrank_p),
        "os_p_reason": interim.os.logrank_reason,
        "ttf_events": int(interim.ttf.data.event.sum()),
        "os_events": int(interim.os.data.event.sum()),
        **_pfs_figures(interim.pfs),
        "cd3_pct": 100 * interim.cd3_count / interim.operated if interim.operated else None,
        "vp3_vp4_pct": 100 * float(interim.randomised.vp_grade.isin(["Vp3", "Vp4"]).mean()),
        "gs_efficacy_z": interim.gs.get("efficacy_z"),
        "gs_planned_events": interim.gs.get("planned_events"),
        "gs_information_fraction": interim.gs.get("information_fraction"),
        "ae_terms_outside_profile": interim.extra["ae_terms_outside_profile"],
        "ttf_z": json_number(-interim.ttf.z),
        **_sensitivity_figures(interim.ttf_sensitivity),
        "maintenance_completed": int(interim.stored.patients.maintenance_completed.sum())
        if interim.stored is not None
        else 0,
        "expected": interim.expected,
    }


def published_rows(figures: dict[str, Any], protocol: Any = None) -> list[dict[str, str]]:
    """Published vs calibrated model vs this run, each cell marked input / calibrated / output
    (``demo.provenance``); published figures from the protocol file (default TALENTOP)."""
    from talentop.demo.provenance import published_rows as rows
    from talentop.demo.provenance import published_values
    from talentop.protocol import load_protocol

    protocol = protocol or load_protocol("talentop")
    return rows(figures, published_values(protocol), figures.get("expected") or {})
