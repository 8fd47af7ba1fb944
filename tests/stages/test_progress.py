"""The campaign's dashboard page: stage progress in the campaign's words and each recommending
unit's projects in a table narrow enough for the page."""

from __future__ import annotations

from domain.progress import STATE_GROUPS, step_label, steps_text
from domain.states import ProjectState
from services.progress import progress_markdown
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed


def test_step_keys_read_in_chinese() -> None:
    assert step_label("application", "call") == "征集通知已发布"
    assert step_label("application", "closed") == "申报已截止"
    assert step_label("results", "closed") == "成果提交已截止"
    assert step_label("training", "assigned:20250526T100000") == "培训分配（5月26日）"
    assert step_label("training", "attendance:S1") == "S1场次签到已导入"
    assert step_label("evaluation", "sheet:P001") == "评分表 P001"
    assert step_label("implementation", "requested:2025-06") == "2025年6月进度报告已请求"
    assert step_label("follow_up", "coverage:final") == "走访覆盖情况（成果提交截止）"
    assert step_label("evaluation", "something_new") == "something_new"
    folded = steps_text("evaluation", ["panels_drawn", "sheet:P001", "sheet:P002", "aggregated"])
    assert folded == "评定组已抽取；评分表 P001、P002；评分已汇总"


def test_progress_page_shows_stages_and_every_unit_with_its_counts() -> None:
    seed(5, n_units=2, state=ProjectState.IN_PROGRESS)
    ctx = context("2025-07-01")
    with UnitOfWork() as uow:
        uow.repo.mark_step(ctx.campaign_id, "application", "call", as_of=ctx.now)
        uow.repo.mark_step(ctx.campaign_id, "application", "closed", as_of=ctx.now)
        uow.repo.mark_step(ctx.campaign_id, "application", "complete", as_of=ctx.now)
        uow.repo.mark_step(ctx.campaign_id, "training", "assigned:20250526T100000", as_of=ctx.now)
        units = [u.name for u in uow.repo.recommending_units()]
        uow.commit()
    page = progress_markdown(UnitOfWork(), ctx)
    stages, _, by_unit = page.partition("### 各推荐单位项目状态")
    assert "2025-07-01" in page.splitlines()[0]
    assert "| 项目申报 | 已完成 | 征集通知已发布；申报已截止 |" in stages
    assert "| 宣贯培训 | 进行中 | 培训分配（5月26日） |" in stages
    assert "| 立项审核 | 未开始 | — | — |" in stages
    assert "call" not in stages and "assigned:" not in stages
    header = by_unit.strip().splitlines()[0].strip("| ").split(" | ")
    assert header == ["推荐单位", "项目总数", *STATE_GROUPS]
    assert len(header) <= 8  # fits the dashboard's 1400 px
    column = header.index("实施中")
    rows = [line.strip("| ").split(" | ") for line in by_unit.strip().splitlines()[2:]]
    rows = [r for r in rows if len(r) == len(header)]
    assert sorted(r[0] for r in rows) == sorted(units)
    assert sum(int(r[1]) for r in rows) == 5  # 项目总数
    assert sum(int(r[column]) for r in rows) == 5
    assert "已提交成果＝已提交成果、已评定" in by_unit


def test_the_staff_digest_lists_what_a_stage_could_not_do() -> None:
    """A refused batch (a stage report's `failed` line) reaches staff in the daily digest."""
    import datetime as dt

    from services.context import StageReport
    from services.delivery import digest_counts

    report = StageReport(
        stage="application",
        as_of=dt.datetime(2025, 4, 10, 10, tzinfo=dt.UTC),
        done=["受理第1批次"],
        failed=["DIST-03 第2批次无法处理，已搁置并通知推荐单位"],
    )
    counts = digest_counts({"application": report})
    assert counts["项目申报·未能完成"] == "DIST-03 第2批次无法处理，已搁置并通知推荐单位"
    assert counts["项目申报·完成"] == "受理第1批次"


def test_blocked_items_lead_the_progress_page() -> None:
    """Pending decisions and undeliverable messages are listed above the tables."""
    from sqlalchemy import select

    from services.messaging import send, staff_recipient
    from storage import orm

    seed(4)  # accepted, no decision yet
    ctx = context("2025-05-16")
    page = progress_markdown(UnitOfWork(), ctx)
    top, _, _ = page.partition("### 各阶段进度")
    assert "### 待处理事项" in top
    assert "立项审核：4个项目待决定" in top and "通知发送失败" not in top

    with UnitOfWork() as uow:
        send(uow, ctx, event="call", recipient=staff_recipient(ctx), period="blocked-test")
        uow.flush()
        for record in uow.session.scalars(select(orm.NotificationRecord)):
            record.status = "failed"
        uow.commit()
    top = progress_markdown(UnitOfWork(), ctx).partition("### 各阶段进度")[0]
    assert "通知发送失败1条" in top and "qcamp messages resend --failed --year 2025" in top
