"""Templates: one Jinja2 environment (autoescaped), the filters the pages share, and
``render`` which gives every page the signed-in user, the CSRF token and the navigation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from talentop import __version__
from talentop.services.permissions import allowed
from talentop.services.states import STATES
from talentop.web.forms import LEGENDS

_ENV = Environment(
    loader=PackageLoader("talentop.web", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: What a state is called on the pages.
STATE_LABELS = {
    "registered": "Registered",
    "screened": "Screened, eligible",
    "screen_failed": "Screen failure",
    "induction": "Induction",
    "assessed": "Assessed after induction",
    "not_randomised": "Not randomised",
    "randomised": "Randomised",
    "operated": "Operated",
    "maintenance": "Maintenance",
    "treatment_failed": "Treatment failed",
    "off_study": "Off study",
    "died": "Died",
}
assert set(STATE_LABELS) == set(STATES)

#: Record tables as the timeline names them.
KIND_LABELS = {
    "patients": "Registration",
    "patient_state_history": "State change",
    "screenings": "Screening",
    "screening_criteria": "Screening criterion",
    "labs": "Laboratory result",
    "imaging": "Imaging study",
    "lesions": "Baseline lesion",
    "assessment_visits": "Tumour assessment visit",
    "lesion_measurements": "Lesion measurement",
    "response_assessments": "Response (computed)",
    "drug_administrations": "Dose given",
    "mdt_ballots": "MDT vote",
    "mdt_reviews": "MDT decision",
    "mdt_votes": "MDT decision: member's vote",
    "randomisations": "Randomisation",
    "surgeries": "Surgery",
    "complications": "Surgical complication",
    "adverse_events": "Adverse event",
    "discontinuations": "Treatment discontinued",
    "deaths": "Death",
    "follow_up_contacts": "Follow-up contact",
    "new_therapies": "New anticancer therapy",
    "protocol_deviations": "Protocol deviation",
    "biospecimens": "Biospecimen",
    "resectability_flags": "Resectability flag",
    "surgery_switches": "Switch to surgery",
    "consents": "Informed consent",
    "consent_withdrawals": "Consent withdrawn",
    "sae_reports": "SAE report",
    "sae_causality": "SAE causality",
    "sae_follow_ups": "SAE follow-up report",
    "concomitant_medications": "Concomitant medication",
    "medical_history": "Medical history",
    "resectability_assessments": "Resectability assessment",
    "local_therapies": "Local therapy",
    "corrections": "Correction",
    "data_queries": "Data query",
    "query_events": "Query step",
    "check_findings": "Edit-check finding",
    "verifications": "Source-data verification",
    "record_locks": "Lock",
    "signatures": "Electronic signature",
    "stratification_errors": "Stratification error",
}

#: Navigation: (label, path, action the role needs).
NAV = (
    ("Dashboard", "/", "read"),
    ("Patients", "/patients", "read"),
    ("Register", "/patients/new", "register"),
    ("MDT queue", "/mdt-queue", "read_mdt_queue"),
    ("Queries", "/queries", "read"),
    ("Safety", "/safety", "read"),
    ("Deviations", "/deviations", "read"),
    ("Locks", "/locks", "lock"),
    ("Audit", "/audit", "verify_audit"),
    ("Analysis", "/analysis", "analysis"),
)


def _label(value: Any) -> str:
    """``snake_case`` as words ("screen_failed" -> "screen failed")."""
    return str(value).replace("_", " ")


def _short(value: Any, limit: int = 120) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, default=str)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: Any) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC'."""
    if not value:
        return ""
    try:
        stamp = dt.datetime.fromisoformat(str(value).rstrip("Z"))
    except ValueError:
        return str(value)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


_ENV.filters.update(
    label=_label,
    short=_short,
    when=_when,
    state=lambda s: STATE_LABELS.get(s, _label(s)) if s else "",
    kind=lambda k: KIND_LABELS.get(k, _label(k)),
)
_ENV.globals.update(version=__version__, legends=LEGENDS)


def nav_for(role: str | None) -> list[tuple[str, str]]:
    """The navigation entries ``role`` may use (from the permission table)."""
    if role is None:
        return []
    return [(label, path) for label, path, action in NAV if allowed(role, action)]


def render(
    name: str,
    *,
    status: int = 200,
    user: Any = None,
    csrf: str | None = None,
    path: str = "/",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``name`` with ``context``; ``user`` is the principal (None on the login page)."""
    template = _ENV.get_template(name)
    role = getattr(user, "role", None)
    html = template.render(
        user=user,
        csrf=csrf,
        nav=nav_for(role),
        path=path,
        hx_headers=Markup(json.dumps({"X-CSRF-Token": csrf})) if csrf else None,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def fragment(name: str, **context: Any) -> Markup:
    """A partial template rendered (autoescaped) to markup: an htmx answer, or a part of a
    page that includes it as it is."""
    return Markup(_ENV.get_template(name).render(**context))
