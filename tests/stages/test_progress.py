"""The campaign's dashboard page: stage progress and each recommending unit's projects."""

from __future__ import annotations

from domain.states import STATE_LABELS, ProjectState
from services.progress import progress_markdown
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed


def test_progress_page_shows_stages_and_every_unit_with_its_counts() -> None:
    seed(5, n_units=2, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-07-01")
    with UnitOfWork() as uow:
        uow.repo.mark_step(ctx.campaign_id, "application", "call", as_of=ctx.now)
        uow.repo.mark_step(ctx.campaign_id, "application", "complete", as_of=ctx.now)
        units = [u.name for u in uow.repo.recommending_units()]
        uow.commit()
    page = progress_markdown(UnitOfWork(), ctx)
    stages, _, by_unit = page.partition("### 各推荐单位项目状态")
    assert "2025-07-01" in page.splitlines()[0]
    assert "| 项目申报 | 已完成 | call |" in stages
    assert "| 立项审核 | 未开始 | — | — |" in stages
    header = by_unit.strip().splitlines()[0]
    assert STATE_LABELS[ProjectState.IN_PROGRESS] in header
    column = header.strip("| ").split(" | ").index(STATE_LABELS[ProjectState.IN_PROGRESS])
    rows = [line.strip("| ").split(" | ") for line in by_unit.strip().splitlines()[2:]]
    assert sorted(r[0] for r in rows) == sorted(units)
    assert sum(int(r[1]) for r in rows) == 5  # 项目总数
    assert sum(int(r[column]) for r in rows) == 5
