"""Limits before memory runs out (issue 18): each request below used to allocate until the
machine ran out (--grid n=1e9 reached 15 GB), divide by zero (hr=1e-300), answer nonsense
("1 event" at alpha 1e-300) or fail inside the solver (1000 looks). Each is now refused
before any work, naming the option and the limit (docs/limits.md lists them)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.commands import _limits, screen

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_simulate_refuses_a_grid_that_cannot_fit_memory():
    message = refused("simulate", "--grid", "hr=0.7", "--grid", "n=1000000000", "--local", "serial")
    assert (
        "--grid n=1,000,000,000: a block of 250 trials of 1,000,000,000 patients needs" in message
    )
    assert "expected n <=" in message and "on this machine" in message


def test_memory_estimate_scales_with_workers_and_available_memory():
    one = _limits.simulation(patients=[150_000], replicates=10, parallel=1, memory=16 * 2**30)
    two = _limits.simulation(patients=[150_000], replicates=10, parallel=2, memory=16 * 2**30)
    assert one == [] and "(2 at once)" in two[0]  # 6 GB a block: one fits 8 GB, two do not
    rows = _limits.simulation(patients=[200], replicates=10**8, parallel=1, memory=16 * 2**30)
    assert any("--replicates=100,000,000: 100,000,000 result rows" in p for p in rows)


def test_simulate_refuses_work_beyond_the_limit():
    message = refused("simulate", "--grid", "hr=0.7", "--grid", "n=1000", "--grid", "events=500",
                      "--replicates", "100000000", "--local", "serial")  # fmt: skip
    assert "patient-trials; expected at most 2e+10" in message


@pytest.mark.parametrize("hr", ["1e-300", "0.001", "1000"])
def test_simulate_refuses_degenerate_hazard_ratios(hr):
    """hr=1e-300 raised ZeroDivisionError."""
    message = refused("simulate", "--grid", f"hr={hr}", "--grid", "events=100", "--local", "serial",
                      "--replicates", "10")  # fmt: skip
    assert f"--grid hr={float(hr):g}: expected a hazard ratio between 0.01 and 100" in message


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--alpha", "1e-300"], "--alpha=1e-300: expected at least 1e-12"),
        (["--power", "0.999999"], "--power=0.999999: expected at most 0.9999"),
        (
            ["--looks", ",".join(str((i + 1) / 1000) for i in range(1000))],
            "--looks: 1000 looks; expected at most 100",
        ),
        (["--hazard-ratio", "0.0001"], "--hazard-ratio=0.0001: expected a hazard ratio between"),
    ],
    ids=["alpha", "power", "looks", "hr"],
)
def test_design_refuses_requests_outside_its_numerical_limits(args, text):
    """--alpha 1e-300 answered "1 event" with power 1e-300; 1000 looks raised a NaN error."""
    base = ["design", "--hazard-ratio", "0.6"]
    if args[0] == "--hazard-ratio":
        base = ["design"]
    assert text in refused(*base, *args)


def test_design_just_inside_the_limits_is_right():
    """At the limits the design is still correct: inflation >= 1 and alpha fully spent."""
    looks = ",".join(str((i + 1) / 100) for i in range(100))
    result = runner.invoke(app, ["design", "--hazard-ratio", "0.6", "--looks", looks,
                                 "--alpha", "1e-12", "--power", "0.9999", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inflation"] >= 1 and data["achieved_power"] == pytest.approx(0.9999, abs=1e-6)
    assert data["bounds"]["cumulative_alpha"][-1] == pytest.approx(1e-12, rel=1e-3)


def test_demo_refuses_a_cohort_beyond_the_limit(tmp_path):
    message = refused("demo", "--patients", "10000000", "--out", str(tmp_path / "r"))
    assert "--patients=10,000,000: about 161.1 hours" in message and "at most 20,000" in message
    assert not (tmp_path / "r").exists()


def test_recist_refuses_oversized_cases_and_batches(tmp_path, monkeypatch):
    case = json.loads((EXAMPLES / "recist" / "pr.json").read_text())
    case["followups"] = case["followups"] * 600
    path = tmp_path / "long.json"
    path.write_text(json.dumps(case))
    message = refused("recist", str(path))
    assert f"followups: {len(case['followups']):,} assessments; expected at most 500" in message
    monkeypatch.setattr(_limits, "MAX_RECIST_FILES", 2)
    pr = str(EXAMPLES / "recist" / "pr.json")
    assert "FILE.json: 3 files in one call; expected at most 2" in refused("recist", pr, pr, pr)


def test_screen_refuses_more_rows_than_the_limit(monkeypatch):
    monkeypatch.setattr(screen, "MAX_ROWS", 10)
    message = refused("screen", str(EXAMPLES / "screening.csv"), "--json")
    assert "30 rows; expected at most 10 per screening" in message


@pytest.mark.slow
def test_screen_json_memory_per_row_is_small(tmp_path):
    """100,000 rows with --json took 5.3 GB (about 55 kB a row): results are now written
    patient by patient. The growth per extra row is measured with tracemalloc (Python's own
    allocation count, deterministic) between 600 and 1,800 rows, with the output going to
    /dev/null (CliRunner would keep it all in memory)."""
    import contextlib
    import csv
    import os

    from talentop.protocol import load_protocol

    rows = list(csv.DictReader((EXAMPLES / "screening.csv").open()))
    peaks = {}
    for count in (600, 1800):
        path = tmp_path / f"{count}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for i in range(count):
                writer.writerow({**rows[i % len(rows)], "patient_id": f"P{i}"})
        tracemalloc.start()
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            tally = screen.Tally(load_protocol("talentop"))
            screen._write_json(screen.read_patients(path), tally)
        peaks[count] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert tally.summary()["screened"] == count
    per_row = (peaks[1800] - peaks[600]) / 1200
    assert per_row < 5_000, per_row  # was ~55,000 bytes a row
