"""Stage 4 项目实施: a progress report (进度报告) asked of every in-progress project each period,
the returned reports imported, overdue → reminder → escalation to the recommending unit, and
projects without progress flagged for the dashboard.

One small request workbook per project (what the unit fills and returns), written in bulk by
`documents.checkins`; one message per recommending unit lists its projects and carries their
request files. The periods' dates and the rules are `domain.checkins`'; what is due at a clock is
`domain.stages`'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from documents.checkins import checkin_cell, read_checkin_response, write_checkin_requests
from documents.rows import CheckinRequest
from documents.safety import UnreadableFile
from domain import checkins as rules
from domain.checkins import (
    ESCALATION_REPLY_DAYS,
    INDICATOR_MAX,
    SHOWN_STALE,
    CheckinError,
    CheckinReport,
    period_label,
    project_key,
    request_day,
)
from domain.intake import project_lead
from domain.stages import PeriodWork, checkin_work, implementation_closes
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

__all__ = [
    "STAGE",
    "CheckinError",
    "CheckinImport",
    "chase_overdue",
    "due_work",
    "import_checkins",
    "implementation_status",
    "request_checkins",
    "stale_projects",
]

STAGE = "implementation"


class CheckinImport(BaseModel):
    """Returned progress reports taken in: how many were on time, how many late."""

    on_time: int
    late: int


def due_at(ctx: CampaignContext, period: str) -> dt.datetime:
    return rules.due_at(period, ctx.rules.checkin_due_days)


def escalate_at(ctx: CampaignContext, period: str) -> dt.datetime:
    return rules.escalate_at(period, ctx.rules.checkin_due_days)


def due_work(uow: UnitOfWork, ctx: CampaignContext) -> list[PeriodWork]:
    """The periods with requests to send or overdue reports to chase at the campaign's clock."""
    with uow:
        done = {s.step for s in uow.repo.steps(ctx.campaign_id, STAGE)}
    return checkin_work(ctx.config, ctx.now, done)


# ---------------------------------------------------------------------------------------------
# requests


def _request(app: orm.Application, period: str, due: dt.datetime) -> CheckinRequest:
    return CheckinRequest(
        project_key=project_key(app),
        title=app.title,
        applicant=app.applicant_name,
        recommending_unit=app.recommending_unit.name,
        period=period_label(period),
        due=due.date(),
        indicator=str(app.form.get("goal", ""))[:INDICATOR_MAX],
    )


def _send_requests(
    uow: UnitOfWork,
    ctx: CampaignContext,
    period: str,
    due: dt.datetime,
    by_unit: dict[int, list[tuple[orm.Application, Path]]],
) -> None:
    """One message per recommending unit, listing its projects and carrying their files."""
    units = {u.id: u for u in uow.repo.recommending_units()}
    for unit_id, items in by_unit.items():
        unit = units[unit_id]
        send(
            uow,
            ctx,
            event="checkin_request",
            rule_detail=period,
            recipient=Recipient.for_recommending_unit(unit),
            period=period,
            context={
                "unit": unit.name,
                "project_title": rules.shown_titles([a.title for a, _ in items]),
                "period": period_label(period),
                "due_at": due,
                "projects": "\n".join(f"{project_key(a)} {a.title}" for a, _ in items),
            },
            attachments=[p for _, p in items],
        )


def _requests_folder(ctx: CampaignContext, period: str) -> Path:
    return ctx.folder(STAGE) / "进度报告请求" / period


def _request_path(folder: Path, app: orm.Application) -> Path:
    return folder / app.recommending_unit.code / f"进度报告_{project_key(app)}.xlsx"


def requests_missing(uow: UnitOfWork, ctx: CampaignContext) -> list[str]:
    """The periods already asked whose request files are not all on disk: `request_checkins`
    writes them again."""
    with uow:
        asked = [
            s.step.removeprefix("requested:")
            for s in uow.repo.steps(ctx.campaign_id, STAGE)
            if s.step.startswith("requested:")
        ]
        if not asked:
            return []
        apps = uow.repo.applications(ctx.campaign_id)
        missing = []
        for period in asked:
            asked_ids = uow.implementation.projects_asked(period)  # one query a period
            folder = _requests_folder(ctx, period)
            if any(not _request_path(folder, app).exists() for app in apps if app.id in asked_ids):
                missing.append(period)
        return missing


def _rewrite_requests(
    uow: UnitOfWork, ctx: CampaignContext, period: str, report: StageReport
) -> StageReport:
    """The request files of a period already asked, written again from the database where they
    are missing on disk (they are the request messages' attachments); nothing is sent again."""
    asked = uow.implementation.projects_asked(period)
    folder = _requests_folder(ctx, period)
    due = due_at(ctx, period)
    jobs = [
        (path, _request(app, period, due))
        for app in uow.repo.applications(ctx.campaign_id, with_form=True)
        if app.id in asked and not (path := _request_path(folder, app)).exists()
    ]
    if jobs:
        write_checkin_requests(jobs)
        report.done.append(f"重新生成缺失的{period_label(period)}进度报告请求{len(jobs)}份")
        report.documents.append(str(folder))
    return report


def request_checkins(uow: UnitOfWork, ctx: CampaignContext, period: str) -> StageReport:
    """On the first day after `period`: a CheckIn row and a request file per project, once."""
    report = StageReport.start(STAGE, ctx)
    step = f"requested:{period}"
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, step):
            return _rewrite_requests(uow, ctx, period, report)
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS], with_form=True)
        have = uow.implementation.projects_asked(period)
        due = due_at(ctx, period)
        folder = _requests_folder(ctx, period)
        jobs: list[tuple[Path, CheckinRequest]] = []
        by_unit: dict[int, list[tuple[orm.Application, Path]]] = defaultdict(list)
        for app in apps:
            if app.id not in have:
                uow.add(
                    orm.CheckIn(
                        application_id=app.id, period=period, requested_at=ctx.now, due_at=due
                    )
                )
            path = _request_path(folder, app)
            by_unit[app.recommending_unit.id].append((app, path))
            jobs.append((path, _request(app, period, due)))
        write_checkin_requests(jobs)
        _send_requests(uow, ctx, period, due, by_unit)
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="checkin_requests",
            title=f"{period_label(period)}进度报告请求（{len(jobs)}份）",
            path=str(folder),
        )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            step,
            as_of=ctx.now,
            summary={"projects": len(jobs), "units": len(by_unit)},
        )
        uow.commit()
    report.done.append(
        f"发出{period_label(period)}进度报告请求：{len(jobs)}个项目，{len(by_unit)}个推荐单位"
    )
    report.documents.append(str(folder))
    return report


# ---------------------------------------------------------------------------------------------
# returned reports


class ProjectKeys:
    """The campaign's current projects by id and by plan number: one query per import, not one
    per returned file."""

    def __init__(self, uow: UnitOfWork, ctx: CampaignContext) -> None:
        rows = uow.implementation.project_numbers(ctx.campaign_id)
        self.ids = {app_id for app_id, _ in rows}
        self.by_plan = {plan: app_id for app_id, plan in rows if plan}

    def find(self, key: object) -> int | None:
        """The project's id for a plan number (or a bare id); None when it is not this year's."""
        text = str(key or "").strip().removesuffix(".0")
        if text.isdigit():
            return int(text) if int(text) in self.ids else None
        return self.by_plan.get(text)


def _store(
    uow: UnitOfWork,
    ctx: CampaignContext,
    reports: Sequence[CheckinReport],
    submitted_at: dt.datetime,
) -> list[bool]:
    """Store the reports (their CheckIn rows loaded in one query); per report, on time or not.

    A report already stored with the same content (the same file imported again) keeps the time
    it was first received; a changed report replaces it and counts from `submitted_at`."""
    rows = {
        (row.application_id, row.period): row
        for row in uow.implementation.checkins(
            {r.application_id for r in reports}, {r.period for r in reports}
        )
    }
    on_time: list[bool] = []
    for report in reports:
        row = rows.get((report.application_id, report.period))
        if row is None:  # reported before it was asked: keep it, due as it would have been
            row = orm.CheckIn(
                application_id=report.application_id,
                period=report.period,
                requested_at=submitted_at,
                due_at=due_at(ctx, report.period),
            )
            uow.add(row)
            rows[(report.application_id, report.period)] = row
        content = report.content()
        same = (row.phase, row.percent_done, row.indicator_value, row.problems) == content
        if row.submitted_at is None or not same:  # the same report again keeps its first time
            row.submitted_at = submitted_at
            row.phase, row.percent_done, row.indicator_value, row.problems = content
        on_time.append(row.submitted_at <= row.due_at)
    return on_time


def read_checkin_file(projects: ProjectKeys, path: Path) -> tuple[CheckinReport, list[str]]:
    """One returned request file (safety-checked before it is parsed); the problems found
    (empty when it is good)."""
    empty = CheckinReport(application_id=0, period="")
    try:
        values = read_checkin_response(path)
    except FileNotFoundError:
        return empty, [rules.file_missing(str(path))]
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        return empty, [rules.file_refused(exc.message, str(path))]
    except Exception as exc:  # not a progress report workbook
        return empty, [rules.file_not_a_report(str(path), exc)]
    return rules.check_returned_values(
        values, source=str(path), cell=checkin_cell, find_project=projects.find
    )


def import_checkins(
    uow: UnitOfWork,
    ctx: CampaignContext,
    paths: Sequence[Path],
    received_at: dt.datetime | None = None,
    *,
    actor: str = SYSTEM_ACTOR,
) -> CheckinImport:
    """Returned progress reports; all files or none (`CheckinError` names every problem).
    `actor`: who handed them in (the staff member, the mail's sender)."""
    with uow:
        projects = ProjectKeys(uow, ctx)
        reports = []
        problems: list[str] = []
        for path in paths:
            report, found = read_checkin_file(projects, Path(path))
            problems += found
            reports.append(report)
        if problems:
            raise rules.import_refused(problems)
        timely = _store(uow, ctx, reports, received_at or ctx.now)
        record_action(uow, "checkins_import", actor, {"files": [Path(p).name for p in paths]}, ctx)
        uow.commit()
    on_time = sum(timely)
    return CheckinImport(on_time=on_time, late=len(timely) - on_time)


# ---------------------------------------------------------------------------------------------
# overdue, escalation


def _remind(
    uow: UnitOfWork,
    ctx: CampaignContext,
    period: str,
    overdue: dict[int, dt.datetime],
    apps: dict[int, orm.Application],
) -> int:
    """A reminder per overdue project to its lead (else its recommending unit)."""
    reminded = 0
    days = (ctx.local_date() - due_at(ctx, period).date()).days
    for app_id, due in overdue.items():
        app = apps[app_id]
        lead = project_lead(app.people)  # reminded first, else the unit
        recipient: Recipient = (
            Recipient.for_project_person(lead)
            if lead
            else Recipient.for_recommending_unit(app.recommending_unit)
        )
        reminded += send(
            uow,
            ctx,
            event="checkin_overdue",
            rule_detail=period,
            recipient=recipient,
            period=f"{period}:{app.id}",
            context={
                "project_title": app.title,
                "period": period_label(period),
                "due_at": due,
                "days_overdue": max(days, 1),
            },
        )
    return reminded


def _escalate(
    uow: UnitOfWork,
    ctx: CampaignContext,
    period: str,
    overdue: dict[int, dt.datetime],
    apps: dict[int, orm.Application],
) -> int:
    """One message per recommending unit naming its projects still silent, and for how long."""
    periods = ctx.calendar.checkin_periods()
    submitted = uow.implementation.reported(overdue)
    by_unit: dict[int, list[orm.Application]] = defaultdict(list)
    for app_id in overdue:
        by_unit[apps[app_id].recommending_unit_id].append(apps[app_id])
    escalated = 0
    for items in by_unit.values():
        unit = items[0].recommending_unit
        missed = [rules.missed_in_a_row(submitted.get(a.id, {}), periods, period) for a in items]
        escalated += send(
            uow,
            ctx,
            event="escalation",
            rule_detail=period,
            recipient=Recipient.for_recommending_unit(unit),
            period=period,
            context={
                "count": len(items),
                "periods": min(missed),
                "projects": "\n".join(
                    f"{project_key(a)} {a.title}（{a.applicant_name}，连续{m}期未报送）"
                    for a, m in zip(items, missed, strict=True)
                ),
                "reply_by": ctx.local_date() + dt.timedelta(days=ESCALATION_REPLY_DAYS),
                # the projects by id, so that the delivery day's review names only those
                # still silent then
                "project_items": [
                    [a.id, f"{project_key(a)} {a.title}（{a.applicant_name}，连续{m}期未报送）"]
                    for a, m in zip(items, missed, strict=True)
                ],
            },
        )
    return escalated


def chase_overdue(uow: UnitOfWork, ctx: CampaignContext, period: str) -> StageReport:
    """After the due time: a reminder per overdue project; later the unit is asked to act.

    Once the escalation is due and done, the period is closed (stage step ``chased:<period>``):
    later runs have nothing left to send for it and skip it without reading the check-ins.
    """
    report = StageReport.start(STAGE, ctx)
    if ctx.now <= due_at(ctx, period):
        return report
    escalate = ctx.is_due(escalate_at(ctx, period))
    step = f"chased:{period}"
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, step):
            return report
        overdue = uow.implementation.overdue(ctx.campaign_id, period)
        apps = uow.implementation.projects_with_people(overdue)
        reminded = _remind(uow, ctx, period, overdue, apps)
        escalated = _escalate(uow, ctx, period, overdue, apps) if escalate and overdue else 0
        if escalate:
            uow.repo.mark_step(
                ctx.campaign_id,
                STAGE,
                step,
                as_of=ctx.now,
                summary={"overdue": len(overdue), "units_escalated": escalated},
            )
        uow.commit()
    if reminded:
        report.done.append(f"{period_label(period)}进度报告逾期提醒：{reminded}个项目")
    if escalated:
        report.done.append(
            f"{period_label(period)}逾期未报送提请推荐单位督办：{escalated}个推荐单位"
        )
    return report


# ---------------------------------------------------------------------------------------------
# status


def stale_projects(uow: UnitOfWork, ctx: CampaignContext) -> list[tuple[str, str, str]]:
    """Projects with no progress over the last `checkin_stale_periods` past-due periods:
    (plan number, title, recommending unit)."""
    n = ctx.rules.checkin_stale_periods
    past = [p for p in ctx.calendar.checkin_periods() if ctx.now > due_at(ctx, p)]
    if len(past) < n:
        return []
    window, before = past[-n:], past[:-n]
    with uow:
        apps = uow.implementation.projects_in_progress(ctx.campaign_id)
        by_app = uow.implementation.progress(ctx.campaign_id)
    return [
        (plan_number or str(app_id), title, unit)
        for app_id, plan_number, title, unit in apps
        if rules.is_stale(by_app.get(app_id, {}), window, before)
    ]


def implementation_status(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """The stage's counts, its stale projects, the next request, and whether it is complete."""
    report = StageReport.start(STAGE, ctx)
    periods = ctx.calendar.checkin_periods()
    with uow:
        asked, reported, reported_late, missing = uow.implementation.totals(
            ctx.campaign_id, ctx.now
        )
    report.counts["进度报告（已请求）"] = asked
    report.counts["进度报告（已报送）"] = reported
    report.counts["进度报告（逾期报送）"] = reported_late
    report.counts["进度报告（逾期未报）"] = missing
    stale = stale_projects(uow, ctx)
    if stale:
        report.counts["停滞项目"] = len(stale)
        shown = "；".join(f"{k} {t}（{u}）" for k, t, u in stale[:SHOWN_STALE])
        more = f"等{len(stale)}个" if len(stale) > SHOWN_STALE else ""
        report.waiting.append(f"连续{ctx.rules.checkin_stale_periods}期无进展的项目{more}：{shown}")
    next_request = next((p for p in periods if not ctx.is_due(request_day(p))), None)
    if next_request:
        report.waiting.append(
            f"下一期进度报告请求：{request_day(next_request):%Y-%m-%d}（{period_label(next_request)}）"
        )
    report.complete = implementation_closes(ctx.config, ctx.now)
    return report
