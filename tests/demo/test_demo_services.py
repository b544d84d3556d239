"""After randomisation the demo goes through the services: the report reads the database.

Checks on the shared small run (``small_demo``, dynamic reassessment on): surgery dates keep
the protocol washout, complications/AEs tabulated equal the stored rows, TTF definitions
differ exactly at maintenance completion, the report's ADTTE is what `talentop export adtte`
writes, arm-B switches need a resectable MDT reassessment,
and the reported RMST difference is A minus B (lifelines as the independent oracle).
"""

import numpy as np
import pandas as pd
import pytest

from talentop.protocol import load_protocol
from talentop.store import Store, queries
from talentop.store import models as m

pytestmark = [pytest.mark.slow, pytest.mark.db]


@pytest.fixture(scope="module")
def stored(small_demo):
    """Surgeries, complications, AEs, switches and discontinuations straight from the DB."""
    store = Store(small_demo.database_url)
    with store.unit_of_work() as session:
        rows = {"surgery": [], "complication": [], "ae": [], "switch": [], "stop": []}
        for allocation in queries.randomisations(session):
            pid = allocation.patient_id
            for s in queries.rows_for(session, m.Surgery, pid):
                rows["surgery"].append((pid, allocation.arm, s.days_after_bevacizumab, s.id))
                for c in session.query(m.Complication).filter_by(surgery_id=s.id):
                    rows["complication"].append((pid, allocation.arm, c.clavien_dindo))
            for ae in queries.rows_for(session, m.AdverseEvent, pid):
                rows["ae"].append((pid, allocation.arm, ae.grade, ae.attribution))
            for sw in queries.rows_for(session, m.SurgerySwitch, pid):
                review = queries.get(session, m.MdtReview, sw.mdt_review_id)
                rows["switch"].append((pid, allocation.arm, review.purpose, review.resectable))
            for stop in queries.rows_for(session, m.Discontinuation, pid):
                rows["stop"].append((pid, allocation.arm, stop.reason, stop.is_failure))
        return rows


def test_surgery_respects_bevacizumab_washout(stored):
    minimum = load_protocol("talentop").surgery.min_days_after_bevacizumab
    assert stored["surgery"], "no surgery recorded"
    assert all(days is None or days >= minimum for _, _, days, _ in stored["surgery"])


def test_operated_count_is_the_database_count(small_demo, stored):
    operated_a = {pid for pid, arm, _, _ in stored["surgery"] if arm == "A"}
    assert small_demo.figures["operated"] == len(operated_a)
    arm_a = next(a for a in small_demo.interim.flow.arms if a.label == "A")
    assert arm_a.received == len(operated_a)
    assert sum(arm_a.not_received.values()) == arm_a.allocated - len(operated_a)


def test_complication_and_ae_tables_equal_stored_rows(small_demo, stored):
    table = small_demo.interim.complications
    assert len(table) == len(stored["complication"])
    grade_3_up = {"IIIa", "IIIb", "IVa", "IVb", "V"}  # Dindo 2004 Table 1
    high = {pid for pid, arm, g in stored["complication"] if arm == "A" and g in grade_3_up}
    assert small_demo.interim.cd3_count == len(high)
    aes = small_demo.interim.adverse_events
    assert len(aes) == len(stored["ae"])
    assert sorted(aes.grade) == sorted(g for _, _, g, _ in stored["ae"])
    assert set(aes.attribution) <= {"unrelated", "unlikely", "possible", "probable", "definite"}


def test_discontinuation_reasons_come_from_the_protocol(stored):
    protocol = load_protocol("talentop")
    reasons = {reason for _, _, reason, _ in stored["stop"]}
    assert reasons and reasons <= set(protocol.discontinuation_reasons)
    for _, _, reason, failure in stored["stop"]:
        assert failure == (reason in protocol.ttf.failure_reasons)


def test_ttf_definitions_differ_only_for_completed_maintenance(small_demo, stored):
    completed = {pid for pid, _, reason, _ in stored["stop"] if reason == "maintenance_completed"}
    assert completed, "no arm-A patient completed maintenance in the small run"
    from talentop.demo.run import adtte
    from talentop.services import patient_summary
    from talentop.services._context import Context

    protocol = load_protocol("talentop")
    store = Store(small_demo.database_url)
    frames = adtte(small_demo.run, store, protocol)
    ctx = Context(store=store, protocol=protocol, actor="system")
    completed_ids = set()
    for pid in completed:
        summary = patient_summary(ctx, pid)
        completed_ids.add(f"TALENTOP-{summary['site']}-{summary['pseudo_id']}")
    ttf = {
        name: frame[frame.PARAMCD == "TTF"].set_index("USUBJID")[["AVAL", "CNSR"]]
        for name, frame in frames.items()
    }
    differs = (ttf["censor_at_completion"] != ttf["primary"]).any(axis=1)
    assert set(differs[differs].index) <= completed_ids
    # with the continue reasons moved to censoring, completion censors
    assert (ttf["censor_at_completion"].loc[sorted(completed_ids), "CNSR"] != 0).all()


def test_export_adtte_writes_the_reports_adtte(small_demo, tmp_path):
    """The report's primary TTF is the protocol file's, with no demo-side rule: `talentop
    export adtte` on the demo database at the demo's data cut writes the report's adtte.csv
    row for row, and the report's TTF analysis (KM, log-rank, Cox) reads those rows."""
    from typer.testing import CliRunner

    from talentop.cli import app

    result = CliRunner().invoke(
        app,
        ["export", "adtte", "--url", small_demo.database_url, "--out", str(tmp_path),
         "--format", "csv", "--cutoff", small_demo.run.cutoff_date.isoformat(), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = pd.read_csv(small_demo.report.parent / "adtte.csv")
    exported = pd.read_csv(tmp_path / "adtte.csv")
    ttf = exported[exported.PARAMCD == "TTF"].reset_index(drop=True)
    assert len(ttf) == small_demo.figures["randomised"]
    pd.testing.assert_frame_equal(report[report.PARAMCD == "TTF"].reset_index(drop=True), ttf)
    pd.testing.assert_frame_equal(report, exported)
    analysed = small_demo.interim.ttf.data.set_index("USUBJID").sort_index()
    rows = ttf.set_index("USUBJID").loc[analysed.index]
    assert analysed["time"].to_numpy() == pytest.approx(rows["AVAL"].to_numpy(), abs=1e-9)
    assert (analysed["event"].to_numpy() == (rows["CNSR"] == 0).to_numpy()).all()


def test_arm_b_switches_follow_a_resectable_mdt_reassessment(small_demo):
    store = Store(f"sqlite:///{small_demo.report.parent / 'talentop-demo-dynamic.db'}")
    with store.unit_of_work() as session:
        switches, surgeries_b, arms = [], [], []
        for allocation in queries.randomisations(session):
            arms.append(allocation.arm)
            pid = allocation.patient_id
            for sw in queries.rows_for(session, m.SurgerySwitch, pid):
                review = queries.get(session, m.MdtReview, sw.mdt_review_id)
                switches.append((allocation.arm, review.purpose, review.resectable, pid))
                assert sw.switch_date >= review.review_date
            if allocation.arm == "B":
                surgeries_b += [
                    (pid, s.after_switch) for s in queries.rows_for(session, m.Surgery, pid)
                ]
    assert switches, "no arm-B switch in the dynamic run"
    assert all(arm == "B" and purpose == "switch" and ok for arm, purpose, ok, _ in switches)
    assert all(after for _, after in surgeries_b)
    assert {pid for pid, _ in surgeries_b} <= {pid for *_, pid in switches}
    n_b = arms.count("B")
    operated_b = len({pid for pid, _ in surgeries_b})
    html = small_demo.report.read_text()
    assert f"{operated_b} of {n_b} (" in html


def test_rmst_difference_is_a_minus_b():
    """survRM2 convention: difference = arm - reference; lifelines RMST per arm as oracle."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    from talentop.demo.analysis import compare

    rng = np.random.default_rng(3)
    n = 80
    arm = np.repeat(["A", "B"], n // 2)
    time = rng.exponential(np.where(arm == "A", 30.0, 10.0))
    censor = rng.uniform(5, 40, n)
    frame = pd.DataFrame(
        {
            "arm": arm,
            "time": np.minimum(time, censor),
            "event": (time <= censor).astype(int),
            "stratum": "all",
            "treat_a": (arm == "A").astype(int),
        }
    )
    result = compare(frame, "TTF")
    tau = result.rmst.tau
    oracle = {
        a: restricted_mean_survival_time(
            KaplanMeierFitter().fit(g.time, g.event), t=tau, return_variance=False
        )
        for a, g in frame.groupby("arm")
    }
    assert result.rmst.difference == pytest.approx(oracle["A"] - oracle["B"], rel=1e-6)
    assert result.rmst.difference > 0  # A lives longer here, so "A minus B" is positive
    assert list(result.ph.index) == ["treat_a", "GLOBAL"]
    assert np.isfinite(result.ph.loc["GLOBAL", "p"])


def test_report_quotes_the_protocols_ttf_definition(small_demo):
    """The TTF section states the definition the analysis used: the protocol file's own."""
    import html

    protocol = load_protocol("talentop")
    text = html.unescape(small_demo.report.read_text())
    assert " ".join(protocol.ttf.definition.split()) in " ".join(text.split())
    for reason in protocol.ttf.continue_reasons:
        assert reason.replace("_", " ") in text
