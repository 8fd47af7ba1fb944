"""宣贯培训: seats within capacity, invitations with .ics once, attendance, absentees."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from deployments import cli_middle
from domain.states import ProjectState
from flows.stage import direct
from flows.training import training_body, training_stage
from services import training
from services.context import CampaignContext, StageReport
from services.training import AttendanceError, AttendanceResult
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed


def run(as_of: str) -> StageReport:
    """The stage's services in the order its flow calls them, once the invitations are due."""
    ctx = context(as_of)
    report = training.store_sessions(UnitOfWork(), ctx)
    for seating in (training.reinvite_absentees, training.assign_and_invite):
        seated = seating(UnitOfWork(), ctx)
        report = report.merge(seated)
        if seated.rosters_due:
            report = report.merge(training.write_rosters(UnitOfWork(), ctx))
    return report.merge(training.training_status(UnitOfWork(), ctx))


def import_attendance(ctx: CampaignContext, xlsx: Path) -> AttendanceResult:
    return training.import_attendance(UnitOfWork(), ctx, xlsx)


def seats() -> list[tuple[str, str, bool | None]]:
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(
                orm.TrainingSession.key,
                orm.TrainingAssignment.person_key,
                orm.TrainingAssignment.attended,
            )
            .join(orm.TrainingSession)
            .order_by(orm.TrainingAssignment.id)
        ).all()
    return [tuple(r) for r in rows]


def invitations() -> list[orm.NotificationRecord]:
    with UnitOfWork() as uow:
        return list(
            uow.session.scalars(
                select(orm.NotificationRecord).where(
                    orm.NotificationRecord.event == "training_invitation"
                )
            )
        )


def roster_counts(roster: str | Path) -> dict[str, int]:
    """Session key -> 人数 on the roster's overview sheet."""
    ws = load_workbook(roster)["场次汇总"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    return {str(name).rsplit("（", 1)[1].rstrip("）"): int(n) for _, name, *_, n in rows if name}


def mark(sheet: Path, absent: set[str]) -> Path:
    wb = load_workbook(sheet)
    ws = wb["签到表"]
    for row in range(3, ws.max_row + 1):
        key = ws.cell(row=row, column=2).value
        if key:
            ws.cell(row=row, column=7, value="缺席" if key in absent else "已签到")
    out = sheet.with_name(f"marked_{sheet.name}")
    wb.save(out)
    return out


def test_the_flow_invites_when_due_and_writes_the_rosters(prefect_api: None) -> None:
    seed(3, state=ProjectState.IN_PROGRESS)
    assert training_stage(year=2025, as_of="2025-05-25").waiting == ["培训通知尚未到发送时间"]
    assert not seats()
    first = training_stage(year=2025, as_of="2025-05-26")
    assert len(seats()) == len(invitations()) > 0
    roster = next(p for p in first.documents if "培训名单" in p)
    assert sum(roster_counts(roster).values()) == len(seats())
    assert any("签到表_S1" in p for p in first.documents)
    assert first.counts["培训人次"] == len(seats()) and not first.complete


def test_assigns_invites_once_and_reinvites_absentees() -> None:
    seed(10, state=ProjectState.IN_PROGRESS)
    first = run("2025-05-26")
    placed = seats()
    people = {p for _, p, _ in placed}
    assert (
        len(placed) == len(people) == 35
    )  # 10 × (quality lead, project lead, staff) + 5 more staff
    assert len(invitations()) == 35
    invite = invitations()[0]
    assert invite.attachments[0]["name"].endswith(".ics")
    assert Path(invite.attachments[0]["path"]).read_bytes().startswith(b"BEGIN:VCALENDAR")
    roster = next(p for p in first.documents if "培训名单" in p)
    assert load_workbook(roster).sheetnames[0] == "场次汇总"
    assert sum(roster_counts(roster).values()) == 35

    again = run("2025-05-27")
    assert again.done == [] and len(seats()) == 35 and len(invitations()) == 35

    # S1 on 10 June: two absent; their sign-in sheet comes back
    s1 = [p for k, p, _ in placed if k == "S1"]
    assert s1, "the first session has people"
    ctx = context("2025-06-10 18:00")
    sheet = ctx.folder("training") / "签到表_S1.xlsx"
    result = import_attendance(ctx, mark(sheet, set(s1[:2])))
    assert (result.absent, result.attended) == (2, len(s1) - 2)

    after = run("2025-06-11")
    assert any("缺席2人" in d for d in after.done)
    later = [k for k, p, a in seats() if p in s1[:2] and a is None]
    assert later and all(k != "S1" for k in later)
    assert len(invitations()) == 37
    # the roster lists the absentees again, in their later sessions
    counts = roster_counts(roster)
    assert sum(counts.values()) == 37
    assert {k: n for k, n in counts.items() if n} == dict(Counter(k for k, _, _ in seats()))
    assert run("2025-06-12").done == [] and len(invitations()) == 37

    # complete only when the last session is past and every sheet is in
    end = run("2025-07-09")
    assert not end.complete and any("待导入签到表" in w for w in end.waiting)
    for key in ("S2", "S3", "S4"):
        import_attendance(
            context("2025-07-09"),
            mark(context("2025-07-09").folder("training") / f"签到表_{key}.xlsx", set()),
        )
    assert run("2025-07-09").complete


def test_capacity_respected_and_unplaced_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    seed(300, state=ProjectState.IN_PROGRESS)  # 1,050 people, 3,400 seats
    run("2025-05-26")
    with UnitOfWork() as uow:
        counts = dict(
            uow.session.execute(
                select(orm.TrainingSession.key, func.count(orm.TrainingAssignment.id))
                .join(orm.TrainingAssignment)
                .group_by(orm.TrainingSession.key)
            ).all()
        )
        caps = dict(
            uow.session.execute(select(orm.TrainingSession.key, orm.TrainingSession.capacity)).all()
        )
    assert sum(counts.values()) == 1050
    assert all(counts[k] <= caps[k] for k in counts)


def test_bad_signin_sheet_is_refused(tmp_path: Path) -> None:
    seed(2, state=ProjectState.IN_PROGRESS)
    run("2025-05-26")
    ctx = context("2025-06-10 18:00")
    wb = load_workbook(ctx.folder("training") / "签到表_S1.xlsx")
    wb["签到表"].cell(row=3, column=7, value="来了")
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    with pytest.raises(AttendanceError, match="bad.xlsx"):
        import_attendance(ctx, bad)
    broken = tmp_path / "签到表_损坏.xlsx"
    broken.write_bytes((ctx.folder("training") / "签到表_S1.xlsx").read_bytes()[:-200])
    with pytest.raises(AttendanceError, match="「签到表_损坏.xlsx」文件不完整或已损坏"):
        import_attendance(ctx, broken)
    assert all(a is None for _, _, a in seats())


def test_cli_training_attendance_exits_2_on_a_bad_sheet(tmp_path: Path) -> None:
    seed(2, state=ProjectState.IN_PROGRESS)
    run("2025-05-26")
    sheet = context("2025-06-10 18:00").folder("training") / "签到表_S1.xlsx"
    app = typer.Typer()
    app.add_typer(cli_middle.training_app, name="training")
    args = ["--year", "2025", "--as-of", "2025-06-10T18:00"]
    broken = tmp_path / "签到表_损坏.xlsx"
    broken.write_bytes(sheet.read_bytes()[:-200])
    result = CliRunner().invoke(app, ["training", "attendance", str(broken), *args])
    assert result.exit_code == 2 and "文件不完整或已损坏" in result.output
    marked = mark(sheet, set())
    result = CliRunner().invoke(app, ["training", "attendance", str(marked), *args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("S1场次签到已导入：签到 ")


def documents_recorded() -> list[str]:
    with UnitOfWork() as uow:
        return [d.path for d in uow.repo.documents(context("2025-05-26").campaign_id)]


def test_a_retry_after_a_failed_roster_write_writes_every_roster_and_sheet() -> None:
    """Issue 17: the run fails after its seats and invitations are committed (the roster's path
    is blocked); the retry, and any later run, write the 培训名单 and the S1–S4 sign-in sheets
    from the database, and nothing is seated, sent or recorded twice."""
    seed(4, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-05-26")
    blocked = training.roster_path(ctx)
    blocked.mkdir(parents=True)  # a folder where the roster file goes
    with pytest.raises(OSError):
        training_body(ctx, run=direct)
    placed, sent = seats(), len(invitations())
    assert placed and sent == len(placed)
    sheets = [ctx.folder("training") / f"签到表_{k}.xlsx" for k in ("S1", "S2", "S3", "S4")]
    assert not any(p.exists() for p in sheets)

    blocked.rmdir()
    retry = training_body(ctx, run=direct)
    assert blocked.is_file() and sum(roster_counts(blocked).values()) == len(placed)
    assert all(p.is_file() for p in sheets)
    assert {str(blocked), *map(str, sheets)} <= set(retry.documents)
    assert seats() == placed and len(invitations()) == sent
    recorded = documents_recorded()
    assert len(recorded) == len(set(recorded))

    # a sheet lost later is written again while its attendance is still to come …
    sheets[0].unlink()
    later = training_body(context("2025-06-11"), run=direct)
    assert sheets[0].is_file() and str(sheets[0]) in later.documents
    assert seats() == placed and len(invitations()) == sent
    assert documents_recorded() == recorded
    # … and a run with nothing missing writes nothing
    assert training_body(context("2025-06-12"), run=direct).documents == []
