"""`talentop design`, `simulate`, `calibrate` from the command line."""

import json

import pytest
from typer.testing import CliRunner

from talentop.cli import app

runner = CliRunner()


def test_design_json_has_bounds_events_and_hr_scale():
    """HR 0.6, 80 %, one-sided 0.025, OBF at 0.5 and 1: bounds 2.9626, 1.9686
    (clinical-rules.md 8.1); Schoenfeld fixed events 120.3 (4 (1.959964 + 0.841621)^2 /
    ln(0.6)^2)."""
    result = runner.invoke(
        app,
        [
            "design",
            "--hazard-ratio",
            "0.6",
            "--power",
            "0.8",
            "--alpha",
            "0.025",
            "--looks",
            "0.5,1",
            "--spending",
            "obf",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["fixed_design_events"] == pytest.approx(
        4 * (1.959964 + 0.841621) ** 2 / 0.260943, rel=1e-4
    )
    looks = data["looks"]
    assert [round(r["efficacy_z"], 4) for r in looks] == [2.9626, 1.9686]
    assert looks[-1]["events"] == data["max_events"]
    assert looks[-1]["efficacy_hr"] < 1
    human = runner.invoke(app, ["design", "--hazard-ratio", "0.6", "--looks", "0.5,1"])
    assert human.exit_code == 0 and "2.9626" in human.output


def test_design_table_keeps_small_nominal_p_significant():
    """Four equally spaced looks, Lan-DeMets O'Brien-Fleming, one-sided 0.025: the first
    bound is z = 4.3326 (R: ``gsDesign(k = 4, test.type = 1, alpha = 0.025, sfu = sfLDOF)
    $upper$bound[1]`` = 4.3326), a nominal p of ``pnorm(-4.3326)`` = 7.37e-06: printed
    with 3 significant digits, not rounded to "0.00001"; from 0.001 up, 5 decimals."""
    result = runner.invoke(
        app, ["design", "--hazard-ratio", "0.7", "--looks", "0.25,0.5,0.75,1"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    first = next(line for line in result.output.splitlines() if line.strip().startswith("1 "))
    assert "4.3326" in first
    assert first.split().count("7.37e-06") == 2  # nominal p and the cumulative alpha
    last = next(line for line in result.output.splitlines() if line.strip().startswith("4 "))
    assert "0.02500" in last


def test_design_rejects_bad_spending_with_exit_2():
    result = runner.invoke(app, ["design", "--hazard-ratio", "0.6", "--spending", "wang"])
    assert result.exit_code == 2
    assert "spending='wang'" in result.output


def test_simulate_with_no_estimable_hr_prints_a_dash_and_valid_json():
    """One event per trial: every trial's Cox HR diverges (the only event is in one arm),
    so the mean HR and its bias cannot be estimated. The table shows "-" and the JSON
    null; before, the table printed "nan" and the JSON the bare NaN that jq refuses."""
    args = ["simulate", "--grid", "hr=0.7", "--grid", "n=4", "--grid", "events=1"]
    args += ["--replicates", "20", "--local", "serial"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    cell = json.loads(result.output, parse_constant=refuse)["cells"][0]
    assert cell["mean_hr"] is None and cell["log_hr_bias"] is None
    assert cell["hr_trials"] == 0  # of 20: the figures are over the trials with an HR
    assert cell["expected_events"] == 1.0
    table = runner.invoke(app, args, terminal_width=200)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.output.splitlines() if line.strip().startswith("0.700"))
    assert "nan" not in row.lower()
    assert row.split()[-3:] == ["-", "-", "0"]


def test_simulate_serial_json_is_reproducible():
    args = ["simulate", "--grid", "hr=0.7", "--grid", "looks=0.5:1", "--replicates", "300",
            "--seed", "3", "--local", "serial", "--json"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.output == runner.invoke(app, args).output
    cell = json.loads(first.output)["cells"][0]
    assert cell["hr"] == 0.7 and 0 < cell["rejection_rate"] < 1


def test_calibrate_json_exposes_hazards():
    result = runner.invoke(app, ["calibrate", "--replicates", "200", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["ttf_hazards"]) == {"A", "B"}
    assert data["operated_fraction"] == pytest.approx(83 / 101)
    assert {row["quantity"] for row in data["fit"]} >= {"TTF hazard ratio", "OS hazard ratio"}
