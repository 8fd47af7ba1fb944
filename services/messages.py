"""消息管理 for staff (`qcamp messages list|show|resend`): what was queued for whom, as it will be
or was sent, traceable to its rule and template; failed deliveries put back in the queue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel

from domain.calendar import SHANGHAI
from notifications.secrets import redact
from notifications.service import retry_failed
from notifications.templates import EVENTS, TEMPLATES
from storage import orm
from storage.uow import UnitOfWork

STATUS_LABELS = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "superseded": "已作废",
    "held": "待放行",
    "undeliverable": "无法送达",
}


class MessagesError(ValueError):
    """A staff request about messages cannot be answered; the text says why and what to do."""


class MessageRow(BaseModel):
    """One line of `qcamp messages list`."""

    id: int
    event: str
    event_name: str
    recipient: str
    recipient_key: str
    status: str
    status_label: str
    scheduled_for: dt.datetime
    attempts: int
    last_error: str
    error_reason: str  # the last error without the channel addresses, for a table cell


class MessageAttachment(BaseModel):
    name: str
    path: str
    exists: bool


class MessageChannel(BaseModel):
    url: str  # redacted
    address: str
    state: str
    sent_at: str | None
    error: str


class MessageDetail(MessageRow):
    """One message as it will be (or was) sent, with the rule and template that sent it."""

    rule: str
    template: str
    period: str
    subject: str
    body: str
    attachments: list[MessageAttachment]
    channels: list[MessageChannel]
    sent_at: dt.datetime | None


def check_status(status: str | None) -> str | None:
    if status and status not in STATUS_LABELS:
        raise MessagesError(
            f"--status 的值“{status}”无效：可选 {'、'.join(STATUS_LABELS)}"
            f"（{'、'.join(STATUS_LABELS.values())}）"
        )
    return status or None


def check_event(event: str | None) -> str | None:
    if not event:
        return None
    if event in TEMPLATES:
        return event
    by_name = {t.name: t.event for t in TEMPLATES.values()}
    if event in by_name:
        return by_name[event]
    raise MessagesError(f"--event 的值“{event}”无效：可选 {'、'.join(EVENTS)}（或其中文名称）")


def _campaign_id(uow: UnitOfWork, year: int) -> int:
    campaign = uow.repo.campaign(year)
    if campaign is None:
        raise MessagesError(f"数据库中没有 {year} 年度的活动：请检查 --year，或先运行该年度的活动")
    return campaign.id


def _local(when: dt.datetime) -> dt.datetime:
    return when.astimezone(SHANGHAI)


def _row(rec: orm.NotificationRecord) -> MessageRow:
    tpl = TEMPLATES.get(rec.event)
    return MessageRow(
        id=rec.id,
        event=rec.event,
        event_name=tpl.name if tpl else rec.event,
        recipient=rec.recipient_name,
        recipient_key=rec.recipient_key,
        status=rec.status,
        status_label=STATUS_LABELS.get(rec.status, rec.status),
        scheduled_for=_local(rec.scheduled_for),
        attempts=rec.attempts or 0,
        last_error=redact(rec.last_error or ""),
        error_reason=error_reason(redact(rec.last_error or "")),
    )


def error_reason(last_error: str) -> str:
    """``<channel url>：<reason>；…`` -> the reasons alone."""
    reasons = []
    for part in last_error.split("；"):
        head, sep, rest = part.partition("：")
        reasons.append(rest if sep and ("://" in head or head.startswith("outbox:")) else part)
    return "；".join(r for r in reasons if r)


def list_messages(
    uow: UnitOfWork, year: int, *, status: str | None = None, event: str | None = None
) -> list[MessageRow]:
    """The year's messages in number order, optionally of one status and one event."""
    status, event = check_status(status), check_event(event)
    with uow:
        campaign_id = _campaign_id(uow, year)
        return [_row(r) for r in uow.messages.records(campaign_id, status=status, event=event)]


def _address(url: str) -> str:
    """The addressee a channel URL names (its ``to=``, or the path of a mailto URL)."""
    parts = urlsplit(url)
    to = parse_qs(parts.query).get("to")
    if to:
        return unquote(to[0])
    if parts.scheme in ("mailto", "mailtos") and parts.path.strip("/"):
        return unquote(parts.path.strip("/"))
    return ""


def show_message(uow: UnitOfWork, record_id: int) -> MessageDetail:
    """One message: subject, body, recipient and channels, attachments, rule and template."""
    with uow:
        rec = uow.messages.record(record_id)
        if rec is None:
            raise MessagesError(
                f"没有编号为 {record_id} 的消息：请用 qcamp messages list 查看消息编号"
            )
        tpl = TEMPLATES.get(rec.event)
        return MessageDetail(
            **_row(rec).model_dump(),
            rule=rec.rule,
            template=f"{rec.event}（{tpl.name}）" if tpl else rec.event,
            period=rec.period,
            subject=rec.subject,
            body=rec.body,
            attachments=[
                MessageAttachment(name=a.get("name", ""), path=a["path"], exists=_exists(a["path"]))
                for a in rec.attachments or []
            ],
            channels=[
                MessageChannel(
                    url=redact(str(c.get("url", ""))),
                    address=_address(str(c.get("url", ""))),
                    state=STATUS_LABELS.get(str(c.get("state")), str(c.get("state"))),
                    sent_at=c.get("sent_at"),
                    error=redact(str(c.get("error") or "")),
                )
                for c in rec.channels or []
            ],
            sent_at=_local(rec.sent_at) if rec.sent_at else None,
        )


def _exists(path: str) -> bool:
    return Path(path).is_file()


def resend_failed(uow: UnitOfWork, year: int, *, now: dt.datetime) -> list[int]:
    """Every failed message of the year back in the queue (attempts reset), sent by the next
    delivery from the next working-day send time; the numbers re-queued."""
    with uow:
        campaign_id = _campaign_id(uow, year)
        ids = [
            i for i in uow.messages.failed_ids(campaign_id) if retry_failed(uow.session, i, now=now)
        ]
        uow.commit()
    return ids
