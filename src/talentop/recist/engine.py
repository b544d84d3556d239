"""Evaluate a whole case: every assessment, backdating, best response, depth; the output JSON.

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1); Lencioni R, Llovet JM,
Semin Liver Dis 2010;30:52-60 (mRECIST). The output keys are the contract of examples/recist/README.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from talentop.errors import InvalidInput
from talentop.recist._exact import mm_out, pct_out
from talentop.recist.best import Assessment, best_overall_response, response_confirmed
from talentop.recist.model import Case, Followup, parse_case
from talentop.recist.resection import assess_after_resection
from talentop.recist.strata import sd_subcategory
from talentop.recist.timepoint import History, Timepoint, assess

ENGINE_VERSION = "talentop-recist 1.0"


def evaluate(case: dict[str, Any]) -> dict[str, Any]:
    """RECIST 1.1 or mRECIST response of one patient; raises InvalidInput listing every problem."""
    return evaluate_case(parse_case(case))


def evaluate_both(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """RECIST 1.1 and mRECIST side by side on the same visits.

    Each lesion may carry ``diameter_mm`` (conventional) and ``viable_diameter_mm``
    (arterially enhancing part); a follow-up value may be ``{"diameter_mm": x,
    "viable_diameter_mm": y}``. RECIST 1.1 reads ``diameter_mm``; mRECIST reads
    ``viable_diameter_mm`` where given, else ``diameter_mm`` (a plain number serves both).
    The case's own ``criteria`` is ignored. Problems of both readings are raised together.
    """
    results: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for criteria in ("recist1.1", "mrecist"):
        try:
            results[criteria] = evaluate_case(parse_case(case, criteria=criteria))
        except InvalidInput as exc:
            problems.extend(f"[{criteria}] {p}" for p in exc.problems)
    if problems:
        raise InvalidInput(problems)
    return results


@dataclass(frozen=True)
class _State:
    """What the timepoints so far pass on to the next one."""

    nadir: Fraction | None
    previous: str | None
    confirmed: bool


#: One evaluated follow-up: its timepoint, the state after it, and the timepoint's rounded
#: figures for the output JSON (``_figures``: exact-to-decimal rounding is most of the cost
#: of writing a timepoint, and a reused timepoint's figures do not change).
_Step = tuple[Timepoint, _State, dict[str, Any]]


#: Follow-ups already evaluated, per case without its follow-ups (baseline, lesions,
#: conventions): a service re-evaluates a patient's whole history at every new scan, and the
#: earlier scans' timepoints depend only on the case and the scans before them. Looked up by
#: content (the cached follow-ups must equal the case's first ones), so a changed or
#: corrected history is simply evaluated again; bounded, oldest dropped first.
_EVALUATED: OrderedDict[Case, tuple[tuple[Followup, ...], tuple[_Step, ...]]] = OrderedDict()
_EVALUATED_MAX = 512
_EVALUATED_LOCK = threading.Lock()


def _cached_prefix(head: Case | None, followups: tuple[Followup, ...]) -> list[_Step]:
    if head is None:
        return []
    with _EVALUATED_LOCK:
        cached = _EVALUATED.get(head)
    if cached is None:
        return []
    done, steps = cached
    reused = 0
    for old, new in zip(done, followups, strict=False):
        if old != new:
            break
        reused += 1
    return list(steps[:reused])


def _head(case: Case) -> Case | None:
    head = replace(case, followups=())
    try:
        hash(head)
    except TypeError:  # an unhashable option value: no reuse, evaluated as a whole
        return None
    return head


def timepoints_of(case: Case) -> list[Timepoint]:
    """Evaluate the follow-ups in order, carrying the nadir and the previous response."""
    return [point for point, _, _ in _steps(case)]


def _steps(case: Case) -> list[_Step]:
    """``timepoints_of`` with the state after each timepoint and its rounded figures."""
    head = _head(case)
    steps = _cached_prefix(head, case.followups)
    state = steps[-1][1] if steps else _State(case.baseline_sum_mm, None, False)
    evaluated = [point for point, _, _ in steps]
    for index in range(len(steps), len(case.followups)):
        followup = case.followups[index]
        nadir, previous, confirmed = state.nadir, state.previous, state.confirmed
        history = History(nadir, previous, confirmed)
        if followup.resected:
            point = assess_after_resection(case, followup, case.followups[:index], history)
        else:
            point = assess(case, followup, history)
        evaluated.append(point)
        if point.sum_mm is not None and nadir is not None and not followup.resected:
            # Nadir: smallest complete sum so far, baseline included (RECIST 1.1 section 4.3.1).
            nadir = min(nadir, point.sum_mm)
        previous = point.overall_response
        confirmed = confirmed or response_confirmed(
            [Assessment(p.date, p.overall_response) for p in evaluated], case.options
        )
        state = _State(nadir, previous, confirmed)
        steps.append((point, state, _figures(point)))
    if head is not None and case.followups:
        with _EVALUATED_LOCK:
            _EVALUATED[head] = (case.followups, tuple(steps))
            _EVALUATED.move_to_end(head)
            while len(_EVALUATED) > _EVALUATED_MAX:
                _EVALUATED.popitem(last=False)
    return steps


def backdate_equivocal(points: list[Timepoint], enabled: bool) -> tuple[list[Timepoint], set[int]]:
    """An equivocal new lesion later shown unequivocal: PD is dated to the first equivocal scan.

    Source: RECIST 1.1 section 4.3.2 ("If repeat scans confirm there is definitely a new
    lesion, then progression should be declared using the date of the initial scan").
    Which earlier scans showed the SAME lesion: when the confirming scan names its new
    lesions (``new_lesion_details[].id``), the first earlier equivocal scan that listed one
    of those ids, even across scans where it was not seen; otherwise, without ids, only the
    uninterrupted run of equivocal scans right before it (a scan with no new lesion breaks
    the chain: the equivocal finding had gone).
    """
    if not enabled:
        return points, set()
    out = list(points)
    backdated: set[int] = set()
    for index, point in enumerate(points):
        if point.new_lesions != "unequivocal":
            continue
        start = index
        if point.new_lesion_ids:
            wanted = set(point.new_lesion_ids)
            for earlier in range(index):
                same = wanted & set(points[earlier].new_lesion_ids)
                if points[earlier].new_lesions == "equivocal" and same:
                    start = earlier
                    break
        else:
            while start > 0 and points[start - 1].new_lesions == "equivocal":
                start -= 1
        for earlier in range(start, index):
            if out[earlier].overall_response != "PD":
                note = (
                    f"equivocal new lesion confirmed on {point.date.isoformat()}: PD dated to "
                    f"{points[start].date.isoformat()}, the first scan showing it (RECIST 1.1 "
                    f"section 4.3.2); assessed {out[earlier].overall_response} at the time"
                )
                out[earlier] = replace(out[earlier], overall_response="PD", reason=note)
                backdated.add(earlier)
    return out, backdated


def evaluate_case(case: Case) -> dict[str, Any]:
    """The output JSON of a validated case."""
    steps = _steps(case)
    assessed = [point for point, _, _ in steps]
    points, backdated = backdate_equivocal(assessed, case.options.backdate_equivocal)
    after_surgery = [bool(f.resected) for f in case.followups]
    # Responses after a resection are not treatment responses (recist.resection): the best
    # response and the depth are taken over the scans before it.
    before = [p for p, post in zip(points, after_surgery, strict=True) if not post]
    assessments = [Assessment(p.date, p.overall_response) for p in before]
    common = {
        "reference_date": case.sd_reference_date,
        "min_sd_days": case.min_sd_days,
        "options": case.options,
    }
    unconfirmed = best_overall_response(assessments, confirmation=False, **common)
    confirmed = best_overall_response(assessments, confirmation=True, **common)
    chosen = confirmed if case.confirmation else unconfirmed
    first_pd = next((p for p in points if p.overall_response == "PD"), None)
    everything_gone = [
        len(f.resected) == len(case.targets) + len(case.non_targets) for f in case.followups
    ]
    recurrence = next(
        (p for p, gone in zip(points, everything_gone, strict=True)
         if gone and p.overall_response == "PD"),
        None,
    )  # fmt: skip
    first_post = next((p for p, post in zip(points, after_surgery, strict=True) if post), None)
    result: dict[str, Any] = {
        "baseline_sum_mm": mm_out(case.baseline_sum_mm),
        "timepoints": [
            _timepoint_json(point, original.overall_response, index in backdated, figures)
            | {"post_resection": after_surgery[index]}
            for index, (point, (original, _, figures)) in enumerate(zip(points, steps, strict=True))
        ],
        "best_overall_response": chosen.response,
        "progression_date": first_pd.date.isoformat() if first_pd else None,
        "depth_of_response_pct": pct_out(depth_of_response(before)),
        "first_post_resection_date": first_post.date.isoformat() if first_post else None,
        "recurrence_date": recurrence.date.isoformat() if recurrence else None,
        "criteria": case.criteria,
        "confirmation": case.confirmation,
        "min_sd_days": case.min_sd_days,
        "engine_version": ENGINE_VERSION,
        "best_overall_response_date": chosen.date.isoformat() if chosen.date else None,
        "best_overall_response_unconfirmed": unconfirmed.response,
        "best_overall_response_confirmed": confirmed.response,
        "options": case.options.to_dict(),
    }
    exact_depth = depth_of_response(before)
    # The exact depth as a fraction string ("-29996/1000"): strata and subgroups must not be
    # decided on the 2-decimal rounding (-29.996 % would print as -30.00 %, a PR-range value).
    result["depth_of_response_exact"] = None if exact_depth is None else str(exact_depth)
    # From the exact depth: the rounded -0.004 % -> 0.0 would read as "no shrinkage".
    result["sd_subcategory"] = sd_subcategory({**result, "depth_of_response_pct": exact_depth})
    return result


def depth_of_response(points: list[Timepoint]) -> Fraction | None:
    """Most negative change of the sum from baseline, up to and including the first PD.

    When the sum never falls below baseline this is the smallest change (0 or positive).
    None without target lesions or without any complete target measurement.
    """
    changes: list[Fraction] = []
    for point in points:
        if point.change_from_baseline is not None:
            changes.append(point.change_from_baseline)
        if point.overall_response == "PD":
            break
    return min(changes) if changes else None


def _figures(point: Timepoint) -> dict[str, Any]:
    """A timepoint's date and rounded sums and changes, as the output JSON gives them."""
    return {
        "date": point.date.isoformat(),
        "sum_mm": mm_out(point.sum_mm),
        "change_from_baseline_pct": pct_out(point.change_from_baseline),
        "change_from_nadir_pct": pct_out(point.change_from_nadir),
        "nadir_mm": mm_out(point.nadir_mm),
    }


def _timepoint_json(
    point: Timepoint, assessed_as: str, backdated: bool, figures: dict[str, Any]
) -> dict[str, Any]:
    """``figures`` (``_figures`` of the timepoint as assessed: backdating changes only the
    response and the reason) and the responses, in the output's key order."""
    return {
        "date": figures["date"],
        "sum_mm": figures["sum_mm"],
        "change_from_baseline_pct": figures["change_from_baseline_pct"],
        "change_from_nadir_pct": figures["change_from_nadir_pct"],
        "target_response": point.target_response,
        "non_target_response": point.non_target_response,
        "overall_response": point.overall_response,
        "new_lesions": point.new_lesions,
        "nadir_mm": figures["nadir_mm"],
        "response_at_assessment": assessed_as,
        "backdated": backdated,
        "reason": point.reason,
    }
