"""The chaos demo (`qcamp demo --chaos N --seed S`, 故障演练): the demo's campaign with N faults
injected at step boundaries (`faults`: an exception after a commit, during a document write,
during delivery, and a SIGKILL of the process running the day), each failed day run again as an
administrator would (the same `qcamp run campaign --as-of …` command), and at the end the
campaign folder, the messages and the rows compared with a clean run of the same seed.

A day with a fault runs `qcamp run campaign` in a child process (so that it can be killed) with
`QCAMP_FAULTS` naming the fault; the child appends each fault that fired to a log file. A fault
that did not fire that day (the day had fewer commits, documents or messages) is tried again on
the next day, so every planned fault fires unless the campaign ends first."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import faults
from simulation.world import World

# How far into a day each kind's fault is placed (the n-th commit, document, message).
REACH = {"commit": 12, "document": 4, "delivery": 8, "kill": 6}
KIND_LABELS = {
    "commit": "提交后异常",
    "document": "写文档时异常",
    "delivery": "投递时异常",
    "kill": "运行进程被强制终止（SIGKILL）",
}


@dataclass
class Fault:
    kind: str
    n: int
    day: int  # the index of the run day it is planned for
    fired_on: str = ""  # the day (YYYY-MM-DD) it fired, "" while not yet
    where: str = ""  # the qcamp function it interrupted

    @property
    def spec(self) -> str:
        return f"{self.kind}@{self.n}"


@dataclass
class ChaosLog:
    faults: list[Fault]
    log_file: Path
    reruns: int = 0
    lines: list[str] = field(default_factory=list)

    def pending(self, day: int) -> list[Fault]:
        return [f for f in self.faults if not f.fired_on and f.day <= day]

    @property
    def fired(self) -> list[Fault]:
        return [f for f in self.faults if f.fired_on]


def plan_faults(count: int, days: int, seed: int) -> list[Fault]:
    """`count` faults over `days` run days, every kind in turn (so that with 4 or more, each
    kind is planned), on days and at depths drawn from `seed`."""
    rng = random.Random(f"{seed}-chaos")
    kinds = [faults.KINDS[i % len(faults.KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    planned = [Fault(kind, rng.randint(1, REACH[kind]), rng.randrange(days)) for kind in kinds]
    return sorted(planned, key=lambda f: f.day)


def _child_env(log_file: Path, spec: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env[faults.ENV] = spec
    env[faults.LOG_ENV] = str(log_file)
    url = PREFECT_API_URL.value()
    if url:  # the demo's temporary API (or the configured server): the child's runs go there
        env["PREFECT_API_URL"] = url
    return env


def _fired_since(log_file: Path, offset: int) -> tuple[list[dict[str, object]], int]:
    if not log_file.exists():
        return [], offset
    data = log_file.read_bytes()
    entries = [json.loads(line) for line in data[offset:].decode().splitlines() if line]
    return entries, len(data)


def _attempt_in_child(world: World, chaos: ChaosLog, fault: Fault) -> int:
    """The day's `qcamp run campaign` in a child process armed with `fault`: its exit code."""
    command = [sys.executable, "-m", "deployments.cli", "run", "campaign"]
    command += ["--year", str(world.year), "--as-of", world.at()]
    command += ["--direct"] if world.direct else []
    done = subprocess.run(
        command,
        env=_child_env(chaos.log_file, fault.spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1, -signal.SIGKILL):
        raise RuntimeError(
            f"故障演练：{world.local_date()} 的运行意外失败（退出码 {done.returncode}）："
            f"{done.stderr[-2000:]}"
        )
    return done.returncode


def _attempt_in_process(world: World, chaos: ChaosLog, fault: Fault) -> int:
    """The day's run in this process with `fault` armed: 1 if it broke off, else 0."""
    os.environ[faults.LOG_ENV] = str(chaos.log_file)
    faults.arm(fault.spec)
    try:
        world.run_stage("campaign")
    except faults.FaultInjected:
        return 1
    finally:
        faults.arm(None)
    return 0


def run_day_with_faults(world: World, day: int, chaos: ChaosLog, echo: object) -> None:
    """Each fault planned for this day (or left over) in turn; after each one that fired, the
    next attempt is the administrator's rerun. A kill runs the day in a child process (this
    one must live on); the exceptions are armed in this process. The clean rerun that follows
    is the caller's."""
    say = echo if callable(echo) else print
    offset = chaos.log_file.stat().st_size if chaos.log_file.exists() else 0
    for fault in chaos.pending(day):
        attempt = _attempt_in_child if fault.kind == "kill" else _attempt_in_process
        code = attempt(world, chaos, fault)
        entries, offset = _fired_since(chaos.log_file, offset)
        if not entries:
            if code != 0:  # failed without our fault: the demo cannot go on
                raise RuntimeError(
                    f"故障演练：{world.local_date()} 的运行意外失败（退出码 {code}）"
                )
            continue  # not reached today: tried again on the next day
        fault.fired_on = f"{world.local_date():%Y-%m-%d}"
        fault.where = str(entries[-1].get("where", ""))
        line = (
            f"    故障 {fault.spec}（{KIND_LABELS[fault.kind]}）于 {fault.where or '未知位置'}；"
            f"{'进程已被终止' if code < 0 else '运行中断'}，重新运行本日"
        )
        chaos.lines.append(line)
        chaos.reruns += 1
        say(line)
