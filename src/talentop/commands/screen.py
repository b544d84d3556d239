"""`talentop screen`: screen a file of patients against a protocol's eligibility criteria."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentop.clinical import FIELDS, evaluate_eligibility
from talentop.commands import _files
from talentop.commands._edge import (
    EXIT_INVALID_INPUT,
    console,
    edge,
    err_console,
    print_table,
)
from talentop.errors import InvalidInput
from talentop.protocol import Protocol, load_protocol

_STYLE = {"eligible": "green", "ineligible": "red", "incomplete": "yellow"}
_EXPECTED = "an existing .csv or .json file of patients"
#: Most data rows one screening reads (memory stays flat, but the bad-row list and the
#: time grow with it: about 0.6 ms a row). Stated in docs/limits.md.
MAX_ROWS = 1_000_000
#: Patients per printed table in the human output (one Rich table per block keeps memory flat).
TABLE_BLOCK = 500


@dataclass
class PatientFile:
    """A file of patients read lazily: known columns, unknown-column problems, notes, rows."""

    rows: Iterable[tuple[int, dict[str, Any]]]
    unknown_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _map_columns(header: list[str], path: Path) -> tuple[dict[int, str], list[str]]:
    """Column position -> field name (matched ignoring case, spaces and punctuation), and one
    problem per column no field has, with a hint only when it cannot mislead."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    by_normal = {_files.normalise(name): name for name in FIELDS}
    for position, column in enumerate(header):
        name = column if column in FIELDS else by_normal.get(_files.normalise(column))
        if name is None:
            hint = _files.suggest(column, list(FIELDS)) or "see `talentop fields`"
            hint += _unit_hint(column)
            unknown.append(f"column {column!r}: unknown field, ignored; {hint}")
            continue
        if name in seen:
            raise InvalidInput(
                f"{path}: columns {seen[name]!r} and {column!r} are both the field {name!r}; "
                "expected one column per field"
            )
        seen[name] = column
        mapping[position] = name
    return mapping, unknown


def _unit_hint(column: str) -> str:
    """Counts per microlitre (or per mm3) in a column meant for 10^9/L: the conversion."""
    words = _files.normalise(column).split("_")
    if any(w in ("ul", "mcl", "mm3", "microlitre", "microliter") for w in words):
        return " (a count per microlitre divided by 1000 is the count in 10^9/L)"
    return ""


def read_patients(path: Path) -> PatientFile:
    """Patients from a CSV (header = field names) or JSON file (a list, or {"patients": [...]}).

    CSV rows are read lazily (a million rows use the memory of one); see `_files` for the
    encodings, delimiters and sizes accepted. Header names match fields ignoring case,
    spaces and punctuation (``Albumin g/L`` is ``albumin_g_l``).
    """
    if path.suffix.lower() == ".json":
        data = _files.read_json(path, "PATIENTS", _EXPECTED)
        if isinstance(data, dict):
            data = data.get("patients")
        if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
            raise InvalidInput(
                f"{path}: expected a list of patient objects or {{'patients': [...]}}"
            )
        if not data:
            raise InvalidInput(f"{path}: no patients; expected at least one patient object")
        header = list(dict.fromkeys(str(k) for patient in data for k in patient))
        mapping, unknown = _map_columns(header, path)
        names = {header[i]: name for i, name in mapping.items()}
        rows = (
            (number, {names.get(str(k), str(k)): v for k, v in patient.items()})
            for number, patient in enumerate(data, start=1)
        )
        return PatientFile(rows, unknown)
    text, encoding = _files.read_text(path, "PATIENTS", _EXPECTED)
    header, records, delimiter = _files.csv_rows(text, path)
    mapping, unknown = _map_columns(header, path)
    total = _count_rows(text, path)
    if total == 0:
        raise InvalidInput(
            f"{path}: a header row but no patients; expected one row per patient under it"
        )
    if total > MAX_ROWS:
        raise InvalidInput(
            f"{path}: {total:,} rows; expected at most {MAX_ROWS:,} per screening (split the file)"
        )

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, cells in records:
            record: dict[str, Any] = {}
            for position, value in enumerate(cells):
                name = mapping.get(position)
                if name is None:
                    continue
                record[name] = _files.decimal_point(value, delimiter)
            # cells beyond the header (a comma inside an unquoted value shifts the row);
            # empty trailing cells, as some spreadsheets write, are harmless
            extra = sum(1 for cell in cells[len(header) :] if cell.strip())
            if extra:
                record["__extra__"] = extra
            yield number, record

    return PatientFile(rows(), unknown, _files.encoding_note(path, encoding))


def _count_rows(text: str, path: Path) -> int:
    """Data rows, counted before screening so an oversized file is refused up front."""
    _, records, _ = _files.csv_rows(text, path)
    return sum(1 for _ in records)


def unknown_fields(patients: list[dict[str, Any]]) -> list[str]:
    """One problem per column (field) no rule reads, with a hint only when it cannot mislead.

    An unknown column is almost always a typo (``albumen_g_l``); ignoring it would turn an
    eligible patient into an "incomplete" one without a word.
    """
    header = list(dict.fromkeys(str(k) for patient in patients for k in patient))
    return _map_columns(header, Path("patients"))[1]


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


@dataclass
class Tally:
    """Counts kept while rows stream past (nothing per patient is retained)."""

    protocol: Protocol
    counts: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    bad_rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "screened": sum(self.counts.values()),
            "eligible": self.counts["eligible"],
            "ineligible": self.counts["ineligible"],
            "incomplete": self.counts["incomplete"],
            "bad_rows": len(self.bad_rows),
        }

    def failures_by_criterion(self) -> dict[str, int]:
        return {c.id: self.failures[c.id] for c in self.protocol.eligibility if self.failures[c.id]}


def screen_rows(rows: Iterable[tuple[int, dict[str, Any]]], tally: Tally) -> Iterator[Any]:
    """Screen each (row number, patient) and yield its result; bad rows go to the tally.

    A bad row (unparseable or implausible value, a lab in both units, an empty or repeated
    patient_id, more cells than header columns) is not screened; every other row is.
    """
    first_row: dict[str, int] = {}
    for row_number, patient in rows:
        problems = []
        extra = patient.pop("__extra__", 0)
        id_problem = _id_problem(patient, first_row, row_number)
        try:
            result = evaluate_eligibility(patient, tally.protocol)
        except InvalidInput as exc:
            problems += exc.problems
        if extra:
            problems.append(f"{extra} more cell(s) than header columns; expected one per column")
        if id_problem:
            problems.insert(0, id_problem)
        if problems:
            tally.bad_rows.append(
                {"row": row_number, "patient_id": patient.get("patient_id"), "problems": problems}
            )
            continue
        tally.counts[result.status] += 1
        tally.failures.update(result.failed)
        yield result


def screen_patients(patients: list[dict[str, Any]], protocol: Protocol) -> dict[str, Any]:
    """Screen a list of patients in memory (row number = 1-based data row); see screen_rows."""
    tally = Tally(protocol)
    results = list(screen_rows(enumerate(patients, start=1), tally))
    return {
        "protocol": protocol.id,
        "counts": tally.summary(),
        "unknown_fields": unknown_fields(patients),
        "failures_by_criterion": tally.failures_by_criterion(),
        "patients": results,
        "bad_rows": tally.bad_rows,
    }


def _write_json(source: PatientFile, tally: Tally) -> None:
    """The --json report, written patient by patient (a million patients never sit in
    memory as objects or as one string); the counts come after the patients."""
    out = sys.stdout
    out.write("{\n")
    out.write(f'  "protocol": {json.dumps(tally.protocol.id)},\n')
    out.write(f'  "unknown_fields": {_indented(source.unknown_fields)},\n')
    out.write(f'  "notes": {_indented(source.notes)},\n')
    out.write('  "patients": [')
    for index, result in enumerate(screen_rows(source.rows, tally)):
        out.write(("," if index else "") + "\n    " + _indented(result.to_dict(), 4))
    out.write("\n  ],\n")
    out.write(f'  "bad_rows": {_indented(tally.bad_rows)},\n')
    out.write(f'  "failures_by_criterion": {_indented(tally.failures_by_criterion())},\n')
    out.write(f'  "counts": {_indented(tally.summary())}\n')
    out.write("}\n")


def _indented(value: Any, level: int = 2) -> str:
    return json.dumps(value, indent=2, default=str).replace("\n", "\n" + " " * level)


def _patient_table(title: str | None) -> Table:
    table = Table(title=title)
    # One wide "why" column, folded rather than cut with "…": the user must be able to
    # read the whole field name (up to 33 characters) to supply it, even at 80 columns.
    table.add_column("patient", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("criteria not met (value used) / data missing", overflow="fold")
    return table


def _render(source: PatientFile, tally: Tally) -> None:
    """Human output: tables of TABLE_BLOCK patients as they are screened, then the counts."""
    protocol = tally.protocol
    table = _patient_table(f"Screening under {protocol.id} ({protocol.registry_id})")
    for result in screen_rows(source.rows, tally):
        style = _STYLE[result.status]
        why = [f"{c.id}: {c.reason}" for c in result.criteria if c.status == "not_met"]
        why += [
            f"{c.id}: missing {', '.join(c.missing_fields)}"
            for c in result.criteria
            if c.status == "missing"
        ]
        table.add_row(result.patient_id or "?", f"[{style}]{result.status}[/]", "\n".join(why))
        if table.row_count >= TABLE_BLOCK:
            print_table(table)
            table = _patient_table(None)
    if table.row_count:
        print_table(table)
    counts = tally.summary()
    console.print(
        f"screened {counts['screened']} / eligible {counts['eligible']} / "
        f"ineligible {counts['ineligible']} / incomplete {counts['incomplete']}"
        + (f" / bad rows {counts['bad_rows']}" if counts["bad_rows"] else "")
    )
    failures = tally.failures_by_criterion()
    if failures:
        console.print(
            "failures by criterion: " + ", ".join(f"{k} {v}" for k, v in failures.items())
        )
    for note in source.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    if source.unknown_fields:
        console.print(f"[bold red]unknown columns[/] (ignored): {len(source.unknown_fields)}")
        for problem in source.unknown_fields:
            console.print(f"  {problem}", markup=False, highlight=False)
    if tally.bad_rows:
        console.print(
            f"[bold red]bad rows[/] (not screened; {_files.ROW_RULE}): {len(tally.bad_rows)}"
        )
        for bad in tally.bad_rows:
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
    met (value used and why) and each criterion that lacks data. Field names, units and
    allowed values are listed by `talentop fields` (which also writes a blank template);
    column names match them ignoring case, spaces and punctuation ("Albumin g/L" is
    albumin_g_l). UTF-8, UTF-16 or Excel (Windows-1252) CSV, comma-, semicolon- or
    tab-separated, is read as it is. Rows with unreadable or implausible values, a lab given in both units (e.g.
    albumin_g_l and albumin_g_dl), or an empty or repeated patient_id are listed with
    their row number (row 1 = the first data row after the header) and field; all other
    rows are still screened. An empty file, or one that is not text, is an error.
    A column that is not a known field (a typo such as albumen_g_l) is named with the
    closest known field and ignored; the rows are screened without it.

    Exit code: 0 when every row was screened and every column known, 2 when any row was
    bad or any column unknown (so scripts notice data errors).
    """
    tally = Tally(load_protocol(protocol))
    source = read_patients(patients)
    if as_json:
        _write_json(source, tally)
    else:
        _render(source, tally)
    if tally.bad_rows or source.unknown_fields:
        raise typer.Exit(EXIT_INVALID_INPUT)


def register(app: typer.Typer) -> None:
    """Add `talentop screen` to the root app."""
    app.command("screen")(screen)
