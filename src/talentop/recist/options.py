"""Named options for the points where RECIST sources disagree or are silent.

Source: clinical-rules.md §1.11 and §10. Defaults follow the 2009 paper (Eisenhauer et al.,
Eur J Cancer 2009;45:228-247); where the paper is silent (NE/SD inside a confirmation window)
they follow admiralonco ``derive_param_confirmed_bor()`` (max_nr_ne = 1, accept_sd = FALSE).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

REAPPEARANCE_CHOICES = ("pd", "sum_rule")
NODE_GROWTH_CHOICES = ("cr", "pd")


@dataclass(frozen=True)
class Options:
    """Protocol conventions; each field is documented in examples/recist/README.md."""

    #: EORTC FAQ "ongoing PR": after a confirmed PR, target SD (not PD) stays PR. Paper: False.
    ongoing_pr: bool = False
    #: After an overall CR, any reappearing lesion is PD ("pd", Table 3 footnote a), or only
    #: the sum rule decides ("sum_rule", EORTC FAQ for a CR that was not definitive).
    reappearance_after_cr: str = "pd"
    #: Target nodes all < 10 mm but the sum grew >= 20 % and >= 5 mm: "cr" (nodes are normal,
    #: recommended in clinical-rules §1.11.3) or "pd" (the sum formula wins).
    node_growth_below_10mm: str = "cr"
    #: CR/PR confirmation: the confirming assessment is at least this many days later.
    confirmation_days: int = 28
    #: NE assessments tolerated between a response and its confirmation (admiralonco default).
    max_ne_before_confirmation: int = 1
    #: Accept one SD between a PR and its confirmation (admiralonco accept_sd, default False).
    accept_sd_before_confirmation: bool = False
    #: mRECIST PD: also require the RECIST 1.1 absolute increase of >= 5 mm (published: no).
    mrecist_5mm_floor: bool = False
    #: Date PD to the first of the equivocal scans right before an unequivocal new lesion.
    backdate_equivocal: bool = True
    #: Target caps (RECIST 1.1: 5 in total, 2 per organ; all lymph nodes are one organ).
    max_targets: int = 5
    max_targets_per_organ: int = 2
    #: Reference date for the SD minimum duration (ISO date); default = baseline scan date.
    sd_reference_date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe copy, echoed in the output so a stored result says how it was derived.

        ``dataclasses.asdict`` of it (every field is a str, int, bool or None, which asdict
        returns as they are), without asdict's recursive deep copy: 5 % of a service's
        RECIST evaluation went there."""
        return {name: getattr(self, name) for name in _OPTION_NAMES}


_OPTION_NAMES = tuple(f.name for f in fields(Options))


def parse_options(raw: object, problems: list[str]) -> Options:
    """Build Options from the case's optional ``"options"`` object, collecting problems."""
    if raw is None:
        return Options()
    if not isinstance(raw, dict):
        problems.append(f"options={raw!r}: expected an object of named options")
        return Options()
    known = {f.name: f for f in fields(Options)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            problems.append(
                f"options.{key}={value!r}: unknown option; expected one of {sorted(known)}"
            )
            continue
        problem = _option_problem(key, value, known[key].default)
        if problem:
            problems.append(f"options.{key}={value!r}: {problem}")
        else:
            values[key] = value
    return Options(**values)


def _option_problem(key: str, value: object, default: object) -> str | None:
    """What is wrong with one option value (None when it is valid)."""
    if key == "reappearance_after_cr" and value not in REAPPEARANCE_CHOICES:
        return f"expected one of {list(REAPPEARANCE_CHOICES)}"
    if key == "node_growth_below_10mm" and value not in NODE_GROWTH_CHOICES:
        return f"expected one of {list(NODE_GROWTH_CHOICES)}"
    if key == "sd_reference_date":
        return None if value is None or _is_iso_date(value) else "expected an ISO date YYYY-MM-DD"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(default, int):
        minimum = 1 if key.startswith("max_targets") else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"expected a whole number >= {minimum}"
    return None


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
