"""Trial conduct by arm for the report: informed consent and its withdrawals, concomitant
medication by the protocol's classes with the medication rules' findings, medical history.

ICH E3 10.1-10.2 asks a study report for the disposition of patients (consent, withdrawal
and why) and for concomitant therapy by group; ICH E6(R3) 2.8 for consent and its
re-consent. Counts are patients (not records) unless named otherwise; "-" is the column of
patients not randomised.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from talentop.protocol.conduct import CONSENT_SCOPES
from talentop.services._context import Context
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.services.consent import reconsent_form
from talentop.services.consent_rules import consents, covers, withdrawals
from talentop.services.medication import patient_findings
from talentop.services.states import STATES
from talentop.store import models as m
from talentop.store import queries
from talentop.store.read_queries import patients_in_states


@service
def conduct_summary(ctx: Context) -> dict[str, Any]:
    """Per arm (the protocol's arms, then "-"): patients, patients consented (and to each
    optional scope), withdrawals per scope, patients due to re-consent; patients with a
    concomitant medication of each class, patients with each rule's finding; patients
    with a medical history entry."""
    arms = [a.id for a in ctx.protocol.arms] + ["-"]
    patients: Counter = Counter()
    consent: dict[str, Counter] = {arm: Counter() for arm in arms}
    withdrawn: dict[str, Counter] = {arm: Counter() for arm in arms}
    medication: dict[str, Counter] = {arm: Counter() for arm in arms}
    findings: dict[str, Counter] = {arm: Counter() for arm in arms}
    history: Counter = Counter()
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "conduct_summary")
        today = ctx.today()
        for patient, _site in patients_in_states(session, scope.sql_filter(), STATES):
            arm = patient.arm or "-"
            patients[arm] += 1
            signed = consents(session, patient.id)
            gone = withdrawals(session, patient.id)
            if signed:
                consent[arm]["consented"] += 1
                for name in CONSENT_SCOPES:
                    consent[arm][name] += any(covers(c, name) for c in signed)
                if reconsent_form(ctx.protocol, patient, signed[-1], gone, today) is not None:
                    consent[arm]["reconsent_due"] += 1
            for name in gone:
                withdrawn[arm][name] += 1
            meds = queries.rows_for(session, m.ConcomitantMedication, patient.id)
            for klass in {med.drug_class or "other" for med in meds}:
                medication[arm][klass] += 1
            medication[arm]["any"] += bool(meds)
            found = patient_findings(session, ctx.protocol, patient.id, today, meds)
            for rule in {f.rule for f in found}:
                findings[arm][rule] += 1
            history[arm] += bool(queries.rows_for(session, m.MedicalHistory, patient.id))
    classes = [c.id for c in ctx.protocol.medication.classes]
    labels = {c.id: c.label or c.id for c in ctx.protocol.medication.classes}
    return {
        "arms": arms,
        "patients": {arm: patients[arm] for arm in arms},
        "consent": {
            key: {arm: consent[arm][key] for arm in arms}
            for key in ("consented", *CONSENT_SCOPES, "reconsent_due")
        },
        "withdrawals": {
            name: {arm: withdrawn[arm][name] for arm in arms} for name in CONSENT_SCOPES
        },
        "medication": [
            {
                "class": klass,
                "label": labels.get(klass, klass),
                **{arm: medication[arm][klass] for arm in arms},
            }
            for klass in [*classes, "other", "any"]
        ],  # fmt: skip
        "findings": [
            {"rule": rule.id, "text": rule.text, **{arm: findings[arm][rule.id] for arm in arms}}
            for rule in ctx.protocol.medication.rules
        ],
        "medical_history": {arm: history[arm] for arm in arms},
    }
