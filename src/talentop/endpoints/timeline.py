"""One patient's dated facts needed for time-to-event endpoints (no derivation here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from talentop.errors import InvalidInput


def _is_date(value: object) -> bool:
    # datetime is a subclass of date; a time of day would make day arithmetic ambiguous.
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


@dataclass(frozen=True)
class PatientTimeline:
    """Dates of one randomised patient, as recorded; every date is a ``datetime.date``.

    ``assessment_dates``: adequate post-baseline tumour assessments (including the one
    showing progression), used for "last adequate assessment" and the missed-visit rule.
    ``last_contact_date``: last date known alive. ``discontinuations``: (date, reason) of
    treatment discontinuation, reasons in the protocol's vocabulary.
    """

    usubjid: str
    arm: str
    randomisation_date: dt.date
    progression_date_recist: dt.date | None = None
    progression_date_mrecist: dt.date | None = None
    death_date: dt.date | None = None
    last_contact_date: dt.date | None = None
    last_adequate_assessment_date: dt.date | None = None
    assessment_dates: tuple[dt.date, ...] = ()
    discontinuations: tuple[tuple[dt.date, str], ...] = ()
    new_anticancer_therapy_date: dt.date | None = None
    surgery_date: dt.date | None = None
    lost_to_follow_up: bool = False
    strata: dict[str, str] = field(default_factory=dict)
    has_baseline_assessment: bool = True
    #: Arm-B switch to surgery (MDT reassessment), the TTF intercurrent event.
    switch_date: dt.date | None = None
    #: Local therapies (TACE, radiotherapy...) given on study.
    local_therapy_dates: tuple[dt.date, ...] = ()
    #: (assessment date, mRECIST response of the treated lesions) after each TACE.
    local_therapy_responses: tuple[tuple[dt.date, str], ...] = ()

    def __post_init__(self) -> None:
        # Lists are accepted for convenience and frozen to tuples (hashable, immutable).
        object.__setattr__(self, "assessment_dates", tuple(self.assessment_dates))
        object.__setattr__(self, "local_therapy_dates", tuple(self.local_therapy_dates))
        object.__setattr__(
            self, "local_therapy_responses", tuple(tuple(i) for i in self.local_therapy_responses)
        )
        object.__setattr__(
            self, "discontinuations", tuple(tuple(item) for item in self.discontinuations)
        )
        problems: list[str] = []
        who = f"patient {self.usubjid!r}"
        if not isinstance(self.usubjid, str) or not self.usubjid:
            problems.append(f"usubjid={self.usubjid!r}: expected a non-empty subject id")
        if not _is_date(self.randomisation_date):
            problems.append(
                f"{who}: randomisation_date={self.randomisation_date!r}: expected a date"
            )
        for name in (
            "progression_date_recist",
            "progression_date_mrecist",
            "death_date",
            "last_contact_date",
            "last_adequate_assessment_date",
            "new_anticancer_therapy_date",
            "surgery_date",
            "switch_date",
        ):
            value = getattr(self, name)
            if value is not None and not _is_date(value):
                problems.append(f"{who}: {name}={value!r}: expected a date or None")
        for name in ("assessment_dates", "local_therapy_dates"):
            for value in getattr(self, name):
                if not _is_date(value):
                    problems.append(f"{who}: {name} item {value!r}: expected a date")
        for item in self.local_therapy_responses:
            if len(item) != 2 or not _is_date(item[0]) or not isinstance(item[1], str):
                problems.append(
                    f"{who}: local_therapy_responses item {item!r}: expected (date, response)"
                )
        for item in self.discontinuations:
            if len(item) != 2 or not _is_date(item[0]) or not isinstance(item[1], str):
                problems.append(
                    f"{who}: discontinuations item {item!r}: expected (date, reason text)"
                )
        if problems:
            raise InvalidInput(problems)

    def adequate_assessments(self) -> list[dt.date]:
        """All adequate assessment dates known, sorted (the list plus the 'last' field)."""
        dates = set(self.assessment_dates)
        if self.last_adequate_assessment_date is not None:
            dates.add(self.last_adequate_assessment_date)
        return sorted(dates)

    def dates_known_alive(self) -> list[dt.date]:
        """Every recorded date on which the patient was alive (admiral-style LSTALVDT sources)."""
        dates = [self.randomisation_date, *self.adequate_assessments()]
        dates += [d for d, _ in self.discontinuations]
        for value in (
            self.last_contact_date,
            self.new_anticancer_therapy_date,
            self.surgery_date,
            self.progression_date_recist,
            self.progression_date_mrecist,
        ):
            if value is not None:
                dates.append(value)
        return dates
