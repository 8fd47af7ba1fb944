"""Prefect's temporary local API (used when no `PREFECT_API_URL` is set, e.g. `qcamp-demo`), with
short retry waits when its SQLite database is momentarily busy.

Why: Prefect's server on SQLite answers `503 Service Unavailable` when a write meets another
writer ("database is locked": its background task-run recorder writes while a subflow's parent
task run is created; PrefectHQ/prefect#18934). The client retries such requests, but without a
`Retry-After` header it waits `2 ** attempt` seconds: about 2 s for a lock held a few
milliseconds. In a simulated campaign year that happened about once in five subflow starts and
cost 20-40 s of a 200-project demo, and made its duration vary by a minute.

What: the same Prefect app behind a small ASGI wrapper that adds `Retry-After` to those 503
answers, starting at 50 ms and growing fourfold while the database stays busy (0.05, 0.2, 0.8,
3.2, then 8 s), which the client honours. The database work, its transactions and the client's
retry logic are Prefect's own and unchanged; only the wait before the retry is shorter. A
configured Prefect server (`PREFECT_API_URL`) is not affected.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deployments.orphans import (
    mark_orphans_crashed,
    remove_stale_folders,
    tagged_with_this_process,
    temporary_folder_prefix,
)
from flows.events import TEMPORARY_API_ENV, TEMPORARY_APIS, serving_temporary_api

FIRST_RETRY_SECONDS = 0.05
GROWTH = 4
LONGEST_RETRY_SECONDS = 8.0
# The client gives up after PREFECT_CLIENT_MAX_RETRIES retries (Prefect's default 5 spans about
# 12 s with the waits above); `qcamp` asks for 10, about 52 s, near the 62 s of Prefect's own
# waits of 2, 4, 8, 16 and 32 s.
CLIENT_MAX_RETRIES = 10

Scope = dict[str, Any]
Message = dict[str, Any]


class RetryAfterBusy:
    """ASGI middleware: a 503 answer gets `Retry-After`, growing while answers stay 503."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.busy_in_a_row = 0

    def retry_after(self) -> float:
        seconds = FIRST_RETRY_SECONDS * GROWTH**self.busy_in_a_row
        self.busy_in_a_row += 1
        return min(seconds, LONGEST_RETRY_SECONDS)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 503:
                    headers = list(message.get("headers", []))
                    if not any(name.lower() == b"retry-after" for name, _ in headers):
                        headers.append((b"retry-after", f"{self.retry_after():.3f}".encode()))
                    message = {**message, "headers": headers}
                else:
                    self.busy_in_a_row = 0
            await send(message)

        await self.app(scope, receive, send_with_retry_after)


class CancelledFlushAtStop(logging.Filter):
    """Drops the one error Prefect's task-run recorder logs for a write the server's stop cut
    short, when that write lost nothing.

    The recorder writes the task runs that arrived in the last second (see `_environment`).
    When the server stops during such a write, the write is cancelled, its events go back to
    the queue, the recorder logs "Error flushing N events (N to retry, 0 dropped)" with a
    traceback, and its final write at the stop stores them. A temporary API stops after every
    run, so that traceback would end a run that went well. Any other error of the recorder,
    e.g. "Dropping event ...", is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        message = record.getMessage()
        return not (
            isinstance(error, asyncio.CancelledError)
            and message.startswith("Error flushing")
            and message.endswith(", 0 dropped)")
        )


TASK_RUN_RECORDER_LOGGER = "prefect.server.services.task_run_recorder"


def create_app() -> RetryAfterBusy:
    """The uvicorn factory of the temporary API: Prefect's app, wrapped."""
    from prefect.server.api.server import create_app as prefect_app

    logging.getLogger(TASK_RUN_RECORDER_LOGGER).addFilter(CancelledFlushAtStop())
    return RetryAfterBusy(prefect_app())


# uvicorn's exit code when it cannot start (e.g. the port was taken in the meantime).
_STARTUP_FAILURE = 3


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> Any:
    """For `Popen(preexec_fn=…)`: on Linux the child gets SIGTERM when this process dies, however
    it dies (SIGKILL included), so a temporary API never outlives the run it serves."""

    def preexec() -> None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: atexit and stop() remain
            pass
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(0)

    return preexec


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryAPI:
    """Prefect's API (`create_app` above) in a subprocess on a free local port, over Prefect's own
    database in `PREFECT_HOME`, for runs where no server is configured: what Prefect's ephemeral
    mode does, with the busy-retry wrapper, and without importing Prefect's server modules into
    this process (about 3 s): the server starts while this process prepares its work.

    The process starts when the object is made; `serving()` waits until it answers and points
    this process's Prefect client at it (as `prefect_test_harness` does); `stop()` ends it."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = self._spawn()
        atexit.register(self.stop)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(__file__).resolve().parent.parent),
                "--factory",
                f"{__name__}:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=self._environment(),
            preexec_fn=_die_with_parent(os.getpid()) if sys.platform == "linux" else None,
        )

    @staticmethod
    def _environment() -> dict[str, str]:
        # As Prefect starts its ephemeral server: no UI; settings this process changed in code
        # travel with the environment (those from the environment and profile arrive anyway).
        from prefect.settings import get_current_settings

        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        # Nobody can look at a temporary API's event feed (it has no UI and lives for one run)
        # or have automations on it, so it neither stores events nor evaluates triggers: that
        # work competed with the requests runs wait for (2-4 s of server CPU in a demo). Flow
        # and task runs, logs and artifacts are stored as before. Set either variable to keep
        # the service.
        env.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", "false")
        env.setdefault("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "false")
        # Task runs reach the server as events, which its task-run recorder writes one event per
        # transaction by default: about 420 transactions in a demo year, 3 s of SQLite time,
        # each holding the write lock while a flow run's request waits. Here it writes what
        # arrived within a second (or every 100 events) in one transaction; the rest is
        # written when the server stops (`stop` waits for it). Nobody reads task runs from a
        # temporary API while it runs. (One second is the shortest interval: Prefect rounds it
        # down to whole seconds, and 0 would make the recorder spin.)
        env.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", "100")
        env.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL", "1")
        # Served only to this process on 127.0.0.1, without a browser UI: no CSRF tokens (the
        # client would otherwise ask for one with every new connection; see `serving`).
        env["PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED"] = "false"
        return env

    def wait_until_ready(self, timeout: float | None = None) -> None:
        import httpx
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        limit = timeout or PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
        deadline = time.monotonic() + limit
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                if self.process is None:
                    raise RuntimeError("Prefect 临时 API 已停止。")
                code = self.process.poll()
                if code == _STARTUP_FAILURE:  # the port was taken meanwhile: another one
                    self.port = _free_port()
                    self.process = self._spawn()
                elif code is not None:
                    raise RuntimeError(
                        f"Prefect 临时 API 进程已退出（退出码 {code}），无法运行流程。"
                    )
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"Prefect 临时 API 在 {limit:.0f} 秒内未能启动；"
            "可调大 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS 后重试。"
        )

    @contextmanager
    def serving(self) -> Iterator[TemporaryAPI]:
        """Runs inside this block go to this API; queued logs and events are sent before it
        ends."""
        from prefect.settings import (
            PREFECT_API_SSL_CERT_FILE,
            PREFECT_API_URL,
            PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
            temporary_settings,
        )

        self.wait_until_ready()
        TEMPORARY_APIS.add(self.api_url)
        os.environ[TEMPORARY_API_ENV] = self.api_url  # for child processes of this run
        remove_stale_folders()  # those of temporary APIs whose process was killed
        try:
            with tempfile.TemporaryDirectory(prefix=temporary_folder_prefix()) as folder:
                settings = {
                    PREFECT_API_URL: self.api_url,
                    PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False,
                    PREFECT_API_SSL_CERT_FILE: _one_certificate_bundle(Path(folder)),
                }
                with temporary_settings(updates=settings):
                    try:
                        yield self
                    finally:
                        _drain_workers()
        finally:
            TEMPORARY_APIS.discard(self.api_url)
            if os.environ.get(TEMPORARY_API_ENV) == self.api_url:
                del os.environ[TEMPORARY_API_ENV]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _one_certificate_bundle(folder: Path) -> str:
    """A CA bundle of one certificate, for Prefect clients of the temporary API.

    Prefect builds a TLS context from the whole CA bundle for every client it makes, even for a
    plain-HTTP API (about 30 ms; one client per subflow, 42 in a demo year, while the run waits).
    The temporary API is plain HTTP on 127.0.0.1, so the bundle is never used: one certificate
    loads in under a millisecond. Other connections (mail, WeCom, DingTalk) are not affected."""
    import certifi

    end = "-----END CERTIFICATE-----"
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)]
    path = folder / "ca.pem"
    path.write_text(first + "\n", encoding="ascii")
    return str(path)


def _drain_workers() -> None:
    """Send the logs and events Prefect still holds in its background workers."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=30)  # only the instances that started; none is fine


def start_temporary_api() -> TemporaryAPI | None:
    """Start a temporary API where no Prefect server is configured (`PREFECT_API_URL`, in the
    environment or the Prefect profile); None where one is."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    return TemporaryAPI()


@contextmanager
def prefect_api() -> Iterator[TemporaryAPI | None]:
    """The configured Prefect server, or a temporary API started and stopped around the block
    (which dies with this process, however it ends)."""
    api = start_temporary_api()
    if api is None:
        with local_runs():
            yield None
        return
    try:
        with api.serving(), local_runs():
            yield api
    finally:
        api.stop()


@contextmanager
def local_runs() -> Iterator[None]:
    """On a temporary API (this process's or its parent's): runs a killed process left RUNNING
    are marked Crashed first, and the runs started inside carry this process's tags."""
    from prefect.settings import PREFECT_API_URL

    if not serving_temporary_api(PREFECT_API_URL.value()):
        yield
        return
    mark_orphans_crashed()
    with tagged_with_this_process():
        yield
