"""Date floors of a drug administration: when in the patient's path a dose may be dated.

- Induction doses: on or after the screening and the induction start (a dose cannot precede
  the decision that the patient is eligible, nor the treatment it belongs to).
- Continued / maintenance doses: on or after randomisation; maintenance doses on or after
  the maintenance start.
- Bevacizumab after surgery: not sooner than ``surgery.bevacizumab_restart_min_days`` (label:
  >= 28 days after major surgery, wound healed). As the washout before surgery
  (``record_surgery``): refused with ``ProtocolViolation`` unless an ``override_reason`` is
  given, then recorded as a protocol deviation.
- The arm's drugs (``arms[].drugs``): a drug the patient's arm does not give is refused
  (TALENTACE arm B: TACE alone); with ``drugs_after_local_therapy`` the first dose comes on
  or after the first local therapy (TALENTACE arm A: atezo/bev after the first TACE).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, not_before, violation
from talentop.services.states import INDUCTION, MAINTENANCE, RANDOMISED, SCREENED
from talentop.store import models as m
from talentop.store import path_queries, queries

#: The drug whose restart after surgery the protocol times (surgery.bevacizumab_restart_min_days).
RESTART_DRUG = "bevacizumab"

Steps = list[tuple[str, dt.date | None]]


def step_date(
    session: Any, patient: m.Patient, to_state: str, steps: Steps | None = None
) -> dt.date | None:
    """The date the patient first entered ``to_state`` (state history), or None. ``steps``:
    the history already read (``path_queries.state_steps``)."""
    if steps is None:
        steps = path_queries.state_steps(session, patient.id)
    for state, on_date in steps:
        if state == to_state:
            return on_date
    return None


def check_dose_dates(
    session: Any,
    ctx: Context,
    patient: m.Patient,
    phase: str,
    drug: str,
    on: dt.date,
    *,
    state: str,
    override_reason: str | None = None,
    steps: Steps | None = None,
) -> str | None:
    """Refuse a dose dated before its phase could start; returns a deviation note for an
    overridden early bevacizumab restart after surgery (else None). ``steps``: the state
    history if the caller read it already."""
    if steps is None:
        steps = path_queries.state_steps(session, patient.id)
    if phase == "induction":
        screened = step_date(session, patient, SCREENED, steps)
        started = step_date(session, patient, INDUCTION, steps)
        floors = [d for d in (screened, started) if d is not None]
        if floors and on < max(floors):
            raise InvalidInput.field(
                "given_on",
                on.isoformat(),
                f"on or after the induction start ({started}) and the screening ({screened})",
            )
        return None
    not_before("given_on", on, step_date(session, patient, RANDOMISED, steps), "randomisation")
    _check_arm_drug(session, ctx, patient, drug, on, state)
    if phase == "maintenance":
        not_before(
            "given_on",
            on,
            step_date(session, patient, MAINTENANCE, steps),
            "the maintenance start",
        )
    if drug != RESTART_DRUG:
        return None
    surgery_date = path_queries.latest_surgery_date(session, patient.id)
    if surgery_date is None or on < surgery_date:
        return None
    minimum = ctx.protocol.surgery.bevacizumab_restart_min_days
    days = (on - surgery_date).days
    if days >= minimum:
        return None
    if not override_reason:
        raise violation(
            f"{RESTART_DRUG} on {on} is {days} days after surgery ({surgery_date}); "
            "give override_reason to proceed",
            state=state,
            rule=f"{RESTART_DRUG} restarts >= {minimum} days after surgery "
            "(protocol surgery.bevacizumab_restart_min_days)",
        )
    return f"{RESTART_DRUG} {days} days after surgery (< {minimum}); override: {override_reason}"


def _check_arm_drug(
    session: Any, ctx: Context, patient: m.Patient, drug: str, on: dt.date, state: str
) -> None:
    arm = ctx.protocol.arm(patient.arm or "")
    if arm.drugs is not None and drug not in arm.drugs:
        raise violation(
            f"arm {arm.id} gives no {drug}",
            state=state,
            rule=f"arm {arm.id} drugs: {arm.drugs or 'none'} (protocol arms[].drugs)",
        )
    if arm.drugs_after_local_therapy:
        first = queries.rows_for(session, m.LocalTherapy, patient.id, m.LocalTherapy.performed_on)
        if not first or on < first[0].performed_on:
            when = f"on {first[0].performed_on}" if first else "not yet recorded"
            raise violation(
                f"{drug} on {on} before the first local therapy ({when})",
                state=state,
                rule=f"arm {arm.id} starts its drugs after the first local therapy",
            )
