"""Benchmark of the whole campaign (`python -m simulation`) with Prefect and the same work without
it; prints wall time, peak memory and Prefect's overhead ratio.

The baseline ("plain") is the same demo with the staff running every stage as
`qcamp run … --direct`: the stages' bodies with each step's own function, i.e. the service calls,
and no Prefect API started (`flows.campaign.run_campaign_directly`); nothing is patched. Both
modes must leave the same records: the benchmark stops if their counts differ.

    uv run python bench/bench_campaign.py                # 200 and 1,200 projects, both modes
    uv run python bench/bench_campaign.py --projects 200 # one size
    uv run python bench/bench_campaign.py --repeat 3     # each run three times: min and median

Each run is a fresh subprocess with its own output folder and SQLite database. The overhead ratio
is taken from the medians (one run: that run), because the temporary API's response times vary
from run to run by several seconds. The CPU columns (the demo process; the temporary API's server
process) vary less than wall time on a shared machine and show where Prefect's time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def child(mode: str, projects: int, out: Path) -> None:
    from deployments.prefect_defaults import set_prefect_defaults

    set_prefect_defaults(quiet_console=True)  # as `qcamp` runs: quiet, no telemetry
    from simulation.demo import run_demo

    started = time.perf_counter()
    report = run_demo(2025, projects, out, seed=2025, echo=lambda _s: None, direct=mode == "plain")
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    server = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "ticks": report.ticks,
                "own_mb": own.ru_maxrss / 1024,
                "server_mb": server.ru_maxrss / 1024,
                "own_cpu": own.ru_utime + own.ru_stime,
                "server_cpu": server.ru_utime + server.ru_stime,
                "records": record_counts(out / "demo.sqlite"),
            }
        )
    )


COUNTED = ("applications", "state_changes", "stage_steps", "documents", "notification_records")


def record_counts(database: Path) -> dict[str, int]:
    """How many rows the run left in the tables both modes must fill alike."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(database)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def measure(mode: str, projects: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qcamp-bench-") as tmp:
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--projects",
                str(projects),
                "--out",
                f"{tmp}/out",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{mode} {projects} failed:\n{proc.stderr[-3000:]}")
        inner = json.loads(proc.stdout.strip().splitlines()[-1])
        # The demo process and, with Prefect, its ephemeral API server (a child process).
        return {
            "wall": wall,
            "campaign": inner["seconds"],
            "peak_mb": inner["own_mb"] + inner["server_mb"],
            "own_cpu": inner["own_cpu"],
            "server_cpu": inner["server_cpu"],
            "records": inner["records"],
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and mode")
    parser.add_argument("--child")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.projects[0], args.out)
        return
    sizes = args.projects or [200, 1200]
    print(
        f"{'项目数':>6} {'模式':>8} {'总用时(s)':>10} {'活动用时(s)':>11} {'峰值内存(MB)':>12} "
        f"{'演示CPU(s)':>10} {'API CPU(s)':>10}"
    )
    for n in sizes:
        campaign: dict[str, list[float]] = {"prefect": [], "plain": []}
        records: dict[str, dict[str, int]] = {}
        for _ in range(args.repeat):
            for mode in ("prefect", "plain"):
                r = measure(mode, n)
                campaign[mode].append(r["campaign"])
                records.setdefault(mode, r["records"])
                if r["records"] != records[mode] or r["records"] != records["prefect"]:
                    raise SystemExit(
                        f"两种模式留下的记录不同（{n}项）：{records['prefect']} 与 {r['records']}"
                    )
                print(
                    f"{n:>6} {mode:>8} {r['wall']:>10.1f} {r['campaign']:>11.1f} "
                    f"{r['peak_mb']:>12.0f} {r['own_cpu']:>10.1f} {r['server_cpu']:>10.1f}",
                    flush=True,
                )
        median = {m: statistics.median(v) for m, v in campaign.items()}
        overhead = median["prefect"] / median["plain"] - 1
        if args.repeat > 1:
            for mode, values in campaign.items():
                print(
                    f"{n:>6} {mode:>8} 活动用时 最短 {min(values):.1f} 秒，中位数 {median[mode]:.1f} 秒",
                    flush=True,
                )
        print(f"{n:>6} Prefect 额外开销：{overhead:.0%}（活动用时中位数之比）", flush=True)


if __name__ == "__main__":
    main()
