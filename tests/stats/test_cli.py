"""`talentop km | logrank | cox` on the lung CSV: same numbers as the library (R-checked)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from talentop.cli import app

from .conftest import DATA

LUNG = str(DATA / "lung.csv")
runner = CliRunner()


def test_km_json_matches_r_medians():
    """R: survfit(Surv(time, status) ~ sex, data = lung): 270 (212, 310) and 426 (348, 550)."""
    result = runner.invoke(
        app,
        [
            "km",
            LUNG,
            "--time",
            "time",
            "--event",
            "status",
            "--group",
            "sex",
            "--at",
            "0,365",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    medians = [(row["median"], row["0.95LCL"], row["0.95UCL"]) for row in payload["summary"]]
    assert medians == [(270, 212, 310), (426, 348, 550)]
    assert payload["at_risk"][0]["0.0"] == 138


def test_logrank_and_cox_tables():
    result = runner.invoke(
        app, ["logrank", LUNG, "--time", "time", "--event", "status", "--group", "sex"]
    )
    assert result.exit_code == 0 and "Chisq = 10.33" in result.stdout
    result = runner.invoke(
        app,
        ["cox", LUNG, "--time", "time", "--event", "status", "-x", "age", "-x", "sex", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n"] == 228 and payload["ph_test"][-1]["covariate"] == "GLOBAL"


def test_bad_input_exit_code_2(tmp_path):
    result = runner.invoke(app, ["km", LUNG, "--time", "days", "--event", "status"])
    assert result.exit_code == 2 and "column 'days' not found" in result.output
    result = runner.invoke(app, ["km", str(tmp_path / "x.csv"), "--time", "t", "--event", "e"])
    assert result.exit_code == 2 and "expected an existing CSV file" in result.output
