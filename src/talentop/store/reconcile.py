"""Reconcile the audit trail with the tables it describes.

The hash chain proves that the audit rows were not edited, but not that they are all
there (the newest rows can be cut off and the chain still links) nor that the tables
were only changed through audited writes. So every row of every audited table must equal
the ``after`` image of its latest audit entry, every row must have an audit entry, and
every audited row must still exist (no service deletes). This catches tail truncation
(rows with no entry, or an entry older than the row), direct edits of a table (e.g.
``randomisations.arm`` flipped by SQL) and rows deleted behind the services' back.

On its own it cannot catch a consistent forgery (the same SQL that edits a table row *and*
its audit entry, or the newest entries deleted together with the table rows they created):
the signed checkpoints outside the database catch those (``talentop.store.verify``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from talentop.store.audit import AuditProblem, snapshot
from talentop.store.hashing import canonical_json
from talentop.store.models import AuditEntry, Base, LoginThrottle

#: Tables that are not audited entity tables (the login throttle is telemetry; each failed
#: login it counts is an audited ``auth_events`` row).
UNAUDITED_TABLES = frozenset({AuditEntry.__tablename__, LoginThrottle.__tablename__})
#: Most differing columns named per row (the rest are counted).
MAX_COLUMNS_NAMED = 4


@dataclass(frozen=True)
class LatestEntry:
    """The newest audit row of one entity row."""

    seq: int
    action: str
    after_json: str | None


def _entity_id(mapper: Any, obj: Any) -> str:
    return ",".join(str(part) for part in mapper.primary_key_from_instance(obj))


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _differences(current: dict[str, Any], audited: dict[str, Any]) -> list[str]:
    """Columns whose stored value differs from the audited ``after`` image. Keys only one
    side has are skipped: an image may omit a column (the secret) or predate a migration."""
    return [
        f"{key} is {_short(current[key])} in the table but {_short(audited[key])} in the trail"
        for key in sorted(current.keys() & audited.keys())
        if current[key] != audited[key]
    ]


def reconcile(session: Session, latest: dict[tuple[str, str], LatestEntry]) -> tuple[int, list]:
    """Compare every audited table with ``latest`` (entity, id) -> newest audit entry.

    Returns the number of table rows checked and the problems found (``seq`` 0 when the
    table row has no audit entry at all).
    """
    problems: list[AuditProblem] = []
    checked = 0
    seen: set[tuple[str, str]] = set()
    mapped = sorted(
        (
            mapper
            for mapper in Base.registry.mappers
            if mapper.local_table.name not in UNAUDITED_TABLES
        ),
        key=lambda mapper: mapper.local_table.name,
    )
    for mapper in mapped:
        table = mapper.local_table.name
        for obj in session.execute(select(mapper.class_)).scalars():
            checked += 1
            entity_id = _entity_id(mapper, obj)
            key = (table, entity_id)
            seen.add(key)
            entry = latest.get(key)
            if entry is None:
                problems.append(
                    AuditProblem(
                        0,
                        "unaudited_row",
                        f"{table} {entity_id}: the row has no audit entry (written outside the "
                        "services, or the newest audit rows were removed)",
                        table,
                        entity_id,
                    )
                )
                continue
            if entry.after_json is None:
                problems.append(
                    AuditProblem(
                        entry.seq,
                        "row_differs",
                        f"{table} {entity_id}: the row exists but audit row {entry.seq} "
                        f"({entry.action}) says it was removed",
                        table,
                        entity_id,
                    )
                )
                continue
            current = json.loads(canonical_json(snapshot(obj)))
            differences = _differences(current, json.loads(entry.after_json))
            if differences:
                named = "; ".join(differences[:MAX_COLUMNS_NAMED])
                more = len(differences) - MAX_COLUMNS_NAMED
                problems.append(
                    AuditProblem(
                        entry.seq,
                        "row_differs",
                        f"{table} {entity_id} differs from its latest audit row {entry.seq} "
                        f"({entry.action}): {named}" + (f" (+{more} more)" if more > 0 else ""),
                        table,
                        entity_id,
                    )
                )
        session.expunge_all()  # keep memory flat on large trials
    tables = {mapper.local_table.name for mapper in mapped}
    for (table, entity_id), entry in sorted(latest.items(), key=lambda item: item[1].seq):
        if table in tables and entry.after_json is not None and (table, entity_id) not in seen:
            problems.append(
                AuditProblem(
                    entry.seq,
                    "row_missing",
                    f"{table} {entity_id}: audited at row {entry.seq} ({entry.action}) but no "
                    "longer in the table (deleted outside the services)",
                    table,
                    entity_id,
                )
            )
    return checked, problems


__all__ = ["LatestEntry", "reconcile"]
