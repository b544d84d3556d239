"""The TALENTOP report answers the experts (issue 15): SAP, conversion, subgroups for TTF and
OS, depth landmark, switch readings, surgical safety after bevacizumab, pathology; every
published-vs-run cell says where it comes from."""

import re

import pytest

from talentop.demo.provenance import MARKS
from talentop.design.plan import plan_from_sap
from talentop.protocol import load_protocol

PROTOCOL = load_protocol("talentop")


@pytest.fixture(scope="module")
def html(small_demo):
    return small_demo.report.read_text()


def test_every_expert_section_is_present(html):
    for anchor in ("design", "conversion", "depth", "switch", "surgical-safety", "pathology"):
        assert f'id="{anchor}"' in html
    assert 'id="fig-forest_ttf"' in html and 'id="fig-forest_os"' in html


def test_the_interim_is_judged_against_the_sap_not_the_observed_hr(small_demo, html):
    plan = plan_from_sap(PROTOCOL.sap)
    gs = small_demo.interim.gs
    assert gs["planned_events"] == plan.max_events == 92
    assert gs["information_fraction"] == pytest.approx(
        min(int(small_demo.interim.ttf.data.event.sum()) / 92, 1.0)
    )
    assert "NCT04649489 registry: estimated enrolment about 198" in html
    assert "10.0 / 18.0 = 0.556" in html


def test_conversion_table_has_exact_intervals_by_vp(small_demo, html):
    table = small_demo.interim.experts["conversion"]
    assert set(table["Thrombus"]) == {"All", "Vp1-Vp2 or hepatic vein only", "Vp3", "Vp4"}
    assert table["Judged resectable by the MDT"].str.contains("95% CI").all()
    assert "Technically unresectable at baseline" in html


def test_switch_readings_in_both_runs(small_demo):
    table = small_demo.interim.experts["switch"]
    assert len(table) == 3 and table["Reading"].str.contains(r"\(primary\)").sum() == 1
    dynamic = small_demo.dynamic_interim.experts["switch"]
    assert (dynamic["Arm-B switches"] > 0).all()


def test_published_cells_are_all_marked(html):
    start = html.index('id="published"')
    section = html[start : html.index("</section>", start)]
    cells = re.findall(r"<td>(.*?)</td>", section, flags=re.S)
    values = [c for i, c in enumerate(cells) if i % 5 in (1, 2, 3)]  # the three value columns
    assert values and all(any(c.strip().endswith(f"[{m}]") for m in MARKS) for c in values)
    # the old typed-in "82.2%" / "22%" cells are computed now: from 83/101, from the model
    assert f"<td>{100 * 83 / 101:.1f}% of arm A [input]</td>" in section
    assert "<td>22%</td>" not in section and "<td>none</td>" not in section


def test_protocol_summary_states_the_cr_reading(html):
    assert "a complete response is not randomised" in html
    assert "primary: ignore; sensitivity: censor, event" in html
