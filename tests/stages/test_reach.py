"""Every message reaches a person (issue 16): one mail setting for units, project people, experts
and staff, delivered through a real SMTP server (aiosmtpd); people without an address reached
through their project lead; no route at all is 无法送达 and never counted as sent; mass mail
held until staff release it, with a preview."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployments.cli import app as cli_app
from domain.mail import MessagesConfig, StaffMember
from notifications.recipients import Recipient
from services import application, messaging
from services.context import CampaignContext
from services.delivery import deliver_messages, queue_staff_digest
from services.progress import progress_markdown
from services.status import campaign_status
from storage import orm
from storage.uow import UnitOfWork
from tests.notifications.notifications_testkit import SmtpSink
from tests.stages.factory import context, seed

STAFF = StaffMember(name="郭丽坤", email="guolk@tj.example.cn")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> SmtpSink:
    sink = SmtpSink()
    sink.start()
    monkeypatch.setenv(
        "QCAMP_MAIL_URL", f"mailto://127.0.0.1:{sink.port}?from=qcamp@example.com&mode=insecure"
    )
    yield sink
    sink.stop()


def _ctx(as_of: str, **messages: object) -> CampaignContext:
    ctx = context(as_of)
    config = ctx.config.model_copy(
        update={"messages": MessagesConfig(**{"staff": [STAFF], **messages})}
    )
    return dataclasses.replace(ctx, config=config)


def _people_setup() -> tuple[orm.ProjectPerson, orm.ProjectPerson, orm.ProjectPerson]:
    """(a person with an address, a member without one whose lead has one, a member of a project
    where nobody has an address, in a unit without one)."""
    seed(2, n_units=2)
    with UnitOfWork() as uow:
        apps = uow.session.query(orm.Application).order_by(orm.Application.id).all()
        own = next(p for p in apps[0].people if p.role == "项目负责人")
        relayed = next(p for p in apps[0].people if p.role == "技术骨干")
        relayed.email = ""
        for p in apps[1].people:
            p.email = ""
        apps[1].recommending_unit.email = ""
        lost = next(p for p in apps[1].people if p.role == "技术骨干")
        uow.session.add(orm.Expert(key="E001", name="王敏", email="expert1@tj.example.cn"))
        uow.commit()
        return own.id, relayed.id, lost.id


def _certificate(uow: UnitOfWork, ctx: CampaignContext, person: orm.ProjectPerson) -> bool:
    return messaging.send(
        uow,
        ctx,
        event="certificate",
        recipient=Recipient.for_project_person(person),
        period=f"C{person.id}",
        context={
            "holder": person.name,
            "project_title": person.application.title,
            "serial": f"C{person.id}",
            "pickup": "到市市场监管委领取",
        },
    )


def test_units_people_experts_and_staff_get_mail_through_one_smtp_setting(
    smtp: SmtpSink,
) -> None:
    own_id, relayed_id, lost_id = _people_setup()
    ctx = _ctx("2025-11-12T10:00")
    with UnitOfWork() as uow:
        unit = uow.repo.recommending_unit("RU00")
        assert messaging.send(
            uow,
            ctx,
            event="call",
            recipient=Recipient.for_recommending_unit(unit),
            context={"unit": unit.name},
        )
        own, relayed, lost = (
            uow.session.get(orm.ProjectPerson, i) for i in (own_id, relayed_id, lost_id)
        )
        lead = next(p for p in relayed.application.people if p.role == "项目负责人")
        assert _certificate(uow, ctx, own)
        assert _certificate(uow, ctx, relayed)
        assert not _certificate(uow, ctx, lost)  # 无法送达: not counted as sent
        expert = uow.session.query(orm.Expert).one()
        assert messaging.send(
            uow,
            ctx,
            event="panel_invitation",
            recipient=Recipient.for_expert(expert),
            context={
                "panel_name": "第一组",
                "review_at": "2025年11月20日 09:00",
                "place": "会议室",
                "project_count": 5,
                "scores_due": "2025年11月25日",
                "reply_by": dt.date(2025, 11, 17),
            },
        )
        uow.commit()
    assert queue_staff_digest(UnitOfWork(), ctx, {})
    report = deliver_messages(dataclasses.replace(ctx, now=ctx.now + dt.timedelta(days=1)))

    # the lead's own certificate and the one relayed through the lead: one mail to the lead
    assert report.sent == 4 and report.failed == 0 and report.superseded == 1
    by_rcpt = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    assert set(by_rcpt) == {
        "ru00@example.cn",
        own.email,
        lead.email,
        "expert1@tj.example.cn",
        STAFF.email,
    }
    relayed_mail = [m for m in smtp.messages if "本通知请转交" in m.get_content()]
    assert len(relayed_mail) == 1
    assert relayed_mail[0]["To"].addresses[0].addr_spec == lead.email
    assert f"本通知请转交：{relayed.name}（技术骨干）" in relayed_mail[0].get_content()
    assert all(m["Reply-To"].addresses[0].addr_spec == ctx.config.email for m in smtp.messages)

    with UnitOfWork() as uow:
        status = campaign_status(uow, ctx)["notifications"]
    assert status["sent"] == 4 and status["undeliverable"] == 1
    page = progress_markdown(UnitOfWork(), ctx)
    assert "无法送达的通知（1 封" in page and lost.name in page
    digest = next(m for m in smtp.messages if m["To"].addresses[0].addr_spec == STAFF.email)
    assert "无法送达" in digest.get_content() and lost.name in digest.get_content()


def test_call_is_held_with_a_preview_until_staff_release_it(
    smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QCAMP_HOLD_MASS_MAIL", raising=False)  # the config's default: hold
    seed(3, n_units=3)
    ctx = _ctx("2025-03-20T10:00")
    report = application.publish_call(UnitOfWork(), ctx)
    previews = [Path(d) for d in report.documents if Path(d).name.startswith("群发通知预览")]
    assert len(previews) == 1
    text = previews[0].read_text(encoding="utf-8")
    assert text.count("@example.cn") == 3 and "qcamp messages release" in text
    assert any("待工作人员预览" in w for w in report.waiting)

    later = dataclasses.replace(ctx, now=ctx.now + dt.timedelta(days=2))
    assert deliver_messages(later).sent == 0
    assert smtp.messages == []
    with UnitOfWork() as uow:
        assert campaign_status(uow, later)["notifications"]["held"] == 3

    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        [
            "messages",
            "release",
            "--year",
            "2025",
            "--event",
            "call",
            "--by",
            "郭丽坤",
            "--as-of",
            "2025-03-21T09:30",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "郭丽坤 已放行 3 封" in result.output
    sent = deliver_messages(dataclasses.replace(ctx, now=ctx.now + dt.timedelta(days=3)))
    assert sent.sent == 3 and len(smtp.messages) == 3
    with UnitOfWork() as uow:
        step = next(s for s in uow.repo.steps(ctx.campaign_id) if s.step.startswith("release:call"))
    assert step.summary["by"] == "郭丽坤"


def test_release_needs_a_name(smtp: SmtpSink) -> None:
    seed(1, n_units=1)
    result = CliRunner().invoke(
        cli_app, ["messages", "release", "--year", "2025", "--event", "call", "--by", " "]
    )
    assert result.exit_code == 2 and "--by" in result.output


def test_the_demo_setting_sends_the_call_without_holding(
    smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QCAMP_HOLD_MASS_MAIL", "false")
    seed(2, n_units=2)
    ctx = _ctx("2025-03-20T10:00")
    report = application.publish_call(UnitOfWork(), ctx)
    assert not any(Path(d).name.startswith("群发通知预览") for d in report.documents)
    assert deliver_messages(dataclasses.replace(ctx, now=ctx.now + dt.timedelta(days=2))).sent == 2


def test_several_people_relayed_through_one_lead_get_one_mail(smtp: SmtpSink) -> None:
    """Three members without an address, each with a certificate mail due the same day: their
    project lead gets ONE mail naming the three, with the three certificates' text; the other two
    records say they were merged into it."""
    seed(1, n_units=1)
    with UnitOfWork() as uow:
        app = uow.session.query(orm.Application).one()
        lead = next(p for p in app.people if p.role == "项目负责人")
        members = [p for p in app.people if p is not lead]
        for p in members:
            p.email = ""
        uow.commit()
        member_ids = [p.id for p in members]
    assert len(member_ids) >= 2
    ctx = _ctx("2025-11-12T10:00")
    with UnitOfWork() as uow:
        people = [uow.session.get(orm.ProjectPerson, i) for i in member_ids]
        assert all(_certificate(uow, ctx, p) for p in people)
        names = [p.name for p in people]
        uow.commit()
    report = deliver_messages(dataclasses.replace(ctx, now=ctx.now + dt.timedelta(days=1)))
    assert report.sent == 1
    [mail] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == lead.email]
    text = mail.get_content()
    assert f"本邮件包含{len(names)}份通知" in text and all(n in text for n in names)
    with UnitOfWork() as uow:
        merged = uow.session.query(orm.NotificationRecord).filter_by(status="superseded").all()
    assert len(merged) == len(names) - 1 and all("合并为一封" in r.last_error for r in merged)
    assert f"请分别转交：{names[0]}" in text
