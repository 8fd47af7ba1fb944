"""Prefect's temporary local API (used when no `PREFECT_API_URL` is set, e.g. `qcamp demo`), with
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

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from prefect.server.api.server import SubprocessASGIServer

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


def create_app() -> RetryAfterBusy:
    """The uvicorn factory of the temporary API: Prefect's app, wrapped."""
    from prefect.server.api.server import create_app as prefect_app

    return RetryAfterBusy(prefect_app())


class TemporaryAPI(SubprocessASGIServer):
    """Prefect's `SubprocessASGIServer`, started with `create_app` above as its app."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        from prefect.settings import get_current_settings

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
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
        )


def use_temporary_api() -> TemporaryAPI | None:
    """Where no Prefect server is configured, make the temporary API the one Prefect starts
    (lazily, on first use, as before); returns it, or None with a configured server."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    existing = SubprocessASGIServer._instances.get(None)
    if isinstance(existing, TemporaryAPI):
        return existing
    if existing is not None and existing.running:
        return None  # Prefect's own already runs in this process; keep it
    SubprocessASGIServer._instances.pop(None, None)
    return TemporaryAPI()
