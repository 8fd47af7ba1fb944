"""Benchmark of the whole campaign (`python -m simulation`) with Prefect and the same domain work in plain
Python without Prefect; prints wall time, peak memory and Prefect's overhead ratio.

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

ROOT = Path(__file__).resolve().parent.parent


def _plain_prefect() -> None:
    """Make flows and tasks plain function calls and artifacts no-ops: the same code path, no
    orchestration, and no Prefect API started or waited for. Only for the benchmark's baseline."""
    import prefect.artifacts
    import prefect.context
    from prefect.flows import Flow
    from prefect.tasks import Task

    import deployments.ephemeral_api
    import simulation.demo

    class _Done:
        def __init__(self, value: object) -> None:
            self.value = value

        def result(self) -> object:
            return self.value

        def wait(self) -> None:
            return None

    Flow.__call__ = lambda self, *a, **k: self.fn(*a, **k)  # type: ignore[method-assign]
    Task.__call__ = lambda self, *a, **k: self.fn(*a, **k)  # type: ignore[method-assign]
    Task.submit = lambda self, *a, **k: _Done(self.fn(*a, **k))  # type: ignore[method-assign]
    Task.map = lambda self, *its, **k: [_Done(self.fn(*a)) for a in zip(*its, strict=True)]  # type: ignore[method-assign]

    def _noop(*_a: object, **_k: object) -> None:
        return None

    for name in ("create_markdown_artifact", "create_table_artifact", "create_link_artifact"):
        setattr(prefect.artifacts, name, _noop)
    import flows.campaign
    import flows.stage

    flows.stage.create_markdown_artifact = _noop  # type: ignore[assignment]
    flows.campaign.create_markdown_artifact = _noop  # type: ignore[assignment]
    simulation.demo.start_temporary_api = lambda: None  # type: ignore[assignment]
    # `qcamp run` (the staff's door the demo runs each day through) starts none either.
    deployments.ephemeral_api.start_temporary_api = lambda: None  # type: ignore[assignment]
    prefect.context.SyncClientContext.get_or_create = contextlib.nullcontext  # type: ignore[method-assign, assignment]


def child(mode: str, projects: int, out: Path) -> None:
    from deployments.prefect_defaults import set_prefect_defaults

    set_prefect_defaults()  # as `qcamp` runs: quiet, no telemetry
    if mode == "plain":
        _plain_prefect()
    from simulation.demo import run_demo

    started = time.perf_counter()
    report = run_demo(2025, projects, out, seed=2025, echo=lambda _s: None)
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
            }
        )
    )


def measure(mode: str, projects: int) -> dict[str, float]:
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
        for _ in range(args.repeat):
            for mode in ("prefect", "plain"):
                r = measure(mode, n)
                campaign[mode].append(r["campaign"])
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
