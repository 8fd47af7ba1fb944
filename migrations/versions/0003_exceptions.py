"""deadline exceptions (截止后例外), the exception a late batch or result was taken under, and
the operations log (经办记录)

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.orm

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deadline_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("recommending_unit_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("until", storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("granted_at", storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_by", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", storage.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_deadline_exceptions_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["recommending_unit_id"],
            ["recommending_units.id"],
            name=op.f("fk_deadline_exceptions_recommending_unit_id_recommending_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_exceptions")),
    )
    op.create_index(
        op.f("ix_deadline_exceptions_campaign_id"),
        "deadline_exceptions",
        ["campaign_id"],
        unique=False,
    )
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_operator_actions_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
    )
    op.create_index(
        op.f("ix_operator_actions_campaign_id"), "operator_actions", ["campaign_id"], unique=False
    )
    op.add_column("submission_batches", sa.Column("exception_id", sa.Integer(), nullable=True))
    op.add_column("result_submissions", sa.Column("exception_id", sa.Integer(), nullable=True))
    for column in ("recorded_by", "resolved_by"):
        op.add_column(
            "objections",
            sa.Column(column, sa.String(length=100), nullable=False, server_default=""),
        )


def downgrade() -> None:
    with op.batch_alter_table("objections") as batch:
        batch.drop_column("resolved_by")
        batch.drop_column("recorded_by")
    with op.batch_alter_table("result_submissions") as batch:
        batch.drop_column("exception_id")
    with op.batch_alter_table("submission_batches") as batch:
        batch.drop_column("exception_id")
    op.drop_index(op.f("ix_operator_actions_campaign_id"), table_name="operator_actions")
    op.drop_table("operator_actions")
    op.drop_index(op.f("ix_deadline_exceptions_campaign_id"), table_name="deadline_exceptions")
    op.drop_table("deadline_exceptions")
