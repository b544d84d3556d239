"""`talentop screen` and `talentop protocol show` through the real CLI (typer CliRunner)."""

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from talentop.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "screening.csv"


def test_example_file_covers_every_criterion_and_is_mostly_eligible():
    result = runner.invoke(app, ["screen", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    counts = report["counts"]
    assert counts["screened"] == 30 and counts["bad_rows"] == 0
    assert counts["eligible"] > counts["ineligible"] > counts["incomplete"] > 0
    from talentop.protocol import load_protocol

    every = {c.id for c in load_protocol("talentop").eligibility}
    assert set(report["failures_by_criterion"]) == every


def test_human_output_has_count_line_and_reasons():
    result = runner.invoke(app, ["screen", str(EXAMPLE)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "screened 30 / eligible 16 / ineligible 11 / incomplete 3" in result.output
    assert "platelets_10e9_l = 60 (needs >= 75)" in result.output


def test_bad_rows_are_named_and_the_others_still_screened(tmp_path):
    rows = list(csv.DictReader(EXAMPLE.open()))[:4]
    rows[1]["platelets_10e9_l"] = "1O5"  # letter O: unparseable
    rows[2]["ascites"] = "lots"
    rows[2]["bilirubin_umol_l"] = ""
    rows[2]["bilirubin_mg_dl"] = "25"  # a umol/L value in the mg/dL column
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["screen", str(path), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["counts"]["screened"] == 2
    assert [p["patient_id"] for p in report["patients"]] == ["S01", "S04"]
    bad = {b["row"]: b for b in report["bad_rows"]}
    assert bad[2]["problems"] == ["platelets_10e9_l='1O5': expected a number"]
    assert "ascites='lots': expected one of none, mild, moderate_severe" in bad[3]["problems"]
    assert any(
        p.startswith("bilirubin_mg_dl=25.0: implausible") and "looks like a umol/L value" in p
        for p in bad[3]["problems"]
    )
    human = runner.invoke(app, ["screen", str(path)], env={"COLUMNS": "200"})
    assert human.exit_code == 2
    assert "row 2 (S02): platelets_10e9_l='1O5': expected a number" in human.output


def test_json_input_and_other_protocol(tmp_path):
    patients = list(csv.DictReader(EXAMPLE.open()))
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"patients": patients}))
    result = runner.invoke(app, ["screen", str(path), "--protocol", "talentace", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["protocol"] == "talentace"
    # All but one example patient has vascular invasion: TALENTACE excludes them.
    assert report["failures_by_criterion"]["no_vascular_invasion"] == 29


def test_missing_file_and_bad_protocol_are_clean_errors(tmp_path):
    result = runner.invoke(app, ["screen", str(tmp_path / "none.csv")])
    assert result.exit_code == 2
    assert "expected an existing .csv or .json file" in result.output
    bad = runner.invoke(app, ["screen", str(EXAMPLE), "--protocol", "nosuch"])
    assert bad.exit_code == 2
    assert "protocol='nosuch'" in bad.output


def test_protocol_show_and_list():
    shown = runner.invoke(app, ["protocol", "show", "talentop", "--json"])
    assert shown.exit_code == 0
    data = json.loads(shown.stdout)
    assert data["registry_id"] == "NCT04649489"
    assert len(data["induction"]["cycles"]) == 4
    human = runner.invoke(app, ["protocol", "show", "talentace"], env={"COLUMNS": "200"})
    assert human.exit_code == 0 and "NCT04712643" in human.output
    listed = runner.invoke(app, ["protocol", "list", "--json"])
    assert {p["id"] for p in json.loads(listed.stdout)} >= {"talentop", "talentace"}
