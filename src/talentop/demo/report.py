"""Build the trial report (``talentop.reports``) from an interim analysis: the open report
(``index.html``, for a journal's readers) and, beside it, the closed report for the Data
Monitoring Committee (``closed-dmc.html``).

The open report is a list of sections, each built by one function (report_trial,
report_endpoints, report_methods); to add a section, write its function and add one line
to ``sections`` in `build_report`. Reader text names no command, module or working note:
those are in the methods appendix, the last section.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from talentop.demo.analysis import Interim, key_figures
from talentop.demo.report_dmc import build_closed_report
from talentop.demo.report_endpoints import km, os_section, pfs_sections, ttf_section
from talentop.demo.report_experts import (
    dynamic_tables,
    expert_sections,
    protocol_statements,
    sap_or_design,
)
from talentop.demo.report_methods import methods_appendix
from talentop.demo.report_text import readable
from talentop.demo.report_trial import (
    baseline_section,
    consort_section,
    dynamic_section,
    protocol_section,
    published_section,
    response_section,
    safety_section,
)
from talentop.reports import Report, fmt_hr, fmt_num, write_report


def _subtitle(protocol: Any, *, seed: int, n_patients: int) -> str:
    return (
        f"Simulated cohort of {n_patients} screened patients (random seed {seed}); "
        f"{protocol.id.upper()} protocol ({protocol.registry_id}), version {protocol.version}"
    )


def _headline(figures: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            "Randomised (A / B)",
            f"{figures['randomised']} ({figures['arm_a']} / {figures['arm_b']})",
        ),
        (
            "Median TTF A vs B",
            f"{fmt_num(figures['ttf_median_a'])} vs {fmt_num(figures['ttf_median_b'])} months",
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


def build_report(
    interim: Interim,
    protocol: Any,
    *,
    seed: int,
    n_patients: int,
    dynamic: pd.DataFrame | None = None,
    dynamic_interim: Interim | None = None,
) -> Report:
    """The open report: one section per function, in reading order (the experts' sections:
    subgroups for TTF and OS, depth landmark, conversion, the arm-B switch readings, surgical
    safety, pathology; the SAP with the interim against it)."""
    figures = key_figures(interim)
    dynamic_sections = (
        [dynamic_section(dynamic, dynamic_tables(dynamic_interim))] if dynamic is not None else []
    )
    sections = [
        published_section(figures, protocol),
        consort_section(interim),
        ttf_section(interim, protocol),
        os_section(interim),
        *pfs_sections(interim),
        *dynamic_sections,
        *expert_sections(interim, protocol),
        baseline_section(interim),
        response_section(interim),
        safety_section(interim),
        sap_or_design(interim.plan, interim.gs, protocol, figures),
        protocol_section(protocol, protocol_statements(protocol)),
    ]
    # Reader text everywhere but the methods appendix (which keeps codes and working notes).
    sections = [readable(section) for section in sections]
    sections.append(
        methods_appendix(
            figures, protocol, seed=seed, n_patients=n_patients, dynamic=dynamic is not None
        )
    )
    return Report(
        title="TALENTOP in silico: interim report",
        subtitle=_subtitle(protocol, seed=seed, n_patients=n_patients),
        headline=_headline(figures),
        sections=sections,
    )


def build_closed(interim: Interim, protocol: Any, *, seed: int, n_patients: int) -> Report:
    """The closed DMC report, with the same KM figures as the open one."""
    figures = key_figures(interim)
    km_figures = [
        km(interim.ttf, "km_ttf", "Time to treatment failure", "Free of treatment failure").figure,
        km(interim.os, "km_os", "Overall survival", "Alive").figure,
    ]
    closed = build_closed_report(
        interim,
        figures,
        subtitle=_subtitle(protocol, seed=seed, n_patients=n_patients),
        km_figures=km_figures,
    )
    return dataclasses.replace(closed, sections=[readable(s) for s in closed.sections])


def write(interim: Interim, protocol: Any, out_dir: Path, **kwargs: Any) -> Path:
    """Write the open report (index.html) and the closed DMC report beside it; return
    index.html."""
    index = write_report(build_report(interim, protocol, **kwargs), out_dir)
    closed_kwargs = {k: v for k, v in kwargs.items() if k in ("seed", "n_patients")}
    write_report(build_closed(interim, protocol, **closed_kwargs), out_dir)
    return index
