"""Files as people really have them (issue 18): Excel exports, other delimiters, huge fields,
garbage, empty files, deep JSON, hand-typed headers. A clear message or the right reading,
never a traceback; row numbers counted the same way by every command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.commands import _files

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "screening.csv"


def _rows(n: int = 3) -> list[dict[str, str]]:
    return list(csv.DictReader(EXAMPLE.open()))[:n]


def _csv_text(rows, delimiter=",", header=None) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _clean(result) -> str:
    """The output, after checking there was no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return _flat(result.output)


def _screen_json(path: Path) -> dict:
    result = runner.invoke(app, ["screen", str(path), "--json"])
    _clean(result)
    return json.loads(result.stdout)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8-sig", "utf-16"])
def test_excel_exports_in_any_common_encoding_are_read(tmp_path, encoding):
    rows = _rows()
    rows[0]["site"] = "Hôpital Beaujon"  # a character outside ASCII
    path = tmp_path / "export.csv"
    path.write_bytes(_csv_text(rows).encode(encoding))
    report = _screen_json(path)
    assert report["counts"]["screened"] == 3 and report["unknown_fields"] == []
    assert report["patients"][0]["patient_id"] == "S01"  # BOM not glued to the header
    if encoding in ("cp1252", "latin-1"):
        assert "read as Windows-1252" in report["notes"][0]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_files_with_decimal_commas(tmp_path, delimiter):
    rows = _rows()
    plain = tmp_path / "plain.csv"
    plain.write_text(_csv_text(rows))
    if delimiter == ";":  # continental Excel: decimal comma in every decimal value
        rows = [{k: v.replace(".", ",") for k, v in row.items()} for row in rows]
        assert rows[0]["albumin_g_l"] == "40,8"
    path = tmp_path / "export.csv"
    path.write_text(_csv_text(rows, delimiter))
    report, expected = _screen_json(path), _screen_json(plain)
    assert report["counts"]["bad_rows"] == 0 and report["unknown_fields"] == []
    assert report["patients"] == expected["patients"]  # same values read, same verdicts


def test_a_field_larger_than_the_csv_limit_is_named(tmp_path):
    rows = _rows(2)
    rows[1]["site"] = "x" * (_files.MAX_FIELD_CHARS + 10)
    path = tmp_path / "huge.csv"
    path.write_text(_csv_text(rows))
    for args in (["screen", str(path)], ["km", str(path), "--time", "ecog", "--event", "ecog"]):
        result = runner.invoke(app, args)
        message = _clean(result)
        assert result.exit_code == 2
        assert "row 2: a field longer than 1,048,576 characters" in message


def test_an_open_quote_is_named_not_swallowed(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('patient_id,site\nS01,"ZS01\nS02,ZS02\n')
    result = runner.invoke(app, ["screen", str(path)])
    assert result.exit_code == 2 and "not readable as CSV" in _clean(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (bytes(range(256)) * 40, "binary data, not text"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "binary data, not text"),
    ],
    ids=["empty", "blank-lines", "garbage", "xlsx"],
)
def test_empty_and_binary_files_are_refused_by_every_reader(tmp_path, content, message):
    """An empty file used to print "screened 0" with exit code 0."""
    path = tmp_path / "patients.csv"
    path.write_bytes(content)
    for args in (
        ["screen", str(path)],
        ["km", str(path), "--time", "t", "--event", "e"],
        ["cox", str(path), "--time", "t", "--event", "e", "-x", "x"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in _clean(result), args


def test_a_header_without_rows_is_not_a_screening_of_nobody(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(_rows(1)[0]) + "\n")
    result = runner.invoke(app, ["screen", str(path)])
    assert result.exit_code == 2 and "a header row but no patients" in _clean(result)
    result = runner.invoke(app, ["km", str(path), "--time", "ecog", "--event", "ecog"])
    assert result.exit_code == 2 and "no data rows" in _clean(result)


@pytest.mark.parametrize("command", ["screen", "recist"])
def test_json_nested_a_hundred_thousand_deep_is_a_named_error(tmp_path, command):
    """Was `RecursionError: maximum recursion depth exceeded`."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code == 2
    assert "JSON nested 100,000 levels deep; expected at most 64" in _clean(result)


def test_headers_match_ignoring_case_spaces_and_punctuation(tmp_path):
    rows = _rows()
    renamed = {"albumin_g_l": "Albumin g/L", "patient_id": " Patient ID ", "inr": "INR"}
    header = [renamed.get(k, k) for k in rows[0]]
    moved = [{renamed.get(k, k): v for k, v in row.items()} for row in rows]
    path = tmp_path / "typed.csv"
    path.write_text(_csv_text(moved, header=header))
    report = _screen_json(path)
    assert report["unknown_fields"] == [] and report["counts"]["bad_rows"] == 0
    assert [p["patient_id"] for p in report["patients"]] == ["S01", "S02", "S03"]
    twice = tmp_path / "twice.csv"
    twice.write_text("patient_id,Albumin g/L,albumin_g_l\nS01,40,41\n")
    result = runner.invoke(app, ["screen", str(twice)])
    assert result.exit_code == 2
    assert "columns 'Albumin g/L' and 'albumin_g_l' are both the field 'albumin_g_l'" in _clean(
        result
    )


@pytest.mark.parametrize(
    ("column", "hint"),
    [
        ("albumen_g_l", "did you mean 'albumin_g_l'?"),
        ("bilirubin", "did you mean one of 'bilirubin_umol_l', 'bilirubin_mg_dl'? (give the unit)"),
        ("albumin", "did you mean one of 'albumin_g_l', 'albumin_g_dl'? (give the unit)"),
        ("bilirubin_umol", "did you mean 'bilirubin_umol_l'?"),
        ("ast", "did you mean 'ast_u_l'?"),
        ("platelets_per_ul", "did you mean 'platelets_10e9_l'? (a count per microlitre divided"),
        ("age", "did you mean 'age_years'?"),  # issue 13 added age_years (adult criterion)
        ("weight", "see `talentop fields`"),
    ],
)
def test_a_hint_never_points_at_the_wrong_field(tmp_path, column, hint):
    """A unit-less name lists every unit (picking one could be the wrong unit); an upper
    limit of normal is never offered for a value; no hint rather than a bad one."""
    rows = [{**row, column: "1"} for row in _rows(1)]
    path = tmp_path / "p.csv"
    path.write_text(_csv_text(rows))
    report = _screen_json(path)
    assert report["unknown_fields"] == [f"column {column!r}: unknown field, ignored; {hint}"] or (
        report["unknown_fields"][0].startswith(f"column {column!r}: unknown field, ignored; {hint}")
    )


@pytest.mark.parametrize(
    ("field", "value"), [("platelets_10e9_l", "150000"), ("anc_10e9_l", "3500")]
)
def test_counts_per_microlitre_get_a_unit_hint(tmp_path, field, value):
    rows = _rows(1)
    rows[0][field] = value
    path = tmp_path / "p.csv"
    path.write_text(_csv_text(rows))
    report = _screen_json(path)
    (bad,) = report["bad_rows"]
    assert any(
        p.startswith(f"{field}={float(value)!r}: implausible")
        and "count per microlitre (/uL, /mm3): divide by 1000" in p
        for p in bad["problems"]
    )


def test_row_numbers_are_counted_the_same_way_by_every_command(tmp_path):
    """Row 1 is the first data row after the header, in screen, km, logrank and cox."""
    rows = _rows(3)
    rows[1]["ecog"] = "two"  # the second data row
    path = tmp_path / "p.csv"
    path.write_text(_csv_text(rows))
    screened = _screen_json(path)
    assert [b["row"] for b in screened["bad_rows"]] == [2]
    for args in (
        ["km", str(path), "--time", "ecog", "--event", "hcc_confirmed"],
        ["logrank", str(path), "--time", "ecog", "--event", "hcc_confirmed", "--group", "site"],
        ["cox", str(path), "--time", "ecog", "--event", "hcc_confirmed", "-x", "inr"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert "--time 'ecog': not a number at row 2='two'" in _clean(result), args


def test_a_shifted_row_is_bad_but_empty_trailing_cells_are_not(tmp_path):
    rows = _rows(3)
    text = _csv_text(rows).splitlines()
    text[1] += ",,"  # trailing empty cells (a spreadsheet's padding)
    text[2] += ",Zhongshan, Shanghai"  # an unquoted comma: two cells too many
    path = tmp_path / "p.csv"
    path.write_text("\n".join(text) + "\n")
    report = _screen_json(path)
    assert [b["row"] for b in report["bad_rows"]] == [2]
    assert report["bad_rows"][0]["problems"] == [
        "2 more cell(s) than header columns; expected one per column"
    ]
    assert report["counts"]["screened"] == 2
