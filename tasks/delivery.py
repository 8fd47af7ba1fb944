"""Delivery of queued messages: one task a campaign run, never one per message."""

from __future__ import annotations

from prefect import task

from notifications.service import DeliveryReport, deliver_due
from storage.db import session_factory
from tasks.context import CampaignContext


@task(name="deliver-messages", task_run_name="deliver-{ctx.year}", retries=2, retry_delay_seconds=5)
def deliver_messages(ctx: CampaignContext) -> DeliveryReport:
    return deliver_due(session_factory(), now=ctx.now, default_outbox=ctx.outbox)
