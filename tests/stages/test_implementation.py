"""项目实施 and 跟踪服务: requests, returned reports, overdue → reminder → escalation, stale
projects, visit import and coverage."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from documents.reports import CHECKIN_LABELS
from domain.states import ProjectState
from flows.implementation import implementation_body
from flows.stage import direct
from services import follow_up, implementation
from services.context import CampaignContext, StageReport
from services.follow_up import VisitImportError
from services.implementation import CheckinError
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import at, context, seed


def implementation_run(ctx: CampaignContext) -> StageReport:
    """What the stage's flow does at the clock, through the services."""
    reports = []
    for work in implementation.due_work(UnitOfWork(), ctx):
        if work.request:
            reports.append(implementation.request_checkins(UnitOfWork(), ctx, work.period))
        if work.chase:
            reports.append(implementation.chase_overdue(UnitOfWork(), ctx, work.period))
    status = implementation.implementation_status(UnitOfWork(), ctx)
    return StageReport.start("implementation", ctx).merge(*reports, status)


def follow_up_run(ctx: CampaignContext) -> StageReport:
    """What the stage's flow does at the clock, through the services."""
    reports = [
        follow_up.coverage_report(UnitOfWork(), ctx, p.step, p.label, p.until)
        for p in follow_up.due_reports(UnitOfWork(), ctx)
    ]
    status = follow_up.follow_up_status(UnitOfWork(), ctx)
    return StageReport.start("follow_up", ctx).merge(*reports, status)


def run(body, stage: str, as_of: str) -> StageReport:  # noqa: ANN001
    return body(context(as_of))


def import_checkins(
    ctx: CampaignContext, paths: list[Path], received_at: dt.datetime | None = None
) -> tuple[int, int]:
    result = implementation.import_checkins(UnitOfWork(), ctx, paths, received_at)
    return result.on_time, result.late


def import_visits(ctx: CampaignContext, path: Path) -> follow_up.VisitImportResult:
    return follow_up.import_visits(UnitOfWork(), ctx, path)


def count(event: str) -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(orm.NotificationRecord)
            .where(orm.NotificationRecord.event == event)
        )


def fill(request: Path, percent: object, phase: str = "执行") -> Path:
    wb = load_workbook(request)
    ws = wb["进度报告"]
    rows = {f: 2 + i for i, f in enumerate(CHECKIN_LABELS)}
    ws.cell(row=rows["phase"], column=2, value=phase)
    ws.cell(row=rows["percent"], column=2, value=percent)
    out = request.with_name(f"returned_{request.name}")
    wb.save(out)
    return out


def test_checkins_requested_chased_and_escalated_once() -> None:
    seed(6, n_units=2, state=ProjectState.IN_PROGRESS)
    assert (
        "下一期进度报告请求" in run(implementation_run, "implementation", "2025-06-30").waiting[0]
    )
    first = run(implementation_run, "implementation", "2025-07-01")
    with UnitOfWork() as uow:
        rows = uow.session.scalars(select(orm.CheckIn)).all()
        assert len(rows) == 6 and {r.period for r in rows} == {"2025-06"}
        assert rows[0].due_at == at("2025-07-11", "23:59:59")
    folder = Path(first.documents[0])
    files = sorted(folder.rglob("*.xlsx"))
    assert len(files) == 6
    assert count("checkin_request") == 2  # one per recommending unit

    # three return on time, one late; the rest never
    on_time, late = import_checkins(
        context("2025-07-05"), [fill(f, 30) for f in files[:3]], received_at=at("2025-07-05")
    )
    assert (on_time, late) == (3, 0)
    assert run(implementation_run, "implementation", "2025-07-11").done == []
    chased = run(implementation_run, "implementation", "2025-07-12")
    assert count("checkin_overdue") == 3 and count("escalation") == 0
    assert any("逾期提醒" in d for d in chased.done)
    import_checkins(context("2025-07-14"), [fill(files[3], 40)])
    # the same on-time reports sent again after the due date stay on time, and stay one each
    assert import_checkins(context("2025-07-14"), [fill(f, 30) for f in files[:3]]) == (3, 0)
    run(implementation_run, "implementation", "2025-07-17")
    assert count("escalation") == 1 and count("checkin_overdue") == 3  # only RU01 still owes
    again = run(implementation_run, "implementation", "2025-07-17")
    assert again.done == [] and count("escalation") == 1
    assert again.counts["进度报告（逾期报送）"] == 1

    # July: nobody reports; after its due date, projects silent for two periods are flagged
    run(implementation_run, "implementation", "2025-08-01")
    flagged = run(implementation_run, "implementation", "2025-08-12")
    assert flagged.counts["停滞项目"] == 2  # no report in June nor July


def test_a_lost_request_file_is_written_again_and_nothing_is_sent_twice() -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)
    first = implementation_body(context("2025-07-01"), run=direct)
    files = sorted(Path(first.documents[0]).rglob("*.xlsx"))
    assert len(files) == 4 and count("checkin_request") == 2
    original = load_workbook(files[1])["进度报告"]["B2"].value
    files[1].unlink()
    later = implementation_body(context("2025-07-03"), run=direct)
    assert files[1].is_file() and load_workbook(files[1])["进度报告"]["B2"].value == original
    assert any("重新生成缺失的2025年6月进度报告请求1份" in d for d in later.done)
    assert count("checkin_request") == 2
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.CheckIn)) == 4
    assert implementation_body(context("2025-07-04"), run=direct).done == []


def test_bad_checkin_names_file_cell_and_fix(tmp_path: Path) -> None:
    seed(1, n_units=1, state=ProjectState.IN_PROGRESS)
    first = run(implementation_run, "implementation", "2025-07-01")
    request = next(Path(first.documents[0]).rglob("*.xlsx"))
    with pytest.raises(CheckinError, match=r"B9（完成进度）“很多”无效"):
        import_checkins(context("2025-07-03"), [fill(request, "很多")])
    broken = tmp_path / "损坏的进度报告.xlsx"
    broken.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(CheckinError, match="「损坏的进度报告.xlsx」文件不完整或已损坏，请重新保存"):
        import_checkins(context("2025-07-03"), [fill(request, 50), broken])  # all or none
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(orm.CheckIn.submitted_at)) is None


def test_a_returned_report_with_macros_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """Every returned file passes the safety checks before anything parses it."""
    seed(1, n_units=1, state=ProjectState.IN_PROGRESS)
    first = run(implementation_run, "implementation", "2025-07-01")
    request = fill(next(Path(first.documents[0]).rglob("*.xlsx")), 50)
    with_macros = tmp_path / "进度报告_宏.xlsx"
    with zipfile.ZipFile(request) as source, zipfile.ZipFile(with_macros, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"\x00" * 64)
    with pytest.raises(CheckinError, match="包含宏（VBA 代码）"):
        import_checkins(context("2025-07-03"), [with_macros])
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(orm.CheckIn.submitted_at)) is None


def visits_file(tmp_path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["推荐单位", "项目编号", "项目名称", "走访日期", "走访人", "发现问题与建议"])
    for r in rows:
        ws.append(r)
    path = tmp_path / "visits.xlsx"
    wb.save(path)
    return path


def test_visits_import_and_coverage(tmp_path: Path) -> None:
    seed(4, n_units=2, state=ProjectState.IN_PROGRESS)
    with UnitOfWork() as uow:
        apps = uow.repo.applications(1)
        unit0 = apps[0].recommending_unit.name
    ctx = context("2025-06-20")
    good = visits_file(
        tmp_path,
        [
            [unit0, "TJZLGG-2025-0001", "", "2025-06-18", "王建国", "建议加强记录"],
            [unit0, "", apps[2].title, "2025-06-19", "王建国", ""],
        ],
    )
    assert import_visits(ctx, good).new == 2
    assert import_visits(ctx, good).new == 0
    bad = visits_file(tmp_path, [[unit0, "TJZLGG-2025-0001", "", "明天", "王建国", ""]])
    with pytest.raises(VisitImportError, match="第2行 D列（走访日期）“明天”无法识别"):
        import_visits(ctx, bad)

    report = run(follow_up_run, "follow_up", "2025-07-01")
    assert any("2/4个项目已走访" in d for d in report.done)
    ws = load_workbook(report.documents[0]).active
    assert ws.cell(row=3, column=2).value.endswith("01")  # the unit behind first
    assert run(follow_up_run, "follow_up", "2025-07-01").done == []
    final = run(follow_up_run, "follow_up", "2025-10-01")
    assert final.complete and any("成果提交截止" in d for d in final.done)


def test_visit_errors_name_the_excel_row_and_unreadable_files_the_fix(tmp_path: Path) -> None:
    seed(2, n_units=1, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-06-20")
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "2025年走访记录"  # a title above the header, then an empty row inside the table
    ws.append(["推荐单位", "项目编号", "项目名称", "走访日期", "走访人", "发现问题与建议"])
    ws.append(["", "TJZLGG-2025-0001", "", "2025-06-18", "王建国", ""])
    ws.append([])
    ws.append(["", "TJZLGG-2025-0002", "", "2025-06-19", "", ""])
    path = tmp_path / "走访记录.xlsx"
    wb.save(path)
    with pytest.raises(VisitImportError, match="第5行 E列（走访人）为空"):
        import_visits(ctx, path)
    old = tmp_path / "走访记录.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(VisitImportError, match="旧版 Word/Excel 格式.*另存为” .xlsx"):
        import_visits(ctx, old)
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.FollowUpVisit)) == 0


def test_visit_workbook_written_by_the_demo_units_imports(tmp_path: Path) -> None:
    from simulation.middle import visit_workbook

    seed(2, n_units=1, state=ProjectState.IN_PROGRESS)
    with UnitOfWork() as uow:
        unit = uow.repo.applications(1)[0].recommending_unit.name
    path = tmp_path / "走访记录.xlsx"
    path.write_bytes(
        visit_workbook(
            [
                [unit, "TJZLGG-2025-0001", "", dt.date(2025, 6, 18), "王建国", "建议加强记录"],
                [unit, "TJZLGG-2025-0002", "", dt.date(2025, 6, 19), "王建国", ""],
            ]
        )
    )
    assert load_workbook(path).active["D2"].value == dt.datetime(2025, 6, 18)
    result = import_visits(context("2025-06-20"), path)
    assert (result.new, result.duplicates) == (2, 0)
    with UnitOfWork() as uow:
        days = set(uow.session.scalars(select(orm.FollowUpVisit.visited_on)))
    assert days == {dt.date(2025, 6, 18), dt.date(2025, 6, 19)}
