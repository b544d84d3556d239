"""Who may do what: the role -> action table the services enforce, and the site rule.

A user has one role (``ROLES``) and optionally a site. Every write service call names an
action (``SERVICE_ACTIONS``); the acting user's role must grant it (``ROLE_ACTIONS``),
else ``PermissionDenied``. A user tied to a site acts only on that site's patients (ICH
E6(R2) 4.1.5 / 8.3.24: trial duties are delegated per site and per person, on a signed
delegation log). Users without a site (MDT members, admins) act on every site.

=============  ===========================================================================
role           actions
=============  ===========================================================================
coordinator    register, screen, record_data
data_manager   record_data
investigator   register, screen, record_data, treat, randomise, discontinue
mdt_member     vote
surgeon        surgery, record_data
admin          every action
``system``     every action, without a user row (bootstrap, imports, the demo, exports)
=============  ===========================================================================

Actions: ``manage_trial`` (sites, users), ``register``, ``screen``, ``record_data`` (labs,
imaging, lesions, assessments, doses, adverse events, contacts, deaths, new therapies,
deviations, specimens, resectability assessments, local-therapy responses), ``treat`` (start
induction, close the assessment, decline randomisation, flag/switch to surgery, start
maintenance, local therapy), ``randomise``, ``discontinue``,
``vote`` (record an MDT review), ``surgery`` (surgery and its complications). Reads
(summaries, endpoints, audit read-outs) are not restricted here.
"""

from __future__ import annotations

from typing import Any

from talentop.errors import NotFound, PermissionDenied
from talentop.store import models as m
from talentop.store import queries

#: The bootstrap actor: allowed everything, needs no user row.
SYSTEM = "system"

ACTIONS = (
    "manage_trial",
    "register",
    "screen",
    "record_data",
    "treat",
    "randomise",
    "discontinue",
    "vote",
    "surgery",
)

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "coordinator": frozenset({"register", "screen", "record_data"}),
    "data_manager": frozenset({"record_data"}),
    "investigator": frozenset(
        {"register", "screen", "record_data", "treat", "randomise", "discontinue"}
    ),
    "mdt_member": frozenset({"vote"}),
    "surgeon": frozenset({"surgery", "record_data"}),
    "admin": frozenset(ACTIONS),
}

#: Roles a user can hold (MDT members are users too: their votes name them).
ROLES = tuple(ROLE_ACTIONS)

#: Each write service call and the action it needs.
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
    "record_surgery": "surgery",
    "record_complication": "surgery",
}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` grants ``action`` (the table above)."""
    return action in ROLE_ACTIONS.get(role, frozenset())


def authorise(
    session: Any, actor: str, service: str, *, site_id: int | None = None
) -> m.User | None:
    """The acting user, checked for the service's action and, if given, the patient's site.

    Raises ``NotFound`` for an unknown actor and ``PermissionDenied`` naming the actor,
    role, service and the roles that may call it.
    """
    action = SERVICE_ACTIONS[service]
    if actor == SYSTEM:
        return None
    user = queries.user_by_name(session, actor)
    if user is None:
        raise NotFound(f"actor: no user named {actor!r}; create it with create_user first")
    if not allowed(user.role, action):
        may = sorted(role for role, actions in ROLE_ACTIONS.items() if action in actions)
        raise PermissionDenied(
            f"{service} refused: user {actor!r} has role {user.role!r}, which does not grant "
            f"{action!r}; expected one of the roles {may}"
        )
    if site_id is not None and user.site_id is not None and user.site_id != site_id:
        mine = queries.get(session, m.Site, user.site_id).code
        theirs = queries.get(session, m.Site, site_id).code
        raise PermissionDenied(
            f"{service} refused: user {actor!r} belongs to site {mine!r}, the patient to site "
            f"{theirs!r}; expected a user of site {theirs!r} or one without a site"
        )
    return user
