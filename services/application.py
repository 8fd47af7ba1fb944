"""Stage 1 项目申报: the call, reminders to units that still owe a batch, intake of the batches
that arrived in the inbox, and the close of the window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from documents.application_form import write_blank_form
from documents.inbox import batch_files, inbox_batches
from documents.official import write_call
from documents.reports import write_summary_workbook
from documents.summary_table import write_blank_summary
from domain.calendar import SHANGHAI
from domain.intake import BATCH_REFUSED, owes_batch
from domain.models import SummaryRow
from domain.reminders import reminder_due
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.delivery_review import batch_owing, deadline_facts
from services.intake import IntakeResult, intake_batch, set_batch_aside
from services.messaging import send
from services.notices import doc_number, issuing
from services.outbox_hold import note_held
from storage import orm
from storage.db import is_retryable
from storage.uow import UnitOfWork

STAGE = "application"
CALL_WAITING = "征集通知尚未到发布时间"
UnitBatches = list[tuple[Path, dt.datetime]]  # one unit's inbox folders and when each arrived


BLANK_FORM = "附件5_天津市质量攻关项目申报书.docx"
BLANK_SUMMARY = "附件6_天津市质量攻关项目立项申报汇总表.xlsx"


def blank_forms(folder: Path) -> list[Path]:
    """附件5 申报书 and 附件6 立项申报汇总表, blank, in `folder` (the writers create it)."""
    return [
        write_blank_form(folder / BLANK_FORM),
        write_blank_summary(folder / BLANK_SUMMARY),
    ]


CALL_NO_UNITS = (
    "推荐单位名录为空，征集通知暂不发布：请先用 qcamp units import 导入推荐单位名录，"
    "下次运行本阶段时发布"
)


def _call_forms(ctx: CampaignContext) -> tuple[list[Path], bool]:
    """The call's blank forms and whether they were written now (missing before)."""
    folder = ctx.folder(STAGE) / "空白表格"
    names = (BLANK_FORM, BLANK_SUMMARY)
    if all((folder / name).is_file() for name in names):
        return [folder / name for name in names], False
    return blank_forms(folder), True


def publish_call(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """征集通知; mass mail held for staff is previewed (`services.outbox_hold`)."""
    report = _publish_call(uow, ctx)
    note_held(uow, ctx, report, ("call",))
    return report


def _publish_call(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """征集通知: the blank forms, sent to every registered recommending unit, once each. With no
    unit registered the call waits (staff told); a unit registered after the call gets it at
    the next run."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        units = uow.repo.recommending_units()
        if not units:
            report.waiting.append(CALL_NO_UNITS)
            return report
        published = uow.repo.step_done(ctx.campaign_id, STAGE, "call")
        if published and ctx.is_due(ctx.calendar.application_deadline):
            return report  # a call sent after the deadline would invite what is not taken
        forms, written = _call_forms(ctx)
        if written or not published:
            for f in forms:
                uow.repo.record_document(
                    ctx.campaign_id, stage=STAGE, kind="blank_form", title=f.stem, path=str(f)
                )
        call = _call_path(ctx)
        if not published or not call.is_file():  # the notice itself, numbered once
            call = _write_call(uow, ctx, forms)
            uow.repo.record_document(
                ctx.campaign_id, stage=STAGE, kind="call", title=call.stem, path=str(call)
            )
        sent = sum(
            send(
                uow,
                ctx,
                event="call",
                recipient=Recipient.for_recommending_unit(unit),
                context={"unit": unit.name},
                attachments=forms,
            )
            for unit in units
        )
        if not published:
            uow.repo.mark_step(
                ctx.campaign_id, STAGE, "call", as_of=ctx.now, summary={"units": len(units)}
            )
        uow.commit()
    if not published:
        report.done.append(f"发布征集通知，寄送空白申报书和汇总表给{sent}个推荐单位")
        report.documents += [str(call), *(str(f) for f in forms)]
    elif sent:
        report.done.append(f"向新登记的{sent}个推荐单位补发征集通知和空白表格")
    return report


def _call_path(ctx: CampaignContext) -> Path:
    return ctx.folder(STAGE) / f"关于开展{ctx.year}年天津市质量攻关项目申报工作的通知.docx"


def _write_call(uow: UnitOfWork, ctx: CampaignContext, forms: list[Path]) -> Path:
    """征集通知 itself, numbered (津市场监管质发〔2025〕N号), beside the blank forms."""
    config = ctx.config
    return write_call(
        _call_path(ctx),
        ctx.year,
        ctx.calendar.call_published.astimezone(SHANGHAI).date(),
        ctx.calendar.application_deadline.astimezone(SHANGHAI).date(),
        [f.stem.split("_", 1)[-1] for f in forms],
        issuing=issuing(ctx, doc_number(uow, ctx, "call")),
        contact=config.contact,
        phone=config.phone,
        email=config.email,
    )


def units_owing_batch(uow: UnitOfWork, ctx: CampaignContext) -> list[orm.RecommendingUnit]:
    """Units with no batch yet, or whose current batch still has returned applications
    (inside an open unit of work)."""
    states: dict[int, list[str]] = {}
    for app in uow.repo.applications(ctx.campaign_id):
        states.setdefault(app.recommending_unit_id, []).append(app.state)
    return [u for u in uow.repo.recommending_units() if owes_batch(states.get(u.id, []))]


def send_reminders(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """申报截止前提醒 (T-14/T-7/T-3/T-1) to every unit that still owes a batch, once each."""
    report = StageReport.start(STAGE, ctx)
    days = reminder_due(ctx.calendar.application_deadline, ctx.now, ctx.rules.reminder_days)
    if days is None:
        return report
    deadline = deadline_facts(ctx.calendar.application_deadline, ctx.local_date())
    with uow:
        returned: dict[int, list[str]] = {}
        for app in uow.repo.applications(ctx.campaign_id, [ProjectState.RETURNED]):
            returned.setdefault(app.recommending_unit_id, []).append(app.title)
        sent = 0
        for unit in units_owing_batch(uow, ctx):
            sent += send(
                uow,
                ctx,
                event="application_reminder",
                rule_detail=f"T-{days}",
                recipient=Recipient.for_recommending_unit(unit),
                period=f"T-{days}",
                context={**deadline, "owing": batch_owing(ctx.now, returned.get(unit.id, []))},
            )
        uow.commit()
    if sent:
        report.done.append(f"申报截止前{days}天提醒：{sent}个推荐单位尚未报送或需补正")
    return report


def pending_inbox_batches(uow: UnitOfWork, ctx: CampaignContext) -> dict[str, UnitBatches]:
    """Batches dropped in the inbox (`inbox/<unit>/<folder>/batch.json`), arrived by the clock
    and not yet taken, by unit: units in the order their first batch arrived, each unit's
    batches in the order received."""
    found = inbox_batches(ctx.inbox)
    if not found:
        return {}
    with uow:
        taken = uow.intake.taken_folders(ctx.campaign_id)
    waiting = [b for b in found if str(b.folder) not in taken and b.received_at <= ctx.now]
    by_unit: dict[str, UnitBatches] = {}
    for b in sorted(waiting, key=lambda b: b.received_at):
        by_unit.setdefault(b.unit, []).append((b.folder, b.received_at))
    return by_unit


def take_unit_batches(
    uow: UnitOfWork, ctx: CampaignContext, unit_code: str, batches: UnitBatches
) -> list[IntakeResult]:
    """Every batch one recommending unit dropped since the last run, in the order received;
    each batch remembers its inbox folder, so a rerun takes it once. Each batch is taken in its
    own transaction: one that fails for any reason but the database's is set aside
    (recorded as refused, the unit told) and the others go on."""
    results = []
    for folder, received_at in batches:
        try:
            result = intake_batch(
                uow,
                ctx,
                unit_code,
                batch_files(folder),
                received_at=received_at,
                actor=f"inbox:{unit_code}",  # the unit that dropped the batch in its folder
                source_dir=str(folder),
            )
        except Exception as exc:  # noqa: BLE001 - one unit's input never stops the run
            if is_retryable(exc):  # the database's trouble, not the batch's: the task retries
                raise
            results.append(set_batch_aside(uow, ctx, unit_code, folder, received_at, exc))
            continue
        with uow:
            batch = uow.intake.unit_batch(ctx.campaign_id, unit_code, result.batch.version)
            if batch is not None and not batch.source_dir:
                batch.source_dir = str(folder)
                uow.commit()
        results.append(result)
    return results


def inbox_report(
    ctx: CampaignContext, pending: dict[str, UnitBatches], results: list[IntakeResult]
) -> StageReport:
    """What taking the inbox did: batches, accepted and returned forms, late batches; for the
    staff, each batch refused as a whole and each one that could not be recorded at all."""
    report = StageReport.start(STAGE, ctx)
    if not pending:
        return report
    accepted = sum(r.batch.accepted for r in results)
    returned = sum(r.batch.returned for r in results)
    late = sum(1 for r in results if r.batch.late)
    refused = [r for r in results if r.batch.status == BATCH_REFUSED]
    batches = sum(len(b) for b in pending.values())
    line = f"受理{batches}个批次：受理{accepted}项，退回{returned}项，逾期批次{late}个"
    report.done.append(line + (f"，整批未受理{len(refused)}个" if refused else ""))
    for r in refused:
        reason = r.batch.findings[-1].message if r.batch.findings else ""
        if r.batch.version:
            report.failed.append(
                f"{r.batch.unit_name}（{r.batch.unit}）第{r.batch.version}批次整批未受理，"
                f"已通知该单位：{reason}"
            )
        else:
            report.failed.append(f"收件目录中“{r.batch.unit}”的批次无法受理：{reason}")
    return report


def take_inbox(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """Every pending batch of the inbox, one unit after another in the order they arrived: the
    check of this year's applications against each other then always sees the earlier one
    first, and a rerun numbers everything alike. (The stage flow does the same, one task per
    unit.)"""
    pending = pending_inbox_batches(uow, ctx)
    results = [
        result
        for code, batches in pending.items()
        for result in take_unit_batches(uow, ctx, code, batches)
    ]
    return inbox_report(ctx, pending, results)


def _summary_rows(apps: list[orm.Application]) -> list[SummaryRow]:
    return [
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


def close_applications(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """After the deadline: the merged 立项申报汇总表 of every accepted application, once."""
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.application_deadline):
        report.waiting.append(
            f"申报截止时间 {ctx.calendar.application_deadline.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
        return report
    # Late batches are still taken (and recorded as late) until the audit begins.
    report.complete = ctx.is_due(ctx.calendar.audit)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "closed"):
            return report
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.ACCEPTED], with_form=True)
        rows = _summary_rows(list(apps))
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
    report.done.append(
        f"申报截止：受理{len(rows)}项，{len(silent)}个推荐单位未报送，生成立项申报汇总表"
    )
    report.documents.append(str(path))
    return report
