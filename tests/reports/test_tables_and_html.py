"""Report tables and the HTML writer: exact CIs, worst-grade counting, a self-contained page."""

import re

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from talentop.errors import InvalidInput
from talentop.reports import (
    ArmCurve,
    Report,
    Section,
    baseline_table,
    exact_ci,
    grade_table,
    km_figure,
    published_table,
    render_html,
    response_table,
    write_report,
)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (37, 101), (83, 101)])
def test_exact_ci_matches_statsmodels_clopper_pearson(k, n):
    lo, hi = proportion_confint(k, n, alpha=0.05, method="beta")
    assert exact_ci(k, n) == pytest.approx((lo, hi), abs=1e-10)


def test_exact_ci_refuses_k_above_n():
    with pytest.raises(InvalidInput, match=r"k/n='5/4'"):
        exact_ci(5, 4)


def test_response_table_counts_and_orr():
    frame = pd.DataFrame({"g": ["all"] * 10, "bor": ["PR"] * 3 + ["SD"] * 5 + ["PD"] * 2})
    row = response_table(frame, group="g", response="bor").frame.iloc[0]
    assert row["PR"] == "3 (30.0%)" and row["PD"] == "2 (20.0%)"
    lo, hi = proportion_confint(3, 10, method="beta")
    assert row["ORR (95% CI)"] == f"30.0% ({100 * lo:.1f}\u2013{100 * hi:.1f})"  # en dash
    assert row["DCR (95% CI)"].startswith("80.0%")


def _cd_table(events, denominators):
    """A Clavien-Dindo table of ``events`` (columns patient, arm, term, grade)."""
    return grade_table(
        events,
        arm="arm",
        term="term",
        grade="grade",
        denominators=denominators,
        grade_order=["I", "II", "IIIa", "IIIb", "IVa", "IVb", "V"],
        high_grades=["IIIa", "IIIb", "IVa", "IVb", "V"],
        title="CD",
        high_label=">= III",
    )


def test_grade_table_counts_each_patient_once_at_worst_grade():
    events = pd.DataFrame(
        {
            "patient": [1, 1, 2, 3, 3],
            "arm": ["A", "A", "A", "B", "B"],
            "term": ["bleeding", "bleeding", "bile leak", "bleeding", "ascites"],
            "grade": ["II", "IIIa", "I", "I", "IVa"],
        }
    )
    table = _cd_table(events, {"A": 10, "B": 5}).frame.set_index("Event")
    assert table.loc["Any", "Arm A: any grade"] == "2 (20.0%)"
    assert table.loc["Any", "Arm A: >= III"] == "1 (10.0%)"
    assert table.loc["bleeding", "Arm A: any grade"] == "1 (10.0%)"
    assert table.loc["Any", "Arm B: >= III"] == "1 (20.0%)"
    assert table.index[0] == "Any"
    with pytest.raises(InvalidInput, match="grade=\\['VI'\\]"):
        grade_table(
            events.assign(grade="VI"),
            arm="arm",
            term="term",
            grade="grade",
            denominators={"A": 10},
            grade_order=["I"],
            high_grades=[],
            title="x",
            high_label="x",
        )


def test_grade_table_without_events_shows_zero_patients_not_an_error():
    """No complication at all (a small or early trial): the table still has its "Any" row,
    zero of each arm's denominator, in the same columns as a table with events."""
    events = pd.DataFrame({"patient": [], "arm": [], "term": [], "grade": []})
    table = _cd_table(events, {"A": 4, "B": 0}).frame
    assert list(table.columns) == [
        "Event", "Arm A: any grade", "Arm A: >= III", "Arm B: any grade", "Arm B: >= III"
    ]  # fmt: skip
    assert table.to_dict("records") == [
        {"Event": "Any", "Arm A: any grade": "0 (0.0%)", "Arm A: >= III": "0 (0.0%)",
         "Arm B: any grade": "0", "Arm B: >= III": "0"}
    ]  # fmt: skip


def test_baseline_table_median_iqr_and_percentages():
    frame = pd.DataFrame(
        {"arm": ["A", "A", "A", "B"], "age": [50, 60, 70, 40], "ecog": [0, 1, 1, 0]}
    )
    table = baseline_table(
        frame, arm="arm", continuous={"age": "Age"}, categorical={"ecog": "ECOG"}
    ).frame
    assert list(table.columns) == ["Characteristic", "Arm A (n = 3)", "Arm B (n = 1)"]
    assert table.iloc[0, 1] == "60.0 (55.0\u201365.0)"  # en dash (journal typography)
    assert table.set_index("Characteristic").loc["    1", "Arm A (n = 3)"] == "2 (66.7%)"


def test_write_report_is_self_contained(tmp_path, two_arms):
    figure = km_figure(
        [ArmCurve(a, g.time.to_numpy(), g.event.to_numpy()) for a, g in two_arms.groupby("arm")],
        name="km_ttf",
        title="TTF <by arm>",
        y_label="S",
    ).figure
    report = Report(
        title="Demo & test",
        subtitle="seed 1",
        headline=[("Randomised", "60")],
        sections=[
            Section(
                "results",
                "Results",
                ["A paragraph with <b>markup</b>"],
                [figure],
                [
                    published_table(
                        [
                            {
                                "Figure": "screened",
                                "Published (interim)": "627",
                                "This run": "600",
                                "Note": "",
                            }
                        ]
                    )
                ],
            ),
        ],
    )
    index = write_report(report, tmp_path / "report")
    html = index.read_text()
    assert (tmp_path / "report/figures/km_ttf.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "report/figures/km_ttf.svg").read_text()
    assert (tmp_path / "report/tables").is_dir()
    # figures embedded as SVG (sharp at any width), the PNG and SVG files linked
    assert "data:image/svg+xml;base64," in html
    assert 'href="figures/km_ttf.svg"' in html and 'href="figures/km_ttf.png"' in html
    assert '<div class="table-scroll"' in html
    # no network resource at all, and user text is escaped
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)
    assert "&lt;b&gt;markup&lt;/b&gt;" in html and "Demo &amp; test" in html
    assert "<td>627</td>" in html


def test_render_html_refuses_duplicate_anchors():
    with pytest.raises(InvalidInput, match="unique anchors"):
        render_html(Report("t", "s", sections=[Section("a", "A"), Section("a", "B")]))


def test_user_text_cannot_inject_an_external_resource():
    report = Report(
        "t", "s", sections=[Section("a", "A", ['<img src="https://example.org/x.png">'])]
    )
    html = render_html(report)
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)
    assert "&lt;img src=" in html
