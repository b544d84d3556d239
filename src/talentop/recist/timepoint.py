"""Response at one assessment: target, non-target, new lesions, overall (with the reason).

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1), sections 4.3.1-4.3.4
and Tables 1 and 2; decision order of clinical-rules.md §1.10:

1. unequivocal new lesion or unequivocal non-target progression -> PD;
2. a target not evaluated -> NE, unless the measured ones alone already make PD;
3. target CR (non-nodal 0 mm, target nodes < 10 mm) before the sum-based PD test;
4. PD: ``5*C >= 6*N and C - N >= 5`` (C current sum, N nadir; exact arithmetic);
5. PR: ``10*C <= 7*B`` (B baseline sum); 6. else SD.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from talentop.recist._exact import fmt_mm, fmt_pct, percent_change
from talentop.recist.model import Case, Followup

#: RECIST 1.1 PD needs an absolute increase of at least 5 mm over the nadir.
PD_ABSOLUTE_MM = Fraction(5)
RESPONSES = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")


@dataclass(frozen=True)
class History:
    """What earlier assessments tell the current one."""

    #: Smallest complete sum so far, baseline included (None without targets).
    nadir_mm: Fraction | None
    #: Overall response at the previous assessment (None at the first follow-up).
    previous_overall: str | None = None
    #: A PR (or CR) was confirmed by a PR/CR >= confirmation_days later (ongoing-PR option).
    pr_confirmed: bool = False


@dataclass(frozen=True)
class Timepoint:
    """The evaluated assessment."""

    date: dt.date
    sum_mm: Fraction | None
    nadir_mm: Fraction | None
    change_from_baseline: Fraction | None
    change_from_nadir: Fraction | None
    target_response: str | None
    non_target_response: str | None
    new_lesions: str
    overall_response: str
    reason: str
    #: Ids of the new lesions listed at this assessment (``new_lesion_details[].id``).
    new_lesion_ids: tuple[str, ...] = ()


def pd_by_sum(current: Fraction, nadir: Fraction, floor_mm: Fraction) -> bool:
    """Sum-based progression: >= +20 % vs nadir and >= floor mm (always a real increase)."""
    # 5*C >= 6*N is C >= 1.2*N without division; C > N stops "0 >= 0" at a zero nadir.
    return 5 * current >= 6 * nadir and current - nadir >= floor_mm and current > nadir


def pr_by_sum(current: Fraction, baseline: Fraction) -> bool:
    """Partial response: at least 30 % below the baseline sum (``10*C <= 7*B``)."""
    return 10 * current <= 7 * baseline


def pd_floor_mm(case: Case) -> Fraction:
    """5 mm under RECIST 1.1; 0 under mRECIST as published unless the option asks for it."""
    if case.criteria == "mrecist" and not case.options.mrecist_5mm_floor:
        return Fraction(0)
    return PD_ABSOLUTE_MM


def assess(case: Case, followup: Followup, history: History) -> Timepoint:
    """Evaluate one follow-up against the baseline and the history before it."""
    baseline = case.baseline_sum_mm
    nadir = history.nadir_mm
    values = followup.target_mm
    complete = bool(case.targets) and all(v is not None for v in values.values())
    current = sum((v for v in values.values() if v is not None), Fraction(0)) if complete else None
    target, target_why = _target_response(case, followup, history)
    non_target, non_target_why = _non_target_response(case, followup, history)
    overall, overall_why = _overall(target, non_target, followup.new_lesions)
    reason = "; ".join(
        part for part in (overall_why, target_why, non_target_why, *followup.notes) if part
    )
    return Timepoint(
        date=followup.date,
        sum_mm=current,
        nadir_mm=nadir,
        change_from_baseline=(
            percent_change(current, baseline) if current is not None and baseline else None
        ),
        change_from_nadir=(
            percent_change(current, nadir) if current is not None and nadir is not None else None
        ),
        target_response=target,
        non_target_response=non_target,
        new_lesions=followup.new_lesions,
        overall_response=overall,
        reason=reason,
        new_lesion_ids=followup.new_lesion_ids,
    )


def _reappeared(case: Case, followup: Followup) -> list[str]:
    """Targets that are disease again: non-nodal > 0 mm, or a node at/above its normal size."""
    out = []
    for target in case.targets:
        value = followup.target_mm[target.id]
        if value is None:
            continue
        if (target.nodal and value >= target.normal_below_mm) or (not target.nodal and value > 0):
            out.append(f"{target.id} {fmt_mm(value)} mm")
    return out


def _target_response(case: Case, followup: Followup, history: History) -> tuple[str | None, str]:
    if not case.targets:
        return None, ""
    baseline = case.baseline_sum_mm
    nadir = history.nadir_mm
    assert baseline is not None and nadir is not None
    floor = pd_floor_mm(case)
    floor_text = f" and >= {fmt_mm(floor)} mm" if floor else ""
    after_cr = history.previous_overall == "CR" and case.options.reappearance_after_cr == "pd"
    values = followup.target_mm
    missing = [tid for tid, v in values.items() if v is None]
    measured = sum((v for v in values.values() if v is not None), Fraction(0))

    if missing:
        names = ", ".join(missing)
        back = _reappeared(case, followup) if after_cr else []
        if back:
            return "PD", f"{', '.join(back)} reappeared after an overall CR: target PD"
        if pd_by_sum(measured, nadir, floor):
            return "PD", (
                f"{names} not evaluated, but the measured targets alone sum {fmt_mm(measured)} mm, "
                f"{fmt_pct(percent_change(measured, nadir))} / +{fmt_mm(measured - nadir)} mm vs "
                f"nadir {fmt_mm(nadir)} (>= +20%{floor_text}): target PD"
            )
        if len(missing) == len(values):
            return "NE", "no target lesion evaluated: target NE"
        return "NE", f"{names} not evaluated and the measured ones do not show PD: target NE"

    current = measured
    vs_base = fmt_pct(percent_change(current, baseline))
    vs_nadir = fmt_pct(percent_change(current, nadir))
    grew = pd_by_sum(current, nadir, floor)
    non_nodal_gone = all(values[t.id] == 0 for t in case.targets if not t.nodal)
    nodes_normal = all(values[t.id] < t.normal_below_mm for t in case.targets if t.nodal)  # type: ignore[operator]
    if non_nodal_gone and nodes_normal:
        if grew and case.options.node_growth_below_10mm == "pd":
            return "PD", (
                f"target nodes all below normal size but sum {fmt_mm(current)} mm is {vs_nadir} "
                f"vs nadir {fmt_mm(nadir)} (option node_growth_below_10mm='pd'): target PD"
            )
        nodes = " and target nodes below normal size" if any(t.nodal for t in case.targets) else ""
        return "CR", f"all non-nodal targets gone{nodes} (sum {fmt_mm(current)} mm): target CR"
    if after_cr:
        back = _reappeared(case, followup)
        return "PD", f"{', '.join(back)} reappeared after an overall CR (Table 3 note a): target PD"
    if grew:
        return "PD", (
            f"sum {fmt_mm(current)} mm is {vs_nadir} / +{fmt_mm(current - nadir)} mm vs nadir "
            f"{fmt_mm(nadir)} (>= +20%{floor_text}): target PD"
        )
    if pr_by_sum(current, baseline):
        return (
            "PR",
            f"sum {fmt_mm(current)} mm is {vs_base} vs baseline {fmt_mm(baseline)} (<= -30%): PR",
        )
    if history.pr_confirmed and case.options.ongoing_pr:
        return "PR", (
            f"sum {fmt_mm(current)} mm is {vs_base} vs baseline, not PD vs nadir; PR confirmed "
            "earlier (option ongoing_pr, EORTC FAQ): ongoing PR"
        )
    short = ""
    if 5 * current >= 6 * nadir and current > nadir:
        short = f" (+20% reached but only +{fmt_mm(current - nadir)} mm < {fmt_mm(floor)} mm)"
    return "SD", (
        f"sum {fmt_mm(current)} mm is {vs_base} vs baseline {fmt_mm(baseline)} (> -30%) and "
        f"{vs_nadir} vs nadir {fmt_mm(nadir)}{short}: SD"
    )


def _non_target_response(
    case: Case, followup: Followup, history: History
) -> tuple[str | None, str]:
    if not case.non_targets:
        return None, ""
    statuses = followup.non_target
    progressed = [i for i, s in statuses.items() if s == "progression"]
    if progressed:
        return "PD", f"non-target {', '.join(progressed)} unequivocal progression"
    if history.previous_overall == "CR" and case.options.reappearance_after_cr == "pd":
        # A node reappears only by unequivocal progression (EORTC FAQ), handled above.
        back = [n.id for n in case.non_targets if not n.nodal and statuses[n.id] == "present"]
        if back:
            return "PD", f"non-target {', '.join(back)} reappeared after an overall CR"
    unseen = [i for i, s in statuses.items() if s == "not_evaluated"]
    if unseen:
        return "NE", f"non-target {', '.join(unseen)} not evaluated"
    present = [i for i, s in statuses.items() if s == "present"]
    if present:
        return "non-CR/non-PD", f"non-target {', '.join(present)} present"
    return "CR", "all non-target lesions absent"


def _overall(target: str | None, non_target: str | None, new_lesions: str) -> tuple[str, str]:
    """RECIST 1.1 Table 1 (targets present) and Table 2 (non-target disease only)."""
    equivocal = (
        "equivocal new lesion: not PD unless confirmed later" if new_lesions == "equivocal" else ""
    )
    if new_lesions == "unequivocal":
        return "PD", "unequivocal new lesion: PD"
    if target == "PD" or non_target == "PD":
        return "PD", ""  # the target / non-target reason says why
    if target is None:
        # Table 2: non-target disease only (non_target cannot be None: a baseline has lesions).
        assert non_target is not None
        return non_target, _join(f"non-target only (Table 2): {non_target}", equivocal)
    if target == "NE":
        return "NE", _join("targets not all evaluated (Table 1): NE", equivocal)
    if target == "CR":
        if non_target in (None, "CR"):
            return "CR", equivocal
        # Table 1: CR + non-CR/non-PD or not evaluated non-targets -> PR.
        return "PR", _join(f"targets CR but non-target {non_target} (Table 1): PR", equivocal)
    return target, equivocal


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
