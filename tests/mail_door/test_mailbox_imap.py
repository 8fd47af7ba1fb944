"""The commission's mailbox against a real IMAP server (Dovecot): each kind of mail classified
and taken through the door of its kind, threaded replies within the poll, late batches refused,
unknown senders and hostile files quarantined, and every mail taken exactly once even when a
poll is killed mid-batch."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from deployments.cli import app
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from services import mailbox as mailbox_service
from storage import orm
from storage.uow import UnitOfWork
from tests.intake.test_intake import fix_uscc, good_form, register_units, write_batch
from tests.mail_door.conftest import ImapServer
from tests.stages.factory import context, seed
from tests.stages.test_implementation import fill, implementation_run

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture(autouse=True)
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QCAMP_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("QCAMP_CAMPAIGN_DIR", raising=False)
    monkeypatch.setenv("QCAMP_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("QCAMP_SIMULATED_CLOCK", "1")
    return tmp_path


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def poll(server: ImapServer, as_of: str) -> dict:
    result = CliRunner().invoke(
        app,
        ["inbox", "poll", "--year", "2025", "--as-of", as_of, "--mailbox", server.url,
         "--direct", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def batch_zip(tmp_path: Path, name: str, n: int = 2) -> bytes:
    folder = write_batch(tmp_path / name, [fix_uscc(good_form(i)) for i in range(n)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def records(event: str | None = None) -> list[orm.NotificationRecord]:
    with UnitOfWork() as uow:
        query = select(orm.NotificationRecord).order_by(orm.NotificationRecord.id)
        if event:
            query = query.where(orm.NotificationRecord.event == event)
        return list(uow.session.scalars(query))


def outbox_mail(folder: Path, record_id: int) -> email.message.EmailMessage:
    [path] = [p for p in folder.rglob("*.eml") if f"qcamp.{record_id}." in p.read_text("latin-1")]
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_a_batch_by_mail_is_taken_and_receipted_as_a_reply_within_the_poll(
    imap_server: ImapServer, folders: Path
) -> None:
    register_units(folders)
    arrived = at("2025-04-15T10:03:00")
    message_id = imap_server.deliver(
        "赵敏 <hj@example.cn>", arrived, {"申报材料.zip": batch_zip(folders, "b")}
    )
    report = poll(imap_server, "2025-04-15T10:10")
    [mail] = report["mails"]
    assert (mail["kind"], mail["outcome"]) == ("application", "taken")
    assert dt.datetime.fromisoformat(mail["received_at"]) == arrived  # INTERNALDATE, not the clock
    with UnitOfWork() as uow:
        batch = uow.session.scalars(select(orm.SubmissionBatch)).one()
        assert batch.received_at == arrived
        assert uow.session.scalar(select(func.count()).select_from(orm.Application)) == 2
        actors = set(uow.session.scalars(select(orm.StateChange.actor)))
        assert actors == {"mail:hj@example.cn"}  # the sender made the change, not a rule
    [receipt] = records("receipt")
    assert receipt.in_reply_to == message_id and receipt.status == "sent"
    sent = outbox_mail(folders / "outbox", receipt.id)
    assert sent["In-Reply-To"] == message_id and sent["References"] == message_id
    assert email.utils.parsedate_to_datetime(sent["Date"]) == at("2025-04-15T10:10")
    assert b"QcampTaken" in imap_server.flags()[0] and imap_server.count() == 1  # only flagged
    # a second poll takes nothing again
    assert poll(imap_server, "2025-04-15T10:20")["mails"] == []
    assert len(records("receipt")) == 1


def test_a_batch_after_the_deadline_is_refused_with_a_threaded_notice(
    imap_server: ImapServer, folders: Path
) -> None:
    register_units(folders)
    message_id = imap_server.deliver(
        "hj@example.cn", at("2025-04-22T09:00:00"), {"申报材料.zip": batch_zip(folders, "b")}
    )
    [mail] = poll(imap_server, "2025-04-22T09:10")["mails"]
    assert (mail["kind"], mail["outcome"]) == ("application", "returned")
    assert "逾期" in mail["detail"]
    [notice] = records("late_batch")
    assert notice.in_reply_to == message_id
    assert records("receipt") == []
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(orm.SubmissionBatch.status)) == "late"


def test_an_unknown_sender_is_quarantined_answered_and_staff_told(
    imap_server: ImapServer, folders: Path
) -> None:
    register_units(folders)
    message_id = imap_server.deliver(
        "stranger@example.org", at("2025-04-15T11:00:00"), {"申报材料.zip": batch_zip(folders, "b")}
    )
    [mail] = poll(imap_server, "2025-04-15T11:10")["mails"]
    assert mail["outcome"] == "quarantined" and "未登记" in mail["detail"]
    [reply] = records("mail_quarantined")
    assert reply.in_reply_to == message_id and "stranger@example.org" in str(reply.channels)
    assert "未予处理" in reply.subject and "未登记" in reply.body
    [staff] = records("mail_staff")
    assert staff.recipient_key == "staff" and "stranger@example.org" in staff.subject
    assert list((folders / "out" / "2025" / "quarantine").rglob("申报材料.zip"))
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.SubmissionBatch)) == 0


def test_a_hostile_attachment_is_quarantined_before_any_parser_reads_it(
    imap_server: ImapServer, folders: Path
) -> None:
    register_units(folders)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<x/>")
        archive.writestr("word/vbaProject.bin", b"\x00" * 64)
    imap_server.deliver(
        "hj@example.cn", at("2025-04-15T11:00:00"), {"01_申报书.docx": buffer.getvalue()}
    )
    [mail] = poll(imap_server, "2025-04-15T11:10")["mails"]
    assert mail["outcome"] == "quarantined" and "宏" in mail["detail"]
    assert records("mail_quarantined") and records("mail_staff")
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.SubmissionBatch)) == 0


def test_a_poll_killed_mid_batch_then_rerun_takes_every_mail_exactly_once(
    imap_server: ImapServer, folders: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_units(folders)
    imap_server.deliver(
        "hj@example.cn", at("2025-04-15T10:01:00"), {"a.zip": batch_zip(folders, "a", 1)}
    )
    imap_server.deliver(
        "bh@example.cn", at("2025-04-15T10:02:00"), {"b.zip": batch_zip(folders, "b", 2)}
    )
    imap_server.deliver("stranger@example.org", at("2025-04-15T10:03:00"), {"c.zip": b"PK"})
    real = mailbox_service.HANDLERS[mailbox_service.MailKind.application]
    calls: list[str] = []

    def killed_after_the_second(uow, ctx, sender, paths, received):  # noqa: ANN001, ANN202
        handled = real(uow, ctx, sender, paths, received)
        calls.append(sender.unit_code)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies after the intake committed
        return handled

    monkeypatch.setitem(
        mailbox_service.HANDLERS, mailbox_service.MailKind.application, killed_after_the_second
    )
    result = CliRunner().invoke(
        app, ["inbox", "poll", "--year", "2025", "--as-of", "2025-04-15T10:10",
              "--mailbox", imap_server.url, "--direct"],
    )  # fmt: skip
    assert result.exit_code != 0
    monkeypatch.setitem(mailbox_service.HANDLERS, mailbox_service.MailKind.application, real)
    rerun = poll(imap_server, "2025-04-15T10:20")
    assert sorted(m["outcome"] for m in rerun["mails"]) == ["quarantined", "taken"]
    assert poll(imap_server, "2025-04-15T10:30")["mails"] == []
    with UnitOfWork() as uow:
        outcomes = uow.session.scalars(select(orm.InboundMail.outcome)).all()
        batches = uow.session.scalars(select(orm.SubmissionBatch.version)).all()
    assert sorted(outcomes) == ["quarantined", "taken", "taken"]
    assert batches == [1, 1]  # one batch a unit: the interrupted one not taken twice
    assert len(records("receipt")) == 2 and len(records("mail_quarantined")) == 1
    assert all(b"QcampTaken" in f for f in imap_server.flags())


def test_returned_reports_visits_and_results_by_mail_pass_the_cli_checks(
    imap_server: ImapServer, folders: Path
) -> None:
    seed(2, n_units=1, state=ProjectState.IN_PROGRESS)
    first = implementation_run(context("2025-07-01"))
    request = next(Path(first.documents[0]).rglob("*.xlsx"))
    good = fill(request, 50).read_bytes()
    bad = fill(request, "很多")  # (the same file name: written after the good one is read)
    imap_server.deliver("p0@example.cn", at("2025-07-03T09:00:00"), {request.name: good})
    bad_id = imap_server.deliver(
        "p0@example.cn", at("2025-07-03T09:01:00"), {request.name: bad.read_bytes()}
    )
    visits = folders / "走访记录.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["推荐单位", "项目编号", "项目名称", "走访日期", "走访人", "发现问题与建议"])
    with UnitOfWork() as uow:
        unit_name = uow.repo.recommending_unit("RU00").name
    wb.active.append([unit_name, "TJZLGG-2025-0001", "", "2025-07-02", "王建国", "建议加强记录"])
    wb.save(visits)
    imap_server.deliver(
        "ru00@example.cn", at("2025-07-03T09:02:00"), {"走访记录.xlsx": visits.read_bytes()}
    )
    mails = poll(imap_server, "2025-07-03T09:10")["mails"]
    assert [(m["kind"], m["outcome"]) for m in mails] == [
        ("checkins", "taken"), ("checkins", "returned"), ("visits", "taken"),
    ]  # fmt: skip
    assert "按时 1 份" in mails[0]["detail"]
    # the same Chinese error the CLI gives (file, cell, fix), and nothing of it stored
    assert "B9（完成进度）“很多”无效" in mails[1]["detail"]
    code = CliRunner().invoke(app, ["checkins", "import", str(bad), "--year", "2025"])
    assert code.exit_code == 2 and "B9（完成进度）“很多”无效" in code.output
    returned = [r for r in records("mail_returned")]
    assert [r.in_reply_to for r in returned] == [bad_id] and "B9" in returned[0].body
    assert len(records("mail_receipt")) == 2
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.FollowUpVisit)) == 1

    pdf = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    imap_server.deliver(
        "ru00@example.cn",
        at("2025-09-10T10:00:00"),
        {"TJZLGG-2025-0001_成果报告.pdf": pdf, "TJZLGG-2025-0001_过程材料.pdf": pdf,
         "TJZLGG-2025-0001_效益证明.pdf": pdf},
    )  # fmt: skip
    [mail] = poll(imap_server, "2025-09-10T10:10")["mails"]
    assert (mail["kind"], mail["outcome"]) == ("results", "taken"), mail
    with UnitOfWork() as uow:
        stored = uow.session.scalars(select(orm.ResultSubmission)).all()
    assert len(stored) == 1


def test_a_sign_in_sheet_by_mail_is_imported(imap_server: ImapServer, folders: Path) -> None:
    from tests.stages.test_training import mark
    from tests.stages.test_training import run as training_run

    seed(2, state=ProjectState.IN_PROGRESS)
    training_run("2025-05-26")
    sheet = context("2025-06-10 18:00").folder("training") / "签到表_S1.xlsx"
    marked = mark(sheet, set())
    imap_server.deliver(
        "ru00@example.cn", at("2025-06-10T18:00:00"), {sheet.name: marked.read_bytes()}
    )
    [mail] = poll(imap_server, "2025-06-10T18:10")["mails"]
    assert (mail["kind"], mail["outcome"]) == ("attendance", "taken"), mail
    assert mail["detail"].startswith("S1场次签到已导入：签到 ")
    [receipt] = records("mail_receipt")
    assert "培训签到表" in receipt.body and receipt.in_reply_to


def test_an_experts_score_sheet_by_mail_is_imported(imap_server: ImapServer, folders: Path) -> None:
    import random

    from services import panels
    from services.experts import import_experts
    from tests.stages.conftest_late import (
        build_results,
        fill_score_sheet,
        make_context,
        write_expert_pool,
    )

    ctx = make_context(2025, "2025-10-13T10:00:00")
    build_results(ctx, 12)
    import_experts(UnitOfWork(), write_expert_pool(folders / "专家库.xlsx", 40))
    panels.draw_expert_panels(UnitOfWork(), ctx)
    panels.send_score_sheets(UnitOfWork(), ctx)
    score_sheet = sorted((ctx.folder("evaluation") / "评分表").glob("*.xlsx"))[0]
    with UnitOfWork() as uow:  # an expert of the pool (the sender's role decides the kind)
        expert = uow.session.scalars(select(orm.Expert).order_by(orm.Expert.id)).first()
    filled = fill_score_sheet(score_sheet, folders / score_sheet.name, rng=random.Random(1))
    imap_server.deliver(
        expert.email, at("2025-10-20T09:00:00"), {score_sheet.name: filled.read_bytes()}
    )
    [mail] = poll(imap_server, "2025-10-20T09:10")["mails"]
    assert (mail["kind"], mail["outcome"]) == ("scores", "taken"), mail
    with UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(orm.PanelScore)) > 0
