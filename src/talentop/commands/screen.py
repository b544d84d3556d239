"""`talentop screen`: screen a file of patients against a protocol's eligibility criteria."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentop.clinical import evaluate_eligibility
from talentop.commands._edge import EXIT_INVALID_INPUT, console, edge, print_json
from talentop.errors import InvalidInput
from talentop.protocol import Protocol, load_protocol

_STYLE = {"eligible": "green", "ineligible": "red", "incomplete": "yellow"}


def read_patients(path: Path) -> list[dict[str, Any]]:
    """Patients from a CSV (header = field names) or JSON file (a list, or {"patients": [...]})."""
    if not path.is_file():
        raise InvalidInput.field("PATIENTS", str(path), "an existing .csv or .json file")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if isinstance(data, dict):
            data = data.get("patients")
        if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
            raise InvalidInput(
                f"{path}: expected a list of patient objects or {{'patients': [...]}}"
            )
        return data
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def screen_patients(patients: list[dict[str, Any]], protocol: Protocol) -> dict[str, Any]:
    """Screen every patient; bad rows are collected (row number = 1-based data row)."""
    results, bad_rows = [], []
    for row_number, patient in enumerate(patients, start=1):
        try:
            results.append(evaluate_eligibility(patient, protocol))
        except InvalidInput as exc:
            bad_rows.append(
                {
                    "row": row_number,
                    "patient_id": patient.get("patient_id"),
                    "problems": exc.problems,
                }
            )
    counts = Counter(r.status for r in results)
    failures = Counter(c for r in results for c in r.failed)
    return {
        "protocol": protocol.id,
        "counts": {
            "screened": len(results),
            "eligible": counts["eligible"],
            "ineligible": counts["ineligible"],
            "incomplete": counts["incomplete"],
            "bad_rows": len(bad_rows),
        },
        "failures_by_criterion": {
            c.id: failures[c.id] for c in protocol.eligibility if failures[c.id]
        },
        "patients": results,
        "bad_rows": bad_rows,
    }


def _render(report: dict[str, Any], protocol: Protocol) -> None:
    table = Table(title=f"Screening under {protocol.id} ({protocol.registry_id})")
    table.add_column("patient")
    table.add_column("verdict")
    table.add_column("not met")
    table.add_column("missing data")
    for result in report["patients"]:
        style = _STYLE[result.status]
        failed = "\n".join(f"{c.id}: {c.reason}" for c in result.criteria if c.status == "not_met")
        missing = "\n".join(
            f"{c.id}: {', '.join(c.missing_fields)}"
            for c in result.criteria
            if c.status == "missing"
        )
        table.add_row(result.patient_id or "?", f"[{style}]{result.status}[/]", failed, missing)
    console.print(table)
    counts = report["counts"]
    console.print(
        f"screened {counts['screened']} / eligible {counts['eligible']} / "
        f"ineligible {counts['ineligible']} / incomplete {counts['incomplete']}"
        + (f" / bad rows {counts['bad_rows']}" if counts["bad_rows"] else "")
    )
    if report["failures_by_criterion"]:
        console.print(
            "failures by criterion: "
            + ", ".join(f"{k} {v}" for k, v in report["failures_by_criterion"].items())
        )
    if report["bad_rows"]:
        console.print(f"[bold red]bad rows[/] (not screened): {len(report['bad_rows'])}")
        for bad in report["bad_rows"]:
            who = f" ({bad['patient_id']})" if bad["patient_id"] else ""
            for problem in bad["problems"]:
                console.print(f"  row {bad['row']}{who}: {problem}", markup=False, highlight=False)


@edge
def screen(
    patients: Path = typer.Argument(
        ..., help="CSV (header row = patient field names) or JSON (list of patient objects)."
    ),
    protocol: str = typer.Option(
        "talentop", "--protocol", "-p", help="Shipped protocol name or a protocol YAML path."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
) -> None:
    """Screen patients against a protocol's eligibility criteria.

    One verdict per patient (eligible / ineligible / incomplete), with each criterion not
    met (value used and why) and each criterion that lacks data. Field names are listed in
    talentop.clinical.fields (units in the names, e.g. albumin_g_l, platelets_10e9_l).
    Rows with unreadable or implausible values are listed with their row number (1 = first
    data row) and field; all other rows are still screened. Exit code: 0 when every row
    was screened, 2 when any row was bad (so scripts notice data errors).
    """
    loaded = load_protocol(protocol)
    report = screen_patients(read_patients(patients), loaded)
    if as_json:
        print_json({**report, "patients": [r.to_dict() for r in report["patients"]]})
    else:
        _render(report, loaded)
    if report["bad_rows"]:
        raise typer.Exit(EXIT_INVALID_INPUT)


def register(app: typer.Typer) -> None:
    """Add `talentop screen` to the root app."""
    app.command("screen")(screen)
