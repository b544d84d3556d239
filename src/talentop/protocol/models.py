"""The protocol as data: pydantic models of one trial protocol file (see ``talentop.yaml``).

Nothing trial-specific lives in Python: eligibility rules, doses, schedule, strata,
arms, MDT rule and the TTF definition are all read from the YAML file and checked here.
Cross-field checks (duplicate ids, ratio keys vs arm ids, every TTF reason in the
discontinuation vocabulary, the TTF reason lists disjoint) are plain functions of the raw
mapping (``cross_check``), so the loader can report them together with field problems when
a file is malformed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from numbers import Rational
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from talentop.clinical.fields import FIELDS
from talentop.clinical.rules import DERIVED, check_rule, rule_fields
from talentop.errors import InvalidInput
from talentop.protocol.conduct import Consent, Deviations, Medication, Safety
from talentop.protocol.edit_checks import EditCheck
from talentop.protocol.pathways import (
    Endpoints,
    LocalTherapy,
    Pathology,
    Reassessment,
    Resectability,
    SurgicalSafety,
    SwitchHandling,
)
from talentop.protocol.plan import PublishedFigure, Sap, Scenario

__all__ = [
    "Arm",
    "Endpoints",
    "Assessment",
    "Criterion",
    "DrugDose",
    "FollowUp",
    "Induction",
    "InductionCycle",
    "Mdt",
    "Protocol",
    "Randomisation",
    "Stratum",
    "StratumLevel",
    "Surgery",
    "Ttf",
]

RESPONSES = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")
#: Stratification variables that come from the response assessment, not the screening record.
RESPONSE_VARIABLES = ("depth_of_response_pct",)


def stratifiable_variables() -> list[str]:
    """Names a stratum may cut: numeric patient fields, numeric derived ones, response ones."""
    numeric = ("float", "int")
    names = [n for n, spec in FIELDS.items() if spec.kind in numeric]
    names += [n for n, d in DERIVED.items() if d.kind in numeric]
    return sorted(set(names) | set(RESPONSE_VARIABLES))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(_Model):
    """One eligibility criterion: the rule states what must hold for the patient to pass.

    For an exclusion ("no extrahepatic spread") the rule is written positively
    (``extrahepatic_spread == false``); ``kind`` only says how the protocol words it.
    ``needs`` lists the patient fields the rule reads; computed from the rule if omitted.
    """

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    kind: Literal["inclusion", "exclusion"] = "inclusion"
    rule: dict[str, Any]
    needs: list[str] = Field(default_factory=list)

    @field_validator("rule")
    @classmethod
    def _rule_is_valid(cls, rule: dict[str, Any]) -> dict[str, Any]:
        problems = check_rule(rule)
        if problems:
            raise PydanticCustomError(
                "rule_vocabulary",
                "{summary}",
                {"summary": "; ".join(f"{p}: {m}" for p, m in problems), "problems": problems},
            )
        return rule

    @field_validator("needs")
    @classmethod
    def _needs_known(cls, needs: list[str]) -> list[str]:
        unknown = [n for n in needs if n not in FIELDS and n not in DERIVED]
        if unknown:
            raise ValueError(f"unknown patient field(s) {unknown}")
        return needs

    @model_validator(mode="after")
    def _default_needs(self) -> Criterion:
        if not self.needs:
            object.__setattr__(self, "needs", rule_fields(self.rule))
        return self


class DrugDose(_Model):
    """One drug in one cycle: a fixed dose (mg) or a weight-based dose (mg per kg)."""

    drug: str = Field(min_length=1)
    dose: float = Field(gt=0)
    dose_unit: Literal["mg", "mg_per_kg"]
    route: Literal["iv", "sc", "oral"] = "iv"


class InductionCycle(_Model):
    """One induction cycle: its number (1-based) and the drugs given on day 1."""

    number: int = Field(ge=1)
    drugs: list[DrugDose] = Field(min_length=1)


class Induction(_Model):
    """The induction schedule: cycle length, visit window and the cycles themselves."""

    cycle_length_days: int = Field(gt=0, le=84)
    visit_window_days: int = Field(ge=0, le=14)
    before_randomisation: bool = True
    cycles: list[InductionCycle] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_in_order(self) -> Induction:
        numbers = [c.number for c in self.cycles]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"cycle numbers must run 1, 2, 3... in order, got {numbers}")
        return self


class Surgery(_Model):
    """Surgery timing around bevacizumab (label: >= 28 days before and after)."""

    min_days_after_bevacizumab: int = Field(28, ge=0, le=365)
    bevacizumab_restart_min_days: int = Field(28, ge=0, le=365)


class Assessment(_Model):
    """Response assessment settings, passed on to ``talentop.recist``."""

    criteria: Literal["recist1.1", "mrecist"] = "recist1.1"
    record_mrecist: bool = True
    confirmation: bool = False
    min_sd_days: int = Field(42, ge=0)
    interval_weeks: int = Field(6, gt=0, le=52)
    # A scheduled scan counts as done when one falls within +/- window_days of it (PFS
    # missed-visit rule, FDA 2007 Appendix 3 Table A). 7 days is a usual imaging window.
    window_days: int = Field(7, ge=0, le=28)
    randomisable_responses: list[Literal["CR", "PR", "SD", "non-CR/non-PD", "PD", "NE"]] = Field(
        default_factory=lambda: ["PR", "SD"]
    )
    #: Why these responses (e.g. whether CR after induction is randomised): a source or SETTING.
    randomisable_responses_source: str = "SETTING"

    @model_validator(mode="after")
    def _windows_do_not_overlap(self) -> Assessment:
        # Overlapping windows would let one scan count for two scheduled visits.
        if 2 * self.window_days >= 7 * self.interval_weeks:
            raise ValueError(
                f"window_days={self.window_days} must be less than half of interval_weeks="
                f"{self.interval_weeks} ({7 * self.interval_weeks} days)"
            )
        return self


def _exact(value: int | float | Decimal | Fraction) -> Fraction:
    """Exact rational of a number as written: floats go through their shortest repr."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a stratification value")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} cannot be stratified")
        return Fraction(Decimal(repr(value)))
    if isinstance(value, Decimal | int | Rational):
        return Fraction(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


class StratumLevel(_Model):
    """One level of a stratum: values <= ``upper`` (inclusive) fall here; None = no limit."""

    id: str = Field(min_length=1)
    label: str = ""
    upper: Decimal | None = None

    @field_validator("upper", mode="before")
    @classmethod
    def _decimal_from_text(cls, value: Any) -> Any:
        # YAML floats arrive as binary floats; read them as written (-30.0 -> Decimal('-30.0')).
        return Decimal(repr(value)) if isinstance(value, float) else value


class Stratum(_Model):
    """A stratification factor: a patient variable cut into ordered levels."""

    id: str = Field(min_length=1)
    variable: str = Field(min_length=1)
    label: str = ""
    levels: list[StratumLevel] = Field(min_length=1)

    @field_validator("variable")
    @classmethod
    def _known_variable(cls, variable: str) -> str:
        # A typo here would only surface at the first randomisation, as a missing value.
        if variable not in stratifiable_variables():
            raise ValueError(
                f"unknown stratification variable {variable!r}; expected a numeric patient "
                "field, a numeric derived quantity or depth_of_response_pct"
            )
        return variable

    @model_validator(mode="after")
    def _levels_ordered(self) -> Stratum:
        uppers = [lvl.upper for lvl in self.levels]
        if any(u is None for u in uppers[:-1]):
            raise ValueError("only the last level may have no upper limit")
        finite = [u for u in uppers if u is not None]
        if any(b <= a for a, b in zip(finite, finite[1:], strict=False)):
            raise ValueError(f"level uppers must increase strictly, got {[str(u) for u in finite]}")
        ids = [lvl.id for lvl in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate level ids in {ids}")
        return self

    def level_for(self, value: int | float | Decimal | Fraction) -> str:
        """Id of the FIRST level whose ``upper`` >= value (exact comparison).

        ``InvalidInput`` if the value is above every finite upper and no open level exists.
        """
        try:
            exact = _exact(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput.field(self.variable, value, f"a finite number ({exc})") from None
        for level in self.levels:
            if level.upper is None or exact <= Fraction(level.upper):
                return level.id
        raise InvalidInput.field(
            self.variable, value, f"at most {self.levels[-1].upper} (stratum {self.id})"
        )


class Randomisation(_Model):
    """How patients are allocated: permuted blocks or minimisation, ratio by arm id.

    ``timing``: ``after_induction`` (TALENTOP: an assessed PR/SD patient the MDT finds
    resectable) or ``at_entry`` (TALENTACE: an eligible screened patient, before any treatment).
    """

    scheme: Literal["permuted_block", "minimisation"] = "permuted_block"
    timing: Literal["after_induction", "at_entry"] = "after_induction"
    block_sizes: list[int] = Field(default_factory=lambda: [2, 4])
    ratio: dict[str, int] = Field(default_factory=lambda: {"A": 1, "B": 1})
    stratify_by_site: bool = False
    minimisation_p: float = Field(0.8, gt=0.5, le=1.0)

    @field_validator("ratio")
    @classmethod
    def _positive_ratio(cls, ratio: dict[str, int]) -> dict[str, int]:
        bad = {arm: n for arm, n in ratio.items() if n < 1}
        if bad or len(ratio) < 2:
            raise ValueError(f"expected >= 2 arms with weights >= 1, got {ratio}")
        return ratio

    @model_validator(mode="after")
    def _blocks_fit_ratio(self) -> Randomisation:
        total = sum(self.ratio.values())
        bad = [b for b in self.block_sizes if b < 1 or b % total]
        if bad or not self.block_sizes:
            raise ValueError(f"block sizes must be positive multiples of {total}, got {bad}")
        return self


class Arm(_Model):
    """A treatment arm; ``maintenance_cap_months`` None = until loss of clinical benefit."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = ""
    includes_surgery: bool = False
    local_therapy: list[str] = Field(default_factory=list)
    maintenance_cap_months: int | None = Field(None, gt=0)
    #: Protocol drugs given in this arm after randomisation (None: every protocol drug).
    drugs: list[str] | None = None
    #: The arm's drugs start only after its first local therapy (TALENTACE: atezo/bev after TACE).
    drugs_after_local_therapy: bool = False


class Mdt(_Model):
    """Multidisciplinary-team resectability decision: who must sit, and how votes count."""

    min_members: int = Field(3, ge=1)
    rule: Literal["majority", "unanimous", "supermajority"] = "majority"
    threshold: float | None = Field(None, gt=0.5, le=1.0)
    required_specialties: list[str] = Field(default_factory=list)
    #: Each vote carries the structured criteria it rests on (``resectability`` section).
    criteria_required: bool = False

    @model_validator(mode="after")
    def _threshold_for_supermajority(self) -> Mdt:
        if self.rule == "supermajority" and self.threshold is None:
            raise ValueError("rule 'supermajority' needs a threshold (e.g. 0.67)")
        if len(self.required_specialties) > self.min_members:
            raise ValueError("more required specialties than min_members")
        return self


class Ttf(_Model):
    """Which discontinuation reasons end time to treatment failure, censor it, or neither.

    ``continue_reasons`` end treatment but neither fail nor censor TTF: follow-up for a
    failure (progression, death, a later failure discontinuation) goes on after them.
    The three lists are disjoint.
    """

    definition: str = ""
    failure_reasons: list[str] = Field(min_length=1)
    censor_reasons: list[str] = Field(default_factory=list)
    continue_reasons: list[str] = Field(default_factory=list)
    #: An arm-B switch to surgery: the primary reading and the sensitivity analyses.
    switch_to_surgery: SwitchHandling = SwitchHandling()

    @model_validator(mode="after")
    def _disjoint(self) -> Ttf:
        problems = ttf_overlaps(self.model_dump())
        if problems:
            # Paths relative to ``ttf``; the loader prefixes them (``ttf.censor_reasons: ...``).
            raise PydanticCustomError(
                "ttf_overlap",
                "{summary}",
                {"summary": "; ".join(f"{p}: {m}" for p, m in problems), "problems": problems},
            )
        return self


class FollowUp(_Model):
    """Follow-up after treatment ends."""

    survival_contact_interval_weeks: int = Field(12, gt=0, le=104)
    imaging_interval_weeks: int = Field(12, gt=0, le=104)


class Protocol(_Model):
    """One trial protocol, as loaded by ``talentop.protocol.load_protocol``."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    registry_id: str = Field(pattern=r"^NCT\d{8}$")
    version: str = "1"
    notes: str = ""
    eligibility: list[Criterion] = Field(min_length=1)
    induction: Induction
    surgery: Surgery = Surgery()
    assessment: Assessment = Assessment()
    strata: list[Stratum] = Field(default_factory=list)
    randomisation: Randomisation = Randomisation()
    arms: list[Arm] = Field(min_length=2)
    mdt: Mdt = Mdt()
    ttf: Ttf
    discontinuation_reasons: list[str] = Field(min_length=1)
    follow_up: FollowUp = FollowUp()
    #: Data-management edit checks (``talentop.protocol.edit_checks``).
    edit_checks: list[EditCheck] = Field(default_factory=list)
    endpoints: Endpoints = Endpoints()
    sap: Sap | None = None
    published: dict[str, PublishedFigure] = Field(default_factory=dict)
    scenarios: list[Scenario] = Field(default_factory=list)
    resectability: Resectability | None = None
    reassessment: Reassessment | None = None
    local_therapy: LocalTherapy | None = None
    pathology: Pathology = Pathology()
    surgical_safety: SurgicalSafety = SurgicalSafety()
    # Trial conduct (talentop.protocol.conduct): consent forms, RSI and SAE clocks,
    # medication rules, deviation vocabulary.
    consent: Consent = Consent()
    safety: Safety | None = None
    medication: Medication = Medication()
    deviations: Deviations = Deviations()

    @model_validator(mode="after")
    def _cross_checks(self) -> Protocol:
        problems = cross_check(self.model_dump())
        if problems:
            raise PydanticCustomError(
                "protocol_cross_check",
                "{summary}",
                {"summary": "; ".join(f"{p}: {m}" for p, m in problems), "problems": problems},
            )
        return self

    def arm(self, arm_id: str) -> Arm:
        """The arm with this id (``NotFound``-style ``InvalidInput`` otherwise)."""
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise InvalidInput.field("arm", arm_id, f"one of {[a.id for a in self.arms]}")

    def scenario(self, scenario_id: str) -> Scenario:
        """The simulation scenario with this id."""
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        raise InvalidInput.field(
            "scenario", scenario_id, f"one of {[s.id for s in self.scenarios]}"
        )

    def drugs(self) -> list[str]:
        """Every protocol drug (the induction / regimen cycle table), in order of appearance."""
        names: list[str] = []
        for cycle in self.induction.cycles:
            names += [d.drug for d in cycle.drugs if d.drug not in names]
        return names

    def stratum(self, stratum_id: str) -> Stratum:
        """The stratum with this id."""
        for stratum in self.strata:
            if stratum.id == stratum_id:
                return stratum
        raise InvalidInput.field("stratum", stratum_id, f"one of {[s.id for s in self.strata]}")


def _ids(items: Any) -> list[Any]:
    if not isinstance(items, list):
        return []
    return [i.get("id") for i in items if isinstance(i, Mapping) and "id" in i]


def _strings(items: Any) -> list[str]:
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


def cross_check(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems between fields, as (YAML path, message), on raw or validated protocol data.

    Tolerant of malformed parts (they are reported by field validation), so a broken file
    gets its field AND cross-field problems in one list.
    """
    problems: list[tuple[str, str]] = []
    for label in ("eligibility", "arms", "strata"):
        items = [i for i in _ids(data.get(label)) if isinstance(i, str)]
        dupes = sorted({i for i in items if items.count(i) > 1})
        if dupes:
            problems.append((label, f"duplicate ids {dupes}"))
    arm_ids = {i for i in _ids(data.get("arms")) if isinstance(i, str)}
    randomisation = data.get("randomisation")
    ratio = randomisation.get("ratio") if isinstance(randomisation, Mapping) else None
    if ratio is None and isinstance(data.get("arms"), list):
        ratio = {"A": 1, "B": 1}  # the model's default
    if isinstance(ratio, Mapping) and arm_ids and set(ratio) != arm_ids:
        problems.append(
            (
                "randomisation.ratio",
                f"arms {sorted(map(str, ratio))} do not match arm ids {sorted(arm_ids)}",
            )
        )
    ttf = data.get("ttf")
    reasons = data.get("discontinuation_reasons")
    if isinstance(ttf, Mapping) and isinstance(reasons, list):
        vocabulary = set(_strings(reasons))
        for name in TTF_LISTS:
            unknown = [r for r in _strings(ttf.get(name)) if r not in vocabulary]
            if unknown:
                problems.append((f"ttf.{name}", f"{unknown} not in discontinuation_reasons"))
    if isinstance(ttf, Mapping):
        # Also checked by ``Ttf``; repeated here so a file with other broken TTF fields
        # gets its overlaps reported in the same round (the loader drops duplicates).
        problems += [(f"ttf.{path}", message) for path, message in ttf_overlaps(ttf)]
    return problems + _pathway_checks(data)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _pathway_checks(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Endpoint reasons in the vocabulary, SAP endpoint = primary endpoint, scenario ids,
    arm drugs among the protocol's drugs."""
    problems: list[tuple[str, str]] = []
    vocabulary = set(_strings(data.get("discontinuation_reasons")))
    reasons = _strings(_get(data, "endpoints", "tace_pfs", "event_reasons"))
    unknown = [r for r in reasons if vocabulary and r not in vocabulary]
    if unknown:
        problems.append(
            ("endpoints.tace_pfs.event_reasons", f"{unknown} not in discontinuation_reasons")
        )
    primary = _get(data, "endpoints", "primary") or "TTF"
    planned = _get(data, "sap", "primary_endpoint")
    if isinstance(planned, str) and planned != primary:
        problems.append(
            ("sap.primary_endpoint", f"{planned!r} differs from endpoints.primary {primary!r}")
        )
    scenario_ids = [i for i in _ids(data.get("scenarios")) if isinstance(i, str)]
    dupes = sorted({i for i in scenario_ids if scenario_ids.count(i) > 1})
    if dupes:
        problems.append(("scenarios", f"duplicate ids {dupes}"))
    cycles = _get(data, "induction", "cycles")
    known = {
        d.get("drug")
        for c in (cycles if isinstance(cycles, list) else [])
        if isinstance(c, Mapping)
        for d in (c.get("drugs") if isinstance(c.get("drugs"), list) else [])
        if isinstance(d, Mapping)
    }
    arms = data.get("arms") if isinstance(data.get("arms"), list) else []
    for index, arm in enumerate(arms):
        drugs = _strings(arm.get("drugs")) if isinstance(arm, Mapping) else []
        strange = [d for d in drugs if known and d not in known]
        if strange:
            problems.append((f"arms[{index}].drugs", f"{strange} not among the protocol drugs"))
    return problems


#: The TTF reason lists, in the order problems are reported.
TTF_LISTS = ("failure_reasons", "censor_reasons", "continue_reasons")


def ttf_overlaps(ttf: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Reasons in two TTF lists, as (path within ``ttf``, message): one meaning per reason."""
    problems: list[tuple[str, str]] = []
    for i, first in enumerate(TTF_LISTS):
        for second in TTF_LISTS[i + 1 :]:
            both = sorted(set(_strings(ttf.get(first))) & set(_strings(ttf.get(second))))
            if both:
                problems.append((second, f"{both} also in ttf.{first}: expected disjoint lists"))
    return problems
