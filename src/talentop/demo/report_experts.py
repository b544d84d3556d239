"""The report sections answering the experts (built by ``talentop.reports`` section modules)
from an interim analysis, and the protocol statements the report must make."""

from __future__ import annotations

from typing import Any

import pandas as pd

from talentop.reports import Section, Table, fmt_num, not_estimable
from talentop.reports.conversion import conversion_section
from talentop.reports.experts import landmark_section, subgroup_section, switch_section
from talentop.reports.sap import sap_section
from talentop.reports.surgery import pathology_section, surgical_safety_section


def expert_sections(interim: Any, protocol: Any) -> list[Section]:
    """Subgroups (TTF, OS), depth landmark, conversion, switch readings, surgical safety,
    pathology, in that order."""
    experts = interim.experts
    sections = [subgroup_section(interim.subgroups, interim.os_subgroups)]
    if not experts:
        return sections
    sections.append(landmark_section(experts["landmark"]))
    induction = interim.responses
    sections.append(
        conversion_section(
            experts["conversion"],
            induction["baseline_class"],
            experts.get("operable"),
        )
    )
    sections.append(switch_section(experts["switch"], protocol.ttf.switch_to_surgery.rationale))
    sections.append(
        surgical_safety_section(
            experts["surgical_safety"], protocol.surgical_safety.mortality_days.value
        )
    )
    sections.append(pathology_section(*experts["pathology"]))
    return sections


def sap_or_design(plan: Any, gs: dict[str, Any], protocol: Any, figures: dict[str, Any]) -> Section:
    """The SAP section when the protocol has one; else a note that nothing is pre-specified.

    ``figures``: ``ttf_z`` (observed z of the primary endpoint, A better > 0) and
    ``ttf_hr_reason`` (why it is not estimable)."""
    z = figures.get("ttf_z")
    observed = fmt_num(z, 3, not_estimable(figures.get("ttf_hr_reason")))
    if protocol.sap is None or plan is None:
        return Section(
            "design",
            "Statistical analysis plan and interim monitoring",
            ["The protocol file has no sap section: no planned events, no monitoring bound."],
        )
    return sap_section(protocol.sap, plan, gs, observed)


def protocol_statements(protocol: Any) -> list[tuple[str, str]]:
    """What the protocol decides where the sources are silent (stated in the report)."""
    allowed = protocol.assessment.randomisable_responses
    cr = "randomised" if "CR" in allowed else "not randomised"
    switch = protocol.ttf.switch_to_surgery
    rows = [
        (
            "Randomisable responses after induction",
            f"{', '.join(allowed) or 'none (randomised at entry)'}; a complete response is {cr}. "
            f"Source: {protocol.assessment.randomisable_responses_source.strip()}",
        ),
        (
            "Arm-B switch to surgery in TTF",
            f"primary: {switch.primary}; sensitivity: {', '.join(switch.sensitivity)}",
        ),
    ]
    if protocol.local_therapy is not None:
        effect = protocol.local_therapy.ttf_effect
        rows.append(
            (
                "Local therapy",
                f"{', '.join(protocol.local_therapy.types)} ({protocol.local_therapy.when}); "
                f"effect on TTF: {effect.value} ({effect.source.strip()})",
            )
        )
    return rows


def dynamic_tables(interim: Any) -> list[Table]:
    """The dynamic run's switch readings and arm-B operability (empty without that run)."""
    if interim is None or not interim.experts:
        return []
    tables = [
        Table(
            "Dynamic run: TTF under each reading of the arm-B switch",
            interim.experts["switch"],
            "The primary reading is the protocol's ttf.switch_to_surgery.primary.",
        )
    ]
    operable = interim.experts.get("operable")
    if operable is not None:
        tables.append(
            Table(
                f"Dynamic run: arm B operable within {operable['months']:g} months",
                pd.DataFrame(
                    [
                        {
                            "Figure": "flagged by the structured trigger",
                            "Arm B": operable["flagged_text"],
                        },
                        {
                            "Figure": "judged resectable by the MDT",
                            "Arm B": operable["resectable_text"],
                        },
                    ]
                ),
                f"Among the {operable['with_full_window']} arm-B patients randomised at least "
                f"{operable['months']:g} months before the cut; exact 95% CIs.",
            )
        )
    return tables
