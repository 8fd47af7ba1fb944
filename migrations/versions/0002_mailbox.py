"""mailbox: inbound mails taken exactly once; replies threaded to the mail they answer

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.orm

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.String(length=40), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("received_at", storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("handled_at", storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_inbound_mails_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint(
            "mailbox", "uidvalidity", "uid", name=op.f("uq_inbound_mails_mailbox_uidvalidity_uid")
        ),
    )
    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_mails_campaign_id"), ["campaign_id"])
        batch_op.create_index(batch_op.f("ix_inbound_mails_message_id"), ["message_id"])
        batch_op.create_index(batch_op.f("ix_inbound_mails_outcome"), ["outcome"])
    with op.batch_alter_table("notification_records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_reply_to", sa.String(length=300), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_records", schema=None) as batch_op:
        batch_op.drop_column("in_reply_to")
    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_mails_outcome"))
        batch_op.drop_index(batch_op.f("ix_inbound_mails_message_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_mails_campaign_id"))
    op.drop_table("inbound_mails")
