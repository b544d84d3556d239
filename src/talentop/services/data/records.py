"""The forms (records) data management acts on: which tables a user may correct, verify,
lock and query, which fields of them, the service whose permission a correction needs, and
each record's content hash (what a verification or a signature is bound to)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from talentop.errors import InvalidInput, NotFound
from talentop.services.assessment import NEW_LESION_STATUSES, NON_TARGET_STATUSES, TARGET_TOKENS
from talentop.services.follow_up import ATTRIBUTIONS, CONTACT_STATUSES
from talentop.services.surgery import CLAVIEN_DINDO, MARGINS
from talentop.store import models as m
from talentop.store import queries
from talentop.store.audit import snapshot
from talentop.store.hashing import canonical_json
from talentop.store.writes import DATA_MANAGEMENT  # noqa: F401  (for the pages)


@dataclass(frozen=True)
class Form:
    """A correctable record type: its table, the service that enters it (a correction needs
    that service's permission), the fields that may be corrected, allowed values."""

    model: type
    service: str
    fields: tuple[str, ...]
    choices: dict[str, tuple[Any, ...]]

    @property
    def table(self) -> str:
        return self.model.__tablename__


def _form(model: type, service: str, fields: str, **choices: tuple[Any, ...]) -> Form:
    return Form(model, service, tuple(fields.split()), choices)


#: table -> form. Fields that move a patient along the path (states, arms, allocations) are
#: not here: an allocation never changes, a state is corrected by the next step.
FORMS: dict[str, Form] = {
    f.table: f
    for f in (
        _form(m.Patient, "register_patient", "sex birth_year registered_on", sex=("F", "M", "X")),
        _form(m.Screening, "screen_patient", "screened_on record"),
        _form(m.LabResult, "record_lab", "sampled_on test value unit upper_limit_normal"),
        _form(
            m.ImagingStudy,
            "record_imaging",
            "study_date modality vp_grade vv_grade future_liver_remnant_ml "
            "total_functional_liver_volume_ml findings",
        ),
        _form(
            m.Lesion,
            "record_lesions_baseline",
            "organ nodal baseline_date diameter_mm viable_diameter_mm",
        ),
        _form(
            m.AssessmentVisit,
            "record_assessment",
            "visit_date new_lesions new_lesions_mrecist",
            new_lesions=NEW_LESION_STATUSES,
            new_lesions_mrecist=NEW_LESION_STATUSES,
        ),
        _form(
            m.LesionMeasurement,
            "record_assessment",
            "diameter_mm status viable_diameter_mm viable_status",
            status=(None, *TARGET_TOKENS, *NON_TARGET_STATUSES),
            viable_status=(None, *TARGET_TOKENS),
        ),
        _form(m.DrugAdministration, "record_dose", "given_on dose_given_mg weight_kg"),
        _form(
            m.AdverseEvent,
            "record_adverse_event",
            "onset_date term grade attribution serious",
            grade=(1, 2, 3, 4, 5),
            attribution=ATTRIBUTIONS,
        ),
        _form(
            m.Surgery,
            "record_surgery",
            "surgery_date procedure margin blood_loss_ml",
            margin=MARGINS,
        ),
        _form(
            m.Complication,
            "record_complication",
            "onset_date description clavien_dindo",
            clavien_dindo=CLAVIEN_DINDO,
        ),
        _form(
            m.FollowUpContact,
            "record_follow_up",
            "contact_date status method",
            status=CONTACT_STATUSES,
        ),
        _form(m.Death, "record_death", "death_date cause"),
        _form(m.NewTherapy, "record_new_therapy", "start_date description"),
        _form(m.Discontinuation, "record_discontinuation", "stop_date note"),
        _form(m.ProtocolDeviation, "record_deviation", "deviation_date category description"),
        _form(
            m.Biospecimen,
            "record_biospecimen",
            "collected_on specimen_type storage_code pathological_necrosis_pct pd_l1_cps",
        ),
    )
}
#: Correction categories (the reason's kind; the reason itself is free text).
CATEGORIES = ("transcription_error", "source_corrected", "late_result", "other")


def form(entity: str) -> Form:
    """The form of ``entity`` (a table name), or ``InvalidInput`` listing the forms."""
    if entity not in FORMS:
        raise InvalidInput.field("entity", entity, f"one of the forms {sorted(FORMS)}")
    return FORMS[entity]


def patient_of(session: Any, row: Any) -> m.Patient:
    """The patient a record belongs to (directly or through its parent record)."""
    if isinstance(row, m.Patient):
        return row
    if hasattr(row, "patient_id"):
        return queries.get(session, m.Patient, row.patient_id)
    if isinstance(row, m.LesionMeasurement):
        return patient_of(session, queries.get(session, m.AssessmentVisit, row.visit_id))
    if isinstance(row, m.Complication):
        return patient_of(session, queries.get(session, m.Surgery, row.surgery_id))
    raise InvalidInput.field("entity", type(row).__tablename__, "a record tied to a patient")


def load(session: Any, entity: str, entity_id: Any) -> tuple[Any, m.Patient]:
    """The record and its patient, or ``NotFound``."""
    model = form(entity).model
    try:
        key = int(entity_id)
    except (TypeError, ValueError):
        raise InvalidInput.field("entity_id", entity_id, "a record id (a whole number)") from None
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{entity}: no record with id {entity_id!r}")
    return row, patient_of(session, row)


def content(row: Any) -> dict[str, Any]:
    """What a verification or signature of the record is bound to: its columns, without
    bookkeeping (ids stay: they say which record)."""
    data = snapshot(row)
    data.pop("created_at", None)
    return data


def content_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def coerce(form_: Form, field: str, value: Any) -> Any:
    """``value`` as the column's type (strings from forms accepted), or ``InvalidInput``."""
    if field not in form_.fields:
        raise InvalidInput.field(
            "field", field, f"a correctable field of {form_.table}: {list(form_.fields)}"
        )
    if field == "record":
        if not isinstance(value, dict):
            raise InvalidInput.field("record", value, "the screening fields as a mapping")
        return value
    column = form_.model.__table__.columns[field]
    python_type = column.type.python_type
    if value is None or value == "":
        if not column.nullable:
            raise InvalidInput.field(field, value, "a value (the field is required)")
        value = None
    elif python_type is dt.date:
        try:
            value = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput.field(field, value, "a date (YYYY-MM-DD)") from None
    elif python_type is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            value = value.lower() in ("true", "yes", "1")
        elif not isinstance(value, bool):
            raise InvalidInput.field(field, value, "true or false")
    elif python_type in (int, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput.field(field, value, "a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise InvalidInput.field(field, value, "a finite number")
        if python_type is int:
            if number != int(number):
                raise InvalidInput.field(field, value, "a whole number")
            number = int(number)
        value = number
    else:
        value = str(value)
        length = getattr(column.type, "length", None)
        if length and len(value) > length:
            raise InvalidInput.field(field, value[:20] + "...", f"at most {length} characters")
    allowed = form_.choices.get(field)
    if allowed is not None and value not in allowed:
        raise InvalidInput.field(field, value, f"one of {list(allowed)}")
    return value
