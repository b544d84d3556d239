"""What the CDISC ODM export holds: study events, forms and items (the metadata) and, for
each form, the function that reads its rows for one patient from the store (the data).
One declaration serves both, so the metadata always describes exactly the data written.

Events: ENROL (consent and withdrawals, eligibility, medical history), TREATMENT (doses,
MDT reviews, randomisation, surgery and complications), RESPONSE (tumour response),
SAFETY (adverse events with their SAE report, causality per product, SAE follow-ups,
concomitant medication), FOLLOWUP (contacts, discontinuation, new therapy, death,
deviations). Item names follow SDTM where one fits (AETERM, AETOXGR, CMTRT, DSDECOD...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talentop.services.odm_rows import (
    adverse_events_rows,
    causality_rows,
    complications_rows,
    conmeds_rows,
    consents_rows,
    contacts_rows,
    deaths_rows,
    deviations_rows,
    discontinuations_rows,
    doses_rows,
    eligibility_rows,
    history_rows,
    mdt_rows,
    randomisation_rows,
    response_rows,
    sae_follow_ups_rows,
    surgery_rows,
    therapies_rows,
    withdrawals_rows,
)
from talentop.store import models as m


@dataclass(frozen=True)
class Item:
    """One ODM ItemDef: name (SAS-style), label, ODM 1.3.2 DataType, length of text,
    code list name; ``free_text`` values are left out for pseudonymised readers."""

    name: str
    label: str
    datatype: str = "text"  # text | integer | float | date | datetime | boolean
    length: int | None = None
    codelist: str | None = None
    free_text: bool = False


@dataclass(frozen=True)
class Form:
    """One ODM FormDef with one repeating ItemGroupDef, in study event ``event``."""

    key: str
    name: str
    event: str
    items: tuple[Item, ...]
    rows: Callable[[Any, m.Patient], list[dict[str, Any]]]


EVENTS = {
    "ENROL": "Consent and enrolment",
    "TREATMENT": "Treatment, MDT, randomisation and surgery",
    "RESPONSE": "Tumour response",
    "SAFETY": "Safety and concomitant medication",
    "FOLLOWUP": "Follow-up, discontinuation, death and deviations",
}


def _flag(name: str, label: str) -> Item:
    return Item(name, label, "boolean")


def forms(protocol: Any) -> list[Form]:
    """Every form of the export, in event order."""
    return [
        Form(
            "CONSENT",
            "Informed consent",
            "ENROL",
            (
                Item("CONSDT", "Date consent signed", "date"),
                Item("FORMVER", "Consent form version", length=32),
                Item("OBTBY", "Consent obtained by", length=200, free_text=True),
                _flag("SCTRT", "Consents to trial treatment"),
                _flag("SCFU", "Consents to follow-up"),
                _flag("SCDATA", "Consents to data use"),
                _flag("SCBIO", "Consents to biobank / future research"),
            ),
            consents_rows,
        ),
        Form(
            "WITHDRAWAL",
            "Consent withdrawal",
            "ENROL",
            (
                Item("WDDT", "Date of withdrawal", "date"),
                Item("WDSCOPE", "Scope withdrawn", length=16, codelist="SCOPE"),
                Item("WDIMPL", "Implied by the withdrawal of", length=16, codelist="SCOPE"),
                Item("WDREAS", "Reason", length=2000, free_text=True),
            ),
            withdrawals_rows,
        ),
        Form(
            "ELIGIBILITY",
            "Eligibility criteria",
            "ENROL",
            (
                Item("SCRDT", "Screening date", "date"),
                Item("PROTVER", "Protocol version", length=32),
                Item("IECAT", "Criterion", length=64),
                Item("IEORRES", "Criterion status", length=16, codelist="CRITSTAT"),
                Item("VERDICT", "Screening verdict", length=16),
                Item("AGE", "Age at screening, years", "integer", 3),
            ),
            eligibility_rows,
        ),
        Form(
            "MEDHIST",
            "Medical history",
            "ENROL",
            (
                Item("MHDTC", "Date recorded", "date"),
                Item("MHTERM", "Condition", length=200),
                Item("MHSTYR", "Year of onset", "integer", 4),
                _flag("MHONGO", "Ongoing"),
            ),
            history_rows,
        ),
        Form(
            "EXPOSURE",
            "Study drug administration",
            "TREATMENT",
            (
                Item("EXSTDT", "Date given", "date"),
                Item("EXPHASE", "Phase", length=16),
                Item("EXCYCLE", "Cycle", "integer", 3),
                Item("EXTRT", "Drug", length=64),
                Item("EXDOSE", "Dose given, mg", "float", 10),
                Item("EXDOSEP", "Protocol dose, mg", "float", 10),
                Item("WEIGHT", "Body weight, kg", "float", 6),
                Item("EXDELAY", "Delay, days", "integer", 4),
            ),
            doses_rows,
        ),
        Form(
            "MDT",
            "MDT resectability review",
            "TREATMENT",
            (
                Item("MDTDT", "Review date", "date"),
                Item("MDTPURP", "Purpose", length=16),
                Item("MDTRULE", "Decision rule", length=32),
                Item("VOTESYES", "Votes resectable", "integer", 3),
                Item("VOTESN", "Votes", "integer", 3),
                _flag("RESECT", "Resectable"),
            ),
            mdt_rows,
        ),
        Form(
            "RANDOMISATION",
            "Randomisation",
            "TREATMENT",
            (
                Item("RANDDT", "Date of randomisation", "date"),
                Item("ARM", "Arm", length=16, codelist="ARM"),
                Item("STRATUM", "Stratum", length=200),
                Item("SCHEME", "Allocation scheme", length=32),
            ),
            randomisation_rows,
        ),
        Form(
            "SURGERY",
            "Resection",
            "TREATMENT",
            (
                Item("SURGDT", "Date of surgery", "date"),
                Item("PROC", "Procedure", length=128),
                Item("MARGIN", "Resection margin", length=4, codelist="MARGIN"),
                Item("BLOSS", "Blood loss, mL", "float", 8),
                Item("DAYSBEV", "Days after the last bevacizumab", "integer", 4),
                _flag("SWITCH", "After an arm-B switch"),
            ),
            surgery_rows,
        ),
        Form(
            "COMPLICATION",
            "Surgical complication",
            "TREATMENT",
            (
                Item("CMPLDT", "Onset date", "date"),
                Item("CMPLTERM", "Complication", length=2000, free_text=True),
                Item("CLAVIEN", "Clavien-Dindo grade", length=4),
            ),
            complications_rows,
        ),
        Form(
            "RESPONSE",
            "Tumour response",
            "RESPONSE",
            (
                Item("RSDT", "Assessment date", "date"),
                Item("RSCRIT", "Criteria", length=16),
                Item("RSORRES", "Overall response", length=16, codelist="RESPONSE"),
                Item("BOR", "Best overall response so far", length=16, codelist="RESPONSE"),
                Item("DEPTH", "Depth of response, %", "float", 8),
                Item("PDDT", "Progression date", "date"),
            ),
            response_rows,
        ),
        Form(
            "AE",
            "Adverse event and SAE report",
            "SAFETY",
            (
                Item("AESPID", "AE record id", "integer", 10),
                Item("AETERM", "Adverse event (CTCAE term)", length=128),
                Item("AETOXGR", "CTCAE grade", "integer", 1, codelist="GRADE"),
                Item("AEREL", "Attribution to study drugs", length=16, codelist="RELNESS"),
                Item("AESTDT", "Onset date", "date"),
                _flag("AESER", "Serious"),
                _flag("AESDTH", "Results in death"),
                _flag("AESLIFE", "Life-threatening"),
                _flag("AESHOSP", "Requires or prolongs hospitalisation"),
                _flag("AESDISAB", "Persistent or significant disability"),
                _flag("AESCONG", "Congenital anomaly or birth defect"),
                _flag("AESMIE", "Other important medical event"),
                Item("AWAREDTM", "Site aware of the SAE (UTC)", "datetime"),
                Item("REPDTM", "Initial SAE report sent (UTC)", "datetime"),
                _flag("REPONTM", "Initial report within its clock"),
                Item("AEOUT", "Outcome", length=32, codelist="OUTCOME"),
                _flag("SUSAR", "Suspected unexpected serious adverse reaction"),
                Item("EXPDUEDT", "Expedited report due", "date"),
                Item("EXPREPDT", "Expedited report sent", "date"),
                Item("NARRATIV", "SAE narrative", length=10000, free_text=True),
            ),
            adverse_events_rows,
        ),
        Form(
            "SAECAUSALITY",
            "SAE causality per product",
            "SAFETY",
            (
                Item("AESPID", "AE record id", "integer", 10),
                Item("PRODUCT", "Product", length=64),
                Item("RELNESS", "Relatedness", length=16, codelist="RELNESS"),
                _flag("RELATED", "Suspected (reasonable possibility)"),
                _flag("EXPECTED", "Expected per the reference safety information"),
            ),
            causality_rows,
        ),
        Form(
            "SAEFOLLOWUP",
            "SAE follow-up report",
            "SAFETY",
            (
                Item("AESPID", "AE record id", "integer", 10),
                Item("FUSEQ", "Follow-up number", "integer", 3),
                Item("INFODTM", "New information received (UTC)", "datetime"),
                Item("REPDTM", "Follow-up report sent (UTC)", "datetime"),
                _flag("REPONTM", "Follow-up report within its clock"),
                Item("FUDESC", "New information", length=10000, free_text=True),
            ),
            sae_follow_ups_rows,
        ),
        Form(
            "CONMED",
            "Concomitant medication",
            "SAFETY",
            (
                Item("CMTRT", "Medication", length=200),
                Item("CMCLAS", "Protocol medication class", length=64),
                Item("CMINDC", "Indication", length=200, free_text=True),
                Item("CMDOSE", "Dose", "float", 10),
                Item("CMDOSU", "Dose unit", length=32),
                Item("CMDOSFRQ", "Frequency", length=64),
                Item("CMSTDT", "Start date", "date"),
                Item("CMENDT", "Stop date", "date"),
                _flag("CMONGO", "Ongoing"),
            ),
            conmeds_rows,
        ),
        Form(
            "CONTACT",
            "Follow-up contact",
            "FOLLOWUP",
            (Item("SVDT", "Contact date", "date"), Item("SVSTAT", "Status", length=32)),
            contacts_rows,
        ),
        Form(
            "DISCONTINUATION",
            "End of treatment",
            "FOLLOWUP",
            (
                Item("DSSTDT", "Stop date", "date"),
                Item("DSDECOD", "Reason", length=64),
                _flag("TTFFAIL", "Treatment failure (TTF event)"),
            ),
            discontinuations_rows,
        ),
        Form(
            "NEWTHERAPY",
            "New anticancer therapy",
            "FOLLOWUP",
            (
                Item("NTSTDT", "Start date", "date"),
                Item("NTTRT", "Therapy", length=2000, free_text=True),
            ),
            therapies_rows,
        ),
        Form(
            "DEATH",
            "Death",
            "FOLLOWUP",
            (
                Item("DTHDT", "Date of death", "date"),
                Item("DTHCAUS", "Cause", length=2000, free_text=True),
            ),
            deaths_rows,
        ),
        Form(
            "DEVIATION",
            "Protocol deviation",
            "FOLLOWUP",
            (
                Item("DVSTDT", "Date", "date"),
                Item("DVCAT", "Category", length=64),
                Item("DVCLASS", "Major / minor", length=8, codelist="DVCLASS"),
                Item("DVTERM", "Description", length=10000, free_text=True),
                Item("DVCORR", "Corrective action", length=10000, free_text=True),
                Item("DVPREV", "Preventive action", length=10000, free_text=True),
                Item("DVDECBY", "Decided by", length=200, free_text=True),
                Item("DVSRC", "Source (manual / service)", length=16),
            ),
            deviations_rows(protocol),
        ),
    ]


def codelists(protocol: Any) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """name -> (ODM DataType, [(coded value, decode)])."""
    from talentop.protocol.conduct import CONSENT_SCOPES
    from talentop.services.sae import OUTCOMES, RELATED

    relatedness = ("unrelated", "unlikely", "possible", "probable", "definite")
    return {
        "ARM": ("text", [(a.id, a.name) for a in protocol.arms]),
        "SCOPE": ("text", [(s, s.replace("_", " ")) for s in CONSENT_SCOPES]),
        "CRITSTAT": ("text", [("met", "met"), ("not_met", "not met"), ("missing", "missing")]),
        "MARGIN": ("text", [(x, x) for x in ("R0", "R1", "R2")]),
        "RESPONSE": (
            "text",
            [(x, x) for x in ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")],
        ),
        "GRADE": ("integer", [(str(g), f"CTCAE grade {g}") for g in range(1, 6)]),
        "RELNESS": (
            "text",
            [(r, r + (" (suspected)" if r in RELATED else "")) for r in relatedness],
        ),
        "OUTCOME": ("text", [(o, o.replace("_", " ")) for o in OUTCOMES]),
        "DVCLASS": ("text", [("major", "important deviation"), ("minor", "minor deviation")]),
    }
