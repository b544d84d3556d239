"""The rows of each ODM form, read from the store for one patient (``odm_spec`` declares the
forms and their items; each reader returns one dict per row, keyed by item name)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from talentop.store import models as m
from talentop.store import queries


def _rows(model: Any) -> Callable[[Any, m.Patient], list[Any]]:
    return lambda session, patient: queries.rows_for(session, model, patient.id)


def consents_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def withdrawals_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"WDDT": w.withdrawn_on, "WDSCOPE": w.scope, "WDIMPL": w.implied_by, "WDREAS": w.reason}
        for w in _rows(m.ConsentWithdrawal)(session, patient)
    ]


def eligibility_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def history_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"MHDTC": h.recorded_on, "MHTERM": h.condition, "MHSTYR": h.onset_year, "MHONGO": h.ongoing}
        for h in _rows(m.MedicalHistory)(session, patient)
    ]


def doses_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def mdt_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def randomisation_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"RANDDT": r.randomised_on, "ARM": r.arm, "STRATUM": r.stratum_key, "SCHEME": r.scheme}
        for r in _rows(m.Randomisation)(session, patient)
    ]


def surgery_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def complications_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    out = []
    for surgery in _rows(m.Surgery)(session, patient):
        for c in session.query(m.Complication).filter_by(surgery_id=surgery.id):
            out.append(
                {"CMPLDT": c.onset_date, "CMPLTERM": c.description, "CLAVIEN": c.clavien_dindo}
            )
    return out


def response_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def adverse_events_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def causality_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def sae_follow_ups_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def conmeds_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
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


def contacts_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"SVDT": c.contact_date, "SVSTAT": c.status}
        for c in _rows(m.FollowUpContact)(session, patient)
    ]


def discontinuations_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"DSSTDT": d.stop_date, "DSDECOD": d.reason, "TTFFAIL": d.is_failure}
        for d in _rows(m.Discontinuation)(session, patient)
    ]


def therapies_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [
        {"NTSTDT": t.start_date, "NTTRT": t.description}
        for t in _rows(m.NewTherapy)(session, patient)
    ]


def deaths_rows(session: Any, patient: m.Patient) -> list[dict[str, Any]]:
    return [{"DTHDT": d.death_date, "DTHCAUS": d.cause} for d in _rows(m.Death)(session, patient)]


def deviations_rows(protocol: Any) -> Callable[[Any, m.Patient], list[dict[str, Any]]]:
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
