"""`python -m simulation`: the demo — a whole campaign on a simulated clock and simulated data."""

from __future__ import annotations

from deployments.prefect_defaults import set_prefect_defaults

set_prefect_defaults(quiet_console=True)  # before Prefect is imported anywhere

from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402

from deployments.cli_common import fail  # noqa: E402

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def demo(
    year: Annotated[int, typer.Option("--year", help="活动年度")] = 2025,
    projects: Annotated[int, typer.Option("--projects", help="模拟申报项目数")] = 200,
    out: Annotated[Path | None, typer.Option("--out", help="输出目录，默认 ./out/<年度>")] = None,
    seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 2025,
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="另用 LibreOffice 把荣誉证书转成 PDF（需已安装）")
    ] = False,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct", help="各阶段不经 Prefect 编排直接运行（qcamp run … --direct；基准对比用）"
        ),
    ] = False,
) -> None:
    """用模拟时钟和模拟数据完整运行一届质量攻关活动，生成全部文档。"""
    from simulation.demo import DemoError, run_demo, summary_text

    if projects < 1:
        fail("--projects 须为正整数。")
    out_dir = out or Path("out") / str(year)
    try:
        report = run_demo(
            year, projects, out_dir, seed=seed, echo=typer.echo, pdf=pdf, direct=direct
        )
    except DemoError as exc:
        fail(str(exc))
    typer.echo(summary_text(report))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("已中断。", err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
