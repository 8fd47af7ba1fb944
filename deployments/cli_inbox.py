"""`qcamp inbox poll|list`: the commission's mailbox (收件邮箱) read by hand (the same poll the
served `poll-mailbox` flow runs every 10 minutes), and the mails taken so far."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from deployments.cli_common import AsOf, Year, campaign_context, check_run_clock, fail, parse_time

inbox_app = typer.Typer(help="收件邮箱：读取来信并按类别导入、查看来信记录", no_args_is_help=True)

OUTCOME_LABELS = {
    "taken": "已导入",
    "returned": "已退回",
    "quarantined": "已隔离",
    "failed": "处理出错",
    "duplicate": "重复来信",
    "taking": "处理中断",
}


@inbox_app.command("poll")
def inbox_poll(
    year: Year,
    as_of: AsOf = None,
    mailbox: Annotated[
        str | None,
        typer.Option(
            "--mailbox",
            help="收件邮箱地址（默认取环境变量 QCAMP_MAILBOX_URL，否则为本届活动目录下的 mailbox/ "
            "Maildir 文件夹）：imaps://账号:{env:变量名}@服务器:993/INBOX 或 maildir:///目录",
        ),
    ] = None,
    direct: Annotated[
        bool, typer.Option("--direct", help="不经 Prefect 编排，直接读取（Prefect 不可用时应急）")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出本次读取的摘要")] = False,
) -> None:
    """读取收件邮箱中的新来信：按发件人、到达时的阶段和附件分类导入，并即时发出回执或退回通知；
    每封来信只处理一次。"""
    from notifications.inbound import MailboxError

    when = parse_time(as_of) if as_of else None
    ctx = campaign_context(year, when)
    if when is not None:
        check_run_clock(ctx, when)
    at = ctx.now.isoformat()
    try:
        if direct:
            from flows.mailbox import poll_directly

            report = poll_directly(year, at, mailbox)
        else:
            from flows.mailbox import poll_mailbox

            report = poll_mailbox(year, at, mailbox)
    except MailboxError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    typer.echo(f"收件邮箱 {report.mailbox}：新来信 {len(report.mails)} 封。")
    for m in report.mails:
        typer.echo(
            f"  [{OUTCOME_LABELS.get(m.outcome, m.outcome)}] {m.received_at:%Y-%m-%d %H:%M} "
            f"{m.sender}：{m.detail}"
        )


@inbox_app.command("list")
def inbox_list(
    year: Year,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出本届活动已读取的来信（到达时间、发件人、类别、处理结果）。"""
    from storage.uow import UnitOfWork

    ctx = campaign_context(year, None)
    with UnitOfWork() as uow:
        rows = [
            {
                "id": m.id,
                "received_at": m.received_at.isoformat(),
                "sender": m.sender,
                "subject": m.subject,
                "kind": m.kind,
                "outcome": m.outcome,
                "detail": m.detail,
            }
            for m in uow.mailbox.mails(ctx.campaign_id)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("尚无来信记录。")
    for r in rows:
        typer.echo(
            f"{r['id']:>4} {r['received_at'][:16]} {r['sender']} "
            f"[{OUTCOME_LABELS.get(r['outcome'], r['outcome'])}] {r['detail']}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(inbox_app, name="inbox")
