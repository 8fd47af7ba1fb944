"""群发通知预览与放行 (pretalx's outbox): the call, the 公示 notice and the publication are written
but held; the stage writes a preview of every held message for staff to read, and staff release
them (`qcamp messages release`, or the dashboard's 放行群发通知 deployment), which records who.

The preview is a markdown file in the stage's folder (and a Prefect artifact when the stage runs
orchestrated: `flows.stage` publishes every document named `PREVIEW_PREFIX…`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from notifications.secrets import redact
from notifications.service import HELD, release_held
from notifications.templates import TEMPLATES
from services.context import CampaignContext, StageReport
from storage import orm
from storage.uow import UnitOfWork

PREVIEW_PREFIX = "群发通知预览"
BODY_SAMPLE_CHARS = 1500


def address_of(record: orm.NotificationRecord) -> str:
    """The address a record is written to (its channels' ``to=``), "" when none."""
    for channel in record.channels:
        query = parse_qs(urlsplit(str(channel.get("url", ""))).query)
        if query.get("to"):
            return query["to"][0]
    return ""


def preview_markdown(
    ctx: CampaignContext, event: str, records: Sequence[orm.NotificationRecord]
) -> str:
    name = TEMPLATES[event].name if event in TEMPLATES else event
    lines = [
        f"# {ctx.year}年{name}：待放行 {len(records)} 封",
        "",
        "以下通知已生成但尚未发出，请核对收件人、主题和附件后放行：",
        "",
        f"`qcamp messages release --year {ctx.year} --event {event} --by 您的姓名`",
        "",
        "| 编号 | 收件人 | 收件地址 | 主题 | 附件 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in records:
        files = "、".join(a.get("name", "") for a in r.attachments) or "无"
        lines.append(
            f"| {r.id} | {r.recipient_name} | {address_of(r) or '无'} | {r.subject} | {files} |"
        )
    if records:
        sample = records[0]
        lines += ["", f"## 正文示例（第 {sample.id} 号，致{sample.recipient_name}）", "", "```"]
        lines += [redact(sample.body[:BODY_SAMPLE_CHARS]), "```"]
    return "\n".join(lines) + "\n"


def write_previews(
    uow: UnitOfWork, ctx: CampaignContext, stage: str, events: Sequence[str]
) -> list[Path]:
    """A preview file per event with held messages, in the stage's folder (rewritten each run)."""
    paths: list[Path] = []
    with uow:
        for event in events:
            records = uow.messages.records(ctx.campaign_id, status=HELD, event=event)
            if not records:
                continue
            path = ctx.folder(stage) / f"{PREVIEW_PREFIX}_{event}.md"
            path.write_text(preview_markdown(ctx, event, records), encoding="utf-8")
            paths.append(path)
    return paths


def note_held(
    uow: UnitOfWork, ctx: CampaignContext, report: StageReport, events: Sequence[str]
) -> None:
    """Add the held messages' previews to `report` and say they wait for staff."""
    for path in write_previews(uow, ctx, report.stage, events):
        event = path.stem.removeprefix(f"{PREVIEW_PREFIX}_")
        name = TEMPLATES[event].name if event in TEMPLATES else event
        report.waiting.append(
            f"{name}已生成，待工作人员预览（{path.name}）后放行："
            f"qcamp messages release --year {ctx.year} --event {event} --by 姓名"
        )
        if str(path) not in report.documents:
            report.documents.append(str(path))


EVENT_STAGES = {
    "call": "application",
    "public_notice": "publicity",
    "publication": "publicity",
    "certificate": "publicity",
}


def stage_of(event: str) -> str:
    """The stage whose mass mail `event` is."""
    return EVENT_STAGES.get(event, "publicity")


class ReleaseError(ValueError):
    """A release request cannot be carried out; the text says why and what to do."""


def release(uow: UnitOfWork, ctx: CampaignContext, event: str, *, by: str, stage: str) -> list[int]:
    """Release `event`'s held messages for sending, recording who released them (a stage step
    ``release:<event>:<first id>`` with the name and the ids); the released ids."""
    by = by.strip()
    if not by:
        raise ReleaseError("请用 --by 写明放行人的姓名，如 --by 郭丽坤")
    with uow:
        ids = sorted(release_held(uow.session, ctx.campaign_id, event, now=ctx.now))
        if ids:
            uow.repo.mark_step(
                ctx.campaign_id,
                stage,
                f"release:{event}:{ids[0]}",
                as_of=ctx.now,
                summary={"by": by, "released": len(ids), "ids": ids},
            )
        uow.commit()
    return ids
