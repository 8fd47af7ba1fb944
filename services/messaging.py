"""How services address people (消息): recipients from stored records, and messages queued in
the caller's unit of work, so that a message commits with the change that caused it.

A message's rule id comes from its template (`notifications.templates.rule_id`), here and nowhere
else: callers name the event and, where one template serves several rules' moments, a detail
such as ``T-7`` or the check-in period.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from notifications.recipients import Recipient
from notifications.service import queue_message
from notifications.templates import config_facts, rule_id
from services.context import CampaignContext
from storage.uow import UnitOfWork

# While a mail is being taken: (its sender's address, lower case; its Message-ID). A message
# queued to that address answers the mail: threaded as a reply and sent at once.
_ANSWERING: ContextVar[tuple[str, str] | None] = ContextVar("qcamp_answering", default=None)


@contextmanager
def answering(sender: str, message_id: str) -> Iterator[None]:
    """Within the block, every message queued to `sender` is a reply to the mail `message_id`
    (In-Reply-To/References, sent at the first delivery rather than the next send time)."""
    token = _ANSWERING.set((sender.strip().lower(), message_id))
    try:
        yield
    finally:
        _ANSWERING.reset(token)


def _reply_to(recipient: Recipient) -> str:
    answering_now = _ANSWERING.get()
    if answering_now is None or not recipient.email:
        return ""
    sender, message_id = answering_now
    return message_id if recipient.email.strip().lower() == sender else ""


def staff_recipient(ctx: CampaignContext) -> Recipient:
    """The commission's campaign staff (质量发展处), as the year's config names them."""
    return Recipient.staff(
        name=f"{ctx.config.issuer}{ctx.config.department}", email=ctx.config.email
    )


def campaign_facts(ctx: CampaignContext) -> dict[str, Any]:
    """The facts every template may use: the campaign's config and the clock."""
    return {**config_facts(ctx.config), "as_of": ctx.now}


def send(
    uow: UnitOfWork,
    ctx: CampaignContext,
    *,
    event: str,
    recipient: Recipient,
    period: str = "",
    rule_detail: str = "",
    context: dict[str, Any] | None = None,
    attachments: list[Path] | None = None,
) -> bool:
    """Queue one message; False when the same (event, recipient, period) was already queued.

    The record's rule is the template's (`rule:<name>`), with `rule_detail` appended when given
    (``rule:application_reminder:T-7``)."""
    record_id = queue_message(
        uow.session,
        campaign_id=ctx.campaign_id,
        event=event,
        rule=rule_id(event, rule_detail),
        recipient=recipient,
        period=period,
        context={**campaign_facts(ctx), **(context or {})},
        attachments=attachments or [],
        now=ctx.now,
        in_reply_to=_reply_to(recipient),
    )
    return record_id is not None
