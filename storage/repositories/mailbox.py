"""收件邮箱: the mails taken from the commission's mailbox, and who a sender is."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from storage import orm
from storage.repositories.base import Repository


class MailboxRepository(Repository):
    """Queries over `inbound_mails`, and the registered people a mail may come from."""

    def mail(self, mailbox: str, uidvalidity: str, uid: str) -> orm.InboundMail | None:
        """The record of one mail by its place in the mailbox."""
        return self.session.scalar(
            select(orm.InboundMail).where(
                orm.InboundMail.mailbox == mailbox,
                orm.InboundMail.uidvalidity == uidvalidity,
                orm.InboundMail.uid == uid,
            )
        )

    def taken_message(
        self, campaign_id: int, message_id: str, sender: str
    ) -> orm.InboundMail | None:
        """An earlier record of the same mail (same Message-ID and sender), delivered again."""
        return self.session.scalar(
            select(orm.InboundMail)
            .where(
                orm.InboundMail.campaign_id == campaign_id,
                orm.InboundMail.message_id == message_id,
                orm.InboundMail.sender == sender,
            )
            .order_by(orm.InboundMail.id)
            .limit(1)
        )

    def mails(self, campaign_id: int) -> Sequence[orm.InboundMail]:
        return self.session.scalars(
            select(orm.InboundMail)
            .where(orm.InboundMail.campaign_id == campaign_id)
            .order_by(orm.InboundMail.id)
        ).all()

    def unit_by_email(self, address: str) -> orm.RecommendingUnit | None:
        return self.session.scalar(
            select(orm.RecommendingUnit)
            .where(func.lower(orm.RecommendingUnit.email) == address.lower())
            .order_by(orm.RecommendingUnit.id)
            .limit(1)
        )

    def expert_by_email(self, address: str) -> orm.Expert | None:
        return self.session.scalar(
            select(orm.Expert)
            .where(func.lower(orm.Expert.email) == address.lower())
            .order_by(orm.Expert.id)
            .limit(1)
        )

    def person_by_email(self, campaign_id: int, address: str) -> orm.ProjectPerson | None:
        """A project contact (项目人员) of one of the campaign's current applications."""
        return self.session.scalar(
            select(orm.ProjectPerson)
            .join(orm.Application, orm.Application.id == orm.ProjectPerson.application_id)
            .where(
                orm.Application.campaign_id == campaign_id,
                orm.Application.is_current.is_(True),
                func.lower(orm.ProjectPerson.email) == address.lower(),
            )
            .order_by(orm.ProjectPerson.id)
            .limit(1)
        )
