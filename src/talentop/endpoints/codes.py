"""Parameters and censoring codes of the ADTTE dataset.

CDISC ADaM ADTTE (ADaM IG; admiral ``derive_param_tte``): CNSR = 0 is an event, a positive
integer is a censoring, distinct integers code distinct reasons. So the event indicator for
Kaplan-Meier is ``CNSR == 0``, never ``1 - CNSR``.
"""

from __future__ import annotations

PARAMETERS: dict[str, str] = {
    "TTF": "Time to Treatment Failure (months)",
    "OS": "Overall Survival (months)",
    "PFS": "Progression-Free Survival, RECIST 1.1 (months)",
    "PFSMR": "Progression-Free Survival, mRECIST (months)",
    "TACEPFS": "TACE Progression-Free Survival (months)",
}

EVENT = 0

# code -> (EVNTDESC, which parameters use it, rule source)
CENSORING_CODES: dict[int, tuple[str, str, str]] = {
    1: ("LAST DATE KNOWN ALIVE", "OS", "FDA 2018 OS definition; admiral LSTALVDT"),
    2: ("DATA CUT-OFF", "OS, TTF", "events after the cut-off are ignored"),
    3: ("LOST TO FOLLOW-UP", "OS, PFS, PFSMR, TTF", "last date of follow-up"),
    4: ("NO BASELINE TUMOUR ASSESSMENT", "PFS, PFSMR", "FDA 2007 App. 3 Table A row 1"),
    5: ("NO ADEQUATE POST-BASELINE ASSESSMENT", "PFS, PFSMR", "FDA 2007 Table A (no progression)"),
    6: ("NO PROGRESSION", "PFS, PFSMR", "FDA 2007 Table A: no progression / discontinuation"),
    7: ("NEW ANTICANCER THERAPY", "PFS, PFSMR", "FDA 2007 Table A: new anticancer treatment"),
    8: ("EVENT AFTER MISSED VISITS", "PFS, PFSMR", "FDA 2007 Table A: more than one missed visit"),
    9: ("DISCONTINUATION NOT A FAILURE", "TTF", "protocol TTF definition (censor reasons)"),
    10: ("ON TREATMENT AT LAST CONTACT", "TTF", "protocol TTF definition"),
    11: (
        "TREATMENT ENDED, NO FAILURE AT LAST CONTACT",
        "TTF",
        "protocol TTF definition (continue reasons: follow-up goes on after them)",
    ),
    12: (
        "SWITCH TO SURGERY",
        "TTF",
        "protocol ttf.switch_to_surgery 'censor' (ICH E9(R1) hypothetical strategy)",
    ),
    13: ("LOCAL THERAPY", "TTF", "protocol local_therapy.ttf_effect 'censor'"),
    14: (
        "NO TACE-PFS EVENT",
        "TACEPFS",
        "protocol endpoints.tace_pfs: censored at the last adequate tumour assessment",
    ),
}

_BY_NAME = {desc: code for code, (desc, _, _) in CENSORING_CODES.items()}


def censor_code(description: str) -> int:
    """The CNSR code of a censoring description in ``CENSORING_CODES``."""
    return _BY_NAME[description]


def censoring_codes_table():
    """``CENSORING_CODES`` as a DataFrame (for the define.xml / SAP appendix)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {"CNSR": code, "EVNTDESC": desc, "PARAMCD": params, "SOURCE": source}
            for code, (desc, params, source) in CENSORING_CODES.items()
        ]
    )
