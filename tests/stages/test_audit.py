"""立项审核: workbook, decisions from the workbook and the dashboard's pause form, the plan."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import docx
import pytest
import typer
from openpyxl import load_workbook
from prefect import resume_flow_run
from prefect.client.orchestration import get_client
from sqlalchemy import func, select
from typer.testing import CliRunner

from deployments import cli_middle
from documents.reports import AUDIT_SHEET
from domain.audit import application_id_from_number
from flows.audit import audit_stage
from services import audit
from services.audit import ApprovalDecision, WorkbookError, audit_workbook_path
from services.context import CampaignContext, StageReport
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed


def run(as_of: str) -> StageReport:
    """The stage's services in the order its flow calls them (without the dashboard form)."""
    ctx = context(as_of)
    report = audit.write_audit(UnitOfWork(), ctx)
    applied = audit.apply_decisions(UnitOfWork(), ctx)
    report = report.merge(applied)
    if applied.applied:
        report = report.merge(audit.publish_plan(UnitOfWork(), ctx))
    return report


def import_audit_decisions(ctx: CampaignContext, path: Path, by: str) -> int:
    return audit.import_audit_decisions(UnitOfWork(), ctx, path, by)


def states() -> dict[int, str]:
    with UnitOfWork() as uow:
        return {a.id: a.state for a in uow.repo.applications(context("2025-05-08").campaign_id)}


def notifications(event: str) -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(orm.NotificationRecord)
            .where(orm.NotificationRecord.event == event)
        )


def fill(path: Path, decisions: dict[str, tuple[str, str]]) -> Path:
    wb = load_workbook(path)
    ws = wb[AUDIT_SHEET]
    headers = [c.value for c in ws[2]]
    kc, dc, rc = (headers.index(h) + 1 for h in ("申报编号", "决定", "理由"))
    for row in range(3, ws.max_row + 1):
        key = str(application_id_from_number(str(ws.cell(row=row, column=kc).value)))
        if key in decisions:
            ws.cell(row=row, column=dc, value=decisions[key][0])
            ws.cell(row=row, column=rc, value=decisions[key][1])
    out = path.with_name("filled.xlsx")
    wb.save(out)
    return out


def test_the_flow_waits_until_the_audit_opens(prefect_api: None) -> None:
    seed(2)
    before = audit_stage(year=2025, as_of="2025-05-07")
    assert before.waiting == ["立项审核尚未开始"] and not before.done
    assert not audit_workbook_path(context("2025-05-07")).exists()


def test_waits_for_decisions_then_publishes_the_plan() -> None:
    ids = seed(12)
    first = run("2025-05-08")
    assert not first.complete and any("待工作人员" in w for w in first.waiting)
    path = audit_workbook_path(context("2025-05-08"))
    ws = load_workbook(path)[AUDIT_SHEET]
    headers = [c.value for c in ws[2]]
    assert headers[13] == "申报编号" and ws.column_dimensions["N"].hidden
    assert ws.cell(row=3, column=headers.index("推荐单位意见") + 1).value == "同意推荐"
    assert ws.cell(row=3, column=headers.index("建议结论") + 1).value == "通过"
    numbers = [str(ws.cell(row=r, column=14).value) for r in range(3, 15)]
    assert all(n.startswith("SB2025-") for n in numbers)  # a 申报编号, not a bare database id
    assert {application_id_from_number(n) for n in numbers} == set(ids)

    ctx = context("2025-05-09")
    filled = fill(
        path,
        {str(i): ("通过", "") for i in ids[:-1]} | {str(ids[-1]): ("不通过", "目标不可量化")},
    )
    assert import_audit_decisions(ctx, filled, "张处长") == 12
    assert import_audit_decisions(ctx, filled, "张处长") == 0  # the first word stands
    with UnitOfWork() as uow:
        d = uow.session.scalar(select(orm.Decision).where(orm.Decision.application_id == ids[-1]))
        assert (d.outcome, d.reason, d.decided_by, d.source) == (
            "reject",
            "目标不可量化",
            "张处长",
            "workbook",
        )
        assert d.decided_at == ctx.now

    applied = run("2025-05-09")
    assert not applied.complete and any("项目计划公布时间" in w for w in applied.waiting)
    s = states()
    assert s[ids[-1]] == "rejected" and s[ids[0]] == "approved"
    with UnitOfWork() as uow:
        numbers = sorted(a.plan_number for a in uow.repo.applications(1) if a.plan_number)
    assert numbers[0] == "TJZLGG-2025-0001" and len(numbers) == 11

    published = run("2025-05-15")
    assert published.complete
    assert set(states().values()) == {"in_progress", "rejected"}
    xlsx = next(p for p in published.documents if p.endswith(".xlsx"))
    assert load_workbook(xlsx).active.max_row >= 13
    notice = docx.Document(next(p for p in published.documents if p.endswith(".docx")))
    assert any("11个项目" in p.text for p in notice.paragraphs)
    assert notifications("approval") == 6  # one per recommending unit

    again = run("2025-05-15")
    assert again.done == [] and notifications("approval") == 6

    # a published plan lost from disk is written again from the database, nobody told twice
    Path(xlsx).unlink()
    rewritten = run("2025-05-20")
    assert xlsx in rewritten.documents and load_workbook(xlsx).active.max_row >= 13
    assert notifications("approval") == 6 and set(states().values()) == {"in_progress", "rejected"}


def test_a_lost_audit_workbook_is_written_again_until_the_decisions_are_applied() -> None:
    ids = seed(3)
    run("2025-05-08")
    path = audit_workbook_path(context("2025-05-08"))
    path.unlink()
    again = run("2025-05-09")
    ws = load_workbook(path)[AUDIT_SHEET]
    assert {
        application_id_from_number(str(ws.cell(row=r, column=14).value)) for r in range(3, 6)
    } == set(ids)
    assert str(path) in again.documents
    with UnitOfWork() as uow:
        steps = [s.step for s in uow.repo.steps(1, "audit")]
        recorded = [d.path for d in uow.repo.documents(1)]
    assert steps.count("workbook") == 1 and recorded.count(str(path)) == 1


def test_bad_workbook_names_row_column_and_fix_and_stores_nothing() -> None:
    ids = seed(4)
    run("2025-05-08")
    path = audit_workbook_path(context("2025-05-08"))
    filled = fill(
        path, {str(ids[0]): ("通过", ""), str(ids[1]): ("同意", ""), str(ids[2]): ("不通过", "")}
    )
    with pytest.raises(WorkbookError) as err:
        import_audit_decisions(context("2025-05-09"), filled, "张处长")
    text = str(err.value)
    assert "第4行 L列（决定）“同意”无效" in text and "第5行 M列（理由）为空" in text
    assert "filled.xlsx" in text
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.Decision)) == 0


def test_policy_decisions_need_reasons_for_rejections() -> None:
    ids = seed(2)
    ctx = context("2025-05-08")
    with pytest.raises(ValueError, match="须填写理由"):
        audit.record_approval_decisions(
            UnitOfWork(),
            ctx,
            [ApprovalDecision(application_id=ids[0], outcome="reject")],
            "脚本",
            "policy",
        )


def test_unsafe_or_broken_workbook_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    ids = seed(2)
    run("2025-05-08")
    path = audit_workbook_path(context("2025-05-08"))
    filled = fill(path, {str(i): ("通过", "") for i in ids})
    ctx = context("2025-05-09")
    broken = tmp_path / "审核表_损坏.xlsx"
    broken.write_bytes(filled.read_bytes()[:-200])
    with pytest.raises(WorkbookError, match="「审核表_损坏.xlsx」文件不完整或已损坏"):
        import_audit_decisions(ctx, broken, "张处长")
    macro = tmp_path / "审核表.xlsm"
    macro.write_bytes(filled.read_bytes())
    with pytest.raises(WorkbookError, match="含宏"):
        import_audit_decisions(ctx, macro, "张处长")
    with pytest.raises(WorkbookError, match="找不到文件"):
        import_audit_decisions(ctx, tmp_path / "没有.xlsx", "张处长")
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.Decision)) == 0
    assert import_audit_decisions(ctx, filled, "张处长") == 2


def test_dashboard_form_as_decisions() -> None:
    ids = seed(3)
    run("2025-05-08")
    ctx = context("2025-05-09")
    form = audit.AuditDecisionForm(
        approve_all_suggestions=True,
        reject=[audit.RejectItem(key=str(ids[1]), reason="目标不可量化")],
        decided_by="李科长",
    )
    report = audit.record_dashboard_decisions(UnitOfWork(), ctx, form)
    assert report.done == ["记录李科长在仪表盘作出的立项决定3项"]
    bad = audit.AuditDecisionForm(
        reject=[audit.RejectItem(key="99999", reason="x")], decided_by="李科长"
    )
    refused = audit.record_dashboard_decisions(UnitOfWork(), ctx, bad)
    assert refused.done == [] and "找不到以下申报编号：99999" in refused.waiting[0]
    with UnitOfWork() as uow:
        decisions = uow.session.scalars(select(orm.Decision)).all()
    assert {d.source for d in decisions} == {"dashboard"} and len(decisions) == 3
    assert next(d for d in decisions if d.application_id == ids[1]).outcome == "reject"


def _paused_run_id(name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs():
                if run.name == name and run.state and run.state.is_paused():
                    return str(run.id)
            time.sleep(0.5)
    raise AssertionError("the audit flow never paused")


def test_dashboard_decision_through_the_real_pause(prefect_api: None) -> None:
    ids = seed(5)
    results: dict[str, StageReport] = {}

    def start() -> None:
        results["outcome"] = audit_stage(
            year=2025, as_of="2025-05-16", wait_for_staff=True, pause_timeout=120
        )

    thread = threading.Thread(target=start)
    thread.start()
    run_id = _paused_run_id("2025-立项审核-2025-05-16")
    resume_flow_run(
        run_id,
        run_input={
            "approve_all_suggestions": True,
            "reject": [{"key": str(ids[2]), "reason": "与历年成果雷同"}],
            "decided_by": "李科长",
        },
    )
    thread.join(timeout=120)
    outcome = results["outcome"]
    assert outcome.complete
    s = states()
    assert s[ids[2]] == "rejected" and s[ids[0]] == "in_progress"
    with UnitOfWork() as uow:
        decisions = uow.session.scalars(select(orm.Decision)).all()
        assert {d.source for d in decisions} == {"dashboard"}
        assert {d.decided_by for d in decisions} == {"李科长"}
        rejected = next(d for d in decisions if d.application_id == ids[2])
        assert rejected.reason == "与历年成果雷同"


def test_dashboard_form_timeout_reminds_staff(prefect_api: None) -> None:
    seed(2)
    outcome = audit_stage(year=2025, as_of="2025-05-10", wait_for_staff=True, pause_timeout=1)
    assert not outcome.complete
    assert any("超时" in w for w in outcome.waiting)
    assert notifications("staff_digest") == 1


def test_cli_audit_decide_exits_2_on_a_bad_workbook_and_records_a_good_one() -> None:
    ids = seed(3)
    run("2025-05-08")
    path = audit_workbook_path(context("2025-05-08"))
    app = typer.Typer()
    app.add_typer(cli_middle.audit_app, name="audit")
    args = ["--year", "2025", "--by", "张处长", "--as-of", "2025-05-09"]
    bad = fill(path, {str(ids[0]): ("不通过", "")})
    result = CliRunner().invoke(app, ["audit", "decide", str(bad), *args])
    assert result.exit_code == 2
    assert "错误：" in result.output and "第3行 M列（理由）为空" in result.output
    missing = CliRunner().invoke(app, ["audit", "decide", str(path.with_name("无.xlsx")), *args])
    assert missing.exit_code == 2 and "找不到文件" in missing.output
    good = fill(path, {str(i): ("通过", "") for i in ids})
    result = CliRunner().invoke(app, ["audit", "decide", str(good), *args])
    assert result.exit_code == 0, result.output
    assert "已记录张处长的立项决定 3 项；尚待决定 0 项。" in result.output
    assert "全部项目已有决定" in result.output


def test_priority_projects_come_first_and_staff_set_a_projects_kind() -> None:
    from services.evaluation import result_kinds

    ids = seed(6)
    with UnitOfWork() as uow:
        for app_id, codes in (
            (ids[3], ("CHAIN_LEADER_PRIORITY", "JOINT_PRIORITY")),
            (ids[5], ("JOINT_PRIORITY",)),
        ):
            for code in codes:
                uow.add(
                    orm.ApplicationFinding(
                        application_id=app_id, code=code, severity="info", message="优先推荐"
                    )
                )
        uow.commit()
    run("2025-05-08")
    path = audit_workbook_path(context("2025-05-08"))
    ws = load_workbook(path)[AUDIT_SHEET]
    headers = [c.value for c in ws[2]]
    kc, pc, tc = (headers.index(h) + 1 for h in ("申报编号", "优先推荐", "课题类型"))
    order = [application_id_from_number(str(ws.cell(row=r, column=kc).value)) for r in range(3, 9)]
    assert order[:2] == [ids[3], ids[5]] and sorted(order[2:]) == sorted(
        set(ids) - {ids[3], ids[5]}
    )
    assert [ws.cell(row=r, column=pc).value for r in (3, 4, 5)] == [
        "链主牵头联合申报",
        "联合申报",
        None,
    ]
    assert {ws.cell(row=r, column=tc).value for r in range(3, 9)} == {
        "问题解决型"
    }  # 降低/提高/缩短…
    changed = order[2]
    filled = fill(path, {str(i): ("通过", "") for i in ids})
    wb = load_workbook(filled)
    wb[AUDIT_SHEET].cell(row=5, column=tc, value="创新型")  # staff's decision on its kind
    wb.save(filled)
    assert import_audit_decisions(context("2025-05-08"), filled, "郭丽坤") == 6
    ctx = context("2025-05-08")
    with UnitOfWork() as uow:
        kinds = result_kinds(uow, ctx, uow.repo.applications(ctx.campaign_id))
        decided = uow.evaluation.decisions(ctx.campaign_id, "project_kind")
    assert kinds[changed] == "创新型" and decided[changed].decided_by == "郭丽坤"
    assert set(decided) == {changed}
    assert {kinds[i] for i in ids if i != changed} == {"问题解决型"}
