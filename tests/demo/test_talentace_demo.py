"""TALENTACE in silico through the same services and report code as TALENTOP (issue 15).

Design (ASCO GI 2021 TPS487): randomised at entry before any treatment; on-demand TACE in both
arms; atezolizumab + bevacizumab after TACE in arm A only. Primary endpoint TACE-PFS (ESMO GI
2025 LBA2): untreatable progression, TACE failure/refractoriness or death; a progression that
TACE still treats is not an event (it is for mRECIST PFS).
"""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.demo.entry_pipeline import run_entry_demo
from talentop.protocol import load_protocol
from talentop.store import Store
from talentop.store import models as m

PROTOCOL = load_protocol("talentace")
#: One in-silico TALENTACE run (70 screened) shared by the module: about 30 s.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ace(tmp_path_factory):
    out = tmp_path_factory.mktemp("talentace") / "report"
    return run_entry_demo(out, PROTOCOL, n_patients=70, seed=8)


@pytest.mark.db
def test_randomised_at_entry_before_any_treatment(ace):
    store = Store(ace.database_url)
    with store.unit_of_work() as session:
        for allocation in session.query(m.Randomisation).all():
            steps = [
                s.to_state
                for s in session.query(m.StateChange).filter_by(patient_id=allocation.patient_id)
            ]
            assert steps[:3] == ["registered", "screened", "randomised"]
            assert "induction" not in steps
            treatments = session.query(m.LocalTherapy).filter_by(patient_id=allocation.patient_id)
            assert all(t.performed_on > allocation.randomised_on for t in treatments)


@pytest.mark.db
def test_atezo_bev_only_in_arm_a_and_only_after_the_first_tace(ace):
    store = Store(ace.database_url)
    with store.unit_of_work() as session:
        arms = {r.patient_id: r.arm for r in session.query(m.Randomisation).all()}
        dosed = 0
        for pid, arm in arms.items():
            doses = session.query(m.DrugAdministration).filter_by(patient_id=pid).all()
            tace = sorted(
                t.performed_on for t in session.query(m.LocalTherapy).filter_by(patient_id=pid)
            )
            if arm == "B":
                assert doses == []
            elif doses:
                dosed += 1
                assert min(d.given_on for d in doses) > tace[0]
    assert dosed > 0


def test_tace_pfs_does_not_count_treatable_progression(ace):
    adtte = ace.adtte
    events = {p: int((adtte[adtte.PARAMCD == p].CNSR == 0).sum()) for p in ("TACEPFS", "PFSMR")}
    assert events["TACEPFS"] <= events["PFSMR"]
    described = set(adtte[adtte.PARAMCD == "TACEPFS"].EVNTDESC)
    assert "UNTREATABLE PROGRESSION" in described
    assert described <= {
        "UNTREATABLE PROGRESSION", "TACE REFRACTORINESS", "TACE REFRACTORINESS (POST-TACE RESPONSES)",
        "DEATH", "NO TACE-PFS EVENT", "NO ADEQUATE POST-BASELINE ASSESSMENT", "LOST TO FOLLOW-UP",
    }  # fmt: skip
    treatable = int(ace.interim.procedures.treatable_progressions.sum())
    assert treatable > 0  # progressions answered by a repeat TACE exist, and are not events


@pytest.mark.db
def test_refractoriness_is_derived_from_the_recorded_post_tace_responses(ace):
    """The investigator's tace_refractoriness stop and the JSH rule (two consecutive SD/PD
    post-TACE responses) agree on the date; TTF (secondary) fails earlier at a treatable PD."""
    from talentop.endpoints.tace import refractoriness_date

    adtte = ace.adtte.set_index(["USUBJID", "PARAMCD"])
    rows = ace.interim.procedures.set_index("usubjid")
    store = Store(ace.database_url)
    checked = 0
    with store.unit_of_work() as session:
        for usubjid, row in rows[rows.event_type == "tace_refractoriness"].iterrows():
            stops = session.query(m.Discontinuation).filter_by(patient_id=int(row.patient_id)).all()
            if not stops:
                continue  # event after the cut
            responses = [
                (t.response_on, t.response)
                for t in session.query(m.LocalTherapy).filter_by(patient_id=int(row.patient_id))
                if t.response is not None
            ]
            derived = refractoriness_date(responses, consecutive=2, insufficient=["SD", "PD"])
            assert derived == stops[0].stop_date == adtte.loc[(usubjid, "TACEPFS"), "ADT"]
            assert adtte.loc[(usubjid, "TACEPFS"), "EVNTDESC"].startswith("TACE REFRACTORINESS")
            checked += 1
    assert checked > 0


def test_report_has_the_primary_endpoint_and_marked_cells(ace):
    html = ace.report.read_text()
    for anchor in ("published", "flow", "primary", "os", "design", "protocol"):
        assert f'id="{anchor}"' in html
    assert "[input]" in html and "[calibrated]" in html and "[output]" in html
    assert "untreatable progression" in html.lower()
    figures = ace.figures
    assert figures["randomised"] == figures["arm_a"] + figures["arm_b"]
    assert figures["tacepfs_events"] == int(
        (ace.adtte[ace.adtte.PARAMCD == "TACEPFS"].CNSR == 0).sum()
    )


def test_cli_runs_talentace_end_to_end(tmp_path):
    result = CliRunner().invoke(
        app,
        ["demo", "--protocol", "talentace", "--patients", "30", "--seed", "2",
         "--out", str(tmp_path / "r"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["protocol"] == "talentace"
    assert data["published"]["tacepfs_hr"] == 0.71
    row = next(r for r in data["comparison"] if r["Figure"].startswith("TACEPFS hazard ratio"))
    assert row["Published (interim)"].endswith("[input]")
    assert pd.read_csv(tmp_path / "r" / "adtte.csv").PARAMCD.eq("TACEPFS").any()
