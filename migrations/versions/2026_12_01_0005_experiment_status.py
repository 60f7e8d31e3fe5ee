"""experiment status: why and when it was stopped or last edited

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # stopped_at exists since 0004; the reason and the edit time are new.
    with op.batch_alter_table("experiment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stop_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("experiment", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("stop_reason")
