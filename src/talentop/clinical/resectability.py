"""Structured resectability: the MDT's checklist, the baseline class, and what blocks a verdict.

Criteria (thresholds from the protocol file's ``resectability`` section):

=================  ====================================================================
criterion          met when
=================  ====================================================================
r0_feasible        an R0 (margin-negative) resection is judged feasible
remnant_liver      future liver remnant >= ``min_remnant_liver_pct`` of the functional
                   liver volume (TALENTOP eligibility: RLV >= 25%)
thrombus_extent    the Vp and Vv grades are among the grades the protocol resects
liver_function     Child-Pugh grade among the allowed grades and ALBI grade <= the maximum
=================  ====================================================================

A criterion whose data are missing is *missing*, never met: a verdict with a missing
criterion is ``incomplete`` (the reassessment trigger stays closed; a vote cannot claim
resectable on it).

Baseline classes (the experts' question, seed article: "technically unresectable" patients
and how many convert): technically unresectable = R0 not feasible, remnant too small, or
thrombus / liver function outside what the protocol resects (the two obstacles conversion
therapy targets: "patients with insufficient volume of future liver remnant and patients
who cannot achieve R0 resection", Chinese expert consensus on neoadjuvant and conversion
therapies for HCC, World J Gastroenterol 2021;27:8069-8080); oncologically unresectable =
every technical criterion met, but resection is not advised for oncological reasons (the
MDT's reason is required); technically resectable = every criterion met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from talentop.errors import InvalidInput

CRITERIA = ("r0_feasible", "remnant_liver", "thrombus_extent", "liver_function")
TECHNICALLY_RESECTABLE = "technically_resectable"
TECHNICALLY_UNRESECTABLE = "technically_unresectable"
ONCOLOGICALLY_UNRESECTABLE = "oncologically_unresectable"
CLASSES = (TECHNICALLY_RESECTABLE, TECHNICALLY_UNRESECTABLE, ONCOLOGICALLY_UNRESECTABLE)
#: The findings a checklist carries (units in the names).
FINDINGS = (
    "r0_feasible",
    "remnant_liver_pct",
    "vp_grade",
    "vv_grade",
    "child_pugh_grade",
    "albi_grade",
)


@dataclass(frozen=True)
class Findings:
    """What the MDT looked at; None = not on record."""

    r0_feasible: bool | None = None
    remnant_liver_pct: float | None = None
    vp_grade: str | None = None
    vv_grade: str | None = None
    child_pugh_grade: str | None = None
    albi_grade: int | None = None

    @classmethod
    def from_mapping(cls, data: Any, where: str = "criteria") -> Findings:
        """Findings from a dict, every problem named (``InvalidInput``)."""
        if not isinstance(data, dict):
            raise InvalidInput.field(where, data, f"a mapping with keys from {list(FINDINGS)}")
        problems = [
            f"{where}.{key}: unknown finding; expected one of {list(FINDINGS)}"
            for key in sorted(set(data) - set(FINDINGS))
        ]
        r0 = data.get("r0_feasible")
        if r0 is not None and not isinstance(r0, bool):
            problems.append(f"{where}.r0_feasible={r0!r}: expected true, false or null")
        pct = data.get("remnant_liver_pct")
        if pct is not None and (
            isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 <= pct <= 100
        ):
            problems.append(f"{where}.remnant_liver_pct={pct!r}: expected a percentage 0-100")
        grades = {
            "vp_grade": ("Vp0", "Vp1", "Vp2", "Vp3", "Vp4"),
            "vv_grade": ("Vv0", "Vv1", "Vv2", "Vv3"),
            "child_pugh_grade": ("A", "B", "C"),
            "albi_grade": (1, 2, 3),
        }
        for key, allowed in grades.items():
            value = data.get(key)
            if value is not None and (value not in allowed or isinstance(value, bool)):
                problems.append(f"{where}.{key}={value!r}: expected one of {list(allowed)}")
        if problems:
            raise InvalidInput(problems)
        return cls(**{k: data.get(k) for k in FINDINGS})

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FINDINGS}


@dataclass(frozen=True)
class Verdict:
    """Each criterion met (True), failed (False) or missing (None), and the overall status."""

    criteria: dict[str, bool | None]
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [name for name, met in self.criteria.items() if met is None]

    @property
    def failed(self) -> list[str]:
        return [name for name, met in self.criteria.items() if met is False]

    @property
    def status(self) -> str:
        """``resectable`` (all met), ``not_resectable`` (one failed) or ``incomplete``."""
        if self.failed:
            return "not_resectable"
        return "incomplete" if self.missing else "resectable"

    def explain(self) -> str:
        """One line per criterion: why it is met, failed or missing."""
        return "; ".join(f"{name}: {self.reasons[name]}" for name in self.criteria)


def assess(findings: Findings, rules: Any) -> Verdict:
    """Each criterion against the protocol's ``resectability`` rules (see module table)."""
    criteria: dict[str, bool | None] = {}
    reasons: dict[str, str] = {}
    if findings.r0_feasible is None:
        criteria["r0_feasible"], reasons["r0_feasible"] = None, "not assessed"
    else:
        criteria["r0_feasible"] = findings.r0_feasible
        reasons["r0_feasible"] = "R0 feasible" if findings.r0_feasible else "R0 not feasible"
    minimum = rules.min_remnant_liver_pct.value
    if findings.remnant_liver_pct is None:
        criteria["remnant_liver"], reasons["remnant_liver"] = None, "no volumetry on record"
    else:
        ok = findings.remnant_liver_pct >= minimum
        criteria["remnant_liver"] = ok
        reasons["remnant_liver"] = (
            f"remnant {findings.remnant_liver_pct:g}% {'>=' if ok else '<'} {minimum:g}%"
        )
    if findings.vp_grade is None or findings.vv_grade is None:
        criteria["thrombus_extent"] = None
        reasons["thrombus_extent"] = "Vp/Vv grade not on record"
    else:
        ok = findings.vp_grade in rules.resectable_vp_grades.value + [
            "Vp0"
        ] and findings.vv_grade in rules.resectable_vv_grades.value + ["Vv0"]
        criteria["thrombus_extent"] = ok
        reasons["thrombus_extent"] = (
            f"{findings.vp_grade}/{findings.vv_grade} {'within' if ok else 'beyond'} the "
            "protocol's resectable extent"
        )
    if findings.child_pugh_grade is None or findings.albi_grade is None:
        criteria["liver_function"] = None
        reasons["liver_function"] = "Child-Pugh or ALBI not on record"
    else:
        ok = (
            findings.child_pugh_grade in rules.child_pugh_grades.value
            and findings.albi_grade <= rules.max_albi_grade.value
        )
        criteria["liver_function"] = ok
        reasons["liver_function"] = (
            f"Child-Pugh {findings.child_pugh_grade}, ALBI grade {findings.albi_grade}"
            f"{'' if ok else ' (outside the protocol limits)'}"
        )
    return Verdict(criteria, reasons)


def check_class(resectability_class: str, verdict: Verdict, reason: str | None) -> list[str]:
    """Problems with a class given these criteria (empty list: consistent)."""
    if resectability_class not in CLASSES:
        return [f"resectability_class={resectability_class!r}: expected one of {list(CLASSES)}"]
    problems = []
    if verdict.missing:
        problems.append(
            f"criteria: {verdict.missing} missing; a class needs every criterion assessed"
        )
    elif resectability_class == TECHNICALLY_UNRESECTABLE and not verdict.failed:
        problems.append(
            "resectability_class='technically_unresectable' but every criterion is met; "
            "expected 'technically_resectable' or 'oncologically_unresectable' with a reason"
        )
    elif resectability_class != TECHNICALLY_UNRESECTABLE and verdict.failed:
        problems.append(
            f"resectability_class={resectability_class!r} but {verdict.failed} not met; "
            "expected 'technically_unresectable'"
        )
    if resectability_class == ONCOLOGICALLY_UNRESECTABLE and not (reason or "").strip():
        problems.append(
            "reason: expected the oncological reason (e.g. 'Vp4 thrombus: upfront resection "
            "not advised')"
        )
    return problems
