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


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)*_[a-z0-9]+(?:[._][a-z0-9]+)*\b")


def for_readers(text: Any) -> Any:
    """A text of the open report as a reader should see it: the protocol's working note
    "SETTING" as "assumption", symbols and en dashes (``symbols``), protocol codes and
    dotted setting names in words. Dates keep their hyphens (ISO 8601)."""
    if not isinstance(text, str):
        return text
    text = re.sub(r"\bSETTINGS?\b", "assumption", text)
    dates = _ISO_DATE.findall(text)
    text = _ISO_DATE.sub("\0", text)
    text = symbols(text)
    text = _CODE.sub(lambda m: words(m.group(0)).replace(".", " "), text)
    for date in dates:
        text = text.replace("\0", "-".join(date), 1)
    return text


def readable(section: Any) -> Any:
    """The section with every paragraph, table cell, header and note ``for_readers``."""
    import dataclasses

    from talentop.reports import Table

    def table(t: Table) -> Table:
        frame = t.frame.map(for_readers)
        frame.columns = [for_readers(str(c)) for c in frame.columns]
        return Table(for_readers(t.title), frame, for_readers(t.note))

    return dataclasses.replace(
        section,
        title=for_readers(section.title),
        paragraphs=[for_readers(p) for p in section.paragraphs],
        tables=[table(t) for t in section.tables],
    )
