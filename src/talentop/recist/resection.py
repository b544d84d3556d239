"""Assessments after a resection: resected lesions leave the assessment; a post-resection baseline.

Source: EORTC RECIST FAQ "Surgery/radiotherapy and RECIST" (recist.eortc.org): when surgery
before progression is foreseen by the protocol, the protocol states how it is handled, and
"in principle, these lesions will no longer be part of the assessment". Here (a protocol
convention, written down in examples/recist/README.md):

* some lesions resected, others left: the remaining lesions are assessed on their own, their
  reference being THEIR baseline sum (PR) and THEIR smallest sum so far (nadir, PD), as if
  the resected lesions had never been chosen (RECIST 1.1 section 4.3.1 arithmetic);
* every lesion resected: no evidence of disease ("NED") is the post-resection baseline; an
  unequivocal new lesion is a recurrence, i.e. PD (RECIST 1.1 section 4.3.2: a new lesion is
  progression), reported as ``recurrence_date``;
* response categories are not assigned after surgery (NED is not a CR: the tumour was cut
  out, not made to disappear by treatment), so post-resection scans count neither for the
  best overall response nor for the depth of response; they count for progression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

from talentop.recist.model import Case, Followup
from talentop.recist.timepoint import History, Timepoint, assess

#: Overall response at a scan where every lesion has been resected and nothing new is seen.
NO_EVIDENCE_OF_DISEASE = "NED"


def remaining_nadir(case: Case, earlier: Sequence[Followup]) -> Fraction | None:
    """Smallest complete sum of the case's targets so far, baseline included (None: no targets)."""
    if not case.targets:
        return None
    sums = [case.baseline_sum_mm]
    for followup in earlier:
        values = [followup.target_mm.get(t.id) for t in case.targets]
        if all(v is not None for v in values):
            sums.append(sum(values, Fraction(0)))  # type: ignore[arg-type]
    return min(s for s in sums if s is not None)


def assess_after_resection(
    case: Case, followup: Followup, earlier: Sequence[Followup], history: History
) -> Timepoint:
    """The time point of a scan at which ``followup.resected`` lesions are out of the assessment."""
    gone = sorted(followup.resected)
    targets = tuple(t for t in case.targets if t.id not in followup.resected)
    non_targets = tuple(n for n in case.non_targets if n.id not in followup.resected)
    resected_note = f"{', '.join(gone)} resected: no longer assessed (EORTC RECIST FAQ)"
    if not targets and not non_targets:
        if followup.new_lesions == "unequivocal":
            overall, why = "PD", "recurrence: unequivocal new lesion after complete resection"
        else:
            equivocal = "; equivocal new lesion, not yet a recurrence" * (
                followup.new_lesions == "equivocal"
            )
            overall = NO_EVIDENCE_OF_DISEASE
            why = f"every lesion resected: no evidence of disease{equivocal}"
        return Timepoint(
            date=followup.date,
            sum_mm=None,
            nadir_mm=None,
            change_from_baseline=None,
            change_from_nadir=None,
            target_response=None,
            non_target_response=None,
            new_lesions=followup.new_lesions,
            overall_response=overall,
            reason="; ".join(p for p in (why, resected_note, *followup.notes) if p),
            new_lesion_ids=followup.new_lesion_ids,
        )
    kept = {t.id for t in targets}
    remaining = replace(case, targets=targets, non_targets=non_targets)
    scan = replace(
        followup,
        target_mm={k: v for k, v in followup.target_mm.items() if k in kept},
        non_target={k: v for k, v in followup.non_target.items() if k not in followup.resected},
    )
    nadir = remaining_nadir(remaining, earlier)
    point = assess(remaining, scan, replace(history, nadir_mm=nadir))
    note = f"{resected_note}; reference: the remaining lesions' baseline sum and nadir"
    return replace(point, reason=f"{point.reason}; {note}" if point.reason else note)
