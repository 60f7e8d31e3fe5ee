"""insights catalogue trackers emails

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:58:26.821429
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "competitor",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", JSON_TYPE, nullable=False),
        sa.Column("ambiguous", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_competitor_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitor")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_competitor_tenant_id_name")),
    )
    op.create_table(
        "tracker",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("phrases", JSON_TYPE, nullable=False),
        sa.Column("only_questions", sa.Boolean(), nullable=False),
        sa.Column("examples", JSON_TYPE, nullable=False),
        sa.Column("negatives", JSON_TYPE, nullable=False),
        sa.Column("trained", JSON_TYPE, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_tracker_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker")),
        sa.UniqueConstraint(
            "tenant_id", "label", "mode", name=op.f("uq_tracker_tenant_id_label_mode")
        ),
    )
    op.create_table(
        "insight",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("utterance", sa.Integer(), nullable=True),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("span_begin", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=True),
        sa.Column("end_s", sa.Float(), nullable=True),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("context", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("analyzer_version", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deal_external_id", sa.String(length=255), nullable=True),
        sa.Column("rep_external_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_insight_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_insight_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight")),
    )
    with op.batch_alter_table("insight", schema=None) as batch_op:
        batch_op.create_index("ix_insight_conversation", ["conversation_id"], unique=False)
        batch_op.create_index(
            "ix_insight_tenant_deal", ["tenant_id", "deal_external_id"], unique=False
        )
        batch_op.create_index(
            "ix_insight_tenant_kind_label_occurred",
            ["tenant_id", "kind", "label", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "org_mention",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_org_mention_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_org_mention_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_mention")),
        sa.UniqueConstraint(
            "conversation_id", "key", name=op.f("uq_org_mention_conversation_id_key")
        ),
    )
    with op.batch_alter_table("org_mention", schema=None) as batch_op:
        batch_op.create_index("ix_org_mention_tenant_key", ["tenant_id", "key"], unique=False)

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_key", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_conversation_tenant_thread", ["tenant_id", "thread_key"], unique=False
        )

    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_domains", JSON_TYPE, server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("settings", JSON_TYPE, server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.drop_column("settings")
        batch_op.drop_column("email_domains")

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_tenant_thread")
        batch_op.drop_column("thread_key")

    with op.batch_alter_table("org_mention", schema=None) as batch_op:
        batch_op.drop_index("ix_org_mention_tenant_key")

    op.drop_table("org_mention")
    with op.batch_alter_table("insight", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_tenant_kind_label_occurred")
        batch_op.drop_index("ix_insight_tenant_deal")
        batch_op.drop_index("ix_insight_conversation")

    op.drop_table("insight")
    op.drop_table("tracker")
    op.drop_table("competitor")
