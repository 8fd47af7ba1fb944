"""Stage 8 公示公布 as Prefect tasks: each calls one service of `services.publicity` and returns
its report. Objections are not tasks: they arrive through the CLI (`qcamp objections add|resolve`),
which calls the services itself."""

from __future__ import annotations

import datetime as dt

from prefect import task

from domain.publicity import OUTCOME_LABELS, ObjectionError
from services import publication, publicity
from services.context import CampaignContext, StageReport
from services.publicity import STAGE, NoticePeriod, NoticeReport
from storage.uow import UnitOfWork

__all__ = [
    "OUTCOME_LABELS",
    "STAGE",
    "NoticePeriod",
    "ObjectionError",
    "add_objection",
    "post_public_notice",
    "publish_results",
    "resolve_objection",
]

# Both steps are idempotent (the notice is posted once; a publication stopped after its first
# transaction is finished by the next run, and messages are queued once), so a database or
# mail outage is worth a retry.
RETRIES = {"retries": 2, "retry_delay_seconds": [2, 10]}


@task(name="public-notice", task_run_name="public-notice-{ctx.year}", **RETRIES)
def post_public_notice(ctx: CampaignContext) -> NoticeReport:
    """Once: the 公示 of the proposed excellent results; the report carries its period."""
    return publicity.post_public_notice(UnitOfWork(), ctx)


@task(name="publish-results", task_run_name="publish-{ctx.year}", **RETRIES)
def publish_results(ctx: CampaignContext, notice: NoticePeriod) -> StageReport:
    """At the end of the period, once no objection is open: the publication and certificates."""
    return publication.publish_results(UnitOfWork(), ctx, notice)


# The simulated public's doors, until the simulation acts through the CLI.


def add_objection(
    ctx: CampaignContext,
    application: int | str,
    raised_by: str,
    content: str,
    received_at: dt.datetime | None = None,
) -> int:
    """`services.publicity.add_objection` in its own unit of work."""
    return publicity.add_objection(UnitOfWork(), ctx, application, raised_by, content, received_at)


def resolve_objection(
    ctx: CampaignContext,
    objection_id: int,
    outcome: str,
    reason: str,
    resolved_at: dt.datetime | None = None,
) -> None:
    """`services.publicity.resolve_objection` in its own unit of work."""
    publicity.resolve_objection(UnitOfWork(), ctx, objection_id, outcome, reason, resolved_at)
