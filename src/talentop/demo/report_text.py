"""Words for readers of the report: protocol codes in plain English, the protocol's own
working notes ("SETTING: ...") kept out of the reader's text (they go to the methods
appendix), and the plain-language notes of the published-vs-run comparison."""

from __future__ import annotations

import re
from typing import Any

#: Protocol reason codes whose plain form is not just the code with spaces.
_WORDS = {
    "lost_to_follow_up": "lost to follow-up",
    "data_cutoff": "data cut-off",
    "new_anticancer_therapy": "new anticancer therapy",
    "maintenance_completed": "maintenance completed",
}

#: Plain notes for the published-vs-run table (figure label -> note); the notes written
#: for developers (service and command names) are listed in the methods appendix.
READER_NOTES = {
    "Screened": "patients screened in the simulated cohort",
    "Met criteria, received induction": "every eligibility criterion met",
    "PR/SD and resectable, randomised": "partial response or stable disease after induction "
    "(RECIST 1.1) and judged resectable by the multidisciplinary team",
    "Arm A / arm B": "stratified permuted blocks",
    "Arm A operated": "patients whose treatment failed before the planned operation were not "
    "operated",
    "Median TTF A vs B, months": "Kaplan–Meier; time to treatment failure as defined in the "
    "protocol",
    "TTF hazard ratio (A vs B), P": "Cox model and log-rank test, both stratified by the "
    "randomisation strata",
    "Grade ≥ 3 surgical complications (arm A, operated)": "Clavien–Dindo grade IIIa or higher",
    "New atezo/bev safety signals": "none (adverse events drawn from the known safety profile)",
    "Sensitivity: TTF censored at maintenance completion": "time to treatment failure "
    "censored when maintenance was completed",
}

_SETTING = re.compile(r"\bSETTINGS?\b\s*(\([^)]*\))?\s*[:.]?\s*")


def words(code: Any) -> str:
    """'lost_to_follow_up' -> 'lost to follow-up'; other codes: underscores to spaces."""
    text = str(code)
    return _WORDS.get(text, text.replace("_", " "))


def listed(codes: list[str]) -> str:
    return ", ".join(words(code) for code in codes) or "none"


def symbols(text: str) -> str:
    """'>=' and '<=' as the symbols a reader expects, 'x' between words as a times sign,
    and a hyphen between two numbers (a range: 'ECOG 0-1') as an en dash."""
    text = text.replace(">=", "≥").replace("<=", "≤").replace(" x ", " × ")
    text = text.replace("x10^9", "×10⁹")
    # '0-1', 'Vp0-Vp2': ranges
    return re.sub(r"(?<=\d)-(?=[A-Za-z]{0,3}\d)", "–", text)


def reader_definition(text: str) -> str:
    """The protocol's definition without its working note: "SETTING (the trial's
    definition is not public). FDA: ..." -> "The trial's own definition is not public;
    this analysis uses: FDA: ..." (the verbatim text is in the methods appendix)."""
    text = " ".join(str(text).split())
    match = _SETTING.match(text)
    if match:
        why = (match.group(1) or "").strip("() ")
        rest = text[match.end() :]
        if "not public" in why:
            return f"The trial's own definition is not public; this analysis uses: {rest}"
        return rest
    return _SETTING.sub("", text)


def reader_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The published-vs-run rows with symbols and plain notes."""
    out = []
    for row in rows:
        figure = symbols(row["Figure"])
        note = READER_NOTES.get(figure, row.get("Note", ""))
        out.append({**row, "Figure": figure, "Note": note})
    return out
