"""data management

Corrections with reasons, edit-check findings, data queries and their history, source-data
verification, locks (record, patient, database), electronic signatures, stratification
errors.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Tables created here, in dependency order (dropped in reverse; their indexes go with them).
TABLES = (
    "data_queries",
    "corrections",
    "query_events",
    "check_findings",
    "verifications",
    "record_locks",
    "signatures",
    "stratification_errors",
)


def upgrade() -> None:
    op.create_table(
        "data_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_data_queries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_data_queries_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_queries")),
    )
    op.create_index(
        op.f("ix_data_queries_patient_id"), "data_queries", ["patient_id"], unique=False
    )
    op.create_index(op.f("ix_data_queries_site_id"), "data_queries", ["site_id"], unique=False)
    op.create_index(op.f("ix_data_queries_state"), "data_queries", ["state"], unique=False)
    op.create_table(
        "record_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=64), nullable=True),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unlocked_by", sa.String(length=64), nullable=True),
        sa.Column("unlocked_at", sa.DateTime(), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_record_locks_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_locks")),
    )
    op.create_index(
        op.f("ix_record_locks_patient_id"), "record_locks", ["patient_id"], unique=False
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("milestone", sa.String(length=32), nullable=True),
        sa.Column("meaning", sa.String(length=16), nullable=False),
        sa.Column("signer", sa.String(length=64), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_signatures_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    op.create_index(op.f("ix_signatures_patient_id"), "signatures", ["patient_id"], unique=False)
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("verified_by", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_verifications_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    op.create_index(
        op.f("ix_verifications_patient_id"), "verifications", ["patient_id"], unique=False
    )
    op.create_table(
        "check_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("query_id", sa.Integer(), nullable=True),
        sa.Column("found_by", sa.String(length=64), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_check_findings_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["data_queries.id"], name=op.f("fk_check_findings_query_id_data_queries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_findings")),
    )
    op.create_index(
        op.f("ix_check_findings_patient_id"), "check_findings", ["patient_id"], unique=False
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=False),
        sa.Column("old_json", sa.Text(), nullable=True),
        sa.Column("new_json", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by", sa.String(length=64), nullable=False),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.Column("rederived_json", sa.Text(), nullable=True),
        sa.Column("query_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_corrections_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["data_queries.id"], name=op.f("fk_corrections_query_id_data_queries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_patient_id"), "corrections", ["patient_id"], unique=False)
    op.create_table(
        "query_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("correction_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["correction_id"],
            ["corrections.id"],
            name=op.f("fk_query_events_correction_id_corrections"),
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["data_queries.id"], name=op.f("fk_query_events_query_id_data_queries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_events")),
    )
    op.create_index(op.f("ix_query_events_query_id"), "query_events", ["query_id"], unique=False)
    op.create_table(
        "stratification_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("randomisation_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=64), nullable=False),
        sa.Column("level_as_randomised", sa.String(length=64), nullable=False),
        sa.Column("level_corrected", sa.String(length=64), nullable=False),
        sa.Column("correction_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["correction_id"],
            ["corrections.id"],
            name=op.f("fk_stratification_errors_correction_id_corrections"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_stratification_errors_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["randomisation_id"],
            ["randomisations.id"],
            name=op.f("fk_stratification_errors_randomisation_id_randomisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stratification_errors")),
    )
    op.create_index(
        op.f("ix_stratification_errors_patient_id"),
        "stratification_errors",
        ["patient_id"],
        unique=False,
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
