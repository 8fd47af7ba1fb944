"""Stage 1 项目申报: the call, reminders to units that still owe a batch, intake of the batches
that arrived, and the close of the window."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from prefect import task
from sqlalchemy import select

from documents.application_form import write_blank_form
from documents.reports import write_summary_workbook
from documents.summary_table import write_blank_summary
from domain.calendar import SHANGHAI
from domain.models import SummaryRow
from domain.reminders import reminder_due
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork
from tasks.intake import IntakeResult, intake_batch

STAGE = "application"
BATCH_MARKER = "batch.json"


def blank_forms(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_blank_form(folder / "附件5_天津市质量攻关项目申报书.docx"),
        write_blank_summary(folder / "附件6_天津市质量攻关项目立项申报汇总表.xlsx"),
    ]


@task(name="publish-call", task_run_name="call-{ctx.year}")
def publish_call(ctx: CampaignContext, outcome: StageReport) -> None:
    """征集通知: the blank forms, sent to every registered recommending unit, once."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "call"):
            return
        forms = blank_forms(ctx.folder(STAGE) / "空白表格")
        for f in forms:
            uow.repo.record_document(
                ctx.campaign_id, stage=STAGE, kind="blank_form", title=f.stem, path=str(f)
            )
        units = uow.repo.recommending_units()
        for unit in units:
            send(
                uow,
                ctx,
                event="call",
                recipient=Recipient.for_recommending_unit(unit),
                context={"unit": unit.name},
                attachments=forms,
            )
        uow.repo.mark_step(
            ctx.campaign_id, STAGE, "call", as_of=ctx.now, summary={"units": len(units)}
        )
        uow.commit()
    outcome.done.append(f"发布征集通知，寄送空白申报书和汇总表给{len(units)}个推荐单位")
    outcome.documents += [str(f) for f in forms]


def units_owing_batch(uow: UnitOfWork, ctx: CampaignContext) -> list[orm.RecommendingUnit]:
    """Units with no batch yet, or whose current batch still has returned applications."""
    by_unit: dict[int, list[orm.Application]] = {}
    for app in uow.repo.applications(ctx.campaign_id):
        by_unit.setdefault(app.recommending_unit_id, []).append(app)
    return [
        unit
        for unit in uow.repo.recommending_units()
        if not by_unit.get(unit.id)
        or any(a.state == ProjectState.RETURNED for a in by_unit[unit.id])
    ]


@task(name="application-reminders", task_run_name="reminders-{ctx.year}")
def send_reminders(ctx: CampaignContext, outcome: StageReport) -> None:
    deadline = ctx.calendar.application_deadline
    days = reminder_due(deadline, ctx.now, ctx.rules.reminder_days)
    if days is None:
        return
    with UnitOfWork() as uow:
        owing = units_owing_batch(uow, ctx)
        sent = 0
        for unit in owing:
            sent += send(
                uow,
                ctx,
                event="application_reminder",
                rule_detail=f"T-{days}",
                recipient=Recipient.for_recommending_unit(unit),
                period=f"T-{days}",
                context={"days": days},
            )
        uow.commit()
    if sent:
        outcome.done.append(f"申报截止前{days}天提醒：{sent}个推荐单位尚未报送或需补正")


def pending_inbox_batches(ctx: CampaignContext) -> list[tuple[str, Path, dt.datetime]]:
    """Batches dropped in the inbox (`inbox/<unit>/<folder>/batch.json`) and not yet taken."""
    if not ctx.inbox.exists():
        return []
    with UnitOfWork() as uow:
        taken = set(
            uow.session.scalars(
                select(orm.SubmissionBatch.source_dir).where(
                    orm.SubmissionBatch.campaign_id == ctx.campaign_id
                )
            )
        )
    found = []
    for marker in sorted(ctx.inbox.glob(f"*/*/{BATCH_MARKER}")):
        folder = marker.parent
        if str(folder) in taken:
            continue
        meta = json.loads(marker.read_text(encoding="utf-8"))
        received_at = dt.datetime.fromisoformat(meta["received_at"])
        if received_at <= ctx.now:
            found.append((meta.get("unit") or folder.parent.name, folder, received_at))
    return sorted(found, key=lambda b: b[2])


@task(name="intake", task_run_name="intake-{unit_code}")
def intake_unit_batches(
    ctx: CampaignContext, unit_code: str, batches: list[tuple[Path, dt.datetime]]
) -> list[IntakeResult]:
    """Every batch one recommending unit dropped since the last run, in the order received."""
    results = []
    for folder, received_at in batches:
        files = sorted(p for p in folder.iterdir() if p.name != BATCH_MARKER)
        result = intake_batch(ctx, unit_code, files, received_at=received_at)
        with UnitOfWork() as uow:
            batch = uow.session.scalar(
                select(orm.SubmissionBatch)
                .join(orm.RecommendingUnit)
                .where(
                    orm.SubmissionBatch.campaign_id == ctx.campaign_id,
                    orm.RecommendingUnit.code == unit_code,
                    orm.SubmissionBatch.version == result.batch.version,
                )
            )
            if batch is not None and not batch.source_dir:
                batch.source_dir = str(folder)
                uow.commit()
        results.append(result)
    return results


def take_inbox(ctx: CampaignContext, outcome: StageReport) -> None:
    by_unit: dict[str, list[tuple[Path, dt.datetime]]] = {}
    for unit_code, folder, received_at in pending_inbox_batches(ctx):
        by_unit.setdefault(unit_code, []).append((folder, received_at))
    if not by_unit:
        return
    # One task per recommending unit, one after another in the order the batches arrived: the
    # check of this year's applications against each other then always sees the earlier one
    # first (in parallel it depended on thread timing), and a rerun numbers everything alike.
    accepted = returned = late = 0
    for code, batches in by_unit.items():
        for result in intake_unit_batches(ctx, code, batches):
            if result.batch.late:
                late += 1
            accepted += result.batch.accepted
            returned += result.batch.returned
    outcome.done.append(
        f"受理{sum(len(b) for b in by_unit.values())}个批次：受理{accepted}项，退回{returned}项，逾期批次{late}个"
    )


@task(name="close-applications", task_run_name="close-applications-{ctx.year}")
def close_applications(ctx: CampaignContext, outcome: StageReport) -> None:
    """After the deadline: the merged 立项申报汇总表 of every accepted application, once."""
    if not ctx.is_due(ctx.calendar.application_deadline):
        outcome.waiting.append(
            f"申报截止时间 {ctx.calendar.application_deadline.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
        return
    # Late batches are still taken (and recorded as late) until the audit begins.
    outcome.complete = ctx.is_due(ctx.calendar.audit)
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "closed"):
            return
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.ACCEPTED], with_form=True)
        rows = [
            SummaryRow(
                seq=str(i),
                title=a.title,
                applicant=a.applicant_name,
                uscc=a.uscc,
                district=a.district,
                chain=a.chain,
                project_type=a.project_type,
                joint="是" if a.joint else "否",
                project_lead=a.form.get("project_lead", {}).get("name", ""),
                phone=a.form.get("project_lead", {}).get("phone", ""),
                recommending_unit=a.recommending_unit.name,
            )
            for i, a in enumerate(apps, start=1)
        ]
        path = write_summary_workbook(
            ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关项目立项申报汇总表.xlsx", ctx.year, rows
        )
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="summary_workbook",
            title="立项申报汇总表",
            path=str(path),
        )
        with_batch = {a.recommending_unit_id for a in uow.repo.applications(ctx.campaign_id)}
        silent = [u for u in uow.repo.recommending_units() if u.id not in with_batch]
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "closed",
            as_of=ctx.now,
            summary={"accepted": len(rows), "units_without_batch": len(silent)},
        )
        uow.commit()
    outcome.done.append(
        f"申报截止：受理{len(rows)}项，{len(silent)}个推荐单位未报送，生成立项申报汇总表"
    )
    outcome.documents.append(str(path))
