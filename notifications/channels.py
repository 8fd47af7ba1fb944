"""Delivery of one rendered message through one channel URL.

Schemes:

* ``outbox:///abs/folder[?to=addr&from=addr]`` — our own: writes an ``.eml`` file a user can
  open (``outbox:`` with no folder means the run's default outbox). The file is named
  ``<sent-date>_<event>_<recipient-key-safe>_<n>.eml`` where ``n`` is the delivery record's id,
  so that writing it again (a rerun after a crash) replaces the same file: exactly once.
* ``mailto://`` / ``mailtos://`` — e-mail. The URL is parsed by apprise (its options, provider
  templates and defaults apply: ``smtp=``, ``from=``, ``name=``, ``to=``, ``cc=``, ``bcc=``,
  ``mode=starttls|ssl|insecure``, user/password). Two transports:
  ``batch`` (default) builds the MIME message here (UTF-8 headers, RFC 2231 attachment names,
  deterministic Message-ID, ``Date`` = the send time) and keeps one SMTP connection per server
  open for the whole delivery run; ``apprise`` hands each message to apprise, which opens one
  SMTP connection per message (about 3x slower, and it encodes Chinese attachment names as a
  non-standard RFC 2047 Content-Disposition header).
* anything else apprise knows (``wecombot://``, ``dingtalk://``, ``json://`` …) goes through
  apprise. Chat channels carry subject and body only.

`Dispatcher.send` never raises for delivery problems: it returns a `SendResult` whose error is
redacted (no passwords, tokens or resolved secrets).
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import hashlib
import logging
import mimetypes
import os
import re
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.utils import format_datetime, formataddr
from email.utils import quote as email_quote
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from domain.workdays import SHANGHAI
from notifications.recipients import safe_key
from notifications.secrets import SecretError, SecretResolver

log = logging.getLogger("qcamp.notifications")

MailTransport = Literal["batch", "apprise"]

SENDER_NAME = "天津市市场监督管理委员会 质量发展处"
SENDER_ADDR = "noreply@qcamp.invalid"
APP_ID = "qcamp-tianjin"  # goes into HTTP User-Agent headers: ASCII only


@dataclass(frozen=True)
class Sender:
    """Who a campaign's mail is from: the commission's mailbox (From) and the mailbox replies go
    to (Reply-To), with the issuer and department as the display name. When a `Dispatcher` has
    one, it is the From and Reply-To of every mail it writes (outbox and SMTP); a channel URL's
    ``from=`` then only names the SMTP envelope sender (the account that sends)."""

    name: str
    address: str
    reply_to: str = ""

    @property
    def from_pair(self) -> tuple[str, str]:
        return (self.name, self.address)

    @property
    def reply_pairs(self) -> tuple[tuple[str, str], ...]:
        return ((self.name, self.reply_to or self.address),)


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message on its way to one recipient."""

    record_id: int
    idempotency_key: str
    event: str
    recipient_key: str
    recipient_name: str
    subject: str
    body: str
    sent_at: dt.datetime  # the (simulated) send time: Date header, outbox file name
    attachments: tuple[Path, ...] = ()
    recipient_email: str = ""
    # an earlier delivery was interrupted: its outbox file may exist under another date
    replaces_earlier: bool = False
    in_reply_to: str = ""  # the Message-ID of the mail this one answers: threaded as a reply

    @property
    def message_id(self) -> str:
        digest = hashlib.sha1(self.idempotency_key.encode("utf-8")).hexdigest()[:16]
        return f"<qcamp.{self.record_id}.{digest}@qcamp.tj>"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str = ""  # redacted
    detail: str = ""  # e.g. the outbox file written

    @classmethod
    def failure(cls, error: str) -> SendResult:
        return cls(False, error)


class ChannelError(RuntimeError):
    """A delivery failed; the message is safe to store (already redacted by the caller)."""


def scheme_of(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


# --------------------------------------------------------------------------------------------
# MIME building (outbox and the batch SMTP transport)
# --------------------------------------------------------------------------------------------
_CRLF = b"\r\n"
_MAX_HEADER_LINE = 78
_MAX_PARAM_CHUNK = 600  # RFC 2231 continuation past this (lines must stay under 998 octets)


_WORD_BYTES = 42  # UTF-8 octets per encoded word: 56 base64 characters, 68 with the markers
_ASCII_SPECIALS = frozenset('"(),:;<>@[\\]=?')


def _encoded_words(text: str) -> str:
    """`text` as RFC 2047 encoded words (UTF-8, base64, at most 68 characters each, never a
    character cut in two), separated by spaces; ASCII text without specials is kept as is."""
    if text.isascii() and not _ASCII_SPECIALS.intersection(text) and "  " not in text:
        return text
    data = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: back off
            end -= 1
        words.append(f"=?utf-8?b?{binascii.b2a_base64(data[start:end], newline=False).decode()}?=")
        start = end
    return " ".join(words)


def _one_word(text: str) -> str:
    """`text` as a single RFC 2047 encoded word, as `formataddr` writes a non-ASCII name (Python's
    address parser keeps the space between two adjacent encoded words in a display name)."""
    return f"=?utf-8?b?{binascii.b2a_base64(text.encode('utf-8'), newline=False).decode()}?="


def _addr(name: str, addr: str) -> str:
    if not name:
        return addr
    if name.isascii():
        return formataddr((name, addr))
    return f"{_one_word(name)} <{addr}>"


def _fold(name: str, value: str) -> bytes:
    """``Name: value`` folded before spaces so that lines stay within 78 characters where the
    words allow it."""
    current = f"{name}: {value}"
    if len(current) <= _MAX_HEADER_LINE:
        return current.encode("utf-8") + _CRLF
    lines: list[str] = []
    current = f"{name}:"
    has_word = False
    for word in value.split(" "):
        candidate = f"{current} {word}"
        if len(candidate) > _MAX_HEADER_LINE and has_word and word:
            lines.append(current)
            candidate = f" {word}"
        current = candidate
        has_word = has_word or bool(word)
    lines.append(current)
    return "\r\n".join(lines).encode("utf-8") + _CRLF


def _filename_param(filename: str) -> str:
    """``filename="…"`` for ASCII names, RFC 2231 ``filename*=utf-8''…`` otherwise (split into
    ``filename*0*=``, ``filename*1*=`` … when very long)."""
    if filename.isascii():
        return f'filename="{email_quote(filename)}"'
    encoded = quote(filename, safe="")
    if len(encoded) <= _MAX_PARAM_CHUNK:
        return f"filename*=utf-8''{encoded}"
    chunks = [encoded[i : i + _MAX_PARAM_CHUNK] for i in range(0, len(encoded), _MAX_PARAM_CHUNK)]
    # never cut a %XX escape in two
    for i in range(len(chunks) - 1):
        cut = chunks[i].rfind("%", len(chunks[i]) - 2)
        if cut != -1:
            chunks[i + 1] = chunks[i][cut:] + chunks[i + 1]
            chunks[i] = chunks[i][:cut]
    first = f"filename*0*=utf-8''{chunks[0]}"
    return "; ".join([first] + [f"filename*{i}*={c}" for i, c in enumerate(chunks[1:], 1)])


def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character CRLF-terminated lines (as MIME wants)."""
    text = binascii.b2a_base64(data, newline=False)
    if not text:
        return b""
    return _CRLF.join([text[i : i + 76] for i in range(0, len(text), 76)]) + _CRLF


def _content_type(path: Path) -> str:
    if path.suffix.lower() == ".ics":
        return "text/calendar"
    ctype, _ = mimetypes.guess_type(path.name)
    return ctype or "application/octet-stream"


def build_email(
    message: OutgoingMessage,
    *,
    sender: tuple[str, str] = (SENDER_NAME, SENDER_ADDR),
    to: Iterable[tuple[str, str]] = (),
    cc: Iterable[tuple[str, str]] = (),
    reply_to: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The message as RFC 5322 bytes (CRLF line ends), ready for a file or SMTP.

    UTF-8 subject and names as RFC 2047 encoded words, a base64 UTF-8 text body, attachments
    base64 with RFC 2231 file names, deterministic Message-ID and MIME boundary, ``Date`` = the
    send time. Written directly rather than through `email.generator`, whose header re-folding
    and line-by-line payload writing cost about 3 ms a message in bulk runs; the output parses
    with the standard `email` package (the tests read it back).
    """
    head: list[bytes] = []
    boundary = ""
    if message.attachments:
        digest = hashlib.sha1(message.idempotency_key.encode("utf-8")).hexdigest()[:16]
        # '=' and '_' never occur at the start of a base64 line, and every part is base64
        boundary = f"=_qcamp_{message.record_id}_{digest}"
        head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode() + _CRLF)
    else:
        head.append(b'Content-Type: text/plain; charset="utf-8"' + _CRLF)
    head.append(b"MIME-Version: 1.0" + _CRLF)
    if not message.attachments:
        head.append(b"Content-Transfer-Encoding: base64" + _CRLF)
    head.append(_fold("Subject", _encoded_words(message.subject)))
    head.append(_fold("From", _addr(*sender)))
    to_list = [_addr(n, a) for n, a in to]
    # With no address known, an empty group naming the recipient keeps the header valid.
    label = message.recipient_name or message.recipient_key
    group = f'"{email_quote(label)}"' if label.isascii() else _one_word(label)
    head.append(_fold("To", ", ".join(to_list) or f"{group}:;"))
    cc_list = [_addr(n, a) for n, a in cc]
    if cc_list:
        head.append(_fold("Cc", ", ".join(cc_list)))
    reply_list = [_addr(n, a) for n, a in reply_to]
    if reply_list:
        head.append(_fold("Reply-To", ", ".join(reply_list)))
    local = message.sent_at.astimezone(SHANGHAI) if message.sent_at.tzinfo else message.sent_at
    head.append(f"Date: {format_datetime(local)}".encode() + _CRLF)
    head.append(f"Message-ID: {message.message_id}".encode() + _CRLF)
    if message.in_reply_to:
        head.append(f"In-Reply-To: {message.in_reply_to}".encode() + _CRLF)
        head.append(f"References: {message.in_reply_to}".encode() + _CRLF)
    head.append(_fold("X-Qcamp-Event", message.event))
    head.append(f"X-Qcamp-Record: {message.record_id}".encode() + _CRLF)
    body = _base64_lines(message.body.encode("utf-8"))
    if not message.attachments:
        return b"".join([*head, _CRLF, body])
    delimiter = f"--{boundary}".encode() + _CRLF
    out = [*head, _CRLF, delimiter]
    out += [
        b'Content-Type: text/plain; charset="utf-8"' + _CRLF,
        b"MIME-Version: 1.0" + _CRLF,
        b"Content-Transfer-Encoding: base64" + _CRLF,
        _CRLF,
        body,
    ]
    for path in message.attachments:
        out += [
            delimiter,
            f"Content-Type: {_content_type(path)}".encode() + _CRLF,
            b"MIME-Version: 1.0" + _CRLF,
            b"Content-Transfer-Encoding: base64" + _CRLF,
            _fold("Content-Disposition", f"attachment; {_filename_param(path.name)}"),
            _CRLF,
            _base64_lines(path.read_bytes()),
        ]
    out.append(f"--{boundary}--".encode() + _CRLF)
    return b"".join(out)


def _check_attachments(message: OutgoingMessage) -> str:
    missing = [p.name for p in message.attachments if not p.is_file()]
    return f"附件不存在：{'、'.join(missing)}" if missing else ""


# --------------------------------------------------------------------------------------------
# Outbox
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboxTarget:
    folder: Path | None
    to: str = ""
    sender: str = ""


@functools.lru_cache(maxsize=1024)
def parse_outbox(url: str) -> OutboxTarget:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    folder = unquote(parts.path) if parts.path not in ("", "/") else ""
    return OutboxTarget(
        folder=Path(folder) if folder else None,
        to=(query.get("to") or [""])[0],
        sender=(query.get("from") or [""])[0],
    )


def outbox_file_name(message: OutgoingMessage) -> str:
    local = message.sent_at.astimezone(SHANGHAI) if message.sent_at.tzinfo else message.sent_at
    return f"{local:%Y-%m-%d}_{message.event}_{safe_key(message.recipient_key)}_{message.record_id}.eml"


def write_outbox(
    folder: Path,
    message: OutgoingMessage,
    *,
    to: str = "",
    sender: str = "",
    campaign_sender: Sender | None = None,
) -> Path:
    """Write the message as an .eml file (atomically; same record -> same file). Its From and
    Reply-To are `campaign_sender`'s when given, else the URL's ``from=`` or the default."""
    folder.mkdir(parents=True, exist_ok=True)
    to_addr = to or message.recipient_email
    data = build_email(
        message,
        sender=campaign_sender.from_pair
        if campaign_sender
        else (SENDER_NAME, sender or SENDER_ADDR),
        to=[(message.recipient_name, to_addr)] if to_addr else [],
        reply_to=campaign_sender.reply_pairs if campaign_sender else (),
    )
    target = folder / outbox_file_name(message)
    # A fixed temporary name: one record is only ever written by the deliverer holding its claim.
    tmp = folder / f".tmp-{message.record_id}-{os.getpid()}.eml"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if message.replaces_earlier:
        # the same record written by an interrupted delivery on another day
        for earlier in folder.glob(
            f"*_{message.event}_{safe_key(message.recipient_key)}_{message.record_id}.eml"
        ):
            if earlier != target:
                earlier.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------------------------
# SMTP (batch transport)
# --------------------------------------------------------------------------------------------
def _decode_name(name: str | bool | None) -> str:
    if not name or not isinstance(name, str):
        return ""
    try:
        return str(make_header(decode_header(name)))
    except Exception:  # noqa: BLE001 - a name we cannot decode is shown as given
        return name


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    mode: str  # starttls / ssl / insecure
    user: str | None
    password: str | None = field(repr=False)
    timeout: float
    verify: bool


@dataclass(frozen=True)
class MailRoute:
    server: MailServer
    sender: tuple[str, str]
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    bcc: tuple[str, ...]
    reply_to: tuple[tuple[str, str], ...]


def parse_mail_url(url: str) -> MailRoute:
    """Let apprise parse a mailto/mailtos URL (its options and provider defaults apply)."""
    import apprise

    plugin: Any = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None or not hasattr(plugin, "smtp_host"):
        raise ChannelError("邮件渠道地址无效")
    names: dict[str, Any] = dict(getattr(plugin, "names", {}) or {})

    def pair(addr: str) -> tuple[str, str]:
        return (_decode_name(names.get(addr)), addr)

    from_name, from_addr = plugin.from_addr
    return MailRoute(
        server=MailServer(
            host=plugin.smtp_host,
            port=int(plugin.port),
            mode=str(plugin.secure_mode),
            user=plugin.user or None,
            password=plugin.password or None,
            timeout=float(getattr(plugin, "socket_connect_timeout", 15) or 15),
            verify=bool(getattr(plugin, "verify_certificate", True)),
        ),
        sender=(_decode_name(from_name), from_addr),
        to=tuple((_decode_name(n), a) for n, a in plugin.targets),
        cc=tuple(pair(a) for a in sorted(plugin.cc)),
        bcc=tuple(sorted(plugin.bcc)),
        reply_to=tuple(pair(a) for a in sorted(plugin.reply_to)),
    )


def split_mail_targets(url: str) -> tuple[str, list[str]]:
    """(the URL without its addressees, the addressees from its path and ``to=``)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    targets = [unquote(p) for p in re.split(r"[/,\s]+", parts.path) if p]
    for key, value in query:
        if key.lower() == "to":
            targets += [t for t in re.split(r"[,;\s]+", value) if t]
    rest = [(k, v) for k, v in query if k.lower() != "to"]
    base = urlunsplit((parts.scheme, parts.netloc, "", urlencode(rest, quote_via=quote), ""))
    return base, targets


def with_sender(url: str, sender: Sender) -> str:
    """A mailto/mailtos URL whose ``from`` and ``reply`` are `sender`'s (for the apprise
    transport, which writes the headers itself). No display name: apprise 2.0 refuses a Chinese
    one as long as the commission's (its encoded word is folded into an invalid address)."""
    parts = urlsplit(url)
    own = {"from", "name", "reply"}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in own]
    query.append(("from", sender.address))
    query.append(("reply", sender.reply_to or sender.address))
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(query, quote_via=quote), "")
    )


class SmtpPool:
    """One open SMTP connection per server for a whole delivery run."""

    def __init__(self) -> None:
        self._conns: dict[MailServer, smtplib.SMTP] = {}

    def _connect(self, server: MailServer) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if not server.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn: smtplib.SMTP
        if server.mode == "ssl":
            conn = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=context
            )
        else:
            conn = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
            if server.mode == "starttls":
                conn.starttls(context=context)
        if server.user and server.password:
            conn.login(server.user, server.password)
        return conn

    def send(self, server: MailServer, sender: str, to_addrs: list[str], data: bytes) -> None:
        conn = self._conns.get(server)
        reused = conn is not None
        if conn is None:
            conn = self._conns[server] = self._connect(server)
        try:
            refused = conn.sendmail(sender, to_addrs, data)
        except smtplib.SMTPServerDisconnected:
            self._drop(server)
            if not reused:
                raise
            # The server closed an idle connection before this message: reconnect once.
            conn = self._conns[server] = self._connect(server)
            refused = conn.sendmail(sender, to_addrs, data)
        except (OSError, smtplib.SMTPException):
            self._drop(server)
            raise
        if refused:
            raise ChannelError(
                "收件地址被拒收：" + "；".join(f"{a}（{c}）" for a, (c, _r) in refused.items())
            )

    def _drop(self, server: MailServer) -> None:
        conn = self._conns.pop(server, None)
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        for server, conn in list(self._conns.items()):
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._conns.pop(server, None)


# --------------------------------------------------------------------------------------------
# The dispatcher
# --------------------------------------------------------------------------------------------
class Dispatcher:
    """Sends messages through channel URLs for one delivery run (`with Dispatcher(...) as d`)."""

    def __init__(
        self,
        *,
        default_outbox: Path | None = None,
        mail_transport: MailTransport = "batch",
        resolver: SecretResolver | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.default_outbox = default_outbox
        self.mail_transport = mail_transport
        self.resolver = resolver or SecretResolver()
        self.sender = sender
        self._smtp = SmtpPool()
        self._routes: dict[str, MailRoute] = {}

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._smtp.close()

    def redact(self, text: str) -> str:
        return self.resolver.redact(text)

    def send(self, channel_url: str, message: OutgoingMessage) -> SendResult:
        missing = _check_attachments(message)
        if missing:
            return SendResult.failure(missing)
        try:
            url = self.resolver.resolve(channel_url)
            scheme = scheme_of(url)
            if scheme == "outbox":
                return self._send_outbox(url, message)
            if scheme in ("mailto", "mailtos") and self.mail_transport == "batch":
                return self._send_smtp(url, message)
            return self._send_apprise(url, message)
        except SecretError as exc:
            return SendResult.failure(self.redact(str(exc)))
        except ChannelError as exc:
            return SendResult.failure(self.redact(str(exc)))
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult.failure(self.redact(f"{type(exc).__name__}: {exc}"))

    # outbox ---------------------------------------------------------------------------------
    def _send_outbox(self, url: str, message: OutgoingMessage) -> SendResult:
        target = parse_outbox(url)
        folder = target.folder or self.default_outbox
        if folder is None:
            return SendResult.failure("未配置默认发件箱（outbox）目录，无法投递")
        path = write_outbox(
            folder, message, to=target.to, sender=target.sender, campaign_sender=self.sender
        )
        return SendResult(True, detail=str(path))

    # smtp -----------------------------------------------------------------------------------
    def _send_smtp(self, url: str, message: OutgoingMessage) -> SendResult:
        # Parse the server part once per run (apprise's parser is slow); addressees per message.
        base, addressees = split_mail_targets(url)
        route = self._routes.get(base)
        if route is None:
            route = self._routes[base] = parse_mail_url(base)
        explicit = [(message.recipient_name, a) for a in addressees]
        targets = explicit
        if not targets and message.recipient_email:
            targets = [(message.recipient_name, message.recipient_email)]
        targets = targets or list(route.to)  # apprise's default: the sender itself
        if not targets:
            return SendResult.failure("邮件渠道没有收件地址（to=）")
        for name, addr in targets:  # one message per addressee, as apprise does
            data = build_email(
                message,
                sender=self.sender.from_pair if self.sender else route.sender,
                to=[(name or message.recipient_name, addr)],
                cc=route.cc,
                reply_to=self.sender.reply_pairs if self.sender else route.reply_to,
            )
            rcpts = [addr, *(a for _n, a in route.cc), *route.bcc]
            self._smtp.send(route.server, route.sender[1], rcpts, data)
        return SendResult(True, detail=f"smtp:{route.server.host}:{route.server.port}")

    # apprise --------------------------------------------------------------------------------
    def _send_apprise(self, url: str, message: OutgoingMessage) -> SendResult:
        import apprise

        asset = apprise.AppriseAsset(app_id=APP_ID, app_desc="天津市质量攻关")
        ap = apprise.Apprise(asset=asset)
        if self.sender and scheme_of(url) in ("mailto", "mailtos"):
            url = with_sender(url, self.sender)
        if not ap.add(url):
            return SendResult.failure(self.redact(f"渠道地址无效或不受支持：{url}"))
        attach = (
            apprise.AppriseAttachment([str(p) for p in message.attachments])
            if message.attachments
            else None
        )
        result = ap.notify(
            body=message.body,
            title=message.subject,
            body_format=apprise.NotifyFormat.TEXT,
            attach=attach,
            log_level=logging.DEBUG,
        )
        if bool(result):
            return SendResult(True, detail=f"apprise:{scheme_of(url)}")
        lines = [
            str(entry.message)
            for entry in result.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL") or "Exception" in str(entry.message)
        ]
        error = "；".join(dict.fromkeys(lines)) or "发送失败（apprise 未返回原因）"
        return SendResult.failure(self.redact(f"{scheme_of(url)}: {error}"))
