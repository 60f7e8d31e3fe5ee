"""experiments: variants and scripts, exposures, per-call script adherence

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 07:27:33.817638
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hypothesis", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("primary_metric", sa.String(length=64), nullable=False),
        sa.Column("secondary_metrics", JSON_TYPE, nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("planned_units_per_variant", sa.Integer(), nullable=False),
        sa.Column("minimum_effect", sa.Float(), nullable=True),
        sa.Column("stage_window_days", sa.Integer(), nullable=False),
        sa.Column("adherence_min_share", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_experiment_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_experiment_tenant_id_key")),
    )
    op.create_table(
        "conversation_adherence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("variant_key", sa.String(length=255), nullable=False),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("lines_said", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("said_mask", sa.String(length=64), nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("analyzer_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_conversation_adherence_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_conversation_adherence_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_conversation_adherence_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_adherence")),
        sa.UniqueConstraint(
            "conversation_id",
            "experiment_id",
            name=op.f("uq_conversation_adherence_conversation_id_experiment_id"),
        ),
    )
    with op.batch_alter_table("conversation_adherence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_adherence_experiment", ["experiment_id", "variant_key"], unique=False
        )

    op.create_table(
        "experiment_exposure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.String(length=255), nullable=False),
        sa.Column("variant_key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("exposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_experiment_exposure_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_exposure")),
        sa.UniqueConstraint(
            "experiment_id", "unit_id", name=op.f("uq_experiment_exposure_experiment_id_unit_id")
        ),
    )
    op.create_table(
        "experiment_variant",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_control", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("script", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_experiment_variant_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_variant")),
        sa.UniqueConstraint(
            "experiment_id", "key", name=op.f("uq_experiment_variant_experiment_id_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_variant")
    op.drop_table("experiment_exposure")
    with op.batch_alter_table("conversation_adherence", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_adherence_experiment")

    op.drop_table("conversation_adherence")
    op.drop_table("experiment")
