"""TACE failure/refractoriness from the recorded post-TACE responses (TACE-PFS events).

Source: Japan Society of Hepatology (JSH) definition of TACE failure/refractoriness (Kudo M et
al., Oncology 2014;87 Suppl 1:22-31; 2021 revision): two or more consecutive insufficient
responses of the treated tumour (viable lesion > 50%) after TACE. The number of consecutive
responses and which mRECIST responses count as insufficient are protocol settings
(``endpoints.tace_pfs``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


def refractoriness_date(
    responses: Iterable[tuple[dt.date, str]], *, consecutive: int, insufficient: Iterable[str]
) -> dt.date | None:
    """Date of the response completing ``consecutive`` insufficient responses in a row, or None.

    ``responses``: (assessment date, mRECIST response of the treated lesions) per TACE, in
    any order; a sufficient response resets the count.
    """
    if consecutive < 1:
        raise ValueError(f"consecutive={consecutive}: expected at least 1")
    insufficient = set(insufficient)
    run = 0
    for on, response in sorted(responses):
        run = run + 1 if response in insufficient else 0
        if run >= consecutive:
            return on
    return None


@dataclass(frozen=True)
class TacePfsRule:
    """TACE-PFS as the protocol defines it (``endpoints.tace_pfs``)."""

    event_reasons: frozenset[str]
    refractory_after: int
    insufficient_responses: frozenset[str]


def tace_pfs_event(timeline, rule: TacePfsRule, cutoff: dt.date) -> tuple[dt.date, str] | None:
    """The first TACE-PFS event on or before ``cutoff``: (date, EVNTDESC), or None.

    Events: a discontinuation for an event reason (untreatable progression, TACE failure or
    refractoriness as the investigator recorded it), refractoriness derived from the post-TACE
    responses (``refractoriness_date``), death. Progression that TACE can still treat is not
    an event (it is what on-demand TACE is for).
    """
    events: list[tuple[dt.date, int, str]] = []
    for day, reason in timeline.discontinuations:
        if reason in rule.event_reasons:
            events.append((day, 0, reason.replace("_", " ").upper()))
    refractory = refractoriness_date(
        timeline.local_therapy_responses,
        consecutive=rule.refractory_after,
        insufficient=rule.insufficient_responses,
    )
    if refractory is not None:
        events.append((refractory, 1, "TACE REFRACTORINESS (POST-TACE RESPONSES)"))
    if timeline.death_date is not None:
        events.append((timeline.death_date, 2, "DEATH"))
    within = sorted(e for e in events if e[0] <= cutoff)
    return (within[0][0], within[0][2]) if within else None
