"""covering index for distinct deals per label over a time range (review competitor updates)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The deal id joins the (tenant, kind, time, label) index, which it replaces: counting the
    # deals behind each competitor in a period becomes an index-only range.
    op.create_index(
        "ix_insight_tenant_kind_occurred_label_deal",
        "insight",
        ["tenant_id", "kind", "occurred_at", "label", "deal_external_id"],
        unique=False,
    )
    op.drop_index("ix_insight_tenant_kind_occurred_label", table_name="insight")


def downgrade() -> None:
    op.create_index(
        "ix_insight_tenant_kind_occurred_label",
        "insight",
        ["tenant_id", "kind", "occurred_at", "label"],
        unique=False,
    )
    op.drop_index("ix_insight_tenant_kind_occurred_label_deal", table_name="insight")
