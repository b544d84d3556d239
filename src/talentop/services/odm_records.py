"""The forms of the ODM audit export: the patient's records as stored, one form per table.

The audit trail is kept per stored record (table, row id) and column, so the audit export
describes exactly that: a form (with one repeating item group) per table, an item per
column, the row id as the ``ItemGroupRepeatKey``. Each ItemData then is one audited column
of one record and its ``AuditRecord`` one entry of the trail, with nothing derived in
between (the snapshot export's forms, ``odm_spec``, reshape and derive: an eligibility row
per criterion, the SAE report joined to its AE, "reported on time"; those have no audit
trail of their own). Tables are grouped into study events by what they record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.services.odm_spec import Form, Item
from talentop.store import models as m
from talentop.store.writes import NOT_CLINICAL

#: Study events of the audit export, in order: key -> name.
RECORD_EVENTS = {
    "ENROL": "Registration, consent, screening and the patient's path",
    "TREATMENT": "Treatment, MDT reviews, randomisation, surgery and local therapy",
    "ASSESSMENT": "Labs, imaging, lesions and tumour response",
    "SAFETY": "Adverse events, SAE reports and concomitant medication",
    "FOLLOWUP": "Follow-up, discontinuation, death, deviations and specimens",
    "DATAMGMT": "Data management: corrections, queries, checks, SDV, locks, signatures",
    "OTHER": "Other records of the patient",
}

#: Every table holding a patient's records -> its study event (tables are listed in the
#: order their forms appear). A table missing here still exports, under OTHER; the tests
#: check that every patient table is listed.
TABLE_EVENTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "patients",
            "patient_state_history",
            "consents",
            "consent_withdrawals",
            "screenings",
            "screening_criteria",
            "medical_history",
        ),
        "ENROL",
    ),
    **dict.fromkeys(
        (
            "drug_administrations",
            "resectability_flags",
            "resectability_assessments",
            "mdt_reviews",
            "mdt_votes",
            "mdt_ballots",
            "surgery_switches",
            "randomisations",
            "surgeries",
            "complications",
            "local_therapies",
        ),
        "TREATMENT",
    ),
    **dict.fromkeys(
        (
            "labs",
            "imaging",
            "lesions",
            "assessment_visits",
            "lesion_measurements",
            "response_assessments",
        ),
        "ASSESSMENT",
    ),
    **dict.fromkeys(
        (
            "adverse_events",
            "sae_reports",
            "sae_causality",
            "sae_follow_ups",
            "concomitant_medications",
        ),
        "SAFETY",
    ),
    **dict.fromkeys(
        (
            "follow_up_contacts",
            "discontinuations",
            "new_therapies",
            "deaths",
            "protocol_deviations",
            "biospecimens",
        ),
        "FOLLOWUP",
    ),
}
#: The data about the data (corrections, queries, checks, SDV, locks, signatures,
#: stratification errors; identity tables never belong to a patient).
TABLE_EVENTS |= {t: "DATAMGMT" for t in sorted(NOT_CLINICAL) if t not in TABLE_EVENTS}

#: Python type of a column -> ODM 1.3.2 DataType (spec 2.13 Data Formats).
_DATATYPES = {
    bool: "boolean",
    int: "integer",
    float: "float",
    dt.datetime: "datetime",
    dt.date: "date",
    str: "text",
}


def form_key(table: str) -> str:
    """The form's key: ``F.REC.<TABLE>``, ``IG.REC.<TABLE>``, ``IT.REC.<TABLE>.<column>``."""
    return f"REC.{table.upper()}"


def column_datatype(table: str, column: str) -> str:
    """The ODM DataType of a stored column (text for a column the schema no longer has:
    an old audit entry may name one)."""
    columns = m.Base.metadata.tables[table].columns if table in m.Base.metadata.tables else {}
    if column not in columns:
        return "text"
    try:
        python_type = columns[column].type.python_type
    except NotImplementedError:
        return "text"
    return _DATATYPES.get(python_type, "text")


def _filled_from_the_trail(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    """Record forms are written from the audit trail entry by entry, never read as rows."""
    return []


def record_form(table: str, fields: set[str]) -> Form:
    """The form of ``table``: an item per column of the table (and per field an audit
    entry of it names), the row id left out (it is the repeat key)."""
    columns = (
        [c.key for c in m.Base.metadata.tables[table].columns]
        if table in m.Base.metadata.tables
        else []
    )
    names = [c for c in columns if c != "id"] + sorted(fields - set(columns) - {"id"})
    return Form(
        form_key(table),
        table,
        TABLE_EVENTS.get(table, "OTHER"),
        tuple(Item(name, f"{table}.{name}", column_datatype(table, name)) for name in names),
        _filled_from_the_trail,
    )


def record_forms(fields_by_table: dict[str, set[str]]) -> list[Form]:
    """The forms for the tables the export holds, in event order then ``TABLE_EVENTS``
    order (tables not listed last, by name)."""
    order = {table: i for i, table in enumerate(TABLE_EVENTS)}
    events = list(RECORD_EVENTS)
    tables = sorted(
        fields_by_table,
        key=lambda t: (events.index(TABLE_EVENTS.get(t, "OTHER")), order.get(t, len(order)), t),
    )
    return [record_form(table, fields_by_table[table]) for table in tables]
