"""Locks (``services.data.locks``): the list of locks, a data manager's lock of a patient
or freeze of the whole database (with the reason), and lifting a lock (with the reason).
A locked record refuses every change: the forms show the lock by name (409)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId, RowId
from talentop.errors import NotFound, PermissionDenied
from talentop.services.permissions import allowed
from talentop.web.records import LOCK_INPUTS, UNLOCK_INPUTS
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.submit import Refused, attempt, form_state

router = APIRouter(include_in_schema=False)


def _show_locks(page: Page, *, refused: Refused | None = None, done: bool = False) -> HTMLResponse:
    shown = refused.shown() if refused else {"status": 200, "values": {}, "errors": {}, "other": [], "violation": {}}  # fmt: skip
    locks = sv.list_locks(page.ctx, active_only=False)
    return page.render(
        "locks.html",
        status=shown["status"],
        title="Locks",
        active=[lock for lock in locks if lock["active"]],
        lifted=[lock for lock in locks if not lock["active"]],
        pseudo=_pseudo_ids(page, locks),
        can_lock=allowed(page.user.role, "lock"),
        # a freeze covers every site: offered to users of no single site
        can_freeze=allowed(page.user.role, "lock") and page.user.site_id is None,
        inputs=LOCK_INPUTS,
        done=done,
        **{k: shown[k] for k in ("values", "errors", "other", "violation")},
    )


def _pseudo_ids(page: Page, locks: list[dict[str, Any]]) -> dict[int, str]:
    """The pseudonymised id of each locked patient: what users know a patient by (the
    internal row number was shown before)."""
    out: dict[int, str] = {}
    for pid in {lock["patient_id"] for lock in locks if lock["patient_id"] is not None}:
        try:
            out[pid] = sv.patient_summary(page.ctx, pid)["pseudo_id"]
        except (NotFound, PermissionDenied):
            continue
    return out


@router.get("/locks", response_class=HTMLResponse, **page("GET", "/locks", "list_locks"))
def locks(page: PageDep, done: Annotated[str | None, Query(max_length=4)] = None) -> Response:
    return _show_locks(page, done=done == "1")


@router.post("/locks", response_class=HTMLResponse, **page("POST", "/locks", "lock_records"))
def freeze(page: PageDep) -> Response:
    """Freeze the whole database (e.g. before an interim analysis)."""
    _, refused = attempt(page.values(), LOCK_INPUTS, lambda a: sv.lock_records(page.ctx, "database", reason=a["reason"]))  # fmt: skip
    if refused is not None:
        return _show_locks(page, refused=refused)
    return see_other("/locks?done=1")


LOCK_PATIENT = "/patients/{patient_id}/lock"


def _patient_form(page: Page, patient_id: int, refused: Refused | None = None) -> HTMLResponse:
    patient = sv.patient_summary(page.ctx, patient_id)
    return page.render_form(
        form_state(refused),
        title="Lock the patient's data",
        action=f"/patients/{patient_id}/lock",
        inputs=LOCK_INPUTS,
        patient=patient,
        submit="Lock",
        intro="Every record of this patient then refuses any change (new records, corrections, "
        "answers with a correction) until a data manager unlocks it with a reason.",
    )


@router.get(LOCK_PATIENT, response_class=HTMLResponse, **page("GET", LOCK_PATIENT, "lock_records"))
def lock_patient_form(page: PageDep, patient_id: PatientId) -> Response:
    return _patient_form(page, patient_id)


@router.post(LOCK_PATIENT, response_class=HTMLResponse, **page("POST", LOCK_PATIENT, "lock_records"))  # fmt: skip
def lock_patient(page: PageDep, patient_id: PatientId) -> Response:
    _, refused = attempt(page.values(), LOCK_INPUTS, lambda a: sv.lock_records(page.ctx, "patient", reason=a["reason"], patient_id=patient_id))  # fmt: skip
    if refused is not None:
        return _patient_form(page, patient_id, refused)
    return see_other(f"/patients/{patient_id}?saved=locked")


UNLOCK = "/locks/{lock_id}/unlock"


def lock_of(page: Page, lock_id: int) -> dict[str, Any]:
    for lock in sv.list_locks(page.ctx, active_only=False):
        if lock["lock_id"] == lock_id:
            return lock
    raise NotFound(f"lock: no lock {lock_id} among those you may see")


def _unlock_form(page: Page, lock: dict[str, Any], refused: Refused | None = None) -> HTMLResponse:
    shown = form_state(refused)
    violation = shown["violation"]
    if not lock["active"] and violation is None:
        violation = {"rule": "only an active lock is lifted", "message": f"Lock {lock['lock_id']} was lifted by {lock['unlocked_by']}."}  # fmt: skip
    return page.render_form(
        shown,
        violation=violation,
        title=f"Unlock: {lock['description']}",
        action=f"/locks/{lock['lock_id']}/unlock",
        inputs=UNLOCK_INPUTS,
        patient=None,
        submit="Unlock",
        intro=f"Locked by {lock['locked_by']}: {lock['reason']}. The reason for lifting it is kept in the audit trail.",  # fmt: skip
    )


@router.get(UNLOCK, response_class=HTMLResponse, **page("GET", UNLOCK, "unlock_records"))
def unlock_form(page: PageDep, lock_id: RowId) -> Response:
    return _unlock_form(page, lock_of(page, lock_id))


@router.post(UNLOCK, response_class=HTMLResponse, **page("POST", UNLOCK, "unlock_records"))
def unlock(page: PageDep, lock_id: RowId) -> Response:
    lock = lock_of(page, lock_id)
    _, refused = attempt(page.values(), UNLOCK_INPUTS, lambda a: sv.unlock_records(page.ctx, lock_id, reason=a["reason"]))  # fmt: skip
    if refused is not None:
        return _unlock_form(page, lock, refused)
    if lock["scope"] == "record":
        return see_other(f"/patients/{lock['patient_id']}/records/{lock['entity']}/{lock['entity_id']}?done=unlocked")  # fmt: skip
    if lock["scope"] == "patient":
        return see_other(f"/patients/{lock['patient_id']}?saved=unlocked")
    return see_other("/locks?done=1")
