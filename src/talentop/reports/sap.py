"""The statistical analysis plan section: pre-specified assumptions with their sources, the
events and bounds derived from them, and the interim judged against that plan.

Pure: takes the protocol's ``sap`` (``talentop.protocol.plan.Sap``), the planned analysis
(``talentop.design.plan.PlannedAnalysis``) and its ``at_interim`` result.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from talentop.reports.document import Section
from talentop.reports.numbers import fmt_num
from talentop.reports.tables import Table

#: SAP field -> how the report names it.
ASSUMPTIONS = (
    ("primary_endpoint", "Primary endpoint"),
    ("control_median_months", "Control (arm B) median, months"),
    ("experimental_median_months", "Experimental (arm A) median, months"),
    ("power", "Power"),
    ("alpha", "Type I error (total)"),
    ("sided", "Sides"),
    ("looks", "Analyses (information fractions)"),
    ("spending", "Alpha spending"),
    ("target_patients", "Target patients"),
    ("accrual_months", "Accrual, months"),
    ("min_follow_up_months", "Minimum follow-up, months"),
)
#: A bound or nominal P at an interim with no events (``PlannedAnalysis.at_interim``).
NO_BOUND = "none (no events yet)"
SPENDING = {"obf": "Lan-DeMets O'Brien-Fleming-type", "pocock": "Lan-DeMets Pocock-type"}


def assumptions_table(sap: Any) -> Table:
    """Every pre-specified assumption, its value and its source (or SETTING)."""
    rows = []
    for name, label in ASSUMPTIONS:
        item = getattr(sap, name)
        if hasattr(item, "source"):
            value = item.value
            text = ", ".join(fmt_num(v, 2) for v in value) if isinstance(value, list) else value
            if name == "spending":
                text = SPENDING.get(value, value)
            rows.append({"Assumption": label, "Value": str(text), "Source": item.source.strip()})
        else:
            rows.append({"Assumption": label, "Value": str(item), "Source": "protocol file"})
    return Table(
        "Pre-specified assumptions (protocol file, section sap)",
        pd.DataFrame(rows),
        "SETTING: no public source gives the value; it is the protocol file's choice.",
    )


def plan_table(sap: Any, plan: Any) -> Table:
    """The events and bounds the assumptions imply (never the observed result)."""
    rows = [
        ("Planned hazard ratio (control / experimental median)",
         f"{fmt_num(sap.control_median_months.value, 1)} / "
         f"{fmt_num(sap.experimental_median_months.value, 1)} = {fmt_num(plan.hazard_ratio, 3)}"),
        ("Fixed-design events (Schoenfeld)", fmt_num(plan.fixed_events, 1)),
        ("Group-sequential inflation", fmt_num(plan.inflation, 4)),
        ("Planned events per analysis", " / ".join(str(e) for e in plan.look_events)),
        ("Efficacy bounds, z", " / ".join(fmt_num(z, 3) for z in plan.efficacy_z)),
        ("Nominal P at the bounds" + (" (two-sided)" if plan.sided == 2 else ""),
         " / ".join(fmt_num(p, 4) for p in plan.nominal_p)),
    ]  # fmt: skip
    return Table(
        "Planned analysis derived from the assumptions",
        pd.DataFrame(rows, columns=["Item", "Value"]),
        "Events: Schoenfeld (Biometrika 1981) times the inflation of the spending design "
        "(gsDesign sizes the same way); bounds: Lan-DeMets spending at the planned fractions.",
    )


def interim_table(gs: dict[str, Any], observed_note: str) -> Table:
    """The interim against the plan: fraction, recomputed bound, observed z, crossed."""
    crossed = gs.get("crossed")
    rows = [
        ("Planned maximum events", gs["planned_events"]),
        ("Observed events", gs["observed_events"]),
        ("Information fraction (observed / planned)", fmt_num(gs["information_fraction"], 3)),
        ("Efficacy bound at that fraction, z", fmt_num(gs["efficacy_z"], 3, NO_BOUND)),
        ("Nominal P at the bound", fmt_num(gs["nominal_p"], 4, NO_BOUND)),
        ("Observed z (Cox Wald, A better > 0)", observed_note),
        ("Bound crossed", "not assessable" if crossed is None else ("yes" if crossed else "no")),
    ]
    return Table(
        "Interim analysis against the plan",
        pd.DataFrame([(k, str(v)) for k, v in rows], columns=["Item", "Value"]),
        "The bound is recomputed by the same spending function at the observed fraction "
        "(Lan & DeMets, Biometrika 1983); later analyses keep their planned fractions.",
    )


def sap_section(sap: Any, plan: Any, gs: dict[str, Any], observed_note: str) -> Section:
    """The SAP as a report section (replaces a plan drawn from the observed hazard ratio)."""
    return Section(
        "design",
        "Statistical analysis plan and interim monitoring",
        [
            "The planned events come from the pre-specified assumptions below, each with its "
            "source or SETTING; the observed hazard ratio plays no part in them (planning on it "
            "would make the monitoring circular)."
        ],
        tables=[assumptions_table(sap), plan_table(sap, plan), interim_table(gs, observed_note)],
    )
