"""Stage 2 立项审核 as Prefect tasks: each calls one service of `services.audit` with a fresh unit
of work and returns its report. The rules, queries and documents live behind the service."""

from __future__ import annotations

from prefect import task

from services import audit as service
from services.audit import (
    AuditDecisionForm,
    DecisionsReport,
)
from services.context import CampaignContext, StageReport
from storage.uow import UnitOfWork
from tasks.retry import OUTAGE_RETRIES

# Every service here is idempotent (a rerun completes what is missing and duplicates nothing),
# so a database outage is worth a retry.


@task(
    name="audit-workbook",
    task_run_name="audit-workbook-{ctx.year}",
    **OUTAGE_RETRIES,
)
def write_audit(ctx: CampaignContext) -> StageReport:
    """立项审核表 of every accepted application, once."""
    return service.write_audit(UnitOfWork(), ctx)


@task(
    name="audit-dashboard-decisions",
    task_run_name="audit-dashboard-decisions-{ctx.year}",
    **OUTAGE_RETRIES,
)
def record_dashboard_decisions(ctx: CampaignContext, form: AuditDecisionForm) -> StageReport:
    """The decisions the staff submitted on the dashboard form."""
    return service.record_dashboard_decisions(UnitOfWork(), ctx, form)


@task(
    name="audit-remind-staff",
    task_run_name="audit-remind-staff-{ctx.year}",
    **OUTAGE_RETRIES,
)
def remind_staff(ctx: CampaignContext, pending: int) -> StageReport:
    """The dashboard form timed out: the staff reminded (once a day)."""
    return service.remind_staff(UnitOfWork(), ctx, pending)


@task(
    name="apply-decisions",
    task_run_name="apply-decisions-{ctx.year}",
    **OUTAGE_RETRIES,
)
def apply_decisions(ctx: CampaignContext) -> DecisionsReport:
    """When every accepted application is decided: approve / reject them, number the plan."""
    return service.apply_decisions(UnitOfWork(), ctx)


@task(
    name="publish-plan",
    task_run_name="publish-plan-{ctx.year}",
    **OUTAGE_RETRIES,
)
def publish_plan(ctx: CampaignContext) -> StageReport:
    """项目计划 (xlsx + docx notice), approved → in progress, every unit told; once."""
    return service.publish_plan(UnitOfWork(), ctx)


# ---------------------------------------------------------------------------------------------
