"""`talentop recist`: tables for humans, JSON for scripts, exit 2 with every problem.

The JSON is the contract of design.md ("RECIST"); the clinical content is tested in
tests/recist/ against Eisenhauer et al., Eur J Cancer 2009;45:228-247.
"""

import json
from pathlib import Path

from typer.testing import CliRunner

from talentop.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "recist"
CONTRACT_KEYS = {"baseline_sum_mm", "timepoints", "best_overall_response", "progression_date",
                 "depth_of_response_pct"}  # fmt: skip
TIMEPOINT_KEYS = {"date", "sum_mm", "change_from_baseline_pct", "change_from_nadir_pct",
                  "target_response", "non_target_response", "overall_response"}  # fmt: skip

runner = CliRunner()


def test_json_of_one_file_is_the_contract_object():
    result = runner.invoke(app, ["recist", str(EXAMPLES / "pr.json"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert CONTRACT_KEYS <= set(payload)
    assert TIMEPOINT_KEYS <= set(payload["timepoints"][0])
    assert payload["timepoints"][0]["change_from_baseline_pct"] == -37.5
    assert payload["best_overall_response"] == "PR"
    assert payload["engine_version"].startswith("talentop-recist")


def test_every_example_evaluates_and_says_why():
    files = sorted(str(p) for p in EXAMPLES.glob("*.json"))
    assert len(files) >= 8
    result = runner.invoke(app, ["recist", *files])
    assert result.exit_code == 0, result.output
    for name in ("pr.json", "sd_growing.json", "mrecist_pvtt.json", "pd_backdated_equivocal.json"):
        assert name in result.output
    assert "why" in result.output
    assert "(<= -30%): PR" in result.output
    assert "PD backdated" in result.output


def test_json_of_several_files_is_a_list_with_file_names():
    files = [str(EXAMPLES / "pr.json"), str(EXAMPLES / "sd_growing.json")]
    result = runner.invoke(app, ["recist", *files, "--json"])
    payload = json.loads(result.stdout)
    assert [Path(p["file"]).name for p in payload] == ["pr.json", "sd_growing.json"]
    assert payload[1]["sd_subcategory"] == "SD_growing"


def test_both_criteria_side_by_side():
    result = runner.invoke(app, ["recist", str(EXAMPLES / "mrecist_pvtt.json"), "--both", "--json"])
    payload = json.loads(result.stdout)
    assert set(payload) == {"recist1.1", "mrecist"}
    assert payload["recist1.1"]["baseline_sum_mm"] == 113.0
    assert payload["mrecist"]["baseline_sum_mm"] == 94.0


def test_invalid_case_exits_2_listing_every_problem(tmp_path):
    bad = {
        "baseline": {
            "date": "2025-01-06",
            "target": [{"id": "T1", "organ": "liver", "diameter_mm": 7}],
            "non_target": [{"id": "T1", "organ": "bone"}],
        },
        "followups": [
            {"date": "2025-03-03", "target": {"T7": 5}, "non_target": {}, "new_lesions": "none"}
        ],  # fmt: skip
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = runner.invoke(app, ["recist", str(path)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # the error console wraps long lines
    assert "Traceback" not in output
    assert "5 problem(s)" in output
    for fragment in ("diameter_mm=7", "id='T1': used 2 times", "target.T7: unknown",
                     "target.T1: missing", "non_target.T1: missing"):  # fmt: skip
        assert fragment in output


def test_missing_file_and_bad_json_are_reported_together(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = runner.invoke(app, ["recist", str(tmp_path / "nope.json"), str(broken)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # the error console wraps long lines
    assert "nope.json: no such file; expected an existing JSON file" in output
    assert "broken.json: not valid JSON" in output


def test_help_explains_the_command():
    result = runner.invoke(app, ["recist", "--help"])
    assert result.exit_code == 0
    assert "RECIST 1.1" in result.output and "--both" in result.output


def test_array_directory_and_non_utf8_exit_2_without_traceback(tmp_path):
    array = tmp_path / "array.json"
    array.write_text('[{"criteria": "recist1.1"}]')
    folder = tmp_path / "cases.json"
    folder.mkdir()
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"criteria": "r\xe9cist"}')
    result = runner.invoke(app, ["recist", str(array), str(folder), str(latin)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "Traceback" not in output and "3 problem(s)" in output
    assert "array.json: expected one case as a JSON object, got list" in output
    assert "cases.json: is a directory; expected a JSON file" in output
    assert "latin.json: not valid JSON" in output


def test_contract_null_semantics_in_json(tmp_path):
    """design.md: target_response null without targets, non_target_response null without
    non-targets, progression_date null without PD; percentages are numbers."""
    no_targets = {
        "baseline": {"date": "2025-01-06", "target": [], "non_target": [{"id": "N1", "organ": "bone"}]},
        "followups": [{"date": "2025-03-03", "target": {}, "non_target": {"N1": "present"},
                       "new_lesions": "none"}],
    }  # fmt: skip
    no_non_targets = {
        "baseline": {"date": "2025-01-06", "non_target": [],
                     "target": [{"id": "T1", "organ": "liver", "diameter_mm": 40.0}]},
        "followups": [{"date": "2025-03-03", "target": {"T1": 30.0}, "non_target": {},
                       "new_lesions": "none"}],
    }  # fmt: skip
    paths = []
    for name, body in (("nt.json", no_targets), ("t.json", no_non_targets)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(body))
    result = runner.invoke(app, ["recist", *map(str, paths), "--json"])
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    point = first["timepoints"][0]
    assert first["baseline_sum_mm"] is None and point["sum_mm"] is None
    assert point["target_response"] is None and point["non_target_response"] == "non-CR/non-PD"
    assert point["change_from_baseline_pct"] is None and first["depth_of_response_pct"] is None
    assert first["progression_date"] is None
    point = second["timepoints"][0]
    assert point["non_target_response"] is None and point["target_response"] == "SD"
    # (30 - 40) / 40 = -25 %: a number, not a string
    assert point["change_from_baseline_pct"] == -25.0 and second["depth_of_response_pct"] == -25.0
