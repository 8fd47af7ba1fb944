"""成果评定's panels: the draw with recusal over every submitted result, each panel's score sheet
with an invitation to its members, and an expert's declining a seat."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from documents.evaluation import write_draw_record
from documents.panel_roster import RosterRow, write_panel_roster
from documents.reports import ScoreGroup, write_score_workbook
from domain.evaluation import (
    INVITATION_REPLY_DAYS,
    EvaluationError,
    panel_seed,
    split_list,
)
from domain.models import ExpertProfile
from domain.panels import (
    Panel,
    PanelDraw,
    Recusal,
    ResultToEvaluate,
    draw_panels,
    replace_decliner,
)
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.evaluation import (
    STAGE,
    expert_name,
    find_panel,
    panel_sheet_path,
    panel_title,
    result_key,
    result_kinds,
    score_criteria,
)
from services.messaging import send
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# records as the draw sees them


def _members(app: orm.Application) -> list[str]:
    names = {p.name for p in app.people}
    for m in (app.form or {}).get("members", []) or []:
        if isinstance(m, dict) and m.get("name"):
            names.add(str(m["name"]))
    for role in ("project_lead", "quality_lead"):
        lead = (app.form or {}).get(role) or {}
        if isinstance(lead, dict) and lead.get("name"):
            names.add(str(lead["name"]))
    return sorted(names)


def result_to_evaluate(app: orm.Application) -> ResultToEvaluate:
    """A result as the draw needs it: chain, applicant, joint units, unit and members."""
    return ResultToEvaluate(
        key=result_key(app),
        chain=app.chain,
        title=app.title,
        applicant=app.applicant_name,
        joint_units=split_list(str((app.form or {}).get("joint_units", "") or "")),
        recommending_unit=app.recommending_unit.name,
        members=_members(app),
    )


def expert_profile(expert: orm.Expert) -> ExpertProfile:
    """An expert of the pool as the draw needs them."""
    return ExpertProfile(
        key=expert.key,
        name=expert.name,
        organisation=expert.organisation,
        fields=list(expert.fields or []),
        title=expert.title,
        recused_units=list(expert.recused_units or []),
    )


# ---------------------------------------------------------------------------------------------
# score sheets and invitations


def write_panel_sheet(ctx: CampaignContext, uow: UnitOfWork, panel: orm.ExpertPanel) -> Path:
    """评分表 of one panel, inside an open unit of work: a sheet per current member, a row per
    result; recorded as the stage's document."""
    apps = {a.id: a for a in uow.evaluation.panel_applications(panel)}
    experts = {e.key: e for e in uow.evaluation.experts(panel.members)}
    path = panel_sheet_path(ctx, panel)
    path.parent.mkdir(parents=True, exist_ok=True)
    kinds = result_kinds(uow, ctx, apps.values())
    groups = [
        ScoreGroup(
            rubric.kind,
            score_criteria(rubric),
            [
                (result_key(apps[i]), apps[i].title, apps[i].applicant_name)
                for i in panel.application_ids
                if kinds[i] == rubric.kind
            ],
        )
        for rubric in ctx.config.rubrics
    ]
    write_score_workbook(
        path, panel_title(panel), groups, [expert_name(experts[k]) for k in panel.members]
    )
    uow.repo.record_document(
        ctx.campaign_id,
        stage=STAGE,
        kind="score_sheet",
        title=f"评分表（评定组{panel.key}）",
        path=str(path),
    )
    return path


def invite(
    uow: UnitOfWork,
    ctx: CampaignContext,
    panel: orm.ExpertPanel,
    expert: orm.Expert,
    sheet: Path,
) -> bool:
    """Queue a member's invitation with the panel's score sheet; False when already queued."""
    return send(
        uow,
        ctx,
        event="panel_invitation",
        recipient=Recipient.for_expert(expert),
        period=panel.key,
        context={
            "campaign_title": ctx.config.title,
            "panel_name": panel_title(panel),
            "review_at": ctx.config.panel_review_at,
            "place": ctx.rules.review_place,
            "project_count": len(panel.application_ids),
            "scores_due": ctx.calendar.scores_due,
            "reply_by": (ctx.calendar.panel_draw + dt.timedelta(days=INVITATION_REPLY_DAYS)).date(),
        },
        attachments=[sheet],
    )


def _rewrite_sheets(
    uow: UnitOfWork, ctx: CampaignContext, keys: list[str], report: StageReport
) -> None:
    """The score sheets of panels already invited that are missing on disk, written again from
    the database (current members and results); nobody is invited again."""
    if not keys:
        return
    with uow:
        paths = [write_panel_sheet(ctx, uow, find_panel(uow, ctx, key)) for key in keys]
        uow.commit()
    report.done.append(f"重新生成缺失的评分表{len(paths)}份：评定组{'、'.join(keys)}")
    report.documents += [str(p) for p in paths]


def send_score_sheets(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """Once per panel: its score sheet, and an invitation with the sheet to each member (one
    transaction per panel, so a rerun completes the panels that are missing)."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        todo, lost = [], []
        for p in uow.evaluation.panels(ctx.campaign_id):
            if not uow.repo.step_done(ctx.campaign_id, STAGE, f"sheet:{p.key}"):
                todo.append(p.key)
            elif not panel_sheet_path(ctx, p).exists():
                lost.append(p.key)
    _rewrite_sheets(uow, ctx, lost, report)
    sheets: list[Path] = []
    invited = 0
    for key in todo:
        with uow:
            panel = find_panel(uow, ctx, key)
            sheet = write_panel_sheet(ctx, uow, panel)
            for expert in uow.evaluation.experts(panel.members):
                invited += invite(uow, ctx, panel, expert, sheet)
            uow.repo.mark_step(ctx.campaign_id, STAGE, f"sheet:{key}", as_of=ctx.now)
            uow.commit()
        sheets.append(sheet)
    if sheets:
        report.done.append(f"生成评分表{len(sheets)}份，向评定组专家发出评审邀请{invited}人次")
        report.documents += [str(s) for s in sheets]
    return report


# ---------------------------------------------------------------------------------------------
# the draw


def _draw_record(
    ctx: CampaignContext, draw: PanelDraw, p: Panel, recusals: dict[str, list[Recusal]]
) -> dict[str, Any]:
    return {
        "drawn_at": ctx.now.isoformat(),
        "inputs_digest": draw.inputs_digest,
        "min_size": draw.min_size,
        "reserves_asked": draw.reserves,
        "result_keys": list(p.result_keys),
        "match_tier": p.match_tier,
        "match_note": p.match_note,
        "shortfall_note": p.shortfall_note,
        "excluded": [rc.model_dump() for k in p.result_keys for rc in recusals.get(k, [])],
        "declined": [],
        "replacements": [],
    }


def _store_draw(
    uow: UnitOfWork,
    ctx: CampaignContext,
    draw: PanelDraw,
    seed: int,
    apps: Sequence[orm.Application],
) -> None:
    by_key = {result_key(a): a for a in apps}
    recusals: dict[str, list[Recusal]] = {}
    for rc in draw.recusals:
        recusals.setdefault(rc.result_key, []).append(rc)
    for p in draw.panels:
        uow.add(
            orm.ExpertPanel(
                campaign_id=ctx.campaign_id,
                key=p.panel_id,
                chain=p.chain,
                seed=seed,
                members=list(p.members),
                reserves=list(p.reserves),
                application_ids=[by_key[k].id for k in p.result_keys],
                draw_record=_draw_record(ctx, draw, p, recusals),
            )
        )


def _draw_ready(
    uow: UnitOfWork, ctx: CampaignContext, report: StageReport
) -> tuple[Sequence[orm.Application], Sequence[orm.Expert]] | None:
    """The results to evaluate and the pool, or None (with why, in `report`) when the draw
    cannot happen yet."""
    apps = uow.repo.applications(
        ctx.campaign_id, [ProjectState.RESULTS_SUBMITTED], with_form=True, with_people=True
    )
    if not apps:
        report.waiting.append("没有待评定的成果（已提交成果的项目为0）")
        return None
    experts = uow.evaluation.experts()
    if len(experts) < ctx.rules.panel_min_size:
        report.waiting.append(
            f"专家库仅有{len(experts)}名专家，不足{ctx.rules.panel_min_size}人："
            "请先导入专家库（qcamp experts import 专家库.xlsx）"
        )
        return None
    return apps, experts


def write_roster(uow: UnitOfWork, ctx: CampaignContext) -> tuple[Path, Path]:
    """评定组名单 as the panels stand now (inside an open unit of work): members then reserves
    of each panel, by name; written after the draw and after every change of a panel."""
    rows: list[RosterRow] = []
    for panel in sorted(uow.evaluation.panels(ctx.campaign_id), key=lambda p: p.key):
        for role, keys in (("组员", panel.members), ("备选", panel.reserves)):
            for key in keys:
                expert = uow.evaluation.expert(key)
                rows.append(
                    RosterRow(
                        panel=panel.key,
                        chain=panel.chain,
                        role=role,
                        name=expert.name if expert else key,
                        organisation=expert.organisation if expert else "",
                        title=expert.title if expert else "",
                    )
                )
    name = f"{ctx.year}年天津市质量攻关技术评定组名单"
    paths = write_panel_roster(
        ctx.folder(STAGE) / f"{name}.docx",
        ctx.folder(STAGE) / f"{name}.xlsx",
        ctx.year,
        rows,
        ctx.local_date(),
    )
    for path in paths:
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="panel_roster", title=name, path=str(path)
        )
    return paths


def draw_expert_panels(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """Once: the panels over every submitted result, recorded with seed, reserves and recusals,
    and the draw's record as a document."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "panels_drawn"):
            return report
        ready = _draw_ready(uow, ctx, report)
        if ready is None:
            return report
        apps, experts = ready
        seed = panel_seed(ctx.year, ctx.rules.panel_seed)
        draw = draw_panels(
            [result_to_evaluate(a) for a in apps],
            [expert_profile(e) for e in experts],
            seed=seed,
            min_size=ctx.rules.panel_min_size,
            reserves=ctx.rules.panel_reserves,
            max_results=ctx.rules.max_results_per_panel,
        )
        _store_draw(uow, ctx, draw, seed, apps)
        uow.flush()
        roster = write_roster(uow, ctx)
        record = write_draw_record(
            ctx.folder(STAGE) / f"{ctx.year}年质量攻关评定组抽取记录.json",
            draw.model_dump(mode="json"),
        )
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="panel_draw",
            title="评定组抽取记录",
            path=str(record),
        )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "panels_drawn",
            as_of=ctx.now,
            summary={
                "seed": seed,
                "panels": len(draw.panels),
                "results": len(apps),
                "experts": len(experts),
                "recusals": len(draw.recusals),
                "unassigned": [u.model_dump() for u in draw.unassigned],
                "inputs_digest": draw.inputs_digest,
            },
        )
        uow.commit()
    report.done.append(
        f"随机抽取评定组{len(draw.panels)}个（随机种子 {seed}），覆盖成果{len(apps) - len(draw.unassigned)}项，"
        f"回避情形{len(draw.recusals)}处"
    )
    for u in draw.unassigned:
        report.waiting.append(
            f"成果 {u.result_key}（{u.chain}）未能组成评定组：{u.reason}，需补充专家"
        )
    report.counts["评定组"] = len(draw.panels)
    report.documents += [str(record), *(str(p) for p in roster)]
    return report


# ---------------------------------------------------------------------------------------------
# an expert declines


def _as_draw(panel: orm.ExpertPanel, max_results: int) -> PanelDraw:
    record = panel.draw_record or {}
    return PanelDraw(
        seed=panel.seed,
        min_size=int(record.get("min_size", len(panel.members))),
        reserves=int(record.get("reserves_asked", len(panel.reserves))),
        max_load=None,
        max_results=int(record.get("max_results", max_results)),
        inputs_digest=str(record.get("inputs_digest", "")),
        panels=[
            Panel(
                panel_id=panel.key,
                chain=panel.chain,
                result_keys=list(record.get("result_keys", [])),
                members=list(panel.members),
                reserves=list(panel.reserves),
                declined=[d["expert_key"] for d in record.get("declined", [])],
            )
        ],
        recusals=[Recusal.model_validate(r) for r in record.get("excluded", [])],
    )


def _record_decline(
    ctx: CampaignContext,
    panel: orm.ExpertPanel,
    expert_key: str,
    replacement: str | None,
    reason: str,
    note: str,
) -> None:
    record = dict(panel.draw_record or {})
    at = ctx.now.isoformat()
    record["declined"] = [
        *record.get("declined", []),
        {"expert_key": expert_key, "reason": reason, "at": at},
    ]
    record["replacements"] = [
        *record.get("replacements", []),
        {
            "declined": expert_key,
            "replacement": replacement,
            "reason": reason,
            "note": note,
            "at": at,
        },
    ]
    panel.draw_record = record


def decline(
    uow: UnitOfWork,
    ctx: CampaignContext,
    panel_key: str,
    expert_key: str,
    reason: str,
    *,
    actor: str = SYSTEM_ACTOR,
) -> str | None:
    """An expert declines a seat: the first conflict-free reserve takes it, is sent the rewritten
    score sheet and invited; the change is recorded on the panel. Returns the replacement's key,
    or None when no reserve is left (the panel then needs a supplementary draw)."""
    if not reason.strip():
        raise EvaluationError("请填写专家谢绝的原因（--reason）")
    with uow:
        panel = find_panel(uow, ctx, panel_key)
        if expert_key not in panel.members and expert_key not in panel.reserves:
            raise EvaluationError(
                f"专家 {expert_key} 不是评定组{panel_key}的成员或备选专家：请核对专家编号"
            )
        if uow.evaluation.has_scored(panel.id, expert_key):
            raise EvaluationError(f"专家 {expert_key} 已提交评分，不能再谢绝")
        new, replacement = replace_decliner(
            _as_draw(panel, ctx.rules.max_results_per_panel), panel_key, expert_key
        )
        p = new.panel(panel_key)
        _record_decline(ctx, panel, expert_key, replacement, reason, new.replacements[-1].note)
        panel.members = list(p.members)
        panel.reserves = list(p.reserves)
        uow.flush()
        write_roster(uow, ctx)
        if expert_key in p.declined and replacement is not None:
            sheet = write_panel_sheet(ctx, uow, panel)
            new_member = uow.evaluation.expert(replacement)
            if new_member is not None:
                invite(uow, ctx, panel, new_member, sheet)
        detail = {"panel": panel_key, "expert": expert_key, "replacement": replacement}
        record_action(uow, "expert_decline", actor, detail, ctx)
        uow.commit()
    log.info("专家 %s 谢绝评定组%s，递补：%s", expert_key, panel_key, replacement or "无")
    return replacement
