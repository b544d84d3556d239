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


def _write(tmp_path, rows, fieldnames=None):
    path = tmp_path / "patients.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _flat(text):
    return " ".join(text.split())


def test_unknown_column_is_named_with_a_suggestion_and_rows_still_screened(tmp_path):
    rows = [
        {("albumen_g_l" if k == "albumin_g_l" else k): v for k, v in row.items()}
        for row in list(csv.DictReader(EXAMPLE.open()))[:3]
    ]
    result = runner.invoke(app, ["screen", str(_write(tmp_path, rows)), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["unknown_fields"] == [
        "column 'albumen_g_l': unknown field, ignored; did you mean 'albumin_g_l'?"
    ]
    assert report["counts"]["screened"] == 3 and report["counts"]["bad_rows"] == 0
    human = runner.invoke(app, ["screen", str(tmp_path / "patients.csv")])
    assert human.exit_code == 2 and "did you mean 'albumin_g_l'?" in _flat(human.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_lab_in_both_units_is_a_bad_row_naming_both_values(tmp_path):
    """design.md: exactly one unit of each lab (QA: albumin 40.8 g/L and 2.0 g/dL)."""
    rows = list(csv.DictReader(EXAMPLE.open()))[:2]
    rows[0]["albumin_g_dl"] = "2.0"
    result = runner.invoke(app, ["screen", str(_write(tmp_path, rows)), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [p["patient_id"] for p in report["patients"]] == ["S02"]
    (bad,) = report["bad_rows"]
    assert bad["row"] == 1 and bad["problems"] == [
        "albumin: given in both units, albumin_g_l=40.8 and albumin_g_dl=2.0; "
        "expected exactly one unit (leave the other empty)"
    ]


def test_duplicate_and_empty_patient_ids_are_bad_rows(tmp_path):
    rows = list(csv.DictReader(EXAMPLE.open()))[:4]
    rows[2]["patient_id"] = rows[0]["patient_id"]
    rows[3]["patient_id"] = " "
    result = runner.invoke(app, ["screen", str(_write(tmp_path, rows)), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [p["patient_id"] for p in report["patients"]] == ["S01", "S02"]
    bad = {b["row"]: b["problems"] for b in report["bad_rows"]}
    assert bad[3] == ["patient_id='S01': duplicate of row 1; expected a unique id"]
    assert bad[4] == ["patient_id=' ': empty; expected a screening id unique in the file"]


def test_field_names_are_never_cut_at_80_columns():
    """QA: "tcm_stopped_days_before_…" hid the field name the user must supply."""
    screened = runner.invoke(app, ["screen", str(EXAMPLE)], env={"COLUMNS": "80"})
    shown = runner.invoke(app, ["protocol", "show", "talentop"], env={"COLUMNS": "80"})
    for result in (screened, shown):
        assert result.exit_code == 0 and "…" not in result.output
        assert "tcm_stopped_days_before_induction" in result.output
        assert "total_functional_liver_volume_ml" in result.output
        assert "labs_days_before_induction" in result.output
        assert max(len(line) for line in result.output.splitlines()) <= 80


def test_protocol_show_names_all_three_ttf_lists():
    """The TTF definition is data (talentop.yaml `ttf`): failures, censoring reasons and the
    reasons that do neither (completing maintenance: follow-up for failure continues)."""
    from talentop.protocol import load_protocol

    ttf = load_protocol("talentop").ttf
    shown = runner.invoke(app, ["protocol", "show", "talentop"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert f"censored: {', '.join(ttf.censor_reasons)}" in text
    assert f"neither (follow-up continues): {', '.join(ttf.continue_reasons)}" in text
    assert ttf.continue_reasons == ["maintenance_completed"]


def test_protocol_show_prints_the_sap_with_sources_and_the_scenarios():
    """Issue 15: the SAP is data with sources; scenarios are named for `simulate --scenario`."""
    result = runner.invoke(app, ["protocol", "show", "talentop"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "assumption [source]" in result.output
    assert "target_patients = 198 [NCT04649489 registry" in result.output
    assert "Primary endpoint TTF; arm-B switch in TTF: ignore" in result.output
    assert "os_primary: OS as the primary endpoint" in result.output
