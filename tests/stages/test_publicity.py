"""Stage 8 公示公布 and 9 宣传推广, as a user would notice them: the notice's dates across National
Day, an open objection blocks publication, certificates one per participant with unique serials,
and a rerun sends nothing twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

from flows.evaluation import evaluation_body
from flows.promotion import promotion_body
from flows.publicity import publicity_body
from services.context import CampaignContext
from storage import orm
from storage.uow import UnitOfWork
from tasks.evaluation import confirm_excellent, import_experts
from tasks.publicity import add_objection, resolve_objection
from tests.stages.conftest_late import (
    build_results,
    ensure_tables,
    late_context,
    outcome_for,
    score_all_panels,
    write_expert_pool,
)

YEAR = 2025


def _ctx(as_of: str, publicity_start: dt.date) -> CampaignContext:
    return late_context(YEAR, as_of, publicity_start)


@pytest.fixture
def excellent_results(database: str, campaign_dir: Path, prefect_api: None, tmp_path: Path):  # noqa: ANN201
    """Results evaluated and the excellent list confirmed on 26 Sep 2025."""
    ensure_tables()
    start = dt.date(2025, 9, 30)
    ctx = _ctx("2025-09-22T10:00:00", start)
    build_results(ctx, 24)
    import_experts(write_expert_pool(tmp_path / "专家库.xlsx", 30))
    evaluation_body(ctx, outcome_for("evaluation", ctx))
    score_all_panels(ctx, tmp_path / "filled")
    ctx = _ctx("2025-09-26T10:00:00", start)
    evaluation_body(ctx, outcome_for("evaluation", ctx))
    confirm_excellent(ctx, "张处长", source="cli")
    outcome = outcome_for("evaluation", ctx)
    evaluation_body(ctx, outcome)
    assert outcome.complete
    return start


def _publicity(as_of: str, start: dt.date):  # noqa: ANN202
    ctx = _ctx(as_of, start)
    outcome = outcome_for("publicity", ctx)
    publicity_body(ctx, outcome)
    return ctx, outcome


def _count(model: type[orm.Base]) -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_notice_period_spans_national_day(excellent_results: dt.date) -> None:
    _, outcome = _publicity("2025-09-30T10:00:00", excellent_results)
    with UnitOfWork() as uow:
        notice = uow.session.scalar(
            select(orm.PublicNotice).where(orm.PublicNotice.kind == "publicity")
        )
        assert notice is not None
    assert (notice.starts_on, notice.ends_on) == (dt.date(2025, 9, 30), dt.date(2025, 10, 13))
    text = "\n".join(p.text for p in Document(notice.document).paragraphs)
    assert "公示期为2025年9月30日至2025年10月13日（5个工作日）" in text
    assert not outcome.complete


def test_open_objection_blocks_publication_then_upheld_one_is_withdrawn(
    excellent_results: dt.date,
) -> None:
    start = excellent_results
    ctx, _ = _publicity("2025-09-30T10:00:00", start)
    with UnitOfWork() as uow:
        notice = uow.session.scalar(
            select(orm.PublicNotice).where(orm.PublicNotice.kind == "publicity")
        )
        target = uow.session.get(orm.Application, notice.application_ids[0])
        plan_number = target.plan_number
        target_id = target.id
    objection = add_objection(
        ctx,
        plan_number,
        "李某（实名）",
        "效益数据不实",
        dt.datetime(2025, 10, 9, 10, tzinfo=ctx.now.tzinfo),
    )
    ctx, outcome = _publicity("2025-10-14T10:00:00", start)
    assert not outcome.complete
    assert any("未处理" in w and "不予公布" in w for w in outcome.waiting)
    assert _count(orm.Certificate) == 0
    resolve_objection(ctx, objection, "upheld", "经核实效益数据有误")
    ctx, outcome = _publicity("2025-10-15T10:00:00", start)
    assert outcome.complete
    with UnitOfWork() as uow:
        assert uow.session.get(orm.Application, target_id).state == "evaluated"
        assert "异议成立" in uow.repo.state_changes(target_id)[-1].reason
        assert not uow.session.scalars(
            select(orm.Certificate).where(orm.Certificate.application_id == target_id)
        ).all()


def test_certificates_unique_and_one_per_participant_and_rerun_sends_nothing(
    excellent_results: dt.date,
) -> None:
    start = excellent_results
    _publicity("2025-09-30T10:00:00", start)
    ctx, outcome = _publicity("2025-10-14T10:00:00", start)
    assert outcome.complete
    with UnitOfWork() as uow:
        published = uow.session.scalars(
            select(orm.Application).where(orm.Application.state == "published")
        ).all()
        certs = uow.session.scalars(select(orm.Certificate)).all()
        serials = [c.serial for c in certs]
        assert len(serials) == len(set(serials))
        for app in published:
            mine = [c for c in certs if c.application_id == app.id]
            assert sorted(c.holder for c in mine if c.holder_kind == "person") == sorted(
                p.name for p in app.people
            )
            assert [c.holder for c in mine if c.holder_kind == "unit"] == [app.applicant_name]
        assert all(Path(c.document).exists() for c in certs)
    before = (_count(orm.NotificationRecord), _count(orm.Certificate), _count(orm.StateChange))
    ctx, again = _publicity("2025-10-14T10:00:00", start)
    assert not again.done
    promo = outcome_for("promotion", ctx)
    promotion_body(ctx, promo)
    assert promo.complete and promo.documents
    sent = _count(orm.NotificationRecord)
    promotion_body(ctx, outcome_for("promotion", ctx))
    assert _count(orm.NotificationRecord) == sent
    assert (before[1], before[2]) == (_count(orm.Certificate), _count(orm.StateChange))


def test_certificates_without_pdf_when_switched_off(
    excellent_results: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QCAMP_CERTIFICATE_PDF=false (the demo's default): Word certificates only, even where
    LibreOffice is installed, and no PDF document is recorded."""
    monkeypatch.setenv("QCAMP_CERTIFICATE_PDF", "false")
    start = excellent_results
    _publicity("2025-09-30T10:00:00", start)
    ctx, outcome = _publicity("2025-10-14T10:00:00", start)
    assert outcome.complete
    with UnitOfWork() as uow:
        kinds = [d.kind for d in uow.repo.documents(ctx.campaign_id)]
    assert "certificates" in kinds and "certificates_pdf" not in kinds
    folder = ctx.folder("publicity")
    assert list(folder.rglob("*.docx")) and not list(folder.rglob("*.pdf"))
