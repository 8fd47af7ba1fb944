"""How services address people (消息): recipients from stored records, and messages queued in
the caller's unit of work, so that a message commits with the change that caused it.

A message's rule id comes from its template (`notifications.templates.rule_id`), here and nowhere
else: callers name the event and, where one template serves several rules' moments, a detail
such as ``T-7`` or the check-in period.

Every message reaches a person or says that it cannot: a recipient with an address is written
through the campaign's one mail setting (`mail_url`: ``[messages] mail_url`` or QCAMP_MAIL_URL;
without it, the outbox folder); one with no address and nobody to hand it on is recorded as
无法送达 (``undeliverable``) and never sent. Mass mail (`MASS_MAIL_EVENTS`) is held until staff
release it when ``[messages] hold_mass_mail`` is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from domain.mail import mail_url_problem
from notifications.recipients import Recipient, mail_channel
from notifications.service import HELD, PENDING, UNDELIVERABLE, queue_message
from notifications.templates import config_facts, rule_id
from services.context import CampaignContext
from storage.settings import get_settings
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


# 征集通知, 公示通知, 公布 and the certificates that go with it: previewed and held
MASS_MAIL_EVENTS = ("call", "public_notice", "publication", "certificate")
NO_ROUTE = "无法送达：收件人未登记邮箱，也没有可代为转交的项目负责人或单位联系人"


def staff_recipient(ctx: CampaignContext) -> Recipient:
    """The commission's campaign staff (质量发展处), as the year's config names them."""
    return Recipient.staff(
        name=f"{ctx.config.issuer}{ctx.config.department}", email=ctx.config.email
    )


def staff_recipients(ctx: CampaignContext) -> list[Recipient]:
    """工作人员名单 (``[[messages.staff]]``), each at their own mailbox; without a list, the
    commission's mailbox."""
    members = ctx.config.messages.staff
    if not members:
        return [staff_recipient(ctx)]
    return [
        Recipient(key=f"staff:{m.email}", name=m.name, kind="staff", email=m.email) for m in members
    ]


def mail_url(ctx: CampaignContext) -> str:
    """The campaign's mail setting: QCAMP_MAIL_URL, else ``[messages] mail_url`` ("" = outbox)."""
    configured = get_settings().mail_url
    if configured is None:
        return ctx.config.messages.mail_url
    problem = mail_url_problem(configured) if configured else None
    if problem:
        raise ValueError(f"环境变量 QCAMP_MAIL_URL 有误：{problem}")
    return configured


def holds_mass_mail(ctx: CampaignContext) -> bool:
    """Whether mass mail waits for staff: QCAMP_HOLD_MASS_MAIL, else the config (default on)."""
    configured = get_settings().hold_mass_mail
    return configured if configured is not None else ctx.config.messages.hold_mass_mail


def routed(recipient: Recipient, server: str) -> Recipient:
    """`recipient` with the mail setting as its channel when it has an address and no mail
    channel of its own."""
    has_mail = any(c.lower().startswith(("mailto", "mailtos")) for c in recipient.channels)
    if not server or not recipient.email or has_mail:
        return recipient
    return recipient.model_copy(
        update={"channels": [*recipient.channels, mail_channel(server, recipient.email)]}
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
    """Queue one message; False when the same (event, recipient, period) was already queued, or
    when it cannot be delivered (recorded as 无法送达, never counted as sent).

    The record's rule is the template's (`rule:<name>`), with `rule_detail` appended when given
    (``rule:application_reminder:T-7``). A recipient nobody can reach gets an ``undeliverable``
    record; mass mail is ``held`` while the campaign holds it."""
    status, note = PENDING, ""
    if not recipient.reachable:
        status, note = UNDELIVERABLE, NO_ROUTE
    elif event in MASS_MAIL_EVENTS and holds_mass_mail(ctx):
        status, note = HELD, "群发通知，待工作人员预览后放行（qcamp messages release）"
    record_id = queue_message(
        uow.session,
        campaign_id=ctx.campaign_id,
        event=event,
        rule=rule_id(event, rule_detail),
        recipient=routed(recipient, mail_url(ctx)),
        period=period,
        context={**campaign_facts(ctx), **(context or {})},
        attachments=attachments or [],
        now=ctx.now,
        in_reply_to=_reply_to(recipient),
        status=status,
        note=note,
    )
    return record_id is not None and status != UNDELIVERABLE
