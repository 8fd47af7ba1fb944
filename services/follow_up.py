"""Stage 5 跟踪服务: the recommending units' visit records imported from .xlsx, and a coverage
report per unit (every project visited at least once before the results deadline) at each
period end and at the results deadline.

What a visit sheet must hold and the texts naming what is wrong are `domain.visits`'; when a
coverage report is due is `domain.stages`'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from documents.reports import write_visit_coverage
from documents.rows import VisitCoverageRow
from documents.safety import UnreadableFile
from documents.xlsx_reader import LightWorkbook
from domain import visits as rules
from domain.stages import coverage_due, follow_up_closes
from domain.visits import (
    SHOWN_BEHIND,
    VISITED_STATES,
    CoveragePoint,
    ProjectIndex,
    VisitedProject,
    VisitImportError,
    VisitImportResult,
    VisitSheet,
)
from services.context import CampaignContext, StageReport
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

__all__ = [
    "STAGE",
    "VisitImportError",
    "VisitImportResult",
    "coverage_report",
    "coverage_rows",
    "due_reports",
    "follow_up_status",
    "import_visits",
]

STAGE = "follow_up"


def due_reports(uow: UnitOfWork, ctx: CampaignContext) -> list[CoveragePoint]:
    """The coverage reports due at the campaign's clock and not yet written."""
    with uow:
        done = {s.step for s in uow.repo.steps(ctx.campaign_id, STAGE)}
    return coverage_due(ctx.calendar, ctx.now, done)


# ---------------------------------------------------------------------------------------------
# visit records


def read_visit_sheet(xlsx: Path) -> VisitSheet:
    """The first sheet of an uploaded visit workbook (safety-checked before it is parsed)."""
    try:
        wb = LightWorkbook(xlsx)
        try:
            by_number = wb.rows(wb.first_sheet())
        finally:
            wb.close()
    except FileNotFoundError as exc:
        raise rules.file_missing(str(xlsx)) from exc
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        raise rules.file_refused(exc.message, str(xlsx)) from exc
    except Exception as exc:
        raise rules.unreadable(str(xlsx), exc) from exc
    last = max(by_number, default=0)
    return VisitSheet(str(xlsx), [by_number.get(n, ()) for n in range(1, last + 1)])


def import_visits(
    uow: UnitOfWork, ctx: CampaignContext, xlsx: Path, *, actor: str = SYSTEM_ACTOR
) -> VisitImportResult:
    """走访记录: columns 推荐单位, 项目编号 or 项目名称, 走访日期, 走访人, 发现问题与建议.

    The header row is the first row that names 走访日期. All rows or none are stored; a visit
    already stored (same project, date and visitor) is skipped.
    """
    sheet = read_visit_sheet(xlsx)
    with uow:
        # Rows that name a project by its title are matched against all projects (same-name
        # checks); files with plan numbers only need just those projects.
        plans = None if sheet.names_titles_only() else sheet.plans()
        projects = uow.follow_up.projects_to_visit(ctx.campaign_id, VISITED_STATES, plans=plans)
        visits = rules.check_rows(
            sheet, ProjectIndex(projects), year=ctx.year, today=ctx.local_date()
        )
        existing = uow.follow_up.visits_known({v.project.id for v in visits})
        new = 0
        for visit in visits:
            key = (visit.project.id, visit.day, visit.visitor)
            if key in existing:
                continue
            existing.add(key)
            uow.add(
                orm.FollowUpVisit(
                    application_id=visit.project.id,
                    visited_on=visit.day,
                    visitor=visit.visitor,
                    notes=visit.notes,
                )
            )
            new += 1
        record_action(uow, "visits_import", actor, {"file": Path(xlsx).name, "new": new}, ctx)
        uow.commit()
    return VisitImportResult(rows=len(visits), new=new, duplicates=len(visits) - new)


# ---------------------------------------------------------------------------------------------
# coverage


def coverage_rows(uow: UnitOfWork, ctx: CampaignContext, until: dt.date) -> list[VisitCoverageRow]:
    """Per recommending unit: its projects, how many visited by `until`, who is behind."""
    with uow:
        apps = uow.follow_up.projects_to_visit(ctx.campaign_id, VISITED_STATES)
        by_app = uow.follow_up.visit_days(ctx.campaign_id, until)
    by_unit: dict[str, list[VisitedProject]] = defaultdict(list)
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
        key=lambda r: (rules.coverage_rate(r.visited_projects, r.projects), r.recommending_unit)
    )
    return rows


def coverage_report(
    uow: UnitOfWork, ctx: CampaignContext, step: str, label: str, until: dt.date
) -> StageReport:
    """The coverage report as of `until`, once per step."""
    report = StageReport.start(STAGE, ctx)
    path = ctx.folder(STAGE) / f"{ctx.year}年跟踪服务走访覆盖情况_{label}.xlsx"
    with uow:
        done = uow.repo.step_done(ctx.campaign_id, STAGE, step)
    if done:
        # Reported before: a report lost on disk is written again from the stored visits.
        if not path.exists():
            write_visit_coverage(path, coverage_rows(uow, ctx, until), year=ctx.year, as_of=until)
            report.documents.append(str(path))
        return report
    rows = coverage_rows(uow, ctx, until)
    write_visit_coverage(path, rows, year=ctx.year, as_of=until)
    behind = [r for r in rows if r.visited_projects < r.projects]
    with uow:
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
    report.done.append(
        f"走访覆盖情况（{label}）：{visited}/{projects}个项目已走访，{len(behind)}个推荐单位未全覆盖"
    )
    report.documents.append(str(path))
    return report


def follow_up_status(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """The stage's counts, the units not yet covering their projects, and whether it is
    complete."""
    report = StageReport.start(STAGE, ctx)
    rows = coverage_rows(uow, ctx, ctx.local_date())
    report.counts["项目数"] = sum(r.projects for r in rows)
    report.counts["已走访项目"] = sum(r.visited_projects for r in rows)
    report.counts["走访次数"] = sum(r.visits for r in rows)
    behind = [r for r in rows if r.visited_projects < r.projects]
    closed = follow_up_closes(ctx.calendar, ctx.now)
    if behind and not closed:
        report.waiting.append(
            "尚未全覆盖的推荐单位："
            + "；".join(
                f"{r.recommending_unit}（{r.visited_projects}/{r.projects}）"
                for r in behind[:SHOWN_BEHIND]
            )
            + (f"等{len(behind)}个" if len(behind) > SHOWN_BEHIND else "")
        )
    report.complete = closed
    return report
