"""trial conduct

MDT reviews and votes, the concealed randomisation (secret, stratum counters,
allocations), surgery and its complications and specimens, the arm-B reassessment, safety,
follow-up and endpoint events, protocol deviations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Tables created here, in dependency order (dropped in reverse; their indexes go with them).
TABLES = (
    "randomisation_secret",
    "stratum_counters",
    "randomisations",
    "mdt_reviews",
    "mdt_votes",
    "surgeries",
    "complications",
    "biospecimens",
    "resectability_flags",
    "surgery_switches",
    "adverse_events",
    "discontinuations",
    "deaths",
    "follow_up_contacts",
    "new_therapies",
    "protocol_deviations",
)


def upgrade() -> None:
    op.create_table(
        "randomisation_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomisation_secret")),
    )

    op.create_table(
        "stratum_counters",
        sa.Column("stratum_key", sa.String(length=200), nullable=False),
        sa.Column("next_slot", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stratum_key", name=op.f("pk_stratum_counters")),
    )

    op.create_table(
        "randomisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("stratum_key", sa.String(length=200), nullable=False),
        sa.Column("levels_json", sa.Text(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("randomised_on", sa.Date(), nullable=False),
        sa.Column("randomised_by", sa.String(length=64), nullable=False),
        sa.Column("randomised_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_randomisations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_randomisations_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomisations")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_randomisations_patient_id")),
        sa.UniqueConstraint("stratum_key", "slot", name=op.f("uq_randomisations_stratum_key_slot")),
    )

    op.create_table(
        "mdt_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("votes_resectable", sa.Integer(), nullable=False),
        sa.Column("votes_total", sa.Integer(), nullable=False),
        sa.Column("resectable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_mdt_reviews_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_reviews")),
    )
    op.create_index(op.f("ix_mdt_reviews_patient_id"), "mdt_reviews", ["patient_id"])

    op.create_table(
        "mdt_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("specialty", sa.String(length=64), nullable=False),
        sa.Column("resectable", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["mdt_reviews.id"], name=op.f("fk_mdt_votes_review_id_mdt_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_votes")),
        sa.UniqueConstraint("review_id", "member", name=op.f("uq_mdt_votes_review_id_member")),
    )

    op.create_table(
        "surgeries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("surgery_date", sa.Date(), nullable=False),
        sa.Column("procedure", sa.String(length=128), nullable=False),
        sa.Column("margin", sa.String(length=4), nullable=False),
        sa.Column("blood_loss_ml", sa.Float(), nullable=False),
        sa.Column("days_after_bevacizumab", sa.Integer(), nullable=True),
        sa.Column("after_switch", sa.Boolean(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_surgeries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surgeries")),
    )
    op.create_index(op.f("ix_surgeries_patient_id"), "surgeries", ["patient_id"])

    op.create_table(
        "complications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surgery_id", sa.Integer(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("clavien_dindo", sa.String(length=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["surgery_id"], ["surgeries.id"], name=op.f("fk_complications_surgery_id_surgeries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complications")),
    )
    op.create_index(op.f("ix_complications_surgery_id"), "complications", ["surgery_id"])

    op.create_table(
        "biospecimens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("surgery_id", sa.Integer(), nullable=True),
        sa.Column("specimen_type", sa.String(length=32), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("storage_code", sa.String(length=64), nullable=True),
        sa.Column("pathological_necrosis_pct", sa.Float(), nullable=True),
        sa.Column("pd_l1_cps", sa.Float(), nullable=True),
        sa.Column("biomarkers_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_biospecimens_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["surgery_id"], ["surgeries.id"], name=op.f("fk_biospecimens_surgery_id_surgeries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biospecimens")),
    )
    op.create_index(op.f("ix_biospecimens_patient_id"), "biospecimens", ["patient_id"])

    op.create_table(
        "resectability_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("flagged_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_resectability_flags_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resectability_flags")),
    )
    op.create_index(
        op.f("ix_resectability_flags_patient_id"), "resectability_flags", ["patient_id"]
    )

    op.create_table(
        "surgery_switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("switch_date", sa.Date(), nullable=False),
        sa.Column("mdt_review_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mdt_review_id"],
            ["mdt_reviews.id"],
            name=op.f("fk_surgery_switches_mdt_review_id_mdt_reviews"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_surgery_switches_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surgery_switches")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_surgery_switches_patient_id")),
    )

    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=128), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("attribution", sa.String(length=32), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    op.create_index(op.f("ix_adverse_events_patient_id"), "adverse_events", ["patient_id"])

    op.create_table(
        "discontinuations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("is_failure", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_discontinuations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discontinuations")),
    )
    op.create_index(op.f("ix_discontinuations_patient_id"), "discontinuations", ["patient_id"])

    op.create_table(
        "deaths",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_deaths_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deaths")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_deaths_patient_id")),
    )

    op.create_table(
        "follow_up_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("contact_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_follow_up_contacts_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_contacts")),
    )
    op.create_index(op.f("ix_follow_up_contacts_patient_id"), "follow_up_contacts", ["patient_id"])

    op.create_table(
        "new_therapies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_new_therapies_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_new_therapies")),
    )
    op.create_index(op.f("ix_new_therapies_patient_id"), "new_therapies", ["patient_id"])

    op.create_table(
        "protocol_deviations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("deviation_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_protocol_deviations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_deviations")),
    )
    op.create_index(
        op.f("ix_protocol_deviations_patient_id"), "protocol_deviations", ["patient_id"]
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
