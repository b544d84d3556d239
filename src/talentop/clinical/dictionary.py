"""The data dictionary of the screening fields: unit, allowed values, source document, and
which criteria of a protocol read each field (directly or through a derived quantity such
as the Child-Pugh class). What `talentop fields` prints and its CSV template is built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from talentop.clinical.fields import FIELDS, UNIT_PAIRS, FieldSpec
from talentop.clinical.rules import DERIVED

if TYPE_CHECKING:
    from talentop.protocol import Protocol

#: Unit from the field name's suffix (the names carry their unit, style.md).
_UNITS = (
    ("_umol_l", "µmol/L"),
    ("_mg_dl", "mg/dL"),
    ("_g_dl", "g/dL"),
    ("_g_l", "g/L"),
    ("_10e9_l", "×10⁹/L"),
    ("_u_l", "U/L"),
    ("_ml", "mL"),
    ("_pct", "%"),
    ("_cm", "cm"),
    ("_weeks", "weeks"),
    ("_days_before_induction", "days"),
)

#: Where a screening team finds each value (the source document of the CRF field).
_SOURCES = {
    "screening log": ("patient_id", "site"),
    "pathology report, or imaging by AASLD/EASL non-invasive criteria": ("hcc_confirmed",),
    "medical history": ("prior_anticancer_therapy", "tcm_used", "tcm_stopped_days_before_induction"),
    "contrast CT or MRI (radiology report)": (
        "measurable_lesions", "vp_grade", "vv_grade", "right_atrial_thrombus",
        "extrahepatic_spread", "largest_tumour_diameter_cm", "tumour_count",
    ),
    "CT volumetry (surgical planning)": (
        "future_liver_remnant_ml", "total_functional_liver_volume_ml", "rlv_pct",
    ),
    "clinical examination (ascites also on imaging)": ("ascites",),
    "clinical examination": ("encephalopathy", "ecog"),
    "investigator's estimate": ("life_expectancy_weeks",),
    "visit dates (days before the first induction dose)": (
        "ecog_days_before_induction", "child_pugh_days_before_induction",
        "labs_days_before_induction",
    ),
}  # fmt: skip
_SOURCE_OF = {name: source for source, names in _SOURCES.items() for name in names}
_LABS = "blood tests (laboratory report)"


@dataclass(frozen=True)
class Entry:
    """One row of the data dictionary."""

    field: str
    kind: str
    unit: str
    allowed: str
    description: str
    source: str
    used_by: tuple[str, ...] = ()  # criterion ids of the protocol that read it
    alternative: str | None = None  # the same lab in its other unit (give one, not both)


def unit(name: str) -> str:
    for suffix, text in _UNITS:
        if name.endswith(suffix):
            return text
    return "-"


def allowed(spec: FieldSpec) -> str:
    if spec.kind == "choice":
        return " | ".join(spec.choices)
    if spec.kind == "bool":
        return "yes | no (also true/false, 1/0)"
    if spec.kind == "str":
        return "text"
    whole = " (whole number)" if spec.kind == "int" else ""
    return f"{spec.low:g}–{spec.high:g}{whole}" if spec.low is not None else f"number{whole}"


def _alternatives() -> dict[str, str]:
    pairs: dict[str, str] = {}
    for _, first, second in UNIT_PAIRS:
        pairs[first], pairs[second] = second, first
    return pairs


def used_by(protocol: Protocol) -> dict[str, list[str]]:
    """Field -> ids of the protocol's criteria that read it (derived quantities expanded)."""
    usage: dict[str, list[str]] = {}
    for criterion in protocol.eligibility:
        for need in criterion.needs:
            fields = DERIVED[need].inputs if need in DERIVED else (need,)
            for name in fields:
                usage.setdefault(name, [])
                if criterion.id not in usage[name]:
                    usage[name].append(criterion.id)
    return usage


def dictionary(protocol: Protocol | None = None) -> list[Entry]:
    """Every screening field, in FIELDS order; with a protocol, the criteria using each."""
    usage = used_by(protocol) if protocol is not None else {}
    alternatives = _alternatives()
    return [
        Entry(
            field=name,
            kind=spec.kind,
            unit=unit(name),
            allowed=allowed(spec),
            description=spec.description,
            source=_SOURCE_OF.get(name, _LABS),
            used_by=tuple(usage.get(name, ())),
            alternative=alternatives.get(name),
        )
        for name, spec in FIELDS.items()
    ]


def template_columns(protocol: Protocol | None = None) -> list[str]:
    """Columns of a blank screening CSV: patient_id and site, then every field the protocol
    reads (all fields without a protocol), one unit per lab (the SI one; the other unit is
    listed in the dictionary as an alternative)."""
    entries = dictionary(protocol)
    second_units = {second for _, _, second in UNIT_PAIRS}
    columns = ["patient_id", "site"]
    for entry in entries:
        if entry.field in columns or entry.field in second_units:
            continue
        if protocol is None or entry.used_by:
            columns.append(entry.field)
    return columns
