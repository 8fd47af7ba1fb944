"""A real IMAP server for the mailbox tests: Dovecot (Debian's dovecot-imapd, installed by
`scripts/test.sh`), started by the fixture as a normal unprivileged process on a free port with
a temporary configuration (passwd-file login, maildir in a temporary folder, no TLS). Under
CI=true a missing Dovecot fails the tests instead of skipping them."""

from __future__ import annotations

import datetime as dt
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "zlfzc", "test-password"


@dataclass
class ImapServer:
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"imap://{USER}:{{env:QCAMP_TEST_IMAP_PASSWORD}}@127.0.0.1:{self.port}/INBOX"

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        conn.login(USER, PASSWORD)
        conn.select("INBOX")
        return conn

    def deliver(
        self,
        sender: str,
        arrived: dt.datetime,
        files: dict[str, bytes],
        subject: str = "报送材料",
    ) -> str:
        """Put a mail in with IMAP APPEND, its INTERNALDATE the arrival time; its Message-ID."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = "zlfzc@scjg.tj.gov.cn"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(arrived)
        msg["Message-ID"] = make_msgid(domain="example.cn")
        msg.set_content("请查收附件。")
        for name, data in files.items():
            msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        conn = self.connect()
        try:
            status, _ = conn.append(
                "INBOX", None, imaplib.Time2Internaldate(arrived), msg.as_bytes()
            )
            assert status == "OK"
        finally:
            conn.logout()
        return str(msg["Message-ID"])

    def flags(self) -> list[bytes]:
        conn = self.connect()
        try:
            _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            conn.logout()

    def count(self) -> int:
        conn = self.connect()
        try:
            _, data = conn.uid("SEARCH", None, "ALL")
            return len((data[0] or b"").split())
        finally:
            conn.logout()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path, user: str, group: str, port: int) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
"""


@pytest.fixture
def imap_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapServer]:
    if not os.access(DOVECOT, os.X_OK):
        message = f"找不到 {DOVECOT}：请安装 dovecot-imapd（scripts/test.sh 会自动安装）"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Dovecot runs as a normal process: as this user, or as `nobody` when the tests run as root.
    account = pwd.getpwuid(os.getuid()) if os.getuid() else pwd.getpwnam("nobody")
    group = grp.getgrgid(account.pw_gid).gr_name
    root = Path(tempfile.mkdtemp(prefix="qcamp-dovecot-"))
    port = _free_port()
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    (root / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{account.pw_uid}:{account.pw_gid}::{root}/home\n"
    )
    (root / "dovecot.conf").write_text(_config(root, account.pw_name, group, port))
    for path in [root, *root.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
    os.chmod(root, 0o755)
    proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        user=account.pw_uid if os.getuid() == 0 else None,
        group=account.pw_gid if os.getuid() == 0 else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = ImapServer(port, root)
    try:
        for _ in range(100):
            try:
                server.connect().logout()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            pytest.fail("Dovecot 未能启动")
        if proc.poll() is not None:
            log = (
                (root / "dovecot.log").read_text(errors="replace")
                if (root / "dovecot.log").exists()
                else ""
            )
            pytest.fail(f"Dovecot 启动失败：{log[-2000:]}")
        monkeypatch.setenv("QCAMP_TEST_IMAP_PASSWORD", PASSWORD)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
