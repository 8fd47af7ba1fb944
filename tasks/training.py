"""Stage 3 宣贯培训 as Prefect tasks: each calls one service of `services.training` with a fresh
unit of work and returns its report. The rules, queries and documents live behind the service."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from services import training as service
from services.context import CampaignContext, StageReport
from services.training import SeatingReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

# Every service here is idempotent (one transaction each; a rerun completes what is missing and
# duplicates nothing), so a database outage is worth a retry.


@task(
    name="training-sessions",
    task_run_name="training-sessions-{ctx.year}",
    **OUTAGE_RETRIES,
)
def store_sessions(ctx: CampaignContext) -> StageReport:
    """The configured 培训场次 into the database, once each."""
    return service.store_sessions(UnitOfWork(), ctx)


@task(
    name="training-absentees",
    task_run_name="training-absentees-{ctx.year}",
    **OUTAGE_RETRIES,
)
def reinvite_absentees(ctx: CampaignContext) -> SeatingReport:
    """After a 培训场次's attendance is in: its absentees invited to a later one, once."""
    return service.reinvite_absentees(UnitOfWork(), ctx)


@task(
    name="training-assign",
    task_run_name="training-assign-{ctx.year}",
    **OUTAGE_RETRIES,
)
def assign_and_invite(ctx: CampaignContext) -> SeatingReport:
    """Seats and invitations for people of in-progress projects who have none yet."""
    return service.assign_and_invite(UnitOfWork(), ctx)


# Called twice in a run when both passes seat someone: never served from a cache.
@task(
    name="training-rosters",
    task_run_name="training-rosters-{ctx.year}",
    cache_policy=NO_CACHE,
    **OUTAGE_RETRIES,
)
def write_rosters(ctx: CampaignContext) -> StageReport:
    """培训名单 and the sign-in sheets of 培训场次 still to come."""
    return service.write_rosters(UnitOfWork(), ctx)


@task(
    name="training-status",
    task_run_name="training-status-{ctx.year}",
    **OUTAGE_RETRIES,
)
def training_status(ctx: CampaignContext) -> StageReport:
    """Counts for the dashboard; complete when the last 培训场次 is past and attendance is in."""
    return service.training_status(UnitOfWork(), ctx)


# ---------------------------------------------------------------------------------------------
