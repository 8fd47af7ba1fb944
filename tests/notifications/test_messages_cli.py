"""`qcamp messages list|show|resend --failed` for staff, on the real database and a real SMTP
server (aiosmtpd) that is down when a message is first sent and up when it is resent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from notifications_testkit import EVENT_CONTEXT, SmtpSink
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from deployments.cli import app
from notifications.recipients import Recipient
from notifications.service import deliver_due, queue_message_record
from notifications.templates import render
from storage import orm

SH = dt.timezone(dt.timedelta(hours=8))
WORKDAY = dt.datetime(2025, 10, 9, 10, 0, tzinfo=SH)
PASSWORD = "s3cret-pw-7731"


def qcamp(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def messages(
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """Year 2099: a reminder sent to the outbox, a certificate mail whose SMTP server is down
    (failed), and a call not yet due."""
    monkeypatch.setenv("QCAMP_TEST_SMTP_PASSWORD", PASSWORD)
    sink = SmtpSink(user="qcamp", password=PASSWORD)  # not started: its port refuses connections
    smtp_url = (
        f"mailto://qcamp:{{env:QCAMP_TEST_SMTP_PASSWORD}}@127.0.0.1:{sink.port}"
        "?to=wang@example.cn&from=qcamp@example.com&mode=insecure"
    )
    certificate = tmp_path / "TJZLGG-2099-0002-P_王小明.docx"
    certificate.write_bytes(b"PK\x03\x04 certificate")
    with session_factory() as s:
        sent = queue_message_record(
            s,
            campaign_id=campaign_id,
            event="application_reminder",
            rule="rule:application_reminder:T-7",
            recipient=Recipient(
                key="ru:DEPT01", name="天津市第1推荐单位", kind="recommending_unit"
            ),
            period="T-7",
            context={**base_context, **EVENT_CONTEXT["application_reminder"]},
            now=WORKDAY,
        )
        failing = queue_message_record(
            s,
            campaign_id=campaign_id,
            event="certificate",
            rule="rule:certificate",
            recipient=Recipient(
                key="person:p1", name="王小明", kind="project_person", channels=[smtp_url]
            ),
            period="TJZLGG-2099-0002-P",
            context={**base_context, **EVENT_CONTEXT["certificate"]},
            attachments=[certificate],
            now=WORKDAY,
        )
        later = queue_message_record(
            s,
            campaign_id=campaign_id,
            event="call",
            rule="rule:call",
            recipient=Recipient(
                key="ru:DEPT02", name="天津市第2推荐单位", kind="recommending_unit"
            ),
            period="",
            context=base_context,
            now=WORKDAY + dt.timedelta(days=7),
        )
        s.commit()
    assert sent and failing and later
    report = deliver_due(
        session_factory, now=WORKDAY, default_outbox=tmp_path / "outbox", max_attempts=1
    )
    assert (report.sent, report.failed) == (1, 1)
    return {"sent": sent.id, "failed": failing.id, "later": later.id, "sink": sink}


def test_list_shows_every_message_in_a_chinese_table_with_redacted_errors(
    messages: dict[str, Any],
) -> None:
    code, printed = qcamp("messages", "list", "--year", 2099)
    assert code == 0, printed
    header = printed.splitlines()[0].split()
    assert header == ["编号", "事件", "收件人", "状态", "计划发送时间", "最近错误"]
    assert "申报截止提醒" in printed and "证书发放" in printed and "征集通知" in printed
    failed_line = next(line for line in printed.splitlines() if "王小明" in line)
    assert failed_line.split()[0] == str(messages["failed"]) and "发送失败" in failed_line
    assert "2025-10-09 10:00" in failed_line and "ConnectionRefused" in failed_line
    assert PASSWORD not in printed
    assert "共 3 条" in printed

    code, printed = qcamp("messages", "list", "--year", 2099, "--status", "failed", "--json")
    assert code == 0
    (row,) = json.loads(printed)
    assert (row["id"], row["event"], row["status"]) == (messages["failed"], "certificate", "failed")
    assert PASSWORD not in row["last_error"] and row["last_error"]
    code, printed = qcamp("messages", "list", "--year", 2099, "--event", "征集通知", "--json")
    assert [r["id"] for r in json.loads(printed)] == [messages["later"]]


def test_list_refuses_a_wrong_status_event_or_year(messages: dict[str, Any]) -> None:
    code, printed = qcamp("messages", "list", "--year", 2099, "--status", "lost")
    assert code == 2 and "--status" in printed and "failed" in printed
    code, printed = qcamp("messages", "list", "--year", 2099, "--event", "nope")
    assert code == 2 and "--event" in printed and "certificate" in printed
    code, printed = qcamp("messages", "list", "--year", 1999)
    assert code == 2 and "1999" in printed


def test_show_prints_the_message_as_sent_with_its_rule_and_template(
    messages: dict[str, Any],
) -> None:
    code, printed = qcamp("messages", "show", messages["failed"])
    assert code == 0, printed
    assert "规则：rule:certificate" in printed
    assert "模板：certificate（证书发放）" in printed
    assert "收件人：王小明（person:p1）" in printed and "收件地址 wang@example.cn" in printed
    assert "附件：TJZLGG-2099-0002-P_王小明.docx" in printed
    assert "主题：证书发放：" in printed and "王小明：" in printed
    assert PASSWORD not in printed and "{env:QCAMP_TEST_SMTP_PASSWORD}" in printed
    code, printed = qcamp("messages", "show", 99999)
    assert code == 2 and "99999" in printed and "messages list" in printed


def test_resend_failed_requeues_and_the_next_delivery_sends(
    messages: dict[str, Any], session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    code, printed = qcamp("messages", "resend", "--year", 2099)
    assert code == 2 and "--failed" in printed
    code, printed = qcamp(
        "messages", "resend", "--failed", "--year", 2099, "--as-of", "2025-10-09T11:00"
    )
    assert (
        code == 0
        and f"已将 1 条发送失败的消息重新放入发送队列（编号：{messages['failed']}）" in printed
    )
    with session_factory() as s:
        rec = s.get(orm.NotificationRecord, messages["failed"])
        assert rec is not None and (rec.status, rec.attempts) == ("pending", 0)
    sink: SmtpSink = messages["sink"]
    sink.start()
    try:
        report = deliver_due(
            session_factory,
            now=dt.datetime(2025, 10, 9, 11, 0, tzinfo=SH),
            default_outbox=tmp_path / "outbox",
        )
    finally:
        sink.stop()
    assert report.sent == 1 and sink.envelopes[0][1] == ["wang@example.cn"]
    code, printed = qcamp("messages", "resend", "--failed", "--year", 2099)
    assert code == 0 and "没有发送失败的消息" in printed


def test_the_staff_digest_names_the_resend_command(base_context: dict[str, Any]) -> None:
    body = render(
        "staff_digest",
        {
            **base_context,
            "recipient_name": "质量攻关工作组",
            "day": dt.date(2025, 10, 9),
            "as_of": WORKDAY,
            "counts": ["项目申报：完成"],
            "failed_count": 1,
            "failures": ["王小明（person:p1）《证书发放》：已尝试 5 次，已停止重试。"],
        },
    ).body
    assert "qcamp messages resend --failed --year 2025" in body
    assert "工作台" not in body
