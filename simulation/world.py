"""What the simulated participants share: the campaign as published (its calendar and rules, read
from `qcamp status --json`), the simulated clock, the campaign folder, the doors they act through
(the `qcamp` command line, run in this process) and the messages they receive (the outbox's .eml
files). Nothing here reads the database."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.utils
import functools
import io
import json
import mailbox
import os
import shlex
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from domain.calendar import SHANGHAI, CampaignCalendar, CampaignConfig, CampaignRules


class SimulationError(RuntimeError):
    """A door refused what a simulated participant did (the demo's script is wrong)."""


class Qcamp:
    """The staff's door: `qcamp …` run in this process (its command line parsed as typed), what
    it prints returned; a refusal (exit code not 0) raises `SimulationError` with its message."""

    def __init__(self) -> None:
        import typer.main

        from deployments.cli import app

        self.command = typer.main.get_command(app)  # built once: typer rebuilds it per run

    def __call__(self, *args: object) -> str:
        argv = [str(a) for a in args]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = self.command.main(argv, prog_name="qcamp", standalone_mode=False)
            except Exception as exc:  # a usage error: the message the command line would print
                show = getattr(exc, "show", None)
                if not callable(show):
                    raise
                show()
                code = getattr(exc, "exit_code", 2)
        if code:
            raise SimulationError(
                f"qcamp {shlex.join(argv)} 退出码 {code}：{out.getvalue()}{err.getvalue()}"
            )
        return out.getvalue()


class Message:
    """One received message: its event and date (read from the headers at once), and its
    recipient address, subject, text and attachments (read from the file when first asked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as f:  # the headers only, without the (slow) header objects
            headers = BytesHeaderParser(policy=policy.compat32).parse(f)
        self.event = str(headers["X-Qcamp-Event"] or "")
        self.date = email.utils.parsedate_to_datetime(str(headers["Date"])).astimezone(SHANGHAI)

    @functools.cached_property
    def _mail(self) -> EmailMessage:
        with self.path.open("rb") as f:
            msg = email.message_from_binary_file(f, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def to(self) -> str:
        to = self._mail["To"]
        return to.addresses[0].addr_spec if to and to.addresses else ""

    @property
    def subject(self) -> str:
        return str(self._mail["Subject"] or "")

    @functools.cached_property
    def text(self) -> str:
        body = self._mail.get_body(("plain",))
        return body.get_content() if body is not None else ""

    @functools.cached_property
    def attachments(self) -> dict[str, bytes]:
        return {
            part.get_filename() or "": part.get_payload(decode=True) or b""
            for part in self._mail.iter_attachments()
        }


class Mailbox:
    """The messages in the outbox folder, read once each with the standard `email` package, in
    the order they were sent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.messages: list[Message] = []
        self._seen: set[str] = set()

    def read(self) -> list[Message]:
        """Every message so far (new ones are read from their files)."""
        if not self.folder.exists():
            return self.messages
        new = []
        for path in self.folder.glob("*.eml"):
            if path.name not in self._seen:
                self._seen.add(path.name)
                new.append(_message(path))
        new.sort(key=lambda m: (m.date, _record_number(m.path)))
        self.messages += new
        return self.messages

    def of(self, event: str) -> list[Message]:
        return [m for m in self.read() if m.event == event]


def _record_number(path: Path) -> int:
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _message(path: Path) -> Message:
    return Message(path)


MAIL_POLL_MINUTES = 10  # the served `poll-mailbox` runs every 10 minutes


def next_poll(moment: dt.datetime) -> dt.datetime:
    """The first 10-minute mark of the mailbox's schedule after `moment`."""
    local = moment.astimezone(SHANGHAI)
    start = local.replace(minute=local.minute - local.minute % MAIL_POLL_MINUTES, second=0,
                          microsecond=0)  # fmt: skip
    return start + dt.timedelta(minutes=MAIL_POLL_MINUTES)


@dataclass
class World:
    """The campaign as every participant sees it at the simulated moment `now`."""

    year: int
    config: CampaignConfig
    out_dir: Path
    qcamp: Qcamp
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(SHANGHAI))
    direct: bool = (
        False  # staff run the stages with `--direct` (no Prefect): the benchmark's baseline
    )
    mailbox: Mailbox = field(init=False)

    def __post_init__(self) -> None:
        self.mailbox = Mailbox(self.out_dir / "outbox")

    @classmethod
    def open(cls, year: int, out_dir: Path, *, direct: bool = False) -> World:
        """The campaign as `qcamp status` tells it (this also opens it in the system)."""
        qcamp = Qcamp()
        status = json.loads(qcamp("status", "--year", year, "--json"))
        config = CampaignConfig.model_validate(status["config"])
        return cls(year=year, config=config, out_dir=out_dir, qcamp=qcamp, direct=direct)

    @property
    def calendar(self) -> CampaignCalendar:
        return self.config.calendar

    @property
    def rules(self) -> CampaignRules:
        return self.config.rules

    @property
    def inbox(self) -> Path:
        """The commission's inbound folder (units' batches, returned sheets and reports)."""
        return self.out_dir / "inbox"

    @property
    def mailbox_dir(self) -> Path:
        """The commission's mailbox (a Maildir standing in for its IMAP server)."""
        return self.out_dir / "mailbox"

    def send_mail(
        self, sender: str, arrives: dt.datetime, subject: str, files: dict[str, bytes], msgid: str
    ) -> None:
        """A participant's mail with attachments, landing in the commission's mailbox at
        `arrives` (the Maildir file's mtime is the server's arrival time)."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = self.config.email or "zlfzc@example.cn"
        msg["Subject"] = subject
        msg["Date"] = email.utils.format_datetime(arrives.astimezone(SHANGHAI))
        msg["Message-ID"] = f"<{msgid}@participants.example.cn>"
        msg.set_content("您好：\n所报材料见附件，请查收。")
        for name, data in files.items():
            msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        key = mailbox.Maildir(self.mailbox_dir, create=True).add(msg.as_bytes())
        stamp = arrives.timestamp()
        os.utime(self.mailbox_dir / "new" / key, (stamp, stamp))

    def poll_after(self, arrivals: list[dt.datetime]) -> None:
        """The mailbox polled at the served schedule's next 10-minute mark after each arrival
        (not later than the simulated clock), as the `poll-mailbox` deployment does."""
        for poll_at in sorted({next_poll(when) for when in arrivals}):
            self.poll_mailbox(min(poll_at, self.now))

    def poll_mailbox(self, at: dt.datetime) -> str:
        """`qcamp inbox poll` at `at` (the served schedule's 10-minute mark), as staff would."""
        return self.qcamp(
            "inbox", "poll", "--year", self.year, "--as-of", at.isoformat(),
            "--mailbox", f"maildir://{self.mailbox_dir}", *(["--direct"] if self.direct else []),
        )  # fmt: skip

    def folder(self, label: str) -> Path:
        """A stage's folder of published documents, by the stage's Chinese name."""
        found = sorted(self.out_dir.glob(f"[0-9][0-9]_{label}"))
        return found[0] if found else self.out_dir / f"_{label}_not_yet"

    def is_due(self, moment: dt.datetime | dt.date) -> bool:
        if isinstance(moment, dt.datetime):
            return self.now >= moment
        return self.local_date() >= moment

    def local_date(self) -> dt.date:
        return self.now.astimezone(SHANGHAI).date()

    def at(self) -> str:
        """The clock as the `--as-of` option takes it."""
        return self.now.isoformat()

    def run(self, *args: object) -> str:
        """`qcamp ARGS --year Y` (the year added)."""
        return self.qcamp(*args, "--year", self.year)

    def run_now(self, *args: object) -> str:
        """`qcamp ARGS --year Y --as-of <now>`."""
        return self.qcamp(*args, "--year", self.year, "--as-of", self.at())

    def run_stage(self, stage: str) -> str:
        """`qcamp run STAGE --year Y --as-of <now>` (with `--direct` in a direct world)."""
        return self.run_now("run", stage, *(["--direct"] if self.direct else []))
