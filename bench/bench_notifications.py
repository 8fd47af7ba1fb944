"""Benchmark: N reminder mails through `deliver_due` to a local aiosmtpd server, or N messages
into the local outbox (.eml files) as in the demo.

    uv run python bench/bench_notifications.py [--n 2000] [--transport batch|apprise|both]
    uv run python bench/bench_notifications.py --outbox [--n 8000]

Each run gets a fresh SQLite database (or QCAMP_BENCH_DATABASE_URL, emptied first) with N
queued `application_reminder` records, one recipient each, and one `deliver_due` call; the SMTP
server runs in its own process. Targets: 2,000 mails within 60 s; for the outbox (five in six
messages with an attachment, as in the demo), queueing 8,000 messages within 4 s of CPU and
delivering them within 8 s of CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import apprise
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notifications.recipients import Recipient  # noqa: E402
from notifications.service import deliver_due, queue_message, queue_message_record  # noqa: E402
from storage import orm  # noqa: E402
from storage.db import engine_for, normalise_url  # noqa: E402

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2025, 4, 14, 9, 30, tzinfo=SH)  # Monday, a working day


# The SMTP server runs in its own process (as a real one would), counting what it accepts.
SERVER = """
import sys
from aiosmtpd.controller import Controller

class Counting:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Counting.count += 1
        return "250 OK"

c = Controller(Counting(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
for line in sys.stdin:
    print(Counting.count, flush=True)
c.stop()
"""


class SmtpServerProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def count(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def context() -> dict[str, Any]:
    return {
        "campaign_title": "2025年天津市质量攻关",
        "phone": "27182036 58950677",
        "email": "scjgzlfzc@tj.gov.cn",
        "contact": "郭丽坤 陈莹",
        "application_deadline": dt.datetime(2025, 4, 20, 23, 59, 59, tzinfo=SH),
        "days": 7,
        "as_of": NOW,
    }


def prepare(url: str, n: int, port: int) -> sessionmaker[Session]:
    engine = engine_for(url)
    orm.Base.metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as s:
        s.execute(delete(orm.NotificationRecord))
        s.execute(delete(orm.Campaign).where(orm.Campaign.year == 2098))
        campaign = orm.Campaign(year=2098, title="基准测试", config={})
        s.add(campaign)
        s.flush()
        ctx = context()
        for i in range(n):
            recipient = Recipient(
                key=f"ru:BENCH{i:05d}",
                name=f"基准推荐单位{i}",
                kind="recommending_unit",
                channels=[
                    f"mailto://127.0.0.1:{port}?to=unit{i}@example.cn"
                    "&from=zlfzc@example.cn&name=质量发展处&mode=insecure"
                ],
            )
            queue_message_record(
                s,
                campaign_id=campaign.id,
                event="application_reminder",
                rule="rule:application_reminder:T-7",
                recipient=recipient,
                period="T-7",
                context=ctx,
                now=NOW,
            )
        s.commit()
    return factory


def run(transport: str, n: int, workdir: Path) -> float:
    server = SmtpServerProcess()
    port = server.port
    try:
        url = (
            os.environ.get("QCAMP_BENCH_DATABASE_URL")
            or f"sqlite:///{workdir / f'{transport}.sqlite'}"
        )
        url = normalise_url(url)
        t0 = time.perf_counter()
        factory = prepare(url, n, port)
        queued = time.perf_counter() - t0
        # apprise loads its ~160 plugin modules on first use: once per worker process, not per
        # run (slow here because PYTHONDONTWRITEBYTECODE=1 forces recompiling them)
        t_load = time.perf_counter()
        apprise.Apprise.instantiate("json://localhost")
        load = time.perf_counter() - t_load
        t1, c1 = time.perf_counter(), time.process_time()
        report = deliver_due(
            factory,
            now=NOW,
            default_outbox=None,
            mail_transport=transport,  # type: ignore[arg-type]
        )
        wall, cpu = time.perf_counter() - t1, time.process_time() - c1
        received = server.count()
    finally:
        server.stop()
    ok = report.sent == n == received and not report.failures
    print(
        f"{transport:8s} queued {n} in {queued:6.2f} s | delivered {report.sent} "
        f"(server got {received}, failures {len(report.failures)}) in {wall:6.2f} s "
        f"= {report.sent / wall:7.1f} mails/s  {'OK' if ok and wall <= 60 else 'NOT OK'}"
        f"\n         deliverer CPU {cpu:.2f} s ({1000 * cpu / max(report.sent, 1):.1f} ms/mail); "
        f"apprise plugin load {load:.2f} s, not counted; load average {os.getloadavg()[0]:.1f}"
    )
    return wall


def prepare_outbox(url: str, n: int, files: list[Path]) -> tuple[sessionmaker[Session], float]:
    """N queued messages for recipients without channels (the outbox); returns the CPU seconds
    spent in `queue` (the commit included)."""
    engine = engine_for(url)
    orm.Base.metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as s:
        s.execute(delete(orm.NotificationRecord))
        s.execute(delete(orm.Campaign).where(orm.Campaign.year == 2098))
        campaign = orm.Campaign(year=2098, title="基准测试", config={})
        s.add(campaign)
        s.commit()
        ctx = context()
        c0 = time.process_time()
        for i in range(n):
            recipient = Recipient(
                key=f"person:BENCH{i:05d}",
                name=f"基准项目人员{i}",
                kind="project_person",
                email=f"p{i}@example.cn" if i % 2 else "",
            )
            if i % 1000 == 999:
                attachments = files[:40]
            elif i % 6:
                attachments = [files[i % len(files)]]
            else:
                attachments = []
            queue_message(  # what the stages call, through tasks.notify.send
                s,
                campaign_id=campaign.id,
                event="application_reminder",
                rule="rule:application_reminder:T-7",
                recipient=recipient,
                period="T-7",
                context=ctx,
                attachments=attachments,
                now=NOW,
            )
        s.commit()
        cpu = time.process_time() - c0
    return factory, cpu


def run_outbox(n: int, workdir: Path) -> None:
    """The demo's case: N messages written to the local outbox as .eml files."""
    url = normalise_url(
        os.environ.get("QCAMP_BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'outbox.sqlite'}"
    )
    rng = random.Random(2025)
    folder = workdir / "attachments"
    folder.mkdir()
    files = []
    for i in range(200):  # certificates, forms, calendars: 1-40 KB, Chinese names
        path = folder / f"质量攻关成果证书-{i:03d}（{'一二三'[i % 3]}等奖）.docx"
        path.write_bytes(rng.randbytes(rng.randint(1_000, 40_000)))
        files.append(path)
    factory, queue_cpu = prepare_outbox(url, n, files)
    outbox = workdir / "outbox"
    t1, c1 = time.perf_counter(), time.process_time()
    report = deliver_due(factory, now=NOW, default_outbox=outbox)
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    written = sum(1 for _ in outbox.glob("*.eml"))
    size = sum(p.stat().st_size for p in outbox.glob("*.eml")) / 1e6
    ok = report.sent == n == written and not report.failures
    print(
        f"outbox   queued {n} in {queue_cpu:6.2f} s CPU ({'OK' if queue_cpu <= 4 else 'NOT OK'})"
        f" | delivered {report.sent} ({written} files, {size:.0f} MB) in {cpu:6.2f} s CPU"
        f" ({1000 * cpu / max(report.sent, 1):.2f} ms/message), {wall:6.2f} s wall"
        f"  {'OK' if ok and cpu <= 8 else 'NOT OK'}; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--transport", choices=["batch", "apprise", "both"], default="both")
    parser.add_argument("--outbox", action="store_true", help="deliver to the local outbox")
    args = parser.parse_args()
    if args.outbox:
        with tempfile.TemporaryDirectory(prefix="qcamp-bench-") as tmp:
            run_outbox(args.n, Path(tmp))
        return
    transports = ["batch", "apprise"] if args.transport == "both" else [args.transport]
    with tempfile.TemporaryDirectory(prefix="qcamp-bench-") as tmp:
        for transport in transports:
            run(transport, args.n, Path(tmp))


if __name__ == "__main__":
    main()
