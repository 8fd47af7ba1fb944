"""A queued message is checked again on its delivery day (送达前复核): stale reminders are not
sent, reminders due together collapse, and what is sent counts days from the delivery day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.calendar import SHANGHAI
from services.application import send_reminders
from services.context import open_campaign
from services.delivery import deliver_messages
from services.intake import intake_batch
from simulation.outbox_check import check_outbox
from simulation.world import Mailbox
from storage import orm
from storage.uow import UnitOfWork
from tests.intake.test_intake import fix_uscc, good_form, register_units, write_batch

pytestmark = pytest.mark.usefixtures("database", "campaign_dir")


@pytest.fixture
def units(tmp_path: Path) -> None:
    register_units(tmp_path)


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def _records(event: str) -> dict[tuple[str, str], orm.NotificationRecord]:
    with UnitOfWork() as uow:
        rows = uow.session.scalars(
            select(orm.NotificationRecord).where(orm.NotificationRecord.event == event)
        ).all()
        return {(r.recipient_key, r.period): r for r in rows}


def _mail(ctx) -> list:
    return Mailbox(ctx.outbox).read()


def test_a_reminder_queued_before_a_unit_submits_is_not_sent_after_it(
    units, tmp_path: Path
) -> None:
    queued = open_campaign(2025, _at(2025, 4, 15, 10))  # Tuesday, T-7
    assert send_reminders(UnitOfWork(), queued).done
    # ASSN-HJXH hands in its batch before the reminders go out
    intake_batch(
        UnitOfWork(),
        open_campaign(2025, _at(2025, 4, 15, 10, 30)),
        "ASSN-HJXH",
        [write_batch(tmp_path / "b", [fix_uscc(good_form(0))])],
        received_at=_at(2025, 4, 15, 10, 30),
    )
    delivered = open_campaign(2025, _at(2025, 4, 16, 10))
    report = deliver_messages(delivered)
    assert report.superseded == 1
    records = _records("application_reminder")
    stale = records[("ru:ASSN-HJXH", "T-7")]
    assert stale.status == "superseded" and "已收到" in stale.last_error
    reminders = [m for m in _mail(delivered) if m.event == "application_reminder"]
    assert len(reminders) == 1 and "ASSN" not in reminders[0].path.name
    # counted from the delivery day (16 April), not the queueing day (15 April)
    assert "距截止还有4天" in reminders[0].text and "截至2025年4月16日" in reminders[0].text
    assert check_outbox(delivered.outbox).problems == []


def test_a_reminder_delayed_past_its_deadline_by_the_weekend_is_dropped(units) -> None:
    # T-1 queued on Saturday night: the next send time is Monday 21 April, after the deadline
    queued = open_campaign(2025, _at(2025, 4, 19, 23, 59, 30))
    assert send_reminders(UnitOfWork(), queued).done
    monday = open_campaign(2025, _at(2025, 4, 21, 10))
    report = deliver_messages(monday)
    assert report.sent == 0 and report.superseded == 2
    assert all(r.status == "superseded" for r in _records("application_reminder").values())
    assert [m for m in _mail(monday) if m.event == "application_reminder"] == []


def test_reminders_due_on_one_day_collapse_into_the_most_current(units) -> None:
    assert send_reminders(UnitOfWork(), open_campaign(2025, _at(2025, 4, 7, 0, 30))).done  # T-14
    assert send_reminders(UnitOfWork(), open_campaign(2025, _at(2025, 4, 14, 0, 30))).done  # T-7
    delivered = open_campaign(2025, _at(2025, 4, 14, 10))  # nothing was delivered in between
    deliver_messages(delivered)
    records = _records("application_reminder")
    assert records[("ru:DIST-16", "T-14")].status == "superseded"
    assert "合并" in records[("ru:DIST-16", "T-14")].last_error
    assert records[("ru:DIST-16", "T-7")].status == "sent"
    mails = [m for m in _mail(delivered) if m.event == "application_reminder"]
    assert len(mails) == 2  # one per unit
    assert all("6天后截止" in m.subject for m in mails)
    assert check_outbox(delivered.outbox).problems == []


def test_a_batch_gets_one_notice_with_its_returned_items_in_plain_chinese(
    units, tmp_path: Path
) -> None:
    ctx = open_campaign(2025, _at(2025, 4, 15, 10))
    bad = fix_uscc(good_form(1)).model_copy(update={"uscc": "123"})
    folder = write_batch(tmp_path / "b", [fix_uscc(good_form(0)), bad])
    intake_batch(UnitOfWork(), ctx, "DIST-16", [folder], received_at=ctx.now)
    intake_batch(UnitOfWork(), ctx, "DIST-16", [folder], received_at=ctx.now)  # again
    deliver_messages(ctx)
    mails = [m for m in _mail(ctx) if m.event in ("receipt", "returned")]
    assert len(mails) == 1
    assert mails[0].event == "receipt" and "退回修改项目（1项" in mails[0].text
    assert "【" not in mails[0].text and mails[0].attachments
