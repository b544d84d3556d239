"""`talentop screen`: screen a file of patients against a protocol's eligibility criteria."""

from __future__ import annotations

import csv
import difflib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentop.clinical import FIELDS, evaluate_eligibility
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


def unknown_fields(patients: list[dict[str, Any]]) -> list[str]:
    """One problem per column (field) no rule reads, with the closest known name if any.

    An unknown column is almost always a typo (``albumen_g_l``); ignoring it would turn an
    eligible patient into an "incomplete" one without a word.
    """
    seen: dict[str, None] = {}
    for patient in patients:
        seen.update(dict.fromkeys(str(k) for k in patient))
    problems = []
    for name in seen:
        if name in FIELDS:
            continue
        close = difflib.get_close_matches(name, list(FIELDS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "see talentop.clinical.fields"
        problems.append(f"column {name!r}: unknown field, ignored; {hint}")
    return problems


def _id_problem(patient: dict[str, Any], first_row: dict[str, int], row: int) -> str | None:
    """An empty or repeated patient_id: the verdict could not be told apart from another's."""
    raw = patient.get("patient_id")
    key = "" if raw is None else str(raw).strip()
    if not key:
        return f"patient_id={raw!r}: empty; expected a screening id unique in the file"
    if key in first_row:
        return f"patient_id={key!r}: duplicate of row {first_row[key]}; expected a unique id"
    first_row[key] = row
    return None


def screen_patients(patients: list[dict[str, Any]], protocol: Protocol) -> dict[str, Any]:
    """Screen every patient; bad rows are collected (row number = 1-based data row).

    A bad row (unparseable or implausible value, a lab in both units, an empty or repeated
    patient_id) is not screened; every other row is. Unknown columns are listed in
    ``unknown_fields`` and the rows are screened without them.
    """
    results, bad_rows = [], []
    first_row: dict[str, int] = {}
    for row_number, patient in enumerate(patients, start=1):
        problems = []
        id_problem = _id_problem(patient, first_row, row_number)
        try:
            result = evaluate_eligibility(patient, protocol)
        except InvalidInput as exc:
            problems += exc.problems
        if id_problem:
            problems.insert(0, id_problem)
        if problems:
            bad_rows.append(
                {"row": row_number, "patient_id": patient.get("patient_id"), "problems": problems}
            )
        else:
            results.append(result)
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
        "unknown_fields": unknown_fields(patients),
        "failures_by_criterion": {
            c.id: failures[c.id] for c in protocol.eligibility if failures[c.id]
        },
        "patients": results,
        "bad_rows": bad_rows,
    }


def _render(report: dict[str, Any], protocol: Protocol) -> None:
    table = Table(title=f"Screening under {protocol.id} ({protocol.registry_id})")
    # One wide "why" column, folded rather than cut with "…": the user must be able to
    # read the whole field name (up to 33 characters) to supply it, even at 80 columns.
    table.add_column("patient", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("criteria not met (value used) / data missing", overflow="fold")
    for result in report["patients"]:
        style = _STYLE[result.status]
        why = [f"{c.id}: {c.reason}" for c in result.criteria if c.status == "not_met"]
        why += [
            f"{c.id}: missing {', '.join(c.missing_fields)}"
            for c in result.criteria
            if c.status == "missing"
        ]
        table.add_row(result.patient_id or "?", f"[{style}]{result.status}[/]", "\n".join(why))
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
    if report["unknown_fields"]:
        console.print(f"[bold red]unknown columns[/] (ignored): {len(report['unknown_fields'])}")
        for problem in report["unknown_fields"]:
            console.print(f"  {problem}", markup=False, highlight=False)
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
    Rows with unreadable or implausible values, a lab given in both units (e.g.
    albumin_g_l and albumin_g_dl), or an empty or repeated patient_id are listed with
    their row number (1 = first data row) and field; all other rows are still screened.
    A column that is not a known field (a typo such as albumen_g_l) is named with the
    closest known field and ignored; the rows are screened without it.

    Exit code: 0 when every row was screened and every column known, 2 when any row was
    bad or any column unknown (so scripts notice data errors).
    """
    loaded = load_protocol(protocol)
    report = screen_patients(read_patients(patients), loaded)
    if as_json:
        print_json({**report, "patients": [r.to_dict() for r in report["patients"]]})
    else:
        _render(report, loaded)
    if report["bad_rows"] or report["unknown_fields"]:
        raise typer.Exit(EXIT_INVALID_INPUT)


def register(app: typer.Typer) -> None:
    """Add `talentop screen` to the root app."""
    app.command("screen")(screen)
