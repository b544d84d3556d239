"""The patient fields screening understands: name (unit in the name), type and plausible range.

These names are a CONTRACT: the demo generates patients with them, the store saves them,
protocol rules (``talentop.protocol``) may only name them or a derived quantity
(``talentop.clinical.eligibility.DERIVED``).

=================================  ======  ===================================================
field                              type    meaning (plausible range)
=================================  ======  ===================================================
patient_id                         str     screening id (any text)
site                               str     recruiting site code
age_years                          int     age at screening, whole years (0-120)
informed_consent                   bool    written informed consent in force covering the
                                           protocol's required scopes (the services fill it
                                           from the consent records)
hcc_confirmed                      bool    HCC confirmed (histology or imaging criteria)
prior_anticancer_therapy           bool    any prior local/systemic anti-tumour therapy
                                           (traditional Chinese medicine NOT counted here)
tcm_used                           bool    traditional Chinese medicine (TCM) taken
tcm_stopped_days_before_induction  int     days between stopping TCM and induction (0-3650)
measurable_lesions                 int     untreated RECIST 1.1 measurable lesions (0-50)
vp_grade                           choice  portal vein thrombus, Japanese LCSGJ: Vp0..Vp4
vv_grade                           choice  hepatic vein / IVC thrombus: Vv0..Vv3 (Vv3 = IVC)
right_atrial_thrombus              bool    tumour thrombus reaching the right atrium
extrahepatic_spread                bool    extrahepatic spread (nodal or distant metastasis)
future_liver_remnant_ml            float   planned future liver remnant volume (0-5000)
total_functional_liver_volume_ml   float   total liver volume minus tumour volume (50-5000)
rlv_pct                            float   remnant liver volume %, if the site gives it (0-100)
bilirubin_umol_l / _mg_dl          float   total bilirubin (1.5-600 umol/L; 0.1-20 mg/dL)
albumin_g_l / albumin_g_dl         float   serum albumin (10-60 g/L; 1.0-6.0 g/dL)
inr                                float   international normalised ratio (0.5-10)
ascites                            choice  none | mild | moderate_severe
encephalopathy                     choice  none | grade_1_2 | grade_3_4
ecog                               int     ECOG performance status (0-5)
life_expectancy_weeks              float   investigator's estimate (0-1000)
anc_10e9_l                         float   absolute neutrophil count x10^9/L (0-100)
lymphocytes_10e9_l                 float   lymphocytes x10^9/L (0-100)
platelets_10e9_l                   float   platelets x10^9/L (1-2000)
haemoglobin_g_l                    float   haemoglobin g/L (20-250)
ast_u_l, ast_uln_u_l               float   AST and the site's upper limit of normal (U/L)
alt_u_l, alt_uln_u_l               float   ALT and ULN (U/L)
alp_u_l, alp_uln_u_l               float   alkaline phosphatase and ULN (U/L)
bilirubin_uln_umol_l / _mg_dl      float   the site's bilirubin ULN, same unit as the value
ecog_days_before_induction         int     days from the ECOG assessment to induction (0-3650)
child_pugh_days_before_induction   int     days from the Child-Pugh assessment to induction
labs_days_before_induction         int     days from the blood tests to induction
largest_tumour_diameter_cm         float   largest intrahepatic tumour diameter (0.1-40 cm)
tumour_count                       int     number of intrahepatic tumours (0-100)
=================================  ======  ===================================================

Plausible ranges are deliberately wide (they catch typos and unit mix-ups, not disease):
a bilirubin above 20 mg/dL is far more often a umol/L value typed into the mg/dL column
than a real value in a patient screened for these trials, so it is refused with a hint;
likewise an albumin of 3.5 "g/L" is a g/dL value, a haemoglobin of 12 "g/L" a g/dL value
and a tumour of 45 "cm" a millimetre value; platelets of 150000 "x10^9/L" (and neutrophils or
lymphocytes above 100) are counts per microlitre.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from talentop.errors import InvalidInput

__all__ = [
    "FIELDS",
    "VP_GRADES",
    "VV_GRADES",
    "UNIT_PAIRS",
    "FieldSpec",
    "check_range",
    "coerce_patient",
    "coerce_value",
]


@dataclass(frozen=True)
class FieldSpec:
    """One patient field: its type, plausible range and a hint shown when it is exceeded."""

    name: str
    kind: str  # "float" | "int" | "bool" | "choice" | "str"
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    hint_low: str | None = None
    hint_high: str | None = None


def _f(name, kind, description, low=None, high=None, *, choices=(), hint_low=None, hint_high=None):
    return FieldSpec(name, kind, description, low, high, tuple(choices), hint_low, hint_high)


#: Japanese (LCSGJ) portal vein (Vp) and hepatic vein (Vv) thrombus grades, in order.
VP_GRADES = ("Vp0", "Vp1", "Vp2", "Vp3", "Vp4")
VV_GRADES = ("Vv0", "Vv1", "Vv2", "Vv3")

_MG_DL_BILI = "it looks like a mg/dL value: use bilirubin_mg_dl"
#: A blood count typed per microlitre (150,000/uL) into a 10^9/L field (150).
_PER_UL = "it looks like a count per microlitre (/uL, /mm3): divide by 1000 for 10^9/L"
_UMOL_BILI = "it looks like a umol/L value: use bilirubin_umol_l"

FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in [
        _f("patient_id", "str", "screening id"),
        _f("site", "str", "recruiting site code"),
        _f("age_years", "int", "age at screening, years", 0, 120),
        _f("informed_consent", "bool", "informed consent in force (required scopes)"),
        _f("hcc_confirmed", "bool", "HCC confirmed by histology or imaging criteria"),
        _f("prior_anticancer_therapy", "bool", "any prior local or systemic anti-tumour therapy"),
        _f("tcm_used", "bool", "traditional Chinese medicine taken"),
        _f("tcm_stopped_days_before_induction", "int", "days since TCM stopped", 0, 3650),
        _f("measurable_lesions", "int", "untreated RECIST 1.1 measurable lesions", 0, 50),
        _f("vp_grade", "choice", "portal vein thrombus (LCSGJ)", choices=VP_GRADES),
        _f("vv_grade", "choice", "hepatic vein / IVC thrombus (LCSGJ)", choices=VV_GRADES),
        _f("right_atrial_thrombus", "bool", "tumour thrombus in the right atrium"),
        _f("extrahepatic_spread", "bool", "extrahepatic spread"),
        _f("future_liver_remnant_ml", "float", "future liver remnant volume, mL", 0, 5000),
        _f("total_functional_liver_volume_ml", "float", "functional liver volume, mL", 50, 5000),
        _f("rlv_pct", "float", "remnant liver volume, % of functional volume", 0, 100),
        _f("bilirubin_umol_l", "float", "total bilirubin, umol/L", 1.5, 600, hint_low=_MG_DL_BILI),
        _f("bilirubin_mg_dl", "float", "total bilirubin, mg/dL", 0.1, 20, hint_high=_UMOL_BILI),
        _f(
            "albumin_g_l",
            "float",
            "serum albumin, g/L",
            10,
            60,
            hint_low="it looks like a g/dL value: use albumin_g_dl",
        ),
        _f(
            "albumin_g_dl",
            "float",
            "serum albumin, g/dL",
            1.0,
            6.0,
            hint_high="it looks like a g/L value: use albumin_g_l",
        ),
        _f("inr", "float", "international normalised ratio", 0.5, 10),
        _f("ascites", "choice", "ascites", choices=("none", "mild", "moderate_severe")),
        _f(
            "encephalopathy",
            "choice",
            "hepatic encephalopathy",
            choices=("none", "grade_1_2", "grade_3_4"),
        ),
        _f("ecog", "int", "ECOG performance status", 0, 5),
        _f("life_expectancy_weeks", "float", "life expectancy, weeks", 0, 1000),
        _f("anc_10e9_l", "float", "absolute neutrophil count, 10^9/L", 0, 100, hint_high=_PER_UL),
        _f("lymphocytes_10e9_l", "float", "lymphocytes, 10^9/L", 0, 100, hint_high=_PER_UL),
        _f("platelets_10e9_l", "float", "platelets, 10^9/L", 1, 2000, hint_high=_PER_UL),
        _f(
            "haemoglobin_g_l",
            "float",
            "haemoglobin, g/L",
            20,
            250,
            hint_low="it looks like a g/dL value: multiply by 10",
        ),
        _f("ast_u_l", "float", "AST, U/L", 0, 20000),
        _f("ast_uln_u_l", "float", "AST upper limit of normal, U/L", 1, 1000),
        _f("alt_u_l", "float", "ALT, U/L", 0, 20000),
        _f("alt_uln_u_l", "float", "ALT upper limit of normal, U/L", 1, 1000),
        _f("alp_u_l", "float", "alkaline phosphatase, U/L", 0, 20000),
        _f("alp_uln_u_l", "float", "ALP upper limit of normal, U/L", 1, 1000),
        _f("bilirubin_uln_umol_l", "float", "bilirubin upper limit of normal, umol/L", 5, 50),
        _f("bilirubin_uln_mg_dl", "float", "bilirubin upper limit of normal, mg/dL", 0.3, 3),
        _f("ecog_days_before_induction", "int", "days from ECOG to induction", 0, 3650),
        _f("child_pugh_days_before_induction", "int", "days from Child-Pugh to induction", 0, 3650),
        _f("labs_days_before_induction", "int", "days from blood tests to induction", 0, 3650),
        _f(
            "largest_tumour_diameter_cm",
            "float",
            "largest intrahepatic tumour diameter, cm",
            0.1,
            40,
            hint_high="it looks like a millimetre value: divide by 10",
        ),
        _f("tumour_count", "int", "number of intrahepatic tumours", 0, 100),
    ]
}

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in {"", "NA", "na", "n/a"})


def check_range(
    field: str, value: float | int | Decimal, low: float | None, high: float | None
) -> str | None:
    """Return a problem string if ``value`` lies outside [low, high], else None."""
    spec = FIELDS.get(field)
    if value != value:  # NaN is never plausible
        return f"{field}={value!r}: expected a number, got NaN"
    if low is not None and value < low:
        hint = f" ({spec.hint_low})" if spec and spec.hint_low and value >= 0 else ""
        return f"{field}={value!r}: implausible, expected {low}..{high}{hint}"
    if high is not None and value > high:
        hint = f" ({spec.hint_high})" if spec and spec.hint_high else ""
        return f"{field}={value!r}: implausible, expected {low}..{high}{hint}"
    return None


def coerce_value(field: str, value: Any) -> Any:
    """Convert one raw value (CSV text, JSON value) to the field's type; InvalidInput if bad.

    Missing values ("", "NA", None) become None. Unknown fields are returned unchanged.
    """
    spec = FIELDS.get(field)
    if spec is None or _missing(value):
        return None if _missing(value) else value
    if spec.kind == "str":
        return str(value).strip()
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInput.field(field, value, "true or false (yes/no, 1/0)")
    if spec.kind == "choice":
        text = str(value).strip()
        for choice in spec.choices:  # case-insensitive: "vp3" and "VP3" mean Vp3
            if text.lower() == choice.lower():
                return choice
        raise InvalidInput.field(field, value, "one of " + ", ".join(spec.choices))
    if isinstance(value, bool):
        raise InvalidInput.field(field, value, "a number")
    try:
        number = float(value) if spec.kind == "float" else _as_int(value)
    except (TypeError, ValueError):
        kind = "a whole number" if spec.kind == "int" else "a number"
        raise InvalidInput.field(field, value, kind) from None
    problem = check_range(field, number, spec.low, spec.high)
    if problem:
        raise InvalidInput(problem)
    return number


def _as_int(value: Any) -> int:
    number = float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


#: Labs a record may give in either of two units, but never both (design.md: "exactly one
#: unit of each lab"): two values would have to agree to the last digit, and a record where
#: they disagree (albumin 40.8 g/L and 2.0 g/dL) has no right answer, so both is refused.
UNIT_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("bilirubin", "bilirubin_umol_l", "bilirubin_mg_dl"),
    ("albumin", "albumin_g_l", "albumin_g_dl"),
    ("bilirubin ULN", "bilirubin_uln_umol_l", "bilirubin_uln_mg_dl"),
)


def _unit_problems(patient: Mapping[str, Any]) -> list[str]:
    problems = []
    for lab, first, second in UNIT_PAIRS:
        if patient.get(first) is not None and patient.get(second) is not None:
            problems.append(
                f"{lab}: given in both units, {first}={patient[first]!r} and "
                f"{second}={patient[second]!r}; expected exactly one unit (leave the other empty)"
            )
    return problems


def coerce_patient(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce every known field of one patient; InvalidInput lists every bad field at once.

    A lab given in both of its units (``UNIT_PAIRS``) is a problem too, even if they agree.
    """
    problems: list[str] = []
    patient: dict[str, Any] = {}
    for field, value in raw.items():
        try:
            patient[field] = coerce_value(field, value)
        except InvalidInput as exc:
            problems.extend(exc.problems)
    problems += _unit_problems(patient)
    if problems:
        raise InvalidInput(problems)
    return patient
