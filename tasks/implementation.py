"""Stage 4 项目实施: a progress report (进度报告) asked of every in-progress project each period,
the returned reports imported, overdue → reminder → escalation to the recommending unit, and
projects without progress flagged for the dashboard.

Speed: one small request workbook per project (what the unit fills and returns). openpyxl costs
~17 ms a workbook, 20 s for 1,200 projects, so the writer runs once per period with placeholders
and each project's copy gets its texts put into the sheets' XML (~1 ms each; see
`write_request_files`). One message per recommending unit lists its projects and carries their
request files.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from prefect import task
from pydantic import BaseModel
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from documents.reports import CHECKIN_LABELS, read_checkin_response, write_checkin_request
from documents.rows import PDCA_PHASES, CheckinRequest
from documents.safety import UnreadableFile
from documents.xlsx_style import HEADER_ROW
from documents.zip_patch import patched_zip
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "implementation"
ESCALATE_AFTER_DAYS = 5  # after the reminder, days before the recommending unit is asked


class CheckinError(ValueError):
    """A progress report that cannot be imported; names the file, the cell and the fix."""


class CheckinReport(BaseModel):
    """One returned progress report, as read and checked."""

    application_id: int
    period: str
    phase: str = ""
    percent_done: float | None = None
    indicator_value: str = ""
    problems: str = ""


# ---------------------------------------------------------------------------------------------
# periods


def period_end(period: str) -> dt.date:
    year, month = (int(x) for x in period.split("-"))
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def request_day(period: str) -> dt.date:
    """The first day after the period ends."""
    return period_end(period) + dt.timedelta(days=1)


def due_at(ctx: CampaignContext, period: str) -> dt.datetime:
    day = request_day(period) + dt.timedelta(days=ctx.rules.checkin_due_days)
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


def escalate_at(ctx: CampaignContext, period: str) -> dt.datetime:
    return due_at(ctx, period) + dt.timedelta(days=ESCALATE_AFTER_DAYS)


def period_label(period: str) -> str:
    year, month = period.split("-")
    return f"{year}年{int(month)}月"


def parse_period(text: object) -> str | None:
    m = re.search(r"(\d{4})\s*[年-]\s*(\d{1,2})", str(text or ""))
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}" if m else None


def project_key(app: orm.Application) -> str:
    return app.plan_number or str(app.id)


# ---------------------------------------------------------------------------------------------
# requests


PLACEHOLDERS = {
    "project_key": "@@KEY@@",
    "title": "@@TITLE@@",
    "applicant": "@@APPLICANT@@",
    "recommending_unit": "@@UNIT@@",
    "indicator": "@@INDICATOR@@",
}
MARKS = tuple(PLACEHOLDERS.values())


def write_request_files(jobs: Sequence[tuple[Path, CheckinRequest]]) -> list[Path]:
    """Write the request workbooks: one per (period, due) through `write_checkin_request` with
    placeholders, then each project's copy with its own texts put into the sheets' XML (strings are
    written inline, escaped here).

    openpyxl costs ~17 ms a workbook (20 s for 1,200 projects); the copies hold what the writer
    produces for that project, and cost ~0.2 ms each: only the parts with placeholders are
    deflated again, the others are copied compressed (`documents.zip_patch`).
    """
    written: list[Path] = []
    # per (period, due): the template workbook, and its parts that carry the placeholders
    templates: dict[tuple[str, dt.date | None], tuple[bytes, dict[str, str]]] = {}
    for path, req in jobs:
        key = (req.period, req.due)
        if key not in templates:
            probe = path.with_name(f".template_{path.name}")
            placeholder = req.model_copy(
                update={**PLACEHOLDERS, "indicator_unit": "", "baseline": "", "target": ""}
            )
            write_checkin_request(probe, placeholder)
            source = probe.read_bytes()
            probe.unlink()
            with zipfile.ZipFile(io.BytesIO(source)) as z:
                marked = {
                    name: text
                    for name in z.namelist()
                    if name == "xl/sharedStrings.xml" or name.startswith("xl/worksheets/")
                    if any(mark in (text := z.read(name).decode("utf-8")) for mark in MARKS)
                }
            templates[key] = (source, marked)
        source, marked = templates[key]
        values = {PLACEHOLDERS[f]: escape(str(getattr(req, f))) for f in PLACEHOLDERS}
        parts = {}
        for name, text in marked.items():
            for mark, value in values.items():
                text = text.replace(mark, value)
            parts[name] = text.encode("utf-8")
        path.write_bytes(patched_zip(source, parts))
        written.append(path)
    return written


@task(name="checkin-requests", task_run_name="checkin-requests-{period}")
def request_checkins(ctx: CampaignContext, outcome: StageReport, period: str) -> None:
    """On the first day after `period`: a CheckIn row and a request file per project, once."""
    step = f"requested:{period}"
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, step):
            return
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS], with_form=True)
        have = set(
            uow.session.scalars(
                select(orm.CheckIn.application_id).where(orm.CheckIn.period == period)
            )
        )
        due = due_at(ctx, period)
        folder = ctx.folder(STAGE) / "进度报告请求" / period
        jobs: list[tuple[Path, CheckinRequest]] = []
        by_unit: dict[int, list[tuple[orm.Application, Path]]] = defaultdict(list)
        for app in apps:
            if app.id not in have:
                uow.session.add(
                    orm.CheckIn(
                        application_id=app.id, period=period, requested_at=ctx.now, due_at=due
                    )
                )
            unit = app.recommending_unit
            path = folder / unit.code / f"进度报告_{project_key(app)}.xlsx"
            by_unit[unit.id].append((app, path))
            jobs.append(
                (
                    path,
                    CheckinRequest(
                        project_key=project_key(app),
                        title=app.title,
                        applicant=app.applicant_name,
                        recommending_unit=unit.name,
                        period=period_label(period),
                        due=due.date(),
                        indicator=str(app.form.get("goal", ""))[:80],
                    ),
                )
            )
        for unit_folder in {p.parent for p, _ in jobs}:
            unit_folder.mkdir(parents=True, exist_ok=True)
        write_request_files(jobs)
        units = {u.id: u for u in uow.repo.recommending_units()}
        for unit_id, items in by_unit.items():
            unit = units[unit_id]
            titles = [a.title for a, _ in items]
            shown = "、".join(titles[:3]) + (f"等{len(titles)}个项目" if len(titles) > 3 else "")
            send(
                uow,
                ctx,
                event="checkin_request",
                rule_detail=period,
                recipient=Recipient.for_recommending_unit(unit),
                period=period,
                context={
                    "unit": unit.name,
                    "project_title": shown,
                    "period": period_label(period),
                    "due_at": due,
                    "projects": "\n".join(f"{project_key(a)} {a.title}" for a, _ in items),
                },
                attachments=[p for _, p in items],
            )
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
    outcome.done.append(
        f"发出{period_label(period)}进度报告请求：{len(jobs)}个项目，{len(by_unit)}个推荐单位"
    )
    outcome.documents.append(str(folder))


# ---------------------------------------------------------------------------------------------
# returned reports


class ProjectKeys:
    """The campaign's current projects by id and by plan number: one query per import, not one
    per returned file."""

    def __init__(self, uow: UnitOfWork, ctx: CampaignContext) -> None:
        rows = uow.session.execute(
            select(orm.Application.id, orm.Application.plan_number).where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.Application.is_current.is_(True),
            )
        ).all()
        self.ids = {app_id for app_id, _ in rows}
        self.by_plan = {plan: app_id for app_id, plan in rows if plan}

    def find(self, key: object) -> int | None:
        """The project's id for a plan number (or a bare id); None when it is not this year's."""
        text = str(key or "").strip().removesuffix(".0")
        if text.isdigit():
            return int(text) if int(text) in self.ids else None
        return self.by_plan.get(text)


def record_checkin(
    ctx: CampaignContext,
    application: int | str,
    period: str,
    *,
    phase: str = "",
    percent_done: float | None = None,
    indicator_value: str = "",
    problems: str = "",
    submitted_at: dt.datetime | None = None,
) -> bool:
    """Store one progress report; returns True when it was on time."""
    report = CheckinReport(
        application_id=0,
        period=period,
        phase=phase,
        percent_done=percent_done,
        indicator_value=indicator_value,
        problems=problems,
    )
    with UnitOfWork() as uow:
        app_id = ProjectKeys(uow, ctx).find(application)
        if app_id is None:
            raise CheckinError(
                f"找不到项目 {application}：请填写计划编号（如 TJZLGG-{ctx.year}-0001）"
            )
        report.application_id = app_id
        if phase and phase not in PDCA_PHASES:
            raise CheckinError(f"PDCA阶段“{phase}”无效：应为{'/'.join(PDCA_PHASES)}")
        if percent_done is not None and not 0 <= percent_done <= 100:
            raise CheckinError(f"完成进度 {percent_done} 无效：应为0～100之间的数值")
        (on_time,) = _store(uow, ctx, [report], submitted_at or ctx.now)
        uow.commit()
    return on_time


def _store(
    uow: UnitOfWork,
    ctx: CampaignContext,
    reports: Sequence[CheckinReport],
    submitted_at: dt.datetime,
) -> list[bool]:
    """Store the reports (their CheckIn rows loaded in one query); per report, on time or not.

    A report already stored with the same content (the same file imported again) keeps the time
    it was first received; a changed report replaces it and counts from `submitted_at`."""
    ids = {r.application_id for r in reports}
    rows = {
        (row.application_id, row.period): row
        for row in uow.session.scalars(
            select(orm.CheckIn).where(
                orm.CheckIn.application_id.in_(sorted(ids)),
                orm.CheckIn.period.in_(sorted({r.period for r in reports})),
            )
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
            uow.session.add(row)
            rows[(report.application_id, report.period)] = row
        content = (
            report.phase,
            report.percent_done,
            report.indicator_value[:100],
            report.problems,
        )
        same = (row.phase, row.percent_done, row.indicator_value, row.problems) == content
        if row.submitted_at is None or not same:  # the same report again keeps its first time
            row.submitted_at = submitted_at
            row.phase, row.percent_done, row.indicator_value, row.problems = content
        on_time.append(row.submitted_at <= row.due_at)
    return on_time


def _cell(field: str) -> str:
    return f"B{HEADER_ROW + list(CHECKIN_LABELS).index(field)}"


def read_checkin_file(projects: ProjectKeys, path: Path) -> tuple[CheckinReport, list[str]]:
    """One returned request file; the problems found (empty when it is good)."""
    problems: list[str] = []
    empty = CheckinReport(application_id=0, period="")
    try:
        values = read_checkin_response(path)
    except FileNotFoundError:
        return empty, [f"找不到文件 {path}：请检查路径"]
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        return empty, [f"{exc.message}（{path}）"]
    except Exception as exc:  # not a progress report workbook
        return empty, [
            f"文件 {path} 无法读取（{exc}）：请使用系统发出的进度报告表填写后返回，勿改动工作表名称"
        ]
    app_id = projects.find(values.get("project_key"))
    if app_id is None:
        problems.append(
            f"文件 {path} 单元格 {_cell('project_key')}（项目编号）“{values.get('project_key')}”"
            "不是本年度的项目：请勿修改预填的项目编号"
        )
    period = parse_period(values.get("period"))
    if period is None:
        problems.append(
            f"文件 {path} 单元格 {_cell('period')}（报告期）“{values.get('period')}”无法识别：请勿修改预填的报告期"
        )
    phase = str(values.get("phase") or "").strip()
    if phase and phase not in PDCA_PHASES:
        problems.append(
            f"文件 {path} 单元格 {_cell('phase')}（当前PDCA阶段）“{phase}”无效：请从下拉列表选择{'/'.join(PDCA_PHASES)}"
        )
    raw = values.get("percent")
    percent: float | None = None
    if raw not in (None, ""):
        try:
            percent = float(str(raw).strip().rstrip("%"))
            if not 0 <= percent <= 100:
                raise ValueError
        except ValueError:
            problems.append(
                f"文件 {path} 单元格 {_cell('percent')}（完成进度）“{raw}”无效：请填写0～100之间的数值"
            )
    if not phase and percent is None:
        problems.append(
            f"文件 {path} 未填写 {_cell('phase')}（当前PDCA阶段）和 {_cell('percent')}（完成进度）：请填写后再返回"
        )
    text_problems = "\n".join(
        str(values.get(k) or "").strip() for k in ("problems", "help") if values.get(k)
    )
    report = CheckinReport(
        application_id=app_id or 0,
        period=period or "",
        phase=phase,
        percent_done=percent,
        indicator_value=str(values.get("current") or "").strip(),
        problems=text_problems,
    )
    return report, problems


def import_checkins(
    ctx: CampaignContext, paths: Sequence[Path], received_at: dt.datetime | None = None
) -> tuple[int, int]:
    """Returned progress reports; all files or none. Returns (on time, late)."""
    with UnitOfWork() as uow:
        projects = ProjectKeys(uow, ctx)
        reports = []
        problems: list[str] = []
        for path in paths:
            report, found = read_checkin_file(projects, Path(path))
            problems += found
            reports.append(report)
        if problems:
            raise CheckinError(f"{len(problems)}处错误，未导入任何进度报告：" + "；".join(problems))
        timely = _store(uow, ctx, reports, received_at or ctx.now)
        uow.commit()
    on_time = sum(timely)
    return on_time, len(timely) - on_time


# ---------------------------------------------------------------------------------------------
# overdue, escalation, stale projects


def _lead(app: orm.Application) -> orm.ProjectPerson | None:
    for role in ("项目负责人", "质量负责人"):
        for p in app.people:
            if p.role == role:
                return p
    return None


def _missed_in_a_row(submitted: dict[str, bool], periods: list[str], upto: str) -> int:
    """Periods up to `upto` asked of the project and not reported, counted back from `upto`."""
    n = 0
    for p in reversed(periods[: periods.index(upto) + 1]):
        if p not in submitted or submitted[p]:
            break
        n += 1
    return n


@task(name="checkin-overdue", task_run_name="checkin-overdue-{period}")
def chase_overdue(ctx: CampaignContext, outcome: StageReport, period: str) -> None:
    """After the due time: a reminder per overdue project; later the unit is asked to act.

    Once the escalation is due and done, the period is closed (stage step ``chased:<period>``):
    later runs have nothing left to send for it and skip it without reading the check-ins.
    """
    if ctx.now <= due_at(ctx, period):
        return
    escalate = ctx.is_due(escalate_at(ctx, period))
    periods = ctx.calendar.checkin_periods()
    step = f"chased:{period}"
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, step):
            return
        overdue = {
            app_id: due
            for app_id, due in uow.session.execute(
                select(orm.CheckIn.application_id, orm.CheckIn.due_at)
                .join(orm.Application)
                .where(
                    orm.Application.campaign_id == ctx.campaign_id,
                    orm.Application.state == ProjectState.IN_PROGRESS.value,
                    orm.CheckIn.period == period,
                    orm.CheckIn.submitted_at.is_(None),
                )
                .order_by(orm.CheckIn.id)
            )
        }
        apps = {
            a.id: a
            for a in uow.session.scalars(
                select(orm.Application)
                .where(orm.Application.id.in_(sorted(overdue)))
                .options(
                    selectinload(orm.Application.people),
                    selectinload(orm.Application.recommending_unit),
                )
            )
        }
        reminded = 0
        days = (ctx.local_date() - due_at(ctx, period).date()).days
        for app_id, due in overdue.items():
            app = apps[app_id]
            lead = _lead(app)
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
        escalated = 0
        if escalate and overdue:
            submitted: dict[int, dict[str, bool]] = defaultdict(dict)
            for app_id, p, at in uow.session.execute(
                select(
                    orm.CheckIn.application_id, orm.CheckIn.period, orm.CheckIn.submitted_at
                ).where(orm.CheckIn.application_id.in_(sorted(overdue)))
            ):
                submitted[app_id][p] = at is not None
            by_unit: dict[int, list[orm.Application]] = defaultdict(list)
            for app_id in overdue:
                by_unit[apps[app_id].recommending_unit_id].append(apps[app_id])
            for items in by_unit.values():
                unit = items[0].recommending_unit
                missed = [_missed_in_a_row(submitted[a.id], periods, period) for a in items]
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
                        "reply_by": ctx.local_date() + dt.timedelta(days=7),
                    },
                )
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
        outcome.done.append(f"{period_label(period)}进度报告逾期提醒：{reminded}个项目")
    if escalated:
        outcome.done.append(
            f"{period_label(period)}逾期未报送提请推荐单位督办：{escalated}个推荐单位"
        )


def stale_projects(ctx: CampaignContext) -> list[tuple[str, str, str]]:
    """Projects with no progress over the last `checkin_stale_periods` past-due periods:
    (plan number, title, recommending unit)."""
    n = ctx.rules.checkin_stale_periods
    past = [p for p in ctx.calendar.checkin_periods() if ctx.now > due_at(ctx, p)]
    if len(past) < n:
        return []
    window, before = past[-n:], past[:-n]
    with UnitOfWork() as uow:
        apps = uow.session.execute(
            select(
                orm.Application.id,
                orm.Application.plan_number,
                orm.Application.title,
                orm.RecommendingUnit.name,
            )
            .join(orm.RecommendingUnit)
            .where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.Application.is_current.is_(True),
                orm.Application.state == ProjectState.IN_PROGRESS.value,
            )
            .order_by(orm.Application.id)
        ).all()
        # per project and period: the reported percentage (None: asked, not reported)
        by_app: dict[int, dict[str, float | None]] = defaultdict(dict)
        for app_id, period, percent, submitted_at in uow.session.execute(
            select(
                orm.CheckIn.application_id,
                orm.CheckIn.period,
                orm.CheckIn.percent_done,
                orm.CheckIn.submitted_at,
            )
            .join(orm.Application)
            .where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.Application.state == ProjectState.IN_PROGRESS.value,
            )
        ):
            by_app[app_id][period] = (percent or 0.0) if submitted_at is not None else None
    stale = []
    for app_id, plan_number, title, unit in apps:
        mine = by_app.get(app_id, {})
        if not any(p in mine for p in window):
            continue  # never asked (joined later)
        best_before = max(
            (v for p in before if (v := mine.get(p)) is not None),
            default=0.0,
        )
        recent = [v for p in window if (v := mine.get(p)) is not None]
        if best_before >= 100 or (recent and max(recent) >= 100):
            continue
        if not recent or max(recent) <= best_before:
            stale.append((plan_number or str(app_id), title, unit))
    return stale


def implementation_status(ctx: CampaignContext, outcome: StageReport) -> None:
    periods = ctx.calendar.checkin_periods()
    with UnitOfWork() as uow:
        asked, reported, reported_late, missing = uow.session.execute(
            select(
                func.count(),
                func.count(orm.CheckIn.submitted_at),
                func.sum(case((orm.CheckIn.submitted_at > orm.CheckIn.due_at, 1), else_=0)),
                func.sum(
                    case(
                        (
                            and_(
                                orm.CheckIn.submitted_at.is_(None),
                                orm.CheckIn.due_at < ctx.now,
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
            )
            .select_from(orm.CheckIn)
            .join(orm.Application)
            .where(orm.Application.campaign_id == ctx.campaign_id)
        ).one()
    outcome.counts["进度报告（已请求）"] = asked
    outcome.counts["进度报告（已报送）"] = reported
    outcome.counts["进度报告（逾期报送）"] = reported_late or 0
    outcome.counts["进度报告（逾期未报）"] = missing or 0
    stale = stale_projects(ctx)
    if stale:
        outcome.counts["停滞项目"] = len(stale)
        shown = "；".join(f"{k} {t}（{u}）" for k, t, u in stale[:20])
        more = f"等{len(stale)}个" if len(stale) > 20 else ""
        outcome.waiting.append(
            f"连续{ctx.rules.checkin_stale_periods}期无进展的项目{more}：{shown}"
        )
    next_request = next((p for p in periods if not ctx.is_due(request_day(p))), None)
    if next_request:
        outcome.waiting.append(
            f"下一期进度报告请求：{request_day(next_request):%Y-%m-%d}（{period_label(next_request)}）"
        )
    outcome.complete = bool(periods) and ctx.is_due(escalate_at(ctx, periods[-1]))
