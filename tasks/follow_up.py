"""Stage 5 跟踪服务: the recommending units' visit records imported from .xlsx, and a coverage
report per unit (every project visited at least once before the results deadline) at each
period end and at the results deadline."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from prefect import task
from pydantic import BaseModel
from sqlalchemy import select

from documents.reports import write_visit_coverage
from documents.rows import VisitCoverageRow
from documents.safety import UnreadableFile
from documents.xlsx_reader import LightWorkbook
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from services.context import CampaignContext, StageReport
from storage import orm
from storage.uow import UnitOfWork
from tasks.implementation import period_label, request_day

STAGE = "follow_up"
VISIT_COLUMNS = ("推荐单位", "走访日期", "走访人", "发现问题与建议")
KEY_COLUMNS = ("项目编号", "项目名称")
# Projects that are (or were) being carried out: the ones a unit must visit.
VISITED_STATES = (
    ProjectState.IN_PROGRESS,
    ProjectState.RESULTS_SUBMITTED,
    ProjectState.RESULTS_LATE,
    ProjectState.EVALUATED,
    ProjectState.EXCELLENT,
    ProjectState.PUBLISHED,
)


class VisitImportError(ValueError):
    """A visit workbook that cannot be imported; names file, row, column and the fix."""


class VisitImportResult(BaseModel):
    rows: int
    new: int
    duplicates: int


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class _Project(NamedTuple):
    id: int
    plan_number: str | None
    title: str
    unit: str  # the recommending unit's name


def _visited_projects(
    uow: UnitOfWork,
    ctx: CampaignContext,
    *,
    plans: set[str] | None = None,
) -> list[_Project]:
    """The projects a unit must visit, as plain columns (no ORM objects: the visit import runs
    once per file, hundreds of times a campaign). With `plans`: only those plan numbers."""
    query = (
        select(
            orm.Application.id,
            orm.Application.plan_number,
            orm.Application.title,
            orm.RecommendingUnit.name,
        )
        .join(orm.RecommendingUnit, orm.Application.recommending_unit_id == orm.RecommendingUnit.id)
        .where(
            orm.Application.campaign_id == ctx.campaign_id,
            orm.Application.is_current.is_(True),
            orm.Application.state.in_([s.value for s in VISITED_STATES]),
        )
        .order_by(orm.Application.id)
    )
    if plans is not None:
        query = query.where(orm.Application.plan_number.in_(sorted(plans)))
    return [_Project(*row) for row in uow.session.execute(query)]


def import_visits(ctx: CampaignContext, xlsx: Path) -> VisitImportResult:
    """走访记录: columns 推荐单位, 项目编号 or 项目名称, 走访日期, 走访人, 发现问题与建议.

    The header row is the first row that names 走访日期. All rows or none are stored; a visit
    already stored (same project, date and visitor) is skipped.
    """
    try:
        wb = LightWorkbook(xlsx)
        try:
            by_number = wb.rows(wb.first_sheet())
        finally:
            wb.close()
    except FileNotFoundError as exc:
        raise VisitImportError(f"找不到文件 {xlsx}：请检查路径") from exc
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        raise VisitImportError(f"{exc.message}（{xlsx}）") from exc
    except Exception as exc:
        raise VisitImportError(
            f"文件 {xlsx} 不是有效的 .xlsx 文件（{exc}）：请另存为 .xlsx 后导入"
        ) from exc
    last = max(by_number, default=0)
    all_rows: list[tuple[object, ...]] = [by_number.get(n, ()) for n in range(1, last + 1)]
    header_at = next(
        (
            i
            for i, r in enumerate(all_rows[:10])
            if any(str(c or "").strip() == "走访日期" for c in r)
        ),
        None,
    )
    if header_at is None:
        raise VisitImportError(
            f"文件 {xlsx} 的第一个工作表前10行中找不到表头“走访日期”：请使用列"
            f"{'、'.join(('推荐单位', '项目名称或项目编号', '走访日期', '走访人', '发现问题与建议'))}"
        )
    headers = [str(c or "").strip() for c in all_rows[header_at]]
    missing = [h for h in VISIT_COLUMNS if h not in headers]
    if not any(k in headers for k in KEY_COLUMNS):
        missing.append("项目编号或项目名称")
    if missing:
        raise VisitImportError(
            f"文件 {xlsx} 第{header_at + 1}行表头缺少列：{'、'.join(missing)}。请补充这些列后重新导入。"
        )
    col = {h: i for i, h in enumerate(headers) if h}

    def letter(name: str) -> str:
        return chr(ord("A") + col[name]) if col[name] < 26 else f"第{col[name] + 1}"

    named = [list(r) + [None] * (len(headers) - len(r)) for r in all_rows[header_at + 1 :]]

    def cell(values: list[object], name: str) -> str:
        return str(values[col[name]] or "").strip() if name in col else ""

    plans = {cell(r, "项目编号") for r in named} - {""}
    by_title_needed = any(not cell(r, "项目编号") and cell(r, "项目名称") for r in named)
    with UnitOfWork() as uow:
        # Rows that name a project by its title are matched against all projects (same-name
        # checks); files with plan numbers only need just those projects.
        apps = _visited_projects(uow, ctx, plans=None if by_title_needed else plans)
        by_plan = {a.plan_number: a for a in apps if a.plan_number}
        by_title: dict[tuple[str, str], list[_Project]] = defaultdict(list)
        by_title_only: dict[str, list[_Project]] = defaultdict(list)
        for a in apps:
            by_title[(a.unit, a.title.strip())].append(a)
            by_title_only[a.title.strip()].append(a)
        problems: list[str] = []
        visits: list[tuple[_Project, dt.date, str, str]] = []
        for n, values in enumerate(named, start=header_at + 2):

            def get(name: str, values: list[object] = values) -> str:
                return cell(values, name)

            if not any(str(v or "").strip() for v in values):
                continue
            unit, plan, title = get("推荐单位"), get("项目编号"), get("项目名称")
            app = None
            if plan:
                app = by_plan.get(plan)
                if app is None:
                    problems.append(
                        f"第{n}行 {letter('项目编号')}列（项目编号）“{plan}”不在{ctx.year}年项目计划中：请核对计划编号"
                    )
                    continue
            elif title:
                found = by_title.get((unit, title)) or by_title_only.get(title, [])
                if len(found) != 1:
                    why = "找不到该项目" if not found else "有多个同名项目"
                    problems.append(
                        f"第{n}行 {letter('项目名称')}列（项目名称）“{title}”{why}：请填写项目编号（如 TJZLGG-{ctx.year}-0001）"
                    )
                    continue
                app = found[0]
            else:
                key = "项目编号" if "项目编号" in col else "项目名称"
                problems.append(f"第{n}行 {letter(key)}列为空：请填写项目编号或项目名称")
                continue
            if unit and unit != app.unit:
                problems.append(
                    f"第{n}行 {letter('推荐单位')}列（推荐单位）“{unit}”与项目的推荐单位“{app.unit}”不符：请核对"
                )
                continue
            day = _as_date(values[col["走访日期"]])
            if day is None:
                problems.append(
                    f"第{n}行 {letter('走访日期')}列（走访日期）“{get('走访日期')}”无法识别：请填写日期，如 {ctx.year}-06-15"
                )
                continue
            if day > ctx.local_date():
                problems.append(
                    f"第{n}行 {letter('走访日期')}列（走访日期）{day} 晚于今天：请核对日期"
                )
                continue
            visitor = get("走访人")
            if not visitor:
                problems.append(f"第{n}行 {letter('走访人')}列（走访人）为空：请填写走访人姓名")
                continue
            visits.append((app, day, visitor[:100], get("发现问题与建议")))
        if problems:
            raise VisitImportError(
                f"文件 {xlsx} 有{len(problems)}处错误，未导入任何走访记录：" + "；".join(problems)
            )
        existing: set[tuple[int, dt.date, str]] = {
            (app_id, day, visitor)
            for app_id, day, visitor in uow.session.execute(
                select(
                    orm.FollowUpVisit.application_id,
                    orm.FollowUpVisit.visited_on,
                    orm.FollowUpVisit.visitor,
                ).where(orm.FollowUpVisit.application_id.in_(sorted({a.id for a, *_ in visits})))
            )
        }
        new = 0
        for app, day, visitor, notes in visits:
            key = (app.id, day, visitor)
            if key in existing:
                continue
            existing.add(key)
            uow.session.add(
                orm.FollowUpVisit(
                    application_id=app.id, visited_on=day, visitor=visitor, notes=notes
                )
            )
            new += 1
        uow.commit()
    return VisitImportResult(rows=len(visits), new=new, duplicates=len(visits) - new)


def coverage_rows(ctx: CampaignContext, until: dt.date) -> list[VisitCoverageRow]:
    """Per recommending unit: its projects, how many visited by `until`, who is behind."""
    with UnitOfWork() as uow:
        apps = _visited_projects(uow, ctx)
        visits = uow.session.execute(
            select(orm.FollowUpVisit.application_id, orm.FollowUpVisit.visited_on)
            .join(orm.Application)
            .where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.FollowUpVisit.visited_on <= until,
            )
        )
        by_app: dict[int, list[dt.date]] = defaultdict(list)
        for app_id, visited_on in visits:
            by_app[app_id].append(visited_on)
    by_unit: dict[str, list[_Project]] = defaultdict(list)
    for a in apps:
        by_unit[a.unit].append(a)
    rows = []
    for unit, mine in sorted(by_unit.items()):
        seen = [a for a in mine if by_app.get(a.id)]
        days = [day for a in mine for day in by_app.get(a.id, [])]
        rows.append(
            VisitCoverageRow(
                recommending_unit=unit,
                projects=len(mine),
                visited_projects=len(seen),
                visits=len(days),
                last_visit=max(days) if days else None,
                not_visited=[
                    f"{a.plan_number or a.id} {a.title}" for a in mine if not by_app.get(a.id)
                ],
            )
        )
    # Units furthest behind first: that is what the reader looks for.
    rows.sort(
        key=lambda r: (r.visited_projects / r.projects if r.projects else 1, r.recommending_unit)
    )
    return rows


@task(name="visit-coverage", task_run_name="visit-coverage-{label}")
def coverage_report(
    ctx: CampaignContext, outcome: StageReport, step: str, label: str, until: dt.date
) -> None:
    """The coverage report as of `until`, once per step."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, step):
            return
    rows = coverage_rows(ctx, until)
    path = ctx.folder(STAGE) / f"{ctx.year}年跟踪服务走访覆盖情况_{label}.xlsx"
    write_visit_coverage(path, rows, year=ctx.year, as_of=until)
    behind = [r for r in rows if r.visited_projects < r.projects]
    with UnitOfWork() as uow:
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="visit_coverage",
            title=f"走访覆盖情况（{label}）",
            path=str(path),
        )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            step,
            as_of=ctx.now,
            summary={"units": len(rows), "units_behind": len(behind)},
        )
        uow.commit()
    projects = sum(r.projects for r in rows)
    visited = sum(r.visited_projects for r in rows)
    outcome.done.append(
        f"走访覆盖情况（{label}）：{visited}/{projects}个项目已走访，{len(behind)}个推荐单位未全覆盖"
    )
    outcome.documents.append(str(path))


def follow_up_status(ctx: CampaignContext, outcome: StageReport) -> None:
    rows = coverage_rows(ctx, ctx.local_date())
    outcome.counts["项目数"] = sum(r.projects for r in rows)
    outcome.counts["已走访项目"] = sum(r.visited_projects for r in rows)
    outcome.counts["走访次数"] = sum(r.visits for r in rows)
    behind = [r for r in rows if r.visited_projects < r.projects]
    if behind and not ctx.is_due(ctx.calendar.results_deadline):
        outcome.waiting.append(
            "尚未全覆盖的推荐单位："
            + "；".join(
                f"{r.recommending_unit}（{r.visited_projects}/{r.projects}）" for r in behind[:10]
            )
            + (f"等{len(behind)}个" if len(behind) > 10 else "")
        )


def report_points(
    ctx: CampaignContext,
) -> list[tuple[str, str, dt.date | dt.datetime, dt.date]]:
    """(step, label, when the report is due, what it counts up to): each period end and the
    results deadline."""
    points: list[tuple[str, str, dt.date | dt.datetime, dt.date]] = [
        (f"coverage:{p}", period_label(p), request_day(p), request_day(p) - dt.timedelta(days=1))
        for p in ctx.calendar.checkin_periods()
    ]
    deadline = ctx.calendar.results_deadline.astimezone(SHANGHAI).date()
    points.append(("coverage:final", "成果提交截止", ctx.calendar.results_deadline, deadline))
    return points
