"""The simulated participants read their messages as a mail client would: the outbox's .eml
files through the standard `email` package, attachments included, in the order sent."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from domain.calendar import SHANGHAI
from simulation.world import Mailbox


def _write(folder: Path, name: str, event: str, when: str, text: str, attach: bytes = b"") -> None:
    import datetime as dt

    msg = EmailMessage()
    msg["Subject"] = "进度报告请求：测试项目（2025年6月）"
    msg["To"] = "单位 <unit@tj.example.cn>"
    msg["Date"] = format_datetime(dt.datetime.fromisoformat(when).replace(tzinfo=SHANGHAI))
    msg["X-Qcamp-Event"] = event
    msg.set_content(text)
    if attach:
        msg.add_attachment(
            attach, maintype="application", subtype="octet-stream", filename="进度报告_X.xlsx"
        )
    (folder / name).write_bytes(msg.as_bytes())


def test_messages_are_read_once_in_the_order_sent(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2025-07-01_checkin_request_ru-A_12.eml",
        "checkin_request",
        "2025-07-01T10:00",
        "请报送",
        b"xlsx",
    )
    _write(tmp_path, "2025-05-15_approval_ru-A_3.eml", "approval", "2025-05-15T10:00", "立项结果")
    box = Mailbox(tmp_path)
    assert [m.event for m in box.read()] == ["approval", "checkin_request"]
    request = box.of("checkin_request")[0]
    assert request.to == "unit@tj.example.cn" and request.subject.endswith("（2025年6月）")
    assert request.attachments == {"进度报告_X.xlsx": b"xlsx"}
    _write(
        tmp_path,
        "2025-07-09_checkin_overdue_ru-A_20.eml",
        "checkin_overdue",
        "2025-07-09T10:00",
        "逾期",
    )
    assert [m.event for m in box.read()] == ["approval", "checkin_request", "checkin_overdue"]
