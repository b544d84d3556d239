"""Best overall response (BOR) across assessments, with or without confirmation.

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1), section 4.4 and
Table 3 (best overall response when confirmation of CR and PR is required); the paper is
silent on NE/SD inside the confirmation window and on more than two time points, so those
follow admiralonco ``derive_param_confirmed_bor()`` (pharmaverse/admiralonco, R14):

* only assessments up to and including the first PD count;
* CR is confirmed by the first later CR at least ``confirmation_days`` later, with only CR
  or NE in between (NE at most ``max_ne_before_confirmation``), confirmer included;
* PR is confirmed by the first later CR or PR at least ``confirmation_days`` later, with only
  CR, PR, SD or NE in between, no PR after a CR, NE and SD within their limits;
* an assessment CR, PR or SD at least ``min_sd_days`` after the reference date is SD
  (non-CR/non-PD likewise); an earlier one is NE ("later assessments decide");
* ranking CR > PR > SD > non-CR/non-PD > PD > NE; ties -> the earliest assessment.

Without confirmation a CR or PR counts as soon as it is seen (paper, section 4.4.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from talentop.recist.options import Options

RANK = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")


@dataclass(frozen=True)
class Assessment:
    """An overall response at a date (the BOR input)."""

    date: dt.date
    response: str


@dataclass(frozen=True)
class Best:
    """The best overall response and the assessment that gave it (None when there is none)."""

    response: str
    date: dt.date | None


def up_to_first_pd(assessments: Sequence[Assessment]) -> list[Assessment]:
    """Assessments up to and including the first PD (later ones never improve the BOR)."""
    kept: list[Assessment] = []
    for assessment in assessments:
        kept.append(assessment)
        if assessment.response == "PD":
            break
    return kept


def best_overall_response(
    assessments: Sequence[Assessment],
    *,
    reference_date: dt.date,
    min_sd_days: int,
    confirmation: bool,
    options: Options,
) -> Best:
    """BOR per RECIST 1.1 section 4.4 (and Table 3 when ``confirmation`` is true)."""
    kept = up_to_first_pd(assessments)
    candidates: list[tuple[str, dt.date]] = []
    for index, assessment in enumerate(kept):
        response = assessment.response
        long_enough = (assessment.date - reference_date).days >= min_sd_days
        if response in ("CR", "PR") and not confirmation:
            candidates.append((response, assessment.date))
        elif response == "CR" and confirmed_cr(kept, index, options):
            candidates.append(("CR", assessment.date))
        elif response == "PR" and confirmed_pr(kept, index, options):
            candidates.append(("PR", assessment.date))
        elif response in ("CR", "PR", "SD"):
            # An unconfirmed response still met the SD criteria (Table 3: "PR, NE -> SD provided
            # minimum criteria for SD duration met, otherwise NE").
            candidates.append(("SD" if long_enough else "NE", assessment.date))
        elif response == "non-CR/non-PD":
            candidates.append((response if long_enough else "NE", assessment.date))
        else:
            candidates.append((response, assessment.date))
    if not candidates:
        return Best("NE", None)
    # min() keeps the first of equal ranks, i.e. the earliest assessment.
    response, date = min(candidates, key=lambda c: RANK.index(c[0]))
    return Best(response, date)


def _window(kept: Sequence[Assessment], index: int, confirmers: tuple[str, ...], days: int):
    """The assessments after ``index`` up to the first confirmer >= ``days`` later, or None."""
    start = kept[index].date
    for later in range(index + 1, len(kept)):
        candidate = kept[later]
        if candidate.response in confirmers and (candidate.date - start).days >= days:
            return [a.response for a in kept[index + 1 : later + 1]]
    return None


def confirmed_cr(kept: Sequence[Assessment], index: int, options: Options) -> bool:
    """A CR confirmed by a later CR (admiralonco rule; Table 3 row "CR, CR -> CR")."""
    window = _window(kept, index, ("CR",), options.confirmation_days)
    if window is None:
        return False
    return (
        all(r in ("CR", "NE") for r in window)
        and window.count("NE") <= options.max_ne_before_confirmation
    )


def confirmed_pr(kept: Sequence[Assessment], index: int, options: Options) -> bool:
    """A PR confirmed by a later PR or CR (admiralonco rule; Table 3 rows "PR, PR/CR -> PR")."""
    window = _window(kept, index, ("CR", "PR"), options.confirmation_days)
    if window is None:
        return False
    max_sd = 1 if options.accept_sd_before_confirmation else 0
    if not all(r in ("CR", "PR", "SD", "NE") for r in window):
        return False
    if window.count("NE") > options.max_ne_before_confirmation or window.count("SD") > max_sd:
        return False
    # No PR after a CR inside the window (a CR followed by PR means disease came back).
    cr_positions = [i for i, r in enumerate(window) if r == "CR"]
    pr_positions = [i for i, r in enumerate(window) if r == "PR"]
    return not cr_positions or not pr_positions or min(cr_positions) > max(pr_positions)


def response_confirmed(assessments: Sequence[Assessment], options: Options) -> bool:
    """True once some PR or CR has been followed by a PR or CR >= confirmation_days later.

    Used by the "ongoing PR" option (EORTC FAQ), which applies only after a confirmed PR.
    """
    for index, first in enumerate(assessments):
        if first.response not in ("CR", "PR"):
            continue
        for later in assessments[index + 1 :]:
            if later.response == "PD":
                break
            if later.response in ("CR", "PR"):
                if (later.date - first.date).days >= options.confirmation_days:
                    return True
    return False
