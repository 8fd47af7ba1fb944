"""The temporary local Prefect API: busy answers tell the client to retry soon, not in seconds."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from prefect.client.base import PrefectHttpxAsyncClient

from deployments.ephemeral_api import (
    LONGEST_RETRY_SECONDS,
    TASK_RUN_RECORDER_LOGGER,
    CancelledFlushAtStop,
    RetryAfterBusy,
)

ROOT = Path(__file__).resolve().parents[2]


class BusyThenFine:
    """An ASGI app answering 503 (as Prefect does for "database is locked") `busy` times."""

    def __init__(self, busy: int, retry_after: str | None = None) -> None:
        self.busy = busy
        self.retry_after = retry_after
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.calls += 1
        status = 503 if self.calls <= self.busy else 200
        headers = [(b"content-type", b"application/json")]
        if status == 503 and self.retry_after:
            headers.append((b"retry-after", self.retry_after.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


async def _get(app: Any, waits: list[float], monkeypatch: pytest.MonkeyPatch) -> httpx.Response:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(anyio, "sleep", record)
    transport = httpx.ASGITransport(app=app)
    async with PrefectHttpxAsyncClient(transport=transport, base_url="http://api") as client:
        return await client.get("/api/task_runs/")


def test_prefect_client_retries_a_busy_answer_after_milliseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    inner = BusyThenFine(busy=3)
    response = asyncio.run(_get(RetryAfterBusy(inner), waits, monkeypatch))
    assert response.status_code == 200
    assert inner.calls == 4
    # Prefect's own waits would be about 2, 4 and 8 s; these grow from 50 ms.
    assert len(waits) == 3
    assert 0.05 <= waits[0] < 0.1
    assert 0.2 <= waits[1] < 0.3
    assert 0.8 <= waits[2] < 1.0


def test_without_the_wrapper_the_client_waits_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The behaviour the wrapper exists for (so the test above can tell the difference)."""
    waits: list[float] = []
    response = asyncio.run(_get(BusyThenFine(busy=1), waits, monkeypatch))
    assert response.status_code == 200
    assert len(waits) == 1 and waits[0] >= 1.5


def test_waits_stop_growing_and_start_again_after_an_answer() -> None:
    wrapper = RetryAfterBusy(BusyThenFine(busy=0))
    seen = [wrapper.retry_after() for _ in range(8)]
    assert seen == sorted(seen)
    assert seen[-1] == LONGEST_RETRY_SECONDS

    async def one_request() -> None:
        transport = httpx.ASGITransport(app=wrapper)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (await client.get("/api/health")).status_code == 200

    asyncio.run(one_request())
    assert wrapper.retry_after() == pytest.approx(0.05)


def test_a_retry_after_from_prefect_itself_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    inner = BusyThenFine(busy=1, retry_after="3")
    asyncio.run(_get(RetryAfterBusy(inner), waits, monkeypatch))
    assert len(waits) == 1 and waits[0] >= 3


SCRIPT = textwrap.dedent(
    """
    import json, sys
    from prefect import flow, task

    from deployments.ephemeral_api import TemporaryAPI, prefect_api
    from flows.events import should_emit

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow(name="inner")
    def inner(x: int) -> int:
        return double(x)

    @flow(name="outer", log_prints=True)
    def outer() -> list[int]:
        print("logged")
        return [inner(x) for x in range(3)]

    with prefect_api() as api:
        result = outer()
        emits = should_emit()
        args = api.process.args if api and api.process else None
    print(json.dumps({
        "result": result,
        "ours": isinstance(api, TemporaryAPI),
        "args": args,
        "stopped": api.process is None,
        "emits": emits,
        "server_modules": "prefect.server.api.server" in sys.modules,
    }))
    """
)


def test_flows_run_through_the_temporary_api_when_no_server_is_configured(
    tmp_path: Path,
) -> None:
    """A real temporary API in its own process and Prefect home: the app is the wrapped one, a
    flow with subflows and tasks runs through it, no project events are sent to it, the
    server's modules stay out of the running process, the server stops with the block, and
    every flow and task run is in Prefect's database afterwards (the task-run recorder writes
    in batches, the last one when the server stops)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        # No periodic write of task runs during the run: they must be written at the stop.
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL="600",
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["result"] == [0, 2, 4]
    assert out["ours"] is True
    assert "deployments.ephemeral_api:create_app" in out["args"]
    assert out["stopped"] is True
    assert out["emits"] is False
    assert out["server_modules"] is False
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        flow_runs = db.execute("SELECT state_type, count(*) FROM flow_run GROUP BY 1").fetchall()
        task_runs = db.execute("SELECT name, state_type FROM task_run").fetchall()
    assert flow_runs == [("COMPLETED", 4)]
    # Three `double` runs, and the three task runs that stand for the subflows in `outer`.
    expected = [("double", "COMPLETED")] * 3 + [("inner", "COMPLETED")] * 3
    assert sorted((name.split("-")[0], state) for name, state in task_runs) == expected


def test_with_a_configured_server_no_temporary_api_is_started() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.ephemeral_api import prefect_api

    with (
        temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        prefect_api() as api,
    ):
        assert api is None


def test_the_temporary_api_keeps_no_event_feed_unless_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nobody can see a temporary API's events or automate on it, so by default it stores no
    events and evaluates no triggers; an operator's own setting wins."""
    from deployments.ephemeral_api import TemporaryAPI

    monkeypatch.delenv("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "true")
    env = TemporaryAPI._environment()
    assert env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED"] == "false"
    assert env["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"] == "true"
    assert env["PREFECT_UI_ENABLED"] == "0"


def test_the_temporary_api_writes_task_runs_in_batches_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deployments.ephemeral_api import TemporaryAPI

    monkeypatch.delenv("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL", "5")
    env = TemporaryAPI._environment()
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] == "100"
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL"] == "5"


def _record(message: str, error: BaseException | None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error else None
    return logging.LogRecord(TASK_RUN_RECORDER_LOGGER, logging.ERROR, "", 0, message, (), exc_info)


def test_a_write_cut_short_by_the_stop_that_lost_nothing_prints_no_traceback() -> None:
    """The recorder's write that the server's stop cancels goes back to its queue and is
    stored by the final write; only that error is dropped, never one that lost events."""
    quiet = CancelledFlushAtStop()
    cancelled = asyncio.CancelledError()
    assert not quiet.filter(_record("Error flushing 9 events (9 to retry, 0 dropped)", cancelled))
    assert quiet.filter(_record("Error flushing 9 events (8 to retry, 1 dropped)", cancelled))
    assert quiet.filter(
        _record("Error flushing 9 events (9 to retry, 0 dropped)", RuntimeError("disk"))
    )
    assert quiet.filter(_record("Dropping event 1 after 4 failed attempts", None))
