"""`qcamp messages`: staff look at the messages (消息) — the list, one message as sent, and the
failed ones re-queued. Registered by `deployments/cli.py`."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import TYPE_CHECKING, Annotated

import typer

from deployments.cli_common import AsOf, fail

if TYPE_CHECKING:
    from services.messages import MessageDetail, MessageRow

messages_app = typer.Typer(
    help="消息：查看已发送和待发送的通知，重新发送失败的通知，放行群发通知", no_args_is_help=True
)

YearOption = Annotated[int, typer.Option("--year", help="活动年度，如 2025")]
ERROR_WIDTH = 40


def register(app: typer.Typer) -> None:
    app.add_typer(messages_app, name="messages")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    if _width(text) <= width:
        return text
    out = ""
    for char in text:
        if _width(out + char) > width - 1:
            break
        out += char
    return out + "…"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text (two columns a character)."""
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _cells(row: MessageRow) -> list[str]:
    return [
        str(row.id),
        row.event_name,
        f"{row.recipient}（{row.recipient_key}）",
        row.status_label,
        f"{row.scheduled_for:%Y-%m-%d %H:%M}",
        _cut(row.error_reason, ERROR_WIDTH) or "—",
    ]


@messages_app.command("list")
def list_command(
    year: YearOption = dt.date.today().year,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="只看此状态：pending、sending、sent、failed、held（待放行）、undeliverable（无法送达）",
        ),
    ] = None,
    event: Annotated[
        str | None, typer.Option("--event", help="只看此事件，如 certificate 或 证书发放")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出一届活动的消息：编号、事件、收件人、状态、计划发送时间、最近错误。"""
    from services.messages import MessagesError, list_messages
    from storage.db import upgrade
    from storage.uow import UnitOfWork

    upgrade()
    try:
        rows = list_messages(UnitOfWork(), year, status=status, event=event)
    except MessagesError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2)
        )
        return
    if not rows:
        typer.echo(f"{year}年度没有符合条件的消息。")
        return
    headers = ["编号", "事件", "收件人", "状态", "计划发送时间", "最近错误"]
    typer.echo(table(headers, [_cells(r) for r in rows]))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status_label] = counts.get(r.status_label, 0) + 1
    typer.echo(f"共 {len(rows)} 条：" + "，".join(f"{k} {v} 条" for k, v in counts.items()))


def detail_text(message: MessageDetail) -> str:
    """One message as staff read it: who, when, which rule and template, then the mail itself."""
    lines = [
        f"消息编号：{message.id}",
        f"事件：{message.event_name}（{message.event}）",
        f"规则：{message.rule}",
        f"模板：{message.template}",
        f"收件人：{message.recipient}（{message.recipient_key}）",
        f"状态：{message.status_label}（已尝试 {message.attempts} 次）",
        f"计划发送时间：{message.scheduled_for:%Y-%m-%d %H:%M}",
    ]
    if message.sent_at:
        lines.append(f"发送时间：{message.sent_at:%Y-%m-%d %H:%M}")
    if message.last_error:
        label = "作废原因" if message.status == "superseded" else "最近错误"
        lines.append(f"{label}：{message.last_error}")
    for channel in message.channels:
        to = f"，收件地址 {channel.address}" if channel.address else "，无收件地址"
        error = f"，错误：{channel.error}" if channel.error else ""
        lines.append(f"渠道：{channel.url}（{channel.state}{to}{error}）")
    for attachment in message.attachments:
        missing = "" if attachment.exists else "（文件不存在）"
        lines.append(f"附件：{attachment.name}{missing}  {attachment.path}")
    if not message.attachments:
        lines.append("附件：无")
    lines += ["", f"主题：{message.subject}", "", message.body]
    return "\n".join(lines)


@messages_app.command("show")
def show_command(
    record_id: Annotated[int, typer.Argument(help="消息编号（见 qcamp messages list）")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示一条消息：主题、正文、收件人、附件，以及发送它的规则和模板。"""
    from services.messages import MessagesError, show_message
    from storage.db import upgrade
    from storage.uow import UnitOfWork

    upgrade()
    try:
        message = show_message(UnitOfWork(), record_id)
    except MessagesError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(message.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    typer.echo(detail_text(message))


@messages_app.command("resend")
def resend_command(
    failed: Annotated[bool, typer.Option("--failed", help="重新发送所有发送失败的消息")] = False,
    year: YearOption = dt.date.today().year,
    as_of: AsOf = None,
) -> None:
    """把发送失败的消息重新放回发送队列（重试次数清零），下次运行时发送。"""
    from services.context import parse_as_of
    from services.messages import MessagesError, resend_failed
    from storage.db import upgrade
    from storage.uow import UnitOfWork

    if not failed:
        fail("请加 --failed：qcamp messages resend --failed --year 年度")
    try:
        now = parse_as_of(as_of)
    except ValueError:
        fail(f"--as-of 的值“{as_of}”不是有效时间。请写成 2025-09-20T10:00 这样的格式。")
    upgrade()
    try:
        ids = resend_failed(UnitOfWork(), year, now=now)
    except MessagesError as exc:
        fail(str(exc))
    if not ids:
        typer.echo(f"{year}年度没有发送失败的消息。")
        return
    typer.echo(
        f"已将 {len(ids)} 条发送失败的消息重新放入发送队列（编号：{'、'.join(map(str, ids))}），"
        "下次运行时发送。"
    )


@messages_app.command("release")
def release_command(
    event: Annotated[
        str,
        typer.Option(
            "--event",
            help="放行哪类群发通知：call（征集通知）、public_notice、publication、certificate",
        ),
    ],
    by: Annotated[str, typer.Option("--by", help="放行人姓名（记入操作记录）")],
    year: YearOption = dt.date.today().year,
    as_of: AsOf = None,
) -> None:
    """放行已预览的群发通知（征集通知、公示通知、公布通知和证书）：下次运行时发送。"""
    from services.context import open_campaign
    from services.messages import MessagesError, check_event
    from services.messaging import MASS_MAIL_EVENTS
    from services.outbox_hold import ReleaseError, release, stage_of
    from storage.db import upgrade
    from storage.uow import UnitOfWork

    try:
        name = check_event(event)
    except MessagesError as exc:
        fail(str(exc))
    if name not in MASS_MAIL_EVENTS:
        fail(f"--event 的值“{event}”不是群发通知：可放行 {'、'.join(MASS_MAIL_EVENTS)}")
    upgrade()
    try:
        ctx = open_campaign(year, as_of)
    except ValueError:
        fail(f"--as-of 的值“{as_of}”不是有效时间。请写成 2025-09-20T10:00 这样的格式。")
    try:
        ids = release(UnitOfWork(), ctx, name, by=by, stage=stage_of(name))
    except ReleaseError as exc:
        fail(str(exc))
    if not ids:
        typer.echo(f"{year}年度没有待放行的“{event}”通知。")
        return
    typer.echo(
        f"{by} 已放行 {len(ids)} 封“{event}”通知（编号 {ids[0]}–{ids[-1]}），下次运行时发送。"
    )
