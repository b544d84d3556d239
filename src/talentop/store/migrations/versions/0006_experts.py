"""experts' questions

Structured resectability assessments (baseline class, criteria), local therapies (TACE and
the response of its targets), each MDT vote's structured criteria, and complication category
with the ISGLS liver-failure grade.

Revision ID: 0006
Revises: 0005 (re-pointed by the lead at merge)
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Tables created here, in dependency order (dropped in reverse; their indexes go with them).
TABLES = ("resectability_assessments", "local_therapies")
#: Nullable columns added to existing tables: (table, column, type).
COLUMNS = (
    ("mdt_votes", "criteria_json", sa.Text),
    ("complications", "category", lambda: sa.String(length=32)),
    ("complications", "isgls_grade", lambda: sa.String(length=1)),
)


def upgrade() -> None:
    op.create_table(
        "resectability_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.Column("resectability_class", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("criteria_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_resectability_assessments_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resectability_assessments")),
    )
    op.create_index(
        op.f("ix_resectability_assessments_patient_id"),
        "resectability_assessments",
        ["patient_id"],
    )
    op.create_table(
        "local_therapies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("therapy", sa.String(length=32), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("technique", sa.String(length=32), nullable=True),
        sa.Column("target_lesions_json", sa.Text(), nullable=False),
        sa.Column("response", sa.String(length=8), nullable=True),
        sa.Column("response_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_local_therapies_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_therapies")),
    )
    op.create_index(op.f("ix_local_therapies_patient_id"), "local_therapies", ["patient_id"])
    for table, column, kind in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, kind(), nullable=True))


def downgrade() -> None:
    for table, column, _ in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
    for table in reversed(TABLES):
        op.drop_table(table)
