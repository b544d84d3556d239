"""clinical records

Screening with per-criterion verdicts, labs and imaging with units, lesions and their
measurements, RECIST/mRECIST response assessments, drug administrations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Tables created here, in dependency order (dropped in reverse; their indexes go with them).
TABLES = (
    "screenings",
    "screening_criteria",
    "labs",
    "imaging",
    "lesions",
    "assessment_visits",
    "lesion_measurements",
    "response_assessments",
    "drug_administrations",
)


def upgrade() -> None:
    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("protocol_id", sa.String(length=64), nullable=False),
        sa.Column("protocol_version", sa.String(length=32), nullable=True),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_screenings_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index(op.f("ix_screenings_patient_id"), "screenings", ["patient_id"])

    op.create_table(
        "screening_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["screenings.id"],
            name=op.f("fk_screening_criteria_screening_id_screenings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_criteria")),
        sa.UniqueConstraint(
            "screening_id",
            "criterion_id",
            name=op.f("uq_screening_criteria_screening_id_criterion_id"),
        ),
    )

    op.create_table(
        "labs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("sampled_on", sa.Date(), nullable=False),
        sa.Column("test", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("upper_limit_normal", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_labs_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labs")),
    )
    op.create_index(op.f("ix_labs_patient_id"), "labs", ["patient_id"])

    op.create_table(
        "imaging",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("vp_grade", sa.String(length=8), nullable=True),
        sa.Column("vv_grade", sa.String(length=8), nullable=True),
        sa.Column("future_liver_remnant_ml", sa.Float(), nullable=True),
        sa.Column("total_functional_liver_volume_ml", sa.Float(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_imaging_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging")),
    )
    op.create_index(op.f("ix_imaging_patient_id"), "imaging", ["patient_id"])

    op.create_table(
        "lesions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("organ", sa.String(length=32), nullable=False),
        sa.Column("nodal", sa.Boolean(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("diameter_mm", sa.Float(), nullable=True),
        sa.Column("viable_diameter_mm", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_lesions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesions")),
        sa.UniqueConstraint("patient_id", "code", name=op.f("uq_lesions_patient_id_code")),
    )
    op.create_index(op.f("ix_lesions_patient_id"), "lesions", ["patient_id"])

    op.create_table(
        "assessment_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("new_lesions", sa.String(length=16), nullable=False),
        sa.Column("new_lesions_mrecist", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_assessment_visits_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_visits")),
        sa.UniqueConstraint(
            "patient_id", "visit_date", name=op.f("uq_assessment_visits_patient_id_visit_date")
        ),
    )
    op.create_index(op.f("ix_assessment_visits_patient_id"), "assessment_visits", ["patient_id"])

    op.create_table(
        "lesion_measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("lesion_id", sa.Integer(), nullable=False),
        sa.Column("diameter_mm", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("viable_diameter_mm", sa.Float(), nullable=True),
        sa.Column("viable_status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesion_id"], ["lesions.id"], name=op.f("fk_lesion_measurements_lesion_id_lesions")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["assessment_visits.id"],
            name=op.f("fk_lesion_measurements_visit_id_assessment_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesion_measurements")),
        sa.UniqueConstraint(
            "visit_id", "lesion_id", name=op.f("uq_lesion_measurements_visit_id_lesion_id")
        ),
    )

    op.create_table(
        "response_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.String(length=16), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("overall_response", sa.String(length=16), nullable=True),
        sa.Column("best_overall_response", sa.String(length=16), nullable=True),
        sa.Column("depth_of_response_pct", sa.Float(), nullable=True),
        sa.Column("progression_date", sa.Date(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_response_assessments_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["assessment_visits.id"],
            name=op.f("fk_response_assessments_visit_id_assessment_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_assessments")),
        sa.UniqueConstraint(
            "visit_id", "criteria", name=op.f("uq_response_assessments_visit_id_criteria")
        ),
    )
    op.create_index(
        op.f("ix_response_assessments_patient_id"), "response_assessments", ["patient_id"]
    )

    op.create_table(
        "drug_administrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("dose_computed_mg", sa.Float(), nullable=True),
        sa.Column("dose_given_mg", sa.Float(), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("deviation", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_drug_administrations_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_administrations")),
    )
    op.create_index(
        op.f("ix_drug_administrations_patient_id"), "drug_administrations", ["patient_id"]
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
