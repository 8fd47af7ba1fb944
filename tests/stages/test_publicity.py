"""Stage 8 公示公布 and 9 宣传推广, as a user would notice them: the notice's dates across National
Day, an open objection blocks publication, certificates one per participant with unique serials,
and a rerun sends nothing twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

from domain.states import ProjectState
from flows.evaluation import evaluation_body
from services import promotion, publication, publicity
from services.context import CampaignContext, StageReport, open_campaign
from services.evaluation import confirm_excellent
from services.experts import import_experts
from storage import orm
from storage.uow import UnitOfWork
from tests.stages.conftest_late import (
    build_results,
    ensure_tables,
    late_context,
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
    import_experts(UnitOfWork(), write_expert_pool(tmp_path / "专家库.xlsx", 30))
    evaluation_body(ctx)
    score_all_panels(ctx, tmp_path / "filled")
    ctx = _ctx("2025-09-26T10:00:00", start)
    evaluation_body(ctx)
    confirm_excellent(UnitOfWork(), ctx, "张处长", source="cli")
    assert evaluation_body(ctx).complete
    return start


def _publicity(as_of: str, start: dt.date) -> tuple[CampaignContext, StageReport]:
    """What the stage's flow does at `as_of` (after the notice's start), by its services."""
    ctx = _ctx(as_of, start)
    posted = publicity.post_public_notice(UnitOfWork(), ctx)
    report = StageReport.start("publicity", ctx).merge(posted)
    if posted.notice is not None:
        report = report.merge(publication.publish_results(UnitOfWork(), ctx, posted.notice))
    return ctx, report


def add_objection(ctx: CampaignContext, *args: object) -> int:
    return publicity.add_objection(UnitOfWork(), ctx, *args)  # type: ignore[arg-type]


def resolve_objection(ctx: CampaignContext, *args: object) -> None:
    publicity.resolve_objection(UnitOfWork(), ctx, *args)  # type: ignore[arg-type]


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
        open_campaign(2025, "2025-10-09T11:00"),  # typed in after it was received
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

    # files of the notice and the publication lost from disk: written again from the database
    with UnitOfWork() as uow:
        lost = [Path(d.path) for d in uow.repo.documents(ctx.campaign_id)]
        lost = [p for p in lost if p.suffix == ".docx" and ctx.folder("publicity") in p.parents]
    assert len(lost) >= 4  # the notice, the publication, the commendation, certificates
    for path in lost:
        path.unlink()
    ctx, rewritten = _publicity("2025-10-15T10:00:00", start)
    assert all(p.is_file() for p in lost), [p for p in lost if not p.exists()]
    assert any("重新生成缺失的优秀成果公示" in d for d in rewritten.done)
    assert any("重新生成缺失的公布文件" in d for d in rewritten.done)
    assert before == (
        _count(orm.NotificationRecord),
        _count(orm.Certificate),
        _count(orm.StateChange),
    )
    promo = promotion.plan_exchange_meeting(UnitOfWork(), ctx)
    assert promo.complete and promo.documents
    sent = _count(orm.NotificationRecord)
    promotion.plan_exchange_meeting(UnitOfWork(), ctx)
    assert _count(orm.NotificationRecord) == sent
    agenda = Path(promo.documents[0])
    agenda.unlink()
    replanned = promotion.plan_exchange_meeting(UnitOfWork(), ctx)
    assert agenda.is_file() and replanned.documents == [str(agenda)]
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


def test_flows_post_publish_and_plan_the_meeting(
    excellent_results: dt.date, prefect_api: None
) -> None:
    """The stage flows' bodies, with their Prefect tasks: before the notice, the notice, the
    publication at the end of the period, the exchange meeting after it."""
    from flows.promotion import promotion_body
    from flows.publicity import publicity_body

    start = excellent_results
    early = publicity_body(_ctx("2025-09-29T10:00:00", start))
    assert early.waiting == ["公示开始日期 2025-09-30"] and not early.done
    assert "等待优秀成果公布" in promotion_body(_ctx("2025-09-30T10:00:00", start)).waiting
    posted = publicity_body(_ctx("2025-09-30T10:00:00", start))
    assert any("发布优秀成果公示" in d for d in posted.done) and not posted.complete
    published = publicity_body(_ctx("2025-10-14T10:00:00", start))
    assert published.complete and published.counts["证书"] > 0
    assert any("公布优秀成果" in d for d in published.done)
    meeting = promotion_body(_ctx("2025-10-20T10:00:00", start))
    assert meeting.complete and meeting.documents


def test_certificates_converted_after_commit_and_an_interrupted_publication_finishes(
    excellent_results: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice runs with the publication's rows already committed (no transaction open);
    a run that stops at the conversion is finished by the next one, sending nothing twice."""
    monkeypatch.setenv("QCAMP_CERTIFICATE_PDF", "true")
    start = excellent_results
    _publicity("2025-09-30T10:00:00", start)
    calls: list[int] = []

    def fake_to_pdfs(paths: list[Path]) -> list[Path]:
        calls.append(_count(orm.Certificate))  # visible to another unit of work: committed
        if len(calls) == 1:
            raise RuntimeError("LibreOffice 转换失败")
        pdfs = [Path(p).with_suffix(".pdf") for p in paths]
        for pdf in pdfs:
            pdf.write_bytes(b"%PDF-1.4\n")
        return pdfs

    monkeypatch.setattr(publication, "to_pdfs", fake_to_pdfs)
    with pytest.raises(RuntimeError):
        _publicity("2025-10-14T10:00:00", start)
    assert calls[0] > 0
    with UnitOfWork() as uow:
        assert uow.repo.step_done(uow.repo.campaign(YEAR).id, "publicity", "published") is None
        assert not uow.session.scalars(
            select(orm.NotificationRecord).where(orm.NotificationRecord.event == "certificate")
        ).all()
    ctx, outcome = _publicity("2025-10-14T10:00:00", start)
    assert outcome.complete and calls[1] == calls[0]
    assert outcome.counts["证书"] == calls[0]
    assert any(d.endswith(".pdf") for d in outcome.documents)
    with UnitOfWork() as uow:
        certs = uow.session.scalars(select(orm.Certificate)).all()
        kinds = [d.kind for d in uow.repo.documents(ctx.campaign_id)]
        told = uow.session.scalars(
            select(orm.NotificationRecord.period).where(
                orm.NotificationRecord.event == "certificate"
            )
        ).all()
    # each certificate's own file is what its holder receives; the units' files became PDFs
    assert all(c.serial in Path(c.document).name and Path(c.document).exists() for c in certs)
    assert kinds.count("certificates_pdf") == kinds.count("certificates") > 0
    assert sorted(told) == sorted(c.serial for c in certs)
    _, again = _publicity("2025-10-14T10:00:00", start)
    assert again.complete and not again.done and len(calls) == 2


def _docx_text(data: bytes) -> str:
    import io

    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def test_a_persons_certificate_mail_holds_their_certificate_alone(
    excellent_results: dt.date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real SMTP server: each participant's certificate mail carries one certificate,
    theirs, and names no other person; a recommending unit's publication mail carries only its
    own projects' certificates. (The people's certificate records are pointed at the SMTP
    server here: routing people's mail by address is another rule's work.)"""
    from sqlalchemy import update

    from domain.calendar import load_campaign_config
    from notifications.service import deliver_due
    from services.delivery import campaign_sender
    from storage.db import session_factory
    from storage.settings import PROJECT_ROOT
    from tests.notifications.notifications_testkit import SmtpSink

    monkeypatch.setenv("QCAMP_CERTIFICATE_PDF", "false")  # Word files: their text is read here
    start = excellent_results
    _publicity("2025-09-30T10:00:00", start)
    ctx, outcome = _publicity("2025-10-14T10:00:00", start)
    assert outcome.complete
    with UnitOfWork() as uow:
        apps = uow.repo.applications(ctx.campaign_id, with_people=True)
        people = {p.email: (p.name, a.recommending_unit_id) for a in apps for p in a.people}
        unit_people = {
            u.email: {
                p.name
                for a in apps
                if a.recommending_unit_id == u.id and a.state == "published"
                for p in a.people
            }
            for u in uow.repo.recommending_units()
        }
        unit_of = {u.email: u.id for u in uow.repo.recommending_units()}
        published = uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED])
        holders = {p.email for a in apps if a.id in {x.id for x in published} for p in a.people}
    sink = SmtpSink()
    sink.start()
    try:
        with UnitOfWork() as uow:
            for rec in uow.session.scalars(
                select(orm.NotificationRecord).where(
                    orm.NotificationRecord.event.in_(["certificate", "publication"])
                )
            ):
                to = rec.channels[0]["url"].split("to=", 1)[1]
                uow.session.execute(
                    update(orm.NotificationRecord)
                    .where(orm.NotificationRecord.id == rec.id)
                    .values(channels=[{**rec.channels[0], "url": sink.url(to)}])
                )
            uow.commit()
        report = deliver_due(
            session_factory(),
            now=ctx.now + dt.timedelta(days=1),
            default_outbox=tmp_path / "outbox",
            sender=campaign_sender(load_campaign_config(YEAR, PROJECT_ROOT / "config")),
        )
        assert report.sent > 0 and not report.failures
        messages = [
            (rcpts[0], m) for (_f, rcpts, _r), m in zip(sink.envelopes, sink.messages, strict=True)
        ]
    finally:
        sink.stop()
    personal = [(to, m) for to, m in messages if to in people]
    assert {to for to, _m in personal} == holders and len(personal) == len(holders)
    for to, msg in personal:
        holder = people[to][0]
        (part,) = list(msg.iter_attachments())
        text = _docx_text(part.get_payload(decode=True))
        assert text.count("荣誉证书") == 1 and f"{holder}同志" in text
        body = msg.get_body(("plain",)).get_content()
        others = {n for n, _u in people.values() if holder not in n and n not in holder}
        assert not [n for n in others if n in text or n in body], holder
    for to, msg in messages:
        if to in unit_of and msg["X-Qcamp-Event"] == "publication":
            files = [p for p in msg.iter_attachments() if "证书" in (p.get_filename() or "")]
            (certificates,) = files
            text = _docx_text(certificates.get_payload(decode=True))
            strangers = {n for n, u in people.values() if u != unit_of[to]} - unit_people[to]
            assert not [n for n in strangers if f"{n}同志" in text]
            assert unit_people[to] and all(f"{n}同志" in text for n in unit_people[to])


def test_a_published_winner_resubmitted_next_year_is_a_duplicate(
    excellent_results: dt.date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shutil

    from typer.testing import CliRunner

    from deployments.cli import app
    from domain.calendar import SHANGHAI
    from services.context import open_campaign
    from services.intake import intake_batch
    from storage.settings import PROJECT_ROOT
    from tests.intake.test_intake import fix_uscc, good_form, register_units, write_batch

    ctx, outcome = _publicity("2025-10-14T10:00:00", excellent_results)
    assert outcome.complete
    with UnitOfWork() as uow:
        winners = uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED])
        published = {(a.title, a.applicant_name) for a in winners}
    assert published
    listed = CliRunner().invoke(app, ["past-results", "list", "--year", "2025", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert {(r["title"], r["unit"]) for r in rows} == published
    assert all(r["year"] == 2025 and "abstract" in r for r in rows)
    # the next year, on the same database: its config from `campaign init`, a winner resubmitted
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(PROJECT_ROOT / "config" / "campaign-2025.toml", folder)
    monkeypatch.setenv("QCAMP_CONFIG_DIR", str(folder))
    assert CliRunner().invoke(app, ["campaign", "init", "--year", "2026"]).exit_code == 0
    register_units(tmp_path)
    title, unit = sorted(published)[0]
    batch = write_batch(tmp_path / "b2026", [fix_uscc(good_form(0, title=title, applicant=unit))])
    when = dt.datetime(2026, 4, 10, 10, tzinfo=SHANGHAI)
    result = intake_batch(
        UnitOfWork(), open_campaign(2026, when), "ASSN-HJXH", [batch], received_at=when
    )
    dup = next(f for f in result.applications[0].findings if f.code == "DUPLICATE_PAST_RESULT")
    assert title in dup.message and "2025" in dup.message


def _docx_file_text(path: Path) -> str:
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_publication_states_a_dismissed_objection_and_keeps_its_number_on_rewrite(
    excellent_results: dt.date,
) -> None:
    """「经公示…无异议」 only when no objection came; the 发文字号 survives a rewrite; the
    certificates have their own prefix; the organisers are the units' registered people."""
    start = excellent_results
    ctx, _ = _publicity("2025-09-30T10:00:00", start)
    with UnitOfWork() as uow:
        notice = uow.publicity.notice(ctx.campaign_id, "publicity")
        target = uow.session.get(orm.Application, notice.application_ids[0])
        plan_number = target.plan_number
    objection = add_objection(
        open_campaign(2025, "2025-10-09T11:00"),  # typed in after it was received
        plan_number,
        "李某（实名）",
        "效益数据不实",
        dt.datetime(2025, 10, 9, 10, tzinfo=ctx.now.tzinfo),
    )
    resolve_objection(
        open_campaign(2025, "2025-10-09T11:00"), objection, "dismissed", "经核实数据属实"
    )
    ctx, outcome = _publicity("2025-10-14T10:00:00", start)
    assert outcome.complete
    docx = ctx.folder("publicity") / f"关于公布{YEAR}年天津市质量攻关优秀成果的通知.docx"
    text = _docx_file_text(docx)
    assert "无异议" not in text
    assert "收到异议1件，1件异议经核实不成立，维持评定结果" in text
    with UnitOfWork() as uow:
        number = uow.notices.number(ctx.campaign_id, "publication").number
        assert number.startswith("津市场监管质发〔2025〕")
        serials = [c.serial for c in uow.session.scalars(select(orm.Certificate))]
        contacts = {u.contact for u in uow.repo.recommending_units()}
    assert number in text
    assert serials and all(s.startswith("TJZLZS-2025-") for s in serials)
    assert not any(s.startswith("TJZLGG") for s in serials)
    commendation = _docx_file_text(
        ctx.folder("publicity") / f"{YEAR}年天津市质量攻关通报表扬名单.docx"
    )
    organisers = commendation.split("三、优秀组织者", 1)[1]
    assert "质量科" not in organisers
    assert any(c and c in organisers for c in contacts)
    docx.unlink()
    _publicity("2025-10-15T10:00:00", start)
    assert number in _docx_file_text(docx)  # written again with the number it was given
    with UnitOfWork() as uow:
        assert _count(orm.NoticeNumber) == len(
            {n.kind for n in uow.session.scalars(select(orm.NoticeNumber))}
        )
