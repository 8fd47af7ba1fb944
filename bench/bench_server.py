"""Benchmark of the production path: a simulated year with the campaign run by `qcamp serve`
(served deployments) on a PostgreSQL-backed Prefect server with API auth, against the same year
run without Prefect.

    uv run python bench/bench_server.py --projects 200          # a table
    uv run python bench/bench_server.py --projects 1200 --json  # one JSON object

What it does (like tests/ops/test_server_postgres.py, without Docker):
- creates three PostgreSQL databases (Prefect's server; the served year's qcamp database; the
  plain year's), starts `prefect server start` on the first with `PREFECT_SERVER_API_AUTH_STRING`,
  and serves the campaign deployment from another process (`qcamp serve --stage campaign`);
- "served": the demo's simulated year (`simulation.demo.run_demo`, same seed, the participants
  acting through their doors in this process), except that on each campaign day the staff's
  `qcamp run campaign --as-of DAY` is replaced by what the dashboard's "Run" does: a flow run
  created from the campaign deployment through the API (parameters year, as_of), which the
  serving process picks up and runs; the driver waits until it is final;
- "plain": the same year with `--direct` (`flows.campaign.run_campaign_directly`, no Prefect);
- per flow (the campaign and each stage subflow, read back from the API): runs, median and max
  run time (start to end on the server's record); the campaign runs' latency from trigger to
  final state (includes the runner's poll interval); overhead_ratio = served / plain − 1;
  Prefect's database size (pg_database_size) before and after the year → prefect_db_mb_per_year;
  peak resident memory of the server's and the runner's process groups (sampled every 0.5 s;
  the runner's group includes the per-run subprocesses it starts). PostgreSQL's own memory is
  not measured (the instance is shared with other databases on this machine).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("QCAMP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
YEAR = 2025
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
AUTH = "bench:" + uuid.uuid4().hex[:12]


def pg_url(dbname: str, driver: str = "postgresql") -> str:
    return driver + "://" + PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{dbname}"


def pg_admin(sql: str) -> Any:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else None


def db_mb(name: str) -> float:
    return pg_admin(f"SELECT pg_database_size('{name}')")[0][0] / 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def headers() -> dict[str, str]:
    auth = os.environ.get("PREFECT_API_AUTH_STRING", AUTH)  # a child: the one it was given
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


class PeakMemory:
    """Peak summed RSS (MB) of each watched process group, sampled every 0.5 s."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups
        self.peak = dict.fromkeys(groups, 0.0)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self.stopped.wait(0.5):
            total = dict.fromkeys(self.groups, 0.0)
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    rss = int((entry / "statm").read_text().split()[1]) * page / 1e6
                except (OSError, IndexError, ValueError):
                    continue
                for name, pgid in self.groups.items():
                    if int(stat[2]) == pgid:
                        total[name] += rss
            for name, mb in total.items():
                self.peak[name] = max(self.peak[name], mb)

    def stop(self) -> dict[str, float]:
        self.stopped.set()
        self.thread.join()
        return self.peak


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_for(
    check: Any, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what}：进程已退出\n{log.read_text(errors='replace')[-3000:]}")
        try:
            found = check()
            if found:
                return found
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(1)
    sys.exit(f"{what}：超时\n{log.read_text(errors='replace')[-3000:]}")


# --- the year's drivers (child processes) -----------------------------------------------------


def served_child(projects: int, out: Path, database_url: str) -> None:
    """The simulated year; each `qcamp run STAGE` of the staff (the campaign each day, and the
    stages the simulation runs by hand) is a flow run of that served deployment instead."""
    import httpx

    from deployments.cli_common import parse_time
    from deployments.serve import ENTRYPOINTS, WAIT_FOR_STAFF, accepts, deployment_name, load_flow
    from simulation.demo import run_demo
    from simulation.world import World

    api = httpx.Client(base_url=os.environ["PREFECT_API_URL"], headers=headers(), timeout=60)
    deployments: dict[str, str] = {}
    latencies: list[float] = []
    failed: list[str] = []

    def deployment_id(stage: str) -> str:
        if stage not in deployments:
            flow_name = ENTRYPOINTS[stage].split(":")[1].replace("_", "-")
            found = api.get(f"/deployments/name/{flow_name}/{deployment_name(stage, YEAR)}")
            found.raise_for_status()
            deployments[stage] = found.json()["id"]
        return deployments[stage]

    def run_stage(world: World, stage: str) -> str:
        as_of = parse_time(world.at()).isoformat()
        parameters: dict[str, Any] = {"year": YEAR, "as_of": as_of}
        if accepts(load_flow(stage), WAIT_FOR_STAFF):
            parameters[WAIT_FOR_STAFF] = False  # as `qcamp run` does: no pause for a form
        started = time.perf_counter()
        created = api.post(
            f"/deployments/{deployment_id(stage)}/create_flow_run",
            json={"parameters": parameters},
        )
        created.raise_for_status()
        run_id = created.json()["id"]
        while (run := api.get(f"/flow_runs/{run_id}").json())["state_type"] not in FINAL:
            time.sleep(0.1)
        if stage == "campaign":
            latencies.append(time.perf_counter() - started)
        if run["state_type"] != "COMPLETED":
            failed.append(f"{stage} {as_of} {run['state_type']} {run['state']['message']}")
        return ""

    World.run_stage = run_stage  # the staff's "Run" in the dashboard instead of `qcamp run`
    started = time.perf_counter()
    report = run_demo(
        YEAR, projects, out, seed=2025, echo=lambda _s: None, database_url=database_url
    )
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "days": report.ticks,
                "latencies": latencies,
                "failed": failed,
            }
        )
    )


def plain_child(projects: int, out: Path, database_url: str) -> None:
    from simulation.demo import run_demo

    started = time.perf_counter()
    report = run_demo(
        YEAR, projects, out, seed=2025, echo=lambda _s: None, database_url=database_url, direct=True
    )
    print(json.dumps({"seconds": time.perf_counter() - started, "days": report.ticks}))


def run_child(mode: str, projects: int, out: Path, env: dict[str, str], url: str) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", mode, "--projects", str(projects)]
    args += ["--out", str(out), "--database-url", url]
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{mode} 运行失败：\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- reading the runs back ---------------------------------------------------------------------


def flow_run_stats(api_url: str) -> dict[str, dict[str, Any]]:
    """Per flow name: runs, median and max run time (s) from the server's records."""
    import datetime as dt

    import httpx

    with httpx.Client(base_url=api_url, headers=headers(), timeout=60) as api:
        flows = {f["id"]: f["name"] for f in api.post("/flows/filter", json={}).json()}
        runs: list[dict[str, Any]] = []
        while batch := api.post(
            "/flow_runs/filter", json={"limit": 200, "offset": len(runs)}
        ).json():
            runs += batch
    times: dict[str, list[float]] = {}
    states: dict[str, int] = {}
    for run in runs:
        name = flows.get(run["flow_id"], "?")
        if run["start_time"] and run["end_time"]:
            start = dt.datetime.fromisoformat(run["start_time"])
            end = dt.datetime.fromisoformat(run["end_time"])
            times.setdefault(name, []).append((end - start).total_seconds())
        if run["state_type"] not in {"COMPLETED", "SCHEDULED"}:  # SCHEDULED: the cron's next runs
            states[name] = states.get(name, 0) + 1
    return {
        name: {
            "runs": len(values),
            "median_s": round(statistics.median(values), 3),
            "max_s": round(max(values), 3),
            "not_completed": states.get(name, 0),
        }
        for name, values in sorted(times.items())
    }


# --- the topology and the report ---------------------------------------------------------------


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def measure(projects: int, root: Path) -> dict[str, Any]:
    import httpx

    from storage.db import upgrade

    suffix = uuid.uuid4().hex[:8]
    server_db, served_db, plain_db = (f"bench_{k}_{suffix}" for k in ("prefect", "served", "plain"))
    for name in (server_db, served_db, plain_db):
        pg_admin(f'CREATE DATABASE "{name}"')
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name in (served_db, plain_db):
            upgrade(pg_url(name))
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "QCAMP_"))}
        base |= {
            "PREFECT_HOME": str(root / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
        server_env = base | {
            "PREFECT_API_DATABASE_CONNECTION_URL": pg_url(server_db, "postgresql+asyncpg"),
            "PREFECT_SERVER_API_AUTH_STRING": AUTH,
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
        out = root / "served"
        client_env = base | {
            "PREFECT_API_URL": api_url,
            "PREFECT_API_AUTH_STRING": AUTH,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "QCAMP_DATABASE_URL": pg_url(served_db),
            "QCAMP_CAMPAIGN_DIR": str(out),
            "QCAMP_CERTIFICATE_PDF": "false",
            "QCAMP_SIMULATED_CLOCK": "1",
        }
        bin_dir = Path(sys.executable).parent
        server = start(
            [
                str(bin_dir / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            server_env,
            root / "server.log",
            root,
        )
        procs.append(server)
        api = httpx.Client(base_url=api_url, headers=headers(), timeout=30)
        wait_for(
            lambda: api.get("/health").status_code == 200,
            "Prefect 服务器",
            server,
            root / "server.log",
            180,
        )
        served = start(
            [str(bin_dir / "qcamp"), "serve", "--year", str(YEAR)],
            client_env,
            root / "serve.log",
            ROOT,
        )
        procs.append(served)
        name = f"/deployments/name/annual-campaign/qcamp-{YEAR}-campaign"
        wait_for(lambda: api.get(name).status_code == 200, "部署", served, root / "serve.log", 180)
        memory = PeakMemory({"server": server.pid, "runner": served.pid})
        mb_before = db_mb(server_db)
        year = run_child("served", projects, out, client_env, pg_url(served_db))
        mb_after = db_mb(server_db)
        peaks = memory.stop()
        stages = flow_run_stats(api_url)
    finally:
        for proc in reversed(procs):
            stop(proc)
    try:
        plain = run_child("plain", projects, root / "plain", base, pg_url(plain_db))
    finally:
        for name in (server_db, served_db, plain_db):
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    latencies = year["latencies"]
    return {
        "projects": projects,
        "campaign_days": year["days"],
        "served_s": round(year["seconds"], 1),
        "plain_s": round(plain["seconds"], 1),
        "overhead_ratio": round(year["seconds"] / plain["seconds"] - 1, 3),
        "campaign_trigger_to_final_median_s": round(statistics.median(latencies), 2),
        "campaign_trigger_to_final_max_s": round(max(latencies), 2),
        "failed_days": year["failed"],
        "stages": stages,
        "prefect_db_mb_before": round(mb_before, 1),
        "prefect_db_mb_after": round(mb_after, 1),
        "prefect_db_mb_per_year": round(mb_after - mb_before, 1),
        "peak_rss_mb": {k: round(v) for k, v in peaks.items()},
        "peak_rss_mb_database": None,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['projects']} 个项目，{result['campaign_days']} 个运行日",
        f"  经部署运行：{result['served_s']} 秒；不经 Prefect：{result['plain_s']} 秒；"
        f"overhead_ratio {result['overhead_ratio']}",
        f"  每日运行从触发到结束：中位 {result['campaign_trigger_to_final_median_s']} 秒，"
        f"最长 {result['campaign_trigger_to_final_max_s']} 秒；失败 {len(result['failed_days'])} 天",
        f"  {'流程':<24}{'运行数':>6}{'中位(秒)':>10}{'最长(秒)':>10}{'未完成':>6}",
    ]
    for name, s in result["stages"].items():
        lines.append(
            f"  {name:<24}{s['runs']:>6}{s['median_s']:>10}{s['max_s']:>10}{s['not_completed']:>6}"
        )
    lines += [
        f"  Prefect 数据库：{result['prefect_db_mb_before']} MB → {result['prefect_db_mb_after']} MB"
        f"（prefect_db_mb_per_year {result['prefect_db_mb_per_year']}）",
        f"  内存峰值：服务器 {result['peak_rss_mb']['server']} MB，"
        f"运行进程 {result['peak_rss_mb']['runner']} MB（PostgreSQL 未测）",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=["served", "plain"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.child == "served":
        return served_child(args.projects, args.out, args.database_url)
    if args.child == "plain":
        return plain_child(args.projects, args.out, args.database_url)
    with tempfile.TemporaryDirectory(prefix="qcamp-bench-server-") as tmp:
        result = measure(args.projects, Path(tmp))
    print(json.dumps(result, ensure_ascii=False) if args.json else table(result))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
