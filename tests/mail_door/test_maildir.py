"""The embedded default: the mailbox as a Maildir folder in the campaign's folder (no server),
arrival time = the message file's mtime; and a mailbox that cannot be reached is a Chinese error
with exit code 2."""

from __future__ import annotations

import json
import mailbox
import os
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from deployments.cli import app
from storage import orm
from storage.uow import UnitOfWork
from tests.intake.test_intake import register_units
from tests.mail_door.test_mailbox_imap import at, batch_zip, folders  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("database")


def qcamp(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_mail_in_the_default_maildir_is_taken_at_its_files_time(folders: Path) -> None:  # noqa: F811
    register_units(folders)
    msg = EmailMessage()
    msg["From"] = "hj@example.cn"
    msg["Subject"] = "申报材料"
    msg["Message-ID"] = "<batch-1@example.cn>"
    msg.set_content("请查收")
    msg.add_attachment(
        batch_zip(folders, "b", 1), maintype="application", subtype="zip", filename="申报.zip"
    )
    box_dir = folders / "out" / "2025" / "mailbox"
    box_dir.parent.mkdir(parents=True)
    key = mailbox.Maildir(box_dir, create=True).add(msg.as_bytes())
    arrived = at("2025-04-15T10:03:00")
    os.utime(box_dir / "new" / key, (arrived.timestamp(), arrived.timestamp()))
    code, printed = qcamp("inbox", "poll", "--year", "2025", "--as-of", "2025-04-15T10:10",
                          "--direct", "--json")  # fmt: skip
    assert code == 0, printed
    [mail] = json.loads(printed)["mails"]
    assert mail["outcome"] == "taken" and mail["received_at"].startswith("2025-04-15T10:03:00")
    assert not list((box_dir / "new").iterdir())
    assert [p.name for p in (box_dir / "cur").iterdir()] == [f"{key}:2,S"]  # only flagged
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(orm.NotificationRecord.in_reply_to).where(
            orm.NotificationRecord.event == "receipt")) == "<batch-1@example.cn>"  # fmt: skip
    code, printed = qcamp("inbox", "list", "--year", "2025")
    assert code == 0 and "hj@example.cn [已导入]" in printed


def test_a_mailbox_that_cannot_be_reached_is_a_chinese_error_with_exit_2(
    folders: Path,  # noqa: F811
) -> None:
    code, printed = qcamp("inbox", "poll", "--year", "2025", "--as-of", "2025-04-15T10:10",
                          "--direct", "--mailbox", "pop3://mail.example.cn")  # fmt: skip
    assert code == 2 and "收件邮箱地址" in printed and "imaps://" in printed
    code, printed = qcamp("inbox", "poll", "--year", "2025", "--as-of", "2025-04-15T10:10",
                          "--direct", "--mailbox", "imap://u:{env:NO_SUCH_VAR_X}@127.0.0.1:1/INBOX")  # fmt: skip
    assert code == 2 and "收件邮箱" in printed
