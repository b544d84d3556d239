"""`talentop fields` (the data dictionary and a blank screening template) and output for
people: no "<bool>" in --help, tables readable when piped to a file or on a narrow
terminal, --json unchanged for scripts."""

from __future__ import annotations

import csv
import json

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from talentop.cli import app
from talentop.clinical import FIELDS
from talentop.commands import _edge

runner = CliRunner()


def test_fields_lists_every_field_with_unit_allowed_values_and_source():
    result = runner.invoke(app, ["fields", "--json"])
    assert result.exit_code == 0
    rows = {row["field"]: row for row in json.loads(result.stdout)["fields"]}
    assert set(rows) == set(FIELDS)
    assert rows["platelets_10e9_l"]["unit"] == "×10⁹/L"
    assert rows["platelets_10e9_l"]["allowed"] == "1–2000"
    assert rows["vp_grade"]["allowed"] == "Vp0 | Vp1 | Vp2 | Vp3 | Vp4"
    assert rows["bilirubin_umol_l"]["alternative"] == "bilirubin_mg_dl"
    assert rows["inr"]["source"] == "blood tests (laboratory report)"
    assert rows["vp_grade"]["source"].startswith("contrast CT or MRI")
    assert all(row["used_by"] == [] for row in rows.values())  # no protocol given


def test_fields_with_a_protocol_names_the_criteria_and_the_template_screens(tmp_path):
    from talentop.protocol import load_protocol

    template = tmp_path / "blank.csv"
    result = runner.invoke(
        app, ["fields", "--protocol", "talentop", "--template", str(template), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = {row["field"]: row for row in payload["fields"]}
    assert "child_pugh_a" in rows["albumin_g_l"]["used_by"]  # through the derived class
    needed = {f for c in load_protocol("talentop").eligibility for f in c.needs}
    assert "macrovascular_invasion" in rows["vp_grade"]["used_by"] or needed
    (header,) = list(csv.reader(template.open()))
    assert header == payload["template_columns"] and header[:2] == ["patient_id", "site"]
    assert "bilirubin_umol_l" in header and "bilirubin_mg_dl" not in header  # one unit
    # the template, filled with one patient, is read by screen without unknown columns
    example = next(csv.DictReader(open("examples/screening.csv")))
    with template.open("a", newline="") as handle:
        csv.writer(handle).writerow([example.get(column, "") for column in header])
    screened = runner.invoke(app, ["screen", str(template), "--json"])
    report = json.loads(screened.stdout)
    assert report["unknown_fields"] == [] and report["counts"]["screened"] == 1


@pytest.mark.parametrize(
    "command",
    [
        ["km"],
        ["logrank"],
        ["cox"],
        ["screen"],
        ["recist"],
        ["demo"],
        ["design"],
        ["simulate"],
        ["calibrate"],
        ["fields"],
        ["export", "adtte"],
        ["protocol", "show"],
        ["db", "init"],
        ["audit", "verify"],
    ],  # fmt: skip
    ids=" ".join,
)
def test_help_has_no_bool_placeholder(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "<bool>" not in result.output and "--help" in result.output


def _table() -> Table:
    table = Table(title="Published vs this run")
    for name in ("Figure", "Published (interim)", "This run", "Note"):
        table.add_column(name, overflow="fold")
    table.add_row(
        "Median TTF A vs B, months",
        "20.4 vs 11.8",
        "NR vs 12.3",
        "Kaplan-Meier; the protocol file's TTF definition applied to every patient",
    )
    table.add_row("OS hazard ratio (95% CI)", "0.67 (0.35-1.29)", "0.93 (0.47-1.84)",
                  "34 deaths: immature")  # fmt: skip
    return table


def _print(monkeypatch, *, width: int, terminal: bool, columns_env: bool) -> list[str]:
    import io

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=terminal, color_system=None)
    monkeypatch.setattr(_edge, "console", console)
    if columns_env:
        monkeypatch.setenv("COLUMNS", str(width))
    else:
        monkeypatch.delenv("COLUMNS", raising=False)
    _edge.print_table(_table())
    return buffer.getvalue().splitlines()


def test_table_piped_to_a_file_runs_on_unwrapped(monkeypatch):
    lines = _print(monkeypatch, width=80, terminal=False, columns_env=False)
    assert any("Median TTF A vs B, months" in line and "NR vs 12.3" in line for line in lines)
    assert any("applied to every patient" in line and "20.4 vs 11.8" in line for line in lines)


def test_table_on_a_narrow_terminal_becomes_records_not_one_word_per_line(monkeypatch):
    lines = _print(monkeypatch, width=40, terminal=True, columns_env=False)
    text = "\n".join(lines)
    flat = " ".join(text.split())
    assert "Figure:" in text and "Published (interim):" in text
    assert "Median TTF A vs B, months" in flat and "0.67 (0.35-1.29)" in text
    assert max(len(line) for line in lines) <= 40
    words = [line.strip() for line in lines if line.strip()]
    one_word = [w for w in words if " " not in w and not w.endswith(":")]
    assert len(one_word) <= len(words) // 4, words  # no one-word-per-line column


def test_table_that_fits_is_a_table(monkeypatch):
    lines = _print(monkeypatch, width=160, terminal=True, columns_env=True)
    assert any(line.count("│") >= 3 or "Median TTF A vs B, months" in line for line in lines)
    assert not any(line.strip().startswith("Figure:") for line in lines)


def test_a_wide_table_at_cli_width_50_is_readable():
    """The CLI path end to end: `fields` at COLUMNS=50 keeps field names whole."""
    result = runner.invoke(app, ["fields", "-p", "talentop"], env={"COLUMNS": "50"})
    assert result.exit_code == 0
    assert "total_functional_liver_volume_ml" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 50
