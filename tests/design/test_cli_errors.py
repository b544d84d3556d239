"""Bad values given to `talentop design` / `talentop simulate`: exit 2, a message naming the
option and value, never a traceback (QA findings 4, 5, 13-18)."""

import json
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm
from typer.testing import CliRunner

from talentop.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    # Rich wraps long messages at the console width: compare with whitespace collapsed
    result.flat = " ".join(result.output.split())
    return result


def assert_invalid(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "Warning" not in result.output
    assert "invalid input" in result.flat
    for fragment in fragments:
        assert fragment in result.flat, (fragment, result.flat)


def test_unreachable_scheduler_is_named_after_the_connect_timeout():
    """Nothing listens on port 1: the connect timeout (1 s here, not dask's 30 s) ends the wait."""
    result = invoke("simulate", "--grid", "hr=0.6", "--scheduler", "tcp://127.0.0.1:1",
                    "--replicates", "20", "--connect-timeout", "1")  # fmt: skip
    assert_invalid(
        result,
        "scheduler='tcp://127.0.0.1:1': cannot reach Dask scheduler tcp://127.0.0.1:1",
        "connect_timeout=1 s",
    )


def test_malformed_scheduler_address_is_named():
    result = invoke("simulate", "--grid", "hr=0.6", "--scheduler", "nohost", "--replicates", "5")
    assert_invalid(result, "scheduler='nohost': cannot reach Dask scheduler nohost")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seed", "-1", "seed=-1: expected an integer >= 0"),
        ("--replicates", "0", "replicates=0: expected a whole number of trials >= 1"),
        ("--replicates", "-5", "replicates=-5: expected a whole number of trials >= 1"),
        ("--connect-timeout", "0", "connect_timeout=0.0: expected seconds > 0"),
        ("--control-median", "inf", "control_median=inf: expected a finite number > 0"),
    ],
)
def test_simulate_run_options_are_checked_before_any_work(option, value, message):
    result = invoke("simulate", "--grid", "hr=0.6", "--local", "serial", option, value)
    assert_invalid(result, message)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("events=0", "grid events=0: expected at least 1 event"),
        ("n=1", "grid n=1: expected at least 2 patients"),
        ("looks=0.5", "grid looks=0.5: expected increasing information fractions in (0, 1]"),
        ("looks=1:0.5", "grid looks=1:0.5: expected increasing"),
        ("hr=0.7", "grid item 'hr=0.7': key hr given twice"),
    ],
)
def test_grid_values_are_named_by_their_key(grid, message):
    result = invoke("simulate", "--grid", "hr=0.6", "--grid", grid, "--local", "serial")
    assert_invalid(result, message)
    assert "n_patients" not in result.flat


def test_grid_hr_must_be_positive_and_finite():
    assert_invalid(invoke("simulate", "--grid", "hr=0,inf"), "grid hr=0:", "grid hr=inf:")


def test_hr_1_needs_events_or_a_design_hr():
    """HR 1 cannot be sized by Schoenfeld's formula (ln 1 = 0): no silent default."""
    result = invoke("simulate", "--grid", "hr=1", "--local", "serial", "--replicates", "10")
    assert_invalid(result, "grid hr=1 without events", "events=N", "--design-hr")
    sized = invoke("simulate", "--grid", "hr=1", "--grid", "events=40", "--local", "serial",
                   "--replicates", "10", "--json")  # fmt: skip
    assert sized.exit_code == 0, sized.output
    assert json.loads(sized.output)["cells"][0]["looks"] == [40]
    bad = invoke("simulate", "--grid", "hr=1", "--design-hr", "1", "--local", "serial")
    assert_invalid(bad, "design_hr=1.0: expected a finite positive hazard ratio other than 1")


def test_simulate_json_has_numbers_and_one_list_entry_per_look():
    """Events per look from the design; efficacy stops per look add up to the rejection rate
    (a trial rejects exactly when it stops for efficacy)."""
    args = ["simulate", "--grid", "hr=0.7", "--grid", "events=120", "--grid", "looks=0.5:1",
            "--replicates", "200", "--seed", "4", "--local", "serial"]  # fmt: skip
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    cell = json.loads(result.output)["cells"][0]
    assert cell["looks"] == [60, 120]
    assert isinstance(cell["n"], int) and isinstance(cell["rejection_rate"], float)
    assert len(cell["stop_efficacy"]) == 2
    assert all(isinstance(p, float) for p in cell["stop_efficacy"])
    assert sum(cell["stop_efficacy"]) == pytest.approx(cell["rejection_rate"], abs=1e-12)
    human = invoke(*args)
    assert human.exit_code == 0 and "60:120" in human.flat
    stops = ":".join(f"{p:.4f}" for p in cell["stop_efficacy"])
    assert stops in human.flat


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "1"])
def test_design_hazard_ratio_must_be_finite_positive_and_not_1(value):
    result = invoke("design", "--hazard-ratio", value)
    assert_invalid(result, f"hazard_ratio={float(value)!r}: expected a finite positive ratio")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--power", "1.2"], "power=1.2: expected 0 < power < 1"),
        (["--power", "0"], "power=0.0: expected 0 < power < 1"),
        (["--power", "0.02"], "power=0.02: expected power > alpha (0.025)"),
        (["--alpha", "0.7"], "alpha=0.7: expected a one-sided 0 < alpha < 0.5"),
        (["--alpha", "0"], "alpha=0.0: expected a one-sided 0 < alpha < 0.5"),
        (["--allocation", "1"], "allocation=1.0: expected the arm-A fraction"),
    ],
)
def test_design_power_and_alpha_are_named_as_typed(args, message):
    result = invoke("design", "--hazard-ratio", "0.6", *args)
    assert_invalid(result, message)
    assert "beta=" not in result.flat


def _json_design(*args: str) -> dict:
    result = invoke("design", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_hr_scale_bound_is_above_1_for_hr_above_1_and_mirrors_hr_below_1():
    """Schoenfeld: d = 4 (z_a + z_b)^2 / ln(HR)^2 is the same for HR 1.5 and 1/1.5 (191
    events); the final-look bound is exp(+z / sqrt(d / 4)) = 1.328 above 1 and its inverse
    0.753 below 1, on both the efficacy and futility bounds."""
    options = ["--looks", "0.5,1", "--futility", "obf"]
    harm = _json_design("--hazard-ratio", "1.5", *options)
    benefit = _json_design("--hazard-ratio", str(1 / 1.5), *options)
    assert [r["events"] for r in harm["looks"]] == [r["events"] for r in benefit["looks"]]
    for up, down in zip(harm["looks"], benefit["looks"], strict=True):
        scale = math.sqrt(up["events"] / 4)
        assert up["efficacy_hr"] == pytest.approx(math.exp(up["efficacy_z"] / scale), rel=1e-12)
        assert up["efficacy_hr"] > 1 > down["efficacy_hr"]
        assert up["efficacy_hr"] * down["efficacy_hr"] == pytest.approx(1, rel=1e-12)
        assert up["futility_hr"] * down["futility_hr"] == pytest.approx(1, rel=1e-12)
    single = _json_design("--hazard-ratio", "1.5")["looks"][0]
    fixed = 4 * (norm.isf(0.025) + norm.isf(0.2)) ** 2 / math.log(1.5) ** 2
    assert single["events"] == math.ceil(fixed) == 191
    assert single["efficacy_hr"] == pytest.approx(math.exp(norm.isf(0.025) / math.sqrt(191 / 4)))
    assert single["efficacy_hr"] == pytest.approx(1.328, abs=5e-4)


def test_looks_mixing_fractions_and_counts_is_refused_naming_the_values():
    result = invoke("design", "--hazard-ratio", "0.6", "--looks", "0.5,1.5")
    assert_invalid(result, "looks='0.5,1.5'", "not a mix (fractions 0.5; counts 1.5)")


def test_single_fraction_gets_a_final_look_with_a_note():
    result = invoke("design", "--hazard-ratio", "0.6", "--looks", "0.5")
    assert result.exit_code == 0, result.output
    assert "note: looks=0.5: added the final analysis at fraction 1" in result.flat
    data = _json_design("--hazard-ratio", "0.6", "--looks", "0.5")
    assert data["bounds"]["information"] == [0.5, 1.0]
    assert data["notes"] == ["looks=0.5: added the final analysis at fraction 1"]


def test_event_count_looks_are_used_as_given_and_power_is_what_they_deliver():
    """Looks 60,121 events at HR 0.6: fractions 60/121 and 1; the power is
    P(Z1 >= b1 or Z2 >= b2) for Z_k ~ N(theta sqrt(t_k), 1), corr sqrt(t1), theta =
    |ln 0.6| sqrt(121 / 4), checked with scipy's bivariate normal (an independent oracle)."""
    data = _json_design("--hazard-ratio", "0.6", "--looks", "60,121")
    assert [r["events"] for r in data["looks"]] == [60, 121]
    assert data["max_events"] == 121
    t1 = 60 / 121
    assert data["bounds"]["information"] == pytest.approx([t1, 1.0], rel=1e-12)
    b1, b2 = (r["efficacy_z"] for r in data["looks"])
    theta = abs(math.log(0.6)) * math.sqrt(121 / 4)
    mean = np.array([theta * math.sqrt(t1), theta])
    cov = np.array([[1, math.sqrt(t1)], [math.sqrt(t1), 1]])
    power = 1 - multivariate_normal(mean, cov).cdf(np.array([b1, b2]))
    assert data["achieved_power"] == pytest.approx(power, abs=1e-4)
    human = invoke("design", "--hazard-ratio", "0.6", "--looks", "60,200")
    assert human.exit_code == 0
    assert "note: looks read as event counts 60,200" in human.flat
    assert "power at 200 events:" in human.flat and "needs 121 events" in human.flat


@pytest.mark.parametrize(
    ("looks", "message"),
    [
        ("60.5,121", "looks='60.5,121': expected whole event counts"),
        ("121,60", "looks='121,60': expected strictly increasing looks"),
        ("a,1", "looks='a,1': expected numbers"),
        ("0.5,,1", "looks='0.5,,1': expected comma-separated"),
        ("0,1", "looks='0,1': expected positive finite"),
    ],
)
def test_malformed_looks_are_named(looks, message):
    assert_invalid(invoke("design", "--hazard-ratio", "0.6", "--looks", looks), message)


def test_help_states_the_looks_rule():
    result = runner.invoke(app, ["design", "--help"], terminal_width=200)
    flat = " ".join(result.output.split())
    assert "information fractions" in flat and "event counts" in flat and "mix" in flat
