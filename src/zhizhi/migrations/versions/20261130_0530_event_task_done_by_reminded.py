"""event: who completed a pre-plan task (done_by) and when the sweep noted it overdue (reminded_at)

Revision ID: 3f7d2a91c6e4
Revises: b2a63320b450
Create Date: 2026-11-30 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op

import zhizhi.core.db  # noqa: F401

revision: str = "3f7d2a91c6e4"
down_revision: str | None = "b2a63320b450"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_by", sa.String(length=160), nullable=True))
        batch_op.add_column(
            sa.Column("reminded_at", zhizhi.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("event_task", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("done_by")
