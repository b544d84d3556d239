"""Derive an ADTTE-style dataset (TTF, OS, PFS by RECIST 1.1 and by mRECIST).

Sources: FDA, Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics
(May 2007; Dec 2018), endpoint definitions and Appendix 3 Table A (PFS censoring);
CDISC ADaM ADTTE and admiral ``derive_param_tte`` (CNSR 0 = event, ADT >= STARTDT).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import pandas as pd

from talentop.endpoints.codes import EVENT, PARAMETERS, censor_code
from talentop.endpoints.schedule import VisitSchedule, missed_before
from talentop.endpoints.tace import TacePfsRule, tace_pfs_event
from talentop.endpoints.timeline import PatientTimeline
from talentop.errors import InvalidInput, check_problems

BASE_COLUMNS = ["USUBJID", "ARM"]
TTE_COLUMNS = [
    "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALU", "CNSR", "EVNTDESC", "CNSDTDSC",
]  # fmt: skip


@dataclass(frozen=True)
class _Outcome:
    adt: dt.date
    cnsr: int
    evntdesc: str
    cnsdtdsc: str = ""


@dataclass(frozen=True)
class _Rules:
    failure_reasons: frozenset[str]
    censor_reasons: frozenset[str]
    continue_reasons: frozenset[str]
    cutoff: dt.date
    schedule: VisitSchedule | None
    missed_allowed: int
    surgery_censors_in_arms: frozenset[str]
    progression_reason: str
    switch_handling: str = "ignore"
    local_therapy_effect: str = "continue"
    tace_pfs: TacePfsRule | None = None


def _censored(adt: dt.date, description: str, date_description: str) -> _Outcome:
    return _Outcome(adt, censor_code(description), description, date_description)


def _os(timeline: PatientTimeline, rules: _Rules) -> _Outcome:
    """OS: death from any cause is the event; else censored when last known alive."""
    if timeline.death_date is not None and timeline.death_date <= rules.cutoff:
        return _Outcome(timeline.death_date, EVENT, "DEATH")
    alive = max(timeline.dates_known_alive())
    if timeline.death_date is not None or alive > rules.cutoff:
        # Died or seen alive after the cut-off: alive at the cut-off, later data ignored.
        return _censored(rules.cutoff, "DATA CUT-OFF", "DATA CUT-OFF DATE")
    if timeline.lost_to_follow_up:
        return _censored(alive, "LOST TO FOLLOW-UP", "LAST DATE KNOWN ALIVE")
    return _censored(alive, "LAST DATE KNOWN ALIVE", "LAST DATE KNOWN ALIVE")


def _pfs(timeline: PatientTimeline, progression: dt.date | None, rules: _Rules) -> _Outcome:
    """PFS per FDA 2007 Appendix 3 Table A (documented progression only)."""
    start = timeline.randomisation_date
    if not timeline.has_baseline_assessment:
        return _censored(start, "NO BASELINE TUMOUR ASSESSMENT", "RANDOMISATION DATE")
    assessed = [d for d in timeline.adequate_assessments() if d <= rules.cutoff]
    events = [
        (day, text)
        for day, text in ((progression, "PROGRESSION"), (timeline.death_date, "DEATH"))
        if day is not None and day <= rules.cutoff
    ]
    # Progression listed first so that PD and death on the same day is reported as PD.
    event = min(events, key=lambda item: item[0]) if events else None

    new_therapy = [timeline.new_anticancer_therapy_date]
    if timeline.arm in rules.surgery_censors_in_arms:
        new_therapy.append(timeline.surgery_date)
    therapy_starts = [d for d in new_therapy if d is not None and d <= rules.cutoff]
    if therapy_starts:
        therapy = min(therapy_starts)
        if event is None or therapy < event[0]:
            # Last adequate assessment on or before the start of the new therapy.
            before = [d for d in assessed if d <= therapy]
            adt = before[-1] if before else start
            return _censored(adt, "NEW ANTICANCER THERAPY", "LAST ADEQUATE ASSESSMENT")

    if event is not None:
        day, text = event
        before = [d for d in assessed if d < day]
        last = before[-1] if before else start
        missed = (
            0
            if rules.schedule is None
            else missed_before(
                timeline, rules.schedule, last_assessed=last, event=day, assessments=assessed
            )
        )
        if missed > rules.missed_allowed:
            return _censored(
                last,
                "EVENT AFTER MISSED VISITS",
                "LAST ADEQUATE ASSESSMENT" if before else "RANDOMISATION DATE",
            )
        return _Outcome(day, EVENT, text)

    if not assessed:
        return _censored(start, "NO ADEQUATE POST-BASELINE ASSESSMENT", "RANDOMISATION DATE")
    if timeline.lost_to_follow_up:
        return _censored(assessed[-1], "LOST TO FOLLOW-UP", "LAST ADEQUATE ASSESSMENT")
    return _censored(assessed[-1], "NO PROGRESSION", "LAST ADEQUATE ASSESSMENT")


def _ttf(timeline: PatientTimeline, rules: _Rules) -> _Outcome:
    """TTF: first of death, a failure discontinuation (or PD if the protocol lists it).

    A censoring discontinuation ends follow-up for TTF at its date; a continue reason (e.g.
    planned treatment completed) is skipped, so a later failure still counts.
    """
    # Order matters for same-day ties: failures before a non-failure discontinuation.
    candidates: list[tuple[dt.date, int, _Outcome]] = []
    if timeline.death_date is not None:
        candidates.append((timeline.death_date, 0, _Outcome(timeline.death_date, EVENT, "DEATH")))
    for day, reason in timeline.discontinuations:
        if reason in rules.continue_reasons:
            continue
        if reason in rules.failure_reasons:
            candidates.append((day, 1, _Outcome(day, EVENT, f"DISCONTINUATION: {reason}")))
        else:
            outcome = _censored(day, "DISCONTINUATION NOT A FAILURE", "DISCONTINUATION DATE")
            candidates.append((day, 3, outcome))
    if (
        rules.progression_reason in rules.failure_reasons
        and timeline.progression_date_recist is not None
    ):
        day = timeline.progression_date_recist
        candidates.append((day, 2, _Outcome(day, EVENT, "PROGRESSION")))
    candidates += _intercurrent(timeline, rules)
    in_window = sorted(
        (item for item in candidates if item[0] <= rules.cutoff), key=lambda i: i[:2]
    )
    if in_window:
        return in_window[0][2]
    alive = max(timeline.dates_known_alive())
    if candidates or alive > rules.cutoff:
        return _censored(rules.cutoff, "DATA CUT-OFF", "DATA CUT-OFF DATE")
    if timeline.lost_to_follow_up:
        return _censored(alive, "LOST TO FOLLOW-UP", "LAST DATE KNOWN ALIVE")
    ended = any(reason in rules.continue_reasons for _, reason in timeline.discontinuations)
    if ended:
        # Treatment ended for a continue reason (e.g. maintenance completed), none failed since.
        return _censored(
            alive, "TREATMENT ENDED, NO FAILURE AT LAST CONTACT", "LAST DATE KNOWN ALIVE"
        )
    return _censored(alive, "ON TREATMENT AT LAST CONTACT", "LAST DATE KNOWN ALIVE")


def _intercurrent(timeline: PatientTimeline, rules: _Rules) -> list[tuple[dt.date, int, _Outcome]]:
    """TTF candidates from an arm-B switch to surgery and from local therapy, per the protocol.

    ICH E9(R1) addendum (2019) A.3.2 strategies for an intercurrent event: "ignore" is the
    treatment-policy strategy (no candidate: follow-up for failure goes on), "censor" the
    hypothetical strategy (censored on its date), "event" the composite strategy (a failure).
    """
    out: list[tuple[dt.date, int, _Outcome]] = []
    events = [("SWITCH TO SURGERY", timeline.switch_date, rules.switch_handling)]
    events += [("LOCAL THERAPY", day, rules.local_therapy_effect)
               for day in timeline.local_therapy_dates[:1]]  # fmt: skip
    for text, day, handling in events:
        if day is None or handling in ("ignore", "continue"):
            continue
        if handling in ("event", "failure"):
            out.append((day, 1, _Outcome(day, EVENT, text)))
        else:
            out.append((day, 3, _censored(day, text, f"{text} DATE")))
    return out


def _tace_pfs(timeline: PatientTimeline, rules: _Rules) -> _Outcome:
    """TACE-PFS (``endpoints.tace``); without an event: censored at the last adequate
    assessment on or before the cut-off (randomisation date if none), as PFS."""
    assert rules.tace_pfs is not None
    event = tace_pfs_event(timeline, rules.tace_pfs, rules.cutoff)
    if event is not None:
        return _Outcome(event[0], EVENT, event[1])
    assessed = [d for d in timeline.adequate_assessments() if d <= rules.cutoff]
    if not assessed:
        return _censored(
            timeline.randomisation_date,
            "NO ADEQUATE POST-BASELINE ASSESSMENT",
            "RANDOMISATION DATE",
        )
    if timeline.lost_to_follow_up:
        return _censored(assessed[-1], "LOST TO FOLLOW-UP", "LAST ADEQUATE ASSESSMENT")
    return _censored(assessed[-1], "NO TACE-PFS EVENT", "LAST ADEQUATE ASSESSMENT")


def _check_reasons(timelines: list[PatientTimeline], rules: _Rules) -> None:
    problems: list[str] = []
    lists = {
        "failure_reasons": rules.failure_reasons,
        "censor_reasons": rules.censor_reasons,
        "continue_reasons": rules.continue_reasons,
    }
    names = list(lists)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            overlap = lists[first] & lists[second]
            if overlap:
                problems.append(
                    f"{first} and {second} both list {sorted(overlap)}: expected disjoint lists"
                )
    known = frozenset().union(*lists.values())
    for timeline in timelines:
        for day, reason in timeline.discontinuations:
            if reason not in known:
                problems.append(
                    f"patient {timeline.usubjid!r}: discontinuation reason={reason!r} on {day}: "
                    f"expected one of failure_reasons {sorted(rules.failure_reasons)}, "
                    f"censor_reasons {sorted(rules.censor_reasons)} "
                    f"or continue_reasons {sorted(rules.continue_reasons)}"
                )
    check_problems(problems)


def derive_adtte(
    timelines: Iterable[PatientTimeline],
    *,
    failure_reasons: list[str],
    censor_reasons: list[str],
    cutoff_date: dt.date,
    continue_reasons: Collection[str] = (),
    assessment_interval_days: int | None = None,
    missed_visits_allowed: int = 1,
    visit_window_days: int = 0,
    follow_up_interval_days: int | None = None,
    days_per_month: float = 30.4375,
    add_one_day: bool = False,
    surgery_censors_in_arms: Collection[str] = (),
    progression_reason: str = "progression",
    switch_handling: str = "ignore",
    local_therapy_effect: str = "continue",
    tace_pfs: TacePfsRule | None = None,
) -> pd.DataFrame:
    """One row per patient and parameter (TTF, OS, PFS, PFSMR), ADaM ADTTE variables.

    AVAL is in months: (ADT - STARTDT in days, + 1 if ``add_one_day`` as admiral's
    ``add_one = TRUE``) / ``days_per_month`` (30.4375 = 365.25 / 12). ADT is never before
    STARTDT (admiral). Missed-visit rule (FDA 2007 Table A): PFS is censored at the last
    adequate assessment when more than ``missed_visits_allowed`` consecutive scheduled visits
    were missed before the event; a visit is missed only if no adequate assessment falls
    within +/- ``visit_window_days`` of it. The calendar (``endpoints.schedule``) runs from
    randomisation every ``assessment_interval_days`` until the first discontinuation, then
    every ``follow_up_interval_days`` (None: the same interval).
    ``assessment_interval_days=None`` switches the rule off. Surgery is protocol therapy and does not censor PFS unless the patient's arm is
    in ``surgery_censors_in_arms``. TTF counts PD as a failure only if
    ``progression_reason`` is among ``failure_reasons``. A discontinuation whose reason is
    in ``continue_reasons`` ends treatment but neither fails nor censors TTF: it is ignored
    for TTF and follow-up for a later failure goes on. The three reason lists must be
    disjoint and cover every recorded reason. Intercurrent events for TTF (ICH E9(R1)):
    ``switch_handling`` for an arm-B switch to surgery ("ignore", "censor", "event") and
    ``local_therapy_effect`` for the first local therapy ("continue", "censor", "failure").
    With ``tace_pfs`` (``endpoints.tace.TacePfsRule``) a TACEPFS parameter is added.
    Codes: ``CENSORING_CODES``.
    Patients randomised after ``cutoff_date`` are left out (their number is in
    ``frame.attrs["excluded_after_cutoff"]``); a cut-off before every randomisation is
    ``InvalidInput``.
    """
    timelines = list(timelines)
    problems: list[str] = []
    if not isinstance(cutoff_date, dt.date):
        problems.append(f"cutoff_date={cutoff_date!r}: expected a date")
    if assessment_interval_days is not None and (
        not isinstance(assessment_interval_days, int) or assessment_interval_days <= 0
    ):
        problems.append(
            f"assessment_interval_days={assessment_interval_days!r}: expected a positive "
            "integer or None"
        )
    for name, value in (
        ("visit_window_days", visit_window_days),
        ("follow_up_interval_days", follow_up_interval_days),
    ):
        if value is None and name == "follow_up_interval_days":
            continue
        low = 0 if name == "visit_window_days" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            problems.append(f"{name}={value!r}: expected an integer >= {low}")
    if (
        isinstance(assessment_interval_days, int)
        and isinstance(visit_window_days, int)
        and assessment_interval_days > 0
        and 2 * visit_window_days >= assessment_interval_days
    ):
        problems.append(
            f"visit_window_days={visit_window_days!r}: expected less than half of "
            f"assessment_interval_days={assessment_interval_days} (windows would overlap)"
        )
    if not isinstance(missed_visits_allowed, int) or missed_visits_allowed < 0:
        problems.append(
            f"missed_visits_allowed={missed_visits_allowed!r}: expected an integer >= 0"
        )
    if not isinstance(days_per_month, int | float) or days_per_month <= 0:
        problems.append(f"days_per_month={days_per_month!r}: expected a positive number")
    if switch_handling not in ("ignore", "censor", "event"):
        problems.append(
            f"switch_handling={switch_handling!r}: expected 'ignore', 'censor' or 'event'"
        )
    if local_therapy_effect not in ("continue", "censor", "failure"):
        problems.append(
            f"local_therapy_effect={local_therapy_effect!r}: expected 'continue', 'censor' or "
            "'failure'"
        )
    ids = [t.usubjid for t in timelines]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"usubjid {duplicates}: expected one timeline per patient")
    check_problems(problems)
    rules = _Rules(
        failure_reasons=frozenset(failure_reasons),
        censor_reasons=frozenset(censor_reasons),
        continue_reasons=frozenset(continue_reasons),
        cutoff=cutoff_date,
        schedule=None
        if assessment_interval_days is None
        else VisitSchedule(
            interval_days=assessment_interval_days,
            window_days=visit_window_days,
            follow_up_interval_days=follow_up_interval_days,
        ),
        missed_allowed=missed_visits_allowed,
        surgery_censors_in_arms=frozenset(surgery_censors_in_arms),
        progression_reason=progression_reason,
        switch_handling=switch_handling,
        local_therapy_effect=local_therapy_effect,
        tace_pfs=tace_pfs,
    )
    _check_reasons(timelines, rules)
    # An interim dataset holds only patients randomised on or before the cut-off: a later
    # patient has no follow-up at the cut (ADT would precede STARTDT). Counted in
    # ``frame.attrs["excluded_after_cutoff"]``.
    included = [t for t in timelines if t.randomisation_date <= cutoff_date]
    excluded = len(timelines) - len(included)
    if timelines and not included:
        first = min(t.randomisation_date for t in timelines)
        raise InvalidInput.field(
            "cutoff_date",
            cutoff_date.isoformat(),
            f"on or after the first randomisation ({first.isoformat()}): all "
            f"{len(timelines)} patients were randomised after it",
        )
    timelines = included
    strata_names = sorted({name for t in timelines for name in t.strata})
    strata_columns = {name: name.upper() for name in strata_names}
    clash = [c for c in strata_columns.values() if c in BASE_COLUMNS + TTE_COLUMNS]
    if clash:
        raise InvalidInput(f"strata names {clash}: expected names that are not ADTTE variables")

    rows = []
    for timeline in timelines:
        start = timeline.randomisation_date
        outcomes = {
            "TTF": _ttf(timeline, rules),
            "OS": _os(timeline, rules),
            "PFS": _pfs(timeline, timeline.progression_date_recist, rules),
            "PFSMR": _pfs(timeline, timeline.progression_date_mrecist, rules),
        }
        if rules.tace_pfs is not None:
            outcomes["TACEPFS"] = _tace_pfs(timeline, rules)
        for paramcd, outcome in outcomes.items():
            adt = max(outcome.adt, start)
            days = (adt - start).days + (1 if add_one_day else 0)
            row = {"USUBJID": timeline.usubjid, "ARM": timeline.arm}
            row |= {column: timeline.strata.get(name) for name, column in strata_columns.items()}
            row |= {
                "PARAMCD": paramcd,
                "PARAM": PARAMETERS[paramcd],
                "STARTDT": start,
                "ADT": adt,
                "AVAL": days / days_per_month,
                "AVALU": "MONTHS",
                "CNSR": outcome.cnsr,
                "EVNTDESC": outcome.evntdesc,
                "CNSDTDSC": outcome.cnsdtdsc,
            }
            rows.append(row)
    columns = BASE_COLUMNS + list(strata_columns.values()) + TTE_COLUMNS
    frame = pd.DataFrame(rows, columns=columns)
    frame["CNSR"] = frame["CNSR"].astype("int64")
    frame["AVAL"] = frame["AVAL"].astype("float64")
    frame.attrs["excluded_after_cutoff"] = excluded
    return frame
