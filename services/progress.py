"""The dashboard's tables: campaign progress and each recommending unit's projects."""

from __future__ import annotations

from collections import Counter

from domain.calendar import SHANGHAI
from domain.progress import STATE_GROUPS, steps_text
from domain.stages import COMPLETE
from domain.states import STATE_LABELS
from services.audit import pending_applications
from services.context import STAGES, CampaignContext, markdown_table
from services.evaluation import aggregated, excellent_confirmed
from services.exceptions import list_exceptions
from services.training import rosters_missing
from storage.uow import UnitOfWork


def progress_rows(uow: UnitOfWork, ctx: CampaignContext) -> list[dict[str, str]]:
    """Per stage: its state, the steps it recorded, when it last did one."""
    with uow:
        steps = uow.repo.steps(ctx.campaign_id)
    rows = []
    for stage, label in STAGES.items():
        mine = [s for s in steps if s.stage == stage]
        complete = any(s.step == COMPLETE for s in mine)
        last = max(mine, key=lambda s: s.id) if mine else None
        rows.append(
            {
                "阶段": label,
                "状态": "已完成" if complete else ("进行中" if mine else "未开始"),
                "已完成步骤": steps_text(stage, [s.step for s in mine if s.step != COMPLETE])
                or "—",
                "最近一步时间": f"{last.as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
                if last
                else "—",
            }
        )
    return rows


def unit_status_rows(uow: UnitOfWork, ctx: CampaignContext) -> list[dict[str, str | int]]:
    """Per recommending unit: its projects, in a few groups of states (`STATE_GROUPS`)."""
    with uow:
        units = {u.id: u for u in uow.repo.recommending_units()}
        counts: dict[int, Counter[str]] = {uid: Counter() for uid in units}
        for (unit_id, state), n in uow.repo.state_counts(ctx.campaign_id).items():
            counts[unit_id][state] += n
    rows: list[dict[str, str | int]] = []
    for uid, unit in units.items():
        row: dict[str, str | int] = {"推荐单位": unit.name, "项目总数": sum(counts[uid].values())}
        for group, states in STATE_GROUPS.items():
            row[group] = sum(counts[uid][state.value] for state in states)
        rows.append(row)
    return rows


def exception_rows(uow: UnitOfWork, ctx: CampaignContext) -> list[dict[str, str | int]]:
    """截止后例外: every exception of the year, who granted it, why, and whether it was revoked."""
    rows: list[dict[str, str | int]] = []
    for e in list_exceptions(uow, ctx):
        rows.append(
            {
                "编号": e.id,
                "推荐单位": e.unit_name,
                "阶段": e.stage_label,
                "准许报送至": f"{e.until.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                "批准人": e.granted_by,
                "理由": e.reason,
                "状态": f"已撤销（{e.revoked_by}：{e.revoke_reason}）" if e.revoked else "有效",
            }
        )
    return rows


def _groups_note() -> str:
    return "；".join(
        f"{group}＝{'、'.join(STATE_LABELS[s] for s in states)}"
        for group, states in STATE_GROUPS.items()
        if len(states) > 1
    )


def blocked_items(uow: UnitOfWork, ctx: CampaignContext) -> list[str]:
    """What stops the campaign until somebody acts (待处理事项): missing sign-in sheets,
    undeliverable messages, pending staff decisions."""
    items: list[str] = []
    if rosters_missing(uow, ctx):
        items.append("宣贯培训：培训名单或签到表缺失（重新运行“宣贯培训”即按数据库补写）")
    with uow:
        failed = len(uow.messages.failed_ids(ctx.campaign_id))
    if failed:
        items.append(
            f"通知发送失败{failed}条：qcamp messages list --status failed 查看原因，核实渠道后 "
            f"qcamp messages resend --failed --year {ctx.year} 重发"
        )
    if ctx.is_due(ctx.calendar.audit):
        pending = len(pending_applications(uow, ctx))
        if pending:
            items.append(
                f"立项审核：{pending}个项目待决定（仪表板运行页面的 Resume 表单，或 qcamp audit decide）"
            )
    if (
        ctx.is_due(ctx.calendar.excellent_decision)
        and aggregated(uow, ctx)
        and not excellent_confirmed(uow, ctx)
    ):
        items.append("成果评定：优秀成果拟认定名单待质量发展处确认（仪表板表单）")
    return items


def progress_markdown(uow: UnitOfWork, ctx: CampaignContext) -> str:
    """The dashboard's campaign page: stage progress, then every recommending unit's projects."""
    day = ctx.now.astimezone(SHANGHAI)
    lines = [f"## {ctx.year}年质量攻关进度（截至 {day:%Y-%m-%d %H:%M}）", "", "### 待处理事项", ""]
    lines += [f"- {item}" for item in blocked_items(uow, ctx)] or ["（无）"]
    for title, rows in (
        ("各阶段进度", progress_rows(uow, ctx)),
        ("各推荐单位项目状态", unit_status_rows(uow, ctx)),
        ("截止后例外", exception_rows(uow, ctx)),
    ):
        lines += ["", f"### {title}", ""]
        if rows:
            lines += markdown_table(list(rows[0]), (row.values() for row in rows))
        else:
            lines.append("（无）")
    lines += ["", f"注：{_groups_note()}。"]
    lines += message_problem_lines(uow, ctx)
    return "\n".join(lines)


def message_problem_lines(uow: UnitOfWork, ctx: CampaignContext) -> list[str]:
    """Messages staff must act on: the ones that cannot be delivered (无法送达: no address and
    nobody to hand them on) and mass mail waiting for release (待放行)."""
    with uow:
        lost = uow.messages.records(ctx.campaign_id, status="undeliverable")
        held = Counter(r.event for r in uow.messages.records(ctx.campaign_id, status="held"))
    lines: list[str] = []
    if held:
        lines += ["", "### 待放行的群发通知", ""]
        lines += [
            f"- {event}：{n} 封（qcamp messages release --year {ctx.year} --event {event} "
            "--by 姓名）"
            for event, n in held.items()
        ]
    if lost:
        lines += ["", f"### 无法送达的通知（{len(lost)} 封，未发送）", ""]
        lines += markdown_table(
            ("编号", "收件人", "主题", "原因"),
            ((r.id, r.recipient_name, r.subject, r.last_error) for r in lost),
        )
    return lines
