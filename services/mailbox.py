"""收件邮箱: every mail to the commission's mailbox taken exactly once, classified by its sender,
the stage window open at its arrival and its attachments, and handed to the service the CLI
door of the same return uses (申报 → `intake_batch`, 成果 → `submit_results_batch`, 进度报告 →
`import_checkins`, 评分表 → `import_scores`, 签到表 → `import_attendance`, 走访记录 →
`import_visits`), so mail and CLI pass the same checks.

Each mail is its own transaction and error boundary: it is recorded (``taking``) before its
service runs and its outcome after, and marked taken in the mailbox only after that commit; a
poll killed in between finds the ``taking`` record and runs the (content-idempotent) service
again. Replies are threaded to the mail (`services.messaging.answering`) and go out at the
poll's delivery. Unknown senders, unknown or hostile files: quarantined (files kept aside under
``quarantine/``), a Chinese reply, and a staff message."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from documents.safety import iter_batch
from domain.calendar import SHANGHAI
from domain.mailbox import KIND_LABELS, MailKind, SenderRole, classify, unknown_suffixes
from notifications.inbound import InboundMail, MailSource
from notifications.recipients import Recipient, RecipientKind
from services.context import CampaignContext
from services.messaging import answering, send, staff_recipient
from storage import orm
from storage.uow import UnitOfWork

TAKING, TAKEN, RETURNED, QUARANTINED, FAILED, DUPLICATE = (
    "taking", "taken", "returned", "quarantined", "failed", "duplicate",
)  # fmt: skip
FINAL = {TAKEN, RETURNED, QUARANTINED, FAILED, DUPLICATE}
_UNSAFE_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


class MailOutcome(BaseModel):
    uid: str
    sender: str
    received_at: dt.datetime
    kind: str
    outcome: str
    detail: str


class PollReport(BaseModel):
    """What one poll of the mailbox did."""

    mailbox: str
    mails: list[MailOutcome] = []
    skipped_future: int = 0  # arrived after the poll's clock (the demo's simulated time)

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.mails if m.outcome == outcome)


@dataclass
class _Sender:
    role: SenderRole
    recipient: Recipient
    unit_code: str = ""
    name: str = ""


def mail_actor(sender: _Sender) -> str:
    """Who made a mail-borne change (经办人): the mail's sender, by address."""
    return f"mail:{sender.recipient.email or sender.name}"


@dataclass
class _Handled:
    outcome: str
    detail: str
    reply: bool = True  # the mailbox answers itself (the service sends no notice of its own)
    files: list[str] = field(default_factory=list)


class MailReturned(ValueError):
    """The mail's material cannot be taken as it is (the message names file, field and fix)."""


def poll_mailbox(uow: UnitOfWork, ctx: CampaignContext, source: MailSource) -> PollReport:
    """Take every mail not yet taken that has arrived by the campaign's clock."""
    report = PollReport(mailbox=source.label)
    for mail in source.mails():
        if mail.received_at > ctx.now:
            report.skipped_future += 1
            continue
        outcome = take_mail(uow, ctx, source, mail)
        if outcome is not None:
            report.mails.append(outcome)
    return report


def take_mail(
    uow: UnitOfWork, ctx: CampaignContext, source: MailSource, mail: InboundMail
) -> MailOutcome | None:
    """One mail, in its own error boundary; None when it was taken by an earlier poll."""
    record_id, resume = _claim(uow, ctx, source, mail)
    if record_id is None:
        source.mark_taken(mail)  # taken before, flag lost with a crash: set it now
        return None
    try:
        kind, handled = _handle(uow, ctx, mail, record_id, resume)
    except Exception as exc:  # one bad mail never stops the poll
        kind, handled = MailKind.unknown.value, _Handled(FAILED, f"处理时出错：{exc}"[:2000])
        _tell_staff(uow, ctx, mail, record_id, handled.detail)
    with uow:
        record = uow.session.get(orm.InboundMail, record_id)
        assert record is not None
        record.kind, record.outcome, record.detail = kind, handled.outcome, handled.detail
        record.files = handled.files or record.files
        record.handled_at = ctx.now
        uow.commit()
    source.mark_taken(mail)
    return MailOutcome(
        uid=mail.uid,
        sender=mail.sender,
        received_at=mail.received_at,
        kind=kind,
        outcome=handled.outcome,
        detail=handled.detail,
    )


def _claim(
    uow: UnitOfWork, ctx: CampaignContext, source: MailSource, mail: InboundMail
) -> tuple[int | None, bool]:
    """Record the mail as being taken (committed before anything is done with it). Returns the
    record's id and whether an interrupted earlier poll had claimed it; None when it is done."""
    with uow:
        record = uow.mailbox.mail(source.label, mail.uidvalidity, mail.uid)
        if record is not None:
            return (None, False) if record.outcome in FINAL else (record.id, True)
        earlier = uow.mailbox.taken_message(ctx.campaign_id, mail.message_id, mail.sender)
        record = orm.InboundMail(
            campaign_id=ctx.campaign_id,
            mailbox=source.label,
            uidvalidity=mail.uidvalidity,
            uid=mail.uid,
            message_id=mail.message_id,
            sender=mail.sender[:200],
            subject=mail.subject[:300],
            received_at=mail.received_at,
            kind="",
            outcome=DUPLICATE if earlier is not None else TAKING,
            detail=f"与第 {earlier.id} 号来信相同（Message-ID 相同），未重复处理"
            if earlier
            else "",
            files=[a.name for a in mail.attachments],
            handled_at=ctx.now,
        )
        uow.add(record)
        uow.commit()
        return (None, False) if earlier is not None else (record.id, False)


def _handle(
    uow: UnitOfWork, ctx: CampaignContext, mail: InboundMail, record_id: int, resume: bool
) -> tuple[str, _Handled]:
    sender = _identify(uow, ctx, mail)
    names = _member_names(mail)
    cal = ctx.calendar
    application_open = cal.call_published <= mail.received_at < cal.plan_published
    kind = classify(sender.role, names, application_open)
    folder = _mail_folder(ctx, mail, "mail")
    paths = _save(mail, folder)
    problem = _refusal(sender, kind, names, paths, ctx)
    if problem:
        handled = _quarantine(uow, ctx, mail, record_id, sender, paths, problem)
        return kind.value, handled
    with answering(mail.sender, mail.message_id):
        try:
            handled = HANDLERS[kind](uow, ctx, sender, paths, mail.received_at)
        except MailReturned as exc:
            handled = _Handled(RETURNED, str(exc))
        handled.files = [p.name for p in paths]
        if handled.reply:
            _reply(uow, ctx, mail, record_id, sender, kind, handled)
    return kind.value, handled


def _identify(uow: UnitOfWork, ctx: CampaignContext, mail: InboundMail) -> _Sender:
    """Who sent the mail: a registered unit, expert or project contact, else unknown."""
    with uow:
        unit = uow.mailbox.unit_by_email(mail.sender)
        if unit is not None:
            return _Sender(
                SenderRole.unit, Recipient.for_recommending_unit(unit), unit.code, unit.name
            )
        expert = uow.mailbox.expert_by_email(mail.sender)
        if expert is not None:
            return _Sender(SenderRole.expert, Recipient.for_expert(expert), name=expert.name)
        person = uow.mailbox.person_by_email(ctx.campaign_id, mail.sender)
        if person is not None:
            return _Sender(
                SenderRole.person, Recipient.for_project_person(person), name=person.name
            )
    key = hashlib.sha1(mail.sender.encode()).hexdigest()[:16]
    return _Sender(
        SenderRole.unknown,
        Recipient(
            key=f"mail:{key}",
            name=(mail.sender_name or mail.sender or "来信人")[:200],
            kind=RecipientKind.project_unit,
            email=mail.sender if "@" in mail.sender else "",
        ),
    )


def _member_names(mail: InboundMail) -> list[str]:
    """The attachments' names, with a zip's members in place of the zip (names only read)."""
    names: list[str] = []
    for item in mail.attachments:
        if item.name.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(item.data)) as archive:
                    inner = [Path(n).name for n in archive.namelist() if not n.endswith("/")]
                names += inner or [item.name]
                continue
            except (zipfile.BadZipFile, OSError, ValueError):
                pass
        names.append(item.name)
    return names


def _mail_folder(ctx: CampaignContext, mail: InboundMail, area: str) -> Path:
    uid = re.sub(r"[^A-Za-z0-9._-]", "_", mail.uid)[:60]
    return ctx.out_dir / area / f"{mail.received_at.astimezone(SHANGHAI):%Y%m%d-%H%M%S}-{uid}"


def _save(mail: InboundMail, folder: Path) -> list[Path]:
    """The attachments as files (file times = the mail's arrival), in a folder of their own."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    stamp = mail.received_at.timestamp()
    for n, item in enumerate(mail.attachments, 1):
        name = _UNSAFE_NAME.sub("_", item.name).strip(". ") or f"附件{n}"
        path = folder / name
        if path in paths:
            path = folder / f"{n:02d}_{name}"
        path.write_bytes(item.data)
        os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


def _refusal(
    sender: _Sender, kind: MailKind, names: list[str], paths: list[Path], ctx: CampaignContext
) -> str:
    """Why the mail is quarantined, or "" when it can be taken."""
    if sender.role == SenderRole.unknown:
        return "发件地址未登记为推荐单位、项目联系人或评审专家的邮箱，来信未予处理"
    if not paths:
        return "来信没有附件：请把材料作为附件发送"
    if odd := unknown_suffixes(names):
        return (
            f"附件“{'、'.join(odd[:5])}”的文件类型无法受理：请发送 .docx、.xlsx、.zip 或 .pdf 文件"
        )
    max_bytes = ctx.rules.max_upload_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="qcamp-mail-") as tmp:
        for item in iter_batch(paths, workdir=tmp, max_bytes=max_bytes):
            if item.error is not None:
                return item.error.message
    if kind == MailKind.unknown:
        return (
            "无法识别来信材料的类别：申报材料请在申报期内发送申报书（.docx）与汇总表；成果材料文件名"
            "请写成“计划编号_材料类别.扩展名”；进度报告、签到表、走访记录请在文件名中写明"
        )
    return ""


def _quarantine(
    uow: UnitOfWork,
    ctx: CampaignContext,
    mail: InboundMail,
    record_id: int,
    sender: _Sender,
    paths: list[Path],
    reason: str,
) -> _Handled:
    """Files moved aside under ``quarantine/``; the sender told why, staff told to look."""
    aside = _mail_folder(ctx, mail, "quarantine")
    aside.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path.replace(aside / path.name)
    handled = _Handled(QUARANTINED, reason, files=[p.name for p in paths])
    with answering(mail.sender, mail.message_id), uow:
        if sender.recipient.email:
            send(
                uow,
                ctx,
                event="mail_quarantined",
                recipient=sender.recipient,
                period=f"mail:{record_id}",
                context=_mail_facts(mail, reason),
            )
        uow.commit()
    _tell_staff(uow, ctx, mail, record_id, f"已隔离（{aside}）：{reason}")
    return handled


def _mail_facts(mail: InboundMail, text: str) -> dict[str, object]:
    return {
        "mail_subject": mail.subject or "（无主题）",
        "mail_received_at": mail.received_at,
        "mail_sender": mail.sender,
        "outcome_text": text,
    }


def _reply(
    uow: UnitOfWork,
    ctx: CampaignContext,
    mail: InboundMail,
    record_id: int,
    sender: _Sender,
    kind: MailKind,
    handled: _Handled,
) -> None:
    event = "mail_receipt" if handled.outcome == TAKEN else "mail_returned"
    with uow:
        send(
            uow,
            ctx,
            event=event,
            recipient=sender.recipient,
            period=f"mail:{record_id}",
            context={**_mail_facts(mail, handled.detail), "kind_label": KIND_LABELS[kind]},
        )
        uow.commit()


def _tell_staff(
    uow: UnitOfWork, ctx: CampaignContext, mail: InboundMail, record_id: int, text: str
) -> None:
    with uow:
        send(
            uow,
            ctx,
            event="mail_staff",
            recipient=staff_recipient(ctx),
            period=f"mail:{record_id}",
            context=_mail_facts(mail, text),
        )
        uow.commit()


# ---------------------------------------------------------------------------------------------
# the returns, each through the service its CLI door uses
# ---------------------------------------------------------------------------------------------
Handler = Callable[[UnitOfWork, CampaignContext, _Sender, list[Path], dt.datetime], _Handled]


def _application(
    uow: UnitOfWork, ctx: CampaignContext, sender: _Sender, paths: list[Path], at: dt.datetime
) -> _Handled:
    from services.intake import IntakeError, intake_batch

    try:
        result = intake_batch(
            uow, ctx, sender.unit_code, paths, received_at=at, actor=mail_actor(sender)
        )
    except IntakeError as exc:
        raise MailReturned(str(exc)) from exc
    b = result.batch
    text = (
        f"{b.unit_name} 第{b.version}版：共{len(result.applications)}项，受理{b.accepted}项，"
        f"退回{b.returned}项" + ("（逾期，不予受理）" if b.late else "")
    )
    outcome = RETURNED if b.late or b.status == "refused" else TAKEN
    return _Handled(outcome, text, reply=False)  # the intake's receipt answers the mail


def _results(
    uow: UnitOfWork, ctx: CampaignContext, sender: _Sender, paths: list[Path], at: dt.datetime
) -> _Handled:
    from domain.results import ResultsError
    from services.results import Submission, submit_results_batch

    groups: dict[str, tuple[dict[str, str], list[str]]] = {}
    for path in _unzipped(paths):
        number, _sep, part = path.stem.partition("_")
        parts, achieved = groups.setdefault(number, ({}, []))
        if part == "取得成效":
            achieved.append(path.read_text(encoding="utf-8", errors="replace").strip()[:2000])
        elif part:
            parts[part] = path.name
    subs = [Submission(n, p, at, "".join(a)) for n, (p, a) in groups.items() if p]
    if not subs:
        raise MailReturned("附件中没有成果材料：文件名请写成“计划编号_材料类别.扩展名”")
    try:
        outcomes = submit_results_batch(uow, ctx, subs, actor=mail_actor(sender))
    except ResultsError as exc:
        raise MailReturned(str(exc)) from exc
    late = any(o.late for o in outcomes)
    text = "；".join(
        f"{o.plan_number}：" + ("逾期，不予接收" if o.late else "齐全" if o.complete else
                               f"尚缺{'、'.join(o.missing_parts)}")
        for o in outcomes
    )  # fmt: skip
    # the results service tells the unit; a project contact who sent the mail gets a reply too
    return _Handled(RETURNED if late else TAKEN, text, reply=sender.role != SenderRole.unit)


def _unzipped(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.suffix.lower() != ".zip":
            out.append(path)
            continue
        target = path.with_suffix("")
        target.mkdir(exist_ok=True)
        for item in iter_batch([path], workdir=str(target), max_bytes=50 * 1024 * 1024):
            if item.path is not None:
                out.append(item.path)
    return out


def _checkins(
    uow: UnitOfWork, ctx: CampaignContext, sender: _Sender, paths: list[Path], at: dt.datetime
) -> _Handled:
    from domain.checkins import CheckinError
    from services.implementation import import_checkins

    try:
        result = import_checkins(uow, ctx, paths, at, actor=mail_actor(sender))
    except CheckinError as exc:
        raise MailReturned(str(exc)) from exc
    return _Handled(TAKEN, f"进度报告已导入：按时 {result.on_time} 份，逾期 {result.late} 份")


def _each_file(
    paths: list[Path],
    take: Callable[[Path], Any],
    refused: type[Exception],
    describe: Callable[[Any], str],
) -> _Handled:
    """Each attached file through the same service as its CLI door: one line per file taken;
    the service's refusal (its Chinese message) returns the whole mail."""
    lines = []
    for path in paths:
        try:
            result = take(path)
        except refused as exc:
            raise MailReturned(str(exc)) from exc
        lines.append(describe(result))
    return _Handled(TAKEN, "；".join(lines))


def _scores(
    uow: UnitOfWork, ctx: CampaignContext, sender: _Sender, paths: list[Path], at: dt.datetime
) -> _Handled:
    from services.evaluation import EvaluationError
    from services.scores import import_scores

    return _each_file(
        paths,
        lambda path: import_scores(uow, ctx, path, actor=mail_actor(sender)),
        EvaluationError,
        lambda r: f"评定组{r.panel_key}评分已导入：{r.rows}条成果评分",
    )


def _attendance(
    uow: UnitOfWork, ctx: CampaignContext, sender: _Sender, paths: list[Path], at: dt.datetime
) -> _Handled:
    from services.training import AttendanceError, import_attendance

    return _each_file(
        paths,
        lambda path: import_attendance(uow, ctx, path, actor=mail_actor(sender)),
        AttendanceError,
        lambda r: f"{r.session_key}场次签到已导入：签到 {r.attended} 人，缺席 {r.absent} 人",
    )


def _visits(
    uow: UnitOfWork, ctx: CampaignContext, sender: _Sender, paths: list[Path], at: dt.datetime
) -> _Handled:
    from services.follow_up import VisitImportError, import_visits

    return _each_file(
        paths,
        lambda path: import_visits(uow, ctx, path, actor=mail_actor(sender)),
        VisitImportError,
        lambda r: f"走访记录已导入：{r.rows} 条，其中新增 {r.new} 条",
    )


HANDLERS: dict[MailKind, Handler] = {
    MailKind.application: _application,
    MailKind.results: _results,
    MailKind.checkins: _checkins,
    MailKind.scores: _scores,
    MailKind.attendance: _attendance,
    MailKind.visits: _visits,
}
