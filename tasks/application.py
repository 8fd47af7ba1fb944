"""Stage 1 项目申报 as Prefect tasks: each calls one service of `services.application` in its own
unit of work and returns what it did. All of them are idempotent (steps are recorded once,
messages queued once, a batch taken once), so a database outage is retried."""

from __future__ import annotations

from prefect import task
from prefect.states import State

from services import application
from services.application import UnitBatches
from services.context import CampaignContext, StageReport
from services.intake import IntakeResult
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES


def not_bad_input(task: object, task_run: object, state: State) -> bool:
    """Retry an outage, not a batch that cannot be taken (`IntakeError` is a ValueError: the
    same files fail the same way again)."""
    try:
        state.result()
    except ValueError:
        return False
    except Exception:  # noqa: BLE001 - anything else may be an outage
        return True
    return True


@task(
    name="publish-call",
    task_run_name="call-{ctx.year}",
    **OUTAGE_RETRIES,
)
def publish_call(ctx: CampaignContext) -> StageReport:
    """征集通知: the blank forms, sent to every registered recommending unit, once."""
    return application.publish_call(UnitOfWork(), ctx)


@task(
    name="application-reminders",
    task_run_name="reminders-{ctx.year}",
    **OUTAGE_RETRIES,
)
def send_reminders(ctx: CampaignContext) -> StageReport:
    """申报截止前提醒 to the units that still owe a batch."""
    return application.send_reminders(UnitOfWork(), ctx)


@task(
    name="inbox-batches",
    task_run_name="inbox-{ctx.year}",
    **OUTAGE_RETRIES,
)
def find_inbox_batches(ctx: CampaignContext) -> dict[str, UnitBatches]:
    """The batches waiting in the inbox, by unit, in the order they arrived."""
    return application.pending_inbox_batches(UnitOfWork(), ctx)


@task(
    name="intake",
    task_run_name="intake-{unit_code}",
    **OUTAGE_RETRIES,
    retry_condition_fn=not_bad_input,
)
def intake_unit_batches(
    ctx: CampaignContext, unit_code: str, batches: UnitBatches
) -> list[IntakeResult]:
    """Every batch one recommending unit dropped since the last run, in the order received."""
    return application.take_unit_batches(UnitOfWork(), ctx, unit_code, batches)


@task(
    name="close-applications",
    task_run_name="close-applications-{ctx.year}",
    **OUTAGE_RETRIES,
)
def close_applications(ctx: CampaignContext) -> StageReport:
    """After the deadline: the merged 立项申报汇总表 of every accepted application, once."""
    return application.close_applications(UnitOfWork(), ctx)
