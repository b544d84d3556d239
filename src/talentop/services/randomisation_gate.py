"""Who may be randomised, and from when: the protocol's ``randomisation.timing``.

- ``after_induction`` (TALENTOP): an ``assessed`` patient whose best response is in
  ``assessment.randomisable_responses`` and whom the MDT judged resectable; randomised on or
  after that MDT review.
- ``at_entry`` (TALENTACE): an eligible ``screened`` patient, before any treatment; randomised
  on or after the screening.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import AllocationError
from talentop.services._context import Context, violation
from talentop.services.mdt import latest_review
from talentop.services.states import ASSESSED, SCREENED
from talentop.store import models as m
from talentop.store import queries


def check_randomisable(
    session: Any, ctx: Context, patient: m.Patient, facts: Any = None
) -> tuple[dt.date, str]:
    """Refuse (``ProtocolViolation``) a patient the protocol's gate does not let through;
    return the date randomisation may not precede and what it is. ``facts``: the patient's
    ``path_queries.RandomisationFacts`` if already read (its latest response and MDT review
    are the ones checked here)."""
    rules = ctx.protocol.randomisation
    if rules.scheme not in ("permuted_block", "minimisation"):
        raise AllocationError(f"randomisation.scheme={rules.scheme!r}: no such scheme")
    if rules.timing == "at_entry":
        if patient.state != SCREENED:
            raise violation(
                f"patient is {patient.state}",
                state=patient.state,
                rule="randomisation at entry: an eligible screened patient, before any treatment",
            )
        screening = queries.latest(session, m.Screening, patient.id, m.Screening.screened_on)
        return screening.screened_on, "the screening"
    if patient.state != ASSESSED:
        raise violation(
            f"patient is {patient.state}",
            state=patient.state,
            rule="randomisation after induction: a completed response assessment comes first",
        )
    if facts is not None:
        response, review = facts.response, facts.review
    else:
        response = queries.latest_response(session, patient.id, ctx.protocol.assessment.criteria)
        review = latest_review(session, patient.id, "randomisation")
    allowed = ctx.protocol.assessment.randomisable_responses
    if response is None or response.best_overall_response not in allowed:
        bor = None if response is None else response.best_overall_response
        raise violation(
            f"best overall response {bor} is not randomisable",
            state=patient.state,
            rule=f"only {', '.join(allowed)} are randomised",
        )
    if review is None or not review.resectable:
        raise violation(
            "no resectable MDT decision on record",
            state=patient.state,
            rule=f"the MDT ({ctx.protocol.mdt.rule} rule) must judge the patient resectable",
        )
    return review.review_date, "the MDT review"
