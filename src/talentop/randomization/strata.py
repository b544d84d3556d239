"""Canonical stratum keys: one string per combination of stratification factor levels."""

from __future__ import annotations

from collections.abc import Mapping

from talentop.errors import InvalidInput, check_problems

_FORBIDDEN = ("|", "=")
UNSTRATIFIED = "all"


def stratum_key(levels: Mapping[str, str]) -> str:
    """Order-independent key, e.g. ``{"site": "S01", "ecog": "0"}`` -> ``"ecog=0|site=S01"``.

    Factors are sorted by name so the same patient always lands in the same stratum,
    whatever order a form or a protocol file lists them in. Integer levels (ECOG 0/1) are
    accepted and written as text. An empty mapping (unstratified trial) gives ``"all"``.
    """
    if not isinstance(levels, Mapping):
        raise InvalidInput.field("levels", levels, "a mapping of factor name to level")
    problems: list[str] = []
    parts: list[str] = []
    for factor in sorted(levels, key=str):
        level = levels[factor]
        if not isinstance(factor, str) or not factor.strip():
            problems.append(f"factor={factor!r}: expected a non-empty factor name")
            continue
        if isinstance(level, bool) or not isinstance(level, str | int):
            problems.append(f"levels[{factor!r}]={level!r}: expected a string (or integer) level")
            continue
        level_text = str(level).strip()
        if not level_text:
            problems.append(f"levels[{factor!r}]={level!r}: expected a non-empty level")
        for text, what in ((factor, "factor"), (level_text, f"levels[{factor!r}]")):
            if any(ch in text for ch in _FORBIDDEN):
                problems.append(f"{what}={text!r}: expected no '|' or '=' characters")
        parts.append(f"{factor.strip()}={level_text}")
    check_problems(problems)
    return "|".join(parts) if parts else UNSTRATIFIED
