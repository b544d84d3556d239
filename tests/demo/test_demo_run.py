"""The demo on a small cohort: the report's numbers are the database's and the statistics'."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.demo.cohort import generate_cohort
from talentop.stats import kaplan_meier
from talentop.store import Store, queries

pytestmark = [pytest.mark.slow, pytest.mark.db]


def _db_counts(url):
    store = Store(url)
    with store.unit_of_work() as session:
        patients = queries.all_patients(session)
        allocations = queries.randomisations(session)
        return {
            "registered": len(patients),
            "screen_failed": sum(p.state == "screen_failed" for p in patients),
            "randomised_a": sum(r.arm == "A" for r in allocations),
            "randomised_b": sum(r.arm == "B" for r in allocations),
        }


def test_consort_counts_equal_database_counts(small_demo):
    counts = _db_counts(small_demo.database_url)
    flow = small_demo.interim.flow
    assert flow.assessed == counts["registered"] == 120
    assert sum(flow.excluded.values()) == counts["screen_failed"]
    arms = {arm.label: arm.allocated for arm in flow.arms}
    assert arms == {"A": counts["randomised_a"], "B": counts["randomised_b"]}
    svg = (small_demo.report.parent / "figures" / "consort.svg").read_text()
    assert f"Assessed for eligibility (n = {counts['registered']})" in svg
    assert f"Allocated to arm A (n = {counts['randomised_a']})" in svg


def test_report_km_medians_equal_stats_on_exported_adtte(small_demo):
    import pandas as pd

    adtte = pd.read_csv(small_demo.report.parent / "adtte.csv")
    ttf = adtte[adtte.PARAMCD == "TTF"]
    html = small_demo.report.read_text()
    for arm in ("A", "B"):
        block = ttf[ttf.ARM == arm]
        km = kaplan_meier(block.AVAL.to_numpy(), (block.CNSR == 0).astype(int).to_numpy())
        reported = small_demo.figures[f"ttf_median_{arm.lower()}"]
        if np.isfinite(km.median):
            assert reported == pytest.approx(km.median, rel=1e-12)
            assert f"{km.median:.1f}" in html
        else:
            assert reported is None
        assert (
            f"<td>{arm}</td>\n      <td>{len(block)}</td>\n      <td>{int((block.CNSR == 0).sum())}</td>"
            in html
        )


def test_report_is_self_contained_and_has_every_section(small_demo):
    html = small_demo.report.read_text()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)
    assert "<th>Calibrated model (expected)</th>" in html  # published vs expected vs run
    for anchor in ("published", "consort", "ttf", "os", "subgroups", "safety", "design", "dynamic"):
        assert f'id="{anchor}"' in html
    figures = small_demo.report.parent / "figures"
    for name in ("consort", "km_ttf", "km_os", "forest_ttf"):
        assert (figures / f"{name}.png").stat().st_size > 1000
        assert (figures / f"{name}.svg").exists()


def test_same_seed_same_cohort_different_seed_different():
    first = generate_cohort(40, seed=5)
    again = generate_cohort(40, seed=5)
    other = generate_cohort(40, seed=6)
    assert [p.record for p in first] == [p.record for p in again]
    assert [p.record for p in first] != [p.record for p in other]


def test_cli_json_summary(tmp_path):
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path / "r"), "--patients", "60", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["figures"]["screened"] == 60
    assert data["published"]["ttf_hr"] == 0.60
    assert data["expected"]["os_hr"] == pytest.approx(0.67, abs=1e-6)  # calibrated target
    # every cell says where it comes from (issue 15: input / calibrated / output)
    os_row = next(r for r in data["comparison"] if r["Figure"].startswith("OS hazard ratio"))
    assert os_row["Published (interim)"] == "0.67 (0.35\u20131.29) [input]"  # en dash (issue 18)
    assert os_row["Calibrated model (expected)"].startswith("0.67, SE 0.333")
    assert os_row["Calibrated model (expected)"].endswith("[calibrated]")
    ttf_row = next(r for r in data["comparison"] if r["Figure"].startswith("TTF hazard ratio"))
    assert ttf_row["Calibrated model (expected)"].startswith("0.60, z = 2.43")
    assert ttf_row["This run"].endswith(f"P = {data['figures']['ttf_p']:.3f} [output]")
    assert (tmp_path / "r" / "index.html").exists()


def test_cli_human_summary_has_the_three_columns(tmp_path):
    result = CliRunner().invoke(
        app,
        ["demo", "--out", str(tmp_path / "r"), "--patients", "40", "--seed", "4"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for column in ("Published (interim)", "Calibrated model (expected)", "This run"):
        assert column in result.output


def test_no_figure_prints_as_nan(small_demo):
    """An estimate that cannot be made says why instead of printing NaN. At this seed the
    OS-from-surgery Cox model has its one major-or-complete responder censored before the
    first death: before the singular-information check it printed "1.00 (nan-nan)"."""
    for name in ("index.html", "closed-dmc.html"):
        html = (small_demo.report.parent / name).read_text()
        assert not re.search(r"\bnan\b", html, re.IGNORECASE), name
    html = small_demo.report.read_text()
    assert "not estimable (covariate 'good' carries no information at the event times" in html
