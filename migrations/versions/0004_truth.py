"""message context: the facts a queued message is rendered from, kept for delivery day

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_records") as batch:
        batch.add_column(sa.Column("context", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("notification_records") as batch:
        batch.alter_column("context", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("notification_records") as batch:
        batch.drop_column("context")
