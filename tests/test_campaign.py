"""The backbone end to end: a small campaign from the call to publication, then a rerun."""

from __future__ import annotations

import email
import os
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import orm
from storage.orm import Base
from storage.uow import UnitOfWork


def _counts() -> dict[str, int]:
    with UnitOfWork() as uow:
        return {
            t.name: uow.session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, prefect_api: None
):
    """One small demo for the module (it is the expensive part)."""
    from tests.conftest import test_backend

    out = tmp_path_factory.mktemp("demo") / "2025"
    saved = dict(os.environ)
    url = None
    if test_backend() == "postgres":
        from tests.conftest import _truncate_all

        url = request.getfixturevalue("pg_database")
        _truncate_all(url)
    from simulation.demo import run_demo, summary_text

    lines: list[str] = []
    report = run_demo(2025, 36, out, seed=7, echo=lines.append, database_url=url)
    summary = summary_text(report)
    yield report, summary, lines
    os.environ.clear()
    os.environ.update(saved)


def test_demo_goes_from_the_call_to_publication(demo_run) -> None:
    report, summary, lines = demo_run
    out: Path = report.out_dir
    assert "演示运行完成" in summary and "各推荐单位" in summary
    with UnitOfWork() as uow:
        campaign = uow.repo.campaign(2025)
        assert campaign is not None
        states = {a.state for a in uow.repo.applications(campaign.id)}
        steps = {(s.stage, s.step) for s in uow.repo.steps(campaign.id)}
        late = uow.session.scalars(
            select(orm.SubmissionBatch).where(orm.SubmissionBatch.status == "late")
        ).all()
    # Applications were accepted and returned; the late unit's batch was recorded, not accepted.
    assert "returned" in states
    assert late, "the demo's late unit must have a batch recorded as late"
    assert ("application", "call") in steps and ("application", "closed") in steps
    # Documents of the first stage: blank forms and the merged summary table.
    stage1 = out / "01_项目申报"
    assert (stage1 / "空白表格" / "附件5_天津市质量攻关项目申报书.docx").exists()
    assert list(stage1.glob("*立项申报汇总表.xlsx"))
    assert list((stage1 / "审核意见").glob("*.xlsx"))


def test_outbox_holds_readable_chinese_mail(demo_run) -> None:
    report, _summary, _lines = demo_run
    mails = sorted((report.out_dir / "outbox").rglob("*.eml"))
    assert mails, "the demo's messages go to the local outbox"
    subjects = []
    for path in mails[:50]:
        msg = email.message_from_bytes(path.read_bytes())
        subjects.append(str(make_header(decode_header(msg["Subject"]))))
    assert any("质量攻关" in s for s in subjects)


def test_rerunning_a_date_already_done_changes_nothing(demo_run, prefect_api: None) -> None:
    from flows.campaign import annual_campaign

    before = _counts()
    with UnitOfWork() as uow:
        last = max(s.as_of for s in uow.repo.steps(uow.repo.campaign(2025).id))  # type: ignore[union-attr]
    annual_campaign(year=2025, as_of=last.isoformat())
    assert _counts() == before


def test_demo_units_submit_results_once_and_are_told_once(demo_run) -> None:
    """The simulated units forward each project's material once, whatever the ticks (moved from
    the results stage's tests with the simulation)."""
    with UnitOfWork() as uow:
        submitted = list(uow.session.scalars(select(orm.ResultSubmission.application_id)))
        states = dict(
            uow.session.execute(
                select(orm.Application.plan_number, orm.Application.state).where(
                    orm.Application.plan_number.is_not(None)
                )
            ).all()
        )
        told = [
            (n.event, n.period)
            for n in uow.session.scalars(
                select(orm.NotificationRecord).where(
                    orm.NotificationRecord.event.in_(["results_receipt", "results_late"])
                )
            )
        ]
    assert submitted and len(submitted) == len(set(submitted))
    assert len(told) == len(set(told))
    complete = {p.rsplit(":", 1)[0] for e, p in told if p.endswith(":complete")}
    submitted_states = {"results_submitted", "evaluated", "excellent", "published"}
    assert complete == {p for p, s in states.items() if s in submitted_states}


def test_demo_raises_and_dismisses_one_objection(demo_run) -> None:
    with UnitOfWork() as uow:
        objections = uow.session.scalars(select(orm.Objection)).all()
    assert len(objections) == 1 and objections[0].outcome == "dismissed"


def test_demo_participants_used_the_doors(demo_run) -> None:
    """What the simulated participants handed in is in the inbox, as real people's files are:
    the filled audit workbook, sign-in sheets, progress reports (modified when they arrived),
    visit records and result material."""
    report, summary, _lines = demo_run
    inbox: Path = report.out_dir / "inbox"
    assert list((inbox / "audit").glob("*_已填.xlsx"))
    assert list((inbox / "training").glob("签到表_*_已签到.xlsx"))
    assert list((inbox / "visits").glob("*_走访记录_*.xlsx"))
    assert list((inbox / "results").rglob("*_成果报告.pdf"))
    reports = list((inbox / "checkins").rglob("进度报告_*.xlsx"))
    assert reports
    with UnitOfWork() as uow:
        received = set(
            uow.session.scalars(
                select(orm.CheckIn.submitted_at).where(orm.CheckIn.submitted_at.is_not(None))
            )
        )
    arrived = {int(p.stat().st_mtime) for p in reports}
    assert {int(r.timestamp()) for r in received} == arrived
    # The closing summary is what `qcamp status` prints.
    assert "通知：已发送" in summary and "数据库：" in summary


def test_every_workbook_the_commission_writes_prints_cleanly(demo_run) -> None:
    """Every .xlsx the product wrote in the demo year (not what simulated participants typed):
    no wrapped text in a row too short for it, no text cut off by a filled neighbour, A4 one page
    wide with page numbers."""
    from tests.documents.xlsx_print_check import print_faults, print_setup_faults

    report, _summary, _lines = demo_run
    root: Path = report.out_dir
    written = [
        p
        for p in root.rglob("*.xlsx")
        if p.relative_to(root).parts[0] not in ("inbox", "simulation")
        and "（模拟）" not in str(p.relative_to(root))
    ]
    assert len(written) > 20
    faults = [f for p in written for f in print_faults(p) + print_setup_faults(p)]
    assert faults == [], "\n".join(faults[:20])


def test_the_same_year_without_prefect_leaves_the_same_records(demo_run, tmp_path: Path) -> None:
    """`qcamp run … --direct` (the benchmark's baseline; a day's work while Prefect is down) runs
    the same stage bodies with each step's service call: the same year leaves the same rows."""
    from simulation.demo import run_demo

    with_prefect = _counts()
    saved = dict(os.environ)
    try:
        run_demo(
            2025,
            36,
            tmp_path / "2025",
            seed=7,
            echo=lambda _line: None,
            database_url=f"sqlite:///{tmp_path / 'direct.sqlite'}",
            direct=True,
        )
        without = _counts()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert without == with_prefect
    assert without["notification_records"] > 0 and without["documents"] > 0


def test_every_date_in_the_outbox_agrees_with_its_delivery_day(demo_run) -> None:
    """每封邮件的“截至”“于…前”“距截止还有N天”都按送达日（Date 头）核对；同一收件人单日不超过
    3 封（每日工作摘要除外）。"""
    from simulation.outbox_check import check_outbox

    report, _summary, _lines = demo_run
    result = check_outbox(report.out_dir / "outbox")
    assert result.messages > 0 and result.phrases > 0
    # every date agrees with its day, and nobody gets more than 3 messages on one day (issue 16)
    assert result.problems == []
