"""Dynamic reassessment changes arm B (only arm B), and doses after randomisation are stored.

Shared small run (``small_demo``: 120 screened, seed 11, dynamic reassessment on): the
standard database ``talentop-demo.db`` and the dynamic one ``talentop-demo-dynamic.db``
come from the same cohort and seed. Protocol: atezo/bev q3w (``induction.cycle_length_days``)
continued in arm B, maintenance after resection in arm A capped at 12 months.
"""

import datetime as dt

import pandas as pd
import pytest

from talentop.protocol import load_protocol
from talentop.services import Context, derive_endpoints
from talentop.store import Store, queries
from talentop.store import models as m

pytestmark = [pytest.mark.slow, pytest.mark.db]


def _adtte(small_demo, url):
    ctx = Context(store=Store(url), protocol=load_protocol("talentop"), actor="system")
    frame = derive_endpoints(ctx, small_demo.run.cutoff_date)
    return frame.set_index(["USUBJID", "PARAMCD"])[["ARM", "AVAL", "CNSR"]]


def test_dynamic_run_switches_arm_b_and_changes_only_arm_b(small_demo):
    assert small_demo.dynamic_database_url is not None
    conversion = small_demo.dynamic["conversion"]
    assert conversion["switched"] > 0
    standard = _adtte(small_demo, small_demo.database_url)
    dynamic = _adtte(small_demo, small_demo.dynamic_database_url)
    assert list(standard.index) == list(dynamic.index)  # same patients, same arms
    assert (standard.ARM == dynamic.ARM).all()
    changed = (standard.AVAL - dynamic.AVAL).abs().gt(1e-9) | (standard.CNSR != dynamic.CNSR)
    assert set(standard[changed].ARM) <= {"B"}
    # the switch changes the switched patients' failure and death (OS = TTF + post-failure
    # survival), whether or not those fall before the cut in this small run
    before = small_demo.run.patient_frame().set_index("usubjid")
    after = small_demo.dynamic_run.patient_frame().set_index("usubjid")
    moved = after[after.switched.astype(bool)].index
    assert len(moved) == conversion["switched"]
    for column in ("ttf_months_latent", "os_months_latent"):
        assert (after.loc[moved, column] != before.loc[moved, column]).all()
    # switched patients stay arm B in the allocation table (intention to treat)
    store = Store(small_demo.dynamic_database_url)
    with store.unit_of_work() as session:
        arms = {r.patient_id: r.arm for r in queries.randomisations(session)}
        switched = {pid for pid in arms if queries.rows_for(session, m.SurgerySwitch, pid)}
    assert len(switched) == conversion["switched"]
    assert {arms[pid] for pid in switched} == {"B"}


def test_dynamic_table_reports_both_runs(small_demo):
    html = small_demo.report.read_text()
    c = small_demo.dynamic["conversion"]
    pct = 100 * c["switched"] / c["arm_b"]
    assert f"{c['switched']} of {c['arm_b']} ({pct:.1f}%)" in html
    for label in ("Median OS arm B, months", "OS HR A vs B (95% CI)", "Conversion: unresectable"):
        assert label in html


@pytest.fixture(scope="module")
def doses(small_demo):
    store = Store(small_demo.database_url)
    rows = []
    with store.unit_of_work() as session:
        for allocation in queries.randomisations(session):
            pid = allocation.patient_id
            stops = [s.stop_date for s in queries.rows_for(session, m.Discontinuation, pid)]
            deaths = [d.death_date for d in queries.rows_for(session, m.Death, pid)]
            for d in queries.rows_for(session, m.DrugAdministration, pid):
                rows.append(
                    {
                        "pid": pid,
                        "arm": allocation.arm,
                        "randomised_on": allocation.randomised_on,
                        "phase": d.phase,
                        "cycle": d.cycle,
                        "drug": d.drug,
                        "given_on": d.given_on,
                        "end": min([*stops, *deaths], default=dt.date.max),
                    }
                )
    return pd.DataFrame(rows)


def test_doses_after_randomisation_are_recorded_q3w(small_demo, doses):
    after = doses[doses.phase != "induction"]
    assert set(after.phase) == {"continued", "maintenance"}
    assert set(after[after.arm == "B"].phase) == {"continued"}  # standard run: no switches
    assert (after.given_on > after.randomised_on).all()
    assert (after.given_on < after.end).all()  # nothing after failure or death
    assert (after.given_on <= small_demo.run.cutoff_date).all()
    cycle_days = load_protocol("talentop").induction.cycle_length_days
    for (_, phase, _drug), block in after.groupby(["pid", "phase", "drug"]):
        block = block.sort_values("cycle")
        assert block.cycle.min() == 5 or phase == "maintenance"  # numbering continues
        assert (block.cycle.diff().dropna() == 1).all()
        gaps = block.given_on.diff().dropna().map(lambda d: d.days)
        assert (gaps == cycle_days).all()


def test_maintenance_stays_within_the_arm_cap(doses):
    cap_days = 365  # arm A: 12 months (services: cap x 365.25 / 12 days, whole days)
    maint = doses[(doses.phase == "maintenance") & (doses.arm == "A")]
    assert not maint.empty
    span = maint.groupby("pid").given_on.agg(lambda d: (d.max() - d.min()).days)
    assert (span <= cap_days).all()
