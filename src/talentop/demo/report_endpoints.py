"""Report sections of the time-to-event endpoints: TTF, OS, PFS and the TTF subgroups.

One function per section; each returns ``Section`` objects built from the interim
analysis. Figures: Kaplan–Meier by arm over the whole follow-up, 95% bands, landmark
survival marked at 12 and 24 months (also tabulated with CIs), numbers at risk below.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from talentop.demo.analysis import Interim, sensitivity_changes
from talentop.demo.report_text import listed, reader_definition, symbols
from talentop.reports import (
    ArmCurve,
    Section,
    Table,
    fmt_ci,
    fmt_hr,
    fmt_num,
    fmt_p,
    fmt_range,
    forest_figure,
    km_figure,
    not_estimable,
    p_equals,
)
from talentop.reports.numbers import finite

#: Landmarks of every KM figure and endpoint table (months since randomisation).
LANDMARKS = (12.0, 24.0)


def km(result: Any, name: str, title: str, y_label: str) -> Any:
    """KM figure of one endpoint: bands, landmarks, HR and log-rank P in a corner."""
    arms = [
        ArmCurve(arm, g["time"].to_numpy(), g["event"].to_numpy())
        for arm, g in result.data.groupby("arm")
    ]
    note = (
        f"Stratified Cox HR (A vs B) {fmt_hr(result.hr, *result.hr_ci, reason=result.hr_reason)}\n"
        f"stratified log-rank {p_equals(result.logrank_p, result.logrank_reason)}"
    )
    figure = km_figure(
        arms,
        name=name,
        title=title,
        y_label=y_label,
        annotation=note,
        fitted=result.km,
        landmarks=LANDMARKS,
        ci_band=True,
    )
    caption = (
        f"{title}: Kaplan–Meier estimates by arm with pointwise 95% confidence bands; dots "
        "and dotted lines mark survival at 12 and 24 months; ticks are censored patients; "
        "numbers at risk below the axis."
    )
    return dataclasses.replace(figure, figure=dataclasses.replace(figure.figure, caption=caption))


def _landmark(curve: Any, months: float) -> str:
    row = curve.summary_at([months]).iloc[0]
    if finite(row["survival"]) is None:
        return not_estimable("beyond follow-up")
    return (
        f"{fmt_num(100 * row['survival'])}% ({fmt_range(100 * row['lower'], 100 * row['upper'])})"
    )


def endpoint_table(result: Any, label: str) -> Table:
    """Per arm: n, events, median with 95% CI, landmark survival with 95% CI."""
    rows = []
    for arm, curve in result.km.items():
        lo, hi = curve.median_ci
        row = {
            "Arm": arm,
            "n": curve.n,
            "events": curve.events,
            "median, months (95% CI)": fmt_ci(curve.median, lo, hi, 1)
            if finite(curve.median) is not None
            else f"not reached (95% CI {fmt_range(lo, hi)})",
        }
        for months in LANDMARKS:
            row[f"{months:g} months, % (95% CI)"] = _landmark(curve, months)
        rows.append(row)
    hr = fmt_hr(result.hr, *result.hr_ci, reason=result.hr_reason)
    wald = f" (Wald {p_equals(result.hr_p)})" if result.hr_reason is None else ""
    note = f"Stratified Cox HR A vs B {hr}{wald}; stratified log-rank {p_equals(result.logrank_p, result.logrank_reason)}."
    rmst = result.rmst
    if rmst is not None and finite(rmst.difference) is not None:
        lo, hi = rmst.ci
        note += (
            f" Restricted mean difference A minus B up to {fmt_num(rmst.tau)} months: "
            f"{fmt_num(rmst.difference, 2)} months (95% CI {fmt_range(lo, hi, 2)}, "
            f"{p_equals(rmst.p_value, getattr(rmst, 'note', None))})."
        )
    note += " Landmark survival: Kaplan–Meier estimate with its 95% confidence interval."
    return Table(f"{label}: Kaplan–Meier medians and landmark survival by arm",
                 pd.DataFrame(rows), note)  # fmt: skip


def ph_table(result: Any, label: str) -> Table:
    """Schoenfeld-residual test (R ``cox.zph``, KM time transform): per covariate and global."""
    if result.ph is None:
        why = result.hr_reason or "too few events for the score test"
        frame = pd.DataFrame([{"term": "–", "chi-square": not_estimable(why), "df": "", "P": ""}])
    else:
        frame = pd.DataFrame(
            {
                "term": [
                    "treatment (A vs B)" if t == "treat_a" else t.lower() if t == "GLOBAL" else t
                    for t in result.ph.index
                ],  # fmt: skip
                "chi-square": [fmt_num(v, 3, "not estimable") for v in result.ph["chisq"]],
                "df": [fmt_num(v, 0, "–") for v in result.ph["df"]],
                "P": [fmt_p(v) for v in result.ph["p"]],
            }
        )
    return Table(
        f"{label}: proportional-hazards test (Schoenfeld residuals, Kaplan–Meier time scale)",
        frame,
        "A small P means the hazard ratio changes over time (expected here: early surgical "
        "risk, later gain); the restricted mean difference does not assume proportional "
        "hazards.",
    )


def _sensitivity_table(interim: Interim) -> Table:
    """TTF censored at maintenance completion (the protocol's continue reasons censor)."""
    table = endpoint_table(
        interim.ttf_sensitivity, "Sensitivity, TTF censored at maintenance completion"
    )
    change = sensitivity_changes(interim.ttf, interim.ttf_sensitivity)
    note = (
        f" Censoring at maintenance completion changed {change['changed']} patients' time to "
        f"treatment failure ({change['events_censored']} failure(s) after completion became "
        "censored). The stratified log-rank test and Cox model compare patients only within "
        "a stratum: an earlier censoring time changes them only if another patient of that "
        "stratum fails in between, so they can equal the primary analysis while the "
        "Kaplan–Meier curve and the restricted mean (unstratified) move."
    )
    return Table(table.title, table.frame, table.note + note)


def _ttf_reasons(protocol: Any) -> str:
    ttf = protocol.ttf
    return (
        f"Treatment failure: {listed(ttf.failure_reasons)} (a death always counts). Censored: "
        f"{listed(ttf.censor_reasons)}. Ending treatment for a reason that neither fails nor "
        f"censors ({listed(ttf.continue_reasons)}): follow-up for failure continues."
    )


def ttf_section(interim: Interim, protocol: Any) -> Section:
    figure = km(interim.ttf, "km_ttf", "Time to treatment failure", "Free of treatment failure")
    paragraphs = [
        f"Definition. {reader_definition(protocol.ttf.definition)}",
        _ttf_reasons(protocol),
    ]
    if interim.ttf_sensitivity is not None:
        paragraphs.append(
            "Sensitivity analysis (below): the same data with completion of maintenance "
            "censoring time to treatment failure on its date. It censors every operated "
            "patient still free of failure at the end of maintenance (about 13–14 months), so "
            "beyond that the arm-A curve rests on the few patients still at risk (mostly not "
            "operated) and the late gain of surgery drops out of the hazard ratio."
        )
    return Section(
        "ttf",
        "Primary endpoint: time to treatment failure",
        paragraphs,
        figures=[figure.figure],
        tables=[
            endpoint_table(interim.ttf, "TTF"),
            ph_table(interim.ttf, "TTF"),
            *([_sensitivity_table(interim)] if interim.ttf_sensitivity is not None else []),
        ],
    )


def os_section(interim: Interim) -> Section:
    figure = km(interim.os, "km_os", "Overall survival", "Alive")
    deaths = int(interim.os.data.event.sum())
    return Section(
        "os",
        "Overall survival (immature)",
        [f"{deaths} deaths at this analysis: the estimates are imprecise."],
        figures=[figure.figure],
        tables=[endpoint_table(interim.os, "OS"), ph_table(interim.os, "OS")],
    )


def pfs_sections(interim: Interim) -> list[Section]:
    if interim.pfs is None:
        return []
    title = "Progression-free survival, RECIST 1.1 (investigator-assessed)"
    figure = km(interim.pfs, "km_pfs", title, "Free of progression or death")
    return [
        Section(
            "pfs",
            "Progression-free survival (RECIST 1.1, investigator-assessed; secondary)",
            [
                "Progression as documented by RECIST 1.1 on the scans (every 6 weeks on "
                "treatment, every 12 weeks after; after resection, recurrence is progression "
                "by a new lesion), or death; censored as in the FDA 2007 guidance (Table A). "
                "Progression-free survival by mRECIST is in the analysis dataset."
            ],
            figures=[figure.figure],
            tables=[endpoint_table(interim.pfs, "PFS")],
        )
    ]


def subgroups_section(interim: Interim) -> Section:
    rows = interim.subgroups.assign(
        subgroup=interim.subgroups.subgroup.map(symbols),
        level=interim.subgroups.level.map(symbols),
    )
    figure = forest_figure(rows, name="forest_ttf")
    caption = (
        "Subgroup analysis of time to treatment failure: hazard ratio (A vs B) with 95% CI "
        "per level; the area of each square is proportional to the precision of its "
        "estimate (inverse variance); a level without an estimate says why."
    )
    return Section(
        "subgroups",
        "Subgroups (time to treatment failure)",
        [
            symbols(
                "Cox hazard ratio within each level; interaction P from a likelihood-ratio "
                "test of treatment x subgroup. Exploratory. A level's hazard ratio is not "
                "estimable with fewer than 2 events in an arm or when the likelihood is "
                "monotone (it would diverge to 0 or infinity)."
            )
        ],
        figures=[dataclasses.replace(figure, caption=caption)],
    )
