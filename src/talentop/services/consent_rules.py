"""The consent gate every patient service passes (``_context.enter`` / ``enter_any``).

No trial procedure is recorded before informed consent (ICH E6(R3) 2.8.7: the form is
signed and dated before participation), and a withdrawal is honoured: no new record of a
withdrawn scope dated on or after the withdrawal. Records dated before a withdrawal stay
allowed (late entry of data collected while consent was in force; FDA guidance "Data
Retention When Subjects Withdraw from FDA-Regulated Clinical Trials", 2008). Safety
reporting (adverse events, SAE reports, deaths) is never blocked by a withdrawal: the
investigator's duty to report does not end with it (ICH E6(R3) 2.7; 21 CFR 312.64(b)).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol.conduct import SCOPE_IMPLIES
from talentop.store import models as m
from talentop.store import path_queries, queries

#: The rule a record before consent breaks, as ``ProtocolViolation.rule`` names it.
CONSENT_FIRST = "informed consent before any trial procedure (ICH E6(R3) 2.8.7)"
#: The rule a record of a withdrawn scope breaks.
WITHDRAWAL_HONOURED = (
    "a withdrawal of consent is honoured: no new data of a withdrawn scope (ICH E6(R3) 2.8)"
)

#: service -> the consent scope its records need (``None``: a consent on record, but never
#: blocked by a withdrawal). Services not listed are not gated (registration, consent itself,
#: deviations, discontinuation and decline, which record what a withdrawal causes).
SERVICE_SCOPE: dict[str, str | None] = {
    "screen_patient": "follow_up",
    "record_lab": "follow_up",
    "record_imaging": "follow_up",
    "record_lesions_baseline": "follow_up",
    "record_assessment": "follow_up",
    "complete_assessment": "follow_up",
    "record_follow_up": "follow_up",
    "record_new_therapy": "follow_up",
    "record_complication": "follow_up",
    "record_conmed": "follow_up",
    "record_medical_history": "follow_up",
    "start_induction": "treatment",
    "record_dose": "treatment",
    "record_mdt_review": "treatment",
    "cast_mdt_vote": "treatment",
    "randomise": "treatment",
    "flag_for_resectability_review": "treatment",
    "switch_to_surgery": "treatment",
    "record_surgery": "treatment",
    "start_maintenance": "treatment",
    "record_biospecimen": "biobank",
    "record_adverse_event": None,
    "report_sae": None,
    "record_sae_follow_up": None,
}


def covers(consent: Any, scope: str) -> bool:
    """Whether a signed form (a ``Consent`` or a row with its ``scope_*`` columns) covers
    ``scope``."""
    return bool(getattr(consent, f"scope_{scope}"))


def consents(session: Any, patient_id: int) -> list[m.Consent]:
    """The patient's signed forms, oldest first."""
    return queries.rows_for(session, m.Consent, patient_id, m.Consent.consented_on)


def withdrawals(session: Any, patient_id: int) -> dict[str, m.ConsentWithdrawal]:
    """scope -> its withdrawal (implied scopes included)."""
    rows = queries.rows_for(session, m.ConsentWithdrawal, patient_id)
    return {row.scope: row for row in rows}


def in_force(session: Any, patient_id: int, on: dt.date | None) -> m.Consent | None:
    """The latest form signed on or before ``on`` (any, if ``on`` is None)."""
    signed = [c for c in consents(session, patient_id) if on is None or c.consented_on <= on]
    return signed[-1] if signed else None


def scope_open(session: Any, patient_id: int, scope: str, on: dt.date | None) -> bool:
    """Whether ``scope`` is consented on ``on`` and not withdrawn on or before it."""
    consent = in_force(session, patient_id, on)
    if consent is None or not covers(consent, scope):
        return False
    withdrawal = withdrawals(session, patient_id).get(scope)
    return withdrawal is None or (on is not None and on < withdrawal.withdrawn_on)


def _refuse(service: str, patient: m.Patient, message: str, rule: str) -> ProtocolViolation:
    return ProtocolViolation(
        f"{service} refused: patient {patient.id} {message} (state '{patient.state}'; "
        f"rule: {rule})",
        state=patient.state,
        rule=rule,
    )


def consent_scope(service: str) -> str | None:
    """The ``scope`` parameter of the consent gate ``require_consent`` reads for
    ``service`` (``path_queries.consent_gate``), or None when the service has no gate."""
    if service not in SERVICE_SCOPE:
        return None
    return SERVICE_SCOPE[service] or ""  # a gate of no particular scope: the form itself


def require_consent(
    session: Any, patient: m.Patient, service: str, on: dt.date | None = None
) -> None:
    """``ProtocolViolation`` naming the rule unless the patient's consent allows ``service``
    on ``on`` (the record's date; None: now)."""
    if service not in SERVICE_SCOPE:
        return
    scope = SERVICE_SCOPE[service]
    # one statement: the forms oldest first, each with the scope's withdrawal date
    signed = path_queries.consent_gate(session, patient.id, consent_scope(service))
    if not signed:
        raise _refuse(service, patient, "has no informed consent on record", CONSENT_FIRST)
    in_time = [c for c in signed if on is None or c.consented_on <= on]
    consent = in_time[-1] if in_time else None
    if consent is None:
        raise _refuse(
            service,
            patient,
            f"consented on {signed[0].consented_on}, after this record's date {on}",
            CONSENT_FIRST,
        )
    if scope is None:
        return
    if not covers(consent, scope):
        raise _refuse(
            service,
            patient,
            f"did not consent to {scope} (form {consent.form_version} of {consent.consented_on})",
            CONSENT_FIRST,
        )
    withdrawn_on = consent.withdrawn_on
    if withdrawn_on is not None and (on is None or on >= withdrawn_on):
        raise _refuse(
            service,
            patient,
            f"withdrew consent to {scope} on {withdrawn_on}",
            WITHDRAWAL_HONOURED,
        )


def implied_scopes(scopes: list[str]) -> dict[str, str | None]:
    """scope -> the requested scope that implies it (None for a requested one)."""
    out: dict[str, str | None] = {scope: None for scope in scopes}
    for scope in scopes:
        for implied in SCOPE_IMPLIES[scope]:
            out.setdefault(implied, scope)
    return out


def screening_facts(
    session: Any, protocol: Any, patient: m.Patient, record: dict[str, Any], on: dt.date
) -> dict[str, Any]:
    """The screening record with ``informed_consent`` from the consent records: the form in
    force on the screening date covers the protocol's required scopes and none of them is
    withdrawn. An ``age_years`` the registered birth year contradicts (someone born in Y is
    ``year - Y - 1`` or ``year - Y`` years old) is ``InvalidInput``."""
    out = dict(record)
    out["informed_consent"] = all(
        scope_open(session, patient.id, scope, on) for scope in protocol.consent.required_scopes
    )
    given = out.get("age_years")
    if patient.birth_year is not None and given is not None and not isinstance(given, bool):
        oldest = on.year - patient.birth_year
        try:
            age = float(given)
        except (TypeError, ValueError):
            return out  # the eligibility engine reports the malformed value
        if age not in (oldest - 1, oldest):
            raise InvalidInput.field(
                "age_years",
                given,
                f"{oldest - 1} or {oldest} (born {patient.birth_year}, screened {on})",
            )
    return out
