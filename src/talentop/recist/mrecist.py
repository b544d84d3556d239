"""mRECIST for hepatocellular carcinoma: the HCC-specific rules on top of RECIST 1.1.

Source: Lencioni R, Llovet JM. Modified RECIST (mRECIST) assessment for hepatocellular
carcinoma. Semin Liver Dis 2010;30:52-60 (categories confirmed by the Korean 2022 HCC
guideline Table 11, KJR 2022;23:1126); special rules per clinical-rules.md §2.4:

* diameters are of viable (arterially enhancing) tumour; a lesion without a viable
  measurement is measured conventionally (atypical, non-enhancing lesions);
* malignant portal vein thrombus is non-measurable: a non-target, never a target;
* porta hepatis lymph nodes are malignant only if the short axis is >= 20 mm;
* a new intrahepatic lesion is new HCC only if >= 10 mm with the typical vascular pattern
  (arterial hyperenhancement with washout); otherwise it is equivocal, until (when the
  lesion carries an ``id``) it has grown by >= 10 mm since it was first seen [K: wording
  of Lencioni & Llovet 2010 not retrieved, clinical-rules.md 2.4];
* new or worsening ascites / pleural or pericardial effusion is PD only with cytology;
* PD = sum >= 120 % of the nadir, with no 5 mm absolute floor as published (option).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from talentop.recist._exact import to_fraction

#: Organ names that denote (tumour) thrombus in the portal vein.
PORTAL_VEIN_ORGANS = frozenset({"portal_vein", "portal_vein_thrombus", "pvtt"})
#: Organ name of porta hepatis (hepatic hilum) lymph nodes.
PORTA_HEPATIS = "porta_hepatis"
#: Fluid collections that count as PD only with positive cytology.
EFFUSION_ORGANS = frozenset({"ascites", "pleural_effusion", "pericardial_effusion"})
#: The liver, for the new-intrahepatic-lesion rule.
LIVER_ORGANS = frozenset({"liver"})

PORTA_HEPATIS_MALIGNANT_MM = Fraction(20)
NEW_HCC_MIN_MM = Fraction(10)
NEW_NODE_MIN_MM = Fraction(10)
#: An atypical new liver lesion counts as new HCC after this much interval growth.
NEW_HCC_GROWTH_MM = Fraction(10)

NEW_LESION_ORDER = ("none", "equivocal", "unequivocal")
DETAIL_KEYS = frozenset(
    {"id", "organ", "nodal", "diameter_mm", "typical_vascular_pattern", "cytology_confirmed"}
)


def node_normal_below_mm(organ: str, criteria: str) -> Fraction:
    """Short axis under which a node is normal: 10 mm; 20 mm at the porta hepatis (mRECIST)."""
    if criteria == "mrecist" and organ == PORTA_HEPATIS:
        return PORTA_HEPATIS_MALIGNANT_MM
    return Fraction(10)


def effective_non_target_status(
    organ: str, status: str, cytology_confirmed: bool | None
) -> tuple[str, str | None]:
    """mRECIST: an effusion's "progression" is PD only with cytology; else it stays present."""
    if status == "progression" and organ in EFFUSION_ORGANS and not cytology_confirmed:
        return "present", f"{organ} progression without cytology is not PD (mRECIST)"
    return status, None


def parse_new_lesion_details(raw: object, field: str, problems: list[str]) -> list[dict[str, Any]]:
    """Validate the optional per-new-lesion detail list; returns the well-formed entries."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"{field}={raw!r}: expected a list of new-lesion objects")
        return []
    details: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}={item!r}: expected an object with organ, diameter_mm ...")
            continue
        ok = True
        for key in sorted(set(item) - DETAIL_KEYS):
            problems.append(f"{where}.{key}: unknown key; expected one of {sorted(DETAIL_KEYS)}")
            ok = False
        if "id" in item and (not isinstance(item["id"], str) or not item["id"]):
            problems.append(f"{where}.id={item['id']!r}: expected a non-empty string")
            ok = False
        organ = item.get("organ")
        if not isinstance(organ, str) or not organ:
            problems.append(f"{where}.organ={organ!r}: expected an organ name")
            ok = False
        diameter = item.get("diameter_mm")
        exact = to_fraction(diameter)
        if diameter is not None and (exact is None or exact < 0):
            problems.append(f"{where}.diameter_mm={diameter!r}: expected a number of mm >= 0")
            ok = False
        for flag in ("nodal", "typical_vascular_pattern", "cytology_confirmed"):
            if flag in item and not isinstance(item[flag], bool):
                problems.append(f"{where}.{flag}={item[flag]!r}: expected true or false")
                ok = False
        if ok:
            details.append({**item, "diameter_mm": exact})
    return details


def classify_new_lesion(
    detail: dict[str, Any], first_seen_mm: Fraction | None = None
) -> tuple[str, str]:
    """mRECIST status of one new lesion ("unequivocal" or "equivocal") and why.

    ``first_seen_mm``: the diameter at the earliest scan that listed this lesion id, for
    the atypical-lesion rule (new HCC after >= 10 mm interval growth).
    """
    organ = detail["organ"]
    diameter: Fraction | None = detail.get("diameter_mm")
    if organ in EFFUSION_ORGANS:
        if detail.get("cytology_confirmed"):
            return "unequivocal", f"new {organ} with positive cytology"
        return "equivocal", f"new {organ} without cytology is not PD (mRECIST)"
    if detail.get("nodal"):
        threshold = node_normal_below_mm(organ, "mrecist")
        if diameter is not None and diameter < threshold:
            return "equivocal", f"new {organ} node {float(diameter):g} mm < {threshold} mm"
        return "unequivocal", f"new {organ} node"
    if organ in LIVER_ORGANS:
        if diameter is None or diameter < NEW_HCC_MIN_MM:
            size = "unmeasured" if diameter is None else f"{float(diameter):g} mm"
            return "equivocal", f"new liver lesion {size} < 10 mm: not yet new HCC (mRECIST)"
        if detail.get("typical_vascular_pattern") is not True:
            if first_seen_mm is not None and diameter - first_seen_mm >= NEW_HCC_GROWTH_MM:
                return "unequivocal", (
                    f"new liver lesion {detail.get('id')} grew {float(first_seen_mm):g} -> "
                    f"{float(diameter):g} mm (>= 10 mm interval growth): new HCC (mRECIST)"
                )
            return "equivocal", "new liver lesion without typical vascular pattern (mRECIST)"
        return "unequivocal", f"new liver lesion {float(diameter):g} mm, typical pattern"
    return "unequivocal", f"new {organ} lesion"


def effective_new_lesions(
    word: str,
    details: list[dict[str, Any]],
    first_seen_mm: dict[str, Fraction] | None = None,
) -> tuple[str, list[str]]:
    """Combine the reader's word with the detail list: details may only downgrade the word.

    The reader's doubt stands ("equivocal" stays equivocal even if a detail qualifies), and
    a lesion that does not meet the mRECIST rule turns "unequivocal" into "equivocal".
    ``first_seen_mm`` maps new-lesion ids to their diameter when first listed.
    """
    if not details or word == "none":
        return word, []
    seen = first_seen_mm or {}
    statuses, notes = zip(
        *(classify_new_lesion(d, seen.get(d.get("id"))) for d in details), strict=True
    )
    derived = max(statuses, key=NEW_LESION_ORDER.index)
    effective = min(word, derived, key=NEW_LESION_ORDER.index)
    if effective != word:
        return effective, list(notes)
    # The call stands; still say when a rule (interval growth) is what made it stand.
    return effective, [n for n in notes if "interval growth" in n]
