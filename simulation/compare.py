"""`--chaos N`: the clean run of the same seed (in a child process, into `<out>-无故障对照`),
then the run with faults (in this process), then their comparison, said in Chinese."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from simulation.chaos import KIND_LABELS, ChaosLog
from simulation.demo import DemoError, run_demo, summary_text
from simulation.fingerprint import Fingerprint, differences, fingerprint

NOT_EQUAL_EXIT = 1


def clean_folder(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + "-无故障对照")


def run_clean(
    year: int,
    projects: int,
    out_dir: Path,
    seed: int,
    database_url: str | None,
    direct: bool,
) -> Fingerprint:
    """The same demo without faults, in a child process (its own environment and API)."""
    folder = clean_folder(out_dir)
    target = folder.with_name(folder.name + ".fingerprint.json")
    command = [sys.executable, "-m", "simulation", "--year", str(year)]
    command += ["--projects", str(projects), "--seed", str(seed), "--out", str(folder)]
    command += ["--fingerprint", str(target)]
    command += ["--database-url", database_url] if database_url else []
    command += ["--direct"] if direct else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DemoError(f"无故障对照运行失败（退出码 {done.returncode}）：{done.stderr[-2000:]}")
    return Fingerprint.from_json(target.read_text(encoding="utf-8"))


def chaos_summary(chaos: ChaosLog, clean: Fingerprint, run: Fingerprint) -> tuple[str, bool]:
    """The Chinese closing lines: which faults fired where, and whether the run equals the
    clean run (with the differences)."""
    diff = differences(clean, run)
    lines = ["", "===== 故障演练结果 ====="]
    fired = chaos.fired
    lines.append(
        f"计划注入{len(chaos.faults)}个故障，实际触发{len(fired)}个，重新运行{chaos.reruns}次："
    )
    for kind, label in KIND_LABELS.items():
        of_kind = [f for f in fired if f.kind == kind]
        places = "、".join(sorted({f.where.rsplit(".", 1)[-1] for f in of_kind if f.where}))
        lines.append(f"  {label}：{len(of_kind)}次" + (f"（{places}）" if places else ""))
    unfired = [f.spec for f in chaos.faults if not f.fired_on]
    if unfired:
        lines.append(f"  未触发（活动已结束）：{'、'.join(unfired)}")
    equal = not diff
    lines.append(
        f"与同一随机种子的无故障运行比较：文件{len(clean.files)}个，消息{clean.message_count}条，"
        f"数据表{len(clean.rows)}张（{sum(clean.rows.values())}行）。"
    )
    if equal:
        lines.append("结论：一致——文件、消息（按收件人和事件）和各表行数与无故障运行完全相同。")
    else:
        lines.append(f"结论：不一致，共{len(diff)}处不同：")
        lines += [f"  {d}" for d in diff]
    return "\n".join(lines), equal


def run_chaos_demo(
    year: int,
    projects: int,
    out_dir: Path,
    *,
    seed: int,
    faults: int,
    echo: Callable[[str], object] = print,
    database_url: str | None = None,
    clean_database_url: str | None = None,
    direct: bool = False,
) -> int:
    """The clean run, the run with `faults` faults, the comparison; 0 when equal, else 1."""
    echo(f"故障演练：先运行无故障对照（随机种子{seed}），输出到 {clean_folder(out_dir.resolve())}")
    clean = run_clean(year, projects, out_dir.resolve(), seed, clean_database_url, direct)
    report = run_demo(
        year,
        projects,
        out_dir,
        seed=seed,
        echo=echo,
        database_url=database_url,
        direct=direct,
        chaos=faults,
    )
    echo(summary_text(report))
    assert report.chaos is not None
    run = fingerprint(report.out_dir)
    (report.out_dir / "simulation" / "fingerprint.json").write_text(run.to_json(), "utf-8")
    text, equal = chaos_summary(report.chaos, clean, run)
    echo(text)
    return 0 if equal else NOT_EQUAL_EXIT
