"""Macrovascular invasion: Japanese Vp/Vv grades, Cheng's PVTT types and their mapping.

Sources: Liver Cancer Study Group of Japan general rules (Vp0-Vp4, Vv0-Vv3); Shi/Cheng
et al. 2011 and the Chinese PVTT consensus 2016 (PMC5352449) for types I0-IV; the mapping
as drawn in World J Gastroenterol 2022;28:704 Fig 2 (clinical-rules.md 4.1/4.2). The
TALENTOP registry (NCT04649489) defines its MVI as PVTT Vp1-Vp4 or hepatic vein / IVC
tumour thrombus without right atrial thrombus (an atrial thrombus disqualifies in every case,
see ``macrovascular_invasion_present``).
"""

from __future__ import annotations

from talentop.clinical.fields import VP_GRADES, VV_GRADES
from talentop.errors import InvalidInput

__all__ = [
    "CHENG_TYPES",
    "VP_GRADES",
    "VV_GRADES",
    "cheng_to_vp",
    "is_vp3_vp4",
    "macrovascular_invasion_present",
    "normalise_cheng",
    "normalise_vp",
    "normalise_vv",
    "vascular_invasion_any",
    "vp_to_cheng",
]

#: Cheng's PVTT types, least to most extensive.
CHENG_TYPES = ("I0", "I", "II", "III", "IV")

# Where the mapping is defined (WJG 2022 Fig 2). I0 is microscopic only (no imaging grade);
# type IV reaches the superior mesenteric vein, beyond Vp4, so it maps to Vp4 (the most
# extensive Japanese grade); Vp1 lies distal to Cheng type I, so it has no Cheng type.
_CHENG_TO_VP = {"I0": None, "I": "Vp2", "II": "Vp3", "III": "Vp4", "IV": "Vp4"}
_VP_TO_CHENG = {"Vp0": None, "Vp1": None, "Vp2": "I", "Vp3": "II", "Vp4": "III"}


def _normalise(value: object, grades: tuple[str, ...], field: str) -> str:
    text = str(value).strip()
    for grade in grades:
        if text.lower() == grade.lower():
            return grade
    raise InvalidInput.field(field, value, "one of " + ", ".join(grades))


def normalise_vp(value: object) -> str:
    """'vp3', 'VP3', 'Vp3' -> 'Vp3'; anything else is InvalidInput."""
    return _normalise(value, VP_GRADES, "vp_grade")


def normalise_vv(value: object) -> str:
    """'vv2' -> 'Vv2' (Vv3 = inferior vena cava); anything else is InvalidInput."""
    return _normalise(value, VV_GRADES, "vv_grade")


def normalise_cheng(value: object) -> str:
    """'iii', 'III', 'type III' -> 'III'; anything else is InvalidInput."""
    text = str(value).strip()
    if text.lower().startswith("type"):
        text = text[4:].strip()
    return _normalise(text, CHENG_TYPES, "cheng_type")


def cheng_to_vp(cheng_type: str) -> str | None:
    """Japanese Vp grade for a Cheng type; None for I0 (microscopic only, no imaging grade)."""
    return _CHENG_TO_VP[normalise_cheng(cheng_type)]


def vp_to_cheng(vp_grade: str) -> str | None:
    """Cheng type for a Vp grade; None for Vp0 and Vp1 (Vp1 is distal to type I).

    Vp4 maps to type III: type IV (superior mesenteric vein) cannot be told from Vp4.
    """
    return _VP_TO_CHENG[normalise_vp(vp_grade)]


def macrovascular_invasion_present(
    *, vp_grade: str, vv_grade: str, right_atrial_thrombus: bool = False
) -> bool:
    """MVI as the TALENTOP registry needs it: PVTT Vp1-Vp4, or HVTT/IVCTT (Vv1-Vv3), and in
    either case no tumour thrombus in the right atrium.

    Source: NCT04649489 inclusion criterion 6, as registered: "Presence of PVTT [...] Vp1
    (third-order branch of portal vein) to Vp4 (main trunk/collateral branch of portal vein)
    according to the Japanese staging system or Presence of HVTT or IVCTT, without atrium
    tumor thrombosis" (inclinicaltrials.com/venous-thrombosis/nct04649489). The sentence can
    be parsed as qualifying only the HVTT/IVCTT clause, but a right atrial tumour thrombus can
    only arrive through the hepatic veins and the IVC, so a patient with PVTT and an atrial
    thrombus also HAS HVTT/IVCTT with atrial thrombus, the case the registry leaves out
    (resection then needs cardiopulmonary bypass: Li AJ et al., HBPD Int 2013, IVCTT type
    III). Decision: an atrial thrombus disqualifies whatever the portal vein shows.
    """
    vp = normalise_vp(vp_grade)
    vv = normalise_vv(vv_grade)
    if right_atrial_thrombus:
        return False
    return vp != "Vp0" or vv != "Vv0"


def vascular_invasion_any(
    *, vp_grade: str, vv_grade: str, right_atrial_thrombus: bool = False
) -> bool:
    """Any tumour thrombus at all (portal, hepatic vein, IVC or atrium): what trials that
    EXCLUDE vascular invasion (e.g. TALENTACE) test."""
    return (
        normalise_vp(vp_grade) != "Vp0"
        or normalise_vv(vv_grade) != "Vv0"
        or bool(right_atrial_thrombus)
    )


def is_vp3_vp4(vp_grade: str) -> bool:
    """Vp3/Vp4 (first-order branch or main trunk): the subgroup the experts asked for."""
    return normalise_vp(vp_grade) in ("Vp3", "Vp4")
