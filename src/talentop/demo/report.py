"""Build the trial report (``talentop.reports``) from an interim analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from talentop.demo.analysis import CD_GRADES, Interim, key_figures, published_rows
from talentop.reports import (
    ArmCurve,
    Report,
    Section,
    Table,
    baseline_table,
    consort_figure,
    fmt_ci,
    forest_figure,
    grade_table,
    key_value_table,
    km_figure,
    published_table,
    response_table,
    write_report,
)


def _km(result: Any, name: str, title: str, y_label: str) -> Any:
    arms = [
        ArmCurve(arm, g["time"].to_numpy(), g["event"].to_numpy())
        for arm, g in result.data.groupby("arm")
    ]
    note = (
        f"Stratified Cox HR (A vs B) {fmt_ci(result.hr, *result.hr_ci)}\n"
        f"stratified log-rank P = {result.logrank_p:.3f}"
    )
    return km_figure(
        arms, name=name, title=title, y_label=y_label, annotation=note, fitted=result.km
    )


def _endpoint_table(result: Any, label: str) -> Table:
    rows = []
    for arm, km in result.km.items():
        lo, hi = km.median_ci
        rows.append(
            {
                "Arm": arm,
                "n": km.n,
                "events": km.events,
                "median, months (95% CI)": fmt_ci(float(km.median), lo, hi, 1)
                if np.isfinite(km.median)
                else "not reached",
            }
        )
    note = (
        f"HR {fmt_ci(result.hr, *result.hr_ci)} (Wald P = {result.hr_p:.3f}); stratified log-rank "
        f"P = {result.logrank_p:.3f}."
    )
    rmst = result.rmst
    if rmst is not None and _finite(rmst.difference) is not None:
        lo, hi = rmst.ci
        note += (
            f" RMST difference A minus B up to {rmst.tau:.1f} months: "
            f"{rmst.difference:.2f} months (95% CI {lo:.2f} to {hi:.2f}, P = {rmst.p_value:.3f})."
        )
    return Table(f"{label}: Kaplan-Meier medians by arm", pd.DataFrame(rows), note)


def _ph_table(result: Any, label: str) -> Table:
    """Schoenfeld-residual test (R ``cox.zph``, KM time transform): per covariate and global."""
    if result.ph is None:
        frame = pd.DataFrame([{"term": "-", "chi-square": "not estimable", "df": "", "P": ""}])
    else:
        frame = pd.DataFrame(
            {
                "term": ["treatment (A vs B)" if t == "treat_a" else t for t in result.ph.index],
                "chi-square": [f"{v:.3f}" for v in result.ph["chisq"]],
                "df": [f"{v:g}" for v in result.ph["df"]],
                "P": [f"{v:.3f}" for v in result.ph["p"]],
            }
        )
    return Table(
        f"{label}: proportional-hazards test (Schoenfeld residuals, KM time transform)",
        frame,
        "A small P means the hazard ratio changes over time (expected here: early surgical "
        "risk, later gain); the RMST difference does not assume proportional hazards.",
    )


def build_report(
    interim: Interim,
    protocol: Any,
    *,
    seed: int,
    n_patients: int,
    dynamic: pd.DataFrame | None = None,
) -> Report:
    """Sections: key figures, published vs run, CONSORT, TTF, OS, subgroups, response, safety."""
    figures = key_figures(interim)
    ttf_fig = _km(interim.ttf, "km_ttf", "Time to treatment failure", "Free of treatment failure")
    os_fig = _km(interim.os, "km_os", "Overall survival", "Alive")
    rand = interim.randomised.assign(vp_group=interim.randomised.vp_grade)
    safety_denominators = {arm: int((rand.arm == arm).sum()) for arm in ("A", "B")}
    sections = [
        Section(
            "published",
            "Published vs this run",
            [
                "Every figure of the published interim (protocol.md) next to the same figure "
                "computed from this simulated trial's database."
            ],
            tables=[published_table(published_rows(figures))],
        ),
        Section("consort", "Patient flow (CONSORT)", figures=[consort_figure(interim.flow)]),
        Section(
            "ttf",
            "Primary endpoint: time to treatment failure",
            [
                "TTF definition used (the demo's setting): time from randomisation to "
                "discontinuation for a failure reason of the protocol, RECIST progression or "
                "death; completing the 12-month maintenance neither fails nor censors, and "
                "follow-up for recurrence continues. The protocol file's reading (completion "
                "is a censoring reason) is shown below as a sensitivity analysis: it censors "
                "every operated patient still free of failure at the end of maintenance (about "
                "13-14 months), so beyond that the arm-A curve rests on the few patients still "
                "at risk (mostly not operated) and the late gain of surgery drops out of the "
                "HR. A published arm-A median of 20.4 months needs failures after maintenance "
                "to count, hence the setting."
            ],
            figures=[ttf_fig.figure],
            tables=[
                _endpoint_table(interim.ttf, "TTF"),
                _ph_table(interim.ttf, "TTF"),
                *(
                    [
                        _endpoint_table(
                            interim.ttf_protocol,
                            "Sensitivity, TTF censored at maintenance completion",
                        )
                    ]
                    if interim.ttf_protocol is not None
                    else []
                ),
            ],
        ),
        Section(
            "os",
            "Overall survival (immature)",
            figures=[os_fig.figure],
            tables=[_endpoint_table(interim.os, "OS"), _ph_table(interim.os, "OS")],
        ),
        Section(
            "subgroups",
            "Subgroups (TTF)",
            [
                "Cox HR within each level; interaction P from a likelihood-ratio test of "
                "treatment x subgroup. Exploratory."
            ],
            figures=[forest_figure(interim.subgroups, name="forest_ttf")],
        ),
        Section(
            "baseline",
            "Baseline characteristics",
            tables=[
                baseline_table(
                    rand,
                    arm="arm",
                    arm_order=["A", "B"],
                    continuous={
                        "age_years": "Age, years",
                        "largest_tumour_diameter_cm": "Largest tumour, cm",
                        "depth_of_response_pct": "Depth of response, %",
                    },
                    categorical={
                        "sex": "Sex",
                        "ecog": "ECOG PS",
                        "vp_grade": "Portal vein thrombus",
                        "bor": "Best response",
                    },
                )
            ],
        ),
        Section(
            "response",
            "Response to induction",
            tables=[response_table(interim.responses, group="group", response="bor")],
        ),
        Section(
            "safety",
            "Safety",
            tables=[
                grade_table(
                    interim.complications.assign(grade=interim.complications.grade.astype(str)),
                    arm="arm",
                    term="term",
                    grade="grade",
                    denominators={"A": max(interim.operated, 1)},
                    grade_order=CD_GRADES,
                    high_grades=CD_GRADES[2:],
                    high_label="grade >= IIIa",
                    title="Surgical complications, Clavien-Dindo (operated arm-A patients)",
                ),
                grade_table(
                    interim.adverse_events,
                    arm="arm",
                    term="term",
                    grade="grade",
                    denominators=safety_denominators,
                    grade_order=[1, 2, 3, 4, 5],
                    high_grades=[3, 4, 5],
                    high_label="grade >= 3",
                    title="Adverse events, CTCAE v5 (randomised patients)",
                ),
            ],
        ),
        Section(
            "design",
            "Group-sequential monitoring",
            tables=[
                key_value_table(
                    "O'Brien-Fleming-type bound at the observed TTF events",
                    [
                        (
                            "planned TTF events (HR 0.60, 2-sided 5%, 80% power)",
                            interim.gs["planned_events"],
                        ),
                        ("observed TTF events", interim.gs["observed_events"]),
                        ("information fraction", f"{interim.gs['information_fraction']:.2f}"),
                        ("efficacy bound, z", f"{interim.gs['efficacy_z']:.3f}"),
                        ("observed z (A better > 0)", f"{figures['ttf_z']:.3f}"),
                        (
                            "bound crossed",
                            "yes" if figures["ttf_z"] >= interim.gs["efficacy_z"] else "no",
                        ),
                    ],
                )
            ],
        ),
        Section(
            "protocol",
            "Protocol summary",
            tables=[
                key_value_table(
                    protocol.title,
                    [
                        ("registry", protocol.registry_id),
                        ("eligibility criteria", "; ".join(c.text for c in protocol.eligibility)),
                        (
                            "induction",
                            f"{len(protocol.induction.cycles)} cycles q{protocol.induction.cycle_length_days}d",
                        ),
                        ("strata", ", ".join(s.label for s in protocol.strata)),
                        ("arms", "; ".join(f"{a.id}: {a.name}" for a in protocol.arms)),
                        ("MDT", f"{protocol.mdt.min_members}+ members, rule {protocol.mdt.rule}"),
                        ("TTF failure reasons", ", ".join(protocol.ttf.failure_reasons)),
                    ],
                )
            ],
        ),
    ]
    if dynamic is not None:
        sections.insert(
            5,
            Section(
                "dynamic",
                "Dynamic reassessment (arm B may switch to surgery)",
                [
                    "The same cohort and seed, run again with arm-B patients operated "
                    "when an MDT reassessment finds them resectable."
                ],
                tables=[Table("Standard vs dynamic reassessment", dynamic)],
            ),
        )
    headline = [
        (
            "Randomised (A / B)",
            f"{figures['randomised']} ({figures['arm_a']} / {figures['arm_b']})",
        ),
        (
            "Median TTF A vs B",
            f"{_num(figures['ttf_median_a'])} vs {_num(figures['ttf_median_b'])} mo",
        ),
        ("TTF HR (95% CI)", fmt_ci(figures["ttf_hr"], *figures["ttf_hr_ci"])),
        ("OS HR (95% CI)", fmt_ci(figures["os_hr"], *figures["os_ci"])),
        ("Arm A operated", str(figures["operated"])),
    ]
    return Report(
        title="TALENTOP in silico: interim report",
        subtitle=f"Simulated cohort of {n_patients} screened patients, seed {seed}; "
        f"protocol {protocol.id} v{protocol.version}",
        headline=headline,
        sections=sections,
    )


def _num(value: float | None, digits: int = 1) -> str:
    """NR (not reached / not estimable) for a missing value."""
    return "NR" if value is None else f"{value:.{digits}f}"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def write(interim: Interim, protocol: Any, out_dir: Path, **kwargs: Any) -> Path:
    """Build and write the report; return index.html."""
    return write_report(build_report(interim, protocol, **kwargs), out_dir)
