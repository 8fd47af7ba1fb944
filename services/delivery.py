"""Delivery of queued messages (the engine is `notifications.service`'s) and the staff's daily
digest (每日工作摘要)."""

from __future__ import annotations

from collections.abc import Mapping

from domain.calendar import CampaignConfig
from notifications.channels import Sender
from notifications.service import DeliveryReport, deliver_due, staff_digest_context
from services.context import CampaignContext, StageReport
from services.delivery_review import review_due
from services.messaging import send, staff_recipients
from storage.db import session_factory
from storage.uow import UnitOfWork

NOTHING_DUE = {"各阶段": "今日无到期事项"}


def deliver_messages(ctx: CampaignContext) -> DeliveryReport:
    """Send every queued message due at the campaign's clock. The engine opens its own sessions
    (it claims records in batches, each in a transaction of its own), so it takes the session
    factory rather than a unit of work. Every mail is from the commission's mailbox in the
    year's config, and replies go to its contact mailbox.

    First every due message is reviewed for the delivery day (`services.delivery_review`):
    stale ones are superseded, the rest rendered again with the day's facts."""
    review = review_due(UnitOfWork(), ctx)
    report = deliver_due(
        session_factory(),
        now=ctx.now,
        default_outbox=ctx.outbox,
        sender=campaign_sender(ctx.config),
    )
    report.superseded = review.superseded
    return report


def campaign_sender(config: CampaignConfig) -> Sender | None:
    """From: the issuer and department at `sender_email` (else the contact `email`); Reply-To:
    the contact `email`. None when the config names no mailbox at all."""
    if not config.mail_from:
        return None
    return Sender(name=config.mail_name, address=config.mail_from, reply_to=config.email)


def digest_counts(outcomes: Mapping[str, StageReport]) -> dict[str, int | str]:
    """What each stage did, waits for and could not do, one line each."""
    counts: dict[str, int | str] = {}
    for outcome in outcomes.values():
        if outcome.done:
            counts[f"{outcome.label}·完成"] = "；".join(outcome.done)
        if outcome.waiting:
            counts[f"{outcome.label}·等待"] = "；".join(outcome.waiting)
        if outcome.failed:
            counts[f"{outcome.label}·未能完成"] = "；".join(outcome.failed)
    return counts or dict(NOTHING_DUE)


def queue_staff_digest(
    uow: UnitOfWork, ctx: CampaignContext, outcomes: Mapping[str, StageReport]
) -> bool:
    """每日工作摘要: what each stage did and waits for, and every failed delivery; once a day
    (False when today's is already queued)."""
    with uow:
        # The failed deliveries are the notification engine's records: it reads them itself,
        # in this unit of work, as `send` queues through it.
        context = staff_digest_context(
            uow.session, ctx.campaign_id, as_of=ctx.now, counts=digest_counts(outcomes)
        )
        queued = False
        for staff in staff_recipients(ctx):  # each member of the staff list (工作人员名单)
            queued |= send(
                uow,
                ctx,
                event="staff_digest",
                recipient=staff,
                period=ctx.local_date().isoformat(),
                context=context,
            )
        uow.commit()
    return queued
