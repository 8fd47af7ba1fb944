"""The commission's mailbox (收件邮箱) as a source of inbound mail: IMAP (the commission's own mail
server) or a Maildir folder (the embedded default and the demo, no server needed).

A source lists the mails not yet marked taken, each with its server arrival time (IMAP
INTERNALDATE; Maildir: the message file's modification time), sender, Message-ID and
attachments, and marks a mail taken (IMAP: ``\\Seen`` and the keyword ``QcampTaken``; Maildir:
the ``S`` flag) only after the caller has committed what it did with it. Nothing else in the
mailbox is ever changed. Knows nothing of the campaign's records or of Prefect.

Location: ``QCAMP_MAILBOX_URL``, e.g. ``imaps://zlfzc:{env:QCAMP_IMAP_PASSWORD}@mail.tj.gov.cn:993/INBOX``
(``imap://`` without TLS) or ``maildir:///srv/qcamp/mailbox``; credentials only as placeholders
(`notifications.secrets`).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import imaplib
import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from domain.calendar import SHANGHAI
from notifications.secrets import SecretResolver, redact

TAKEN_KEYWORD = "QcampTaken"
MAILBOX_URL_ENV = "QCAMP_MAILBOX_URL"
_MESSAGE_ID = re.compile(r"<[!-~]{1,250}>")


class MailboxError(RuntimeError):
    """The mailbox cannot be reached or read (the message names it, never a password)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    """One mail as the server holds it."""

    uidvalidity: str
    uid: str
    message_id: str  # "<…>", sanitised; a stand-in from the UID when the mail has none
    sender: str  # the From address, lower case
    sender_name: str
    subject: str
    received_at: dt.datetime  # the server's arrival time, Shanghai
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    text: str = ""


class MailSource(Protocol):
    """Where inbound mail is read from."""

    label: str  # the location without credentials, as recorded

    def mails(self) -> Iterator[InboundMail]: ...

    def mark_taken(self, mail: InboundMail) -> None: ...

    def close(self) -> None: ...


def parse_mail(raw: bytes, *, uidvalidity: str, uid: str, received_at: dt.datetime) -> InboundMail:
    """A mail's sender, subject, Message-ID, text and attachments (names decoded)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    name, address = parseaddr(str(msg.get("From", "")))
    found = _MESSAGE_ID.search(str(msg.get("Message-ID", "")))
    message_id = found.group(0) if found else f"<{uidvalidity}.{uid}@qcamp.mailbox>"
    attachments = []
    text = ""
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename:
            attachments.append(Attachment(Path(filename).name or "附件", payload))
        elif part.get_content_type() == "text/plain" and not text:
            text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return InboundMail(
        uidvalidity=uidvalidity,
        uid=uid,
        message_id=message_id,
        sender=address.strip().lower(),
        sender_name=name,
        subject=str(msg.get("Subject", ""))[:300],
        received_at=received_at.astimezone(SHANGHAI),
        attachments=tuple(attachments),
        text=text[:4000],
    )


class MaildirSource:
    """A Maildir folder (``new/``, ``cur/``, ``tmp/``); arrival time = the file's mtime."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = f"maildir://{path}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(path, create=True)
        except OSError as exc:
            raise MailboxError(f"无法打开收件文件夹 {path}：{exc}。请检查路径和权限。") from exc

    def mails(self) -> Iterator[InboundMail]:
        found = []
        for key in self._box.keys():
            sub = self._box._lookup(key)  # noqa: SLF001 - the file's name carries its flags
            if "S" in sub.partition(":2,")[2]:
                continue
            file = self.path / sub
            found.append((file.stat().st_mtime, _arrival_order(file), key, file))
        # in order of arrival; mails that arrived in the same second by sender and subject (the
        # Maildir key carries the delivering process's id: no order of its own)
        for mtime, _order, key, file in sorted(found):
            received = dt.datetime.fromtimestamp(mtime, tz=SHANGHAI)
            yield parse_mail(
                file.read_bytes(), uidvalidity="maildir", uid=key, received_at=received
            )

    def mark_taken(self, mail: InboundMail) -> None:
        """The ``S`` (seen) flag: the file moves to ``cur/`` as ``KEY:2,…S`` (mtime kept)."""
        try:
            sub = self._box._lookup(mail.uid)  # noqa: SLF001
        except KeyError:
            return  # gone from the folder: nothing to mark
        flags = sub.partition(":2,")[2]
        if "S" in flags:
            return
        target = self.path / "cur" / f"{mail.uid}:2,{''.join(sorted(flags + 'S'))}"
        os.rename(self.path / sub, target)
        self._box._refresh()  # noqa: SLF001

    def close(self) -> None:
        self._box.close()


class ImapSource:
    """An IMAP mailbox (imaplib); arrival time = INTERNALDATE; marked taken with a keyword."""

    def __init__(self, url: str, resolver: SecretResolver | None = None) -> None:
        resolver = resolver or SecretResolver()
        parts = urlsplit(url)
        self.label = redact(f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}")
        self._redact = resolver.redact
        try:
            user = unquote(resolver.resolve(parts.username or ""))
            password = unquote(resolver.resolve(parts.password or ""))
        except Exception as exc:  # SecretError: names the placeholder, never the value
            raise MailboxError(f"收件邮箱 {self.label} 的账号或密码无法读取：{exc}") from exc
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
        try:
            conn_class = imaplib.IMAP4_SSL if parts.scheme == "imaps" else imaplib.IMAP4
            self._conn = conn_class(parts.hostname or "localhost", port, timeout=60)
            self._conn.login(user, password)
            status, _data = self._conn.select(_quote(folder))
            if status != "OK":
                raise MailboxError(f"收件邮箱 {self.label} 没有文件夹 {folder}：请检查地址。")
            self.uidvalidity = self._uidvalidity()
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(
                f"无法连接收件邮箱 {self.label}：{self._redact(str(exc))}。请检查 {MAILBOX_URL_ENV} "
                "中的服务器、端口、账号和密码。"
            ) from exc

    def _uidvalidity(self) -> str:
        _typ, data = self._conn.response("UIDVALIDITY")
        value = data[0] if data and data[0] else b"0"
        return value.decode() if isinstance(value, bytes) else str(value)

    def mails(self) -> Iterator[InboundMail]:
        status, data = self._conn.uid("SEARCH", None, "UNKEYWORD", TAKEN_KEYWORD)
        if status != "OK":
            raise MailboxError(f"收件邮箱 {self.label} 无法检索邮件：{data!r}")
        uids = sorted((data[0] or b"").split(), key=int)
        for uid in uids:
            status, parts = self._conn.uid("FETCH", uid, "(INTERNALDATE BODY.PEEK[])")
            if status != "OK" or not parts or not isinstance(parts[0], tuple):
                continue
            head, raw = parts[0]
            yield parse_mail(
                raw, uidvalidity=self.uidvalidity, uid=uid.decode(), received_at=_internaldate(head)
            )

    def mark_taken(self, mail: InboundMail) -> None:
        self._conn.uid("STORE", mail.uid, "+FLAGS", f"(\\Seen {TAKEN_KEYWORD})")

    def close(self) -> None:
        try:
            self._conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def _internaldate(head: bytes) -> dt.datetime:
    """The INTERNALDATE of a FETCH response, e.g. ``05-Apr-2025 10:03:00 +0800``, as aware time."""
    found = _INTERNALDATE.search(head)
    if not found:
        raise MailboxError("IMAP 服务器未返回邮件的到达时间（INTERNALDATE）。")
    return dt.datetime.strptime(found.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_source(url: str) -> MailSource:
    """The mail source a location names (see the module's docstring)."""
    scheme = urlsplit(url).scheme
    if scheme == "maildir":
        return MaildirSource(Path(unquote(urlsplit(url).path)))
    if scheme in ("imap", "imaps"):
        return ImapSource(url)
    raise MailboxError(
        f"收件邮箱地址“{redact(url)}”无法识别：请写成 imaps://账号:{{env:变量名}}@服务器:993/INBOX、"
        "imap://…（不加密）或 maildir:///目录。"
    )


def _arrival_order(file: Path) -> tuple[str, str]:
    """(From, Subject) of a mail file, read from its headers only: the tie-breaker between mails
    that arrived in the same second."""
    with file.open("rb") as handle:
        headers = BytesHeaderParser().parse(handle)
    return str(headers.get("From", "")), str(headers.get("Subject", ""))
