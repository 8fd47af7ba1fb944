"""Fault injection at step boundaries (故障注入), for the chaos demo and its tests only.

Off unless the environment variable `QCAMP_FAULTS` is set when this module is first imported;
then `hit(point)` costs one comparison. The value names faults as ``kind@n`` (comma-separated):
the fault fires at the n-th time this process reaches the kind's point, once.

- ``commit@n``: an exception right after the n-th unit-of-work commit (the step's rows exist,
  what it does next does not);
- ``document@n``: an exception while the n-th document is written (after the file's bytes are
  written to a temporary name, before it replaces the document);
- ``delivery@n``: an exception right after the n-th message was handed to its channel, before
  the delivery is confirmed;
- ``kill@n``: SIGKILL of this process right after the n-th commit (no cleanup of any kind).

Each fault that fires appends one JSON line to the file named by `QCAMP_FAULTS_LOG` (if set):
its kind, n and the qcamp function it interrupted, so a caller can tell which faults fired.

This module imports nothing of qcamp (storage, documents and notifications all call it)."""

from __future__ import annotations

import json
import os
import signal
import sys

ENV = "QCAMP_FAULTS"
LOG_ENV = "QCAMP_FAULTS_LOG"
KINDS = ("commit", "document", "delivery", "kill")
# The point each kind fires at (a kill happens at a commit, like the process dying right after).
POINTS = {"commit": "commit", "kill": "commit", "document": "document", "delivery": "delivery"}
OUR_PACKAGES = ("services.", "notifications.", "documents.", "flows.", "tasks.")


class FaultInjected(BaseException):
    """The exception an injected fault raises (never raised unless `QCAMP_FAULTS` is set).

    A BaseException, like KeyboardInterrupt: it stands for the run breaking off at that point,
    so no `except Exception` of qcamp (e.g. the one that sets a participant's bad batch aside)
    takes it for a problem of the input; `finally` blocks and rollbacks still run."""


def parse(spec: str) -> list[tuple[str, int]]:
    """``"commit@3,kill@7"`` -> [("commit", 3), ("kill", 7)]; a wrong entry raises ValueError."""
    faults = []
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        kind, _, n = entry.partition("@")
        if kind not in KINDS or not n.isdigit() or int(n) < 1:
            raise ValueError(
                f"{ENV} 的取值“{entry}”无效：应为 种类@次数，种类为 {'、'.join(KINDS)}，次数为正整数。"
            )
        faults.append((kind, int(n)))
    return faults


_ARMED: dict[str, list[tuple[str, int]]] = {}
_COUNTS: dict[str, int] = {}


def arm(spec: str | None) -> None:
    """Arm the faults of `spec` (None or "" disarms); counts start again from zero."""
    _ARMED.clear()
    _COUNTS.clear()
    for kind, n in parse(spec or ""):
        _ARMED.setdefault(POINTS[kind], []).append((kind, n))


arm(os.environ.get(ENV))


def hit(point: str) -> None:
    """Reached `point` (``commit``, ``document`` or ``delivery``): fire the fault armed for this
    occurrence, if any. Without `QCAMP_FAULTS` this returns at once."""
    if not _ARMED:
        return
    armed = _ARMED.get(point)
    if not armed:
        return
    count = _COUNTS[point] = _COUNTS.get(point, 0) + 1
    for kind, n in armed:
        if n == count:
            _fire(kind, n)


def _where() -> str:
    """The qcamp function the fault interrupts: the innermost service (the step), else the
    innermost function of another qcamp package."""
    frame = sys._getframe(2)
    found = ""
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(OUR_PACKAGES):
            name = f"{module}.{frame.f_code.co_name}"
            if module.startswith("services."):
                return name
            found = found or name
        frame = frame.f_back
    return found


def _fire(kind: str, n: int) -> None:
    where = _where()
    log = os.environ.get(LOG_ENV)
    if log:
        line = json.dumps({"kind": kind, "n": n, "where": where, "pid": os.getpid()})
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise FaultInjected(f"注入的故障：{kind}@{n}（{where or '未知位置'}）")
