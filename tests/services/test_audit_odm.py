"""The audit trail as CDISC ODM 1.3.2 ``AuditRecord``s with the clinical data, on SQLite and
PostgreSQL (issue 12, "Audit trail for people": "an export of one patient whose ODM
validates against the schema and whose audit records reproduce the history").

The document is checked against the ODM 1.3.2 XSD vendored in ``tests/data/odm-1.3.2``
(bytes pinned by SHA256SUMS) with xmlschema, and read back here with ElementTree only,
as a receiving system would: the transactions are replayed in document order (ODM 1.3.2
spec 2.9 Transactions: "transactions are applied in the order in which they appear"; 2.10
Element Ordering) and every change they describe (field, old -> new, who, when, why) must
equal ``talentop audit history`` (``history_rows``) row for row. The old value is not in
the document: it is what the earlier transactions left, so the replay also proves that
the trail's before images agree with what came before them.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from flow_helpers import PROTOCOL, context, day, to_assessed
from odm_helpers import NS, changes, history_as_replayed, load_odm_schema, replay
from talentop import services as sv
from talentop.errors import InvalidInput, NotFound, PermissionDenied
from talentop.services import identity
from talentop.services.data import history_rows
from talentop.services.odm_records import TABLE_EVENTS
from talentop.store import models as m

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def odm_schema():
    return load_odm_schema()


def as_(ctx, name):
    return sv.Context(ctx.store, PROTOCOL, name)


@pytest.fixture
def trial(store):
    """Patient C1 (SH01) assessed by inv1, then cleaned by four people: a target lesion
    corrected twice (investigator, then data manager, different reasons: PR -> SD and
    back), a screening field corrected, a lab's upper limit cleared, a query raised by the
    monitor and answered, the lab source-verified, the patient locked and unlocked. Patient
    D1 (BJ02) belongs to another site."""
    ctx = context(store)
    system = sv.Context(store, PROTOCOL, "system")
    identity.create_account(system, "mon1", "monitor", PASSWORD, full_name="Mona Itor")
    identity.change_role(system, "mon1", assigned_sites=["SH01"])
    identity.create_account(system, "dm1", "data_manager", PASSWORD, full_name="Dana Manager")
    identity.create_account(system, "coord1", "coordinator", PASSWORD, site_code="SH01")
    pid = to_assessed(ctx, "C1", shrink=0.6)
    with store.read_only() as session:
        lesion = session.query(m.Lesion).filter_by(patient_id=pid, code="T1").one()
        measurement = session.query(m.LesionMeasurement).filter_by(lesion_id=lesion.id).one().id
        screening = session.query(m.Screening).filter_by(patient_id=pid).one().id
    sv.correct_record(ctx, "lesion_measurements", measurement, {"diameter_mm": 54.0},
                      reason="re-measured on the source CT", category="source_corrected")  # fmt: skip
    sv.correct_record(as_(ctx, "dm1"), "lesion_measurements", measurement, {"diameter_mm": 36.5},
                      reason="decimal slipped", category="transcription_error")  # fmt: skip
    sv.correct_record(ctx, "screenings", screening, {"record.ecog": 1},
                      reason="ECOG 1 in the clinic notes", category="source_corrected")  # fmt: skip
    lab = sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=38.0, unit="g/L",
                        upper_limit_normal=52.0)  # fmt: skip
    sv.correct_record(ctx, "labs", lab, {"upper_limit_normal": None},
                      reason="not on the lab report", category="other")  # fmt: skip
    query = sv.raise_query(as_(ctx, "mon1"), "labs", lab, "value", "unit g/L or g/dL?")
    sv.answer_query(ctx, query["query_id"], "g/L, checked on the report")
    sv.verify_form(as_(ctx, "mon1"), "labs", lab)
    lock = sv.lock_records(as_(ctx, "dm1"), "patient", patient_id=pid, reason="interim freeze")
    sv.unlock_records(as_(ctx, "dm1"), lock["lock_id"], reason="freeze lifted")
    sv.create_site(system, "BJ02", "Peking Union", country="CN")
    sv.create_user(system, "inv_b", "investigator", site_code="BJ02")
    other = to_assessed(as_(ctx, "inv_b"), "D1", site_code="BJ02")
    return ctx, pid, other, measurement


def test_one_patient_validates_and_its_audit_records_reproduce_the_history(trial, odm_schema):
    ctx, pid, _, _ = trial
    monitor = as_(ctx, "mon1")
    result = sv.export_audit_odm(monitor, pid, validate=True)
    xml = result["xml"]
    errors = list(odm_schema.iter_errors(xml))
    assert errors == [], [str(e)[:300] for e in errors[:3]]
    root = ET.fromstring(xml)
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Transactional"
    assert len(root.findall("odm:ClinicalData/odm:SubjectData", NS)) == result["subjects"] == 1

    history = history_rows(monitor, pid)
    assert changes(xml) == history_as_replayed(history)
    assert result["changes"] == len(history) > 100
    # the history holds what the fixture did, each correction with its own reason
    diameters = [
        (r["old"], r["new"], r["actor"], r["reason"])
        for r in history
        if r["entity"] == "lesion_measurements" and r["field"] == "diameter_mm"
    ]
    assert diameters[-2:] == [
        (36.0, 54.0, "inv1", "source_corrected: re-measured on the source CT"),
        (54.0, 36.5, "dm1", "transcription_error: decimal slipped"),
    ]
    cleared = [r for r in history if r["entity"] == "labs" and r["field"] == "upper_limit_normal"]
    assert [(r["old"], r["new"], r["reason"]) for r in cleared] == [
        (None, 52.0, None),
        (52.0, None, "other: not on the lab report"),
    ]
    assert {"data_queries", "verifications", "record_locks", "corrections"} <= {
        r["entity"] for r in history
    }


def test_audit_records_name_users_locations_and_keep_time_order(trial):
    ctx, pid, _, measurement = trial
    xml = sv.export_audit_odm(as_(ctx, "dm1"), pid)["xml"]
    root = ET.fromstring(xml)
    users = {u.get("OID"): u for u in root.iterfind("odm:AdminData/odm:User", NS)}
    locations = {loc.get("OID"): loc for loc in root.iterfind("odm:AdminData/odm:Location", NS)}
    audits = list(root.iterfind(".//odm:AuditRecord", NS))
    # ODM 1.3.2 2.8: the AdminData every audit record references is in the file.
    assert {a.find("odm:UserRef", NS).get("UserOID") for a in audits} == set(users)
    assert {a.find("odm:LocationRef", NS).get("LocationOID") for a in audits} <= set(locations)
    login = {u.find("odm:LoginName", NS).text: u for u in users.values()}
    assert set(login) == {"inv1", "dm1", "mon1"}
    assert login["inv1"].get("UserType") == "Investigator"
    assert login["dm1"].get("UserType") == "Sponsor"
    assert login["mon1"].find("odm:FullName", NS).text == "Mona Itor"
    assert locations["LOC.SH01"].get("LocationType") == "Site"
    assert locations["LOC.CENTRAL"].get("LocationType") == "Sponsor"  # dm1 has no site
    # EditPoint (ODM 1.3.2 AuditRecord): site staff and monitors "Monitoring", data
    # managers "DataManagement"; the data manager's correction carries its reason.
    group = [
        g
        for g in root.iterfind(".//odm:ItemGroupData", NS)
        if g.get("ItemGroupOID") == "IG.REC.LESION_MEASUREMENTS"
        and g.get("ItemGroupRepeatKey") == str(measurement)
    ]
    assert [g.get("TransactionType") for g in group] == ["Insert", "Update", "Update"]
    last = group[-1].find("odm:ItemData/odm:AuditRecord", NS)
    assert last.get("EditPoint") == "DataManagement"
    assert last.find("odm:LocationRef", NS).get("LocationOID") == "LOC.CENTRAL"
    assert last.find("odm:ReasonForChange", NS).text == "transcription_error: decimal slipped"
    first = group[1].find("odm:ItemData/odm:AuditRecord", NS)
    assert first.get("EditPoint") == "Monitoring"
    assert first.find("odm:LocationRef", NS).get("LocationOID") == "LOC.SH01"
    # 2.10: the audit records of one entity in increasing DateTimeStamp, all before the
    # document's CreationDateTime; every OID in the clinical data is defined.
    created = dt.datetime.fromisoformat(root.get("CreationDateTime"))
    by_entity: dict[tuple, list] = {}
    for g in root.iterfind(".//odm:ItemGroupData", NS):
        stamp = dt.datetime.fromisoformat(
            g.find("odm:ItemData/odm:AuditRecord/odm:DateTimeStamp", NS).text
        )
        if g.get("TransactionType") == "Insert":  # a creation has its own audit record
            assert g.find("odm:AuditRecord/odm:DateTimeStamp", NS).text == stamp.isoformat()
        by_entity.setdefault((g.get("ItemGroupOID"), g.get("ItemGroupRepeatKey")), []).append(stamp)
        assert stamp < created
    assert all(stamps == sorted(stamps) for stamps in by_entity.values())
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    defined = {d.get("OID") for d in mdv.iter() if d.get("OID")}
    for tag, attribute in [
        ("StudyEventData", "StudyEventOID"),
        ("FormData", "FormOID"),
        ("ItemGroupData", "ItemGroupOID"),
        ("ItemData", "ItemOID"),
    ]:
        used = {e.get(attribute) for e in root.iterfind(f".//odm:{tag}", NS)}
        assert used and used <= defined, (tag, used - defined)
    # the SubjectData's own audit record is the registration
    subject = root.find("odm:ClinicalData/odm:SubjectData", NS)
    assert subject.get("TransactionType") == "Insert"
    assert subject.find("odm:AuditRecord/odm:UserRef", NS).get("UserOID") == "USR.inv1"
    assert subject.get("SubjectKey").startswith("TALENTOP-SH01-")


def test_the_export_is_logged_and_the_trail_stays_verifiable(trial):
    ctx, pid, _, _ = trial
    sv.export_audit_odm(as_(ctx, "mon1"), pid)
    with ctx.store.read_only() as session:
        events = session.query(m.AuthEvent).filter_by(kind="audit_exported").all()
        assert [(e.username, e.detail.split(":")[0]) for e in events] == [
            ("mon1", f"patient {pid}")
        ]
        assert "ODM 1.3.2" in events[0].detail
    assert sv.verify(ctx.store).ok


def test_site_and_scope(trial, odm_schema):
    ctx, pid, other, _ = trial
    monitor = as_(ctx, "mon1")
    with pytest.raises(PermissionDenied, match="another site"):
        sv.export_audit_odm(monitor, other)
    with pytest.raises(PermissionDenied, match="read_audit"):
        sv.export_audit_odm(as_(ctx, "coord1"), pid)
    with pytest.raises(PermissionDenied, match="BJ02"):
        sv.export_audit_odm(monitor, site="BJ02")
    with pytest.raises(NotFound, match="XX99"):
        sv.export_audit_odm(as_(ctx, "dm1"), site="XX99")
    with pytest.raises(InvalidInput, match="site"):
        sv.export_audit_odm(monitor, pid, site="SH01")
    # a monitor's export without a patient holds the assigned site's patients only
    mine = sv.export_audit_odm(monitor, validate=True)
    keys = [
        s.get("SubjectKey") for s in ET.fromstring(mine["xml"]).iterfind(".//odm:SubjectData", NS)
    ]
    assert mine["subjects"] == len(keys) >= 1 and all("-SH01-" in k for k in keys)
    everyone = sv.export_audit_odm(as_(ctx, "dm1"), validate=True)
    assert everyone["subjects"] == mine["subjects"] + 1
    assert list(odm_schema.iter_errors(everyone["xml"])) == []
    for patient in (pid, other):
        key = sv.patient_summary(as_(ctx, "dm1"), patient)["pseudo_id"]
        assert changes(everyone["xml"], f"-{key}") == history_as_replayed(
            history_rows(as_(ctx, "dm1"), patient)
        ), patient
    assert len(replay(everyone["xml"])) == sum(
        len(history_rows(as_(ctx, "dm1"), patient)) for patient in (pid, other)
    )


def test_every_patient_table_has_a_study_event():
    from talentop.store import read_queries

    tables = {model.__tablename__ for model in read_queries._patient_models()}
    tables |= {child.__tablename__ for child, _, _ in read_queries._child_models()}
    assert tables | {"patients"} <= set(TABLE_EVENTS), sorted(tables - set(TABLE_EVENTS))


def test_characters_xml_cannot_carry_do_not_break_the_documents(trial, odm_schema, tmp_path):
    """XML 1.0 (2.2 Characters) has no form for most C0 controls, not even a character
    reference; the services accept them in free text. Both ODM exports write U+FFFD
    instead, and stay readable and valid."""
    ctx, pid, _, _ = trial
    sv.record_new_therapy(ctx, pid, day(90), description="lenvatinib\x01 then\x0bTACE")
    xml = sv.export_audit_odm(sv.Context(ctx.store, PROTOCOL, "system"), pid)["xml"]
    assert list(odm_schema.iter_errors(xml)) == []
    described = [r["new"] for r in changes(xml) if r["field"] == "description"]
    assert described == ["lenvatinib\ufffd then\ufffdTACE"]
    snapshot = sv.export_odm(sv.Context(ctx.store, PROTOCOL, "system"), tmp_path / "s.xml")
    assert snapshot["subjects"] >= 1
    assert list(odm_schema.iter_errors((tmp_path / "s.xml").read_text(encoding="utf-8"))) == []
