"""Stage 8 公示公布 as Prefect tasks: each calls one service of `services.publicity` and returns
its report. Objections are not tasks: they arrive through the CLI (`qcamp objections add|resolve`),
which calls the services itself."""

from __future__ import annotations

from prefect import task

from services import publication, publicity
from services.context import CampaignContext, StageReport
from services.publicity import NoticePeriod, NoticeReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

# Both steps are idempotent (the notice is posted once; a publication stopped after its first
# transaction is finished by the next run, and messages are queued once), so a database or
# mail outage is worth a retry.


@task(name="public-notice", task_run_name="public-notice-{ctx.year}", **OUTAGE_RETRIES)
def post_public_notice(ctx: CampaignContext) -> NoticeReport:
    """Once: the 公示 of the proposed excellent results; the report carries its period."""
    return publicity.post_public_notice(UnitOfWork(), ctx)


@task(name="publish-results", task_run_name="publish-{ctx.year}", **OUTAGE_RETRIES)
def publish_results(ctx: CampaignContext, notice: NoticePeriod) -> StageReport:
    """At the end of the period, once no objection is open: the publication and certificates."""
    return publication.publish_results(UnitOfWork(), ctx, notice)


# The simulated public's doors, until the simulation acts through the CLI.
