"""Delivery of queued messages: one task a campaign run, never one per message."""

from __future__ import annotations

from prefect import task

from notifications.service import DeliveryReport, deliver_due, staff_digest_context
from services.context import CampaignContext, StageReport
from services.messaging import send, staff_recipient
from storage.db import session_factory
from storage.uow import UnitOfWork


@task(name="deliver-messages", task_run_name="deliver-{ctx.year}", retries=2, retry_delay_seconds=5)
def deliver_messages(ctx: CampaignContext) -> DeliveryReport:
    return deliver_due(session_factory(), now=ctx.now, default_outbox=ctx.outbox)


def queue_staff_digest(ctx: CampaignContext, outcomes: dict[str, StageReport]) -> bool:
    """每日工作摘要: what each stage did and waits for, and every failed delivery; once a day.

    One queued message, so not a task of its own: `deliver-messages` right after it sends it."""
    counts: dict[str, int | str] = {}
    for outcome in outcomes.values():
        if outcome.done:
            counts[f"{outcome.label}·完成"] = "；".join(outcome.done)
        if outcome.waiting:
            counts[f"{outcome.label}·等待"] = "；".join(outcome.waiting)
    if not counts:
        counts["各阶段"] = "今日无到期事项"
    with UnitOfWork() as uow:
        context = staff_digest_context(uow.session, ctx.campaign_id, as_of=ctx.now, counts=counts)
        queued = send(
            uow,
            ctx,
            event="staff_digest",
            recipient=staff_recipient(ctx),
            period=ctx.local_date().isoformat(),
            context=context,
        )
        uow.commit()
    return queued
