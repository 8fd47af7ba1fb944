"""Stage 7 成果评定, as a user would notice it: recusal holds on every score, the draw repeats
with its seed, a wrong cell is named and nothing stored, scores drop the highest and lowest,
uploaded spreadsheets pass the safety checks, and a rerun changes nothing.

The tests call the services (no Prefect); the last two run the stage's body and flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select

from domain.panels import conflict_reasons
from domain.scoring import round2
from domain.states import ProjectState
from services import evaluation, panels, scores
from services.context import CampaignContext, StageReport
from services.evaluation import EvaluationError, confirm_excellent
from services.experts import import_experts
from services.panels import decline, expert_profile, result_to_evaluate
from services.scores import import_scores
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.conftest_late import (
    build_results,
    ensure_tables,
    fill_score_sheet,
    make_context,
    score_all_panels,
    write_expert_pool,
)

DRAW_AT = "2025-10-13T10:00:00"


@pytest.fixture
def late_campaign(database: str, campaign_dir: Path, tmp_path: Path):  # noqa: ANN201
    ensure_tables()
    ctx = make_context(2025, DRAW_AT)
    build_results(ctx, 36)
    import_experts(UnitOfWork(), write_expert_pool(tmp_path / "专家库.xlsx", 40))
    return ctx


def _draw(ctx: CampaignContext) -> StageReport:
    """What a run of the stage does, through the services: the draw and score sheets, the
    aggregation, and once aggregated the decisions applied."""
    report = panels.draw_expert_panels(UnitOfWork(), ctx).merge(
        panels.send_score_sheets(UnitOfWork(), ctx), scores.aggregate_scores(UnitOfWork(), ctx)
    )
    if evaluation.aggregated(UnitOfWork(), ctx):
        report = report.merge(evaluation.apply_excellent_decisions(UnitOfWork(), ctx))
    return report


def _counts() -> tuple[int, int, int, int]:
    with UnitOfWork() as uow:
        return tuple(  # type: ignore[return-value]
            uow.session.scalar(select(func.count()).select_from(t))
            for t in (orm.NotificationRecord, orm.StateChange, orm.PanelScore, orm.Decision)
        )


def test_expert_import_names_bad_rows_and_stores_nothing(database: str, tmp_path: Path) -> None:
    ensure_tables()
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "单位", "专业领域", "职称", "电话", "邮箱", "回避单位"])
    ws.append(["王强", "天津大学", "焊材、新材料", "教授", "13800000001", "w@example.cn", ""])
    ws.append(["李娜", "南开大学", "", "教授", "13800000002", "bad-mail", ""])
    path = tmp_path / "专家库.xlsx"
    wb.save(path)
    with pytest.raises(EvaluationError) as err:
        import_experts(UnitOfWork(), path)
    text = str(err.value)
    assert "专家库.xlsx 第3行「专业领域」列为空" in text
    assert "第3行「邮箱」列「bad-mail」" in text
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.Expert)) == 0


def test_uploaded_spreadsheets_pass_the_safety_checks_first(
    late_campaign: CampaignContext, tmp_path: Path
) -> None:
    ctx = late_campaign
    fake = tmp_path / "专家库2.xlsx"
    fake.write_bytes(b"<html>not a workbook</html>")
    with pytest.raises(EvaluationError) as err:
        import_experts(UnitOfWork(), fake)
    assert "专家库2.xlsx" in str(err.value) and "另存为" in str(err.value)
    macro = tmp_path / "专家库.xlsm"
    macro.write_bytes((tmp_path / "专家库.xlsx").read_bytes())
    with pytest.raises(EvaluationError, match="含宏"):
        import_experts(UnitOfWork(), macro)
    _draw(ctx)
    sheet = sorted((ctx.folder("evaluation") / "评分表").glob("*.xlsx"))[0]
    broken = tmp_path / sheet.name
    broken.write_bytes(sheet.read_bytes()[:2000])  # a truncated upload
    with pytest.raises(EvaluationError) as err:
        import_scores(UnitOfWork(), ctx, broken)
    assert sheet.name in str(err.value)
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.PanelScore)) == 0


def test_no_expert_scores_a_result_of_their_own_unit(late_campaign, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = late_campaign
    _draw(ctx)
    score_all_panels(ctx, tmp_path / "filled")
    with UnitOfWork() as uow:
        experts = {e.key: expert_profile(e) for e in uow.session.scalars(select(orm.Expert))}
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        results = {i: result_to_evaluate(a) for i, a in apps.items()}
        panels = {p.id: p for p in uow.session.scalars(select(orm.ExpertPanel))}
        recusals = sum(len(p.draw_record["excluded"]) for p in panels.values())
        assert recusals > 0, (
            "the pool must contain conflicted experts for this test to mean anything"
        )
        for panel in panels.values():
            assert len(panel.members) >= 5
            for key in [*panel.members, *panel.reserves]:
                for app_id in panel.application_ids:
                    assert conflict_reasons(experts[key], results[app_id]) == []
        scores = uow.session.scalars(select(orm.PanelScore)).all()
        assert scores
        for s in scores:
            assert s.expert_key in panels[s.panel_id].members
            assert s.application_id in panels[s.panel_id].application_ids
            assert conflict_reasons(experts[s.expert_key], results[s.application_id]) == []


def test_same_seed_gives_the_same_draw(late_campaign) -> None:  # noqa: ANN001
    ctx = late_campaign

    def snapshot() -> list[tuple[str, list[str], list[str], list[int], int]]:
        with UnitOfWork() as uow:
            return [
                (p.key, p.members, p.reserves, p.application_ids, p.seed)
                for p in uow.session.scalars(select(orm.ExpertPanel).order_by(orm.ExpertPanel.key))
            ]

    _draw(ctx)
    first = snapshot()
    with UnitOfWork() as uow:
        uow.session.execute(delete(orm.ExpertPanel))
        uow.session.execute(delete(orm.StageStep).where(orm.StageStep.step == "panels_drawn"))
        uow.commit()
    _draw(ctx)
    assert snapshot() == first
    assert first and all(p[4] == first[0][4] for p in first)


def test_a_wrong_cell_is_named_and_nothing_is_stored(late_campaign, tmp_path: Path) -> None:  # noqa: ANN001
    import random

    ctx = late_campaign
    _draw(ctx)
    sheet = sorted((ctx.folder("evaluation") / "评分表").glob("*.xlsx"))[0]
    filled = fill_score_sheet(sheet, tmp_path / "filled.xlsx", rng=random.Random(1))
    wb = load_workbook(filled)
    ws = wb.worksheets[0]
    assert ws["E2"].value == "选题（15分）"  # the first sheet is the 问题解决型 rubric's
    ws["E4"] = 30  # 选题 is out of 15
    ws["F5"] = None  # 原因分析 left blank
    wb.save(filled)
    with pytest.raises(EvaluationError) as err:
        import_scores(UnitOfWork(), ctx, filled)
    problems = err.value.problems
    assert any(
        f"工作表「{ws.title}」第4行 E列「选题（15分）」：30 超出允许范围 0～15 分" in p
        for p in problems
    )
    assert any(f"工作表「{ws.title}」第5行 F列" in p and "未填写" in p for p in problems)
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.PanelScore)) == 0


def test_aggregation_drops_highest_and_lowest_and_flags_outliers(
    late_campaign, tmp_path: Path
) -> None:  # noqa: ANN001
    ctx = late_campaign
    _draw(ctx)
    score_all_panels(ctx, tmp_path / "filled")
    outcome = _draw(ctx)
    assert any("评分偏离提示" in d for d in outcome.done)
    with UnitOfWork() as uow:
        totals: dict[int, list[float]] = {}
        for s in uow.session.scalars(select(orm.PanelScore)):
            totals.setdefault(s.application_id, []).append(s.total)
        results = {r.application_id: r for r in uow.session.scalars(select(orm.ResultScore))}
        assert set(results) == set(totals)
        for app_id, values in totals.items():
            assert len(values) >= 5
            trimmed = sorted(values)[1:-1]
            assert results[app_id].score == round2(sum(trimmed) / len(trimmed))
        assert sorted(r.rank for r in results.values()) == list(range(1, len(results) + 1))


def test_a_lost_score_sheet_is_written_again_without_inviting_again(late_campaign) -> None:  # noqa: ANN001
    ctx = late_campaign
    first = _draw(ctx)
    sheets = [Path(p) for p in first.documents if "评分表" in Path(p).name]
    assert sheets and all(p.is_file() for p in sheets)
    before = _counts()
    sheets[0].unlink()
    again = _draw(ctx)
    assert sheets[0].is_file() and str(sheets[0]) in again.documents
    assert any("重新生成缺失的评分表1份" in d for d in again.done)
    assert _counts() == before
    assert _draw(ctx).documents == []


def test_decline_replaces_from_reserves_and_invites(late_campaign) -> None:  # noqa: ANN001
    ctx = late_campaign
    _draw(ctx)
    with UnitOfWork() as uow:
        panel = uow.session.scalars(select(orm.ExpertPanel).order_by(orm.ExpertPanel.key)).first()
        leaving, reserve = panel.members[0], panel.reserves[0]
        key = panel.key
    replacement = decline(UnitOfWork(), ctx, key, leaving, "出差")
    assert replacement == reserve
    with UnitOfWork() as uow:
        panel = uow.session.scalar(select(orm.ExpertPanel).where(orm.ExpertPanel.key == key))
        assert leaving not in panel.members and reserve in panel.members
        assert panel.draw_record["replacements"][0]["reason"] == "出差"
        invited = uow.session.scalar(
            select(func.count())
            .select_from(orm.NotificationRecord)
            .where(
                orm.NotificationRecord.recipient_key == f"expert:{reserve}",
                orm.NotificationRecord.event == "panel_invitation",
                orm.NotificationRecord.period == key,
            )
        )
        assert invited == 1
        names = {e.key: e.name for e in uow.session.scalars(select(orm.Expert))}

    # the 评定组名单 (docx and xlsx) is current: names, not ids; the decliner is off the panel
    from openpyxl import load_workbook

    name = f"{ctx.year}年天津市质量攻关技术评定组名单"
    ws = load_workbook(ctx.folder("evaluation") / f"{name}.xlsx").active
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    seats = {(r[3], r[4]) for r in rows if r[1] == key}
    assert ("组员", names[reserve]) in seats
    assert all(n != names[leaving] for _, n in seats)
    assert not any(str(v).startswith("E") and v in names for r in rows for v in r)
    assert (ctx.folder("evaluation") / f"{name}.docx").is_file()


def test_confirmation_moves_states_and_a_rerun_changes_nothing(
    late_campaign, tmp_path: Path
) -> None:  # noqa: ANN001
    ctx = late_campaign
    _draw(ctx)
    score_all_panels(ctx, tmp_path / "filled")
    _draw(ctx)
    outcome = _draw(ctx)
    assert any("确认优秀成果名单" in w for w in outcome.waiting)
    yes, no = confirm_excellent(UnitOfWork(), ctx, "张处长", source="cli")
    assert yes > 0 and no > 0
    outcome = _draw(ctx)
    assert outcome.complete
    before = _counts()
    again = _draw(ctx)
    assert not again.done and _counts() == before
    with UnitOfWork() as uow:
        excellent = uow.repo.applications(ctx.campaign_id, [ProjectState.EXCELLENT])
        assert len(excellent) == yes
        change = uow.repo.state_changes(excellent[0].id)[-1]
        assert change.actor == "张处长" and "评定得分" in change.reason and "排名" in change.reason


def test_the_stage_runs_as_a_flow_with_its_tasks(
    late_campaign: CampaignContext, prefect_api: None, tmp_path: Path
) -> None:
    from flows.evaluation import evaluation_body, evaluation_stage

    ctx = late_campaign
    report = evaluation_stage(2025, DRAW_AT)
    assert any("随机抽取评定组" in d for d in report.done)
    assert any("生成评分表" in d for d in report.done)
    score_all_panels(ctx, tmp_path / "filled")
    report = evaluation_body(ctx)
    assert any("汇总评分" in d for d in report.done)
    assert any("确认优秀成果名单" in w for w in report.waiting)
    confirm_excellent(UnitOfWork(), ctx, "张处长", source="cli")
    assert evaluation_body(ctx).complete
    before = _counts()
    again = evaluation_body(ctx)
    assert again.complete and not again.done and _counts() == before
