"""Reading CDISC ODM 1.3.2 documents in tests as a receiving system would: the XSD vendored
in ``tests/data/odm-1.3.2`` (bytes pinned by SHA256SUMS, see PROVENANCE.md) loaded with
xmlschema, and a replay of a Transactional document's transactions with ElementTree only
(ODM 1.3.2 spec 2.9 Transactions: "transaction processing proceeds in the order in which
data elements appear"; 2.10 Element Ordering), independent of the code that wrote it."""

from __future__ import annotations

import datetime as dt
import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

XSD_DIR = Path(__file__).resolve().parent / "data" / "odm-1.3.2"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
ACTIONS = {"Insert": "create", "Update": "update", "Remove": "delete"}


def load_odm_schema():
    """The ODM 1.3.2 XSD, after checking the vendored files' SHA-256."""
    import xmlschema

    for line in (XSD_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((XSD_DIR / name).read_bytes()).hexdigest() == digest, name
    return xmlschema.XMLSchema(str(XSD_DIR / "ODM1-3-2.xsd"))


def _parse(value: str, datatype: str):
    if datatype == "integer":
        return int(value)
    if datatype == "float":
        return float(value)
    if datatype == "boolean":
        return {"true": True, "false": False}[value]
    return value


def replay(xml: str) -> list[dict]:
    """Every change the document describes, by applying its transactions in document
    order: SubjectKey, log position (SourceID), time, user (LoginName), table (the item
    group's Name), row (repeat key), action, field (the item's Name), old (what the earlier
    transactions left), new, reason; sorted by position and field."""
    root = ET.fromstring(xml)
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    items = {d.get("OID"): d for d in mdv.iterfind("odm:ItemDef", NS)}
    groups = {d.get("OID"): d.get("Name") for d in mdv.iterfind("odm:ItemGroupDef", NS)}
    logins = {
        u.get("OID"): u.find("odm:LoginName", NS).text
        for u in root.iterfind("odm:AdminData/odm:User", NS)
    }
    state: dict[tuple, dict] = {}
    rows = []
    for subject in root.iterfind("odm:ClinicalData/odm:SubjectData", NS):
        for group in subject.iterfind(".//odm:ItemGroupData", NS):
            table, key = groups[group.get("ItemGroupOID")], group.get("ItemGroupRepeatKey")
            action = group.get("TransactionType")
            record = state.setdefault((table, key), {})
            for item in group.iterfind("odm:ItemData", NS):
                definition = items[item.get("ItemOID")]
                field = definition.get("Name")
                old = record.get(field)
                if action == "Remove":
                    new = None
                    record.pop(field, None)
                elif item.get("IsNull") == "Yes":
                    new = record[field] = None
                else:
                    new = record[field] = _parse(item.get("Value"), definition.get("DataType"))
                audit = item.find("odm:AuditRecord", NS)
                reason = audit.find("odm:ReasonForChange", NS)
                rows.append(
                    {
                        "subject": subject.get("SubjectKey"),
                        "seq": int(audit.find("odm:SourceID", NS).text.rsplit(" ", 1)[1]),
                        "at": dt.datetime.fromisoformat(audit.find("odm:DateTimeStamp", NS).text),
                        "actor": logins[audit.find("odm:UserRef", NS).get("UserOID")],
                        "entity": table,
                        "entity_id": key,
                        "action": ACTIONS[action],
                        "field": field,
                        "old": old,
                        "new": new,
                        "reason": None if reason is None else reason.text,
                    }
                )
    return sorted(rows, key=lambda r: (r["seq"], r["field"]))


def changes(xml: str, subject_suffix: str = "") -> list[dict]:
    """``replay`` without the SubjectKey, for the subjects whose key ends so."""
    return [
        {k: v for k, v in row.items() if k != "subject"}
        for row in replay(xml)
        if row["subject"].endswith(subject_suffix)
    ]


def history_as_replayed(rows: list[dict]) -> list[dict]:
    """``talentop audit history`` rows (``history_rows``) in ``replay``'s shape: the UTC time
    as an aware datetime, sorted by position and field."""
    out = []
    for row in rows:
        at = dt.datetime.fromisoformat(row["at_utc"])
        out.append(
            {k: v for k, v in row.items() if k != "at_utc"}
            | {"at": at if at.tzinfo else at.replace(tzinfo=dt.UTC)}
        )
    return sorted(out, key=lambda r: (r["seq"], r["field"]))
