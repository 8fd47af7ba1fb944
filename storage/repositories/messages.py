"""消息: the delivery records (发送记录) as staff look them up: listed, one shown, failed ones found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select

from storage import orm
from storage.repositories.base import Repository


class MessagesRepository(Repository):
    """Queries over `notification_records` for staff (the delivery engine has its own)."""

    def records(
        self, campaign_id: int, *, status: str | None = None, event: str | None = None
    ) -> Sequence[orm.NotificationRecord]:
        """The campaign's messages in id order, optionally of one status and one event."""
        query = select(orm.NotificationRecord).where(
            orm.NotificationRecord.campaign_id == campaign_id
        )
        if status:
            query = query.where(orm.NotificationRecord.status == status)
        if event:
            query = query.where(orm.NotificationRecord.event == event)
        return self.session.scalars(query.order_by(orm.NotificationRecord.id)).all()

    def record(self, record_id: int) -> orm.NotificationRecord | None:
        """One message by its number."""
        return self.session.get(orm.NotificationRecord, record_id)

    def failed_ids(self, campaign_id: int) -> list[int]:
        """The numbers of the campaign's messages whose delivery failed for good."""
        return list(
            self.session.scalars(
                select(orm.NotificationRecord.id)
                .where(
                    orm.NotificationRecord.campaign_id == campaign_id,
                    orm.NotificationRecord.status == "failed",
                )
                .order_by(orm.NotificationRecord.id)
            )
        )

    def due(self, campaign_id: int, now: dt.datetime) -> Sequence[orm.NotificationRecord]:
        """The campaign's messages waiting to go out at `now` (pending and scheduled by then),
        in the order they will be sent."""
        return self.session.scalars(
            select(orm.NotificationRecord)
            .where(
                orm.NotificationRecord.campaign_id == campaign_id,
                orm.NotificationRecord.status == "pending",
                orm.NotificationRecord.scheduled_for <= now,
            )
            .order_by(orm.NotificationRecord.scheduled_for, orm.NotificationRecord.id)
        ).all()
