"""Build the trial report (``talentop.reports``) from an interim analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from talentop.demo.analysis import (
    CD_GRADES,
    Interim,
    key_figures,
    published_rows,
    sensitivity_changes,
)
from talentop.reports import (
    ArmCurve,
    Report,
    Section,
    Table,
    baseline_table,
    consort_figure,
    fmt_ci,
    fmt_hr,
    fmt_num,
    fmt_p,
    forest_figure,
    grade_table,
    key_value_table,
    km_figure,
    not_estimable,
    p_equals,
    published_table,
    response_table,
    write_report,
)
from talentop.reports.numbers import finite


def _km(result: Any, name: str, title: str, y_label: str) -> Any:
    arms = [
        ArmCurve(arm, g["time"].to_numpy(), g["event"].to_numpy())
        for arm, g in result.data.groupby("arm")
    ]
    note = (
        f"Stratified Cox HR (A vs B) {fmt_hr(result.hr, *result.hr_ci, reason=result.hr_reason)}\n"
        f"stratified log-rank {p_equals(result.logrank_p)}"
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
                "median, months (95% CI)": fmt_ci(km.median, lo, hi, 1)
                if finite(km.median) is not None
                else f"not reached (95% CI {fmt_num(lo)}-NR)",
            }
        )
    hr = fmt_hr(result.hr, *result.hr_ci, reason=result.hr_reason)
    wald = f" (Wald {p_equals(result.hr_p)})" if result.hr_reason is None else ""
    note = f"Stratified Cox HR A vs B {hr}{wald}; stratified log-rank {p_equals(result.logrank_p)}."
    rmst = result.rmst
    if rmst is not None and finite(rmst.difference) is not None:
        lo, hi = rmst.ci
        note += (
            f" RMST difference A minus B up to {fmt_num(rmst.tau)} months: "
            f"{fmt_num(rmst.difference, 2)} months (95% CI {fmt_num(lo, 2)} to "
            f"{fmt_num(hi, 2)}, {p_equals(rmst.p_value)})."
        )
    return Table(f"{label}: Kaplan-Meier medians by arm", pd.DataFrame(rows), note)


def _sensitivity_table(interim: Interim) -> Table:
    """TTF censored at maintenance completion (the protocol's continue reasons censor)."""
    table = _endpoint_table(
        interim.ttf_sensitivity, "Sensitivity, TTF censored at maintenance completion"
    )
    change = sensitivity_changes(interim.ttf, interim.ttf_sensitivity)
    note = (
        f" Censoring at maintenance completion changed {change['changed']} patients' TTF "
        f"({change['events_censored']} failure(s) after completion became censored). The "
        "stratified log-rank and Cox use only risk sets within a stratum: an earlier censoring "
        "time changes them only if another patient of that stratum fails in between, so they "
        "can equal the primary analysis while the KM curve and RMST (unstratified) move."
    )
    return Table(table.title, table.frame, table.note + note)


def _ttf_lists(protocol: Any) -> str:
    """The protocol's TTF reason lists, in words (what fails, censors, or neither)."""

    def words(reasons: list[str]) -> str:
        return ", ".join(r.replace("_", " ") for r in reasons) or "none"

    ttf = protocol.ttf
    return (
        f"Failure reasons: {words(ttf.failure_reasons)} (a death always fails). Censoring: "
        f"{words(ttf.censor_reasons)}. Ending treatment without failing or censoring "
        f"(follow-up for failure continues): {words(ttf.continue_reasons)}."
    )


def _ph_table(result: Any, label: str) -> Table:
    """Schoenfeld-residual test (R ``cox.zph``, KM time transform): per covariate and global."""
    if result.ph is None:
        why = result.hr_reason or "too few events for the score test"
        frame = pd.DataFrame(
            [{"term": "-", "chi-square": f"not estimable ({why})", "df": "", "P": ""}]
        )
    else:
        frame = pd.DataFrame(
            {
                "term": ["treatment (A vs B)" if t == "treat_a" else t for t in result.ph.index],
                "chi-square": [fmt_num(v, 3, "not estimable") for v in result.ph["chisq"]],
                "df": [fmt_num(v, 0, "-") for v in result.ph["df"]],
                "P": [fmt_p(v) for v in result.ph["p"]],
            }
        )
    return Table(
        f"{label}: proportional-hazards test (Schoenfeld residuals, KM time transform)",
        frame,
        "A small P means the hazard ratio changes over time (expected here: early surgical "
        "risk, later gain); the RMST difference does not assume proportional hazards.",
    )


def _pfs_sections(interim: Interim) -> list[Section]:
    if interim.pfs is None:
        return []
    title = "Progression-free survival, RECIST 1.1 (investigator-assessed)"
    figure = _km(interim.pfs, "km_pfs", title, "Free of progression or death")
    return [
        Section(
            "pfs",
            "Progression-free survival (RECIST 1.1, investigator-assessed; secondary)",
            [
                "Progression as the RECIST 1.1 engine documented it on the recorded scans "
                "(every 6 weeks on treatment, every 12 weeks after; after resection, recurrence "
                "is PD by a new lesion), or death; censored per FDA 2007 Table A. mRECIST PFS "
                "(PFSMR) is in adtte.csv."
            ],
            figures=[figure.figure],
            tables=[_endpoint_table(interim.pfs, "PFS")],
        )
    ]


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
                "TTF definition (the protocol file's ttf.definition, applied as "
                f"'talentop export adtte' applies it): {protocol.ttf.definition.strip()}",
                _ttf_lists(protocol),
                *(
                    [
                        "Sensitivity analysis (below): the same data with the continue "
                        "reasons censoring TTF on their date. It censors every operated patient "
                        "still free of failure at the end of maintenance (about 13-14 months), "
                        "so beyond that the arm-A curve rests on the few patients still at risk "
                        "(mostly not operated) and the late gain of surgery drops out of the HR."
                    ]
                    if interim.ttf_sensitivity is not None
                    else []
                ),
            ],
            figures=[ttf_fig.figure],
            tables=[
                _endpoint_table(interim.ttf, "TTF"),
                _ph_table(interim.ttf, "TTF"),
                *([_sensitivity_table(interim)] if interim.ttf_sensitivity is not None else []),
            ],
        ),
        Section(
            "os",
            "Overall survival (immature)",
            figures=[os_fig.figure],
            tables=[_endpoint_table(interim.os, "OS"), _ph_table(interim.os, "OS")],
        ),
        *_pfs_sections(interim),
        Section(
            "subgroups",
            "Subgroups (TTF)",
            [
                "Cox HR within each level; interaction P from a likelihood-ratio test of "
                "treatment x subgroup. Exploratory. A level's HR is not estimable with fewer than 2 "
                "events in an arm or when the likelihood is monotone (it would diverge to 0 or "
                "infinity)."
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
                *conduct_tables(interim, safety_denominators),
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
                        ("information fraction", fmt_num(interim.gs["information_fraction"], 2)),
                        ("efficacy bound, z", fmt_num(interim.gs["efficacy_z"], 3)),
                        (
                            "observed z (Cox Wald, A better > 0)",
                            fmt_num(figures["ttf_z"], 3, not_estimable(figures["ttf_hr_reason"])),
                        ),
                        ("bound crossed", _crossed(figures["ttf_z"], interim.gs["efficacy_z"])),
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
                        (
                            "eligibility criteria",
                            "\n".join(
                                f"{i}. {c.kind}: {c.text}"
                                for i, c in enumerate(protocol.eligibility, start=1)
                            ),
                        ),
                        (
                            "induction",
                            f"{len(protocol.induction.cycles)} cycles q{protocol.induction.cycle_length_days}d",
                        ),
                        ("strata", ", ".join(s.label for s in protocol.strata)),
                        ("arms", "; ".join(f"{a.id}: {a.name}" for a in protocol.arms)),
                        ("MDT", f"{protocol.mdt.min_members}+ members, rule {protocol.mdt.rule}"),
                        ("TTF failure reasons", ", ".join(protocol.ttf.failure_reasons)),
                        ("TTF censor reasons", ", ".join(protocol.ttf.censor_reasons) or "-"),
                        (
                            "TTF continue reasons (neither fail nor censor)",
                            ", ".join(protocol.ttf.continue_reasons) or "-",
                        ),
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
            f"{fmt_num(figures['ttf_median_a'])} vs {fmt_num(figures['ttf_median_b'])} mo",
        ),
        (
            "TTF HR (95% CI)",
            fmt_hr(figures["ttf_hr"], *figures["ttf_hr_ci"], reason=figures["ttf_hr_reason"]),
        ),
        (
            "OS HR (95% CI)",
            fmt_hr(figures["os_hr"], *figures["os_ci"], reason=figures["os_hr_reason"]),
        ),
        ("Arm A operated", str(figures["operated"])),
    ]
    return Report(
        title="TALENTOP in silico: interim report",
        subtitle=f"Simulated cohort of {n_patients} screened patients, seed {seed}; "
        f"protocol {protocol.id} v{protocol.version}",
        headline=headline,
        sections=sections,
    )


def conduct_tables(interim: Interim, denominators: dict[str, int]) -> list[Table]:
    """SAEs by arm (count and listing) and deviations by category and arm
    (``talentop.reports.conduct``), from the stored facts."""
    from talentop.reports.conduct import deviation_table, sae_listing_table, sae_summary_table

    stored = interim.stored
    if stored is None:
        return []
    randomised = [r for r in stored.sae_listing if r.get("arm") in denominators]
    tables = [sae_summary_table(randomised, denominators), sae_listing_table(randomised)]
    if stored.deviations is not None:
        tables.append(deviation_table(stored.deviations, {"-": "not randomised"}))
    return tables


def _crossed(z: float | None, bound: float) -> str:
    if z is None:
        return "not assessable (observed z not estimable)"
    return "yes" if z >= bound else "no"


def write(interim: Interim, protocol: Any, out_dir: Path, **kwargs: Any) -> Path:
    """Build and write the report; return index.html."""
    return write_report(build_report(interim, protocol, **kwargs), out_dir)
