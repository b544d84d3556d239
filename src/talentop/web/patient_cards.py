"""What the patient page shows besides the path: data management (source-data
verification and locks per record, data queries with their history, corrections,
signatures) and trial conduct (consent, adverse events with their SAE reports, medication
and medical history with the protocol's findings). Every value comes from a service read,
within the user's scope; what the user may do comes from the permission table."""

from __future__ import annotations

from typing import Any

from talentop import services as sv
from talentop.services.data.signatures import CASE_REPORT_ROLES
from talentop.services.permissions import allowed
from talentop.web.records import SDV_LABELS, abilities, may_correct, measurements_of
from talentop.web.steps import may_write


def data_cards(page: Any, patient_id: int, site_id: int, records: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """Per-record SDV/lock marks, the record actions, queries, corrections, signatures."""
    ctx, user = page.ctx, page.user
    status = sv.patient_data_status(ctx, patient_id)
    marks = {(f["entity"], int(f["entity_id"])): f for f in status["forms"]}
    queries = sv.list_queries(ctx, patient_id=patient_id, limit=500).items
    open_on = {}
    for query in queries:
        if query["state"] != "closed":
            key = (query["entity"], int(query["entity_id"]))
            open_on[key] = open_on.get(key, 0) + 1
    role = user.role
    correctable = {
        kind
        for kind in {r["kind"] for r in records}
        if may_correct(role, user.site_id, kind, site_id)
    }
    locks = [lock for lock in sv.list_locks(ctx) if lock["patient_id"] in (patient_id, None)]
    return {
        "marks": marks,
        "open_on": open_on,
        "correctable": correctable,
        "sdv_labels": SDV_LABELS,
        "measurements": {
            r["id"]: measurements_of(r, records)
            for r in records
            if r["kind"] == "assessment_visits"
        },
        "queries": queries,
        "corrections": status["corrections"],
        "signatures": sv.list_signatures(ctx, patient_id=patient_id),
        "locks": locks,
        "can": abilities(role),
        "can_sign_case": role in CASE_REPORT_ROLES and allowed(role, "sign"),
    }


def conduct_cards(page: Any, patient_id: int, site_id: int, records: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """Consent, adverse events with their SAE report (or the button to report one),
    medication, medical history and the protocol's medication findings."""
    ctx, user = page.ctx, page.user
    reports = {r["data"].get("adverse_event_id"): r for r in records if r["kind"] == "sae_reports"}  # fmt: skip
    events = [
        {"ae": r, "report": reports.get(r["id"])} for r in records if r["kind"] == "adverse_events"
    ]
    return {
        "consent": sv.consent_status(ctx, patient_id),
        "events": events,
        "medication": sv.medication_checks(ctx, patient_id),
        "may_consent": may_write(user.role, user.site_id, "withdraw_consent", site_id),
        "may_report_sae": may_write(user.role, user.site_id, "report_sae", site_id),
    }
