"""One run at a time of a campaign's stage (or of its whole day): a lock held by the running
process, that the database or the operating system frees when the process ends, however it ends.

PostgreSQL: a session-level advisory lock on a connection kept for the run. SQLite: an exclusive
`flock` on a file beside the database file. Neither needs a table."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from storage.db import engine_for, normalise_url
from storage.settings import get_settings

BUSY_MESSAGE = "另一个运行正在处理{what}，请稍后再试"


_HELD: dict[str, int] = {}  # the names this process holds, and how deep
_HELD_GUARD = threading.Lock()


class RunInProgress(RuntimeError):
    """Another process is running the same work (the message is Chinese)."""


def _key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def _postgres_lock(url: str, name: str, what: str) -> Iterator[None]:
    with engine_for(url).connect() as conn:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(name)}).scalar()
        conn.commit()
        if not taken:
            raise RunInProgress(BUSY_MESSAGE.format(what=what))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
            conn.commit()


@contextlib.contextmanager
def _file_lock(path: Path, what: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(BUSY_MESSAGE.format(what=what)) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def run_lock(name: str, what: str) -> Iterator[None]:
    """Hold `name` for the block; `RunInProgress` ("另一个运行正在处理{what}，请稍后再试") when
    another process holds it. Re-entrant within this process: `qcamp run` takes the lock before
    it starts Prefect, and the flow it then runs in this process takes it again."""
    with _HELD_GUARD:
        nested = name in _HELD
        if nested:
            _HELD[name] += 1
    if nested:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[name] -= 1
        return
    with _os_lock(name, what):
        with _HELD_GUARD:
            _HELD[name] = 1
        try:
            yield
        finally:
            with _HELD_GUARD:
                del _HELD[name]


@contextlib.contextmanager
def _os_lock(name: str, what: str) -> Iterator[None]:
    url = normalise_url(get_settings().database_url)
    if url.startswith("postgresql"):
        with _postgres_lock(url, name, what):
            yield
        return
    database = url.split(":///", 1)[1] if ":///" in url else ""
    if not database or database == ":memory:":
        yield  # a database of this process alone
        return
    with _file_lock(Path(f"{database}.{name}.lock"), what):
        yield
