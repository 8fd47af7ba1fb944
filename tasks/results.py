"""Stage 6 提交成果: result submissions checked for their parts, late material recorded and not
accepted, withdrawals, reminders to units that still owe results, and the close at the deadline
(30 September 23:59 Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from prefect import task
from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer, joinedload

from documents.xlsx_style import Column, new_workbook, save_workbook, write_table
from domain.calendar import SHANGHAI
from domain.reminders import reminder_due
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import campaign_facts, send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "results"
REQUIRED_PARTS: tuple[str, ...] = ("成果报告", "过程材料", "效益证明")
ACCEPTED_SUFFIXES = frozenset(
    {
        ".pdf",
        ".doc",
        ".docx",
        ".wps",
        ".xls",
        ".xlsx",
        ".ppt",
        ".pptx",
        ".zip",
        ".rar",
        ".jpg",
        ".png",
    }
)
NOT_SUBMITTED_REASON = "截止时未提交成果"


class ResultsError(ValueError):
    """A submission or withdrawal that cannot be recorded; the message says how to fix it."""


class SubmissionOutcome(BaseModel):
    application_id: int
    plan_number: str
    late: bool
    complete: bool
    missing_parts: list[str]
    state: str


def _deadline_text(ctx: CampaignContext) -> str:
    return f"{ctx.calendar.results_deadline.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def _not_found(ctx: CampaignContext, text: str) -> ResultsError:
    return ResultsError(
        f"找不到{ctx.year}年项目计划中的项目“{text}”：请填写计划编号（如 TJZLGG-{ctx.year}-0001）"
    )


def _project_query(ctx: CampaignContext) -> Select[orm.Application]:
    return (
        select(orm.Application)
        .where(orm.Application.campaign_id == ctx.campaign_id, orm.Application.is_current.is_(True))
        # The unit is always told: load it with the project, not in a second query; the
        # stored form is not needed here.
        .options(joinedload(orm.Application.recommending_unit), defer(orm.Application.form))
    )


def find_project(uow: UnitOfWork, ctx: CampaignContext, key: int | str) -> orm.Application:
    text = str(key).strip()
    query = _project_query(ctx)
    app = (
        uow.session.scalar(query.where(orm.Application.id == int(text)))
        if text.isdigit()
        else uow.session.scalar(query.where(orm.Application.plan_number == text))
    )
    if app is None or app.plan_number is None:
        raise _not_found(ctx, text)
    return app


_CHUNK = 500  # ids per IN (...) list


def find_projects(
    uow: UnitOfWork, ctx: CampaignContext, keys: Sequence[int | str]
) -> dict[str, orm.Application]:
    """`find_project` for many keys at once (one query per 500 ids and per 500 plan numbers):
    ``{key as text: project}``; a key that finds no project of the plan raises `ResultsError`."""
    texts = list(dict.fromkeys(str(k).strip() for k in keys))
    ids = [int(t) for t in texts if t.isdigit()]
    plans = [t for t in texts if not t.isdigit()]
    found: dict[str, orm.Application] = {}
    for column, values in ((orm.Application.id, ids), (orm.Application.plan_number, plans)):
        for start in range(0, len(values), _CHUNK):
            query = _project_query(ctx).where(column.in_(values[start : start + _CHUNK]))
            for app in uow.session.scalars(query).unique():
                found[str(app.id)] = found[app.plan_number or ""] = app
    for text in texts:
        app = found.get(text)
        if app is None or app.plan_number is None:
            raise _not_found(ctx, text)
    return {t: found[t] for t in texts}


def check_parts(parts: dict[str, str]) -> dict[str, str]:
    """The parts given, cleaned; unknown part names or file types raise `ResultsError`."""
    unknown = [k for k in parts if k not in REQUIRED_PARTS]
    if unknown:
        raise ResultsError(
            f"未知的材料类别：{'、'.join(unknown)}；材料类别应为 {'、'.join(REQUIRED_PARTS)}"
        )
    clean: dict[str, str] = {}
    for name, value in parts.items():
        text = str(value or "").strip()
        if not text:
            continue
        suffix = Path(text).suffix.lower()
        if suffix not in ACCEPTED_SUFFIXES:
            raise ResultsError(
                f"{name}“{text}”的文件类型不被接受：请提交 {'、'.join(sorted(ACCEPTED_SUFFIXES))} 格式"
            )
        clean[name] = text
    return clean


class Submission(NamedTuple):
    """One project's material in `submit_results_batch` (the arguments of `submit_results`)."""

    application: int | str
    parts: dict[str, str]
    received_at: dt.datetime | None = None
    achieved: str = ""


def _received(ctx: CampaignContext, received_at: dt.datetime | None) -> dt.datetime:
    received = received_at or ctx.now
    return received if received.tzinfo is not None else received.replace(tzinfo=SHANGHAI)


def submit_results(
    ctx: CampaignContext,
    application: int | str,
    parts: dict[str, str],
    received_at: dt.datetime | None = None,
    achieved: str = "",
) -> SubmissionOutcome:
    """One project's result material as forwarded by its recommending unit.

    On time and complete → 已提交成果; on time with parts missing → recorded, the unit told what
    is missing, the project stays 实施中 until completed or the deadline; after the deadline →
    recorded late, not accepted (成果逾期未受理), the unit told.
    """
    received = _received(ctx, received_at)
    clean = check_parts(parts)
    with UnitOfWork() as uow:
        app = find_project(uow, ctx, application)
        row = uow.session.scalar(
            select(orm.ResultSubmission).where(orm.ResultSubmission.application_id == app.id)
        )
        _, outcome = _record(uow, ctx, app, row, clean, received, achieved, campaign_facts(ctx))
        uow.commit()
        return outcome


def submit_results_batch(
    ctx: CampaignContext, submissions: Sequence[Submission]
) -> list[SubmissionOutcome]:
    """`submit_results` for each submission in turn, in one transaction: the same checks,
    records, state changes and messages, with the projects and their earlier submissions loaded
    in a few queries (one call cost ~10 ms, mostly its own queries and commit).

    A `ResultsError` in any of them leaves none stored. A project may appear more than once (its
    parts are merged in order, as by successive calls).
    """
    if not submissions:
        return []
    prepared = [(s, _received(ctx, s.received_at), check_parts(s.parts)) for s in submissions]
    facts = campaign_facts(ctx)
    with UnitOfWork() as uow:
        apps = find_projects(uow, ctx, [s.application for s in submissions])
        ids = list({app.id for app in apps.values()})
        rows: dict[int, orm.ResultSubmission] = {}
        for start in range(0, len(ids), _CHUNK):
            for row in uow.session.scalars(
                select(orm.ResultSubmission).where(
                    orm.ResultSubmission.application_id.in_(ids[start : start + _CHUNK])
                )
            ):
                rows[row.application_id] = row
        outcomes = []
        for submission, received, clean in prepared:
            app = apps[str(submission.application).strip()]
            row, outcome = _record(
                uow, ctx, app, rows.get(app.id), clean, received, submission.achieved, facts
            )
            rows[app.id] = row
            outcomes.append(outcome)
        uow.commit()
    return outcomes


def _record(
    uow: UnitOfWork,
    ctx: CampaignContext,
    app: orm.Application,
    row: orm.ResultSubmission | None,
    clean: dict[str, str],
    received: dt.datetime,
    achieved: str,
    campaign_facts: dict[str, Any],
) -> tuple[orm.ResultSubmission, SubmissionOutcome]:
    """One submission checked and recorded in `uow` (`row`: the project's earlier submission)."""
    state = ProjectState(app.state)
    if state == ProjectState.RESULTS_SUBMITTED:
        raise ResultsError(f"项目 {app.plan_number} 的成果材料已齐全受理，无需重复提交")
    if state not in (ProjectState.IN_PROGRESS, ProjectState.RESULTS_LATE):
        raise ResultsError(f"项目 {app.plan_number} 当前状态为“{state.label}”，不能提交成果材料")
    if received < ctx.calendar.results_window_opens:
        opens = ctx.calendar.results_window_opens.astimezone(SHANGHAI)
        raise ResultsError(f"成果提交自 {opens:%Y-%m-%d %H:%M} 开始，请届时提交")
    late = received > ctx.calendar.results_deadline
    if not late and state == ProjectState.RESULTS_LATE:
        raise ResultsError(f"项目 {app.plan_number} 已按逾期处理，不能再提交成果材料")
    if row is None:
        row = orm.ResultSubmission(application_id=app.id, received_at=received, parts={})
        uow.session.add(row)
    merged = {**(row.parts or {}), **clean}
    row.parts = merged
    row.received_at = received
    row.missing_parts = [p for p in REQUIRED_PARTS if p not in merged]
    row.achieved = achieved or row.achieved or ""
    row.late = late
    unit = app.recommending_unit
    facts = {**campaign_facts, "project_title": app.title, "received_at": received}
    if late:
        if state == ProjectState.IN_PROGRESS:
            uow.repo.move(
                app,
                ProjectState.RESULTS_LATE,
                at=received,
                actor="rule:results_deadline",
                reason=f"成果材料于{received.astimezone(SHANGHAI):%Y-%m-%d %H:%M}送达，"
                "已过截止时间，逾期不再接收",
            )
        send(
            uow,
            ctx,
            event="results_late",
            recipient=Recipient.for_recommending_unit(unit),
            period=f"{app.plan_number}:late",
            context=facts,
        )
    else:
        complete = not row.missing_parts
        if complete:
            uow.repo.move(
                app,
                ProjectState.RESULTS_SUBMITTED,
                at=received,
                actor=f"{unit.name}",
                reason="成果材料齐全，按时提交",
            )
        send(
            uow,
            ctx,
            event="results_receipt",
            recipient=Recipient.for_recommending_unit(unit),
            period=f"{app.plan_number}:{'complete' if complete else f'missing{len(merged)}'}",
            context={**facts, "missing_parts": row.missing_parts or "无"},
        )
    return row, SubmissionOutcome(
        application_id=app.id,
        plan_number=app.plan_number or "",
        late=late,
        complete=not row.missing_parts,
        missing_parts=list(row.missing_parts),
        state=app.state,
    )


def withdraw(ctx: CampaignContext, application: int | str, reason: str, by: str) -> None:
    """A project withdrawn (已撤回) with its reason and who asked."""
    if not reason.strip():
        raise ResultsError("撤回须填写理由")
    if not by.strip():
        raise ResultsError("撤回须填写经办人")
    with UnitOfWork() as uow:
        app = find_project(uow, ctx, application)
        state = ProjectState(app.state)
        if state == ProjectState.WITHDRAWN:
            return
        try:
            uow.repo.move(
                app, ProjectState.WITHDRAWN, at=ctx.now, actor=by.strip(), reason=reason.strip()
            )
        except ValueError as exc:
            raise ResultsError(f"项目 {app.plan_number}：{exc}") from exc
        uow.commit()


# ---------------------------------------------------------------------------------------------
# the stage's steps


@task(name="results-reminders", task_run_name="results-reminders-{ctx.year}")
def send_reminders(ctx: CampaignContext, outcome: StageReport) -> None:
    """T-14/T-7/T-3/T-1: units with projects that still owe results."""
    days = reminder_due(ctx.calendar.results_deadline, ctx.now, ctx.rules.reminder_days)
    if days is None:
        return
    with UnitOfWork() as uow:
        owing: dict[int, list[orm.Application]] = defaultdict(list)
        for app in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS]):
            owing[app.recommending_unit_id].append(app)
        sent = 0
        for items in owing.values():
            unit = items[0].recommending_unit
            sent += send(
                uow,
                ctx,
                event="results_reminder",
                rule_detail=f"T-{days}",
                recipient=Recipient.for_recommending_unit(unit),
                period=f"T-{days}",
                context={
                    "days": days,
                    "projects": "\n".join(f"{a.plan_number} {a.title}" for a in items),
                },
            )
        uow.commit()
    if sent:
        outcome.done.append(f"成果提交截止前{days}天提醒：{sent}个推荐单位仍有项目未提交")


@task(name="results-close", task_run_name="results-close-{ctx.year}")
def close_results(ctx: CampaignContext, outcome: StageReport) -> None:
    """At the deadline, once: projects without complete results → 成果逾期未受理; the summary."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "closed"):
            return
        partial = {
            s.application_id
            for s in uow.session.scalars(select(orm.ResultSubmission))
            if s.missing_parts
        }
        closed = 0
        for app in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS]):
            reason = (
                f"{NOT_SUBMITTED_REASON}（材料不齐全）"
                if app.id in partial
                else NOT_SUBMITTED_REASON
            )
            uow.repo.move(
                app,
                ProjectState.RESULTS_LATE,
                at=ctx.calendar.results_deadline,
                actor="rule:results_deadline",
                reason=reason,
            )
            closed += 1
        path = write_summary(ctx, uow)
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="results_summary",
            title="成果材料汇总表",
            path=str(path),
        )
        counts = _counts(uow, ctx)
        uow.repo.mark_step(
            ctx.campaign_id, STAGE, "closed", as_of=ctx.now, summary={**counts, "closed": closed}
        )
        uow.commit()
    outcome.done.append(
        f"成果提交截止：按时受理{counts['submitted']}项，截止时未提交{closed}项，"
        f"逾期{counts['late']}项，撤回{counts['withdrawn']}项；生成成果材料汇总表"
    )
    outcome.documents.append(str(path))


def _counts(uow: UnitOfWork, ctx: CampaignContext) -> dict[str, int]:
    rows = uow.session.execute(
        select(orm.Application.state, func.count(orm.Application.id))
        .where(
            orm.Application.campaign_id == ctx.campaign_id,
            orm.Application.is_current.is_(True),
            # Withdrawn counts only projects of the plan, not withdrawn applications.
            or_(
                orm.Application.state != ProjectState.WITHDRAWN.value,
                orm.Application.plan_number.is_not(None),
            ),
        )
        .group_by(orm.Application.state)
    ).all()
    by_state: dict[str, int] = {state: n for state, n in rows}
    return {
        "submitted": by_state.get(ProjectState.RESULTS_SUBMITTED.value, 0),
        "late": by_state.get(ProjectState.RESULTS_LATE.value, 0),
        "withdrawn": by_state.get(ProjectState.WITHDRAWN.value, 0),
        "in_progress": by_state.get(ProjectState.IN_PROGRESS.value, 0),
    }


SUMMARY_COLUMNS = (
    Column("序号", 6),
    Column("计划编号", 17),
    Column("项目名称", 34, align="left"),
    Column("项目单位", 28, align="left"),
    Column("推荐单位", 24, align="left"),
    Column("所属产业链", 11),
    Column("送达时间", 17),
    *(Column(p, 22, align="left") for p in REQUIRED_PARTS),
    Column("缺少材料", 14, align="left"),
    Column("是否逾期", 9),
    Column("状态", 14),
    Column("取得成效", 40, align="left"),
)


def write_summary(ctx: CampaignContext, uow: UnitOfWork) -> Path:
    """成果材料汇总表: every project of the plan, what arrived and when, and its state."""
    apps = [a for a in uow.repo.applications(ctx.campaign_id) if a.plan_number]
    subs = {
        s.application_id: s
        for s in uow.session.scalars(
            select(orm.ResultSubmission).where(
                orm.ResultSubmission.application_id.in_([a.id for a in apps])
            )
        )
    }
    rows = []
    for i, app in enumerate(sorted(apps, key=lambda a: a.plan_number or ""), start=1):
        s = subs.get(app.id)
        parts = (s.parts or {}) if s else {}
        rows.append(
            [
                i,
                app.plan_number,
                app.title,
                app.applicant_name,
                app.recommending_unit.name,
                app.chain,
                f"{s.received_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if s else "未提交",
                *(parts.get(p, "") for p in REQUIRED_PARTS),
                "、".join(s.missing_parts) if s and s.missing_parts else ("" if s else "全部"),
                "是" if s and s.late else "否",
                ProjectState(app.state).label,
                s.achieved if s else "",
            ]
        )
    wb = new_workbook()
    ws = wb.active
    ws.title = "成果材料汇总"
    write_table(
        ws,
        f"{ctx.year}年天津市质量攻关成果材料汇总表（截止 {_deadline_text(ctx)}）",
        SUMMARY_COLUMNS,
        rows,
    )
    return save_workbook(wb, ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关成果材料汇总表.xlsx")


def results_status(ctx: CampaignContext, outcome: StageReport) -> None:
    with UnitOfWork() as uow:
        counts = _counts(uow, ctx)
        partial = sum(
            1
            for s in uow.session.scalars(
                select(orm.ResultSubmission)
                .join(orm.Application)
                .where(orm.Application.campaign_id == ctx.campaign_id)
            )
            if s.missing_parts and not s.late
        )
    outcome.counts["已提交成果"] = counts["submitted"]
    outcome.counts["成果逾期未受理"] = counts["late"]
    outcome.counts["已撤回"] = counts["withdrawn"]
    outcome.counts["尚未提交"] = counts["in_progress"]
    if partial:
        outcome.counts["材料不齐待补"] = partial
    if not ctx.is_due(ctx.calendar.results_deadline):
        outcome.waiting.append(
            f"成果提交截止 {_deadline_text(ctx)}：尚有{counts['in_progress']}个项目未提交齐全"
        )
