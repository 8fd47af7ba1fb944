"""公文 numbers: the 发文字号 each of the campaign's notices was given."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import orm
from storage.repositories.base import Repository


class NoticesRepository(Repository):
    """The campaign's 发文字号, one per kind of notice."""

    def number(self, campaign_id: int, kind: str) -> orm.NoticeNumber | None:
        """The number the notice of this kind was given, if any."""
        return self.session.scalar(
            select(orm.NoticeNumber).where(
                orm.NoticeNumber.campaign_id == campaign_id, orm.NoticeNumber.kind == kind
            )
        )

    def last_seq(self, campaign_id: int) -> int | None:
        """The highest sequence number given in the campaign so far."""
        return self.session.scalar(
            select(func.max(orm.NoticeNumber.seq)).where(
                orm.NoticeNumber.campaign_id == campaign_id
            )
        )

    def assign(self, campaign_id: int, kind: str, seq: int, number: str) -> orm.NoticeNumber:
        record = orm.NoticeNumber(campaign_id=campaign_id, kind=kind, seq=seq, number=number)
        self.session.add(record)
        self.session.flush()
        return record
