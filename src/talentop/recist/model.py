"""Parse and validate a RECIST case (the JSON of examples/recist/README.md) into frozen dataclasses.

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1), section 3
(measurability: >= 10 mm non-nodal on CT, or 2x the slice thickness when it is > 5 mm;
nodes: target if short axis >= 15 mm, non-target 10 to < 15 mm, normal < 10 mm) and
section 4.2 (at most 5 targets, 2 per organ; all lymph nodes are one organ, EORTC FAQ).
Every problem is collected and raised together as one ``InvalidInput``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from talentop.errors import InvalidInput
from talentop.recist import mrecist
from talentop.recist._exact import to_fraction
from talentop.recist.options import Options, parse_options

CRITERIA = ("recist1.1", "mrecist")
NON_TARGET_STATUSES = ("absent", "present", "progression", "not_evaluated")
#: A lesion removed by surgery: no longer part of the assessment from that scan on (EORTC
#: RECIST FAQ "Surgery/radiotherapy and RECIST": when surgery is foreseen by the protocol,
#: "these lesions will no longer be part of the assessment"). Once resected, always resected:
#: disease at the resection site later is a new lesion (recurrence).
RESECTED = "resected"
NEW_LESION_STATUSES = ("none", "equivocal", "unequivocal")
#: RECIST 1.1 / EORTC FAQ: "too small to measure" is recorded as 5 mm; "absent" is 0 mm.
TOO_SMALL_MM = Fraction(5)
MIN_NON_NODAL_MM = Fraction(10)
MIN_TARGET_NODE_MM = Fraction(15)
NODE_LYMPH_ORGAN = "lymph nodes"
TOP_KEYS = frozenset(
    {"criteria", "confirmation", "min_sd_days", "baseline", "followups", "options"}
)
FOLLOWUP_KEYS = frozenset({"date", "target", "non_target", "new_lesions", "new_lesion_details"})


@dataclass(frozen=True)
class TargetLesion:
    """A baseline target: its diameter (long axis, or short axis for a node) in exact mm."""

    id: str
    organ: str
    nodal: bool
    diameter_mm: Fraction
    #: Nodes under this short axis are normal (10 mm; 20 mm at the porta hepatis in mRECIST).
    normal_below_mm: Fraction


@dataclass(frozen=True)
class NonTargetLesion:
    """A baseline non-target lesion, followed qualitatively."""

    id: str
    organ: str
    nodal: bool


@dataclass(frozen=True)
class Followup:
    """One assessment: exact target values (None = not evaluated) and the qualitative calls."""

    date: dt.date
    target_mm: Mapping[str, Fraction | None]
    non_target: Mapping[str, str]
    new_lesions: str
    #: Why an input word was changed by an mRECIST rule (cytology, new-HCC size...).
    notes: tuple[str, ...] = ()
    #: Ids of the new lesions listed in ``new_lesion_details`` (for backdating by lesion).
    new_lesion_ids: tuple[str, ...] = ()
    #: Ids of the lesions (target or non-target) resected by this scan (value "resected").
    resected: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Case:
    """A validated case: the baseline, the ordered follow-ups and the conventions in force."""

    criteria: str
    confirmation: bool
    min_sd_days: int
    baseline_date: dt.date
    targets: tuple[TargetLesion, ...]
    non_targets: tuple[NonTargetLesion, ...]
    followups: tuple[Followup, ...]
    options: Options

    @property
    def sd_reference_date(self) -> dt.date:
        """Start of the SD minimum duration: the option if set, else the baseline scan."""
        if self.options.sd_reference_date:
            return dt.date.fromisoformat(self.options.sd_reference_date)
        return self.baseline_date

    @property
    def baseline_sum_mm(self) -> Fraction | None:
        """Sum of target diameters at baseline; None when there are no targets."""
        if not self.targets:
            return None
        return sum((t.diameter_mm for t in self.targets), Fraction(0))


def parse_case(raw: object, *, criteria: str | None = None) -> Case:
    """Validate ``raw`` (a decoded JSON object) and return a Case, or raise InvalidInput.

    ``criteria`` overrides the case's own ``"criteria"`` (used by ``evaluate_both``).
    """
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise InvalidInput(f"case={type(raw).__name__}: expected a JSON object")
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append(f"{key}: unknown key; expected one of {sorted(TOP_KEYS)}")
    chosen = criteria if criteria is not None else raw.get("criteria", "recist1.1")
    if chosen not in CRITERIA:
        problems.append(f"criteria={chosen!r}: expected one of {list(CRITERIA)}")
        chosen = "recist1.1"
    confirmation = raw.get("confirmation", False)
    if not isinstance(confirmation, bool):
        problems.append(f"confirmation={confirmation!r}: expected true or false")
    min_sd_days = raw.get("min_sd_days", 42)
    if isinstance(min_sd_days, bool) or not isinstance(min_sd_days, int) or min_sd_days < 0:
        problems.append(f"min_sd_days={min_sd_days!r}: expected a whole number of days >= 0")
        min_sd_days = 0
    options = parse_options(raw.get("options"), problems)

    baseline = raw.get("baseline")
    if not isinstance(baseline, dict):
        problems.append(f"baseline={baseline!r}: expected an object with date, target, non_target")
        baseline = {}
    baseline_date = _date(baseline.get("date"), "baseline.date", problems)
    targets = _targets(baseline.get("target", []), chosen, options, problems)
    non_targets = _non_targets(baseline.get("non_target", []), chosen, problems)
    if not baseline.get("target") and not baseline.get("non_target"):
        problems.append("baseline: no lesions; expected at least one target or non-target lesion")
    all_ids = [t.id for t in targets] + [n.id for n in non_targets]
    for lesion_id, count in Counter(all_ids).items():
        if count > 1:
            problems.append(f"id={lesion_id!r}: used {count} times; ids must be unique")

    followups = _followups(raw.get("followups", []), baseline_date, targets, non_targets, chosen)
    problems.extend(followups[1])
    if problems:
        raise InvalidInput(problems)
    assert baseline_date is not None  # for the type checker; a missing date is a problem above
    return Case(
        criteria=chosen,
        confirmation=bool(confirmation),
        min_sd_days=int(min_sd_days),
        baseline_date=baseline_date,
        targets=tuple(targets),
        non_targets=tuple(non_targets),
        followups=tuple(followups[0]),
        options=options,
    )


def _date(value: object, field: str, problems: list[str]) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(f"{field}={value!r}: expected an ISO date YYYY-MM-DD")
    return None


def _text(item: dict[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key}={value!r}: expected a non-empty string")
        return ""
    return value


def _organ_group(organ: str, nodal: bool) -> str:
    # EORTC FAQ "Two target lesions": all lymph nodes together count as one organ.
    return NODE_LYMPH_ORGAN if nodal else organ


def _lesion_header(
    item: object, where: str, expected: str, problems: list[str]
) -> tuple[str, str, str, bool] | None:
    """A baseline lesion's (where, id, organ, nodal), problems noted; None if not an object."""
    if not isinstance(item, dict):
        problems.append(f"{where}={item!r}: expected an object with {expected}")
        return None
    lesion_id = _text(item, "id", where, problems)
    where = f"{where} ({lesion_id or '?'})"
    organ = _text(item, "organ", where, problems)
    nodal = item.get("nodal", False)
    if not isinstance(nodal, bool):
        problems.append(f"{where}.nodal={nodal!r}: expected true or false")
        nodal = False
    return where, lesion_id, organ, nodal


def _targets(
    raw: object, criteria: str, options: Options, problems: list[str]
) -> list[TargetLesion]:
    if not isinstance(raw, list):
        problems.append(f"baseline.target={raw!r}: expected a list of target lesions")
        return []
    lesions: list[TargetLesion] = []
    for index, item in enumerate(raw):
        header = _lesion_header(
            item, f"baseline.target[{index}]", "id, organ, diameter_mm", problems
        )
        if header is None:
            continue
        where, lesion_id, organ, nodal = header
        key = (
            "viable_diameter_mm"
            if criteria == "mrecist" and "viable_diameter_mm" in item
            else "diameter_mm"
        )
        diameter = to_fraction(item.get(key))
        if diameter is None or diameter < 0:
            problems.append(f"{where}.{key}={item.get(key)!r}: expected a number of mm >= 0")
            # Keep the lesion (the case is rejected anyway) so follow-ups naming it are not
            # also reported as naming an unknown lesion.
            lesions.append(TargetLesion(lesion_id, organ, nodal, Fraction(0), Fraction(10)))
            continue
        slice_mm = item.get("slice_thickness_mm")
        slice_exact = to_fraction(slice_mm) if slice_mm is not None else None
        if slice_mm is not None and (slice_exact is None or slice_exact <= 0):
            problems.append(f"{where}.slice_thickness_mm={slice_mm!r}: expected a number of mm > 0")
        if criteria == "mrecist" and organ in mrecist.PORTAL_VEIN_ORGANS:
            problems.append(
                f"{where}.organ={organ!r}: portal vein tumour thrombus is non-measurable under "
                "mRECIST; expected it as a non-target lesion"
            )
        normal_below = mrecist.node_normal_below_mm(organ, criteria)
        _check_measurable(where, key, diameter, nodal, organ, criteria, slice_exact, problems)
        lesions.append(TargetLesion(lesion_id, organ, nodal, diameter, normal_below))
    if len(lesions) > options.max_targets:
        problems.append(
            f"baseline.target: {len(lesions)} target lesions; expected at most "
            f"{options.max_targets} in total (RECIST 1.1 section 4.2)"
        )
    per_organ = Counter(_organ_group(t.organ, t.nodal) for t in lesions)
    for organ, count in sorted(per_organ.items()):
        if count > options.max_targets_per_organ:
            problems.append(
                f"baseline.target: {count} targets in organ {organ!r}; expected at most "
                f"{options.max_targets_per_organ} per organ (all lymph nodes count as one organ)"
            )
    return lesions


def _check_measurable(
    where: str,
    key: str,
    diameter: Fraction,
    nodal: bool,
    organ: str,
    criteria: str,
    slice_mm: Fraction | None,
    problems: list[str],
) -> None:
    """RECIST 1.1 section 3.1 measurability (mRECIST: porta hepatis nodes need 20 mm)."""
    shown = f"{float(diameter):g}"
    if nodal:
        # The 2x-slice rule is not applied to nodes: the paper states it for tumour lesions.
        normal = mrecist.node_normal_below_mm(organ, criteria)
        minimum = max(MIN_TARGET_NODE_MM, normal)
        if diameter < minimum:
            # quote the bands of the criteria in use: mRECIST porta hepatis has no
            # non-target band, a node under 20 mm is simply not malignant
            if normal < minimum:
                bands = f"{normal} to <{minimum} mm nodes are non-target, <{normal} mm are normal"
            else:
                bands = (
                    f"mRECIST: porta hepatis nodes < {normal} mm short axis are not "
                    "considered malignant"
                )
            problems.append(
                f"{where}.{key}={shown}: a target lymph node needs short axis >= {minimum} mm "
                f"({bands})"
            )
        return
    minimum = MIN_NON_NODAL_MM
    if slice_mm is not None and slice_mm > 5:
        minimum = max(minimum, 2 * slice_mm)
    if diameter < minimum:
        problems.append(
            f"{where}.{key}={shown}: a measurable non-nodal lesion needs a longest diameter "
            f">= {float(minimum):g} mm (10 mm, or 2x slice thickness when > 5 mm); record it "
            "as non-target"
        )


def _non_targets(raw: object, criteria: str, problems: list[str]) -> list[NonTargetLesion]:
    if not isinstance(raw, list):
        problems.append(f"baseline.non_target={raw!r}: expected a list of non-target lesions")
        return []
    lesions: list[NonTargetLesion] = []
    for index, item in enumerate(raw):
        header = _lesion_header(item, f"baseline.non_target[{index}]", "id and organ", problems)
        if header is None:
            continue
        where, lesion_id, organ, nodal = header
        short_axis = item.get("short_axis_mm")
        if short_axis is not None:
            exact = to_fraction(short_axis)
            normal_below = mrecist.node_normal_below_mm(organ, criteria)
            if exact is None or exact < 0:
                problems.append(
                    f"{where}.short_axis_mm={short_axis!r}: expected a number of mm >= 0"
                )
            elif nodal and exact < normal_below:
                problems.append(
                    f"{where}.short_axis_mm={short_axis!r}: a node under {normal_below} mm short "
                    "axis is not pathological; do not record it"
                )
        lesions.append(NonTargetLesion(lesion_id, organ, nodal))
    return lesions


#: Follow-ups already parsed, per baseline (date, lesions, criteria): a service parses a
#: patient's whole history again at every new scan, and a follow-up's parse depends only on
#: the baseline and the follow-ups before it. Reused while the raw follow-ups' ``repr``s
#: (type-exact: ``1`` is not ``True`` nor ``1.0``) equal the cached ones, up to the first
#: that had a problem; bounded, oldest dropped first (as ``engine._EVALUATED``).
_PARSED: OrderedDict[tuple[Any, ...], tuple[tuple[str, Followup | None, _ParseState], ...]] = (
    OrderedDict()
)
_PARSED_MAX = 512
_PARSED_LOCK = threading.Lock()


@dataclass(frozen=True)
class _ParseState:
    """What the follow-ups parsed so far pass on to the next one."""

    previous: dt.date | None  # the latest assessment date (the baseline's at first)
    first_seen_mm: Mapping[str, Fraction]  # new-lesion id -> diameter when first listed
    resected_so_far: Mapping[str, str]  # lesion id -> where it was first recorded resected


def _followups(
    raw: object,
    baseline_date: dt.date | None,
    targets: list[TargetLesion],
    non_targets: list[NonTargetLesion],
    criteria: str,
) -> tuple[list[Followup], list[str]]:
    if not isinstance(raw, list):
        return [], [f"followups={raw!r}: expected a list of assessments"]
    key: tuple[Any, ...] | None = (baseline_date, tuple(targets), tuple(non_targets), criteria)
    try:
        hash(key)
    except TypeError:
        key = None
    with _PARSED_LOCK:
        cached = _PARSED.get(key) if key is not None else None
    texts = [repr(item) for item in raw] if key is not None else []
    steps: list[tuple[str, Followup | None, _ParseState]] = []
    for old, text in zip(cached or (), texts, strict=False):
        if old[0] != text:
            break
        steps.append(old)
    reused = len(steps)
    state = steps[-1][2] if steps else _ParseState(baseline_date, {}, {})
    result = [followup for _, followup, _ in steps if followup is not None]
    problems: list[str] = []
    organ_of = {n.id: n.organ for n in non_targets}
    for index in range(len(steps), len(raw)):
        found: list[str] = []
        followup, state = _followup(index, raw[index], state, targets, organ_of, criteria, found)
        if followup is not None:
            result.append(followup)
        problems.extend(found)
        if key is not None and not problems:
            steps.append((texts[index], followup, state))
    if key is not None and len(steps) > reused:
        with _PARSED_LOCK:
            _PARSED[key] = tuple(steps)
            _PARSED.move_to_end(key)
            while len(_PARSED) > _PARSED_MAX:
                _PARSED.popitem(last=False)
    return result, problems


def _followup(
    index: int,
    item: object,
    state: _ParseState,
    targets: list[TargetLesion],
    organ_of: dict[str, str],
    criteria: str,
    problems: list[str],
) -> tuple[Followup | None, _ParseState]:
    """Parse the follow-up ``index`` after ``state``; its problems go to ``problems``."""
    where = f"followups[{index}]"
    if not isinstance(item, dict):
        problems.append(f"{where}={item!r}: expected an object with date, target, ...")
        return None, state
    for key in sorted(set(item) - FOLLOWUP_KEYS):
        problems.append(f"{where}.{key}: unknown key; expected one of {sorted(FOLLOWUP_KEYS)}")
    previous = state.previous
    date = _date(item.get("date"), f"{where}.date", problems)
    if date is not None and previous is not None and date <= previous:
        problems.append(
            f"{where}.date={date.isoformat()}: expected a date after the previous "
            f"assessment ({previous.isoformat()})"
        )
    target_mm = _followup_targets(item.get("target", {}), where, targets, criteria, problems)
    notes: list[str] = []
    non_target = _followup_non_targets(
        item.get("non_target", {}), where, organ_of, criteria, problems, notes
    )
    word = item.get("new_lesions")
    if word not in NEW_LESION_STATUSES:
        problems.append(
            f"{where}.new_lesions={word!r}: expected one of {list(NEW_LESION_STATUSES)}"
        )
        word = "none"
    field = f"{where}.new_lesion_details"
    details = mrecist.parse_new_lesion_details(item.get("new_lesion_details"), field, problems)
    if word == "none" and details:
        problems.append(
            f"{where}.new_lesions='none' but new_lesion_details lists {len(details)} "
            "lesion(s); expected 'equivocal' or 'unequivocal'"
        )
    ids = [d["id"] for d in details if isinstance(d.get("id"), str) and d["id"]]
    for lesion_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{field}: id {lesion_id!r} listed twice; expected unique ids")
    first_seen_mm = dict(state.first_seen_mm)
    if criteria == "mrecist":
        word, detail_notes = mrecist.effective_new_lesions(word, details, first_seen_mm)
        notes.extend(detail_notes)
    for detail in details:
        if isinstance(detail.get("id"), str) and detail.get("diameter_mm") is not None:
            first_seen_mm.setdefault(detail["id"], detail["diameter_mm"])
    resected = _resected_ids(item)
    resected_so_far = dict(state.resected_so_far)
    for lesion_id, first in resected_so_far.items():
        if lesion_id not in resected:
            problems.append(
                f"{where}: lesion {lesion_id} was recorded resected at {first}; expected "
                f"'{RESECTED}' at every later assessment (disease at the resection site is a "
                "new lesion: recurrence)"
            )
    for lesion_id in resected:
        resected_so_far.setdefault(lesion_id, where)
    state = _ParseState(date or previous, first_seen_mm, resected_so_far)
    if date is None:
        return None, state
    followup = Followup(
        date, target_mm, non_target, word, tuple(notes), tuple(ids), frozenset(resected)
    )
    return followup, state


def _resected_ids(item: dict[str, Any]) -> set[str]:
    """Ids whose follow-up value (target) or status (non-target) is "resected"."""
    ids: set[str] = set()
    for key in ("target", "non_target"):
        values = item.get(key)
        if isinstance(values, dict):
            for lesion_id, value in values.items():
                if isinstance(value, dict):
                    value = value.get("status", value.get("diameter_mm"))
                status = value
                if status == RESECTED:
                    ids.add(lesion_id)
    return ids


def _followup_targets(
    raw: object, where: str, targets: list[TargetLesion], criteria: str, problems: list[str]
) -> dict[str, Fraction | None]:
    if not isinstance(raw, dict):
        problems.append(f"{where}.target={raw!r}: expected an object {{lesion id: value}}")
        return {}
    known = {t.id for t in targets}
    for lesion_id in raw:
        if lesion_id not in known:
            problems.append(
                f"{where}.target.{lesion_id}: unknown target lesion; baseline has {sorted(known)}"
            )
    values: dict[str, Fraction | None] = {}
    for target in targets:
        field = f"{where}.target.{target.id}"
        if target.id not in raw:
            problems.append(
                f"{field}: missing; expected a value (mm, 'too_small', 'absent', 'resected' or null)"
            )
            values[target.id] = None
            continue
        value = raw[target.id]
        if isinstance(value, dict):
            value, field = _pick_measurement(value, field, criteria, problems)
        values[target.id] = target_value(value, field, problems)
    return values


def _pick_measurement(
    value: dict[str, Any], field: str, criteria: str, problems: list[str]
) -> tuple[object, str]:
    """{"diameter_mm": x, "viable_diameter_mm": y}: mRECIST reads y (x if y is absent)."""
    for key in sorted(set(value) - {"diameter_mm", "viable_diameter_mm"}):
        problems.append(f"{field}.{key}: unknown key; expected diameter_mm or viable_diameter_mm")
    if criteria == "mrecist" and "viable_diameter_mm" in value:
        return value["viable_diameter_mm"], f"{field}.viable_diameter_mm"
    if "diameter_mm" not in value:
        problems.append(f"{field}.diameter_mm: missing; expected the conventional diameter")
        return None, f"{field}.diameter_mm"
    return value["diameter_mm"], f"{field}.diameter_mm"


def target_value(value: object, field: str, problems: list[str]) -> Fraction | None:
    """One follow-up target value in exact mm: number, "too_small" (5), "absent" (0), null,
    or a list of fragment diameters of a split lesion (summed; RECIST 1.1 appendix I)."""
    if value is None or value == RESECTED:
        # a resected lesion has no value; ``Followup.resected`` takes it out of the assessment
        return None
    if value == "too_small":
        return TOO_SMALL_MM
    if value == "absent":
        return Fraction(0)
    if isinstance(value, list):
        if not value:
            problems.append(f"{field}=[]: expected at least one fragment diameter")
            return None
        parts = [target_value(v, f"{field}[{i}]", problems) for i, v in enumerate(value)]
        if any(p is None for p in parts):
            if None in value:
                problems.append(
                    f"{field}: a fragment cannot be null; use null for the whole lesion"
                )
            return None
        return sum(parts, Fraction(0))  # type: ignore[arg-type]
    exact = to_fraction(value)
    if exact is None or exact < 0:
        problems.append(
            f"{field}={value!r}: expected a diameter in mm >= 0, 'too_small', 'absent', "
            "'resected' or null"
        )
        return None
    return exact


def _followup_non_targets(
    raw: object,
    where: str,
    organ_of: dict[str, str],
    criteria: str,
    problems: list[str],
    notes: list[str],
) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.append(f"{where}.non_target={raw!r}: expected an object {{lesion id: status}}")
        return {}
    for lesion_id in raw:
        if lesion_id not in organ_of:
            problems.append(
                f"{where}.non_target.{lesion_id}: unknown non-target lesion; baseline has {sorted(organ_of)}"
            )
    statuses: dict[str, str] = {}
    for lesion_id, organ in organ_of.items():
        field = f"{where}.non_target.{lesion_id}"
        if lesion_id not in raw:
            problems.append(f"{field}: missing; expected one of {list(NON_TARGET_STATUSES)}")
            statuses[lesion_id] = "not_evaluated"
            continue
        value = raw[lesion_id]
        cytology = None
        if isinstance(value, dict):
            for key in sorted(set(value) - {"status", "cytology_confirmed"}):
                problems.append(
                    f"{field}.{key}: unknown key; expected status or cytology_confirmed"
                )
            cytology = value.get("cytology_confirmed")
            if cytology is not None and not isinstance(cytology, bool):
                problems.append(f"{field}.cytology_confirmed={cytology!r}: expected true or false")
            value = value.get("status")
        if value == RESECTED:
            statuses[lesion_id] = RESECTED
            continue
        if value not in NON_TARGET_STATUSES:
            problems.append(
                f"{field}={value!r}: expected one of {[*NON_TARGET_STATUSES, RESECTED]}"
            )
            statuses[lesion_id] = "not_evaluated"
            continue
        if criteria == "mrecist":
            value, note = mrecist.effective_non_target_status(organ, value, cytology)
            if note:
                notes.append(f"{lesion_id}: {note}")
        statuses[lesion_id] = value
    return statuses
