"""notice numbers (发文字号): one per kind of notice and campaign, so reruns reuse it

Revision ID: 0008
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.orm

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("assigned_at", storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_notice_numbers_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_numbers")),
        sa.UniqueConstraint(
            "campaign_id", "kind", name=op.f("uq_notice_numbers_campaign_id_kind")
        ),
        sa.UniqueConstraint("campaign_id", "seq", name=op.f("uq_notice_numbers_campaign_id_seq")),
    )
    op.create_index(
        op.f("ix_notice_numbers_campaign_id"), "notice_numbers", ["campaign_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notice_numbers_campaign_id"), table_name="notice_numbers")
    op.drop_table("notice_numbers")
