"""Who may do what: the one role -> action table for every read and write, and the site rule.

A user has one role (``ROLES``) and optionally a home site (monitors also have assigned sites,
``user_sites``). Every service call, read or write, names an action (``SERVICE_ACTIONS``); the
acting user's role must grant it (``ROLE_ACTIONS``), else ``PermissionDenied``. Which patients
a role sees is its read scope (``READ_SCOPE``): ICH E6(R2) 4.1.5 / 8.3.24 delegate trial
duties per site and per person, so site staff see and change only their site's patients.

================  =========================================================================
role              actions
================  =========================================================================
coordinator       register, screen, record_data; read (own site)
data_manager      record_data, manage_queries, lock; read, read_audit, verify_audit (own site;
                  all if none)
investigator      register, screen, record_data, treat, randomise, discontinue, sign; read
                  (own site)
mdt_member        vote, sign; read of the patients awaiting an MDT review (any site), queue
surgeon           surgery, record_data; read (own site; all if none), MDT queue
monitor           manage_queries, verify_source; read, read_audit, verify_audit of the
                  assigned sites; never writes clinical data
statistician      sign; read (all sites, pseudonymised: no free text), analysis, verify_audit
admin             every action, every site
``system``        every action, without a user row (in-process bootstrap, migrations, the
                  demo); no request, token or form can ever produce it (``RESERVED_NAMES``)
================  =========================================================================

Data management (not clinical data; site rule = read scope): ``manage_queries`` (raise,
close, reopen queries, run edit checks: monitors, data managers), ``verify_source`` (SDV:
monitors), ``lock`` (record, patient, database: data managers), ``sign`` (one's own
signature: investigators, MDT members, statisticians).

Write actions: ``manage_trial`` (sites, users, tokens of others, the sponsor's expedited
SUSAR reports), ``register`` (also informed consent and its withdrawal), ``screen``,
``record_data`` (labs, imaging, lesions, assessments, doses, adverse events and SAE
reports, contacts, deaths, new therapies, deviations, specimens, medication, history,
resectability assessments, local-therapy responses), ``treat`` (start induction, close the
assessment, decline randomisation, flag/switch to surgery, start maintenance, local
therapy),
``randomise``, ``discontinue``, ``vote`` (an MDT review or one's own ballot), ``surgery``.
Read actions: ``read`` (patients, timelines, screening log, funnel, recruitment, overdue
visits, flags, consent, SAE listing and clocks, deviation log, medication findings), ``read_mdt_queue``, ``read_audit`` (audit entries), ``verify_audit``,
``analysis`` (ADTTE, endpoints, ODM and Dataset-JSON exports), ``read_sites``, ``read_users``. No action ever returns
the randomisation secret, the allocation stream or a future allocation.
"""

from __future__ import annotations

from typing import Any

from talentop.errors import NotFound, PermissionDenied
from talentop.store import models as m
from talentop.store import queries

#: The bootstrap actor: allowed everything, needs no user row; never a login.
SYSTEM = "system"
#: Usernames no account may take (case-insensitive): the bootstrap actor and look-alikes.
RESERVED_NAMES = frozenset({SYSTEM, "root", "anonymous"})

WRITE_ACTIONS = (
    "manage_trial",
    "register",
    "screen",
    "record_data",
    "treat",
    "randomise",
    "discontinue",
    "vote",
    "surgery",
    "manage_queries",
    "verify_source",
    "lock",
    "sign",
)
#: Writes that are not clinical data (data management): their site rule is the user's read
#: scope (a monitor works on the assigned sites, a central data manager on every site).
SCOPED_BY_READ = frozenset({"manage_queries", "verify_source", "lock", "sign"})
READ_ACTIONS = (
    "read",
    "read_mdt_queue",
    "read_audit",
    "verify_audit",
    "analysis",
    "read_sites",
    "read_users",
)
ACTIONS = WRITE_ACTIONS + READ_ACTIONS

_EVERYONE = frozenset({"read_sites"})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "coordinator": _EVERYONE | {"register", "screen", "record_data", "read", "read_mdt_queue"},
    "data_manager": _EVERYONE
    | {"record_data", "read", "read_audit", "verify_audit", "manage_queries", "lock"},
    "investigator": _EVERYONE
    | {
        "register",
        "screen",
        "record_data",
        "treat",
        "randomise",
        "discontinue",
        "read",
        "read_mdt_queue",
        "sign",
    },
    "mdt_member": _EVERYONE | {"vote", "read", "read_mdt_queue", "sign"},
    "surgeon": _EVERYONE | {"surgery", "record_data", "read", "read_mdt_queue"},
    "monitor": _EVERYONE
    | {"read", "read_audit", "verify_audit", "manage_queries", "verify_source"},
    "statistician": _EVERYONE | {"read", "analysis", "verify_audit", "sign"},
    "admin": frozenset(ACTIONS),
}

#: Roles a user can hold (MDT members are users too: their votes name them).
ROLES = tuple(ROLE_ACTIONS)

#: Which patients a role reads: "site" (home site; every site for a user without one),
#: "assigned" (the user's assigned sites and home site), "mdt" (patients awaiting an MDT
#: review, any site, plus those of the home site), "all".
READ_SCOPE: dict[str, str] = {
    "coordinator": "site",
    "data_manager": "site",
    "investigator": "site",
    "mdt_member": "mdt",
    "surgeon": "site",
    "monitor": "assigned",
    "statistician": "all",
    "admin": "all",
}
#: Roles that read pseudonymised data only (pseudo ids, no free-text notes).
PSEUDONYMISED_ROLES = frozenset({"statistician"})

#: Each service call (reads included) and the action it needs.
SERVICE_ACTIONS: dict[str, str] = {
    "create_site": "manage_trial",
    "create_user": "manage_trial",
    "register_patient": "register",
    "screen_patient": "screen",
    "record_lab": "record_data",
    "record_imaging": "record_data",
    "record_lesions_baseline": "record_data",
    "record_assessment": "record_data",
    "record_dose": "record_data",
    "record_adverse_event": "record_data",
    "record_follow_up": "record_data",
    "record_death": "record_data",
    "record_new_therapy": "record_data",
    "record_deviation": "record_data",
    "record_biospecimen": "record_data",
    "record_resectability": "record_data",
    "record_local_therapy_response": "record_data",
    "start_induction": "treat",
    "complete_assessment": "treat",
    "decline_randomisation": "treat",
    "flag_for_resectability_review": "treat",
    "switch_to_surgery": "treat",
    "start_maintenance": "treat",
    "record_local_therapy": "treat",
    "randomise": "randomise",
    "record_discontinuation": "discontinue",
    "record_mdt_review": "vote",
    "cast_mdt_vote": "vote",
    "record_surgery": "surgery",
    "record_complication": "surgery",
    # data management (corrections need the permission of the service that enters the
    # record, checked per record: ``talentop.services.data.records.FORMS``)
    "correct_record": "record_data",
    "raise_query": "manage_queries",
    "close_query": "manage_queries",
    "reopen_query": "manage_queries",
    "answer_query": "record_data",
    "run_checks": "manage_queries",
    "verify_form": "verify_source",
    "lock_records": "lock",
    "unlock_records": "lock",
    "sign": "sign",
    # consent, safety, deviations, medication (issue 13)
    "record_consent": "register",
    "withdraw_consent": "register",
    "report_sae": "record_data",
    "record_sae_follow_up": "record_data",
    "record_expedited_report": "manage_trial",
    "record_conmed": "record_data",
    "record_medical_history": "record_data",
    # reads
    "list_queries": "read",
    "query_counts": "read",
    "patient_data_status": "read",
    "list_signatures": "read",
    "list_locks": "read",
    "stratification_errors": "analysis",
    "export_audit": "read_audit",
    "export_audit_odm": "read_audit",
    "patient_summary": "read",
    "list_patients": "read",
    "patient_timeline": "read",
    "allocation_record": "read",
    "screening_log": "read",
    "consort_funnel": "read",
    "recruitment": "read",
    "overdue": "read",
    "open_resectability_flags": "read",
    "mdt_queue": "read_mdt_queue",
    "audit_entries": "read_audit",
    "verify": "verify_audit",
    "derive_endpoints": "analysis",
    "export_adtte": "analysis",
    "patient_timelines": "analysis",
    "list_sites": "read_sites",
    "list_users": "read_users",
    "consent_status": "read",
    "reconsent_due": "read",
    "sae_listing": "read",
    "overdue_saes": "read",
    "sae_form": "read",
    "deviation_log": "read",
    "deviation_summary": "read",
    "conduct_summary": "read",
    "medication_checks": "read",
    "medication_alerts": "read",
    "export_odm": "analysis",
    "export_dataset_json": "analysis",
}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` grants ``action`` (the table above)."""
    return action in ROLE_ACTIONS.get(role, frozenset())


def roles_for(action: str) -> list[str]:
    """The roles that grant ``action``, sorted (for messages and generated tests)."""
    return sorted(role for role, actions in ROLE_ACTIONS.items() if action in actions)


def check_role(actor: str, role: str, service: str) -> None:
    """``PermissionDenied`` unless ``role`` grants the action ``service`` needs."""
    action = SERVICE_ACTIONS[service]
    if not allowed(role, action):
        raise PermissionDenied(
            f"{service} refused: user {actor!r} has role {role!r}, which does not grant "
            f"{action!r}; expected one of the roles {roles_for(action)}"
        )


#: ``acting_user``'s ``known`` when the caller has not read the user row already.
UNREAD: Any = object()


def acting_user(session: Any, actor: str, known: Any = UNREAD) -> m.User | None:
    """The user row of ``actor`` (None for ``system``); ``NotFound`` for an unknown name and
    ``PermissionDenied`` for a disabled account. ``known``: the row (or None) if the
    caller read it already in this transaction (``path_queries.patient_for_write``)."""
    if actor == SYSTEM:
        return None
    user = queries.user_by_name(session, actor) if known is UNREAD else known
    if user is None:
        raise NotFound(f"actor: no user named {actor!r}; create it with create_user first")
    if not user.active:
        raise PermissionDenied(f"user {actor!r} is disabled; an admin can enable the account")
    return user


def authorise(
    session: Any, actor: str, service: str, *, site_id: int | None = None, known: Any = UNREAD
) -> m.User | None:
    """The acting user, checked for the service's action and, if given, the patient's site.

    Raises ``NotFound`` for an unknown actor and ``PermissionDenied`` naming the actor,
    role, service and the roles that may call it (or the sites involved). ``known``: as
    for ``acting_user``.
    """
    action = SERVICE_ACTIONS[service]
    user = acting_user(session, actor, known)
    if user is None:
        return None
    check_role(actor, user.role, service)
    if site_id is not None and action in WRITE_ACTIONS and action not in SCOPED_BY_READ:
        if user.site_id is not None and user.site_id != site_id:
            raise PermissionDenied(_site_message(session, service, user, site_id))
    return user


def _site_message(session: Any, service: str, user: m.User, site_id: int) -> str:
    mine = queries.get(session, m.Site, user.site_id).code
    theirs = queries.get(session, m.Site, site_id).code
    return (
        f"{service} refused: user {user.username!r} belongs to site {mine!r}, the patient to "
        f"site {theirs!r}; expected a user of site {theirs!r} or one without a site"
    )
