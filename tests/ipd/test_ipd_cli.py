"""`talentop digitise | reconstruct | reanalyse` and `calibrate --from-ipd`: the README tour on
the example figure (examples/ipd, made by ``python tests/ipd/ipd_journal.py examples/ipd``),
and bad input as one message with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from ipd_journal import write_example
from typer.testing import CliRunner

from talentop.cli import app
from talentop.commands._edge import EXIT_INVALID_INPUT

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "ipd"


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def message(result) -> str:
    return " ".join(result.output.split())


def test_the_example_is_what_the_script_makes(tmp_path):
    """examples/ipd is reproducible from its seed (the PNG's bytes depend on the fonts and
    matplotlib version, its numbers do not)."""
    write_example(tmp_path)
    for name in ("at_risk.csv", "true_ipd.csv"):
        assert pd.read_csv(tmp_path / name).equals(pd.read_csv(EXAMPLE / name))


def test_readme_tour(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    digitised = run("digitise", EXAMPLE / "km_figure.png", "--x-range", "0,36", "--y-range",
                    "0,1", "--out", "clicks", "--json")  # fmt: skip
    assert digitised.exit_code == 0, digitised.output
    summary = json.loads(digitised.output)
    assert sorted(c["name"] for c in summary["curves"]) == ["blue", "red"]
    assert Path("clicks/overlay.png").is_file() and Path("clicks/summary.json").is_file()
    human = run("digitise", EXAMPLE / "km_figure.png", "--x-range", "0,36", "--y-range", "0,1")
    assert human.exit_code == 0 and "px per x unit" in message(human)
    for name, arm in (("blue", "Resection"), ("red", "Systemic")):
        rebuilt = run("reconstruct", f"clicks/{name}.csv", "--at-risk", EXAMPLE / "at_risk.csv",
                      "--arm", arm, "--out", f"ipd_{arm}.csv", "--json")  # fmt: skip
        assert rebuilt.exit_code == 0, rebuilt.output
        report = json.loads(rebuilt.output)
        assert report["survival_vs_clicks"]["rmse"] < 0.01
        assert all(row["difference"] == 0 for row in report["at_risk"])
        assert Path(f"ipd_{arm}_accuracy.png").is_file()
        rows = pd.read_csv(f"ipd_{arm}.csv")
        assert list(rows.columns) == ["time", "event", "arm"] and len(rows) == 200
    human = run("reconstruct", "clicks/blue.csv", "--at-risk", EXAMPLE / "at_risk.csv", "--arm",
                "Resection", "--out", "again.csv")  # fmt: skip
    assert human.exit_code == 0 and "Numbers at risk" in human.output
    analysed = run("reanalyse", "ipd_Resection.csv", "ipd_Systemic.csv", "--tau", "24,30",
                   "--intervals", "0,6,12", "--json")  # fmt: skip
    assert analysed.exit_code == 0, analysed.output
    payload = json.loads(analysed.output)
    truth = pd.read_csv(EXAMPLE / "true_ipd.csv")
    from talentop.stats import cox

    true_hr = float(cox(truth.assign(a=(truth["arm"] == "Resection").astype(int)),
                        duration="time", event="event", covariates=["a"]).hr["a"])  # fmt: skip
    assert payload["cox"]["hr"] == pytest.approx(true_hr, abs=0.05)
    assert [p["interval"] for p in payload["piecewise_hr"]] == ["0-6", "6-12", ">=12"]
    assert Path("reanalysis/index.html").is_file()
    human = run("reanalyse", "ipd_Resection.csv", "ipd_Systemic.csv", "--out", "r2")
    assert human.exit_code == 0 and "HR Resection vs Systemic" in message(human)
    calibrated = run("calibrate", "--from-ipd", "ipd_Resection.csv", "--from-ipd",
                     "ipd_Systemic.csv", "--pieces", "0,6,12", "--json")  # fmt: skip
    assert calibrated.exit_code == 0, calibrated.output
    fit = json.loads(calibrated.output)
    assert [arm["name"] for arm in fit["arms"]] == ["Resection", "Systemic"]
    assert [start for start, _ in fit["arms"][0]["hazards"]] == [0.0, 6.0, 12.0]
    human = run("calibrate", "--from-ipd", "ipd_Resection.csv", "--from-ipd", "ipd_Systemic.csv")
    assert human.exit_code == 0 and "model vs Kaplan-Meier" in message(human)


def test_digitise_errors(tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), "white").save(blank)
    result = run("digitise", blank, "--x-range", "0,36", "--y-range", "0,1", "--out", tmp_path)
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "expected a KM figure with its axes drawn" in message(result)
    result = run("digitise", EXAMPLE / "km_figure.png", "--x-range", "0,36", "--y-range", "0,1",
                 "--curves", "1", "--out", tmp_path)  # fmt: skip
    assert result.exit_code == EXIT_INVALID_INPUT and "found 2 (red, blue)" in message(result)
    result = run("digitise", EXAMPLE / "km_figure.png", "--x-range", "36,0", "--y-range", "0,1")
    assert result.exit_code == EXIT_INVALID_INPUT and "--x-range='36,0'" in message(result)
    result = run("digitise", EXAMPLE / "km_figure.png", "--calibrate", "12;40")
    assert result.exit_code == EXIT_INVALID_INPUT and "'px,py=x,y'" in message(result)


def test_reconstruct_errors(tmp_path):
    up = tmp_path / "up.csv"
    up.write_text("time,survival\n0,0\n10,0.2\n20,0.4\n30,0.6\n")
    at_risk = tmp_path / "at_risk.csv"
    at_risk.write_text("time,n\n0,100\n10,80\n20,90\n")
    result = run("reconstruct", up, "--at-risk", at_risk)
    assert result.exit_code == EXIT_INVALID_INPUT and "never rises" in message(result)
    good = tmp_path / "good.csv"
    good.write_text("time,survival\n0,1\n10,0.8\n20,0.6\n30,0.5\n")
    result = run("reconstruct", good, "--at-risk", at_risk)
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "expected numbers at risk that never increase" in message(result)
    beyond = tmp_path / "beyond.csv"
    beyond.write_text("time,n\n0,100\n20,60\n40,10\n")
    result = run("reconstruct", good, "--at-risk", beyond)
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "at-risk time 40 (n=10) is after the curve's last click at 30" in message(result)
    result = run("reconstruct", good, "--at-risk", tmp_path / "none.csv")
    assert result.exit_code == EXIT_INVALID_INPUT and "expected an existing CSV file" in message(
        result
    )


def test_reanalyse_errors(tmp_path):
    rows = tmp_path / "a.csv"
    rows.write_text("when,what\n1,1\n2,0\n")
    result = run("reanalyse", rows, rows)
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "expected a 'time' and an 'event' (1/0) column" in message(result)
    result = run("reanalyse", rows, tmp_path / "b.csv")
    assert result.exit_code == EXIT_INVALID_INPUT and "2 problem(s)" in message(result)
    assert "expected an existing CSV" in message(result)
    result = run("reanalyse", EXAMPLE / "true_ipd.csv", EXAMPLE / "true_ipd.csv", "--names", "x")
    assert result.exit_code == EXIT_INVALID_INPUT and "--names='x'" in message(result)
