"""Exactly-once delivery through the delivery record (transactional outbox).

1. `queue_message` (the new record's id) or `queue_message_record` (the record itself) renders a
   message and inserts a ``pending`` `NotificationRecord` **inside the caller's unit of work**, so the message exists if and only if the state change that caused it
   committed. The idempotency key ``{campaign_id}:{event}:{recipient_key}:{period}`` is unique:
   queueing the same thing again returns None and never yields a second message. The check and
   the insert are one ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (no SELECT, no SAVEPOINT,
   no ORM flush per message), which also settles a race with a concurrent transaction.
   ``scheduled_for`` is the next working-day send time (09:00-18:00 Asia/Shanghai, Chinese
   working-day calendar), so nothing goes out on weekends or public holidays.

2. `deliver_due` (plain Python, called by one Prefect task) sends every due ``pending`` record in
   batches (100 by default):
   * claim: ``pending -> sending`` by one conditional ``UPDATE … WHERE id IN (…) AND
     status='pending' RETURNING id`` per batch (rows a concurrent deliverer took are not
     returned), after ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; the claim (owner
     ``host:pid:run`` and wall-clock time) is written into each unconfirmed channel entry;
   * send through each channel not yet confirmed (``channels[i].state = 'sent'``). A channel
     that reaches someone else (SMTP, webhook, chat) is confirmed in its own commit right after
     the send. An outbox channel is idempotent (its file name is fixed per record and send
     day), so its confirmation rides on the next commit, at the latest the batch's last one;
     when all channels are confirmed the record becomes ``sent`` with ``sent_at``;
   * on failure: ``attempts += 1``, redacted ``last_error``, retry after 1, 2, 4, 8 … minutes;
     after ``max_attempts`` the record is ``failed`` (the staff digest lists it).

   If `deliver_due` raises, it first commits the confirmations of what it has sent, then
   releases its other claims back to ``pending``. A process killed outright leaves records in
   ``sending``; the next run takes them back when the owner process is gone (same host) or the
   claim is older than the lease, and sends only the channels that were never confirmed.
   Channels taken back are marked ``interrupted``: an outbox file written but not confirmed is
   written again, and one written on another day (another file name) is removed, so each
   message is in the outbox once. The one window that remains at-least-once: the SMTP server
   (or webhook) has accepted a message and the process dies before the confirming commit (a
   few milliseconds); that channel is sent again. Mails carry a fixed Message-ID per record so
   such a duplicate is recognisable.

Record ``status`` values: ``pending``, ``sending`` (claimed), ``sent``, ``failed``,
``superseded`` (set by `services.delivery` before delivery: no longer true on its delivery day,
``last_error`` says why); and two that are never claimed: ``held`` (mass mail waiting until staff
release it, `release_held`) and ``undeliverable`` (无法送达: the recipient has no address and nobody
to hand it on). ``context`` holds the facts the message was rendered from.
``channels`` holds one entry per channel: ``{"url", "state", "sent_at", "error", "detail",
"claim"}`` (plus ``"interrupted": true`` while a taken-back channel awaits its resend); URLs are stored as configured (placeholders, never resolved secrets).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached

import faults
from domain.workdays import next_send_time
from notifications.channels import (
    Dispatcher,
    MailTransport,
    OutgoingMessage,
    Sender,
    parse_outbox,
)
from notifications.recipients import Recipient
from notifications.secrets import redact
from notifications.templates import encode_context, render
from storage.orm import NotificationRecord, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
# held: mass mail waiting for staff to release it; undeliverable (无法送达): nobody to send it to
HELD, UNDELIVERABLE = "held", "undeliverable"
DEFAULT_OUTBOX_URL = "outbox:"
MAX_ERROR_CHARS = 2000


# ----------------------------------------------------------------------------------------------
# queue
# ----------------------------------------------------------------------------------------------
def idempotency_key(campaign_id: int | None, event: str, recipient_key: str, period: str) -> str:
    return f"{'' if campaign_id is None else campaign_id}:{event}:{recipient_key}:{period}"


def _channel_entries(recipient: Recipient) -> list[dict[str, Any]]:
    urls = list(recipient.channels)
    if not urls:
        urls = [
            DEFAULT_OUTBOX_URL
            + (f"?to={quote(recipient.email, safe='@')}" if recipient.email else "")
        ]
    return [
        {"url": url, "state": PENDING, "sent_at": None, "error": "", "detail": "", "claim": None}
        for url in urls
    ]


@functools.lru_cache(maxsize=256)
def _send_time(now: dt.datetime) -> dt.datetime:
    # A stage queues all its messages with the same `now`.
    return next_send_time(now)


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id``: one statement both
    checks and claims the key, also against a concurrent transaction (PostgreSQL waits for it,
    then inserts nothing)."""
    table = NotificationRecord.__table__
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql_insert(table)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table)
    else:  # pragma: no cover - both supported databases are handled above
        raise NotImplementedError(f"不支持的数据库：{dialect}")
    return stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.id)


def _record_values(
    *,
    campaign_id: int | None,
    event: str,
    rule: str,
    recipient: Recipient,
    period: str,
    context: dict[str, Any],
    attachments: Sequence[Path],
    now: dt.datetime,
    in_reply_to: str = "",
    status: str = PENDING,
    note: str = "",
) -> dict[str, Any]:
    if now.tzinfo is None:
        raise ValueError("queue_message_record() needs an aware `now`")
    if len(period) > 40:
        raise ValueError(f"period 过长（最多 40 个字符）：{period!r}")
    full = {"recipient_name": recipient.name, **context}
    if recipient.forward_note:  # kept with the facts: a message rendered again keeps it
        full["forward_note"] = recipient.forward_note
    message = render(event, full)
    body = with_forward_note(message.body, full)
    files = [Path(os.path.abspath(p)) for p in attachments]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"通知 {event} 的附件不存在：{'、'.join(missing)}")
    return {
        "idempotency_key": idempotency_key(campaign_id, event, recipient.key, period),
        "campaign_id": campaign_id,
        "event": event,
        "rule": rule,
        "recipient_key": recipient.key,
        "recipient_name": recipient.display_name[:200],
        "period": period,
        "subject": message.subject[:300],
        "body": body,
        "attachments": [{"path": str(p), "name": p.name} for p in files],
        "channels": _channel_entries(recipient),
        "context": encode_context(full),
        "status": status,
        "attempts": 0,
        "last_error": note,
        "created_at": utcnow(),
        # A reply to a mail (a receipt) goes out at once, as the mail was answered; every
        # other message waits for the next working-day send time.
        "scheduled_for": now if in_reply_to else _send_time(now),
        "sent_at": None,
        "in_reply_to": in_reply_to[:300],
    }


def with_forward_note(body: str, context: dict[str, Any]) -> str:
    """The body with 「本通知请转交：…」 first when the message reaches its person through
    someone else (the context's ``forward_note``)."""
    note = context.get("forward_note")
    return f"本通知请转交：{note}\n\n{body}" if note else body


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    conn = session.connection()
    record_id: int | None = conn.execute(_insert_statement(conn.dialect.name), values).scalar()
    return record_id


def queue_message(
    session: Session,
    *,
    campaign_id: int | None,
    event: str,
    rule: str,
    recipient: Recipient,
    period: str,
    context: dict[str, Any],
    attachments: Sequence[Path] = (),
    now: dt.datetime,
    in_reply_to: str = "",
    status: str = PENDING,
    note: str = "",
) -> int | None:
    """Queue one message (see `queue_message_record`); the new record's id, or None if the
    message was already queued. For callers that need no record object. `status` may be
    ``held`` or ``undeliverable`` instead of ``pending``, `note` saying why."""
    return _insert(
        session,
        _record_values(
            campaign_id=campaign_id,
            event=event,
            rule=rule,
            recipient=recipient,
            period=period,
            context=context,
            attachments=attachments,
            now=now,
            in_reply_to=in_reply_to,
            status=status,
            note=note,
        ),
    )


def queue_message_record(
    session: Session,
    *,
    campaign_id: int | None,
    event: str,
    rule: str,
    recipient: Recipient,
    period: str,
    context: dict[str, Any],
    attachments: Sequence[Path] = (),
    now: dt.datetime,
) -> NotificationRecord | None:
    """Queue one message in the caller's transaction; None if it was already queued.

    The row is inserted at once on the session's connection (one statement, no ORM flush of the
    record), so it commits or rolls back with the caller's unit of work and later queries in the
    same transaction see it; the returned record is attached to the session as a persistent
    object. A key that exists already, or that a concurrent transaction committed first, yields
    None and the caller's other changes are kept.

    The context gets ``recipient_name`` (overridable). Attachments must exist now; they are read
    at send time. Raises `TemplateError` for an unknown event or a missing context key.
    """
    values = _record_values(
        campaign_id=campaign_id,
        event=event,
        rule=rule,
        recipient=recipient,
        period=period,
        context=context,
        attachments=attachments,
        now=now,
    )
    record_id = _insert(session, values)
    if record_id is None:
        return None
    record = NotificationRecord(id=record_id, **values)
    make_transient_to_detached(record)
    session.add(record)
    return record


# ----------------------------------------------------------------------------------------------
# deliver
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeliveryFailure:
    record_id: int
    idempotency_key: str
    event: str
    recipient_key: str
    recipient_name: str
    attempts: int
    error: str
    final: bool  # True: marked failed; False: will be retried


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # marked failed in this run (max attempts reached)
    deferred: int = 0  # failed this time, retry scheduled
    recovered: int = 0  # taken back from a dead or expired claim
    superseded: int = 0  # no longer true on the delivery day: not sent (services.delivery)
    failures: list[DeliveryFailure] = field(default_factory=list)
    seconds: float = 0.0

    def combined(self, other: DeliveryReport) -> DeliveryReport:
        """This delivery and a later one of the same run, as one."""
        return DeliveryReport(
            sent=self.sent + other.sent,
            failed=self.failed + other.failed,
            deferred=self.deferred + other.deferred,
            recovered=self.recovered + other.recovered,
            superseded=self.superseded + other.superseded,
            failures=[*self.failures, *other.failures],
            seconds=self.seconds + other.seconds,
        )

    def markdown(self) -> str:
        """What `qcamp run campaign` prints after the stages: every message that did not reach
        its recipient is counted and named, with the reason."""
        lines = [f"通知投递：{self.summary()}。"]
        if self.failures:
            lines.append(f"未能送达（{len(self.failures)} 条，已列入每日工作摘要）：")
            lines += [
                f"- {f.recipient_name}（{f.recipient_key}）：{redact(f.error) or '未知原因'}"
                f"（已尝试 {f.attempts} 次，{'已停止重试' if f.final else '将自动重试'}）"
                for f in self.failures
            ]
        return "\n".join(lines)

    def summary(self) -> str:
        return (
            f"已发送 {self.sent} 条，失败 {self.failed} 条，待重试 {self.deferred} 条"
            + (f"，接管中断投递 {self.recovered} 条" if self.recovered else "")
            + (f"，已过时作废 {self.superseded} 条" if self.superseded else "")
        )


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes after the `attempts`-th failure (capped at one day)."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 24 * 60))


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim_is_stale(claim: dict[str, Any] | None, lease: dt.timedelta) -> bool:
    if not claim:
        return True
    try:
        at = dt.datetime.fromisoformat(str(claim.get("at")))
    except ValueError:
        return True
    if utcnow() - at > lease:
        return True
    host, _, rest = str(claim.get("by", "")).partition(":")
    pid_text = rest.split(":", 1)[0]
    if host == socket.gethostname() and pid_text.isdigit():
        return not _pid_alive(int(pid_text))
    return False


def _strip_claims(
    channels: Iterable[dict[str, Any]], *, interrupted: bool = False
) -> list[dict[str, Any]]:
    """Channels without their claims. With `interrupted`, channels not confirmed are marked: a
    delivery may have written them without confirming (see `_deliver_record`)."""
    return [
        {
            **c,
            "claim": None,
            **({"interrupted": True} if interrupted and c.get("state") != SENT else {}),
        }
        for c in channels
    ]


def _recover_stale(session: Session, lease: dt.timedelta) -> int:
    recovered = 0
    for rec in session.scalars(
        select(NotificationRecord).where(NotificationRecord.status == SENDING)
    ):
        claims = [c.get("claim") for c in rec.channels if c.get("state") != SENT]
        if claims and not all(_claim_is_stale(c, lease) for c in claims):
            continue
        owner = next((c.get("by") for c in claims if c), "")
        res = session.execute(
            update(NotificationRecord)
            .where(NotificationRecord.id == rec.id, NotificationRecord.status == SENDING)
            .values(
                status=PENDING,
                channels=_strip_claims(rec.channels, interrupted=True),
                last_error=f"上次投递被中断（{owner or '未知进程'}），未确认的渠道将重新投递",
            )
            .execution_options(synchronize_session=False)
        )
        recovered += res.rowcount
    session.commit()
    return recovered


@dataclass
class _Claimed:
    """A claimed record, read and written with plain SQL (the ORM's per-object bookkeeping cost
    more than the sending itself in bulk runs)."""

    id: int
    idempotency_key: str
    event: str
    recipient_key: str
    recipient_name: str
    subject: str
    body: str
    attachments: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    status: str
    attempts: int
    last_error: str
    scheduled_for: dt.datetime
    sent_at: dt.datetime | None
    in_reply_to: str = ""


_CLAIMED_COLUMNS = [f.name for f in dataclasses.fields(_Claimed)]
_WRITTEN_COLUMNS = ("channels", "status", "attempts", "last_error", "scheduled_for", "sent_at")


@functools.cache
def _write_statement() -> Any:
    table = NotificationRecord.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("w_id"))
        .values(
            {name: bindparam(f"w_{name}", type_=table.c[name].type) for name in _WRITTEN_COLUMNS}
        )
    )


class _Outcomes:
    """Record outcomes not yet written; `commit` writes them (one executemany) and commits."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[dict[str, Any]] = []

    def add(self, rec: _Claimed) -> None:
        self.rows.append(
            {"w_id": rec.id, **{f"w_{name}": getattr(rec, name) for name in _WRITTEN_COLUMNS}}
        )

    def commit(self) -> None:
        if self.rows:
            self.session.execute(_write_statement(), self.rows)
            self.rows = []
        self.session.commit()


def _claim_batch(session: Session, *, now: dt.datetime, owner: str, size: int) -> list[_Claimed]:
    """Claim up to `size` due records: ``pending -> sending`` by one conditional UPDATE … RETURNING
    (rows another deliverer claimed in the meantime are not returned), then the claim is
    written into each unconfirmed channel; one commit."""
    table = NotificationRecord.__table__
    due = (
        select(table.c.id)
        .where(table.c.status == PENDING, table.c.scheduled_for <= now)
        .order_by(table.c.scheduled_for, table.c.id)
        .limit(size)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    while True:
        ids = list(session.execute(due).scalars())
        if not ids:
            session.commit()
            return []
        claimed = list(
            session.execute(
                update(table)
                .where(table.c.id.in_(ids), table.c.status == PENDING)
                .values(status=SENDING)
                .returning(table.c.id)
            ).scalars()
        )
        if claimed:
            break
        session.commit()  # all taken by another deliverer meanwhile: look again
    rows = session.execute(
        select(*(table.c[name] for name in _CLAIMED_COLUMNS))
        .where(table.c.id.in_(claimed))
        .order_by(table.c.scheduled_for, table.c.id)
    )
    batch = [_Claimed(*row) for row in rows]
    claim = {"by": owner, "at": utcnow().isoformat()}
    outcomes = _Outcomes(session)
    for rec in batch:
        rec.channels = [
            c if c.get("state") == SENT else {**c, "claim": claim} for c in rec.channels
        ]
        outcomes.add(rec)
    outcomes.commit()
    return batch


def _message(rec: _Claimed, now: dt.datetime) -> OutgoingMessage:
    email = ""
    for entry in rec.channels:
        if str(entry.get("url", "")).startswith("outbox:"):
            email = parse_outbox(entry["url"]).to
            break
    return OutgoingMessage(
        record_id=rec.id,
        idempotency_key=rec.idempotency_key,
        event=rec.event,
        recipient_key=rec.recipient_key,
        recipient_name=rec.recipient_name,
        subject=rec.subject,
        body=rec.body,
        sent_at=now,
        attachments=tuple(Path(a["path"]) for a in rec.attachments),
        recipient_email=email,
        replaces_earlier=any(c.get("interrupted") for c in rec.channels),
        in_reply_to=rec.in_reply_to or "",
    )


def _is_outbox(url: str) -> bool:
    return url.startswith("outbox:")


def _deliver_record(
    outcomes: _Outcomes,
    rec: _Claimed,
    dispatcher: Dispatcher,
    *,
    now: dt.datetime,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    """Send `rec` through each channel not yet confirmed and record the outcome.

    A channel that reaches someone else (SMTP, webhook, chat) is confirmed in a commit right
    after its send. An outbox channel is not: writing its file again replaces the same file, so
    its confirmation waits for the next commit (at the latest the end of the batch) and a crash
    in between only writes the file again. If the rerun happens on another day (a different
    file name), the earlier file is removed (``interrupted`` -> `OutgoingMessage.replaces_earlier`).
    A failure is recorded (and committed) at once.
    """
    message = _message(rec, now)
    channels = [dict(c) for c in rec.channels]
    errors: list[str] = []
    for i, entry in enumerate(channels):
        if entry.get("state") == SENT:
            continue
        result = dispatcher.send(entry["url"], message)
        if result.ok:
            faults.hit("delivery")  # the chaos demo's: handed over, not yet confirmed
            confirmed = {k: v for k, v in entry.items() if k != "interrupted"}
            channels[i] = {
                **confirmed,
                "state": SENT,
                "sent_at": now.isoformat(),
                "error": "",
                "detail": result.detail,
                "claim": None,
            }
        else:
            channels[i] = {**entry, "error": result.error}
            errors.append(f"{dispatcher.redact(redact(entry['url']))}：{result.error}")
        rec.channels = [dict(c) for c in channels]
        if result.ok and all(c.get("state") == SENT for c in channels):
            rec.status = SENT
            rec.sent_at = now
            rec.last_error = ""
            report.sent += 1
        if result.ok:
            outcomes.add(rec)
            if not _is_outbox(str(entry["url"])):
                outcomes.commit()  # confirm right after the send
    if rec.status == SENT:
        return
    rec.attempts = (rec.attempts or 0) + 1
    rec.last_error = "；".join(errors)[:MAX_ERROR_CHARS]
    rec.channels = _strip_claims(channels)
    final = rec.attempts >= max_attempts
    if final:
        rec.status = FAILED
        report.failed += 1
    else:
        rec.status = PENDING
        rec.scheduled_for = now + backoff(rec.attempts)
        report.deferred += 1
    report.failures.append(
        DeliveryFailure(
            record_id=rec.id,
            idempotency_key=rec.idempotency_key,
            event=rec.event,
            recipient_key=rec.recipient_key,
            recipient_name=rec.recipient_name,
            attempts=rec.attempts,
            error=rec.last_error,
            final=final,
        )
    )
    outcomes.add(rec)
    outcomes.commit()


def _deliver_batch(
    session: Session,
    batch: Sequence[_Claimed],
    dispatcher: Dispatcher,
    in_hand: set[int],
    **kwargs: Any,
) -> None:
    """Deliver a claimed batch and commit the confirmations still open; records confirmed leave
    `in_hand`. If delivery raises, what was sent is still confirmed before the error goes on."""
    outcomes = _Outcomes(session)
    done: list[int] = []
    try:
        for rec in batch:
            _deliver_record(outcomes, rec, dispatcher, **kwargs)
            done.append(rec.id)
    except BaseException:
        try:
            outcomes.commit()  # keep the confirmations of what was sent
        except Exception:  # noqa: BLE001 - the error in flight matters; these get released
            session.rollback()
        else:
            in_hand.difference_update(done)
        raise
    outcomes.commit()
    in_hand.difference_update(done)


def _release(session_factory: Callable[[], Session], ids: Iterable[int]) -> None:
    ids = list(ids)
    if not ids:
        return
    with session_factory() as session:
        for rec in session.scalars(
            select(NotificationRecord).where(
                NotificationRecord.id.in_(ids), NotificationRecord.status == SENDING
            )
        ):
            rec.status = PENDING
            rec.channels = _strip_claims(rec.channels, interrupted=True)
        session.commit()


def deliver_due(
    session_factory: Callable[[], Session],
    *,
    now: dt.datetime,
    default_outbox: Path | None,
    max_attempts: int = 5,
    limit: int | None = None,
    batch_size: int = 100,
    mail_transport: MailTransport = "batch",
    lease: dt.timedelta = dt.timedelta(minutes=30),
    dispatcher: Dispatcher | None = None,
    sender: Sender | None = None,
) -> DeliveryReport:
    """Send every pending record due at `now` (at most `limit`); see the module docstring.

    `dispatcher` lets a caller supply its own `Dispatcher` (e.g. one with a Prefect-secret
    resolver); it is closed at the end either way. `sender` (the campaign's mailbox) is the
    From and Reply-To of every mail.
    """
    if now.tzinfo is None:
        raise ValueError("deliver_due() needs an aware `now`")
    started = time.perf_counter()
    report = DeliveryReport()
    owner = _owner_id()
    disp = dispatcher or Dispatcher(default_outbox=default_outbox, mail_transport=mail_transport)
    if disp.default_outbox is None:
        disp.default_outbox = default_outbox
    if sender is not None:
        disp.sender = sender
    in_hand: set[int] = set()
    try:
        with session_factory() as session:
            report.recovered = _recover_stale(session, lease)
            done = 0
            while limit is None or done < limit:
                size = batch_size if limit is None else min(batch_size, limit - done)
                batch = _claim_batch(session, now=now, owner=owner, size=size)
                if not batch:
                    break
                in_hand.update(r.id for r in batch)
                _deliver_batch(
                    session,
                    batch,
                    disp,
                    in_hand,
                    now=now,
                    max_attempts=max_attempts,
                    report=report,
                )
                done += len(batch)
    finally:
        disp.close()
        _release(session_factory, in_hand)
        report.seconds = time.perf_counter() - started
    return report


# ----------------------------------------------------------------------------------------------
# dashboard / digest
# ----------------------------------------------------------------------------------------------
def failed_deliveries(
    session: Session, campaign_id: int | None, *, include_retrying: bool = False
) -> Sequence[NotificationRecord]:
    """Records that could not be delivered (``failed`` and ``undeliverable``; with
    `include_retrying`, also pending records that have failed at least once)."""
    query = select(NotificationRecord)
    if campaign_id is not None:
        query = query.where(NotificationRecord.campaign_id == campaign_id)
    if include_retrying:
        query = query.where(
            NotificationRecord.status.in_((FAILED, UNDELIVERABLE))
            | ((NotificationRecord.status == PENDING) & (NotificationRecord.attempts > 0))
        )
    else:
        query = query.where(NotificationRecord.status.in_((FAILED, UNDELIVERABLE)))
    return session.scalars(query.order_by(NotificationRecord.id)).all()


def failure_lines(records: Iterable[NotificationRecord]) -> list[str]:
    """One Chinese line per undelivered record, for the staff digest."""
    return [
        f"{r.recipient_name}（{r.recipient_key}）《{r.subject}》："
        + (
            "无法送达（无收件地址，未发送）"
            if r.status == UNDELIVERABLE
            else f"已尝试 {r.attempts} 次，{'已停止重试' if r.status == FAILED else '将自动重试'}"
        )
        + f"。原因：{redact(r.last_error) or '未知'}"
        for r in records
    ]


def staff_digest_context(
    session: Session,
    campaign_id: int | None,
    *,
    as_of: dt.datetime,
    counts: dict[str, int | str],
) -> dict[str, Any]:
    """The `staff_digest` template's own keys (merge with `config_facts`)."""
    records = failed_deliveries(session, campaign_id, include_retrying=True)
    return {
        "day": as_of,
        "as_of": as_of,
        "counts": [f"{label}：{value}" for label, value in counts.items()],
        "failed_count": len(records),
        "failures": failure_lines(records),
    }


def release_held(
    session: Session, campaign_id: int | None, event: str, *, now: dt.datetime
) -> list[int]:
    """Staff's "放行": the held records of `event` go into the queue, to be sent at the next
    working-day send time; their ids."""
    table = NotificationRecord.__table__
    return list(
        session.execute(
            update(table)
            .where(
                table.c.campaign_id == campaign_id,
                table.c.event == event,
                table.c.status == HELD,
            )
            .values(status=PENDING, last_error="", scheduled_for=next_send_time(now))
            .returning(table.c.id)
        ).scalars()
    )


def retry_failed(session: Session, record_id: int, *, now: dt.datetime) -> bool:
    """Staff's "重新发送": put a failed record back in the queue (attempts reset)."""
    rec = session.get(NotificationRecord, record_id)
    if rec is None or rec.status != FAILED:
        return False
    rec.status = PENDING
    rec.attempts = 0
    rec.scheduled_for = next_send_time(now)
    rec.channels = _strip_claims(rec.channels)
    return True
