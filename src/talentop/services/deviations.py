"""Protocol deviations: entered by hand (with classification, corrective and preventive
action, who decided) beside those the services raise (dose, bevacizumab restart, surgery
washout); the log per site and the summary by category and arm.

ICH E6(R3) 2.5.3: the investigator documents every deviation; for important ones explains
them and implements measures to prevent a recurrence. "Major" here is an important protocol
deviation (ICH E3 Q&A (R1) Q7: may significantly affect the completeness, accuracy or
reliability of the data, or a participant's rights, safety or well-being), so a major
deviation needs its preventive action.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import Field

from talentop.errors import InvalidInput
from talentop.services._context import (
    Context,
    check_actor,
    died_check,
    ensure_unlocked,
    event_date,
)
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, redact, require_site
from talentop.services.states import DIED, STATES
from talentop.store import models as m
from talentop.store import queries, writes
from talentop.store.read_queries import patients_in_states

Text = Annotated[str, Field(min_length=1, max_length=10_000)]


def _category(ctx: Context, category: str) -> Any:
    found = ctx.protocol.deviations.category(category)
    if found is None:
        ids = [c.id for c in ctx.protocol.deviations.categories]
        raise InvalidInput.field("category", category, f"one of the protocol's categories {ids}")
    return found


@service
def record_deviation(
    ctx: Context,
    patient_id: RecordId,
    deviation_date: dt.date | str,
    *,
    category: Annotated[str, Field(min_length=1, max_length=64)],
    description: Text,
    classification: Literal["major", "minor"] | None = None,
    corrective_action: Text | None = None,
    preventive_action: Text | None = None,
    decided_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None,
) -> int:
    """A deviation noted by the site or a monitor: a category from the protocol's vocabulary,
    major/minor (default: the category's), what was done about it (corrective) and to stop
    it recurring (preventive; required for a major one), and who classified it (default:
    the person entering it)."""
    on = event_date(ctx, "deviation_date", deviation_date)
    with ctx.store.unit_of_work() as session:
        patient = queries.get(session, m.Patient, patient_id, what="patient")
        check_actor(session, ctx, "record_deviation", site_id=patient.site_id)
        ensure_unlocked(session, patient.id)
        found = _category(ctx, category)
        effective = classification or found.classification
        if effective == "major" and preventive_action is None:
            raise InvalidInput.field(
                "preventive_action",
                None,
                "the measure that prevents a recurrence of a major deviation (ICH E6(R3) 2.5.3)",
            )
        if patient.state == DIED:
            died_check(session, patient, on, "deviation_date")
        row = m.ProtocolDeviation(
            patient_id=patient.id,
            deviation_date=on,
            category=category,
            description=description,
            classification=effective,
            corrective_action=corrective_action,
            preventive_action=preventive_action,
            decided_by=decided_by or ctx.actor,
            source="manual",
        )
        return writes.insert(session, ctx.actor, row).id


def _effective(ctx: Context, row: m.ProtocolDeviation) -> str:
    if row.classification:
        return row.classification
    found = ctx.protocol.deviations.category(row.category)
    return found.classification if found else "minor"


def _rows(ctx: Context, session: Any, scope: Any) -> list[dict[str, Any]]:
    out = []
    for patient, site in patients_in_states(session, scope.sql_filter(), STATES):
        for row in queries.rows_for(session, m.ProtocolDeviation, patient.id):
            out.append(
                {
                    "deviation_id": row.id,
                    "site": site,
                    "patient_id": patient.id,
                    "pseudo_id": patient.pseudo_id,
                    "arm": patient.arm,
                    "deviation_date": row.deviation_date.isoformat(),
                    "category": row.category,
                    "classification": _effective(ctx, row),
                    "description": row.description,
                    "corrective_action": row.corrective_action,
                    "preventive_action": row.preventive_action,
                    "decided_by": row.decided_by,
                    "source": row.source,
                }
            )
    return out


@service
def deviation_log(ctx: Context, *, site: str | None = None) -> list[dict[str, Any]]:
    """Every deviation the caller may read, by site then date: the site's deviation log
    (free text left out for pseudonymised readers)."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "deviation_log")
        if site is not None:
            found = queries.site_by_code(session, site)
            if found is None:
                raise InvalidInput.field("site", site, "a site code")
            require_site(session, scope, "deviation_log", found.id)
        rows = [r for r in _rows(ctx, session, scope) if site is None or r["site"] == site]
        rows = [redact(scope, r) for r in rows]
    free_text = ("corrective_action", "preventive_action")
    if rows and "description" not in rows[0]:
        rows = [{k: v for k, v in r.items() if k not in free_text} for r in rows]
    return sorted(rows, key=lambda r: (r["site"], r["deviation_date"], r["deviation_id"]))


@service
def deviation_summary(ctx: Context) -> dict[str, Any]:
    """Deviations counted by category and arm (not randomised: "-"), with the major ones
    apart, and the number of patients with at least one major deviation per arm."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "deviation_summary")
        rows = _rows(ctx, session, scope)
    arms = [a.id for a in ctx.protocol.arms] + ["-"]
    by = Counter((r["category"], r["arm"] or "-") for r in rows)
    major = Counter(
        (r["category"], r["arm"] or "-") for r in rows if r["classification"] == "major"
    )
    categories = [c.id for c in ctx.protocol.deviations.categories]
    categories += sorted({r["category"] for r in rows} - set(categories))
    table = [
        {
            "category": category,
            "classification": _classification(ctx, category),
            **{arm: by[(category, arm)] for arm in arms},
            "major": sum(major[(category, arm)] for arm in arms),
            "total": sum(by[(category, arm)] for arm in arms),
        }
        for category in categories
        if any(by[(category, arm)] for arm in arms)
    ]
    patients_major = {
        arm: len(
            {
                r["patient_id"]
                for r in rows
                if r["classification"] == "major" and (r["arm"] or "-") == arm
            }
        )
        for arm in arms
    }
    return {
        "arms": arms,
        "categories": table,
        "total": len(rows),
        "major": sum(1 for r in rows if r["classification"] == "major"),
        "patients_with_major": patients_major,
        "manual": sum(1 for r in rows if r["source"] == "manual"),
    }


def _classification(ctx: Context, category: str) -> str:
    found = ctx.protocol.deviations.category(category)
    return found.classification if found else "minor"
