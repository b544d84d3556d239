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
    complications: pd.DataFrame  # patient, arm, term, grade (Clavien-Dindo)
    adverse_events: pd.DataFrame  # patient, arm, term, grade, attribution, serious
    sae_listing: list[dict[str, Any]] = field(default_factory=list)  # services.sae_listing
    deviations: dict[str, Any] | None = None  # services.deviation_summary


def read_stored_facts(store: Any, protocol: Any) -> StoredFacts:
    """Surgeries, switches, complications, AEs and discontinuations of randomised patients."""
    from talentop.store import models as m
    from talentop.store import queries

    patients, complications, events = [], [], []
    with store.unit_of_work() as session:
        for allocation in queries.randomisations(session):
            patient = queries.get(session, m.Patient, allocation.patient_id)
            site = queries.get(session, m.Site, patient.site_id)
            usubjid = f"{protocol.id.upper()}-{site.code}-{patient.pseudo_id}"
            surgeries = queries.rows_for(session, m.Surgery, patient.id)
            stops = queries.rows_for(session, m.Discontinuation, patient.id)
            reviews = [
                r
                for r in queries.rows_for(session, m.MdtReview, patient.id, m.MdtReview.review_date)
                if r.purpose == "switch"
            ]
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
                    "days_after_bevacizumab": surgeries[0].days_after_bevacizumab
                    if surgeries
                    else None,
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
    from talentop.services import Context, deviation_summary, sae_listing

    system = Context(store, protocol, "system")
    return StoredFacts(
        pd.DataFrame(patients),
        pd.DataFrame(complications, columns=["patient", "arm", "term", "grade"]),
        pd.DataFrame(events, columns=["patient", "arm", "term", "grade", "attribution", "serious"]),
        sae_listing=sae_listing(system),
        deviations=deviation_summary(system),
    )
