"""Runs left behind by a killed process (遗留运行): flow runs on a temporary API carry the tags
`qcamp-local` and `qcamp-pid:<host>:<pid>` of the process that runs them; when a later run
starts, every RUNNING (or PENDING) run of ours whose process is gone is set to Crashed, with a
Chinese message saying what happened and what to do. Also the temporary folders such a process
left (`qcamp-api-<pid>-…`) are removed."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCAL_TAG = "qcamp-local"
PID_TAG = "qcamp-pid:"
TEMP_PREFIX = "qcamp-api-"
CRASHED_MESSAGE = (
    "运行此流程的进程（{host} 上的进程 {pid}）已不存在（被强制终止或意外退出），"
    "流程停在“运行中”。已完成的步骤不会丢失：请重新运行同一命令（qcamp run …）补完其余步骤。"
)


def pid_tag(pid: int | None = None) -> str:
    return f"{PID_TAG}{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _owner(tags: list[str]) -> tuple[str, int] | None:
    for tag in tags:
        if tag.startswith(PID_TAG):
            host, _, pid = tag[len(PID_TAG) :].rpartition(":")
            if pid.isdigit():
                return host, int(pid)
    return None


def mark_orphans_crashed() -> list[str]:
    """Set every RUNNING or PENDING flow run of a gone local process to Crashed; their names.
    Never raises: a failure here must not stop the run that asked."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    host = socket.gethostname()
    marked: list[str] = []
    try:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
                    ),
                    tags=FlowRunFilterTags(all_=[LOCAL_TAG]),
                )
            )
            for run in runs:
                owner = _owner(list(run.tags or []))
                if owner is None or owner[0] != host or owner[1] == os.getpid():
                    continue
                if process_alive(owner[1]):
                    continue
                message = CRASHED_MESSAGE.format(host=owner[0], pid=owner[1])
                client.set_flow_run_state(run.id, Crashed(message=message), force=True)
                marked.append(run.name)
    except Exception:  # noqa: BLE001 - best effort; the run goes on
        return marked
    return marked


@contextlib.contextmanager
def tagged_with_this_process() -> Iterator[None]:
    """Flow runs started inside carry this process's tags (see the module docstring)."""
    from prefect import tags

    with tags(LOCAL_TAG, pid_tag()):
        yield


def remove_stale_folders(root: Path | None = None) -> int:
    """Remove the temporary folders of temporary APIs whose process is gone; how many."""
    removed = 0
    for folder in Path(root or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = folder.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def temporary_folder_prefix() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-"
