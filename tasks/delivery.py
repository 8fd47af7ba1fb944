"""Delivery of queued messages: one task a campaign run, never one per message."""

from __future__ import annotations

from collections.abc import Mapping

from prefect import task

from notifications.service import DeliveryReport
from services import delivery as service
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks import secrets  # noqa: F401 - installs the Prefect Secret loader for delivery


@task(name="deliver-messages", task_run_name="deliver-{ctx.year}", retries=2, retry_delay_seconds=5)
def deliver_messages(ctx: CampaignContext) -> DeliveryReport:
    return service.deliver_messages(ctx)


def queue_staff_digest(ctx: CampaignContext, outcomes: Mapping[str, StageReport]) -> bool:
    """每日工作摘要, once a day. One queued message, so not a task of its own:
    `deliver-messages` right after it sends it."""
    return service.queue_staff_digest(UnitOfWork(), ctx, outcomes)
