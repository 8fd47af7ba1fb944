"""Rubrics per project kind (课题类型), end to end as staff and experts notice them: the score
workbook gives each expert one sheet per kind on that kind's rubric (问题解决型 原因分析30,
创新型 方案30), the import checks each sheet against its kind's maxima, each result's score is
its own rubric's sum, and the excellent list is ranked overall or within each kind."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from documents.application_form import read_form, write_filled_form
from domain.models import ApplicationForm
from services import evaluation, panels, scores
from services.context import CampaignContext
from services.evaluation import EvaluationError
from services.experts import import_experts
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


@pytest.fixture
def campaign(database: str, campaign_dir: Path, tmp_path: Path) -> CampaignContext:
    ensure_tables()
    ctx = make_context(2025, "2025-10-13T10:00:00")
    build_results(ctx, 24)  # every third result's form says 创新型
    import_experts(UnitOfWork(), write_expert_pool(tmp_path / "专家库.xlsx", 40))
    panels.draw_expert_panels(UnitOfWork(), ctx)
    panels.send_score_sheets(UnitOfWork(), ctx)
    return ctx


def _sheets(ctx: CampaignContext) -> list[Path]:
    return sorted((ctx.folder("evaluation") / "评分表").glob("*.xlsx"))


def _headers(ws) -> list[str]:  # noqa: ANN001
    return [str(c.value) for c in ws[2] if c.value]


@pytest.mark.parametrize("layout", ["table", "inline", "paragraphs"])
def test_the_form_carries_the_kind(tmp_path: Path, layout: str) -> None:
    form = ApplicationForm(
        title="低飞溅药芯焊丝配方研制", applicant="天津某焊材有限公司", kind="创新型"
    )
    path = write_filled_form(tmp_path / f"{layout}.docx", form, layout=layout)
    assert read_form(path).kind == "创新型"


def test_each_kind_is_scored_on_its_own_rubric(campaign: CampaignContext, tmp_path: Path) -> None:
    ctx = campaign
    seen: dict[str, list[str]] = {}
    for sheet in _sheets(ctx):
        wb = load_workbook(sheet)
        for ws in wb.worksheets:
            if ws.title == "_meta":
                continue
            title = str(ws["A1"].value)
            kind = "创新型" if "（创新型）" in title else "问题解决型"
            assert f"（{kind}）" in title
            seen[kind] = _headers(ws)
    assert "原因分析（30分）" in seen["问题解决型"] and "选题（15分）" in seen["问题解决型"]
    assert "方案（30分）" in seen["创新型"] and "选题（20分）" in seen["创新型"]
    assert "合计（100分）" in seen["创新型"] and "效果（15分）" in seen["创新型"]
    score_all_panels(ctx, tmp_path / "filled")
    scores.aggregate_scores(UnitOfWork(), ctx)
    with UnitOfWork() as uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        stored = list(uow.session.scalars(select(orm.PanelScore)))
        assert stored
        for s in stored:
            kind = apps[s.application_id].form["kind"]
            keys = set(s.scores)
            if kind == "创新型":
                assert "solution" in keys and "analysis" not in keys
                assert s.scores["topic"] <= 20 and s.scores["effect"] <= 15
            else:
                assert "analysis" in keys and "solution" not in keys
                assert s.scores["topic"] <= 15 and s.scores["analysis"] <= 30
        results = list(uow.session.scalars(select(orm.ResultScore)))
        assert sorted(r.rank for r in results) == list(range(1, len(results) + 1))
    proposal = evaluation.excellent_proposal(UnitOfWork(), ctx)
    assert proposal is not None and set(proposal.kinds.values()) == {"问题解决型", "创新型"}


def test_a_wrong_innovation_cell_names_its_rubric(
    campaign: CampaignContext, tmp_path: Path
) -> None:
    ctx = campaign
    sheet = next(s for s in _sheets(ctx) if "创新型" in str(load_workbook(s).sheetnames))
    filled = fill_score_sheet(sheet, tmp_path / "filled.xlsx", rng=random.Random(1))
    wb = load_workbook(filled)
    ws = next(w for w in wb.worksheets if w.title.endswith("创新型"))
    ws["E3"] = 18  # 选题 is out of 20 on the 创新型 rubric: fine here, too much for 问题解决型
    ws["F3"] = 31  # 方案 is out of 30
    wb.save(filled)
    with pytest.raises(EvaluationError) as err:
        import_scores(UnitOfWork(), ctx, filled)
    problems = err.value.problems
    assert len(problems) == 1, problems
    assert f"工作表「{ws.title}」第3行 F列「方案（30分）」：31 超出允许范围 0～30 分" in problems[0]


def test_ranking_within_each_kind(campaign: CampaignContext, tmp_path: Path) -> None:
    ctx = campaign
    ctx.config.rules.ranking = "by_kind"
    score_all_panels(ctx, tmp_path / "filled")
    scores.aggregate_scores(UnitOfWork(), ctx)
    proposal = evaluation.excellent_proposal(UnitOfWork(), ctx)
    assert proposal is not None and proposal.by_kind
    for kind in ("问题解决型", "创新型"):
        rows = [r for r in proposal.rows if proposal.kinds[r[0]] == kind]
        assert sorted(r[4] for r in rows) == list(range(1, len(rows) + 1))
        ordered = sorted(rows, key=lambda r: r[4])
        assert [r[3] for r in ordered] == sorted((r[3] for r in rows), reverse=True)
    evaluation.confirm_excellent(UnitOfWork(), ctx, "郭丽坤", source="test")
    with UnitOfWork() as uow:
        reasons = [d.reason for d in uow.evaluation.excellent_decisions(ctx.campaign_id).values()]
    assert any("创新型评分标准），创新型内排名第1名" in r for r in reasons)
