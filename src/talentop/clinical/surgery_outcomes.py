"""Surgical safety and pathology: ISGLS liver failure grade, complication categories,
pathological response, days-since-bevacizumab bands.

Sources:
- Post-hepatectomy liver failure (PHLF): Rahbari NN et al., "Posthepatectomy liver failure:
  a definition and grading by the International Study Group of Liver Surgery (ISGLS)",
  Surgery 2011;149:713-724. PHLF = increased INR and concomitant hyperbilirubinaemia (by the
  local laboratory's normal limits) on or after postoperative day 5 (when either was high
  before surgery: both rising against the previous day); grade A: abnormal laboratory values,
  no change in clinical management; B: deviation from the regular management, manageable
  without invasive treatment; C: invasive treatment needed.
- Pathological response (resected specimen): complete (pCR) = no viable tumour; major (MPR)
  = at most 10% residual viable tumour, i.e. >= 90% necrosis (immune-related pathologic
  response criteria, Cottrell TR et al., Ann Oncol 2018;29:1853-1860; Stein JE et al.,
  Clin Cancer Res 2020;26:545-551). Thresholds are protocol settings (``pathology``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import InvalidInput

#: Complication categories reported beside Clavien-Dindo (the experts' safety questions).
CATEGORIES = ("liver_failure", "bleeding", "wound", "bile_leak", "infection", "other")
ISGLS_GRADES = ("A", "B", "C")
MANAGEMENT = ("none", "non_invasive", "invasive")
#: ISGLS PHLF is diagnosed on or after this postoperative day.
PHLF_FROM_DAY = 5


def isgls_phlf_grade(
    *,
    postoperative_day: int,
    inr: float,
    inr_uln: float,
    bilirubin_umol_l: float,
    bilirubin_uln_umol_l: float,
    management: str,
    preoperative_inr: float | None = None,
    preoperative_bilirubin_umol_l: float | None = None,
    previous_day_inr: float | None = None,
    previous_day_bilirubin_umol_l: float | None = None,
) -> str | None:
    """ISGLS PHLF grade "A"/"B"/"C", or None when the definition is not met (Rahbari 2011).

    ``management``: "none" (no change in clinical management), "non_invasive" (deviation
    from the regular management without invasive treatment), "invasive".
    """
    problems = []
    if (
        isinstance(postoperative_day, bool)
        or not isinstance(postoperative_day, int)
        or postoperative_day < 0
    ):
        problems.append(f"postoperative_day={postoperative_day!r}: expected a whole day >= 0")
    for name, value in (
        ("inr", inr),
        ("inr_uln", inr_uln),
        ("bilirubin_umol_l", bilirubin_umol_l),
        ("bilirubin_uln_umol_l", bilirubin_uln_umol_l),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.append(f"{name}={value!r}: expected a positive number")
    if management not in MANAGEMENT:
        problems.append(f"management={management!r}: expected one of {list(MANAGEMENT)}")
    if problems:
        raise InvalidInput(problems)
    if postoperative_day < PHLF_FROM_DAY:
        return None
    high_before = (preoperative_inr is not None and preoperative_inr > inr_uln) or (
        preoperative_bilirubin_umol_l is not None
        and preoperative_bilirubin_umol_l > bilirubin_uln_umol_l
    )
    if high_before:
        if previous_day_inr is None or previous_day_bilirubin_umol_l is None:
            raise InvalidInput(
                "previous_day_inr / previous_day_bilirubin_umol_l: expected both when INR or "
                "bilirubin was above normal before surgery (ISGLS: both rising vs the day before)"
            )
        present = inr > previous_day_inr and bilirubin_umol_l > previous_day_bilirubin_umol_l
    else:
        present = inr > inr_uln and bilirubin_umol_l > bilirubin_uln_umol_l
    if not present:
        return None
    return {"none": "A", "non_invasive": "B", "invasive": "C"}[management]


def check_complication(category: str | None, isgls_grade: str | None) -> list[str]:
    """Problems with a complication's category and ISGLS grade (grade only for liver failure)."""
    problems = []
    if category is not None and category not in CATEGORIES:
        problems.append(f"category={category!r}: expected one of {list(CATEGORIES)}")
    if isgls_grade is not None and isgls_grade not in ISGLS_GRADES:
        problems.append(f"isgls_grade={isgls_grade!r}: expected one of {list(ISGLS_GRADES)}")
    if category == "liver_failure" and isgls_grade is None:
        problems.append("isgls_grade=None: a post-hepatectomy liver failure needs its ISGLS grade")
    if isgls_grade is not None and category != "liver_failure":
        problems.append(
            f"isgls_grade={isgls_grade!r}: only for category 'liver_failure' (got {category!r})"
        )
    return problems


def pathological_response(necrosis_pct: float | None, rules: Any) -> str | None:
    """ "complete", "major", "partial" (< major threshold) from tumour necrosis %; None if absent."""
    if necrosis_pct is None:
        return None
    if isinstance(necrosis_pct, bool) or not 0 <= necrosis_pct <= 100:
        raise InvalidInput.field("necrosis_pct", necrosis_pct, "a percentage 0-100")
    if necrosis_pct >= rules.complete_response_necrosis_pct.value:
        return "complete"
    if necrosis_pct >= rules.major_response_min_necrosis_pct.value:
        return "major"
    return "partial"


def interval_band(days: int | None, edges: list[int]) -> str:
    """The days-since-last-bevacizumab band: "< 28", "28-41", ..., ">= 56", or "no bevacizumab"."""
    if days is None:
        return "no bevacizumab on record"
    if days < edges[0]:
        return f"< {edges[0]} days"
    for low, high in zip(edges, edges[1:], strict=False):
        if low <= days < high:
            return f"{low}-{high - 1} days"
    return f">= {edges[-1]} days"


def band_labels(edges: list[int]) -> list[str]:
    """Every band of ``interval_band`` in order (for tables)."""
    return [interval_band(edges[0] - 1, edges)] + [interval_band(low, edges) for low in edges]


def within_days(event: dt.date | None, start: dt.date, days: int) -> bool:
    """``event`` on or before ``start + days`` (e.g. a death within 90 days of surgery)."""
    return event is not None and (event - start).days <= days
