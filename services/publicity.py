"""Stage 8 公示公布: the public notice of the proposed excellent results for the period counted on
the Chinese working-day calendar, objections and their outcomes, and at the end of the period the
publication, certificates and commendation list (`services.publication`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from documents.official import write_public_notice
from documents.rows import NoticeEntry
from domain.calendar import SHANGHAI
from domain.publicity import OUTCOME_LABELS, ObjectionError, names_project
from domain.states import ProjectState
from domain.workdays import publicity_period
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from services.outbox_hold import note_held
from storage import orm
from storage.uow import UnitOfWork

STAGE = "publicity"


class NoticePeriod(BaseModel):
    """公示期: the first and last day of the public notice."""

    model_config = ConfigDict(frozen=True)

    starts_on: dt.date
    ends_on: dt.date


class NoticeReport(StageReport):
    """What posting the public notice did, with the notice's period once there is one."""

    notice: NoticePeriod | None = None


def ranked_excellent(
    uow: UnitOfWork, ctx: CampaignContext
) -> tuple[list[orm.Application], dict[int, orm.ResultScore]]:
    """The proposed excellent results (with their people) in rank order, and their scores."""
    apps = uow.repo.applications(ctx.campaign_id, [ProjectState.EXCELLENT], with_people=True)
    scores = uow.publicity.scores_of([a.id for a in apps])
    ranked = sorted(apps, key=lambda a: (scores[a.id].rank if a.id in scores else 10**9, a.id))
    return ranked, scores


def notice_entry(seq: int, app: orm.Application, score: orm.ResultScore | None) -> NoticeEntry:
    return NoticeEntry(
        seq=seq,
        title=app.title,
        unit=app.applicant_name,
        recommending_unit=app.recommending_unit.name,
        chain=app.chain,
        score=score.score if score else None,
        participants=[p.name for p in app.people],
    )


def group_by_unit(apps: list[orm.Application]) -> dict[int, list[orm.Application]]:
    """The projects grouped by recommending unit, in their order."""
    grouped: dict[int, list[orm.Application]] = defaultdict(list)
    for a in apps:
        grouped[a.recommending_unit_id].append(a)
    return grouped


# ---------------------------------------------------------------------------------------------
# the public notice (公示)


def _notice_start(uow: UnitOfWork, ctx: CampaignContext) -> dt.date:
    """The calendar's publicity start, or the day the evaluation finished when that was later."""
    start = ctx.calendar.publicity_start
    applied = uow.repo.step_done(ctx.campaign_id, "evaluation", "states_applied")
    if applied is not None:
        start = max(start, applied.as_of.astimezone(SHANGHAI).date())
    return start


def post_public_notice(uow: UnitOfWork, ctx: CampaignContext) -> NoticeReport:
    """优秀成果公示; mass mail held for staff is previewed (`services.outbox_hold`)."""
    report = _post_public_notice(uow, ctx)
    note_held(uow, ctx, report, ("public_notice",))
    return report


def _post_public_notice(uow: UnitOfWork, ctx: CampaignContext) -> NoticeReport:
    """Once: the 公示 docx of the proposed excellent results and a message to each recommending
    unit concerned. The report's `notice` stays None before evaluation is complete."""
    report = NoticeReport.start(STAGE, ctx)
    with uow:
        notice = uow.publicity.notice(ctx.campaign_id, "publicity")
        if notice is not None:
            report.notice = NoticePeriod(starts_on=notice.starts_on, ends_on=notice.ends_on)
            _rewrite_notice(uow, ctx, notice, report)
            return report
        if not uow.repo.step_done(ctx.campaign_id, "evaluation", "states_applied"):
            report.waiting.append("成果评定尚未完成（优秀成果名单未确认）")
            return report
        apps, scores = ranked_excellent(uow, ctx)
        if not apps:
            _nothing_to_publish(uow, ctx, report)
            return report
        start, end = publicity_period(_notice_start(uow, ctx), ctx.rules.publicity_working_days)
        path = _write_notice(ctx, apps, scores, start, end)
        uow.add(
            orm.PublicNotice(
                campaign_id=ctx.campaign_id,
                kind="publicity",
                starts_on=start,
                ends_on=end,
                posted_at=ctx.now,
                application_ids=[a.id for a in apps],
                document=str(path),
            )
        )
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="public_notice", title="优秀成果公示", path=str(path)
        )
        sent = _notice_messages(uow, ctx, apps, start, end, path)
        uow.commit()
    report.done.append(
        f"发布优秀成果公示：{len(apps)}项，公示期{start:%Y-%m-%d}至{end:%Y-%m-%d}"
        f"（{ctx.rules.publicity_working_days}个工作日），通知{sent}个推荐单位"
    )
    report.documents.append(str(path))
    report.notice = NoticePeriod(starts_on=start, ends_on=end)
    return report


def _rewrite_notice(
    uow: UnitOfWork, ctx: CampaignContext, notice: orm.PublicNotice, report: StageReport
) -> None:
    """The posted 公示 written again from the database (its results, period and scores) when
    its file is missing on disk; nobody is told again."""
    if not notice.document or Path(notice.document).exists():
        return
    by_id = {
        a.id: a
        for a in uow.repo.applications(ctx.campaign_id, with_people=True)
        if a.id in notice.application_ids
    }
    scores = uow.publicity.scores_of(list(by_id))
    apps = [by_id[i] for i in notice.application_ids if i in by_id]
    path = _write_notice(ctx, apps, scores, notice.starts_on, notice.ends_on)
    report.done.append(f"重新生成缺失的优秀成果公示（{len(apps)}项）")
    report.documents.append(str(path))


def _nothing_to_publish(uow: UnitOfWork, ctx: CampaignContext, report: StageReport) -> None:
    """No proposed excellent result: nothing is posted, and the stage is done."""
    if not uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
        uow.repo.mark_step(
            ctx.campaign_id, STAGE, "published", as_of=ctx.now, summary={"published": 0}
        )
        uow.commit()
        report.done.append("本年度无拟认定优秀成果，不发布公示")
    report.complete = True


def _write_notice(
    ctx: CampaignContext,
    apps: list[orm.Application],
    scores: dict[int, orm.ResultScore],
    start: dt.date,
    end: dt.date,
) -> Path:
    path = ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关优秀成果公示.docx"
    return write_public_notice(
        path,
        ctx.year,
        [notice_entry(i, a, scores.get(a.id)) for i, a in enumerate(apps, start=1)],
        start,
        end,
        ctx.config.contact,
        ctx.config.phone,
        ctx.config.email,
        issued_on=start,
        issuer=ctx.config.issuer,
        working_days=ctx.rules.publicity_working_days,
        office=ctx.config.department,
    )


def _notice_messages(
    uow: UnitOfWork,
    ctx: CampaignContext,
    apps: list[orm.Application],
    start: dt.date,
    end: dt.date,
    path: Path,
) -> int:
    """Each recommending unit with a result on the notice is told, with the notice attached."""
    by_unit = group_by_unit(apps)
    sent = 0
    for unit in uow.repo.recommending_units():
        if unit.id not in by_unit:
            continue
        sent += send(
            uow,
            ctx,
            event="public_notice",
            recipient=Recipient.for_recommending_unit(unit),
            period="publicity",
            context={
                "starts_on": start,
                "ends_on": end,
                "working_days": ctx.rules.publicity_working_days,
                "projects": [f"{a.applicant_name}：{a.title}" for a in by_unit[unit.id]],
            },
            attachments=[path],
        )
    return sent


# ---------------------------------------------------------------------------------------------
# objections (`qcamp objections add|resolve`)


def _find_application(uow: UnitOfWork, ctx: CampaignContext, ref: int | str) -> orm.Application:
    text = str(ref).strip()
    for a in uow.repo.applications(ctx.campaign_id):
        if names_project(text, a.id, a.plan_number):
            return a
    raise ObjectionError(
        f"{ctx.year}年没有编号为「{text}」的项目：请填写项目编号（计划编号）或记录号"
    )


def add_objection(
    uow: UnitOfWork,
    ctx: CampaignContext,
    application: int | str,
    raised_by: str,
    content: str,
    received_at: dt.datetime | None = None,
    *,
    actor: str = "",
) -> int:
    """异议登记: only for a result on the public notice, received within the period (not before
    it began, not after the clock), with the name of whoever raised it (anonymous objections are
    not taken); `actor` is the staff member who records it. Returns the objection's id."""
    received = received_at or ctx.now
    if received.tzinfo is None:
        received = received.replace(tzinfo=SHANGHAI)
    if not raised_by.strip():
        raise ObjectionError("匿名提出的异议不予受理：请填写异议人（单位或个人实名）")
    if not content.strip():
        raise ObjectionError("请填写异议内容")
    with uow:
        notice = uow.publicity.notice(ctx.campaign_id, "publicity")
        if notice is None:
            raise ObjectionError(f"{ctx.year}年优秀成果尚未公示，不能登记异议")
        app = _find_application(uow, ctx, application)
        if app.id not in (notice.application_ids or []):
            raise ObjectionError(f"项目「{app.title}」不在公示名单中：异议只针对公示成果")
        day = received.astimezone(SHANGHAI).date()
        if day < notice.starts_on:
            raise ObjectionError(
                f"异议收到日期 {day:%Y-%m-%d} 早于公示开始日 {notice.starts_on:%Y-%m-%d}："
                "请填写异议实际收到的时间（--received）"
            )
        if received > ctx.now:
            raise ObjectionError(
                f"异议收到时间 {received.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 晚于当前时间："
                "收到时间不能是将来，请填写实际收到的时间（--received）"
            )
        if day > notice.ends_on:
            raise ObjectionError(
                f"异议收到日期 {day:%Y-%m-%d} 晚于公示期结束日 {notice.ends_on:%Y-%m-%d}，"
                "逾期提出的异议不予受理"
            )
        objection = orm.Objection(
            campaign_id=ctx.campaign_id,
            application_id=app.id,
            received_at=received,
            raised_by=raised_by.strip(),
            content=content.strip(),
            outcome=None,
            recorded_by=actor[:100],
        )
        uow.add(objection)
        uow.commit()
        return objection.id


def resolve_objection(
    uow: UnitOfWork,
    ctx: CampaignContext,
    objection_id: int,
    outcome: str,
    reason: str,
    resolved_at: dt.datetime | None = None,
    *,
    actor: str = "",
) -> None:
    """异议处理结果: upheld (the result is not recognised) or dismissed, with the reason and the
    staff member who records it (`actor`)."""
    if outcome not in OUTCOME_LABELS:
        raise ObjectionError(
            f"处理结果「{outcome}」无效：请填写 upheld（成立）或 dismissed（不成立）"
        )
    if not reason.strip():
        raise ObjectionError("请填写异议处理理由（--reason）")
    with uow:
        objection = uow.publicity.objection(objection_id)
        if objection is None or objection.campaign_id != ctx.campaign_id:
            raise ObjectionError(f"{ctx.year}年没有编号为 {objection_id} 的异议：请核对异议编号")
        if objection.outcome is not None:
            raise ObjectionError(
                f"异议 {objection_id} 已处理（{OUTCOME_LABELS[objection.outcome]}），不能重复处理"
            )
        if uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
            raise ObjectionError(f"{ctx.year}年优秀成果已公布，异议处理结果不能再更改")
        objection.outcome = outcome
        objection.outcome_reason = reason.strip()
        objection.resolved_at = resolved_at or ctx.now
        objection.resolved_by = actor[:100]
        uow.commit()
