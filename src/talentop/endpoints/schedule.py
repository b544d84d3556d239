"""The tumour-assessment calendar of one patient and the missed visits before an event.

Rule source: FDA 2007 Appendix 3 Table A, "death or progression after more than one missed
visit" is censored at the last adequate assessment. A scheduled visit is *missed* only if no
adequate assessment falls within its window [scheduled - window, scheduled + window]; the
calendar is anchored at randomisation (the same in both arms), at the on-treatment interval
until the end of treatment and at the follow-up imaging interval afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from talentop.endpoints.timeline import PatientTimeline


@dataclass(frozen=True)
class VisitSchedule:
    """Intervals (days) of the assessment calendar and the visit window (+/- days).

    ``follow_up_interval_days`` applies after the end of treatment (None: the on-treatment
    interval throughout).
    """

    interval_days: int
    window_days: int = 0
    follow_up_interval_days: int | None = None


def end_of_treatment(timeline: PatientTimeline) -> dt.date | None:
    """The first treatment discontinuation (any reason: failure, censor or continue)."""
    dates = [day for day, _ in timeline.discontinuations]
    return min(dates) if dates else None


def scheduled_visits(
    timeline: PatientTimeline, schedule: VisitSchedule, until: dt.date
) -> list[dt.date]:
    """Scheduled assessment dates after randomisation, up to and including ``until``.

    On treatment: randomisation + k x ``interval_days`` (k >= 1) while on or before the end
    of treatment. After it, the calendar goes on from the last visit scheduled on treatment
    (or randomisation) every ``follow_up_interval_days``, so the grid keeps its anchor.
    """
    start = timeline.randomisation_date
    on_step = dt.timedelta(days=schedule.interval_days)
    fu_days = schedule.follow_up_interval_days or schedule.interval_days
    fu_step = dt.timedelta(days=fu_days)
    ended = end_of_treatment(timeline)
    visits: list[dt.date] = []
    visit = start + on_step
    while visit <= until and (ended is None or visit <= ended):
        visits.append(visit)
        visit += on_step
    if ended is None:
        return visits
    visit = (visits[-1] if visits else start) + fu_step
    while visit <= until:
        visits.append(visit)
        visit += fu_step
    return visits


def missed_before(
    timeline: PatientTimeline,
    schedule: VisitSchedule,
    *,
    last_assessed: dt.date,
    event: dt.date,
    assessments: Sequence[dt.date],
) -> int:
    """Consecutive missed visits between the last adequate assessment and the event.

    A visit counts only once its window has closed before the event (scheduled + window <
    event: a visit whose window holds the event date is the event's own visit) and it is
    after the last assessment with no adequate assessment within its window.
    """
    window = dt.timedelta(days=schedule.window_days)
    missed = 0
    for visit in scheduled_visits(timeline, schedule, event):
        if visit <= last_assessed or visit + window >= event:
            continue
        if any(visit - window <= day <= visit + window for day in assessments):
            continue
        missed += 1
    return missed
