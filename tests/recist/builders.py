"""Small builders for RECIST test cases (the JSON of examples/recist/README.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

BASELINE_DATE = dt.date(2025, 1, 6)


def day(offset: int) -> str:
    """ISO date ``offset`` days after the baseline scan."""
    return (BASELINE_DATE + dt.timedelta(days=offset)).isoformat()


def case(
    targets: dict[str, float] | None = None,
    *,
    nodes: dict[str, float] | None = None,
    non_targets: tuple[str, ...] = (),
    followups: list[dict[str, Any]] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A case: non-nodal liver/lung targets ``{id: mm}``, nodal targets, non-target ids."""
    target = []
    organs = ["liver", "lung", "adrenal", "bone", "kidney"]
    for index, (lesion_id, mm) in enumerate((targets or {}).items()):
        target.append({"id": lesion_id, "organ": organs[index], "nodal": False, "diameter_mm": mm})
    for lesion_id, mm in (nodes or {}).items():
        target.append({"id": lesion_id, "organ": "lymph_node", "nodal": True, "diameter_mm": mm})
    non_target = [{"id": n, "organ": "peritoneum"} for n in non_targets]
    return {
        "criteria": "recist1.1",
        "confirmation": False,
        "min_sd_days": 42,
        "baseline": {"date": BASELINE_DATE.isoformat(), "target": target, "non_target": non_target},
        "followups": followups or [],
        **top,
    }


def visit(offset: int, target=None, non_target=None, new: str = "none", **extra: Any) -> dict:
    """One follow-up ``offset`` days after baseline."""
    return {
        "date": day(offset),
        "target": target or {},
        "non_target": non_target or {},
        "new_lesions": new,
        **extra,
    }
