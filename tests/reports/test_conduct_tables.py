"""SAE and deviation tables of the report: counts by arm from the listing, listing rows."""

from talentop.reports.conduct import deviation_table, sae_listing_table, sae_summary_table


def _sae(pid, arm, *, on_time=True, susar=False, criteria=("hospitalisation",), late_fu=0):
    return {
        "patient_id": pid, "pseudo_id": f"P{pid}", "arm": arm, "term": "Hypertension",
        "grade": 3, "onset_date": "2025-03-01", "criteria": list(criteria),
        "hours_to_report": 10.0 if on_time else 30.0, "on_time": on_time,
        "late_by_hours": 0.0 if on_time else 6.0, "susar": susar, "outcome": "recovered",
        "follow_ups_late": late_fu,
        "causality": [{"product": "bevacizumab", "related": True, "expected": not susar}],
    }  # fmt: skip


def test_sae_summary_counts_by_arm():
    listing = [_sae(1, "A"), _sae(1, "A", on_time=False, late_fu=1), _sae(2, "B", susar=True,
               criteria=("life_threatening",))]  # fmt: skip
    table = sae_summary_table(listing, {"A": 10, "B": 8})
    rows = {r[""]: (r["A"], r["B"]) for r in table.frame.to_dict("records")}
    assert rows["SAEs (events)"] == ("2", "1")
    assert rows["Patients with >= 1 SAE, n (%)"] == ("1 (10.0%)", "1 (12.5%)")
    assert rows["Life-threatening or fatal SAEs"] == ("0", "1")
    assert rows["SUSARs"] == ("0", "1")
    assert rows["Initial reports within their clock, n (%)"] == ("1 (50.0%)", "1 (100.0%)")
    assert rows["Follow-up reports late"] == ("1", "0")
    listing_rows = sae_listing_table(listing).frame.to_dict("records")
    assert listing_rows[1]["On time"] == "no (+6 h)" and listing_rows[2]["SUSAR"] == "yes"
    assert listing_rows[2]["Expected for"] == "-" and listing_rows[0]["Suspected"] == "bevacizumab"


def test_deviation_table():
    summary = {"arms": ["A", "B", "-"], "total": 3, "major": 1, "categories": [
        {"category": "visit_window", "classification": "minor", "A": 1, "B": 1, "-": 0, "total": 2},
        {"category": "sae_reporting", "classification": "major", "A": 0, "B": 1, "-": 0, "total": 1},
    ]}  # fmt: skip
    table = deviation_table(summary, {"-": "not randomised"})
    assert list(table.frame.columns) == ["Category", "Class", "A", "B", "not randomised", "Total"]
    assert table.frame.iloc[1].tolist() == ["sae reporting", "major", 0, 1, 0, 1]
    assert "3 deviations, 1 major" in table.note
