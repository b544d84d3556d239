"""Ready-made design scenarios from the protocol file, and the calibration flags.

References: Schoenfeld events (clinical-rules.md 8.2): HR 0.67, 80% power, two-sided 5%:
4 (1.96 + 0.8416)^2 / ln(0.67)^2 = 195.75 before the group-sequential inflation. The simulated
power of the as-designed trial must be the SAP's 80% within 4 Monte-Carlo SEs (its events are
sized for that power). Switching arm B to the experimental hazard moves the HR towards 1 and
lowers power (both arms get more of the same treatment).
"""

import json
import math

import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from talentop.cli import app
from talentop.design.scenarios import ScenarioSpec, run_scenario
from talentop.protocol import load_protocol
from talentop.protocol.plan import scenario_values

PROTOCOL = load_protocol("talentop")
REPLICATES = 1000


def _run(name: str, replicates: int = REPLICATES):
    spec = ScenarioSpec(**scenario_values(PROTOCOL.scenario(name), PROTOCOL.sap))
    return spec, run_scenario(spec, replicates=replicates, seed=5)


def test_scenario_values_fall_back_on_the_sap():
    spec, _ = _run("as_designed", 10)
    assert spec.hazard_ratio == pytest.approx(10 / 18)
    assert spec.n_patients == 198 and spec.looks == (0.5, 1.0)


def test_as_designed_has_the_planned_power():
    _, result = _run("as_designed")
    se = math.sqrt(0.8 * 0.2 / REPLICATES)
    assert result["power"] == pytest.approx(0.8, abs=4 * se)
    assert result["look_events"] == [46, 92]


def test_dynamic_reassessment_moves_the_hr_and_lowers_power():
    _, designed = _run("as_designed")
    _, dynamic = _run("dynamic_reassessment")
    assert dynamic["switched_per_trial"] > 10
    assert dynamic["mean_hr"] > designed["mean_hr"]
    se = math.sqrt(0.25 / REPLICATES)
    assert dynamic["power"] < designed["power"] - 2 * se


def test_os_primary_events_patients_and_power_of_the_current_size():
    _, result = _run("os_primary", 400)
    fixed = 4 * (norm.isf(0.025) + norm.isf(0.2)) ** 2 / math.log(0.67) ** 2
    assert fixed == pytest.approx(195.75, abs=0.01)
    assert result["required_events"] == math.ceil(fixed * 1.0037249533846688)  # OBF K=2 inflation
    assert result["patients_needed"] > 201  # the current size cannot deliver those events
    assert result["n_patients"] == 201
    assert result["power"] < 0.8  # the power the current size has at month 48


def test_tace_first_scales_the_control_hazard():
    spec, result = _run("tace_first", 200)
    assert spec.effective_hazard_ratio == pytest.approx(spec.hazard_ratio / 0.71)
    assert result["look_events"][-1] <= int(0.9 * spec.n_patients)  # capped: too few patients


def test_cli_scenarios_and_errors():
    runner = CliRunner()
    result = runner.invoke(
        app, ["simulate", "--scenario", "as_designed", "--replicates", "50", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scenarios"][0]["id"] == "as_designed"
    both = runner.invoke(app, ["simulate", "--scenario", "all", "--grid", "hr=0.6"])
    assert both.exit_code != 0 and "exactly one of --grid" in both.output
    unknown = runner.invoke(app, ["simulate", "--scenario", "nope"])
    assert unknown.exit_code != 0 and "one of" in unknown.output


@pytest.mark.slow
def test_calibrate_flags_fits_far_from_their_target_and_prints_counts():
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", "--replicates", "200"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    operated = next(
        line for line in result.output.splitlines() if "arm A operated (patients)" in line
    )
    assert "│      83 │" in operated  # a count, not 83.0000
    data = json.loads(runner.invoke(app, ["calibrate", "--replicates", "200", "--json"]).output)
    for row in data["fit"]:
        far = (
            row["target"] is not None and row["monte_carlo"] is not None and row["mc_se"]
            and abs(row["monte_carlo"] - row["target"]) > 3 * row["mc_se"]
        )  # fmt: skip
        assert bool(row["flag"]) == bool(far), row["quantity"]
    assert {r["kind"] for r in data["fit"]} >= {"count", "months", "statistic"}
