"""The closed report for the Data Monitoring Committee, written beside the open report:
efficacy and safety by arm, the group-sequential boundary (crossed or not) and what that
means for the trial.

Structure after the DAMOCLES group's recommendations (Lancet 2005;365:711-22) and FDA's
DMC guidance (2006): the open report is for everyone; the closed report, with results by
arm, is for the committee only, and says what the monitoring rule implies.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from talentop.demo.analysis import CD_GRADES, Interim
from talentop.demo.report_endpoints import endpoint_table
from talentop.demo.report_trial import crossed, safety_section
from talentop.reports import (
    Report,
    Section,
    Table,
    exact_ci,
    fmt_hr,
    fmt_num,
    fmt_range,
    fmt_small,
    key_value_table,
    not_estimable,
    p_equals,
)
from talentop.reports.sap import NO_BOUND

BANNER = "CLOSED REPORT: results by arm, for the Data Monitoring Committee only"
FILE_NAME = "closed-dmc.html"


def _patients(frame: pd.DataFrame, arm: str) -> int:
    return int(frame.loc[frame.arm == arm, "patient"].nunique()) if len(frame) else 0


def _share(count: int, total: int) -> str:
    if not total:
        return "0"
    lo, hi = exact_ci(count, total)
    return f"{count} ({fmt_num(100 * count / total)}%; 95% CI {fmt_range(100 * lo, 100 * hi)})"


def safety_by_arm(interim: Interim) -> Table:
    """Patients with each kind of safety event, per arm, with exact 95% CIs."""
    rand = interim.randomised
    events = interim.adverse_events
    facts = interim.stored.patients if interim.stored is not None else pd.DataFrame()
    deaths = interim.os.data
    rows = []
    for arm in ("A", "B"):
        n = int((rand.arm == arm).sum())
        arm_events = events[events.arm == arm]
        toxicity = (
            int(((facts.arm == arm) & (facts.failure_reason == "unacceptable_toxicity")).sum())
            if len(facts)
            else 0
        )
        rows.append(
            {
                "Arm": f"{arm} (n = {n})",
                "any adverse event": _share(_patients(arm_events, arm), n),
                "grade ≥ 3": _share(_patients(arm_events[arm_events.grade >= 3], arm), n),
                "serious": _share(_patients(arm_events[arm_events.serious.astype(bool)], arm), n),
                "fatal (grade 5)": _share(_patients(arm_events[arm_events.grade == 5], arm), n),
                "deaths, any cause": _share(int(deaths.event[deaths.arm == arm].sum()), n),
                "treatment stopped for toxicity": _share(toxicity, n),
            }
        )
    complications = interim.complications
    high = complications[complications.grade.astype(str).isin(CD_GRADES[2:])]
    note = (
        f"Surgical complications Clavien–Dindo ≥ IIIa (operated arm-A patients): "
        f"{_share(int(high.patient.nunique()), interim.operated)}. Exact (Clopper–Pearson) "
        "95% confidence intervals. No formal safety stopping rule was pre-specified."
    )
    return Table("Safety by arm (patients with at least one event)", pd.DataFrame(rows), note)


def _hr_line(result: Any) -> str:
    return (
        f"HR A vs B {fmt_hr(result.hr, *result.hr_ci, reason=result.hr_reason)}, "
        f"log-rank {p_equals(result.logrank_p, result.logrank_reason)}"
    )


def meaning(interim: Interim, figures: dict[str, Any]) -> list[str]:
    """What the boundary comparison implies, in words, for the committee."""
    gs = interim.gs
    z, bound = figures["ttf_z"], gs["efficacy_z"]
    events = int(interim.ttf.data.event.sum())
    deaths = int(interim.os.data.event.sum())
    status = crossed(z, bound)
    if status == "yes":
        verdict = (
            f"The efficacy boundary was crossed (observed z {fmt_num(z, 2)} ≥ boundary "
            f"{fmt_num(bound, 2)} at information fraction {fmt_num(gs['information_fraction'], 2)}"
            "): the evidence that resection prolongs time to treatment failure meets the "
            "pre-specified threshold for stopping early, with the overall one-sided type I "
            "error kept at 2.5%. The committee would weigh this against the safety data and "
            "the immature overall survival before recommending early release of the results "
            "or a change to the trial."
        )
    elif status == "no":
        verdict = (
            f"The efficacy boundary was not crossed (observed z {fmt_num(z, 2)} < boundary "
            f"{fmt_num(bound, 2)} at information fraction {fmt_num(gs['information_fraction'], 2)}"
            "): the evidence does not meet the pre-specified threshold for stopping early for "
            "efficacy. Continuing the trial to its next analysis is consistent with the "
            "monitoring plan unless the safety data give reason otherwise. An early look "
            "spends little alpha, so not crossing is not evidence against an effect."
        )
    else:
        verdict = (
            "The boundary cannot be assessed: the hazard ratio of time to treatment failure "
            f"is {not_estimable(figures['ttf_hr_reason'])}. The committee would review the "
            "event counts and curves directly."
        )
    return [
        verdict,
        f"Time to treatment failure ({events} events): {_hr_line(interim.ttf)}. Overall "
        f"survival ({deaths} deaths, immature): {_hr_line(interim.os)}; no boundary applies "
        "to overall survival at this analysis.",
        *([gs["note"]] if gs.get("note") else []),
    ]


def build_closed_report(
    interim: Interim,
    figures: dict[str, Any],
    *,
    subtitle: str,
    km_figures: list[Any] = (),
) -> Report:
    """The closed DMC report: boundary and meaning first, then efficacy and safety by arm."""
    gs = interim.gs
    z = figures["ttf_z"]
    boundary = key_value_table(
        "Efficacy boundary at this analysis (time to treatment failure)",
        [
            ("planned events (the statistical analysis plan)", gs["planned_events"]),
            ("observed events", gs["observed_events"]),
            ("information fraction", fmt_num(gs["information_fraction"], 2)),
            ("boundary, z", fmt_num(gs["efficacy_z"], 3, NO_BOUND)),
            ("boundary, nominal one-sided P", fmt_small(gs["nominal_p"], missing=NO_BOUND)),
            ("alpha spent up to this analysis (one-sided)", fmt_small(gs["cumulative_alpha"])),
            (
                "observed z (Cox Wald, A better > 0)",
                fmt_num(z, 3, not_estimable(figures["ttf_hr_reason"])),
            ),
            ("boundary crossed", crossed(z, gs["efficacy_z"])),
        ],  # fmt: skip
        "O'Brien–Fleming-type boundary, Lan–DeMets alpha spending, overall one-sided alpha 0.025.",
    )
    efficacy = [endpoint_table(interim.ttf, "Time to treatment failure"),
                endpoint_table(interim.os, "Overall survival")]  # fmt: skip
    if interim.pfs is not None:
        efficacy.append(endpoint_table(interim.pfs, "Progression-free survival"))
    crossed_text = crossed(z, gs["efficacy_z"])
    headline = [
        ("Information fraction", fmt_num(gs["information_fraction"], 2)),
        ("Boundary z / observed z",
         f"{fmt_num(gs['efficacy_z'], 2, NO_BOUND)} / {fmt_num(z, 2, 'not estimable')}"),
        ("Boundary crossed", crossed_text.split(" (")[0]),
        ("TTF HR A vs B", fmt_hr(interim.ttf.hr, *interim.ttf.hr_ci,
                                 reason=interim.ttf.hr_reason)),
    ]  # fmt: skip
    sections = [
        Section(
            "boundary",
            "The monitoring boundary and what it means",
            meaning(interim, figures),
            tables=[boundary],
        ),
        Section(
            "efficacy",
            "Efficacy by arm",
            [
                "Kaplan–Meier medians and landmark survival with 95% CIs; hazard ratios from "
                "Cox models stratified by the randomisation strata."
            ],
            figures=list(km_figures),
            tables=efficacy,
        ),
        Section(
            "safety-by-arm",
            "Safety by arm",
            tables=[safety_by_arm(interim), *safety_section(interim).tables],
        ),
        Section(
            "about",
            "About this report",
            [
                "This closed report shows results by arm. It is for the members of the Data "
                "Monitoring Committee and its independent statistician only; the open report "
                "(index.html) is for everyone else. Simulated data, not trial data.",
            ],
        ),
    ]
    return Report(
        title="TALENTOP in silico: closed interim report for the Data Monitoring Committee",
        subtitle=subtitle,
        headline=headline,
        sections=sections,
        banner=BANNER,
        footer="Closed: Data Monitoring Committee only · simulated data, not trial data",
        file_name=FILE_NAME,
    )
