"""Stratification errors for the statistician: patients whose corrected data give another
stratum level than the one they were randomised with (the allocation and the analysis keep
the level as randomised: ITT, ICH E9 section 5.2; the list goes to the SAP's sensitivity
analyses)."""

from __future__ import annotations

from typing import Any

from talentop.services._context import Context
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.store import dm_queries, queries
from talentop.store import models as m


@service
def stratification_errors(ctx: Context) -> list[dict[str, Any]]:
    """Every recorded stratification error the caller may see."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "stratification_errors")
        out = []
        for error, patient, code in dm_queries.stratification_errors(session, scope.sql_filter()):
            allocation = queries.get(session, m.Randomisation, error.randomisation_id)
            out.append(
                {
                    "stratification_error_id": error.id,
                    "patient_id": patient.id,
                    "pseudo_id": patient.pseudo_id,
                    "site": code,
                    "stratum": error.stratum,
                    "level_as_randomised": error.level_as_randomised,
                    "level_corrected": error.level_corrected,
                    "arm": allocation.arm,
                    "correction_id": error.correction_id,
                    "recorded_at": error.recorded_at.isoformat() + "Z",
                }
            )
        return out
