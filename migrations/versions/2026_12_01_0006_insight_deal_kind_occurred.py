"""indexes for per-deal trend windows (insight) and partial-day denominators (conversation)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Covering (label and conversation last): a stage trend is an index-only range per deal.
    op.create_index(
        "ix_insight_tenant_deal_kind_occurred",
        "insight",
        ["tenant_id", "deal_external_id", "kind", "occurred_at", "label", "conversation_id"],
        unique=False,
    )
    # A trend window off midnight counts its edge days' conversations by time range alone.
    op.create_index(
        "ix_conversation_tenant_occurred",
        "conversation",
        ["tenant_id", "occurred_at", "analyzed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_tenant_occurred", table_name="conversation")
    op.drop_index("ix_insight_tenant_deal_kind_occurred", table_name="insight")
