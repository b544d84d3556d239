"""`talentop km | logrank | cox` on the lung CSV: same numbers as the library (R-checked)."""

from __future__ import annotations

import json

import pytest
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


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("a,b", "--at='a,b': item 1 'a' is not a number"),
        ("1,,2", "--at='1,,2': item 2 '' is not a number"),
        ("-5", "--at='-5': item 1 '-5' is not a time >= 0"),
        ("0,inf", "--at='0,inf': item 2 'inf' is not a time >= 0"),
    ],
)
def test_km_at_times_are_validated(at, message):
    result = runner.invoke(app, ["km", LUNG, "--time", "time", "--event", "status", f"--at={at}"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split())


def test_non_numeric_time_cell_and_directory_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time,status\n1,1\nabc,0\n3,1\n")
    result = runner.invoke(app, ["km", str(path), "--time", "time", "--event", "status"])
    assert result.exit_code == 2
    # rows are counted as in every command (row 1 = first data row), no longer 0-based
    assert "--time 'time': not a number at row 2='abc'" in " ".join(result.output.split())
    result = runner.invoke(app, ["km", str(tmp_path), "--time", "time", "--event", "status"])
    assert result.exit_code == 2
    assert "is a directory; expected an existing CSV file" in " ".join(result.output.split())


def test_json_rows_name_their_group_and_covariate():
    result = runner.invoke(
        app, ["logrank", LUNG, "--time", "time", "--event", "status", "--group", "sex", "--json"]
    )
    payload = json.loads(result.stdout)
    for key in ("table", "summary"):
        assert [(r["group"], r["observed"]) for r in payload[key]] == [(1, 112.0), (2, 53.0)]
    result = runner.invoke(
        app,
        ["cox", LUNG, "--time", "time", "--event", "status", "-x", "age", "-x", "sex", "--json"],
    )
    payload = json.loads(result.stdout)
    assert [r["covariate"] for r in payload["summary"]] == ["age", "sex"]
    assert payload["summary"][1]["coef"] == payload["coef"]["sex"]  # existing keys kept
