"""A process killed while running a campaign day on the temporary API (issue 21 item 8): its API
server dies with it, the next run marks the run it left RUNNING as Crashed (with a Chinese
message), and the temporary folders it left are removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2025-03-20T10:00:00+08:00"


def _marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries `mark` (ours only: /proc/<pid>/environ)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"QCAMP_TEST_MARK={mark}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _wait_until_gone(mark: str, seconds: float = 30.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := _marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


READ_RUNS = """
import json
from deployments.ephemeral_api import TemporaryAPI
from prefect.client.orchestration import get_client
api = TemporaryAPI()
try:
    with api.serving():
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs()
        print(json.dumps([
            {"name": r.name, "state": r.state.type.value, "message": r.state.message or "",
             "tags": list(r.tags)} for r in runs]))
finally:
    api.stop()
"""


def test_a_killed_day_leaves_no_server_and_its_run_is_marked_crashed(
    database: str, campaign_dir: Path, tmp_path: Path
) -> None:
    mark = uuid.uuid4().hex
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "QCAMP_SIMULATED_CLOCK": "1",
        "QCAMP_TEST_MARK": mark,
        "TMPDIR": str(temp),
        "QCAMP_FAULTS_LOG": str(tmp_path / "faults.jsonl"),
    }
    env.pop("PREFECT_API_URL", None)
    run_day = [sys.executable, "-m", "deployments.cli", "run", "campaign", "--year", "2025"]
    run_day += ["--as-of", AS_OF]
    killed = subprocess.run(
        run_day, env={**env, "QCAMP_FAULTS": "kill@2"}, capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    fired = json.loads((tmp_path / "faults.jsonl").read_text().splitlines()[0])
    assert fired["kind"] == "kill" and fired["where"].startswith(("services.", "flows."))
    # The temporary API server it started went with it (nothing left listening).
    assert _wait_until_gone(mark) == []
    assert [p.name for p in temp.iterdir() if p.name.startswith("qcamp-api-")]  # left behind

    again = subprocess.run(run_day, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "项目申报" in again.stdout
    assert not [p for p in temp.iterdir() if p.name.startswith(f"qcamp-api-{fired['pid']}-")]

    listed = subprocess.run(
        [sys.executable, "-c", READ_RUNS], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout.strip().splitlines()[-1])
    of_killed = [r for r in runs if any(t.endswith(f":{fired['pid']}") for t in r["tags"])]
    assert of_killed, runs
    assert {r["state"] for r in of_killed} == {"CRASHED"}
    assert all("已不存在" in r["message"] and "重新运行" in r["message"] for r in of_killed)
    assert not [r for r in runs if r["state"] == "RUNNING"]
    assert _wait_until_gone(mark) == []
