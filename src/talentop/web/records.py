"""One record of a patient as the data-management pages show it: which record it is (a
title a person recognises), its fields and current values, which of them may be corrected
(``services.data.records.FORMS``) or queried, its source-data verification in words, and
who may act on it (the permission table, with the site rule of the service that enters it).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import NotFound
from talentop.services.data.records import CATEGORIES, FORMS
from talentop.services.permissions import allowed
from talentop.web.forms import Input, choices
from talentop.web.render import KIND_LABELS
from talentop.web.steps import may_write

#: Source-data verification as the pages say it (``patient_data_status``'s ``sdv``).
SDV_LABELS = {
    "verified": "verified",
    "verification_cleared": "verification cleared",
    "changed_since_verification": "changed since verification",
    "not_verified": "not verified",
}
#: Correction categories (the reason's kind) in words.
CATEGORY_LABELS = {
    "transcription_error": "Transcription error",
    "source_corrected": "Source document corrected",
    "late_result": "Late result",
    "other": "Other",
}
assert set(CATEGORY_LABELS) == set(CATEGORIES)
CATEGORY_INPUT = Input(
    "category",
    "Kind of correction",
    "select",
    choices=tuple(CATEGORY_LABELS.items()),
    required=True,
)
#: Columns that are bookkeeping, not data a person entered.
NOT_DATA = frozenset({"id", "patient_id", "created_at", "record_json"})


def find(records: list[dict[str, Any]], entity: str, entity_id: int) -> dict[str, Any]:
    """The timeline record ``entity`` ``entity_id``, or ``NotFound``."""
    for record in records:
        if record["kind"] == entity and record["id"] == entity_id:
            return record
    raise NotFound(f"{entity}: no record {entity_id} of this patient")


def screening_record(data: dict[str, Any]) -> dict[str, Any]:
    """The typed screening fields of a screening row (its ``record_json``)."""
    raw = data.get("record_json")
    return json.loads(raw) if isinstance(raw, str) else {}


def current(data: dict[str, Any], field: str) -> Any:
    """The stored value of ``field`` (``record.<name>`` for a screening field)."""
    if field.startswith("record."):
        return screening_record(data).get(field.removeprefix("record."))
    return data.get(field)


def as_text(value: Any) -> str:
    """A stored value as it would be typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def correctable(entity: str, data: dict[str, Any]) -> list[str]:
    """The fields of the record a correction may change."""
    if entity not in FORMS:
        return []
    fields = [f for f in FORMS[entity].fields if f != "record"]
    if entity == "screenings":
        fields += [f"record.{name}" for name in sorted(screening_record(data))]
    return fields


def queryable(data: dict[str, Any]) -> list[str]:
    """The fields a query may sit on (every data column; screening fields one by one)."""
    fields = [k for k in data if k not in NOT_DATA]
    return fields + [f"record.{name}" for name in sorted(screening_record(data))]


def field_choices(fields: list[str], data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(field, "field (now: value)") for a select."""
    out = []
    for name in fields:
        now = as_text(current(data, name))
        words = name.removeprefix("record.").replace("_", " ")
        out.append((name, f"{words} (now: {now})" if now else f"{words} (now empty)"))
    return tuple(out)


def title(record: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """A record as a person recognises it: "Lesion measurement T1, visit 2025-03-17"."""
    kind = KIND_LABELS.get(record["kind"], record["kind"].replace("_", " "))
    data = record["data"]
    if record["kind"] == "lesion_measurements":
        lesion = next((r for r in records if r["kind"] == "lesions" and r["id"] == data.get("lesion_id")), None)  # fmt: skip
        visit = next((r for r in records if r["kind"] == "assessment_visits" and r["id"] == data.get("visit_id")), None)  # fmt: skip
        code = lesion["data"].get("code") if lesion else data.get("lesion_id")
        return f"{kind} {code}" + (f", visit {visit['date']}" if visit else "")
    if record["kind"] == "lesions":
        return f"{kind} {data.get('code', record['id'])}"
    for key in ("test", "drug", "term", "name", "condition", "modality"):
        if data.get(key):
            return f"{kind}: {data[key]}" + (f", {record['date']}" if record.get("date") else "")
    return f"{kind} #{record['id']}" + (f", {record['date']}" if record.get("date") else "")


def measurements_of(visit: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lesion measurements of an assessment visit, each with its lesion's code."""
    codes = {r["id"]: r["data"].get("code") for r in records if r["kind"] == "lesions"}
    out = []
    for r in records:
        if r["kind"] == "lesion_measurements" and r["data"].get("visit_id") == visit["id"]:
            out.append({**r, "code": codes.get(r["data"].get("lesion_id"), "?")})
    return sorted(out, key=lambda r: str(r["code"]))


def may_correct(role: str, user_site_id: int | None, entity: str, patient_site_id: int) -> bool:
    """Whether the user may enter (so correct) this kind of record at the patient's site."""
    if entity not in FORMS:
        return False
    return may_write(role, user_site_id, FORMS[entity].service, patient_site_id)


def abilities(role: str) -> dict[str, bool]:
    """The data-management actions the role grants (the permission table)."""
    return {
        "query": allowed(role, "manage_queries"),
        "verify": allowed(role, "verify_source"),
        "lock": allowed(role, "lock"),
        "audit": allowed(role, "read_audit"),
    }


def correction_inputs(fields: tuple[tuple[str, str], ...]) -> tuple[Input, ...]:
    """The correction form: field, new value, reason, category."""
    return (
        Input("field", "Field to correct", "select", choices=fields, required=True),
        Input("value", "New value", hint="as on the source document; empty clears the value"),
        Input(
            "reason",
            "Reason for the correction",
            "textarea",
            required=True,
            hint="e.g. re-measured on the source CT; kept with the old and the new value",
        ),  # fmt: skip
        CATEGORY_INPUT,
    )


def query_inputs(fields: tuple[tuple[str, str], ...]) -> tuple[Input, ...]:
    """Raising a query: the field and the question."""
    return (
        Input("field", "Field the query is about", "select", choices=fields, required=True),
        Input(
            "text",
            "Question to the site",
            "textarea",
            required=True,
            hint="e.g. 36 mm on the CRF, 54 mm in the radiology report?",
        ),  # fmt: skip
    )


LOCK_INPUTS = (
    Input(
        "reason",
        "Reason for the lock",
        "textarea",
        required=True,
        hint="e.g. cleaned for the interim analysis",
    ),  # fmt: skip
)
UNLOCK_INPUTS = (
    Input(
        "reason",
        "Reason for lifting the lock",
        "textarea",
        required=True,
        hint="e.g. query answered after the freeze",
    ),  # fmt: skip
)
__all__ = ["CATEGORY_INPUT", "LOCK_INPUTS", "SDV_LABELS", "UNLOCK_INPUTS", "choices"]
