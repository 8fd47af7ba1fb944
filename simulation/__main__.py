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
    chaos: Annotated[
        int,
        typer.Option(
            "--chaos",
            help="故障演练：注入 N 个故障（提交后异常、写文档时异常、投递时异常、强制终止进程），"
            "每次失败后重新运行当日，最后与同一随机种子的无故障运行逐项比较",
        ),
    ] = 0,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="演示使用的空数据库（如 postgresql://…），默认在输出目录中新建 SQLite",
        ),
    ] = None,
    clean_database_url: Annotated[
        str | None,
        typer.Option(
            "--clean-database-url",
            help="故障演练中无故障对照运行使用的空数据库，默认在对照目录中新建 SQLite",
        ),
    ] = None,
    fingerprint_file: Annotated[
        Path | None,
        typer.Option(
            "--fingerprint", help="运行结束后把结果指纹（文件、消息、各表行数）写入此文件"
        ),
    ] = None,
) -> None:
    """用模拟时钟和模拟数据完整运行一届质量攻关活动，生成全部文档。"""
    from simulation.demo import DemoError, run_demo, summary_text

    if projects < 1:
        fail("--projects 须为正整数。")
    if chaos < 0:
        fail("--chaos 须为非负整数（注入的故障个数）。")
    out_dir = out or Path("out") / str(year)
    try:
        if chaos:
            from simulation.compare import run_chaos_demo

            code = run_chaos_demo(
                year,
                projects,
                out_dir,
                seed=seed,
                faults=chaos,
                echo=typer.echo,
                database_url=database_url,
                clean_database_url=clean_database_url,
                direct=direct,
            )
            raise typer.Exit(code)
        report = run_demo(
            year,
            projects,
            out_dir,
            seed=seed,
            echo=typer.echo,
            pdf=pdf,
            direct=direct,
            database_url=database_url,
        )
    except DemoError as exc:
        fail(str(exc))
    typer.echo(summary_text(report))
    if fingerprint_file is not None:
        from simulation.fingerprint import fingerprint

        fingerprint_file.write_text(fingerprint(report.out_dir).to_json(), encoding="utf-8")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("已中断。", err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
