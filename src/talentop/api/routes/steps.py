"""/api/v1/patients/{id}/...: every step of the patient's path, one POST each (201 with the
service's result). Each runs in one transaction; creates accept an ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from talentop import services as sv
from talentop.api.deps import CtxDep, IdempotencyKey, PatientId
from talentop.api.routes._run import act, needs
from talentop.api.schemas import (
    AdverseEventIn,
    AssessmentIn,
    BaselineIn,
    BiospecimenIn,
    ComplicationIn,
    ContactIn,
    DateIn,
    DeathIn,
    DeclineIn,
    DeviationIn,
    DiscontinuationIn,
    DoseIn,
    FlagIn,
    ImagingIn,
    LabIn,
    RandomiseIn,
    ReviewIn,
    ScreeningIn,
    SurgeryIn,
    SwitchIn,
    TherapyIn,
    VoteIn,
)

router = APIRouter(prefix="/patients/{patient_id}", tags=["patient path"])


def _id(name: str, value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {name: value}


@router.post(
    "/screening",
    summary="Screen against the protocol (-> screened | screen_failed)",
    status_code=201,
    **needs("screen_patient"),
)
def screen(
    patient_id: PatientId, body: ScreeningIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """The verdict of every criterion is in the response; an incomplete record is a 422
    naming the missing fields, and nothing is stored."""
    return act(
        ctx,
        f"screen:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.screen_patient(ctx, patient_id, body.record, body.screened_on),
    )


@router.post(
    "/labs",
    summary="A laboratory result, with its unit",
    status_code=201,
    **needs("record_lab"),
)
def lab(
    patient_id: PatientId, body: LabIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"lab:{patient_id}",
        body,
        idempotency_key,
        lambda: _id("lab_id", sv.record_lab(ctx, patient_id, **body.model_dump())),
    )


@router.post(
    "/imaging",
    summary="An imaging study (Vp/Vv grade, liver volumes)",
    status_code=201,
    **needs("record_imaging"),
)
def imaging(
    patient_id: PatientId, body: ImagingIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"imaging:{patient_id}",
        body,
        idempotency_key,
        lambda: _id("imaging_id", sv.record_imaging(ctx, patient_id, **body.model_dump())),
    )


@router.post(
    "/induction",
    summary="Start induction (screened -> induction)",
    status_code=201,
    **needs("start_induction"),
)
def start_induction(patient_id: PatientId, body: DateIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"induction:{patient_id}",
        body,
        None,
        lambda: (sv.start_induction(ctx, patient_id, body.on), sv.patient_summary(ctx, patient_id))[
            1
        ],
    )


@router.post(
    "/doses",
    summary="A dose given: the protocol dose from body weight, delay, deviation",
    status_code=201,
    **needs("record_dose"),
)
def dose(
    patient_id: PatientId, body: DoseIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"dose:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_dose(ctx, patient_id, **body.model_dump()),
    )


@router.post(
    "/baseline-lesions",
    summary="Baseline target and non-target lesions",
    status_code=201,
    **needs("record_lesions_baseline"),
)
def baseline(
    patient_id: PatientId, body: BaselineIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    lesions = [lesion.model_dump(exclude_none=True) for lesion in body.lesions]
    return act(
        ctx,
        f"baseline:{patient_id}",
        body,
        idempotency_key,
        lambda: {
            "lesion_ids": sv.record_lesions_baseline(ctx, patient_id, body.baseline_date, lesions)
        },
    )


@router.post(
    "/assessments",
    summary="A tumour assessment: RECIST 1.1 and mRECIST computed",
    status_code=201,
    **needs("record_assessment"),
)
def assessment(
    patient_id: PatientId, body: AssessmentIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """The response carries the computed RECIST 1.1 and mRECIST results with the reason of
    each time point (``recist.timepoints[-1].reason``) and any resectability flag."""
    return act(
        ctx,
        f"assessment:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_assessment(
            ctx,
            patient_id,
            body.visit_date,
            target=body.target,
            non_target=body.non_target,
            new_lesions=body.new_lesions,
            viable=body.viable,
            new_lesions_mrecist=body.new_lesions_mrecist,
        ),
    )


@router.post(
    "/assessment-completion",
    summary="Close induction with its response (-> assessed | not_randomised)",
    status_code=201,
    **needs("complete_assessment"),
)
def complete(patient_id: PatientId, body: DateIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"complete:{patient_id}",
        body,
        None,
        lambda: sv.complete_assessment(ctx, patient_id, body.on),
    )


@router.post(
    "/randomisation-decline",
    summary="Not randomised after assessment, with the reason",
    status_code=201,
    **needs("decline_randomisation"),
)
def decline(patient_id: PatientId, body: DeclineIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"decline:{patient_id}",
        body,
        None,
        lambda: (
            sv.decline_randomisation(ctx, patient_id, body.on, body.reason),
            sv.patient_summary(ctx, patient_id),
        )[1],
    )


@router.post(
    "/mdt-votes",
    summary="The signed-in MDT member's own vote",
    status_code=201,
    **needs("cast_mdt_vote"),
)
def vote(
    patient_id: PatientId, body: VoteIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """The decision is taken when the protocol's quorum and specialties are met
    (``decided`` in the response, with the outcome)."""
    return act(
        ctx,
        f"vote:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.cast_mdt_vote(
            ctx,
            patient_id,
            body.vote_date,
            resectable=body.resectable,
            reason=body.reason,
            criteria=body.criteria,
        ),
    )


@router.post(
    "/mdt-reviews",
    summary="A whole MDT panel's votes, from the meeting minutes",
    status_code=201,
    **needs("record_mdt_review"),
)
def review(
    patient_id: PatientId, body: ReviewIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    votes = [v.model_dump(exclude_none=True) for v in body.votes]
    return act(
        ctx,
        f"review:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_mdt_review(ctx, patient_id, body.review_date, votes),
    )


#: What a randomisation writes on the patient (``writes.written_marks``): its edit checks'
#: records are read before the stratum counter is locked.
RANDOMISE_WRITES = frozenset(
    {"randomisations", "patient_state_history", "patients", "state:randomised"}
)


@router.post(
    "/randomisation",
    summary="Randomise (assessed -> randomised): arm and allocation number",
    status_code=201,
    **needs("randomise"),
)
def randomise(
    patient_id: PatientId, body: RandomiseIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Send an ``Idempotency-Key``: a network retry then returns the first allocation
    instead of a 409 (a patient is never randomised twice either way)."""

    def run() -> dict[str, Any]:
        # The allocation record comes from the rows just written (no reads after the
        # stratum counter is locked).
        return sv.randomise(
            ctx, patient_id, body.randomised_on, stratum_values=body.stratum_values, record=True
        )

    return act(
        ctx,
        f"randomise:{patient_id}",
        body,
        idempotency_key,
        run,
        location=lambda _: f"/api/v1/patients/{patient_id}/randomisation",
        prefetch=(patient_id, RANDOMISE_WRITES),
    )


@router.post(
    "/resectability-flags",
    summary="Flag an arm-B patient for an MDT reassessment",
    status_code=201,
    **needs("flag_for_resectability_review"),
)
def flag(
    patient_id: PatientId, body: FlagIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"flag:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "flag_id",
            sv.flag_for_resectability_review(ctx, patient_id, body.flagged_on, body.reason),
        ),
    )


@router.post(
    "/surgery-switch",
    summary="Switch an arm-B patient to surgery after an MDT review",
    status_code=201,
    **needs("switch_to_surgery"),
)
def switch(patient_id: PatientId, body: SwitchIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"switch:{patient_id}",
        body,
        None,
        lambda: _id(
            "switch_id",
            sv.switch_to_surgery(
                ctx, patient_id, body.switch_date, body.mdt_review_id, body.reason
            ),
        ),
    )


@router.post(
    "/surgeries",
    summary="The resection (randomised -> operated)",
    status_code=201,
    **needs("record_surgery"),
)
def surgery(
    patient_id: PatientId, body: SurgeryIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"surgery:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_surgery(
            ctx,
            patient_id,
            body.surgery_date,
            procedure=body.procedure,
            margin=body.margin,
            blood_loss_ml=body.blood_loss_ml,
            override_reason=body.override_reason,
        ),
    )


@router.post(
    "/complications",
    summary="A surgical complication, Clavien-Dindo grade",
    status_code=201,
    **needs("record_complication"),
)
def complication(
    patient_id: PatientId, body: ComplicationIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"complication:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "complication_id",
            sv.record_complication(
                ctx,
                patient_id,
                body.onset_date,
                description=body.description,
                clavien_dindo=body.clavien_dindo,
            ),
        ),
    )


@router.post(
    "/biospecimens",
    summary="A tissue or blood specimen with biomarkers",
    status_code=201,
    **needs("record_biospecimen"),
)
def biospecimen(
    patient_id: PatientId, body: BiospecimenIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    fields = body.model_dump()
    collected_on = fields.pop("collected_on")
    return act(
        ctx,
        f"biospecimen:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "biospecimen_id", sv.record_biospecimen(ctx, patient_id, collected_on, **fields)
        ),
    )


@router.post(
    "/maintenance",
    summary="Start maintenance after surgery (operated -> maintenance)",
    status_code=201,
    **needs("start_maintenance"),
)
def maintenance(patient_id: PatientId, body: DateIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"maintenance:{patient_id}",
        body,
        None,
        lambda: (
            sv.start_maintenance(ctx, patient_id, body.on),
            sv.patient_summary(ctx, patient_id),
        )[1],
    )


@router.post(
    "/adverse-events",
    summary="An adverse event, CTCAE grade",
    status_code=201,
    **needs("record_adverse_event"),
)
def adverse_event(
    patient_id: PatientId, body: AdverseEventIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    fields = body.model_dump()
    onset = fields.pop("onset_date")
    return act(
        ctx,
        f"ae:{patient_id}",
        body,
        idempotency_key,
        lambda: _id("adverse_event_id", sv.record_adverse_event(ctx, patient_id, onset, **fields)),
    )


@router.post(
    "/contacts",
    summary="A follow-up contact (alive, lost...)",
    status_code=201,
    **needs("record_follow_up"),
)
def contact(
    patient_id: PatientId, body: ContactIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"contact:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "contact_id",
            sv.record_follow_up(
                ctx, patient_id, body.contact_date, status=body.status, method=body.method
            ),
        ),
    )


@router.post("/death", summary="Death (-> died)", status_code=201, **needs("record_death"))
def death(patient_id: PatientId, body: DeathIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"death:{patient_id}",
        body,
        None,
        lambda: (
            sv.record_death(ctx, patient_id, body.death_date, cause=body.cause),
            sv.patient_summary(ctx, patient_id),
        )[1],
    )


@router.post(
    "/new-therapies",
    summary="A new anticancer therapy",
    status_code=201,
    **needs("record_new_therapy"),
)
def new_therapy(
    patient_id: PatientId, body: TherapyIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"therapy:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "therapy_id",
            sv.record_new_therapy(ctx, patient_id, body.start_date, description=body.description),
        ),
    )


@router.post(
    "/discontinuation",
    summary="Stop protocol treatment, with the reason",
    status_code=201,
    **needs("record_discontinuation"),
)
def discontinuation(patient_id: PatientId, body: DiscontinuationIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"discontinue:{patient_id}",
        body,
        None,
        lambda: {
            "state": sv.record_discontinuation(
                ctx, patient_id, body.stop_date, body.reason, note=body.note
            )
        },
    )


@router.post(
    "/deviations",
    summary="A protocol deviation",
    status_code=201,
    **needs("record_deviation"),
)
def deviation(
    patient_id: PatientId, body: DeviationIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"deviation:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "deviation_id",
            sv.record_deviation(ctx, patient_id, **body.model_dump()),
        ),
    )
