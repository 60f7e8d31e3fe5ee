"""deals, stage history, users and web sessions; team and occurred_at for trends

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:21:59.413563
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_app_user_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("email", name=op.f("uq_app_user_email")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "deal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("stage", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("owner_external_id", sa.String(length=255), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=True),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("crm_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("playbook_experiment", sa.String(length=255), nullable=True),
        sa.Column("playbook_variant", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_deal_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal")),
        sa.UniqueConstraint("tenant_id", "external_id", name=op.f("uq_deal_tenant_id_external_id")),
    )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deal_tenant_close_date", ["tenant_id", "close_date"], unique=False
        )
        batch_op.create_index("ix_deal_tenant_closed", ["tenant_id", "closed_at"], unique=False)
        batch_op.create_index("ix_deal_tenant_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_deal_tenant_owner", ["tenant_id", "owner_external_id"], unique=False
        )
        batch_op.create_index(
            "ix_deal_tenant_status_stage", ["tenant_id", "status", "stage"], unique=False
        )
        batch_op.create_index("ix_deal_tenant_team", ["tenant_id", "team"], unique=False)

    op.create_table(
        "deal_stage_change",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=200), nullable=True),
        sa.Column("to_stage", sa.String(length=200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deal.id"],
            name=op.f("fk_deal_stage_change_deal_id_deal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_deal_stage_change_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_change")),
    )
    with op.batch_alter_table("deal_stage_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deal_stage_change_deal_changed", ["deal_id", "changed_at"], unique=False
        )
        batch_op.create_index(
            "ix_deal_stage_change_tenant_changed", ["tenant_id", "changed_at"], unique=False
        )

    op.create_table(
        "trend_day",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("context", sa.String(length=32), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_trend_day_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "kind", "day", "label", "context", "team", name=op.f("pk_trend_day")
        ),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_web_session_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_web_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_conversation_tenant_deal_occurred",
            ["tenant_id", "deal_external_id", "occurred_at", "kind", "direction", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conversation_tenant_rep_occurred",
            ["tenant_id", "rep_external_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conversation_tenant_status_occurred",
            ["tenant_id", "status", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conversation_tenant_team_occurred",
            ["tenant_id", "team", "occurred_at"],
            unique=False,
        )

    # Existing rows: the same rule the ingestion code applies to new ones.
    op.execute("UPDATE conversation SET occurred_at = COALESCE(started_at, created_at)")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.alter_column(
            "occurred_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )

    with op.batch_alter_table("insight", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_insight_tenant_deal_kind_label",
            ["tenant_id", "deal_external_id", "kind", "label", "occurred_at", "speaker"],
            unique=False,
        )
        batch_op.create_index(
            "ix_insight_tenant_kind_occurred_label",
            ["tenant_id", "kind", "occurred_at", "label"],
            unique=False,
        )
        batch_op.create_index(
            "ix_insight_tenant_kind_rep_occurred",
            ["tenant_id", "kind", "rep_external_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_insight_tenant_kind_team_occurred",
            ["tenant_id", "kind", "team", "occurred_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("insight", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_tenant_kind_team_occurred")
        batch_op.drop_index("ix_insight_tenant_deal_kind_label")
        batch_op.drop_index("ix_insight_tenant_kind_rep_occurred")
        batch_op.drop_index("ix_insight_tenant_kind_occurred_label")
        batch_op.drop_column("team")

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_tenant_team_occurred")
        batch_op.drop_index("ix_conversation_tenant_status_occurred")
        batch_op.drop_index("ix_conversation_tenant_rep_occurred")
        batch_op.drop_index("ix_conversation_tenant_deal_occurred")
        batch_op.drop_column("occurred_at")
        batch_op.drop_column("team")

    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_web_session_tenant_id"))

    op.drop_table("web_session")
    op.drop_table("trend_day")
    with op.batch_alter_table("deal_stage_change", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_stage_change_tenant_changed")
        batch_op.drop_index("ix_deal_stage_change_deal_changed")

    op.drop_table("deal_stage_change")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_tenant_team")
        batch_op.drop_index("ix_deal_tenant_status_stage")
        batch_op.drop_index("ix_deal_tenant_owner")
        batch_op.drop_index("ix_deal_tenant_created")
        batch_op.drop_index("ix_deal_tenant_closed")
        batch_op.drop_index("ix_deal_tenant_close_date")

    op.drop_table("deal")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_tenant_id"))

    op.drop_table("app_user")
