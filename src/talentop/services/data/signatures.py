"""Electronic signatures (21 CFR Part 11: 11.50 signature manifestation, 11.70 record
linking, 11.200 two identification components).

Signing needs the signer's password again (and a TOTP code where they use one): the
session alone is not a signature. The signature keeps the printed name, the UTC time, the
meaning ("entered", "reviewed", "approved") and the SHA-256 of the signed content, so a
later change of that content shows the signature as broken wherever it is listed.

What is signed:
- ``mdt_vote``: an MDT member's own vote (ballot), by that member;
- ``case_report``: a patient's case report at a milestone (end of induction, randomisation,
  end of treatment, end of study), by an investigator of the site: every clinical record of
  the patient at that moment;
- ``interim``: the interim analysis at a data cut-off, by the statistician: the ADTTE data
  set it is computed from.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from talentop.errors import InvalidInput, PermissionDenied, ProtocolViolation
from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, require_patient
from talentop.services.data.records import content, content_hash
from talentop.services.identity import totp as totp_codes
from talentop.services.identity.events import auth_event
from talentop.services.identity.passwords import verify_password
from talentop.services.permissions import acting_user, check_role
from talentop.store import dm_queries, queries, read_queries, writes
from talentop.store import models as m

MEANINGS = ("entered", "reviewed", "approved")
#: Who signs what besides the ``sign`` action of the permission table (the pages offer each
#: form only to these roles): a case report by the site's investigator, the interim
#: analysis by the statistician; an MDT member signs only their own vote.
CASE_REPORT_ROLES = ("investigator", "admin")
INTERIM_ROLES = ("statistician", "admin")
#: milestone -> states whose reaching completes it.
MILESTONES = {
    "end_of_induction": ("assessed", "not_randomised"),
    "randomisation": ("randomised",),
    "end_of_treatment": ("treatment_failed", "off_study"),
    "end_of_study": ("died", "off_study"),
}
#: Tables that are about the data, not the data: not part of a signed case report.
NOT_SIGNED = writes.DATA_MANAGEMENT | {"idempotency_keys", "mdt_ballots"}


def _case_report(session: Any, patient: m.Patient) -> list[Any]:
    rows = [("patients", patient), *read_queries.patient_records(session, patient.id)]
    return sorted(
        ([table, content(row)] for table, row in rows if table not in NOT_SIGNED),
        key=lambda item: (item[0], item[1].get("id", 0)),
    )


def _content(
    session: Any, ctx: Context, target: str, target_id: str, patient: m.Patient | None
) -> Any:
    """The signed content as it is now (the same function when signing and checking)."""
    if target == "mdt_vote":
        ballot = session.get(m.MdtBallot, int(target_id))
        return None if ballot is None else content(ballot)
    if target == "case_report":
        return _case_report(session, patient)
    if target == "interim":
        return _interim(ctx, target_id)
    raise InvalidInput.field("target", target, "mdt_vote, case_report or interim")


def _interim(ctx: Context, cutoff: str) -> Any:
    from talentop.services.endpoints import derive_endpoints

    frame = derive_endpoints(ctx, cutoff)
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _require_interim_signer(user: m.User | None) -> None:
    if user is not None and user.role not in INTERIM_ROLES:
        raise PermissionDenied(
            f"sign refused: the statistician signs the interim analysis, not a {user.role}"
        )


def _check_credentials(
    session: Any, ctx: Context, user: m.User, password: str, totp: str | None
) -> None:
    ok = verify_password(user.password_hash, password or "")
    if ok and user.totp_enabled:
        ok = totp is not None and totp_codes.accept(session, ctx.store, user, str(totp), ctx.now())
    if not ok:
        raise InvalidInput.field(
            "password",
            "******",
            "your own password (and TOTP code) again: the signature is refused",
        )


@service
def sign(
    ctx: Context,
    target: Literal["mdt_vote", "case_report", "interim"],
    *,
    meaning: Literal["entered", "reviewed", "approved"],
    password: str,
    totp: str | None = None,
    target_id: str | None = None,
    patient_id: RecordId | None = None,
    milestone: Literal["end_of_induction", "randomisation", "end_of_treatment", "end_of_study"]
    | None = None,
) -> dict[str, Any]:
    """Sign (see the module docstring); returns the signature as shown."""
    # The interim's content is derived before the write transaction opens: derive_endpoints
    # reads in a transaction of its own, which SQLite's write lock would refuse.
    interim = None
    if target == "interim":
        with ctx.store.read_only() as session:
            _require_interim_signer(acting_user(session, ctx.actor))
        interim = _interim(ctx, target_id) if target_id else None
    with ctx.store.unit_of_work() as session:
        user = acting_user(session, ctx.actor)
        if user is None:
            raise PermissionDenied("sign refused: 'system' cannot sign; a person signs")
        patient = None
        if target == "mdt_vote":
            ballot = (
                session.get(m.MdtBallot, int(target_id or 0))
                if (target_id or "").isdigit()
                else None
            )
            if ballot is None:
                raise InvalidInput.field("target_id", target_id, "the id of your MDT vote")
            if ballot.member != user.username:
                raise PermissionDenied(
                    f"sign refused: vote {ballot.id} is {ballot.member!r}'s; members sign their own vote"
                )
            # One's own vote is signed even after it decided the review (the patient then
            # leaves an MDT member's read scope): ownership is the check, not the scope.
            check_role(user.username, user.role, "sign")
            patient = queries.get(session, m.Patient, ballot.patient_id, what="patient")
            target_id = str(ballot.id)
        elif target == "case_report":
            if patient_id is None or milestone is None:
                raise InvalidInput("case_report: expected patient_id and milestone")
            if user.role not in CASE_REPORT_ROLES:
                raise PermissionDenied(
                    f"sign refused: an investigator signs the case report, not a {user.role}"
                )
            patient, _ = require_patient(session, ctx, "sign", patient_id)
            reached = {s.to_state for s in queries.rows_for(session, m.StateChange, patient.id)}
            if not reached & set(MILESTONES[milestone]):
                raise ProtocolViolation(
                    f"patient {patient.id} has not reached {milestone}",
                    state=patient.state,
                    rule=f"the case report is signed at {milestone} (states {list(MILESTONES[milestone])})",
                )
            target_id = f"{patient.id}:{milestone}"
        else:
            _require_interim_signer(user)
            read_scope(session, ctx, "sign")
            if not target_id:
                raise InvalidInput.field("target_id", target_id, "the data cut-off (YYYY-MM-DD)")
        _check_credentials(session, ctx, user, password, totp)
        signed = (
            interim if target == "interim" else _content(session, ctx, target, target_id, patient)
        )
        row = writes.insert(
            session,
            ctx.actor,
            m.Signature(
                patient_id=None if patient is None else patient.id,
                target=target,
                target_id=target_id,
                milestone=milestone,
                meaning=meaning,
                signer=user.username,
                printed_name=user.full_name or user.username,
                signed_at=ctx.now(),
                content_hash=content_hash(signed),
                content_json=json.dumps(signed, sort_keys=True, default=str),
            ),
        )
        auth_event(
            session,
            ctx.actor,
            "signed",
            user.username,
            user,
            f"{target} {target_id} ({meaning})",
            None,
            ctx.now(),
        )
        return signature_dict(row, "valid")


def signature_dict(row: m.Signature, status: str) -> dict[str, Any]:
    """A signature as Part 11 11.50 shows it: printed name, date and time, meaning."""
    return {
        "signature_id": row.id,
        "target": row.target,
        "target_id": row.target_id,
        "milestone": row.milestone,
        "patient_id": row.patient_id,
        "meaning": row.meaning,
        "signer": row.signer,
        "printed_name": row.printed_name,
        "signed_at": row.signed_at.isoformat() + "Z",
        "content_hash": row.content_hash,
        "status": status,
        "manifest": f"{row.printed_name}, {row.signed_at:%Y-%m-%d %H:%M:%S} UTC, {row.meaning}",
    }


def status_of(session: Any, ctx: Context, row: m.Signature) -> str:
    """ "valid" while the signed content is unchanged, else "broken"."""
    patient = None if row.patient_id is None else session.get(m.Patient, row.patient_id)
    try:
        now = _content(session, ctx, row.target, row.target_id, patient)
    except Exception:  # noqa: BLE001 - content that cannot be rebuilt is not the signed one
        return "broken"
    return "valid" if now is not None and content_hash(now) == row.content_hash else "broken"


@service
def list_signatures(ctx: Context, *, patient_id: RecordId | None = None) -> list[dict[str, Any]]:
    """Signatures (of one patient, or the trial's interim signatures), each with its status."""
    with ctx.store.read_only() as session:
        if patient_id is not None:
            require_patient(session, ctx, "list_signatures", patient_id)
        else:
            read_scope(session, ctx, "list_signatures")
        rows = dm_queries.signatures_of(
            session, patient_id=patient_id, target=None if patient_id else "interim"
        )
        return [signature_dict(row, status_of(session, ctx, row)) for row in rows]


__all__ = [
    "CASE_REPORT_ROLES",
    "INTERIM_ROLES",
    "MEANINGS",
    "MILESTONES",
    "list_signatures",
    "sign",
]
