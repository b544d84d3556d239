"""consent and safety

Informed consent (form version, scopes) and its withdrawal per scope, serious adverse event
reports on top of the AE records (criteria, clocks, causality per product, follow-ups),
concomitant medication and medical history; hand-entered deviations get their
classification, CAPA and who decided; specimens a destruction request.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Tables created here, in dependency order (dropped in reverse; their indexes go with them).
TABLES = (
    "consents",
    "consent_withdrawals",
    "sae_reports",
    "sae_causality",
    "sae_follow_ups",
    "concomitant_medications",
    "medical_history",
)


def deviation_columns() -> tuple[sa.Column, ...]:
    """Columns added to ``protocol_deviations`` (new objects each call)."""
    return (
        sa.Column("classification", sa.String(length=8), nullable=True),
        sa.Column("corrective_action", sa.Text(), nullable=True),
        sa.Column("preventive_action", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=16), server_default="service", nullable=False),
    )


def _patient_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["patient_id"], ["patients.id"], name=op.f(f"fk_{table}_patient_id_patients")
    )


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("protocol_deviations") as batch:
        for column in deviation_columns():
            batch.add_column(column)
    with op.batch_alter_table("biospecimens") as batch:
        batch.add_column(sa.Column("destruction_requested_on", sa.Date(), nullable=True))
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("consented_on", sa.Date(), nullable=False),
        sa.Column("form_version", sa.String(length=32), nullable=False),
        sa.Column("obtained_by", sa.String(length=200), nullable=False),
        sa.Column("scope_treatment", sa.Boolean(), nullable=False),
        sa.Column("scope_follow_up", sa.Boolean(), nullable=False),
        sa.Column("scope_data_use", sa.Boolean(), nullable=False),
        sa.Column("scope_biobank", sa.Boolean(), nullable=False),
        sa.Column("witness", sa.String(length=200), nullable=True),
        _patient_fk("consents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    _index("consents", "patient_id")
    op.create_table(
        "consent_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("implied_by", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _patient_fk("consent_withdrawals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_withdrawals")),
        sa.UniqueConstraint(
            "patient_id", "scope", name=op.f("uq_consent_withdrawals_patient_id_scope")
        ),
    )
    _index("consent_withdrawals", "patient_id")
    op.create_table(
        "sae_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("awareness_on", sa.Date(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("death", sa.Boolean(), nullable=False),
        sa.Column("life_threatening", sa.Boolean(), nullable=False),
        sa.Column("hospitalisation", sa.Boolean(), nullable=False),
        sa.Column("disability", sa.Boolean(), nullable=False),
        sa.Column("congenital_anomaly", sa.Boolean(), nullable=False),
        sa.Column("important_medical_event", sa.Boolean(), nullable=False),
        sa.Column("awareness_at", sa.DateTime(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("rsi_version", sa.String(length=64), nullable=False),
        sa.Column("susar", sa.Boolean(), nullable=False),
        sa.Column("expedited_due_on", sa.Date(), nullable=True),
        sa.Column("expedited_reported_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_sae_reports_adverse_event_id_adverse_events"),
        ),
        _patient_fk("sae_reports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sae_reports")),
        sa.UniqueConstraint("adverse_event_id", name=op.f("uq_sae_reports_adverse_event_id")),
    )
    _index("sae_reports", "patient_id")
    op.create_table(
        "sae_causality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sae_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("relatedness", sa.String(length=16), nullable=False),
        sa.Column("related", sa.Boolean(), nullable=False),
        sa.Column("expected", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sae_id"], ["sae_reports.id"], name=op.f("fk_sae_causality_sae_id_sae_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sae_causality")),
        sa.UniqueConstraint("sae_id", "product", name=op.f("uq_sae_causality_sae_id_product")),
    )
    _index("sae_causality", "sae_id")
    op.create_table(
        "sae_follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sae_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("info_received_at", sa.DateTime(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["sae_id"], ["sae_reports.id"], name=op.f("fk_sae_follow_ups_sae_id_sae_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sae_follow_ups")),
        sa.UniqueConstraint("sae_id", "sequence", name=op.f("uq_sae_follow_ups_sae_id_sequence")),
    )
    _index("sae_follow_ups", "sae_id")
    op.create_table(
        "concomitant_medications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.Column("ongoing", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("drug_class", sa.String(length=64), nullable=True),
        sa.Column("indication", sa.String(length=200), nullable=False),
        sa.Column("dose_value", sa.Float(), nullable=True),
        sa.Column("dose_unit", sa.String(length=32), nullable=True),
        sa.Column("frequency", sa.String(length=64), nullable=True),
        _patient_fk("concomitant_medications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concomitant_medications")),
    )
    _index("concomitant_medications", "patient_id")
    op.create_table(
        "medical_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("condition", sa.String(length=200), nullable=False),
        sa.Column("onset_year", sa.Integer(), nullable=True),
        sa.Column("ongoing", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _patient_fk("medical_history"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_history")),
    )
    _index("medical_history", "patient_id")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    with op.batch_alter_table("biospecimens") as batch:
        batch.drop_column("destruction_requested_on")
    with op.batch_alter_table("protocol_deviations") as batch:
        for column in deviation_columns():
            batch.drop_column(column.name)
