"""verifiable log

The audit trail becomes a verifiable log: entries get an ``id`` from the database's sequence
when written and a position (``seq``) and RFC 6962 leaf hash from the sequencer later; the
SHA-256 chain columns (``prev_hash``, ``hash``) go. The randomisation secret leaves the
database: each legacy secret is written to a 0600 key file in the key folder handed over by
``talentop db upgrade``, and ``randomisation_keys`` keeps only its identifier and a keyed
fingerprint. Stratum counters and allocations name their key; the data changes are audited.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Tables created here (dropped on downgrade).
TABLES = ("randomisation_keys",)
#: Tables of earlier revisions that this one drops (recreated on downgrade).
DROPPED = ("randomisation_secret",)

AUDIT_COLUMNS = ("at", "actor", "entity", "entity_id", "action", "before_json", "after_json")
GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _keys() -> Any:
    return context.config.attributes.get("keys")


def _audit_table(name: str = "audit_trail") -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("leaf_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("seq", name=op.f(f"uq_{name}_seq")),
    )


def _secret_table() -> sa.Table:
    return sa.Table(
        "randomisation_secret",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomisation_secret")),
    )


def _keys_table() -> sa.Table:
    return sa.Table(
        "randomisation_keys",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomisation_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_randomisation_keys_key_id")),
    )


def _image(row: Any) -> dict[str, Any]:
    """A row as ``talentop.store.audit.snapshot`` writes it (dates in ISO format)."""
    return {
        key: value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
        for key, value in row._mapping.items()
    }


def _audit_updates(conn: Any, table: str, key: str, new_columns: tuple[str, ...]) -> list[dict]:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    entries = []
    for row in conn.execute(sa.select(reflected).order_by(reflected.c[key])):
        after = _image(row)
        before = {k: v for k, v in after.items() if k not in new_columns}
        entries.append(
            {
                "at": _now(),
                "actor": "system",
                "entity": table,
                "entity_id": str(after[key]),
                "action": "update",
                "before_json": _canonical(before),
                "after_json": _canonical(after),
            }
        )
    return entries


def upgrade() -> None:
    conn = op.get_bind()
    secrets_table = _secret_table()
    legacy = conn.execute(sa.select(secrets_table).order_by(secrets_table.c.id)).all()
    keys = _keys()
    if legacy and keys is None:
        raise RuntimeError(
            "this database holds a randomisation secret: upgrade it with `talentop db upgrade`, "
            "which moves the secret to a key file, not with alembic directly"
        )
    registered = []
    for row in legacy:
        key_id, secret = keys.new_randomisation_key(bytes(row.secret))
        fingerprint = hmac.new(secret, b"talentop-key-fingerprint/v1", hashlib.sha256).hexdigest()
        registered.append(
            {
                "id": row.id,
                "key_id": key_id,
                "fingerprint": fingerprint,
                "created_at": row.created_at,
            }
        )

    keys_table = _keys_table()
    keys_table.create(conn)
    with op.batch_alter_table("stratum_counters") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("key_start_slot", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("randomisations") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))

    # The old audit rows keep their order: id = old seq; the sequencer gives them positions.
    op.execute(
        "CREATE TABLE audit_trail_0003 AS SELECT seq, "
        + ", ".join(AUDIT_COLUMNS)
        + " FROM audit_trail"
    )
    op.drop_table("audit_trail")
    audit = _audit_table()
    audit.create(conn)
    columns = ", ".join(AUDIT_COLUMNS)
    op.execute(
        f"INSERT INTO audit_trail (id, {columns}) SELECT seq, {columns} FROM audit_trail_0003"
    )
    op.drop_table("audit_trail_0003")
    if conn.dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_trail', 'id'), "
            "COALESCE(MAX(id), 0) + 1, false) FROM audit_trail"
        )

    entries = []
    if registered:
        op.bulk_insert(keys_table, registered)
        first = registered[0]["key_id"]
        conn.execute(sa.text("UPDATE stratum_counters SET key_id = :k"), {"k": first})
        conn.execute(sa.text("UPDATE randomisations SET key_id = :k"), {"k": first})
        for row in registered:
            after = {**row, "created_at": row["created_at"].isoformat()}
            entries.append(
                {
                    "at": _now(),
                    "actor": "system",
                    "entity": "randomisation_keys",
                    "entity_id": str(row["id"]),
                    "action": "create",
                    "before_json": None,
                    "after_json": _canonical(after),
                }
            )
        entries += _audit_updates(
            conn, "stratum_counters", "stratum_key", ("key_id", "key_start_slot")
        )
        entries += _audit_updates(conn, "randomisations", "id", ("key_id",))
    if entries:
        conn.execute(audit.insert(), entries)
    op.drop_table("randomisation_secret")


def _legacy_hash(seq: int, row: Any, prev_hash: str) -> str:
    """The SHA-256 chain hash of revision 0003 (``talentop.store.hashing.row_hash`` then)."""
    payload = _canonical(
        {
            "seq": seq,
            "at": row.at.isoformat(timespec="microseconds"),
            "actor": row.actor,
            "entity": row.entity,
            "entity_id": row.entity_id,
            "action": row.action,
            "before": row.before_json,
            "after": row.after_json,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def downgrade() -> None:
    conn = op.get_bind()
    secret_table = _secret_table()
    secret_table.create(conn)
    keys = _keys()
    restored = []
    keys_table = _keys_table()
    for row in conn.execute(sa.select(keys_table).order_by(keys_table.c.id)):
        secret = keys.load_randomisation_key(row.key_id) if keys is not None else None
        if secret is not None:
            restored.append({"id": row.id, "secret": secret, "created_at": row.created_at})
    if restored:
        op.bulk_insert(secret_table, restored)
    with op.batch_alter_table("randomisations") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("stratum_counters") as batch:
        batch.drop_column("key_start_slot")
        batch.drop_column("key_id")

    audit = _audit_table()
    rows = conn.execute(
        sa.select(*(audit.c[name] for name in AUDIT_COLUMNS)).order_by(
            audit.c.seq.is_(None), audit.c.seq, audit.c.id
        )
    ).all()
    op.drop_table("audit_trail")
    old = op.create_table(
        "audit_trail",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_trail")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_trail_hash")),
    )
    chained, prev = [], GENESIS_HASH
    for seq, row in enumerate(rows, start=1):
        digest = _legacy_hash(seq, row, prev)
        chained.append({"seq": seq, **row._asdict(), "prev_hash": prev, "hash": digest})
        prev = digest
    if chained:
        op.bulk_insert(old, chained)
    op.drop_table("randomisation_keys")
