"""Stage 6 提交成果: result submissions checked for their parts, late material recorded and not
accepted, withdrawals, reminders to units that still owe results, and the close at the deadline
(30 September 23:59 Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel

from documents.results_summary import write_results_summary
from domain.calendar import SHANGHAI
from domain.reminders import reminder_due
from domain.results import (
    LATE_ACTOR,
    REQUIRED_PARTS,
    ResultsError,
    check_parts,
    close_reason,
    missing_parts,
)
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.delivery_review import deadline_facts
from services.exceptions import closed_arrival, covering
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "results"

__all__ = [
    "REQUIRED_PARTS",
    "ResultsError",
    "Submission",
    "SubmissionOutcome",
    "check_parts",
    "close_results",
    "results_status",
    "send_reminders",
    "submit_results",
    "submit_results_batch",
    "withdraw",
]


class SubmissionOutcome(BaseModel):
    application_id: int
    plan_number: str
    late: bool
    complete: bool
    missing_parts: list[str]
    state: str


class Submission(NamedTuple):
    """One project's material in `submit_results_batch` (the arguments of `submit_results`)."""

    application: int | str
    parts: dict[str, str]
    received_at: dt.datetime | None = None
    achieved: str = ""


def _deadline_text(ctx: CampaignContext) -> str:
    return f"{ctx.calendar.results_deadline.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def _not_found(ctx: CampaignContext, text: str) -> ResultsError:
    return ResultsError(
        f"找不到{ctx.year}年项目计划中的项目“{text}”：请填写计划编号（如 TJZLGG-{ctx.year}-0001）"
    )


def find_project(uow: UnitOfWork, ctx: CampaignContext, key: int | str) -> orm.Application:
    """The project of the year's plan named by its record id or plan number."""
    text = str(key).strip()
    app = uow.results.project(ctx.campaign_id, text)
    if app is None or app.plan_number is None:
        raise _not_found(ctx, text)
    return app


def find_projects(
    uow: UnitOfWork, ctx: CampaignContext, keys: Sequence[int | str]
) -> dict[str, orm.Application]:
    """`find_project` for many keys at once: ``{key as text: project}``; a key that finds no
    project of the plan raises `ResultsError`."""
    texts = list(dict.fromkeys(str(k).strip() for k in keys))
    ids = [int(t) for t in texts if t.isdigit()]
    plans = [t for t in texts if not t.isdigit()]
    found: dict[str, orm.Application] = {}
    for app in uow.results.projects(ctx.campaign_id, ids, plans):
        found[str(app.id)] = found[app.plan_number or ""] = app
    for text in texts:
        app = found.get(text)
        if app is None or app.plan_number is None:
            raise _not_found(ctx, text)
    return {t: found[t] for t in texts}


def _received(ctx: CampaignContext, received_at: dt.datetime | None) -> dt.datetime:
    received = received_at or ctx.now
    return received if received.tzinfo is not None else received.replace(tzinfo=SHANGHAI)


# ---------------------------------------------------------------------------------------------
# submissions and withdrawals (`qcamp results submit|withdraw`)


def submit_results(
    uow: UnitOfWork,
    ctx: CampaignContext,
    application: int | str,
    parts: dict[str, str],
    received_at: dt.datetime | None = None,
    achieved: str = "",
    *,
    actor: str | None = None,
) -> SubmissionOutcome:
    """One project's result material as forwarded by its recommending unit.

    On time and complete → 已提交成果; on time with parts missing → recorded, the unit told what
    is missing, the project stays 实施中 until completed or the deadline; after the deadline →
    recorded late, not accepted (成果逾期未受理), the unit told — unless a deadline exception
    of the unit covers it (taken and marked with the exception). After the stage was closed an
    earlier arrival is not believed (`services.exceptions.closed_arrival`). `actor`: who handed
    it in (the staff member, the mail's sender); the state changes record it.
    """
    received = _received(ctx, received_at)
    clean = check_parts(parts)
    with uow:
        app = find_project(uow, ctx, application)
        row = uow.results.submission(app.id)
        _, outcome = _record(uow, ctx, app, row, clean, received, achieved, actor)
        uow.commit()
        return outcome


def submit_results_batch(
    uow: UnitOfWork,
    ctx: CampaignContext,
    submissions: Sequence[Submission],
    *,
    actor: str | None = None,
) -> list[SubmissionOutcome]:
    """`submit_results` for each submission in turn, in one transaction: the same checks,
    records, state changes and messages, with the projects and their earlier submissions loaded
    in a few queries.

    A `ResultsError` in any of them leaves none stored. A project may appear more than once (its
    parts are merged in order, as by successive calls).
    """
    if not submissions:
        return []
    prepared = [(s, _received(ctx, s.received_at), check_parts(s.parts)) for s in submissions]
    with uow:
        apps = find_projects(uow, ctx, [s.application for s in submissions])
        rows = uow.results.submissions_of(list({app.id for app in apps.values()}))
        outcomes = []
        for submission, received, clean in prepared:
            app = apps[str(submission.application).strip()]
            row, outcome = _record(
                uow, ctx, app, rows.get(app.id), clean, received, submission.achieved, actor
            )
            rows[app.id] = row
            outcomes.append(outcome)
        uow.commit()
    return outcomes


def _check_submission(
    ctx: CampaignContext, app: orm.Application, received: dt.datetime, *, excepted: bool
) -> bool:
    """Whether material received at `received` can be recorded for `app` (else `ResultsError`);
    True when it is late (`excepted`: a deadline exception covers it, so it is not)."""
    state = ProjectState(app.state)
    if state == ProjectState.RESULTS_SUBMITTED:
        raise ResultsError(f"项目 {app.plan_number} 的成果材料已齐全受理，无需重复提交")
    if state not in (ProjectState.IN_PROGRESS, ProjectState.RESULTS_LATE):
        raise ResultsError(f"项目 {app.plan_number} 当前状态为“{state.label}”，不能提交成果材料")
    if received < ctx.calendar.results_window_opens:
        opens = ctx.calendar.results_window_opens.astimezone(SHANGHAI)
        raise ResultsError(f"成果提交自 {opens:%Y-%m-%d %H:%M} 开始，请届时提交")
    late = received > ctx.calendar.results_deadline and not excepted
    if not late and not excepted and state == ProjectState.RESULTS_LATE:
        raise ResultsError(f"项目 {app.plan_number} 已按逾期处理，不能再提交成果材料")
    return late


def _store_parts(
    uow: UnitOfWork,
    app: orm.Application,
    row: orm.ResultSubmission | None,
    clean: dict[str, str],
    received: dt.datetime,
    achieved: str,
    late: bool,
    exception_id: int | None = None,
) -> orm.ResultSubmission:
    """The project's submission with these parts merged into what arrived before."""
    if row is None:
        row = orm.ResultSubmission(application_id=app.id, received_at=received, parts={})
        uow.add(row)
    merged = {**(row.parts or {}), **clean}
    row.parts = merged
    row.received_at = received
    row.missing_parts = missing_parts(merged)
    row.achieved = achieved or row.achieved or ""
    row.late = late
    row.exception_id = exception_id or row.exception_id
    return row


def _record(
    uow: UnitOfWork,
    ctx: CampaignContext,
    app: orm.Application,
    row: orm.ResultSubmission | None,
    clean: dict[str, str],
    received: dt.datetime,
    achieved: str,
    actor: str | None = None,
) -> tuple[orm.ResultSubmission, SubmissionOutcome]:
    """One submission checked and recorded in `uow` (`row`: the project's earlier submission)."""
    state = ProjectState(app.state)
    received = closed_arrival(uow, ctx, STAGE, received)
    exception = (
        covering(uow, ctx, app.recommending_unit_id, STAGE, received)
        if received > ctx.calendar.results_deadline
        else None
    )
    late = _check_submission(ctx, app, received, excepted=exception is not None)
    exception_id = exception.id if exception is not None else None
    row = _store_parts(uow, app, row, clean, received, achieved, late, exception_id)
    if late:
        _record_late(uow, ctx, app, state, received, actor)
    else:
        _record_on_time(uow, ctx, app, row, received, actor)
    return row, SubmissionOutcome(
        application_id=app.id,
        plan_number=app.plan_number or "",
        late=late,
        complete=not row.missing_parts,
        missing_parts=list(row.missing_parts),
        state=app.state,
    )


def _record_late(
    uow: UnitOfWork,
    ctx: CampaignContext,
    app: orm.Application,
    state: ProjectState,
    received: dt.datetime,
    actor: str | None = None,
) -> None:
    """Late material: the project 成果逾期未受理 (once), the unit told (once)."""
    if state == ProjectState.IN_PROGRESS:
        uow.repo.move(
            app,
            ProjectState.RESULTS_LATE,
            at=received,
            actor=actor or LATE_ACTOR,
            reason=f"成果材料于{received.astimezone(SHANGHAI):%Y-%m-%d %H:%M}送达，"
            "已过截止时间，逾期不再接收",
        )
    send(
        uow,
        ctx,
        event="results_late",
        recipient=Recipient.for_recommending_unit(app.recommending_unit),
        period=f"{app.plan_number}:late",
        context={"project_title": app.title, "received_at": received},
    )


def _record_on_time(
    uow: UnitOfWork,
    ctx: CampaignContext,
    app: orm.Application,
    row: orm.ResultSubmission,
    received: dt.datetime,
    actor: str | None = None,
) -> None:
    """Material on time (or under a deadline exception): complete → 已提交成果; the unit gets a
    receipt naming what is missing."""
    unit = app.recommending_unit
    complete = not row.missing_parts
    if complete:
        reason = "成果材料齐全，按时提交"
        if row.exception_id:
            reason = f"成果材料齐全，逾期送达，依据截止后例外#{row.exception_id}受理"
        uow.repo.move(
            app,
            ProjectState.RESULTS_SUBMITTED,
            at=received,
            actor=actor or f"{unit.name}",
            reason=reason,
        )
    send(
        uow,
        ctx,
        event="results_receipt",
        recipient=Recipient.for_recommending_unit(unit),
        period=f"{app.plan_number}:{'complete' if complete else f'missing{len(row.parts)}'}",
        context={
            "project_title": app.title,
            "received_at": received,
            "missing_parts": row.missing_parts or "无",
        },
    )


def withdraw(
    uow: UnitOfWork, ctx: CampaignContext, application: int | str, reason: str, by: str
) -> bool:
    """A project withdrawn (已撤回) with its reason and who asked; False when it already was."""
    if not reason.strip():
        raise ResultsError("撤回须填写理由")
    if not by.strip():
        raise ResultsError("撤回须填写经办人")
    with uow:
        app = find_project(uow, ctx, application)
        if ProjectState(app.state) == ProjectState.WITHDRAWN:
            return False
        try:
            uow.repo.move(
                app, ProjectState.WITHDRAWN, at=ctx.now, actor=by.strip(), reason=reason.strip()
            )
        except ValueError as exc:
            raise ResultsError(f"项目 {app.plan_number}：{exc}") from exc
        uow.commit()
    return True


# ---------------------------------------------------------------------------------------------
# the stage's steps


def send_reminders(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """T-14/T-7/T-3/T-1: units with projects that still owe results."""
    report = StageReport.start(STAGE, ctx)
    days = reminder_due(ctx.calendar.results_deadline, ctx.now, ctx.rules.reminder_days)
    if days is None:
        return report
    with uow:
        owing: dict[int, list[orm.Application]] = defaultdict(list)
        for app in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS]):
            owing[app.recommending_unit_id].append(app)
        sent = 0
        for items in owing.values():
            sent += send(
                uow,
                ctx,
                event="results_reminder",
                rule_detail=f"T-{days}",
                recipient=Recipient.for_recommending_unit(items[0].recommending_unit),
                period=f"T-{days}",
                context={
                    **deadline_facts(ctx.calendar.results_deadline, ctx.local_date()),
                    "projects": "\n".join(f"{a.plan_number} {a.title}" for a in items),
                },
            )
        uow.commit()
    if sent:
        report.done.append(f"成果提交截止前{days}天提醒：{sent}个推荐单位仍有项目未提交")
    return report


def close_results(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """At the deadline, once: projects without complete results → 成果逾期未受理; the summary."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "closed"):
            return report
        partial = {
            s.application_id
            for s in uow.results.campaign_submissions(ctx.campaign_id)
            if s.missing_parts
        }
        closed = 0
        for app in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS]):
            uow.repo.move(
                app,
                ProjectState.RESULTS_LATE,
                at=ctx.calendar.results_deadline,
                actor=LATE_ACTOR,
                reason=close_reason(app.id in partial),
            )
            closed += 1
        path = _write_summary(uow, ctx)
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
    report.done.append(
        f"成果提交截止：按时受理{counts['submitted']}项，截止时未提交{closed}项，"
        f"逾期{counts['late']}项，撤回{counts['withdrawn']}项；生成成果材料汇总表"
    )
    report.documents.append(str(path))
    return report


def _counts(uow: UnitOfWork, ctx: CampaignContext) -> dict[str, int]:
    by_state = uow.results.plan_state_counts(ctx.campaign_id)
    return {
        "submitted": by_state.get(ProjectState.RESULTS_SUBMITTED.value, 0),
        "late": by_state.get(ProjectState.RESULTS_LATE.value, 0),
        "withdrawn": by_state.get(ProjectState.WITHDRAWN.value, 0),
        "in_progress": by_state.get(ProjectState.IN_PROGRESS.value, 0),
    }


def _summary_row(i: int, app: orm.Application, s: orm.ResultSubmission | None) -> list[object]:
    parts = (s.parts or {}) if s else {}
    return [
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


def _write_summary(uow: UnitOfWork, ctx: CampaignContext) -> Path:
    """成果材料汇总表: every project of the plan, what arrived and when, and its state."""
    apps = [a for a in uow.repo.applications(ctx.campaign_id) if a.plan_number]
    subs = uow.results.submissions_of([a.id for a in apps])
    rows = [
        _summary_row(i, app, subs.get(app.id))
        for i, app in enumerate(sorted(apps, key=lambda a: a.plan_number or ""), start=1)
    ]
    return write_results_summary(
        ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关成果材料汇总表.xlsx",
        ctx.year,
        _deadline_text(ctx),
        rows,
    )


def results_status(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """How many projects have submitted, are late, withdrawn or still owe results."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        counts = _counts(uow, ctx)
        partial = sum(
            1
            for s in uow.results.campaign_submissions(ctx.campaign_id)
            if s.missing_parts and not s.late
        )
    report.counts["已提交成果"] = counts["submitted"]
    report.counts["成果逾期未受理"] = counts["late"]
    report.counts["已撤回"] = counts["withdrawn"]
    report.counts["尚未提交"] = counts["in_progress"]
    if partial:
        report.counts["材料不齐待补"] = partial
    if not ctx.is_due(ctx.calendar.results_deadline):
        report.waiting.append(
            f"成果提交截止 {_deadline_text(ctx)}：尚有{counts['in_progress']}个项目未提交齐全"
        )
    return report
