"""Screen one patient against a protocol's eligibility criteria (rules are protocol data).

Each criterion is ``met``, ``not_met`` or ``missing`` (a value it needs is absent), with
the values used and a human reason. Overall: ``ineligible`` if any criterion is not met,
else ``incomplete`` if any is missing, else ``eligible``.

Patient fields (names carry their units) are documented in ``talentop.clinical.fields``;
derived quantities a rule may name (``child_pugh_grade``, ``rlv_pct``,
``macrovascular_invasion``, ``ast_x_uln``...) are listed in
``talentop.clinical.rules.DERIVED``. Rules are evaluated by ``talentop.clinical.rules``
(a small vocabulary, no ``eval``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from talentop.clinical.fields import coerce_patient
from talentop.clinical.rules import evaluate_rule

if TYPE_CHECKING:
    from talentop.protocol import Protocol

__all__ = ["CriterionResult", "EligibilityResult", "evaluate_eligibility"]

CriterionStatus = Literal["met", "not_met", "missing"]
Verdict = Literal["eligible", "ineligible", "incomplete"]


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict for one patient."""

    id: str
    text: str
    status: CriterionStatus
    values: dict[str, Any]
    reason: str
    missing_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "id": self.id,
            "text": self.text,
            "status": self.status,
            "values": dict(self.values),
            "reason": self.reason,
            "missing_fields": list(self.missing_fields),
        }


@dataclass(frozen=True)
class EligibilityResult:
    """A patient's screening verdict under one protocol, criterion by criterion."""

    patient_id: str | None
    protocol_id: str
    status: Verdict
    criteria: tuple[CriterionResult, ...]

    @property
    def eligible(self) -> bool:
        """True only for a complete, all-met screening."""
        return self.status == "eligible"

    @property
    def failed(self) -> list[str]:
        """Ids of criteria not met."""
        return [c.id for c in self.criteria if c.status == "not_met"]

    @property
    def missing(self) -> list[str]:
        """Ids of criteria that could not be decided for lack of data."""
        return [c.id for c in self.criteria if c.status == "missing"]

    def criterion(self, criterion_id: str) -> CriterionResult:
        """The result of one criterion by id."""
        for result in self.criteria:
            if result.id == criterion_id:
                return result
        raise KeyError(criterion_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (what ``talentop screen --json`` prints per patient)."""
        return {
            "patient_id": self.patient_id,
            "protocol": self.protocol_id,
            "status": self.status,
            "failed": self.failed,
            "missing": self.missing,
            "criteria": [c.to_dict() for c in self.criteria],
        }


def _protocol(protocol: Protocol | str | Path) -> Protocol:
    if isinstance(protocol, str | Path):
        from talentop.protocol import load_protocol

        return load_protocol(protocol)
    return protocol


def evaluate_eligibility(
    patient: Mapping[str, Any], protocol: Protocol | str | Path
) -> EligibilityResult:
    """Screen ``patient`` (field -> value; text values are parsed) under ``protocol``.

    ``protocol`` is a loaded ``Protocol`` or a name/path for ``load_protocol``. Values
    that cannot be parsed or are implausible raise ``InvalidInput`` naming every bad
    field (a screening verdict on a typo would be worse than none).
    """
    protocol = _protocol(protocol)
    values = coerce_patient(patient)
    results = []
    for criterion in protocol.eligibility:
        outcome = evaluate_rule(criterion.rule, values)
        status: CriterionStatus = (
            "missing" if outcome.holds is None else ("met" if outcome.holds else "not_met")
        )
        results.append(
            CriterionResult(
                id=criterion.id,
                text=criterion.text,
                status=status,
                values=outcome.values,
                reason=outcome.reason,
                missing_fields=tuple(outcome.missing),
            )
        )
    if any(r.status == "not_met" for r in results):
        verdict: Verdict = "ineligible"
    elif any(r.status == "missing" for r in results):
        verdict = "incomplete"
    else:
        verdict = "eligible"
    patient_id = values.get("patient_id")
    return EligibilityResult(
        patient_id=None if patient_id is None else str(patient_id),
        protocol_id=protocol.id,
        status=verdict,
        criteria=tuple(results),
    )
