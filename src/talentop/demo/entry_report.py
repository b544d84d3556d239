"""The report of a randomised-at-entry trial run (TALENTACE): the primary endpoint as the
protocol defines it (TACE-PFS), what on-demand TACE did, OS, the SAP, published vs this run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from talentop.demo.entry_pipeline import RATE_MONTHS, EntryInterim
from talentop.demo.provenance import CALIBRATED, INPUT, NOT_AVAILABLE, OUTPUT, mark
from talentop.demo.report_endpoints import endpoint_table as _endpoint_table
from talentop.demo.report_endpoints import km as _km
from talentop.demo.report_experts import protocol_statements, sap_or_design
from talentop.reports import Report, Section, Table, fmt_hr, fmt_num, key_value_table, p_equals
from talentop.reports import write_report as write_files
from talentop.reports.provenance import provenance_table


def published_rows(figures: dict[str, Any], published: dict[str, Any], key: str) -> list[dict]:
    """Published vs calibrated model vs this run for the primary endpoint (marked cells)."""
    e = figures.get("expected") or {}
    label = key.upper()

    def pub(name: str, text: str | None = None) -> str:
        if name not in published:
            return mark("not published", NOT_AVAILABLE)
        return mark(text if text is not None else str(published[name]), INPUT)

    rows = [
        ("Randomised", pub("randomised"), mark(str(figures["randomised"]), INPUT),
         mark(f"{figures['randomised']} ({figures['arm_a']} / {figures['arm_b']})", OUTPUT),
         "eligible screened patients, randomised at entry (cohort size --patients)"),
        (f"Median {label} A vs B, months",
         pub(f"{key}_median_a", f"{published.get(f'{key}_median_a')} vs "
             f"{published.get(f'{key}_median_b')}"),
         mark(f"{fmt_num(e.get(f'{key}_median_a'))} vs {fmt_num(e.get(f'{key}_median_b'))}",
              CALIBRATED),
         mark(f"{fmt_num(figures[f'{key}_median_a'])} vs {fmt_num(figures[f'{key}_median_b'])}",
              OUTPUT), "Kaplan-Meier; the protocol's endpoint definition"),
        (f"{label} hazard ratio (95% CI), P",
         pub(f"{key}_hr", f"{fmt_hr(published.get(f'{key}_hr'), *published.get(f'{key}_hr_ci', [None, None]))}, "
             f"{p_equals(published.get(f'{key}_p'))}"),
         mark(f"{fmt_num(e.get(f'{key}_hr'), 2)}, z = {fmt_num(e.get(f'{key}_z'), 2)}", CALIBRATED),
         mark(f"{fmt_hr(figures[f'{key}_hr'], *figures[f'{key}_hr_ci'], reason=figures[f'{key}_hr_reason'])}, "
              f"log-rank {p_equals(figures[f'{key}_p'])}", OUTPUT),
         "stratified Cox and log-rank; the model's hazards converge after month 12"),
    ]  # fmt: skip
    for months in RATE_MONTHS:
        a, b = f"{key}_rate_{months}m_a", f"{key}_rate_{months}m_b"
        rows.append((
            f"{months}-month {label} rate A vs B, %",
            pub(a, f"{published.get(a)} vs {published.get(b)}"),
            mark(f"{fmt_num(e.get(a))} vs {fmt_num(e.get(b))}", CALIBRATED)
            if a in e
            else mark("not computed from the model", NOT_AVAILABLE),
            mark(f"{fmt_num(figures[a])} vs {fmt_num(figures[b])}", OUTPUT),
            "Kaplan-Meier estimate",
        ))  # fmt: skip
    columns = ("Figure", "Published (interim)", "Calibrated model (expected)", "This run", "Note")
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _procedures(interim: EntryInterim) -> Table:
    frame = interim.procedures
    rows = []
    for arm, block in frame.groupby("arm"):
        rows.append(
            {
                "Arm": arm,
                "Patients": len(block),
                "TACE per patient, median (range)": f"{fmt_num(block.tace_count.median(), 0)} "
                f"({int(block.tace_count.min())}-{int(block.tace_count.max())})",
                "Treatable progressions (repeat TACE, not events)": int(
                    block.treatable_progressions.sum()
                ),
                "Events by type": ", ".join(
                    f"{k.replace('_', ' ')} {v}"
                    for k, v in block.event_type.value_counts().sort_index().items()
                ),
            }
        )
    return Table(
        "On-demand TACE",
        pd.DataFrame(rows),
        "Event types are the latent course; the endpoint counts only those before the cut.",
    )


def _versus(interim: EntryInterim) -> Table:
    rows = []
    for name, result in (("primary", interim.primary), ("PFS mRECIST", interim.pfs_mrecist)):
        if result is None:
            continue
        for arm in ("A", "B"):
            km = result.km[arm]
            rows.append(
                {
                    "Endpoint": result.paramcd if name == "primary" else name,
                    "Arm": arm,
                    "events": km.events,
                    "median, months": fmt_num(km.median, 1, "not reached"),
                }
            )
    return Table(
        "The primary endpoint vs mRECIST PFS",
        pd.DataFrame(rows),
        "mRECIST PFS counts every progression; the primary endpoint does not count a progression "
        "that on-demand TACE still treats, so it has fewer, later events.",
    )


def build_report(
    interim: EntryInterim, protocol: Any, *, seed: int, n_patients: int, figures: dict[str, Any]
) -> Report:
    """Sections: published vs run, flow, primary endpoint, TACE, OS, SAP, protocol."""
    published = {k: v.value for k, v in protocol.published.items()}
    key, label = interim.key, interim.key.upper()
    definition = protocol.endpoints.tace_pfs
    run = interim.run
    flow = pd.DataFrame(
        [{"Step": "Screened", "Patients": run.screened}]
        + [
            {"Step": f"    excluded: {reason}", "Patients": count}
            for reason, count in sorted(run.screen_failures.items())
        ]
        + [{"Step": "Randomised at entry", "Patients": len(interim.procedures)}]
        + [
            {
                "Step": f"    arm {arm.id}: {arm.name}",
                "Patients": int((interim.procedures.arm == arm.id).sum()),
            }
            for arm in protocol.arms
        ]
    )
    primary_figure = _km(interim.primary, f"km_{key}", label, f"Free of {label} event")
    sources = sorted({figure.source for figure in protocol.published.values()})
    sap_figures = {"ttf_z": None if interim.primary.hr_reason else float(-interim.primary.z),
                   "ttf_hr_reason": interim.primary.hr_reason}  # fmt: skip
    sections = [
        Section(
            "published",
            "Published vs this run",
            tables=[
                provenance_table(published_rows(figures, published, key), "; ".join(sources))
            ],
        ),
        Section("flow", "Patient flow", tables=[Table("Screening and randomisation", flow)]),
        Section(
            "primary",
            f"Primary endpoint: {label}",
            [
                f"Definition ({definition.source if definition else 'protocol file'}): "
                f"{(definition.definition if definition else '').strip()}",
                "TACE refractoriness is counted when the investigator records it and when the "
                f"recorded post-TACE responses show {definition.refractory_after.value if definition else 2} "
                "consecutive insufficient responses (" + (definition.refractory_after.source.strip() if definition else "") + ").",
            ],
            figures=[primary_figure.figure],
            tables=[_endpoint_table(interim.primary, label), _versus(interim), _procedures(interim)],
        ),
        Section(
            "os",
            "Overall survival",
            figures=[_km(interim.os, "km_os", "Overall survival", "Alive").figure],
            tables=[_endpoint_table(interim.os, "OS")],
        ),
        _sap(interim, protocol, sap_figures),
        Section(
            "protocol",
            "Protocol summary",
            tables=[
                key_value_table(
                    protocol.title,
                    [
                        ("registry", protocol.registry_id),
                        ("randomisation", f"{protocol.randomisation.timing}, stratified by "
                         f"{', '.join(s.label or s.id for s in protocol.strata)}"
                         f"{' and site' if protocol.randomisation.stratify_by_site else ''}"),
                        ("arms", "; ".join(f"{a.id}: {a.name}" for a in protocol.arms)),
                        *protocol_statements(protocol),
                    ],
                )
            ],
        ),
    ]  # fmt: skip
    headline = [
        ("Randomised (A / B)", f"{figures['randomised']} ({figures['arm_a']} / {figures['arm_b']})"),
        (f"Median {label} A vs B", f"{fmt_num(figures[f'{key}_median_a'])} vs "
                                   f"{fmt_num(figures[f'{key}_median_b'])} mo"),
        (f"{label} HR (95% CI)", fmt_hr(figures[f"{key}_hr"], *figures[f"{key}_hr_ci"],
                                        reason=figures[f"{key}_hr_reason"])),
    ]  # fmt: skip
    return Report(
        title=f"{protocol.id.upper()} in silico: report",
        subtitle=f"Simulated cohort of {n_patients} screened patients, seed {seed}; "
        f"protocol {protocol.id} v{protocol.version}",
        headline=headline,
        sections=sections,
    )


def _sap(interim: EntryInterim, protocol: Any, figures: dict[str, Any]) -> Section:
    """The SAP section, with the interim judged against the primary endpoint's plan."""
    return sap_or_design(interim.plan, interim.gs, protocol, figures)


def write(interim: EntryInterim, protocol: Any, out_dir: Path, **kwargs: Any) -> Path:
    """Build and write the report; return index.html."""
    return write_files(build_report(interim, protocol, **kwargs), out_dir)
