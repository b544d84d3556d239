"""Trial conduct as protocol data: consent forms and scopes, the reference safety information
and SAE clocks, concomitant-medication rules, the deviation vocabulary.

Each section is optional in a protocol file (defaults below) so a minimal file still loads;
the shipped TALENTOP and TALENTACE files spell every one out.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: What a consent can cover (ICH E6(R3) 2.8, the information given: participation is voluntary
#: and may be withdrawn at any time; how data are handled on withdrawal). Withdrawing one scope withdraws those it
#: implies: no further data means no follow-up, and no follow-up means no treatment.
CONSENT_SCOPES = ("treatment", "follow_up", "data_use", "biobank")
SCOPE_IMPLIES: dict[str, tuple[str, ...]] = {
    "treatment": (),
    "follow_up": ("treatment",),
    "data_use": ("follow_up", "treatment"),
    "biobank": (),
}
Scope = Literal["treatment", "follow_up", "data_use", "biobank"]
#: Seriousness criteria of ICH E2A II.B (an SAE meets at least one).
SAE_CRITERIA = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentForm(_Model):
    """One approved version of the informed-consent form. ``reconsent_required``: patients
    on study must sign it (E6(R3) 2.8.2: new information that may affect willingness to
    continue); otherwise it is for new patients only."""

    version: str = Field(min_length=1, max_length=32)
    effective_on: dt.date
    reconsent_required: bool = False
    summary: str = ""


class Consent(_Model):
    """Consent forms in force over time and the scopes a patient must consent to for entry."""

    forms: list[ConsentForm] = Field(
        default_factory=lambda: [ConsentForm(version="1.0", effective_on=dt.date(2000, 1, 1))],
        min_length=1,
    )
    required_scopes: list[Scope] = Field(
        default_factory=lambda: ["treatment", "follow_up", "data_use"], min_length=1
    )

    @model_validator(mode="after")
    def _forms_in_order(self) -> Consent:
        versions = [f.version for f in self.forms]
        if len(set(versions)) != len(versions):
            raise ValueError(f"duplicate consent form versions {versions}")
        dates = [f.effective_on for f in self.forms]
        if dates != sorted(dates):
            raise ValueError("consent forms must be listed in order of effective_on")
        return self

    def form(self, version: str) -> ConsentForm | None:
        """The form with this version, if the protocol lists it."""
        return next((f for f in self.forms if f.version == version), None)

    def in_force(self, on: dt.date) -> ConsentForm | None:
        """The newest form effective on ``on``."""
        current = [f for f in self.forms if f.effective_on <= on]
        return current[-1] if current else None


class ExpectedEvent(_Model):
    """An event the reference safety information lists as expected, up to ``max_grade``
    (CTCAE). ICH E2A II.C: a more severe event than the RSI describes is unexpected; a
    fatal outcome is unexpected unless the RSI lists it (``max_grade: 5``)."""

    term: str = Field(min_length=1)
    max_grade: int = Field(4, ge=1, le=5)


class ProductSafety(_Model):
    """One product whose causality the investigator assesses for every SAE, and its RSI.

    ``kind: procedure`` (the resection) is assessed only for patients operated on or before
    the onset."""

    product: str = Field(min_length=1, max_length=64)
    kind: Literal["drug", "procedure"] = "drug"
    reference: str = Field(min_length=1)
    expected: list[ExpectedEvent] = Field(default_factory=list)

    def expects(self, term: str, grade: int) -> bool:
        """Whether ``term`` at ``grade`` is expected (case-insensitive term match)."""
        key = term.strip().casefold()
        return any(e.term.casefold() == key and grade <= e.max_grade for e in self.expected)


class Safety(_Model):
    """SAE reporting: the investigator's clocks (initial and follow-up reports to the sponsor,
    E6(R3) 2.7: "immediately", 24 hours by the usual protocol convention), the sponsor's
    expedited clocks for SUSARs (ICH E2A III.B.1; 21 CFR 312.32(c)(1)-(2): 7 calendar days
    for fatal or life-threatening, 15 for the others) and the reference safety information."""

    initial_report_hours: int = Field(24, gt=0, le=24 * 30)
    follow_up_report_hours: int = Field(24, gt=0, le=24 * 30)
    expedited_days_fatal: int = Field(7, gt=0, le=90)
    expedited_days_other: int = Field(15, gt=0, le=90)
    rsi_version: str = Field(min_length=1, max_length=64)
    products: list[ProductSafety] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_products(self) -> Safety:
        names = [p.product for p in self.products]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate products {names}")
        return self

    def product(self, name: str) -> ProductSafety | None:
        return next((p for p in self.products if p.product == name), None)


class MedicationClass(_Model):
    """A class of medication the rules name; a concomitant medication belongs to it when
    its name contains one of ``names`` (case-insensitive) or the site says so."""

    id: str = Field(min_length=1, max_length=64)
    label: str = ""
    names: list[str] = Field(default_factory=list)


class MedicationRule(_Model):
    """One protocol rule on concomitant medication, checked by
    ``talentop.services.medication``:

    - ``required_when_lab``: a ``drug_class`` medication must be ongoing from induction when
      a ``lab`` value exceeds ``above`` (units ``unit``), and the lab repeated every
      ``monitoring_weeks`` while on treatment.
    - ``flag_with_drug``: a ``drug_class`` medication taken while ``drug`` is given is flagged.
    - ``washout``: a ``drug_class`` medication must stop ``days`` before induction starts.
    """

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    kind: Literal["required_when_lab", "flag_with_drug", "washout"]
    drug_class: str = Field(min_length=1)
    lab: str | None = None
    unit: str | None = None
    above: float | None = None
    monitoring_weeks: int | None = Field(None, gt=0, le=104)
    drug: str | None = None
    days: int | None = Field(None, ge=0, le=365)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> MedicationRule:
        needed = {
            "required_when_lab": ("lab", "unit", "above"),
            "flag_with_drug": ("drug",),
            "washout": ("days",),
        }[self.kind]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"rule {self.id!r} ({self.kind}) needs {missing}")
        return self


class Medication(_Model):
    """Medication classes and the rules that name them."""

    classes: list[MedicationClass] = Field(default_factory=list)
    rules: list[MedicationRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_name_classes(self) -> Medication:
        known = {c.id for c in self.classes}
        unknown = sorted({r.drug_class for r in self.rules} - known)
        if unknown:
            raise ValueError(f"rules name unknown medication classes {unknown}")
        return self

    def classify(self, name: str) -> str | None:
        """The class whose names occur in ``name`` (first match), else None."""
        text = name.casefold()
        for klass in self.classes:
            if any(alias.casefold() in text for alias in klass.names):
                return klass.id
        return None


class DeviationCategory(_Model):
    """A deviation category and its default classification (major = an important protocol
    deviation, ICH E3 Q&A (R1) Q7: may significantly affect data reliability or a
    participant's rights, safety or well-being)."""

    id: str = Field(min_length=1, max_length=64)
    label: str = ""
    classification: Literal["major", "minor"] = "minor"


def _default_categories() -> list[DeviationCategory]:
    return [
        DeviationCategory(id="informed_consent", classification="major"),
        DeviationCategory(id="eligibility", classification="major"),
        DeviationCategory(id="dosing"),
        DeviationCategory(id="bevacizumab_restart", classification="major"),
        DeviationCategory(id="surgery_washout", classification="major"),
        DeviationCategory(id="visit_window"),
        DeviationCategory(id="other"),
    ]


class Deviations(_Model):
    """The vocabulary deviations are recorded in (the services' own categories included)."""

    categories: list[DeviationCategory] = Field(default_factory=_default_categories)

    def category(self, category_id: str) -> DeviationCategory | None:
        return next((c for c in self.categories if c.id == category_id), None)
