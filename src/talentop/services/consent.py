"""Informed consent: signed forms (version, scopes, who took it), withdrawal per scope, the
patients who must re-consent on a new form version.

The gate that honours consent in every other service is ``consent_rules.require_consent``
(called by ``_context.enter``): nothing before consent, nothing of a withdrawn scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field

from talentop.errors import InvalidInput
from talentop.protocol.conduct import CONSENT_SCOPES, Scope
from talentop.services._context import Context, enter_any, event_date, not_before
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, redact, require_patient
from talentop.services.consent_rules import (
    consents,
    covers,
    implied_scopes,
    in_force,
    withdrawals,
)
from talentop.services.states import DIED, REGISTERED, SCREEN_FAILED, STATES
from talentop.store import models as m
from talentop.store import queries, read_queries, writes

Person = Annotated[str, Field(min_length=1, max_length=200)]


@service
def record_consent(
    ctx: Context,
    patient_id: RecordId,
    consented_on: dt.date | str,
    *,
    form_version: Annotated[str, Field(min_length=1, max_length=32)],
    obtained_by: Person,
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=4)],
    witness: Person | None = None,
) -> dict[str, Any]:
    """A signed consent form: the protocol's form ``form_version`` in force on the date,
    the person who conducted the discussion, the scopes consented to (``treatment``,
    ``follow_up``, ``data_use``, ``biobank``). A later form is a re-consent. A withdrawn
    scope cannot be consented again (a withdrawal is final)."""
    on = event_date(ctx, "consented_on", consented_on)
    form = ctx.protocol.consent.form(form_version)
    if form is None:
        versions = [f.version for f in ctx.protocol.consent.forms]
        raise InvalidInput.field("form_version", form_version, f"one of the protocol's {versions}")
    current = ctx.protocol.consent.in_force(on)
    if current is None or current.version != form.version:
        expected = (
            f"the form in force on {on} ({current.version})"
            if current
            else f"a date on or after {form.effective_on} (form {form.version} takes effect)"
        )
        raise InvalidInput.field("form_version", form_version, expected)
    with ctx.store.unit_of_work() as session:
        patient = enter_any(session, ctx, patient_id, "record_consent")
        withdrawn = withdrawals(session, patient.id)
        again = sorted(set(scopes) & set(withdrawn))
        if again:
            raise InvalidInput.field(
                "scopes",
                again,
                f"scopes not withdrawn (withdrawn on {withdrawn[again[0]].withdrawn_on}; a "
                "withdrawal is final)",
            )
        previous = in_force(session, patient.id, None)
        if previous is not None:
            not_before("consented_on", on, previous.consented_on, "the previous consent")
        row = writes.insert(
            session,
            ctx.actor,
            m.Consent(
                patient_id=patient.id,
                consented_on=on,
                form_version=form.version,
                obtained_by=obtained_by,
                witness=witness,
                **{f"scope_{scope}": scope in scopes for scope in CONSENT_SCOPES},
            ),
        )
        return {
            "consent_id": row.id,
            "kind": "initial" if previous is None else "reconsent",
            "form_version": form.version,
            "scopes": [s for s in CONSENT_SCOPES if s in scopes],
        }


@service
def withdraw_consent(
    ctx: Context,
    patient_id: RecordId,
    withdrawn_on: dt.date | str,
    *,
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=4)],
    reason: Annotated[str, Field(max_length=10_000)] | None = None,
) -> dict[str, Any]:
    """Withdraw consent to ``scopes`` (and what they imply: ``data_use`` -> no follow-up and
    no treatment; ``follow_up`` -> no treatment). Biobank withdrawn: the patient's samples
    are flagged for destruction. Returns what was withdrawn and what it stops."""
    on = event_date(ctx, "withdrawn_on", withdrawn_on)
    with ctx.store.unit_of_work() as session:
        patient = enter_any(session, ctx, patient_id, "withdraw_consent")
        signed = consents(session, patient.id)
        if not signed:
            raise InvalidInput.field(
                "scopes", scopes, "a patient with a consent on record (nothing to withdraw)"
            )
        not_before("withdrawn_on", on, signed[0].consented_on, "the first consent")
        already = withdrawals(session, patient.id)
        new = {s: by for s, by in implied_scopes(list(scopes)).items() if s not in already}
        if not new:
            raise InvalidInput.field("scopes", scopes, "scopes not already withdrawn")
        for scope in CONSENT_SCOPES:
            if scope in new:
                writes.insert(
                    session,
                    ctx.actor,
                    m.ConsentWithdrawal(
                        patient_id=patient.id,
                        withdrawn_on=on,
                        scope=scope,
                        implied_by=new[scope],
                        reason=reason,
                    ),
                )
        flagged = []
        if "biobank" in new:
            for specimen in queries.rows_for(session, m.Biospecimen, patient.id):
                if specimen.destruction_requested_on is None:
                    writes.update(session, ctx.actor, specimen, destruction_requested_on=on)
                    flagged.append(specimen.id)
        return {
            "withdrawn": [s for s in CONSENT_SCOPES if s in new],
            "implied": {s: by for s, by in new.items() if by is not None},
            "specimens_flagged_for_destruction": flagged,
            "follow_up_stops": "follow_up" in new,
            "treatment_stops": "treatment" in new,
            "state": patient.state,
        }


def _status(session: Any, protocol: Any, patient: m.Patient, today: dt.date) -> dict[str, Any]:
    signed = consents(session, patient.id)
    withdrawn = withdrawals(session, patient.id)
    latest = signed[-1] if signed else None
    due = reconsent_form(protocol, patient, latest, withdrawn, today)
    return {
        "patient_id": patient.id,
        "consents": [
            {
                "consent_id": c.id,
                "consented_on": c.consented_on.isoformat(),
                "form_version": c.form_version,
                "obtained_by": c.obtained_by,
                "witness": c.witness,
                "scopes": [s for s in CONSENT_SCOPES if covers(c, s)],
            }
            for c in signed
        ],
        "withdrawals": [
            {
                "scope": w.scope,
                "withdrawn_on": w.withdrawn_on.isoformat(),
                "implied_by": w.implied_by,
                "reason": w.reason,
            }
            for w in withdrawn.values()
        ],
        "in_force": {
            scope: latest is not None and covers(latest, scope) and scope not in withdrawn
            for scope in CONSENT_SCOPES
        },
        "reconsent_due": None if due is None else due.version,
    }


def reconsent_form(
    protocol: Any,
    patient: m.Patient,
    latest: m.Consent | None,
    withdrawn: dict[str, Any],
    today: dt.date,
) -> Any:
    """The newest re-consent form in force that a patient on study has not signed, or None.

    On study: consented, not screen-failed or died, follow-up consent not withdrawn
    (a patient no longer followed is not asked to re-consent)."""
    if latest is None or patient.state in (REGISTERED, SCREEN_FAILED, DIED):
        return None
    if "follow_up" in withdrawn:
        return None
    signed = protocol.consent.form(latest.form_version)
    signed_from = signed.effective_on if signed else dt.date.min
    due = [
        f
        for f in protocol.consent.forms
        if f.reconsent_required and signed_from < f.effective_on <= today
    ]
    return due[-1] if due else None


@service
def consent_status(ctx: Context, patient_id: RecordId) -> dict[str, Any]:
    """The patient's signed forms, withdrawals, what is in force and any re-consent due."""
    with ctx.store.read_only() as session:
        patient, scope = require_patient(session, ctx, "consent_status", patient_id)
        status = _status(session, ctx.protocol, patient, ctx.today())
        status["withdrawals"] = [redact(scope, w) for w in status["withdrawals"]]
        if scope.pseudonymised:
            for c in status["consents"]:
                c.pop("obtained_by"), c.pop("witness")
        return status


@service
def reconsent_due(ctx: Context) -> list[dict[str, Any]]:
    """Patients on study (within the caller's scope) who must sign a newer consent form
    (ICH E6(R3) 2.8.2: revised consent when new information may affect willingness to
    continue), with the version signed, the version due and since when."""
    out = []
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "reconsent_due")
        rows = read_queries.patients_in_states(session, scope.sql_filter(), STATES)
        today = ctx.today()
        for patient, site in rows:
            signed = consents(session, patient.id)
            if not signed:
                continue
            withdrawn = withdrawals(session, patient.id)
            form = reconsent_form(ctx.protocol, patient, signed[-1], withdrawn, today)
            if form is not None:
                out.append(
                    {
                        "patient_id": patient.id,
                        "pseudo_id": patient.pseudo_id,
                        "site": site,
                        "state": patient.state,
                        "signed_version": signed[-1].form_version,
                        "due_version": form.version,
                        "due_since": form.effective_on.isoformat(),
                    }
                )
    return out
