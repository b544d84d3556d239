"""`talentop recist`: RECIST 1.1 / mRECIST response of one or more cases, explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentop.commands import _files, _limits
from talentop.commands._edge import console, edge, print_json
from talentop.errors import InvalidInput
from talentop.recist import evaluate, evaluate_both

_STYLE = {"CR": "bold green", "PR": "green", "SD": "yellow", "non-CR/non-PD": "yellow",
          "PD": "bold red", "NE": "dim"}  # fmt: skip
_NEW = {"none": "no", "equivocal": "equiv.", "unequivocal": "[red]yes[/]"}


def read_case(path: Path) -> dict[str, Any]:
    """One case from a JSON file (the input object of examples/recist/README.md)."""
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory; expected a JSON file (try {path}/*.json)")
    data = _files.read_json(path, "FILE", "an existing JSON file (one RECIST case)")
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected one case as a JSON object, got {type(data).__name__}")
    return data


def evaluate_files(paths: list[Path], *, both: bool) -> list[tuple[Path, dict[str, Any]]]:
    """Evaluate every file; problems of all files are raised together, prefixed by file."""
    _limits.recist_files(len(paths))
    results: list[tuple[Path, dict[str, Any]]] = []
    problems: list[str] = []
    for path in paths:
        try:
            case = read_case(path)
            too_big = _limits.recist_case(case, str(path))
            if too_big:
                problems += too_big
                continue
            results.append((path, evaluate_both(case) if both else evaluate(case)))
        except InvalidInput as exc:
            problems.extend(p if p.startswith(str(path)) else f"{path}: {p}" for p in exc.problems)
    if problems:
        raise InvalidInput(problems)
    return results


def _fmt(value: float | None, suffix: str = "", sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}{suffix}" if sign else f"{value:.1f}{suffix}"


def _styled(response: str | None) -> str:
    if response is None:
        return "-"
    return f"[{_STYLE.get(response, '')}]{response}[/]"


#: Below this console width the WHY column is printed under the table instead of inside it.
WIDE_CONSOLE = 140


def render(path: Path, result: dict[str, Any]) -> None:
    """A Rich table, one row per assessment, with the reason (WHY), then the summary."""
    label = "mRECIST" if result["criteria"] == "mrecist" else "RECIST 1.1"
    baseline = _fmt(result["baseline_sum_mm"], " mm")
    wide = console.width >= WIDE_CONSOLE
    table = Table(
        title=f"{path.name}: {label}, baseline sum {baseline}",
        title_justify="left",
        box=None,  # no borders: the table must fit an 80-column terminal
        padding=(0, 1, 0, 0),
        header_style="bold underline",
    )
    for column in ("date", "sum mm", "vs base", "vs nadir", "target", "non-target",
                   "new lesion", "overall"):  # fmt: skip
        table.add_column(column, no_wrap=True)
    if wide:
        table.add_column("why", overflow="fold", ratio=1)
    for point in result["timepoints"]:
        overall = _styled(point["overall_response"])
        if point.get("backdated"):
            overall += "*"
        row = [
            point["date"],
            _fmt(point["sum_mm"]),
            _fmt(point["change_from_baseline_pct"], "%", sign=True),
            _fmt(point["change_from_nadir_pct"], "%", sign=True),
            _styled(point["target_response"]),
            _styled(point["non_target_response"]),
            _NEW.get(point["new_lesions"], point["new_lesions"]),
            overall,
        ]
        table.add_row(*row, *([point["reason"]] if wide else []))
    console.print(table)
    if not wide:
        reasons = Table.grid(padding=(0, 1))
        reasons.add_column(no_wrap=True)
        reasons.add_column(overflow="fold")
        for point in result["timepoints"]:
            reasons.add_row(f"  why {point['date']}", point["reason"])
        console.print(reasons, highlight=False)
    if any(p.get("backdated") for p in result["timepoints"]):
        console.print("  * PD backdated to the first scan showing the equivocal new lesion")
    confirmation = "confirmed" if result["confirmation"] else "unconfirmed"
    parts = [
        f"best overall response ({confirmation}): {_styled(result['best_overall_response'])}",
        f"progression: {result['progression_date'] or 'none'}",
        f"depth of response: {_fmt(result['depth_of_response_pct'], '%', sign=True)}",
    ]
    if result.get("sd_subcategory"):
        parts.append(result["sd_subcategory"])
    console.print("  " + " | ".join(parts) + "\n")


def recist(
    files: list[Path] = typer.Argument(
        ...,
        metavar="FILE.json...",
        help="One case per JSON file (format: examples/recist/README.md).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result JSON for scripts."),
    both: bool = typer.Option(
        False, "--both", help="Evaluate RECIST 1.1 and mRECIST side by side on the same visits."
    ),
) -> None:
    """Evaluate tumour response by RECIST 1.1 or mRECIST, one row per assessment.

    Each row shows the sum of diameters, its change from baseline and from the nadir, the target / non-target / new-lesion calls, the overall response (RECIST 1.1 Tables 1 and 2) and WHY. Below each table: best overall response, date of progression, depth of response. Thresholds are exact (no floating-point error at -30 % or +20 %).

    With --json one file prints one object; several files print a list, each with "file". An invalid case exits with code 2 and lists every problem.
    """
    results = evaluate_files(files, both=both)
    if as_json:
        payloads = [{"file": str(path), **result} for path, result in results]
        print_json(results[0][1] if len(results) == 1 else payloads)
        return
    for path, result in results:
        if both:
            for criteria in ("recist1.1", "mrecist"):
                render(path, result[criteria])
        else:
            render(path, result)


def register(app: typer.Typer) -> None:
    """Add `talentop recist` to the root app."""
    app.command("recist")(edge(recist))
