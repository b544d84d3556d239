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

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talentop.store import models as m
from talentop.store import queries


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


def _rows(model: Any) -> Callable[[Any, m.Patient], list[Any]]:
    return lambda session, patient: queries.rows_for(session, model, patient.id)


def _consents(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {
            "CONSDT": c.consented_on,
            "FORMVER": c.form_version,
            "OBTBY": c.obtained_by,
            "SCTRT": c.scope_treatment,
            "SCFU": c.scope_follow_up,
            "SCDATA": c.scope_data_use,
            "SCBIO": c.scope_biobank,
        }
        for c in _rows(m.Consent)(session, patient)
    ]


def _withdrawals(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"WDDT": w.withdrawn_on, "WDSCOPE": w.scope, "WDIMPL": w.implied_by, "WDREAS": w.reason}
        for w in _rows(m.ConsentWithdrawal)(session, patient)
    ]


def _eligibility(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    out = []
    for screening in _rows(m.Screening)(session, patient):
        record = json.loads(screening.record_json)
        for criterion in queries.screening_criteria(session, screening.id):
            out.append(
                {
                    "SCRDT": screening.screened_on,
                    "PROTVER": screening.protocol_version,
                    "IECAT": criterion.criterion_id,
                    "IEORRES": criterion.status,
                    "VERDICT": screening.verdict,
                    "AGE": record.get("age_years"),
                }
            )
    return out


def _history(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"MHDTC": h.recorded_on, "MHTERM": h.condition, "MHSTYR": h.onset_year, "MHONGO": h.ongoing}
        for h in _rows(m.MedicalHistory)(session, patient)
    ]


def _doses(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {
            "EXSTDT": d.given_on,
            "EXPHASE": d.phase,
            "EXCYCLE": d.cycle,
            "EXTRT": d.drug,
            "EXDOSE": d.dose_given_mg,
            "EXDOSEP": d.dose_computed_mg,
            "WEIGHT": d.weight_kg,
            "EXDELAY": d.delay_days,
        }
        for d in _rows(m.DrugAdministration)(session, patient)
    ]


def _mdt(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {
            "MDTDT": r.review_date,
            "MDTPURP": r.purpose,
            "MDTRULE": r.rule,
            "VOTESYES": r.votes_resectable,
            "VOTESN": r.votes_total,
            "RESECT": r.resectable,
        }
        for r in _rows(m.MdtReview)(session, patient)
    ]


def _randomisation(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"RANDDT": r.randomised_on, "ARM": r.arm, "STRATUM": r.stratum_key, "SCHEME": r.scheme}
        for r in _rows(m.Randomisation)(session, patient)
    ]


def _surgery(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {
            "SURGDT": s.surgery_date,
            "PROC": s.procedure,
            "MARGIN": s.margin,
            "BLOSS": s.blood_loss_ml,
            "DAYSBEV": s.days_after_bevacizumab,
            "SWITCH": s.after_switch,
        }
        for s in _rows(m.Surgery)(session, patient)
    ]


def _complications(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    out = []
    for surgery in _rows(m.Surgery)(session, patient):
        for c in session.query(m.Complication).filter_by(surgery_id=surgery.id):
            out.append(
                {"CMPLDT": c.onset_date, "CMPLTERM": c.description, "CLAVIEN": c.clavien_dindo}
            )
    return out


def _response(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    visits = {v.id: v.visit_date for v in _rows(m.AssessmentVisit)(session, patient)}
    return [
        {
            "RSDT": visits.get(r.visit_id),
            "RSCRIT": r.criteria,
            "RSORRES": r.overall_response,
            "BOR": r.best_overall_response,
            "DEPTH": r.depth_of_response_pct,
            "PDDT": r.progression_date,
        }
        for r in _rows(m.ResponseAssessment)(session, patient)
    ]


def _adverse_events(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    reports = {r.adverse_event_id: r for r in _rows(m.SaeReport)(session, patient)}
    out = []
    for ae in _rows(m.AdverseEvent)(session, patient):
        row: dict[str, Any] = {
            "AESPID": ae.id,
            "AETERM": ae.term,
            "AETOXGR": ae.grade,
            "AEREL": ae.attribution,
            "AESTDT": ae.onset_date,
            "AESER": ae.serious,
        }
        sae = reports.get(ae.id)
        if sae is not None:
            row |= {
                "AESDTH": sae.death,
                "AESLIFE": sae.life_threatening,
                "AESHOSP": sae.hospitalisation,
                "AESDISAB": sae.disability,
                "AESCONG": sae.congenital_anomaly,
                "AESMIE": sae.important_medical_event,
                "AWAREDTM": sae.awareness_at,
                "REPDTM": sae.reported_at,
                "REPONTM": sae.reported_at <= sae.due_at,
                "AEOUT": sae.outcome,
                "SUSAR": sae.susar,
                "EXPDUEDT": sae.expedited_due_on,
                "EXPREPDT": sae.expedited_reported_on,
                "NARRATIV": sae.narrative,
            }
        out.append(row)
    return out


def _causality(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    out = []
    for sae in _rows(m.SaeReport)(session, patient):
        for c in session.query(m.SaeCausality).filter_by(sae_id=sae.id).order_by(m.SaeCausality.id):
            out.append(
                {
                    "AESPID": sae.adverse_event_id,
                    "PRODUCT": c.product,
                    "RELNESS": c.relatedness,
                    "RELATED": c.related,
                    "EXPECTED": c.expected,
                }
            )
    return out


def _sae_follow_ups(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    out = []
    for sae in _rows(m.SaeReport)(session, patient):
        rows = (
            session.query(m.SaeFollowUp).filter_by(sae_id=sae.id).order_by(m.SaeFollowUp.sequence)
        )
        for f in rows:
            out.append(
                {
                    "AESPID": sae.adverse_event_id,
                    "FUSEQ": f.sequence,
                    "INFODTM": f.info_received_at,
                    "REPDTM": f.reported_at,
                    "REPONTM": f.reported_at <= f.due_at,
                    "FUDESC": f.description,
                }
            )
    return out


def _conmeds(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {
            "CMTRT": c.name,
            "CMCLAS": c.drug_class,
            "CMINDC": c.indication,
            "CMDOSE": c.dose_value,
            "CMDOSU": c.dose_unit,
            "CMDOSFRQ": c.frequency,
            "CMSTDT": c.start_date,
            "CMENDT": c.stop_date,
            "CMONGO": c.ongoing,
        }
        for c in _rows(m.ConcomitantMedication)(session, patient)
    ]


def _contacts(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"SVDT": c.contact_date, "SVSTAT": c.status}
        for c in _rows(m.FollowUpContact)(session, patient)
    ]


def _discontinuations(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"DSSTDT": d.stop_date, "DSDECOD": d.reason, "TTFFAIL": d.is_failure}
        for d in _rows(m.Discontinuation)(session, patient)
    ]


def _therapies(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"NTSTDT": t.start_date, "NTTRT": t.description}
        for t in _rows(m.NewTherapy)(session, patient)
    ]


def _deaths(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [{"DTHDT": d.death_date, "DTHCAUS": d.cause} for d in _rows(m.Death)(session, patient)]


def _deviations(protocol: Any) -> Callable[[Any, m.Patient], list[dict[str, Any]]]:
    def rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
        out = []
        for d in _rows(m.ProtocolDeviation)(session, patient):
            category = protocol.deviations.category(d.category)
            default = category.classification if category else "minor"
            out.append(
                {
                    "DVSTDT": d.deviation_date,
                    "DVCAT": d.category,
                    "DVCLASS": d.classification or default,
                    "DVTERM": d.description,
                    "DVCORR": d.corrective_action,
                    "DVPREV": d.preventive_action,
                    "DVDECBY": d.decided_by,
                    "DVSRC": d.source,
                }
            )
        return out

    return rows


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
            _consents,
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
            _withdrawals,
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
            _eligibility,
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
            _history,
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
            _doses,
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
            _mdt,
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
            _randomisation,
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
            _surgery,
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
            _complications,
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
            _response,
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
            _adverse_events,
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
            _causality,
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
            _sae_follow_ups,
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
            _conmeds,
        ),
        Form(
            "CONTACT",
            "Follow-up contact",
            "FOLLOWUP",
            (Item("SVDT", "Contact date", "date"), Item("SVSTAT", "Status", length=32)),
            _contacts,
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
            _discontinuations,
        ),
        Form(
            "NEWTHERAPY",
            "New anticancer therapy",
            "FOLLOWUP",
            (
                Item("NTSTDT", "Start date", "date"),
                Item("NTTRT", "Therapy", length=2000, free_text=True),
            ),
            _therapies,
        ),
        Form(
            "DEATH",
            "Death",
            "FOLLOWUP",
            (
                Item("DTHDT", "Date of death", "date"),
                Item("DTHCAUS", "Cause", length=2000, free_text=True),
            ),
            _deaths,
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
            _deviations(protocol),
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
