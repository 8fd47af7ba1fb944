"""Exactly-once delivery against a real SMTP server, a real webhook receiver and the outbox."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from notifications_testkit import EVENT_CONTEXT, SmtpSink, WebhookSink, free_port
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from domain.reminders import reminder_due
from notifications.channels import Dispatcher, OutgoingMessage, SendResult
from notifications.ics import training_ics
from notifications.recipients import Recipient
from notifications.service import (
    deliver_due,
    failed_deliveries,
    queue_message,
    queue_message_record,
    retry_failed,
    staff_digest_context,
)
from notifications.templates import render
from storage import orm
from storage.settings import PROJECT_ROOT

SH = dt.timezone(dt.timedelta(hours=8))
# Thursday 9 October 2025, 10:00: a working day after the National Day holiday.
WORKDAY = dt.datetime(2025, 10, 9, 10, 0, tzinfo=SH)


def unit(n: int, channels: list[str] | None = None, email_addr: str = "") -> Recipient:
    return Recipient(
        key=f"ru:DEPT{n:02d}",
        name=f"天津市第{n}推荐单位",
        kind="recommending_unit",
        email=email_addr,
        channels=channels or [],
    )


def queue_reminder(
    s: Session, campaign_id: int, r: Recipient, ctx: dict[str, Any], *, now: dt.datetime = WORKDAY
) -> orm.NotificationRecord | None:
    return queue_message_record(
        s,
        campaign_id=campaign_id,
        event="application_reminder",
        rule="rule:application_reminder:T-7",
        recipient=r,
        period="T-7",
        context={**ctx, **EVENT_CONTEXT["application_reminder"]},
        now=now,
    )


def records(factory: sessionmaker[Session]) -> list[orm.NotificationRecord]:
    with factory() as s:
        return list(s.scalars(select(orm.NotificationRecord).order_by(orm.NotificationRecord.id)))


# ---------------------------------------------------------------------------------------------
def test_reminder_due() -> None:
    deadline = dt.datetime(2025, 4, 20, 23, 59, 59, tzinfo=SH)
    days = [14, 7, 3, 1]
    assert reminder_due(deadline, deadline - dt.timedelta(days=20), days) is None
    assert reminder_due(deadline, deadline - dt.timedelta(days=14), days) == 14
    assert reminder_due(deadline, deadline - dt.timedelta(days=10), days) == 14
    assert reminder_due(deadline, deadline - dt.timedelta(days=6, hours=23), days) == 7
    assert reminder_due(deadline, deadline - dt.timedelta(hours=2), days) == 1
    assert reminder_due(deadline, deadline, days) is None


def test_holiday_deferral_national_day_2025(
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    saturday = dt.datetime(2025, 10, 4, 10, 0, tzinfo=SH)  # National Day holiday
    with session_factory() as s:
        rec = queue_reminder(s, campaign_id, unit(1), base_context, now=saturday)
        s.commit()
    assert rec is not None
    assert rec.scheduled_for == dt.datetime(2025, 10, 9, 9, 0, tzinfo=SH)
    outbox = tmp_path / "outbox"
    report = deliver_due(
        session_factory, now=dt.datetime(2025, 10, 8, 12, tzinfo=SH), default_outbox=outbox
    )
    assert report.sent == 0 and not outbox.exists()
    report = deliver_due(
        session_factory, now=dt.datetime(2025, 10, 9, 9, tzinfo=SH), default_outbox=outbox
    )
    assert report.sent == 1
    (eml,) = outbox.glob("*.eml")
    assert eml.name == f"2025-10-09_application_reminder_ru-DEPT01_{rec.id}.eml"
    # evening of a working day -> next working day 09:00 (10 October is a Friday)
    with session_factory() as s:
        late = queue_reminder(
            s, campaign_id, unit(2), base_context, now=dt.datetime(2025, 10, 9, 19, tzinfo=SH)
        )
        s.commit()
    assert late is not None and late.scheduled_for == dt.datetime(2025, 10, 10, 9, tzinfo=SH)


def test_outbox_eml_opens_with_chinese_subject_and_attachments(
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    form = tmp_path / "质量攻关项目申报书（空白）.docx"
    form.write_bytes(b"PK\x03\x04 blank form")
    ics = tmp_path / "培训日程-S1.ics"
    ics.write_bytes(
        training_ics("S1", "宣贯培训", WORKDAY, WORKDAY + dt.timedelta(hours=7), "培训中心", "说明")
    )
    with session_factory() as s:
        rec = queue_message_record(
            s,
            campaign_id=campaign_id,
            event="call",
            rule="rule:call",
            recipient=unit(3, email_addr="dept03@example.cn"),
            period="",
            context=base_context,
            attachments=[form, ics],
            now=WORKDAY,
        )
        s.commit()
    assert rec is not None
    report = deliver_due(session_factory, now=WORKDAY, default_outbox=tmp_path / "outbox")
    assert report.sent == 1
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    raw = eml.read_bytes()
    assert b"filename*=utf-8''" in raw  # RFC 2231
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "关于开展2025年天津市质量攻关活动的通知"
    assert msg["To"] == "天津市第3推荐单位 <dept03@example.cn>"
    assert msg["Date"].datetime == WORKDAY
    assert msg.get_body(("plain",)).get_content().startswith("天津市第3推荐单位：")
    names = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert names["质量攻关项目申报书（空白）.docx"] == b"PK\x03\x04 blank form"
    assert names["培训日程-S1.ics"].startswith(b"BEGIN:VCALENDAR")
    # the sent record: status, sent_at, per-channel confirmation
    (done,) = records(session_factory)
    assert done.status == "sent" and done.sent_at == WORKDAY and done.attempts == 0
    assert done.channels[0]["state"] == "sent" and done.channels[0]["detail"] == str(eml)


def test_outbox_eml_long_chinese_subject_names_and_attachment(tmp_path: Path) -> None:
    """Long Chinese header text is split into encoded words and long file names into RFC 2231
    continuations; the file still reads back exactly, without defects or long lines."""
    att = tmp_path / ("质量攻关成果报告" * 9 + ".pdf")  # 240 bytes: near the file-name limit
    att.write_bytes(bytes(range(256)) * 40)
    subject = "关于" + "天津市质量攻关成果评定结果" * 8 + "的通知"
    message = OutgoingMessage(
        record_id=42,
        idempotency_key="1:results:ru:DEPT12:",
        event="results",
        recipient_key="ru:DEPT12",
        recipient_name="天津市第十二推荐单位（天津市滨海新区市场监督管理局）",
        subject=subject,
        body="正文第一行\n第二行，含全角标点。",
        sent_at=WORKDAY,
        attachments=(att,),
    )
    with Dispatcher(default_outbox=tmp_path / "outbox") as dispatcher:
        result = dispatcher.send("outbox:", message)
    assert result.ok, result.error
    raw = Path(result.detail).read_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) < 998
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not any(part.defects for part in msg.walk())
    assert msg["Subject"] == subject
    assert msg["To"] == "天津市第十二推荐单位（天津市滨海新区市场监督管理局）:;"
    assert msg.get_body(("plain",)).get_content() == "正文第一行\n第二行，含全角标点。"
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == att.name
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == att.read_bytes()


@pytest.mark.parametrize("transport", ["apprise", "batch"])
def test_mail_through_real_smtp_server(
    transport: str,
    smtp: SmtpSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    att = tmp_path / "立项申报汇总表（可编辑版）.xlsx"
    att.write_bytes(b"PK\x03\x04 summary table \xe4\xb8\xad")
    r = unit(4, channels=[smtp.url("dept04@example.cn", name="质量发展处")])
    with session_factory() as s:
        queue_message_record(
            s,
            campaign_id=campaign_id,
            event="call",
            rule="rule:call",
            recipient=r,
            period="",
            context=base_context,
            attachments=[att],
            now=WORKDAY,
        )
        s.commit()
    report = deliver_due(
        session_factory,
        now=WORKDAY,
        default_outbox=None,
        mail_transport=transport,  # type: ignore[arg-type]
    )
    assert (report.sent, report.failed, report.deferred) == (1, 0, 0), report.failures
    (msg,) = smtp.messages
    assert smtp.envelopes[0][1] == ["dept04@example.cn"]
    assert msg["Subject"] == "关于开展2025年天津市质量攻关活动的通知"
    assert msg["From"] == "质量发展处 <qcamp@example.com>"
    body = msg.get_body(("plain",)).get_content()
    assert "报送截止时间：2025年4月20日前" in body
    assert "天津市市场监督管理委员会 质量发展处" in body
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == "立项申报汇总表（可编辑版）.xlsx"
    assert part.get_payload(decode=True) == att.read_bytes()
    if transport == "batch":
        assert msg["Date"].datetime == WORKDAY  # the (simulated) send time
        assert msg["Message-ID"].startswith("<qcamp.")


def test_json_webhook_through_apprise(
    webhook: WebhookSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
) -> None:
    r = unit(5, channels=[f"json://127.0.0.1:{webhook.port}/qcamp/hook"])
    with session_factory() as s:
        queue_reminder(s, campaign_id, r, base_context)
        s.commit()
    report = deliver_due(session_factory, now=WORKDAY, default_outbox=None)
    assert report.sent == 1, report.failures
    (req,) = webhook.requests
    assert req["path"] == "/qcamp/hook"
    assert req["json"]["title"] == "申报截止提醒：2025年天津市质量攻关项目申报7天后截止"
    assert "距截止还有7天" in req["json"]["message"]


def test_queue_twice_deliver_twice_one_mail(
    smtp: SmtpSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
) -> None:
    r = unit(6, channels=[smtp.url("dept06@example.cn")])
    with session_factory() as s:
        assert queue_reminder(s, campaign_id, r, base_context) is not None
        s.commit()
    with session_factory() as s:
        assert queue_reminder(s, campaign_id, r, base_context) is None
        s.commit()
    assert len(records(session_factory)) == 1
    assert deliver_due(session_factory, now=WORKDAY, default_outbox=None).sent == 1
    assert (
        deliver_due(session_factory, now=WORKDAY + dt.timedelta(hours=1), default_outbox=None).sent
        == 0
    )
    with session_factory() as s:  # queued again after delivery: still nothing new
        assert queue_reminder(s, campaign_id, r, base_context) is None
        assert (
            queue_message(
                s,
                campaign_id=campaign_id,
                event="application_reminder",
                rule="rule:application_reminder:T-7",
                recipient=r,
                period="T-7",
                context={**base_context, **EVENT_CONTEXT["application_reminder"]},
                now=WORKDAY,
            )
            is None
        )
    assert len(smtp.messages) == 1


def test_queue_commits_with_the_callers_unit_of_work(
    session_factory: sessionmaker[Session], campaign_id: int, base_context: dict[str, Any]
) -> None:
    # rolled back with the caller's transaction, even when queue_message_record() is its first write
    with session_factory() as s:
        assert queue_reminder(s, campaign_id, unit(7), base_context) is not None
        s.rollback()
    assert records(session_factory) == []
    # a concurrent transaction queueing the same message waits for this one and, when this one
    # commits first, queues nothing; its own changes are kept
    results: list[orm.NotificationRecord | None] = []

    def concurrent() -> None:
        with session_factory() as other:
            other.add(orm.RecommendingUnit(code="DEPT09", name="天津市第9推荐单位"))
            results.append(queue_reminder(other, campaign_id, unit(8), base_context))
            other.commit()

    with session_factory() as s:
        s.add(orm.RecommendingUnit(code="DEPT08", name="天津市第8推荐单位"))
        first = queue_reminder(s, campaign_id, unit(8), base_context)
        assert first is not None
        # queries in the same transaction see the queued record
        assert s.scalar(select(orm.NotificationRecord.id)) == first.id
        thread = threading.Thread(target=concurrent)
        thread.start()
        time.sleep(0.5)  # the other transaction is now waiting for this one
        s.commit()
        thread.join(60)
    assert results == [None]
    with session_factory() as s:
        codes = s.scalars(select(orm.RecommendingUnit.code).order_by(orm.RecommendingUnit.code))
        assert list(codes) == ["DEPT08", "DEPT09"]
    (rec,) = records(session_factory)
    assert rec.id == first.id and rec.recipient_key == "ru:DEPT08" and rec.status == "pending"


def test_smtp_down_then_up_delivers_exactly_once(
    smtp: SmtpSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QCAMP_TEST_SMTP_PASSWORD", "Sup3r$ecret!")
    url = smtp.url("dept09@example.cn").replace(
        "mailto://", "mailto://qcamp:{env:QCAMP_TEST_SMTP_PASSWORD}@"
    )
    r = unit(9, channels=[url])
    with session_factory() as s:
        queue_reminder(s, campaign_id, r, base_context)
        s.commit()
    smtp.stop()
    report = deliver_due(session_factory, now=WORKDAY, default_outbox=None)
    assert (report.sent, report.deferred, report.failed) == (0, 1, 0)
    (rec,) = records(session_factory)
    assert rec.status == "pending" and rec.attempts == 1
    assert "Connection refused" in rec.last_error or "Errno" in rec.last_error
    assert rec.scheduled_for == WORKDAY + dt.timedelta(minutes=1)
    # the secret is nowhere in the database
    with session_factory() as s:
        dump = json.dumps(
            [list(row) for row in s.execute(text("SELECT * FROM notification_records"))],
            default=str,
            ensure_ascii=False,
        )
    assert "Sup3r$ecret!" not in dump and "{env:QCAMP_TEST_SMTP_PASSWORD}" in dump
    # not due again before the backoff has passed
    assert (
        deliver_due(
            session_factory, now=WORKDAY + dt.timedelta(seconds=30), default_outbox=None
        ).deferred
        == 0
    )
    smtp.user, smtp.password = (
        "qcamp",
        "Sup3r$ecret!",
    )  # now with AUTH, checking the resolved secret
    smtp.start()
    report = deliver_due(
        session_factory, now=WORKDAY + dt.timedelta(minutes=2), default_outbox=None
    )
    assert report.sent == 1, report.failures
    deliver_due(session_factory, now=WORKDAY + dt.timedelta(minutes=10), default_outbox=None)
    assert smtp.count_by_rcpt() == {"dept09@example.cn": 1}
    (rec,) = records(session_factory)
    assert rec.status == "sent" and rec.attempts == 1 and rec.last_error == ""


def test_max_attempts_marks_failed_and_digest_lists_it(
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    dead = f"mailto://127.0.0.1:{free_port()}?to=dept10@example.cn&from=q@example.com&mode=insecure"
    with session_factory() as s:
        queue_reminder(s, campaign_id, unit(10, channels=[dead]), base_context)
        queue_reminder(s, campaign_id, unit(11), base_context)  # outbox: fine
        s.commit()
    now = WORKDAY
    for minutes in (1, 2, 4):
        report = deliver_due(session_factory, now=now, default_outbox=tmp_path, max_attempts=4)
        assert report.deferred == 1
        now += dt.timedelta(minutes=minutes)
    report = deliver_due(session_factory, now=now, default_outbox=tmp_path, max_attempts=4)
    assert report.failed == 1 and report.failures[0].final and report.failures[0].attempts == 4
    with session_factory() as s:
        (bad,) = failed_deliveries(s, campaign_id)
        assert bad.recipient_key == "ru:DEPT10" and bad.status == "failed"
        ctx = staff_digest_context(s, campaign_id, as_of=now, counts={"申报项目": 2})
        digest = render("staff_digest", {**base_context, "recipient_name": "质量攻关工作组", **ctx})
        assert (
            "发送失败的通知（1条）" in digest.body
            and "天津市第10推荐单位（ru:DEPT10）" in digest.body
        )
        assert retry_failed(s, bad.id, now=now)
        s.commit()
    assert records(session_factory)[0].status == "pending"


class CrashAfter(Dispatcher):
    """A real dispatcher whose process 'dies' (raises) after n successful sends."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = n

    def send(self, channel_url: str, message: OutgoingMessage) -> SendResult:
        if self.n == 0:
            raise KeyboardInterrupt("simulated crash")
        result = super().send(channel_url, message)
        self.n -= 1
        return result


def test_batch_killed_in_the_middle_then_rerun(
    smtp: SmtpSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
) -> None:
    with session_factory() as s:
        for n in range(20):
            queue_reminder(
                s, campaign_id, unit(n, channels=[smtp.url(f"d{n}@example.cn")]), base_context
            )
        s.commit()
    with pytest.raises(KeyboardInterrupt):
        deliver_due(
            session_factory,
            now=WORKDAY,
            default_outbox=None,
            batch_size=8,
            dispatcher=CrashAfter(7),
        )
    assert len(smtp.messages) == 7
    statuses = [r.status for r in records(session_factory)]
    assert statuses.count("sent") == 7 and statuses.count("pending") == 13  # claims released
    report = deliver_due(session_factory, now=WORKDAY, default_outbox=None, batch_size=8)
    assert report.sent == 13
    assert smtp.count_by_rcpt() == {f"d{n}@example.cn": 1 for n in range(20)}


def test_outbox_batch_interrupted_then_rerun_writes_each_message_once(
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    with session_factory() as s:
        for n in range(20):
            queue_reminder(s, campaign_id, unit(n), base_context)
        s.commit()
    with pytest.raises(KeyboardInterrupt):
        deliver_due(
            session_factory,
            now=WORKDAY,
            default_outbox=outbox,
            batch_size=8,
            dispatcher=CrashAfter(11),
        )
    # what was written before the interruption is confirmed, the rest released
    statuses = [r.status for r in records(session_factory)]
    assert statuses.count("sent") == 11 and statuses.count("pending") == 9
    assert len(list(outbox.glob("*.eml"))) == 11
    report = deliver_due(session_factory, now=WORKDAY, default_outbox=outbox, batch_size=8)
    assert report.sent == 9
    files = sorted(p.name for p in outbox.glob("*.eml"))
    assert len(files) == 20
    assert {name.split("_")[3] for name in files} == {f"ru-DEPT{n:02d}" for n in range(20)}


def test_outbox_deliverer_killed_then_rerun_next_day_one_file_per_message(
    db_url: str,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Outbox confirmations are committed per batch: a deliverer killed mid-batch has written
    files it never confirmed. The rerun (here on the next working day, so under another file
    name) writes each of them again and removes the earlier file: one file per message."""
    n_messages = 30
    outbox = tmp_path / "outbox"
    with session_factory() as s:
        ids = [
            rec.id
            for n in range(n_messages)
            if (rec := queue_reminder(s, campaign_id, unit(n), base_context)) is not None
        ]
        s.commit()
    code = (
        "import datetime as dt, sys, time\n"
        "from pathlib import Path\n"
        "from sqlalchemy.orm import sessionmaker\n"
        "from storage.db import engine_for\n"
        "from notifications.channels import Dispatcher\n"
        "from notifications.service import deliver_due\n"
        "class SlowDisk(Dispatcher):\n"
        "    def send(self, url, message):\n"
        "        time.sleep(0.05)\n"
        "        return super().send(url, message)\n"
        "f = sessionmaker(engine_for(sys.argv[1]), expire_on_commit=False)\n"
        "deliver_due(f, now=dt.datetime.fromisoformat(sys.argv[2]), default_outbox=None,\n"
        "            dispatcher=SlowDisk(default_outbox=Path(sys.argv[3])), batch_size=100)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, db_url, WORKDAY.isoformat(), str(outbox)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    deadline = time.monotonic() + 60
    while len(list(outbox.glob("*.eml"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    written = list(outbox.glob("*.eml"))
    assert 10 <= len(written) < n_messages
    assert all(name.startswith("2025-10-09_") for name in (p.name for p in written))
    assert [r.status for r in records(session_factory)].count("sending") == n_messages
    next_day = dt.datetime(2025, 10, 10, 9, 30, tzinfo=SH)
    report = deliver_due(session_factory, now=next_day, default_outbox=outbox)
    assert report.recovered == n_messages and report.sent == n_messages
    names = sorted(p.name for p in outbox.glob("*.eml"))
    assert names == sorted(
        f"2025-10-10_application_reminder_ru-DEPT{n:02d}_{rec_id}.eml"
        for n, rec_id in enumerate(ids)
    )
    done = records(session_factory)
    assert all(r.status == "sent" for r in done)
    assert all("interrupted" not in r.channels[0] for r in done)


def test_killed_process_is_taken_over_and_resends_only_unconfirmed(
    smtp: SmtpSink,
    db_url: str,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
) -> None:
    n_mails = 30
    with session_factory() as s:
        for n in range(n_mails):
            queue_reminder(
                s, campaign_id, unit(n, channels=[smtp.url(f"k{n}@example.cn")]), base_context
            )
        s.commit()
    smtp.delay = 0.05  # slow server so the kill lands mid-batch
    code = (
        "import datetime as dt, sys\n"
        "from sqlalchemy.orm import sessionmaker\n"
        "from storage.db import engine_for\n"
        "from notifications.service import deliver_due\n"
        "f = sessionmaker(engine_for(sys.argv[1]), expire_on_commit=False)\n"
        "deliver_due(f, now=dt.datetime.fromisoformat(sys.argv[2]), default_outbox=None, batch_size=100)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, db_url, WORKDAY.isoformat()],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    deadline = time.monotonic() + 60
    while len(smtp.envelopes) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    got = len(smtp.envelopes)
    assert 10 <= got < n_mails
    statuses = [r.status for r in records(session_factory)]
    assert "sending" in statuses  # the dead process's claims
    smtp.delay = 0
    time.sleep(0.2)  # let the server finish the message in flight, if any
    report = deliver_due(session_factory, now=WORKDAY, default_outbox=None)
    assert report.recovered == statuses.count("sending")
    counts = smtp.count_by_rcpt()
    assert set(counts) == {f"k{n}@example.cn" for n in range(n_mails)}
    # at most the one message in flight at the kill (accepted, not yet confirmed) goes twice
    assert sum(counts.values()) - n_mails <= 1, counts
    assert all(r.status == "sent" for r in records(session_factory))


def test_two_concurrent_deliverers_never_double_send(
    smtp: SmtpSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
) -> None:
    with session_factory() as s:
        for n in range(60):
            queue_reminder(
                s, campaign_id, unit(n, channels=[smtp.url(f"c{n}@example.cn")]), base_context
            )
        s.commit()
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(
                deliver_due(session_factory, now=WORKDAY, default_outbox=None, batch_size=5)
            )
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.sent for r in reports) == 60
    assert smtp.count_by_rcpt() == {f"c{n}@example.cn": 1 for n in range(60)}
