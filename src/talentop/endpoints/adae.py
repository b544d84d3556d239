"""ADAE, the adverse-event analysis dataset (CDISC ADaM OCCDS structure: one row per AE).

Variables follow ADaM naming: STUDYID, USUBJID, SITEID, ARM, TRTSDT (first dose of study
drug), RANDDT, AESEQ, AETERM, AEDECOD, ATOXGRN (CTCAE grade), AEREL, AESER and the SAE
criteria flags (AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE: "Y"/"N", blank when not
serious), ASTDT, ASTDY (study day of onset from the first dose: day 1 is the first dose,
no day 0), TRTEMFL (onset on or after the first dose), AEOUT, SUSARFL, SAEONTFL (initial SAE
report within its clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

COLUMNS = [
    "STUDYID", "USUBJID", "SITEID", "ARM", "TRTSDT", "RANDDT", "AESEQ", "AETERM", "AEDECOD",
    "ATOXGRN", "AEREL", "AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG",
    "AESMIE", "ASTDT", "ASTDY", "TRTEMFL", "AEOUT", "SUSARFL", "SAEONTFL",
]  # fmt: skip
LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SITEID": "Study Site Identifier",
    "ARM": "Description of Planned Arm",
    "TRTSDT": "Date of First Exposure to Treatment",
    "RANDDT": "Date of Randomization",
    "AESEQ": "Sequence Number",
    "AETERM": "Reported Term for the Adverse Event",
    "AEDECOD": "Dictionary-Derived Term",
    "ATOXGRN": "Analysis Toxicity Grade (N)",
    "AEREL": "Causality",
    "AESER": "Serious Event",
    "AESDTH": "Results in Death",
    "AESLIFE": "Is Life Threatening",
    "AESHOSP": "Requires or Prolongs Hospitalization",
    "AESDISAB": "Persist or Signif Disability/Incapacity",
    "AESCONG": "Congenital Anomaly or Birth Defect",
    "AESMIE": "Other Medically Important Serious Event",
    "ASTDT": "Analysis Start Date",
    "ASTDY": "Analysis Start Relative Day",
    "TRTEMFL": "Treatment Emergent Analysis Flag",
    "AEOUT": "Outcome of Adverse Event",
    "SUSARFL": "SUSAR Flag",
    "SAEONTFL": "SAE Initial Report On Time Flag",
}
SAE_FLAGS = {
    "AESDTH": "death",
    "AESLIFE": "life_threatening",
    "AESHOSP": "hospitalisation",
    "AESDISAB": "disability",
    "AESCONG": "congenital_anomaly",
    "AESMIE": "important_medical_event",
}


def _yn(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


def study_day(on: dt.date, reference: dt.date | None) -> int | None:
    """CDISC study day: ``on - reference + 1`` from the reference on, ``on - reference``
    before it (there is no day 0)."""
    if reference is None:
        return None
    days = (on - reference).days
    return days + 1 if days >= 0 else days


def derive_adae(study_id: str, events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """ADAE from one dict per AE: ``usubjid, site, arm, first_dose, randomised_on, term,
    grade, attribution, serious, onset_date`` and, for an SAE, ``sae`` (criteria as a dict
    of booleans, ``outcome``, ``susar``, ``on_time``). AESEQ numbers each subject's AEs by
    onset then record order."""
    rows = []
    ordered = sorted(events, key=lambda e: (e["usubjid"], e["onset_date"], e.get("id", 0)))
    seq: dict[str, int] = {}
    for event in ordered:
        seq[event["usubjid"]] = seq.get(event["usubjid"], 0) + 1
        sae = event.get("sae")
        first = event.get("first_dose")
        row = {
            "STUDYID": study_id,
            "USUBJID": event["usubjid"],
            "SITEID": event["site"],
            "ARM": event.get("arm"),
            "TRTSDT": first,
            "RANDDT": event.get("randomised_on"),
            "AESEQ": seq[event["usubjid"]],
            "AETERM": event["term"],
            "AEDECOD": event["term"],
            "ATOXGRN": int(event["grade"]),
            "AEREL": event["attribution"],
            "AESER": _yn(bool(event["serious"])),
            "ASTDT": event["onset_date"],
            "ASTDY": study_day(event["onset_date"], first),
            "TRTEMFL": None if first is None else _yn(event["onset_date"] >= first),
            "AEOUT": sae["outcome"] if sae else None,
            "SUSARFL": _yn(sae["susar"]) if sae else None,
            "SAEONTFL": _yn(sae["on_time"]) if sae else None,
        }
        for column, criterion in SAE_FLAGS.items():
            row[column] = _yn(sae["criteria"][criterion]) if sae else None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # Whole numbers with gaps stay integers (a study day is never 12.0).
    return frame.astype({"AESEQ": "Int64", "ATOXGRN": "Int64", "ASTDY": "Int64"})
