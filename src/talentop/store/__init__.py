"""The trial database: the only package that imports SQLAlchemy.

- ``Store(url)``: engine + ``unit_of_work()`` (one transaction; SQLite ``BEGIN IMMEDIATE``).
- ``init_database(store)``, ``upgrade(store)``, ``current_revision(store)``: migrations;
  ``require_schema(store)`` before reading (``DatabaseUnavailable`` if never initialised).
- Any URL or connection problem raises ``talentop.errors.DatabaseUnavailable``.
- ``append_audit(session, ...)``, ``verify_audit(session, keys=...) -> AuditReport``: the
  audit log (``store.log``: sequencer, checkpoints, proofs; ``store.merkle``: RFC 6962).
- ``KeyRing``: the key and checkpoint folders outside the database (``Store(keys=...)``).
- ``talentop.store.models``: the tables.
"""

from talentop.store.audit import AuditProblem, AuditReport, append_audit, snapshot, verify_audit
from talentop.store.engine import DEFAULT_URL, Store, database_url
from talentop.store.keys import KeyRing
from talentop.store.migrate import (
    current_revision,
    database_is_empty,
    head_revision,
    init_database,
    require_schema,
    rotate_randomisation_key,
    schema_diff,
    upgrade,
)

__all__ = [
    "DEFAULT_URL",
    "AuditProblem",
    "AuditReport",
    "KeyRing",
    "Store",
    "append_audit",
    "current_revision",
    "database_is_empty",
    "database_url",
    "head_revision",
    "init_database",
    "require_schema",
    "rotate_randomisation_key",
    "schema_diff",
    "snapshot",
    "upgrade",
    "verify_audit",
]
