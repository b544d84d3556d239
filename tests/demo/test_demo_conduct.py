"""The demo records trial conduct through the services (shared small run): every screened
patient consented before screening, SAE reports with on-time and late initial reports, a
SUSAR with its expedited report, deviations (late SAE reports are major), the report's
safety section lists them, and the whole database exports as ODM 1.3.2 that validates."""

from pathlib import Path

import pytest

from talentop import services as sv
from talentop.protocol import load_protocol
from talentop.store import Store, queries
from talentop.store import models as m

pytestmark = [pytest.mark.slow, pytest.mark.db]
XSD = Path(__file__).resolve().parents[1] / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"


@pytest.fixture(scope="module")
def demo_ctx(small_demo):
    store = Store(small_demo.database_url)
    yield sv.Context(store, load_protocol("talentop"), "system")
    store.dispose()


def test_every_screened_patient_consented_first(demo_ctx, small_demo):
    with demo_ctx.store.unit_of_work() as session:
        for screening in session.query(m.Screening):
            consents = queries.rows_for(session, m.Consent, screening.patient_id)
            assert consents and consents[0].consented_on <= screening.screened_on
    assert small_demo.run.screened == 120


def test_saes_with_on_time_and_late_reports(demo_ctx):
    listing = sv.sae_listing(demo_ctx)
    assert len(listing) >= 5
    assert {r["on_time"] for r in listing} == {True, False}
    assert all(r["follow_ups"] for r in listing)
    for r in listing:
        with demo_ctx.store.unit_of_work() as session:
            ae = queries.get(session, m.AdverseEvent, r["adverse_event_id"])
            assert ae.serious and ae.grade >= 3  # the AE record is the source
    late = sum(not r["on_time"] for r in listing)
    summary = sv.deviation_summary(demo_ctx)
    by = {c["category"]: c for c in summary["categories"]}
    assert by["sae_reporting"]["total"] == late and by["sae_reporting"]["classification"] == "major"


def test_report_safety_section_lists_saes_and_deviations(small_demo):
    html = Path(small_demo.report).read_text(encoding="utf-8")
    for title in (
        "Serious adverse events by arm",
        "Listing of serious adverse events",
        "Protocol deviations by category and arm",
    ):
        assert title in html


def test_demo_database_exports_valid_odm(demo_ctx, tmp_path):
    import xmlschema

    out = sv.export_odm(demo_ctx, tmp_path / "demo.xml")
    assert out["subjects"] == 120
    schema = xmlschema.XMLSchema(str(XSD))
    errors = list(schema.iter_errors((tmp_path / "demo.xml").read_text(encoding="utf-8")))
    assert errors == []


def test_a_new_safety_signal_is_a_term_outside_the_reference_safety_information():
    """The report's "new safety signals" cell counts AE terms that no product's reference
    safety information in the protocol file expects (ICH E2A II.C: an unexpected adverse
    reaction is one not consistent with the applicable product information). Pneumonitis and
    GI perforation, two of the rare SAEs the demo draws, are in the RSI, so they are not new
    signals; an unlisted term is (the demo's hepatic failure is drawn as one on purpose, so
    that SUSARs appear)."""
    import pandas as pd

    from talentop.demo.analysis import _outside_profile
    from talentop.protocol import load_protocol

    protocol = load_protocol("talentop")
    known = pd.DataFrame({"term": ["Pneumonitis", "Gastrointestinal perforation", "hypertension"]})
    assert _outside_profile(known, protocol) == 0
    new = pd.DataFrame({"term": ["Pneumonitis", "Stevens-Johnson syndrome", "Myocarditis"]})
    assert _outside_profile(new, protocol) == 2
    assert _outside_profile(pd.DataFrame({"term": []}), protocol) == 0
    assert _outside_profile(pd.DataFrame({"term": ["Hepatic failure"]}), protocol) == 1
