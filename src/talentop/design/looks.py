"""Reading interim looks typed by a user: information fractions or event counts, never a guess.

Rule (stated in ``talentop design --help``): values all in (0, 1] are information fractions
(the last must be 1; a missing final look at 1 is appended, with a note); values all > 1 are
event counts (strictly increasing whole numbers, the last one is the final analysis); a mix
of the two is refused, naming the values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from talentop.errors import InvalidInput


@dataclass
class Looks:
    """Looks as fractions of the maximum information, and the event counts if given."""

    fractions: list[float]
    event_counts: list[int] | None = None
    notes: list[str] = field(default_factory=list)


def parse_looks(text: str, name: str = "looks") -> Looks:
    """``"0.5,1"`` -> fractions; ``"60,121"`` -> event counts; mixed or malformed -> InvalidInput."""
    parts = [x.strip() for x in text.split(",")]
    if not text.strip() or any(not x for x in parts):
        raise InvalidInput.field(name, text, "comma-separated fractions like 0.5,1 or counts")
    try:
        values = [float(x) for x in parts]
    except ValueError:
        raise InvalidInput.field(
            name, text, "numbers: fractions like 0.5,1 or event counts like 60,121"
        ) from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InvalidInput.field(name, text, "positive finite fractions or event counts")
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise InvalidInput.field(name, text, "strictly increasing looks")
    fractions = [v for v in values if v <= 1]
    counts = [v for v in values if v > 1]
    if fractions and counts:
        raise InvalidInput.field(
            name,
            text,
            "all fractions in (0, 1] or all event counts > 1, not a mix "
            f"(fractions {_join(fractions)}; counts {_join(counts)})",
        )
    if counts:
        if not all(v == int(v) for v in counts):
            raise InvalidInput.field(name, text, "whole event counts (or fractions in (0, 1])")
        ints = [int(v) for v in counts]
        last = ints[-1]
        return Looks(
            fractions=[v / last for v in ints],
            event_counts=ints,
            notes=[f"{name} read as event counts {_join(ints)} (the last is the final analysis)"],
        )
    notes = []
    if fractions[-1] != 1:
        fractions.append(1.0)
        notes.append(f"{name}={text}: added the final analysis at fraction 1")
    return Looks(fractions=fractions, notes=notes)


def _join(values: list[float] | list[int]) -> str:
    return ",".join(f"{v:g}" for v in values)
