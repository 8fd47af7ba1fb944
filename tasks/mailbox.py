"""Polling the commission's mailbox (收件邮箱) as one Prefect task."""

from __future__ import annotations

from prefect import task

from notifications.inbound import open_source
from services import mailbox as service
from services.context import CampaignContext
from storage.uow import UnitOfWork
from tasks import secrets  # noqa: F401 - installs the Prefect Secret loader ({secret:…} in the URL)


@task(name="take-mail", task_run_name="take-mail-{ctx.year}")
def take_mail(ctx: CampaignContext, mailbox_url: str) -> service.PollReport:
    """Every mail arrived by the clock, each taken exactly once (the service's own boundaries)."""
    source = open_source(mailbox_url)
    try:
        return service.poll_mailbox(UnitOfWork(), ctx, source)
    finally:
        source.close()
