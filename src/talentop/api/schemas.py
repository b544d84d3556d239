"""Request bodies of the REST API (``XCreate``), with units in the field names and examples.

Strings are bounded (a 1 MB string is a 422, not a stored megabyte), lists are bounded,
NaN and infinity are refused, unknown fields are refused. The services validate the
clinical meaning (ranges, states, the protocol); these models only the shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)


# --- identity -----------------------------------------------------------------------------
class LoginIn(Body):
    username: Annotated[str, StringConstraints(max_length=200)] = Field(examples=["coord_sh01"])
    password: Annotated[str, StringConstraints(max_length=1024)]
    totp: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        None, description="The 6-digit code of the authenticator app, where TOTP is set up."
    )


class PasswordIn(Body):
    current_password: Annotated[str, StringConstraints(max_length=1024)] | None = None
    new_password: Secret


class TotpConfirmIn(Body):
    code: Annotated[str, StringConstraints(min_length=6, max_length=6, pattern=r"^\d{6}$")]


class TokenIn(Body):
    name: Code = Field(examples=["lab-import"])
    expires_in_days: int = Field(90, ge=1, le=366)


class SiteIn(Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(examples=["SH01"])
    name: Name = Field(examples=["Zhongshan Hospital"])
    country: Code | None = Field(None, examples=["CN"])


class UserIn(Body):
    username: Code = Field(examples=["coord_sh01"])
    role: Code = Field(examples=["coordinator"])
    password: Secret
    site_code: Code | None = Field(None, examples=["SH01"])
    full_name: Name | None = None
    specialty: Code | None = Field(None, examples=["hepatobiliary_surgeon"])
    assigned_sites: list[Code] | None = Field(
        None, max_length=200, examples=[["SH01"]], description="Monitors: the sites they read"
    )


class UserChangeIn(Body):
    role: Code | None = None
    site_code: Code | None = None
    clear_site: bool = False
    assigned_sites: list[Code] | None = Field(None, max_length=200)
    active: bool | None = None


class RolePolicyIn(Body):
    require_totp: bool


# --- the patient path ---------------------------------------------------------------------
class PatientIn(Body):
    site_code: Code = Field(examples=["SH01"])
    pseudo_id: Code = Field(examples=["SH01-0042"])
    registered_on: dt.date = Field(examples=["2025-01-06"])
    sex: Literal["F", "M", "X"] | None = None
    birth_year: int | None = Field(None, ge=1900, le=2100, examples=[1961])


class ScreeningIn(Body):
    screened_on: dt.date = Field(examples=["2025-01-06"])
    record: dict[str, Any] = Field(
        description="Screening fields of the protocol (`talentop fields`), units in the names.",
        examples=[
            {
                "hcc_confirmed": True,
                "ecog": 0,
                "child_pugh_grade": "A",
                "albumin_in_g_l": 38,
                "platelets_10e9_l": 160,
            }
        ],
        max_length=200,
    )


class LabIn(Body):
    sampled_on: dt.date
    test: Code = Field(examples=["albumin"])
    value: float = Field(examples=[38.0])
    unit: Code = Field(examples=["g/L"])
    upper_limit_normal: float | None = None


class ImagingIn(Body):
    study_date: dt.date
    modality: Code = Field(examples=["CT"])
    vp_grade: Code | None = Field(None, examples=["Vp3"])
    vv_grade: Code | None = None
    future_liver_remnant_ml: float | None = None
    total_functional_liver_volume_ml: float | None = None
    findings: Text | None = None


class DateIn(Body):
    on: dt.date = Field(examples=["2025-01-13"])


class DeclineIn(Body):
    on: dt.date
    reason: Text


class LesionIn(Body):
    id: Code = Field(examples=["T1"])
    kind: Literal["target", "non_target"]
    organ: Code = Field(examples=["liver"])
    nodal: bool = False
    diameter_mm: float | None = Field(None, examples=[48.0])
    viable_diameter_mm: float | None = None


class BaselineIn(Body):
    baseline_date: dt.date
    lesions: list[LesionIn] = Field(min_length=1, max_length=30)


TargetValue = float | Literal["too_small", "absent"] | None


class AssessmentIn(Body):
    visit_date: dt.date
    target: dict[Code, TargetValue] = Field(examples=[{"T1": 30.0}], max_length=30)
    non_target: dict[Code, Code] | None = Field(None, examples=[{"N1": "present"}], max_length=30)
    new_lesions: Literal["none", "equivocal", "unequivocal"] = "none"
    viable: dict[Code, TargetValue] | None = Field(None, max_length=30)
    new_lesions_mrecist: Literal["none", "equivocal", "unequivocal"] | None = None


class DoseIn(Body):
    cycle: int = Field(ge=1, le=1000)
    drug: Code = Field(examples=["bevacizumab"])
    dose_given_mg: float = Field(examples=[1050.0])
    given_on: dt.date
    weight_kg: float | None = Field(None, examples=[70.0])
    phase: Literal["induction", "continued", "maintenance"] | None = None
    override_reason: Text | None = None


Criteria = dict[Code, float | str | bool | None]
CRITERIA_EXAMPLE = {
    "r0_feasible": True,
    "remnant_liver_pct": 42.9,
    "vp_grade": "Vp3",
    "vv_grade": "Vv0",
    "child_pugh_grade": "A",
    "albi_grade": 1,
}


class VoteIn(Body):
    vote_date: dt.date
    resectable: bool
    reason: Text = Field(examples=["R0 feasible; remnant 38%"])
    criteria: Criteria | None = Field(
        None,
        max_length=20,
        examples=[CRITERIA_EXAMPLE],
        description="The structured resectability criteria the vote rests on (required by "
        "protocols with mdt.criteria_required).",
    )


class PanelVoteIn(Body):
    member: Code
    specialty: Code
    resectable: bool
    reason: Text
    criteria: Criteria | None = Field(None, max_length=20)


class ResectabilityIn(Body):
    assessed_on: dt.date
    criteria: Criteria = Field(max_length=20, examples=[CRITERIA_EXAMPLE])
    context: Code = Field("baseline", examples=["baseline"])
    resectability_class: Code | None = Field(None, examples=["technically_unresectable"])
    reason: Text | None = None


class LocalTherapyIn(Body):
    performed_on: dt.date
    therapy: Code = Field(examples=["tace"])
    target_lesions: list[Code] = Field(min_length=1, max_length=30, examples=[["T1"]])
    technique: Code | None = Field(None, examples=["cTACE"])


class LocalTherapyResponseIn(Body):
    assessed_on: dt.date
    response: Code = Field(examples=["PR"])


class ReviewIn(Body):
    review_date: dt.date
    votes: list[PanelVoteIn] = Field(min_length=1, max_length=50)


class RandomiseIn(Body):
    randomised_on: dt.date
    stratum_values: dict[Code, float | str] | None = Field(
        None, description="Current values of stratification variables (e.g. ecog).", max_length=20
    )


class FlagIn(Body):
    flagged_on: dt.date
    reason: Text


class SwitchIn(Body):
    switch_date: dt.date
    mdt_review_id: int = Field(ge=1)
    reason: Text


class SurgeryIn(Body):
    surgery_date: dt.date
    procedure: Name = Field(examples=["right hepatectomy with thrombectomy"])
    margin: Code = Field(examples=["R0"])
    blood_loss_ml: float = Field(examples=[450.0])
    override_reason: Text | None = None


class ComplicationIn(Body):
    onset_date: dt.date
    description: Text
    clavien_dindo: Code = Field(examples=["IIIa"])


class BiospecimenIn(Body):
    collected_on: dt.date
    specimen_type: Code = Field(examples=["resected_tumour"])
    storage_code: Code | None = None
    pathological_necrosis_pct: float | None = None
    pd_l1_cps: float | None = None
    biomarkers: dict[Code, float | str | bool] | None = Field(None, max_length=100)


class AdverseEventIn(Body):
    onset_date: dt.date
    term: Name = Field(examples=["Hypertension"])
    grade: int = Field(ge=1, le=5)
    attribution: Code = Field(examples=["related"])
    serious: bool = False


class ContactIn(Body):
    contact_date: dt.date
    status: Code = "alive"
    method: Code | None = Field(None, examples=["phone"])


class DeathIn(Body):
    death_date: dt.date
    cause: Text | None = None


class TherapyIn(Body):
    start_date: dt.date
    description: Text


class DiscontinuationIn(Body):
    stop_date: dt.date
    reason: Code = Field(examples=["progression"])
    note: Text | None = None


class DeviationIn(Body):
    deviation_date: dt.date
    category: Code = Field(examples=["visit_window"])
    description: Text
    classification: Literal["major", "minor"] | None = Field(
        None, description="Default: the category's classification in the protocol."
    )
    corrective_action: Text | None = None
    preventive_action: Text | None = Field(None, description="Required for a major deviation.")
    decided_by: Name | None = Field(None, description="Who classified it (default: you).")


# --- data management ---------------------------------------------------------------------
Category = Literal["transcription_error", "source_corrected", "late_result", "other"]


class CorrectionIn(Body):
    changes: dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], Any] = Field(
        min_length=1, max_length=50, examples=[{"value": 3.8}]
    )
    reason: Text = Field(examples=["albumin entered in g/dL; source says 38 g/L"])
    category: Category = "transcription_error"


class QueryIn(Body):
    entity: Code = Field(examples=["labs"])
    entity_id: int = Field(ge=1, le=2**31 - 1)
    field: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        examples=["value"]
    )
    text: Text = Field(examples=["Albumin 3.8 g/L is implausible: unit?"])


class AnswerIn(Body):
    text: Text
    correction: (
        dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], Any] | None
    ) = Field(None, max_length=50)
    category: Category = "source_corrected"


class QueryStepIn(Body):
    text: Text = "resolved"


class VerifyIn(Body):
    entity: Code
    entity_id: int = Field(ge=1, le=2**31 - 1)


class LockIn(Body):
    scope: Literal["record", "patient", "database"]
    reason: Text
    patient_id: int | None = Field(None, ge=1, le=2**31 - 1)
    entity: Code | None = None
    entity_id: int | None = Field(None, ge=1, le=2**31 - 1)


class UnlockIn(Body):
    reason: Text


class SignIn(Body):
    target: Literal["mdt_vote", "case_report", "interim"]
    meaning: Literal["entered", "reviewed", "approved"]
    password: Annotated[str, StringConstraints(max_length=1024)]
    totp: Annotated[str, StringConstraints(max_length=16)] | None = None
    target_id: Code | None = None
    patient_id: int | None = Field(None, ge=1, le=2**31 - 1)
    milestone: (
        Literal["end_of_induction", "randomisation", "end_of_treatment", "end_of_study"] | None
    ) = None


class ChecksIn(Body):
    site: Code | None = None
    patient_id: int | None = Field(None, ge=1, le=2**31 - 1)
