"""Reading curve clicks and numbers-at-risk tables, and refusing what cannot be a KM curve."""

from __future__ import annotations

import numpy as np
import pytest

from talentop.errors import InvalidInput
from talentop.ipd.clicks import (
    AtRisk,
    Clicks,
    check_at_risk,
    clean_clicks,
    read_at_risk,
    read_clicks,
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_webplotdigitizer_single_dataset_without_header(tmp_path):
    """WebPlotDigitizer's 'View data' download: x,y rows, no header, in click order."""
    path = write(tmp_path, "wpd.csv", "0.02, 1.0\n5.1, 0.81\n2.4, 0.93\n")
    clicks = read_clicks(path)
    assert clicks.time.tolist() == [0.02, 5.1, 2.4]
    cleaned = clean_clicks(clicks)
    assert cleaned.time.tolist() == [0.0, 0.02, 2.4, 5.1]  # sorted, starting at (0, 1)
    assert cleaned.survival.tolist() == [1.0, 1.0, 0.93, 0.81]


def test_webplotdigitizer_export_all_needs_the_dataset(tmp_path):
    """'Export all data': a row of dataset names, a row X,Y,X,Y, then ragged rows (the
    format of WebPlotDigitizer's dataExport.generateCSV)."""
    text = "Arm A,,Arm B,\nX,Y,X,Y\n0,100,0,100\n6,80,6,70\n12,60,,\n"
    path = write(tmp_path, "wpd_all.csv", text)
    with pytest.raises(
        InvalidInput, match=r"--curve=None: expected the dataset to read.*'Arm A', 'Arm B'"
    ):
        read_clicks(path)
    arm_b = read_clicks(path, "Arm B")
    assert arm_b.time.tolist() == [0.0, 6.0]
    assert clean_clicks(read_clicks(path, "Arm A")).survival.tolist() == [1.0, 0.8, 0.6]
    with pytest.raises(InvalidInput, match="--curve='Arm C'"):
        read_clicks(path, "Arm C")


def test_header_semicolons_decimal_commas_and_percent(tmp_path):
    path = write(tmp_path, "eu.csv", "time;survival\n0;100\n1,5;92,5\n3,0;80\n")
    cleaned = clean_clicks(read_clicks(path))
    assert cleaned.time.tolist() == [0.0, 1.5, 3.0]
    assert cleaned.survival.tolist() == pytest.approx([1.0, 0.925, 0.8])
    assert any("percent" in note for note in cleaned.notes)


def test_digitise_output_reads_back(tmp_path):
    path = write(tmp_path, "blue.csv", "time,survival\n0,1\n2.5,1\n2.5,0.95\n4,0.95\n")
    clicks = read_clicks(path)
    assert clicks.survival.tolist() == [1, 1, 0.95, 0.95]


def test_bad_cells_and_too_few_clicks(tmp_path):
    with pytest.raises(InvalidInput, match=r"row 2: \['abc', '0.9'\]: expected two numbers"):
        read_clicks(write(tmp_path, "bad.csv", "time,survival\n0,1\nabc,0.9\n"))
    with pytest.raises(InvalidInput, match="1 click.*expected at least 2 clicks"):
        read_clicks(write(tmp_path, "one.csv", "0,1\n"))
    with pytest.raises(InvalidInput, match="expected an existing CSV file"):
        read_clicks(tmp_path / "missing.csv")


def test_clicks_that_go_up_are_refused():
    """A curve that rises and stays up is not a survival curve (a cumulative-incidence curve,
    or two arms in one file): a clear error naming where it rises."""
    rising = Clicks(np.array([0, 6, 12, 18, 24.0]), np.array([0.0, 0.1, 0.2, 0.3, 0.4]), "cuminc")
    with pytest.raises(InvalidInput, match=r"survival 0\.000 at t=0 rising to 0\.400 at t=24"):
        clean_clicks(rising)
    mixed = Clicks(
        np.array([0, 1, 2, 3, 10, 11, 12.0]), np.array([1, 0.9, 0.5, 0.45, 0.85, 0.8, 0.4])
    )
    with pytest.raises(InvalidInput, match="never rises"):
        clean_clicks(mixed)


def test_noise_and_corners_clicked_out_of_order_are_repaired():
    """Small rises are noise; the two corners of a drop clicked a hair apart in the wrong
    order rise for an instant (Guyot's head-and-neck clicks: 85.4 % at 4.14 and 91.3 % at
    4.15 months). Both are repaired by isotonic regression, without an error."""
    clicks = Clicks(np.array([1, 2, 3, 4.14, 4.15, 6.0]),
                    np.array([0.99, 0.96, 0.97, 0.854, 0.913, 0.84]))  # fmt: skip
    cleaned = clean_clicks(clicks)
    assert np.all(np.diff(cleaned.survival) <= 0)
    assert cleaned.repairs == 4
    assert cleaned.survival[2:4] == pytest.approx([0.965, 0.965])  # pooled noise, not lowered


def test_survival_outside_zero_one_and_negative_times_are_refused():
    with pytest.raises(InvalidInput, match="expected clicks at times >= 0"):
        clean_clicks(Clicks(np.array([-5.0, 1, 2]), np.array([1, 0.9, 0.8])))
    with pytest.raises(InvalidInput, match=r"expected proportions in \[0, 1\]"):
        clean_clicks(Clicks(np.array([0.0, 1, 2]), np.array([1, 1.2, 0.8])))


def test_at_risk_wide_long_and_single_column(tmp_path):
    wide = write(tmp_path, "wide.csv", "time,Resection,Systemic\n0,200,200\n6,150,130\n")
    table = read_at_risk(wide, "Systemic")
    assert table.n_risk.tolist() == [200, 130] and table.arm == "Systemic"
    with pytest.raises(InvalidInput, match=r"--arm=None: expected the column to use"):
        read_at_risk(wide)
    with pytest.raises(InvalidInput, match="--arm='Placebo'"):
        read_at_risk(wide, "Placebo")
    long = write(tmp_path, "long.csv", "arm,time,n_risk\nA,0,10\nA,5,8\nB,0,12\n")
    assert read_at_risk(long, "A").n_risk.tolist() == [10, 8]
    single = write(tmp_path, "one.csv", "time\tnrisk\n0\t50\n12\t20\n")
    assert read_at_risk(single).time.tolist() == [0.0, 12.0]


def test_numbers_at_risk_that_increase_are_refused():
    table = AtRisk(np.array([0.0, 6, 12]), np.array([100, 80, 85]), "A")
    with pytest.raises(
        InvalidInput,
        match=r"n_risk 80 at t=6 then 85 at t=12: expected numbers at risk that never increase",
    ):
        check_at_risk(table, 20.0)


def test_at_risk_times_outside_the_curve_are_refused_unless_empty():
    table = AtRisk(np.array([0.0, 12, 24, 36]), np.array([100, 60, 20, 5]), "A")
    with pytest.raises(
        InvalidInput, match=r"at-risk time 36 \(n=5\) is after the curve's last click at 30"
    ):
        check_at_risk(table, 30.0)
    # a 0 at risk past the end is what journals print: left out, with a note
    empty = AtRisk(np.array([0.0, 12, 24, 36]), np.array([100, 60, 20, 0]), "A")
    checked, notes = check_at_risk(empty, 30.0)
    assert checked.time.tolist() == [0.0, 12.0, 24.0] and "left out" in notes[0]
    # a curve cut at the axis's end a hair before the last at-risk time is extended to it
    checked, _ = check_at_risk(table, 35.5)
    assert checked.time.tolist() == [0.0, 12.0, 24.0, 36.0]


def test_at_risk_must_start_at_zero_and_increase_in_time():
    with pytest.raises(InvalidInput) as error:
        check_at_risk(AtRisk(np.array([3.0, 2.0]), np.array([10, 5.5])), 10.0)
    problems = " ".join(error.value.problems)
    assert "expected the first number at risk at time 0" in problems
    assert "expected strictly increasing times" in problems
    assert "expected whole numbers >= 0" in problems
