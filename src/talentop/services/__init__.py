"""The trial workflow: one call per arrow of the patient's path, one transaction each.

Every call takes a ``Context(store, protocol, actor)`` first: network faces build it with
``Context.authenticated`` from a ``Principal`` (``talentop.services.identity``: login,
session, API token); in-process code may name a username created with ``create_user``
("system", a reserved name, is allowed for bootstrap). Every call, read or write, is checked
against the permission table (``talentop.services.permissions``), reads are scoped to the
patients the user may see (``talentop.services.access``), and every argument is validated
(``"70"`` is a valid weight, ``"seventy"`` an ``InvalidInput`` naming the field). Several
calls can share one transaction: ``with store.transaction(): ...`` (each call is then a
savepoint; everything commits together). Every write is audited
in the same transaction; a forbidden arrow raises ``ProtocolViolation`` (``.state`` and
``.rule`` set, both named in the message); bad values raise ``InvalidInput`` naming field
and value; unknown ids raise ``NotFound``; a database that cannot be opened or was never
initialised raises ``DatabaseUnavailable``. Any error leaves the database as it was.
Dates are ``datetime.date`` or ISO strings; an event date after today is ``InvalidInput``
unless ``Context(..., allow_future_dates=True)`` (simulations; ``today=`` is injectable).
Patients are referred to by integer id.

Permissions (``talentop.services.permissions``): each call needs an action that the acting
user's role grants (coordinator: register/screen/record data; investigator: also treat,
randomise, discontinue; mdt_member: MDT votes; surgeon: surgery; monitor and statistician:
reads only; admin and "system": everything), and a user tied to a site acts only on that
site's patients; otherwise ``PermissionDenied``.

Setup (``talentop.store``)
    Store(url=None)                 SQLite ``talentop.db`` or ``TALENTOP_DATABASE_URL``
    init_database(store)            migrate to head + create the keys (outside the database)

Registry
    create_site(ctx, code, name, *, country=None) -> site id
    create_user(ctx, username, role, *, site_code=None, full_name=None, specialty=None) -> id
    register_patient(ctx, site_code, pseudo_id, *, registered_on, sex=None,
                     birth_year=None) -> patient id                      -> registered
    patient_summary(ctx, patient_id) -> {"state", "arm", "site", "history", ...}

Screening
    screen_patient(ctx, patient_id, record, screened_on) -> {"verdict", "state", "criteria"}
                                                     registered -> screened | screen_failed
    record_resectability(ctx, patient_id, assessed_on, *, criteria, context="baseline",
                         resectability_class=None, reason=None) -> {"status", "criteria", ...}
        baseline class at screening (technically resectable / technically unresectable /
        oncologically unresectable + reason); structured criteria (clinical.resectability)
    record_lab(ctx, patient_id, *, sampled_on, test, value, unit, upper_limit_normal=None)
    record_imaging(ctx, patient_id, *, study_date, modality, vp_grade=None, ...)

Induction
    start_induction(ctx, patient_id, start_date)                  screened -> induction
    record_dose(ctx, patient_id, *, cycle, drug, dose_given_mg, given_on, weight_kg=None,
                phase=None) -> {"dose_computed_mg", "delay_days", "deviations", ...}

Assessment
    record_lesions_baseline(ctx, patient_id, baseline_date, lesions) -> lesion ids
        lesions: [{"id": "T1", "kind": "target"|"non_target", "organ", "nodal",
                   "diameter_mm", "viable_diameter_mm"}]
    record_assessment(ctx, patient_id, visit_date, *, target, non_target=None,
                      new_lesions="none", viable=None, new_lesions_mrecist=None)
        -> {"recist": result, "mrecist": result, "resectability_flag": id | None}
    complete_assessment(ctx, patient_id, on_date)     induction -> assessed | not_randomised
    decline_randomisation(ctx, patient_id, on_date, reason)   assessed -> not_randomised

MDT and randomisation
    record_mdt_review(ctx, patient_id, review_date, votes) -> {"review_id", "resectable", ...}
        votes: [{"member", "specialty", "resectable": bool, "reason", "criteria"}]
        assessed + not resectable -> not_randomised; arm B: a reassessment ("switch")
    randomise(ctx, patient_id, randomised_on, *, stratum_values=None)
        -> {"arm", "stratum", "randomisation_id"}   assessed (after induction) or screened
                                                    (protocol timing at_entry) -> randomised

Local therapy (protocol local_therapy: TACE on study, or before surgery)
    record_local_therapy(ctx, patient_id, performed_on, *, therapy, target_lesions,
                         technique=None) -> id
    record_local_therapy_response(ctx, patient_id, therapy_id, assessed_on, *, response)

Arm-B dynamic reassessment
    flag_for_resectability_review(ctx, patient_id, flagged_on, reason) -> flag id
    open_resectability_flags(ctx) -> [{"patient_id", "flag_id", "flagged_on", "reason"}]
    switch_to_surgery(ctx, patient_id, switch_date, mdt_review_id, reason) -> switch id

Surgery and maintenance
    record_surgery(ctx, patient_id, surgery_date, *, procedure, margin, blood_loss_ml,
                   override_reason=None) -> {...}                randomised -> operated
    record_complication(ctx, patient_id, onset_date, *, description, clavien_dindo,
                        category=None, isgls_grade=None)
    record_biospecimen(ctx, patient_id, collected_on, *, specimen_type, ...)
    start_maintenance(ctx, patient_id, start_date)               operated -> maintenance

Safety and follow-up
    record_adverse_event(ctx, patient_id, onset_date, *, term, grade, attribution,
                         serious=False)
    record_discontinuation(ctx, patient_id, stop_date, reason, *, note=None)
                             randomised/operated/maintenance -> treatment_failed | off_study
    record_death(ctx, patient_id, death_date, *, cause=None)          any -> died
    record_follow_up(ctx, patient_id, contact_date, *, status="alive", method=None)
    record_new_therapy(ctx, patient_id, start_date, *, description)
    record_deviation(ctx, patient_id, deviation_date, *, category, description,
                     classification=None, corrective_action=None, preventive_action=None,
                     decided_by=None) -> id              (category: protocol vocabulary)

Consent (``consent``; the gate ``consent_rules.require_consent`` runs in every patient call)
    record_consent(ctx, patient_id, consented_on, *, form_version, obtained_by, scopes,
                   witness=None) -> {"consent_id", "kind": initial|reconsent, ...}
    withdraw_consent(ctx, patient_id, withdrawn_on, *, scopes, reason=None)
        scopes: treatment | follow_up | data_use | biobank (data_use implies follow_up
        implies treatment); biobank flags the patient's specimens for destruction
    consent_status(ctx, patient_id), reconsent_due(ctx)

Serious adverse events (``sae``, ``sae_reads``), on top of the AE records
    report_sae(ctx, adverse_event_id, *, criteria, awareness_at, causality, outcome=...,
               narrative=None, reported_at=None) -> {"sae_id", "on_time", "susar", ...}
    record_sae_follow_up(ctx, sae_id, *, info_received_at, description, reported_at=None,
                         outcome=None, grade=None, criteria=None, causality=None)
    record_expedited_report(ctx, sae_id, reported_on)      (sponsor: SUSAR 7/15 days)
    sae_listing(ctx, *, arm=None), overdue_saes(ctx, *, now=None), sae_form(ctx, sae_id)

Deviations and medication
    deviation_log(ctx, *, site=None), deviation_summary(ctx)
    conduct_summary(ctx): consent, withdrawals, medication classes and rule findings by arm
    record_conmed(ctx, patient_id, start_date, *, name, indication, dose_value=None,
                  dose_unit=None, frequency=None, stop_date=None, ongoing=None,
                  drug_class=None) -> {"conmed_id", "drug_class", "findings"}
    record_medical_history(ctx, patient_id, recorded_on, *, condition, onset_year=None,
                           ongoing=False, note=None)
    medication_checks(ctx, patient_id), medication_alerts(ctx)

Reads (scoped, paged: ``Page(items, total, limit, offset)``)
    list_patients(ctx, *, site, state, arm, q, sort, descending, limit, offset) -> Page
    patient_timeline(ctx, patient_id) -> {"records": [{kind, id, date, entered_by, ...}]}
    screening_log(ctx, *, site, verdict, limit, offset) -> Page
    consort_funnel(ctx), recruitment(ctx), mdt_queue(ctx), overdue(ctx, on=None)
    list_sites(ctx), list_users(ctx) -> Page
    cast_mdt_vote(ctx, patient_id, vote_date, *, resectable, reason) -> {"decided", ...}

Data management (``talentop.services.data``)
    correct_record(ctx, entity, entity_id, changes, *, reason, category) -> what changed
    raise_query / answer_query(..., correction=) / close_query / reopen_query / list_queries
    run_checks(ctx, *, site, patient_id); verify_form(ctx, entity, entity_id)
    lock_records(ctx, scope, *, reason, ...) / unlock_records(ctx, lock_id, *, reason)
    sign(ctx, target, *, meaning, password, ...); list_signatures; stratification_errors
    patient_data_status(ctx, patient_id); export_audit(ctx, patient_id) -> CSV
    export_audit_odm(ctx, patient_id=None, *, site=None, validate=False) -> {"xml", ...}:
        the audit trail with the records as a CDISC ODM 1.3.2 Transactional document

Endpoints and audit
    patient_timelines(ctx) -> [PatientTimeline]
    derive_endpoints(ctx, cutoff_date=None) -> ADTTE DataFrame
    export_adtte(ctx, out_dir, *, formats=("csv", "xpt"), cutoff_date=None) -> {"paths", ...}
    export_odm(ctx, out_path, *, validate=False) -> {"path", "subjects", ...}  CDISC ODM 1.3.2
    export_dataset_json(ctx, out_dir, *, datasets=None, cutoff_date=None)  ADTTE/ADAE 1.1
    verify(store) -> AuditReport (.ok, .problems[i].seq/.kind/.detail/.entity/.entity_id):
        leaf hashes, the Merkle tree against every signed checkpoint, keys, and every
        table row against its latest audit entry; .covered/.uncovered by checkpoints
    checkpoint(store) -> CheckpointResult; Checkpointer(store, interval_s) (server/demo)
    prove_inclusion(store, *, seq=None, entity=None, entity_id=None) -> dict
    audit_entries(store, *, entity=None, limit=100) -> [dict]

States: ``talentop.services.states`` (``STATES``, ``ARROWS``: allowed states + rule).
"""

from talentop.services._context import Context, Principal
from talentop.services.assessment import (
    complete_assessment,
    decline_randomisation,
    record_assessment,
    record_lesions_baseline,
)
from talentop.services.audit import Checkpointer, checkpoint, prove_inclusion, verify
from talentop.services.audit_reads import audit_entries, audit_history
from talentop.services.conduct_summary import conduct_summary
from talentop.services.consent import (
    consent_status,
    reconsent_due,
    record_consent,
    withdraw_consent,
)
from talentop.services.dashboard import (
    consort_funnel,
    mdt_queue,
    open_resectability_flags,
    overdue,
    recruitment,
)
from talentop.services.data import (
    answer_query,
    close_query,
    correct_record,
    export_audit,
    list_locks,
    list_queries,
    list_signatures,
    lock_records,
    patient_data_status,
    query_counts,
    raise_query,
    reopen_query,
    run_checks,
    sign,
    stratification_errors,
    unlock_records,
    verify_form,
)
from talentop.services.dataset_json import export_dataset_json
from talentop.services.deviations import deviation_log, deviation_summary, record_deviation
from talentop.services.endpoints import derive_endpoints, export_adtte, patient_timelines
from talentop.services.follow_up import (
    record_adverse_event,
    record_death,
    record_discontinuation,
    record_follow_up,
    record_new_therapy,
)
from talentop.services.induction import record_dose, start_induction
from talentop.services.local_therapy import record_local_therapy, record_local_therapy_response
from talentop.services.mdt import cast_mdt_vote, consensus, record_mdt_review
from talentop.services.medication import (
    medication_alerts,
    medication_checks,
    record_conmed,
    record_medical_history,
)
from talentop.services.odm_audit import export_audit_odm
from talentop.services.odm_export import export_odm
from talentop.services.randomise import randomise
from talentop.services.reads import (
    Page,
    allocation_record,
    list_patients,
    list_sites,
    list_users,
    patient_timeline,
    screening_log,
)
from talentop.services.reassessment import flag_for_resectability_review
from talentop.services.registry import create_site, create_user, patient_summary, register_patient
from talentop.services.resectability import record_resectability
from talentop.services.sae import record_expedited_report, record_sae_follow_up, report_sae
from talentop.services.sae_reads import overdue_saes, sae_form, sae_listing
from talentop.services.screening import record_imaging, record_lab, screen_patient
from talentop.services.states import ARROWS, STATES
from talentop.services.surgery import (
    record_biospecimen,
    record_complication,
    record_surgery,
    start_maintenance,
    switch_to_surgery,
)
from talentop.store import Store, init_database

__all__ = [
    "answer_query",
    "close_query",
    "correct_record",
    "export_audit",
    "list_locks",
    "list_queries",
    "list_signatures",
    "lock_records",
    "patient_data_status",
    "query_counts",
    "raise_query",
    "reopen_query",
    "run_checks",
    "sign",
    "stratification_errors",
    "unlock_records",
    "verify_form",
    "export_dataset_json",
    "export_audit_odm",
    "export_odm",
    "consent_status",
    "deviation_log",
    "deviation_summary",
    "conduct_summary",
    "medication_alerts",
    "medication_checks",
    "overdue_saes",
    "reconsent_due",
    "record_conmed",
    "record_consent",
    "record_expedited_report",
    "record_medical_history",
    "record_sae_follow_up",
    "report_sae",
    "sae_form",
    "sae_listing",
    "withdraw_consent",
    "ARROWS",
    "STATES",
    "Checkpointer",
    "Context",
    "Page",
    "Principal",
    "Store",
    "allocation_record",
    "audit_entries",
    "audit_history",
    "cast_mdt_vote",
    "consort_funnel",
    "list_patients",
    "list_sites",
    "list_users",
    "mdt_queue",
    "overdue",
    "patient_timeline",
    "recruitment",
    "screening_log",
    "checkpoint",
    "complete_assessment",
    "consensus",
    "create_site",
    "create_user",
    "decline_randomisation",
    "derive_endpoints",
    "export_adtte",
    "flag_for_resectability_review",
    "init_database",
    "open_resectability_flags",
    "patient_summary",
    "patient_timelines",
    "prove_inclusion",
    "randomise",
    "record_adverse_event",
    "record_assessment",
    "record_biospecimen",
    "record_complication",
    "record_death",
    "record_deviation",
    "record_discontinuation",
    "record_dose",
    "record_follow_up",
    "record_imaging",
    "record_lab",
    "record_lesions_baseline",
    "record_local_therapy",
    "record_local_therapy_response",
    "record_mdt_review",
    "record_new_therapy",
    "record_resectability",
    "record_surgery",
    "register_patient",
    "screen_patient",
    "start_induction",
    "start_maintenance",
    "switch_to_surgery",
    "verify",
]
