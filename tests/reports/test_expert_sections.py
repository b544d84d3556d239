"""Report section modules for issue 15 render their tables (pure, no database)."""

import pandas as pd

from talentop.design.plan import plan_from_sap
from talentop.protocol import load_protocol
from talentop.reports import Report, render_html
from talentop.reports.conversion import conversion_section
from talentop.reports.provenance import provenance_table
from talentop.reports.sap import assumptions_table, sap_section

SAP = load_protocol("talentop").sap


def test_assumptions_table_lists_every_sap_value_with_its_source():
    table = assumptions_table(SAP).frame.set_index("Assumption")
    assert len(table) == 11
    assert table.loc["Target patients", "Value"] == "198"
    assert table.loc["Power", "Source"] == "SETTING"
    assert table.loc["Alpha spending", "Value"] == "Lan-DeMets O'Brien-Fleming-type"


def test_sap_section_renders_the_interim_against_the_plan():
    plan = plan_from_sap(SAP)
    section = sap_section(SAP, plan, plan.at_interim(60, 2.0), "2.000")
    html = render_html(Report(title="t", subtitle="s", sections=[section]))
    assert "Interim analysis against the plan" in html and "0.652" in html  # 60 / 92


def test_conversion_section_without_reassessment():
    table = pd.DataFrame([{"Population": "All", "Thrombus": "All", "n": 1,
                           "Judged resectable by the MDT": "0 of 1", "Resected": "0 of 1"}])  # fmt: skip
    section = conversion_section(table, pd.Series(["technically_resectable"]), None)
    assert [t.title for t in section.tables][-1].startswith("Conversion")


def test_provenance_table_explains_the_marks():
    rows = [{"Figure": "x", "Published (interim)": "1 [input]",
             "Calibrated model (expected)": "1 [calibrated]", "This run": "1 [output]", "Note": ""}]  # fmt: skip
    table = provenance_table(rows, "seed article")
    assert "[calibrated]" in table.note and "seed article" in table.note
