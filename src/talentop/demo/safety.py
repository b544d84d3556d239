"""Safety and surgery facts read back from the trial database (what the report tabulates).

Every row comes from the stored records (``talentop.store`` queries), not from the cohort's
draws: complications are those recorded with ``record_complication`` (Clavien-Dindo), AEs
those recorded with ``record_adverse_event`` (CTCAE term, grade, attribution); the SAE
listing and the deviation summary are what the services return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class StoredFacts:
    """Per-randomised-patient facts and the safety tables, from the database."""

    patients: pd.DataFrame  # usubjid, arm, operated, after_switch, switched, switch reviews, ...
    complications: pd.DataFrame  # patient, arm, term, grade (Clavien-Dindo), category, isgls
    adverse_events: pd.DataFrame  # patient, arm, term, grade, attribution, serious
    #: one row per resection: patient, arm, surgery_date, days_after_bevacizumab, after_switch,
    #: death_date, necrosis_pct (resected specimen), local_therapy (before surgery)
    surgeries: pd.DataFrame = None  # type: ignore[assignment]
    sae_listing: list[dict[str, Any]] = field(default_factory=list)  # services.sae_listing
    deviations: dict[str, Any] | None = None  # services.deviation_summary
    conduct: dict[str, Any] | None = None  # services.conduct_summary


def read_stored_facts(store: Any, protocol: Any) -> StoredFacts:
    """Surgeries, switches, complications, AEs and discontinuations of randomised patients."""
    from talentop.store import models as m
    from talentop.store import queries

    patients, complications, events, resections = [], [], [], []
    with store.unit_of_work() as session:
        allocations = list(queries.randomisations(session))
        # One statement per table for every randomised patient (store.preload).
        with queries.preloaded(session, [a.patient_id for a in allocations]):
            for allocation in allocations:
                patient = queries.get(session, m.Patient, allocation.patient_id)
                site = queries.get(session, m.Site, patient.site_id)
                usubjid = f"{protocol.id.upper()}-{site.code}-{patient.pseudo_id}"
                surgeries = queries.rows_for(session, m.Surgery, patient.id)
                stops = queries.rows_for(session, m.Discontinuation, patient.id)
                contacts = queries.rows_for(session, m.FollowUpContact, patient.id)
                reviews = [
                    r
                    for r in queries.rows_for(
                        session, m.MdtReview, patient.id, m.MdtReview.review_date
                    )
                    if r.purpose == "switch"
                ]
                flags = queries.rows_for(
                    session, m.ResectabilityFlag, patient.id, m.ResectabilityFlag.flagged_on
                )
                death = queries.latest(session, m.Death, patient.id, m.Death.death_date)
                local = queries.rows_for(session, m.LocalTherapy, patient.id)
                specimens = queries.rows_for(session, m.Biospecimen, patient.id)
                patients.append(
                    {
                        "usubjid": usubjid,
                        "arm": allocation.arm,
                        "operated": bool(surgeries),
                        "after_switch": any(s.after_switch for s in surgeries),
                        "switched": bool(queries.rows_for(session, m.SurgerySwitch, patient.id)),
                        "switch_reviews": len(reviews),
                        # technically unresectable at the first reassessment on continued therapy
                        "unresectable_at_first_review": bool(reviews) and not reviews[0].resectable,
                        "maintenance_completed": any(
                            s.reason == "maintenance_completed" for s in stops
                        ),
                        "failure_reason": next((s.reason for s in stops if s.is_failure), None),
                        # CONSORT follow-up stage: the first end of protocol treatment, any reason
                        "discontinuation_reason": min(stops, key=lambda s: s.stop_date).reason
                        if stops
                        else None,
                        "lost_to_follow_up": any(c.status == "lost_to_follow_up" for c in contacts)
                        or any(s.reason == "lost_to_follow_up" for s in stops),
                        "died": queries.rows_for(session, m.Death, patient.id) != [],
                        "days_after_bevacizumab": surgeries[0].days_after_bevacizumab
                        if surgeries
                        else None,
                        "randomised_on": allocation.randomised_on,
                        "first_flag_on": flags[0].flagged_on if flags else None,
                        "first_resectable_review_on": next(
                            (r.review_date for r in reviews if r.resectable), None
                        ),
                        "death_date": death.death_date if death else None,
                    }
                )
                for surgery in surgeries:
                    necrosis = [
                        b.pathological_necrosis_pct
                        for b in specimens
                        if b.surgery_id == surgery.id and b.pathological_necrosis_pct is not None
                    ]
                    resections.append(
                        {
                            "patient": usubjid,
                            "arm": allocation.arm,
                            "surgery_date": surgery.surgery_date,
                            "days_after_bevacizumab": surgery.days_after_bevacizumab,
                            "after_switch": bool(surgery.after_switch),
                            "death_date": death.death_date if death else None,
                            "necrosis_pct": necrosis[0] if necrosis else None,
                            "local_therapy": ", ".join(t.therapy for t in local) or None,
                        }
                    )
                for surgery in surgeries:
                    # complications are keyed by surgery, not patient: ORM filter on the session
                    for c in session.query(m.Complication).filter_by(surgery_id=surgery.id):
                        complications.append(
                            {
                                "patient": usubjid,
                                "arm": allocation.arm,
                                "term": c.description,
                                "grade": c.clavien_dindo,
                                "category": c.category,
                                "isgls_grade": c.isgls_grade,
                            }
                        )
                for ae in queries.rows_for(session, m.AdverseEvent, patient.id):
                    events.append(
                        {
                            "patient": usubjid,
                            "arm": allocation.arm,
                            "term": ae.term,
                            "grade": int(ae.grade),
                            "attribution": ae.attribution,
                            "serious": bool(ae.serious),
                        }
                    )
    from talentop.services import Context, conduct_summary, deviation_summary, sae_listing

    system = Context(store, protocol, "system")
    return StoredFacts(
        pd.DataFrame(patients),
        pd.DataFrame(
            complications,
            columns=["patient", "arm", "term", "grade", "category", "isgls_grade"],
        ),
        pd.DataFrame(events, columns=["patient", "arm", "term", "grade", "attribution", "serious"]),
        pd.DataFrame(resections, columns=list(RESECTION_COLUMNS)),
        sae_listing=sae_listing(system),
        deviations=deviation_summary(system),
        conduct=conduct_summary(system),
    )


RESECTION_COLUMNS = (
    "patient",
    "arm",
    "surgery_date",
    "days_after_bevacizumab",
    "after_switch",
    "death_date",
    "necrosis_pct",
    "local_therapy",
)
