"""Stage 2 立项审核: the audit workbook, the staff's decisions (dashboard form, workbook or
scripted policy), applying them, the published 项目计划 and every unit told its results."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from openpyxl import load_workbook
from prefect import task
from prefect.input import RunInput
from pydantic import BaseModel, Field
from sqlalchemy import select

from documents.official import write_project_plan
from documents.reports import AUDIT_SHEET, write_audit_workbook
from documents.rows import DECISIONS, AuditRow, PlanRow
from documents.xlsx_style import FIRST_DATA_ROW, HEADER_ROW
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "audit"
APPROVE, REJECT = "approve", "reject"
Outcome = Literal["approve", "reject"]
SOURCES = ("dashboard", "workbook", "policy")
# Findings that make the suggestion 不通过 even on an accepted application.
REJECT_SUGGESTION_CODES = frozenset({"PAST_DUPLICATE", "DUPLICATE_PAST", "SIMILAR_TO_PAST"})


class ApprovalDecision(BaseModel):
    """One staff decision on one accepted application."""

    application_id: int
    outcome: Outcome
    reason: str = ""


class RejectItem(BaseModel):
    key: str = Field(description="申报编号（审核表最后一列）或计划编号")
    reason: str = Field(description="不予立项的理由（将告知推荐单位）")


class AuditDecisionInput(RunInput):
    """The form the audit flow shows in the dashboard while it waits for the staff."""

    approve_all_suggestions: bool = Field(
        default=False,
        description="按审核表“建议结论”决定其余全部项目（建议通过的予以立项，建议不通过的不予立项）",
    )
    reject: list[RejectItem] = Field(
        default_factory=list, description="不予立项的项目：申报编号及理由（优先于建议结论）"
    )
    decided_by: str = Field(description="决定人姓名（记入决定记录）")


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message says what and how to fix it."""


# ---------------------------------------------------------------------------------------------
# suggestions and the workbook


def suggestion(app: orm.Application) -> tuple[str, str]:
    """建议结论 (通过/不通过) and its reason, from the stored findings."""
    for f in app.findings:
        if f.severity == "error":
            return DECISIONS[1], f"审核发现问题：{f.message}"
        if f.code in REJECT_SUGGESTION_CODES or "PAST" in f.code:
            return DECISIONS[1], f"与历年优秀成果雷同：{f.message}"
    return DECISIONS[0], ""


def _findings_text(app: orm.Application) -> str:
    return "\n".join(f.message for f in app.findings) or "无"


def audit_key(app: orm.Application) -> str:
    return str(app.id)


@task(name="audit-workbook", task_run_name="audit-workbook-{ctx.year}")
def write_audit(ctx: CampaignContext, outcome: StageReport) -> None:
    """立项审核表 of every accepted application, once."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "workbook"):
            return
        apps = uow.repo.applications(
            ctx.campaign_id, [ProjectState.ACCEPTED], with_form=True, with_findings=True
        )
        rows = []
        for i, app in enumerate(apps, start=1):
            suggested, reason = suggestion(app)
            rows.append(
                AuditRow(
                    seq=i,
                    title=app.title,
                    applicant=app.applicant_name,
                    uscc=app.uscc,
                    district=app.district,
                    chain=app.chain,
                    project_type=app.project_type,
                    recommending_unit=app.recommending_unit.name,
                    findings_text=_findings_text(app),
                    unit_opinion=str(app.form.get("recommendation_opinion", "")),
                    suggested_decision=suggested,
                    reason=reason,
                    key=audit_key(app),
                )
            )
        path = audit_workbook_path(ctx)
        write_audit_workbook(path, ctx.year, rows)
        _hide_key_column(path)
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="audit_workbook", title="立项审核表", path=str(path)
        )
        uow.repo.mark_step(
            ctx.campaign_id, STAGE, "workbook", as_of=ctx.now, summary={"rows": len(rows)}
        )
        uow.commit()
    outcome.done.append(f"生成立项审核表：{len(rows)}个已受理项目待审核")
    outcome.documents.append(str(path))


def audit_workbook_path(ctx: CampaignContext) -> Path:
    return ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关项目立项审核表.xlsx"


def _hide_key_column(path: Path) -> None:
    wb = load_workbook(path)
    ws = wb[AUDIT_SHEET]
    headers = [c.value for c in ws[HEADER_ROW]]
    if "申报编号" in headers:
        letter = ws.cell(row=HEADER_ROW, column=headers.index("申报编号") + 1).column_letter
        ws.column_dimensions[letter].hidden = True
    wb.save(path)


# ---------------------------------------------------------------------------------------------
# recording decisions


def pending_applications(ctx: CampaignContext) -> list[int]:
    """Accepted applications that have no approval decision yet."""
    with UnitOfWork() as uow:
        decided = set(
            uow.session.scalars(
                select(orm.Decision.application_id).where(
                    orm.Decision.campaign_id == ctx.campaign_id, orm.Decision.kind == "approval"
                )
            )
        )
        return [
            i
            for i in uow.repo.application_ids(ctx.campaign_id, [ProjectState.ACCEPTED])
            if i not in decided
        ]


def record_approval_decisions(
    ctx: CampaignContext,
    decisions: Sequence[ApprovalDecision],
    decided_by: str,
    source: str,
) -> int:
    """Store the decisions (all or none); returns how many were new.

    A decision already recorded for an application is kept (the first word stands); to change it
    staff edit the record on the dashboard. Raises `DecisionError` naming every bad decision.
    """
    if source not in SOURCES:
        raise DecisionError(f"决定来源“{source}”无效，应为 {'/'.join(SOURCES)}")
    if not decided_by.strip():
        raise DecisionError("未填写决定人：请填写作出决定的工作人员姓名")
    with UnitOfWork() as uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        existing = {
            d.application_id
            for d in uow.session.scalars(
                select(orm.Decision).where(
                    orm.Decision.campaign_id == ctx.campaign_id, orm.Decision.kind == "approval"
                )
            )
        }
        problems = []
        for d in decisions:
            app = apps.get(d.application_id)
            if app is None:
                problems.append(f"申报编号 {d.application_id} 不是本年度的申报项目")
            elif app.state != ProjectState.ACCEPTED and d.application_id not in existing:
                problems.append(
                    f"申报编号 {d.application_id}（{app.title}）状态为"
                    f"“{ProjectState(app.state).label}”，只能对“已受理”的项目作立项决定"
                )
            elif d.outcome == REJECT and not d.reason.strip():
                problems.append(f"申报编号 {d.application_id}（{app.title}）不予立项须填写理由")
        if problems:
            raise DecisionError("；".join(problems))
        new = 0
        seen: set[int] = set()
        for d in decisions:
            if d.application_id in existing or d.application_id in seen:
                continue
            seen.add(d.application_id)
            uow.session.add(
                orm.Decision(
                    campaign_id=ctx.campaign_id,
                    application_id=d.application_id,
                    kind="approval",
                    outcome=d.outcome,
                    reason=d.reason.strip(),
                    decided_by=decided_by.strip(),
                    decided_at=ctx.now,
                    source=source,
                )
            )
            new += 1
        uow.commit()
    return new


def decisions_from_input(ctx: CampaignContext, form: AuditDecisionInput) -> list[ApprovalDecision]:
    """The dashboard form as decisions: listed rejections, then the suggestions if asked."""
    pending = set(pending_applications(ctx))
    with UnitOfWork() as uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        by_plan = {a.plan_number: a.id for a in apps.values() if a.plan_number}
        rejected: dict[int, str] = {}
        unknown = []
        for item in form.reject:
            key = item.key.strip()
            app_id = int(key) if key.isdigit() else by_plan.get(key)
            if app_id is None or app_id not in apps:
                unknown.append(key)
                continue
            rejected[app_id] = item.reason
        if unknown:
            raise DecisionError(f"找不到以下申报编号：{'、'.join(unknown)}；请按审核表最后一列填写")
        decisions = [
            ApprovalDecision(application_id=i, outcome=REJECT, reason=r)
            for i, r in rejected.items()
        ]
        if form.approve_all_suggestions:
            for app_id in sorted(pending - rejected.keys()):
                suggested, reason = suggestion(apps[app_id])
                decisions.append(
                    ApprovalDecision(
                        application_id=app_id,
                        outcome=APPROVE if suggested == DECISIONS[0] else REJECT,
                        reason=reason or "采纳审核建议",
                    )
                )
    return decisions


# ---------------------------------------------------------------------------------------------
# the workbook's decision column


class WorkbookError(ValueError):
    """A filled audit workbook that cannot be read; every bad row is named."""


def read_audit_decisions(path: Path) -> list[ApprovalDecision]:
    """决定/理由 of a filled 立项审核表; rows left blank are skipped (still undecided)."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds
        raise WorkbookError(
            f"无法打开文件 {path}：{exc}。请提供系统生成的立项审核表（.xlsx）。"
        ) from exc
    if AUDIT_SHEET not in wb.sheetnames:
        raise WorkbookError(
            f"文件 {path} 中没有“{AUDIT_SHEET}”工作表：请使用系统生成的立项审核表填写决定。"
        )
    ws = wb[AUDIT_SHEET]
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    headers = [str(h).strip() if h is not None else "" for h in rows[0]] if rows else []
    missing = [h for h in ("决定", "理由", "申报编号") if h not in headers]
    if missing:
        raise WorkbookError(
            f"文件 {path} 的“{AUDIT_SHEET}”工作表缺少列：{'、'.join(missing)}。"
            "请勿删除或改名表头，使用系统生成的立项审核表重新填写。"
        )
    c_dec, c_reason, c_key = (headers.index(h) for h in ("决定", "理由", "申报编号"))
    letter = {i: chr(ord("A") + i) for i in range(len(headers))}
    decisions: list[ApprovalDecision] = []
    problems: list[str] = []
    for n, row in enumerate(rows[1:], start=FIRST_DATA_ROW):
        values = list(row) + [None] * (len(headers) - len(row))
        key, decision, reason = values[c_key], values[c_dec], values[c_reason]
        decision_text = str(decision).strip() if decision is not None else ""
        reason_text = str(reason).strip() if reason is not None else ""
        if key is None or str(key).strip() == "":
            if decision_text:
                problems.append(
                    f"第{n}行 {letter[c_key]}列（申报编号）为空：请勿删除申报编号，"
                    "可从原审核表复制该行"
                )
            continue
        if not decision_text:
            continue
        key_text = str(key).strip().removesuffix(".0")
        if not key_text.isdigit():
            problems.append(
                f"第{n}行 {letter[c_key]}列（申报编号）“{key_text}”无效：应为系统生成的数字编号"
            )
            continue
        if decision_text not in DECISIONS:
            problems.append(
                f"第{n}行 {letter[c_dec]}列（决定）“{decision_text}”无效：请从下拉列表选择“通过”或“不通过”"
            )
            continue
        if decision_text == DECISIONS[1] and not reason_text:
            problems.append(f"第{n}行 {letter[c_reason]}列（理由）为空：不通过的项目须填写理由")
            continue
        decisions.append(
            ApprovalDecision(
                application_id=int(key_text),
                outcome=APPROVE if decision_text == DECISIONS[0] else REJECT,
                reason=reason_text,
            )
        )
    wb.close()
    if problems:
        raise WorkbookError(
            f"文件 {path} 有{len(problems)}处错误，未保存任何决定：" + "；".join(problems)
        )
    return decisions


def import_audit_decisions(ctx: CampaignContext, path: Path, decided_by: str) -> int:
    """`qcamp audit decide`: the workbook's decisions, source "workbook"."""
    decisions = read_audit_decisions(path)
    try:
        return record_approval_decisions(ctx, decisions, decided_by, "workbook")
    except DecisionError as exc:
        raise WorkbookError(f"文件 {path}：{exc}；未保存任何决定") from exc


# ---------------------------------------------------------------------------------------------
# applying the decisions, the plan, the units told


def plan_number(year: int, seq: int) -> str:
    return f"TJZLGG-{year}-{seq:04d}"


@task(name="apply-decisions", task_run_name="apply-decisions-{ctx.year}")
def apply_decisions(ctx: CampaignContext, outcome: StageReport) -> bool:
    """When every accepted application is decided: approve / reject them, number the plan.

    Returns True once the decisions are applied (now or earlier)."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "decisions_applied"):
            return True
    pending = pending_applications(ctx)
    if pending:
        outcome.waiting.append(
            f"待工作人员作出立项决定：{len(pending)}个项目（仪表盘表单或 qcamp audit decide）"
        )
        outcome.counts["待决定项目"] = len(pending)
        return False
    with UnitOfWork() as uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id, [ProjectState.ACCEPTED])}
        decisions = uow.session.scalars(
            select(orm.Decision)
            .where(orm.Decision.campaign_id == ctx.campaign_id, orm.Decision.kind == "approval")
            .order_by(orm.Decision.application_id)
        ).all()
        used = uow.session.scalars(
            select(orm.Application.plan_number).where(
                orm.Application.campaign_id == ctx.campaign_id,
                orm.Application.plan_number.is_not(None),
            )
        ).all()
        seq = len(used)
        approved = rejected = 0
        for d in decisions:
            app = apps.get(d.application_id)
            if app is None:
                continue
            actor, at = d.decided_by, ctx.now
            if d.outcome == APPROVE:
                seq += 1
                app.plan_number = plan_number(ctx.year, seq)
                uow.repo.move(
                    app,
                    ProjectState.APPROVED,
                    at=at,
                    actor=actor,
                    reason=d.reason or "立项审核通过",
                )
                approved += 1
            else:
                uow.repo.move(app, ProjectState.REJECTED, at=at, actor=actor, reason=d.reason)
                rejected += 1
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "decisions_applied",
            as_of=ctx.now,
            summary={"approved": approved, "rejected": rejected},
        )
        uow.commit()
    outcome.done.append(f"立项决定生效：立项{approved}项，不予立项{rejected}项")
    return True


@task(name="publish-plan", task_run_name="publish-plan-{ctx.year}")
def publish_plan(ctx: CampaignContext, outcome: StageReport) -> bool:
    """项目计划 (xlsx + docx notice), approved → in progress, every unit told; once."""
    if not ctx.is_due(ctx.calendar.plan_published):
        outcome.waiting.append(
            f"项目计划公布时间 {ctx.calendar.plan_published.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
        return False
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "plan_published"):
            return True
        apps = uow.repo.applications(
            ctx.campaign_id, [ProjectState.APPROVED, ProjectState.REJECTED]
        )
        approved = sorted(
            (a for a in apps if a.state == ProjectState.APPROVED), key=lambda a: a.plan_number or ""
        )
        rows = [
            PlanRow(
                seq=i,
                title=a.title,
                applicant=a.applicant_name,
                district=a.district,
                chain=a.chain,
                project_type=a.project_type,
                recommending_unit=a.recommending_unit.name,
            )
            for i, a in enumerate(approved, start=1)
        ]
        folder = ctx.folder(STAGE)
        name = f"{ctx.year}年天津市质量攻关项目计划"
        xlsx, docx = write_project_plan(
            folder / f"{name}.xlsx",
            folder / f"关于公布{name}的通知.docx",
            ctx.year,
            rows,
            ctx.calendar.plan_published.astimezone(SHANGHAI).date(),
            issuer=ctx.config.issuer,
            results_due=ctx.calendar.results_deadline.astimezone(SHANGHAI).date(),
        )
        for path, kind, title in (
            (xlsx, "project_plan", "项目计划"),
            (docx, "project_plan_notice", "项目计划公布通知"),
        ):
            uow.repo.record_document(
                ctx.campaign_id, stage=STAGE, kind=kind, title=title, path=str(path)
            )
        for app in approved:
            uow.repo.move(
                app,
                ProjectState.IN_PROGRESS,
                at=ctx.now,
                actor="rule:plan_published",
                reason="项目计划公布",
            )
        reasons = {
            d.application_id: d.reason
            for d in uow.session.scalars(
                select(orm.Decision).where(
                    orm.Decision.campaign_id == ctx.campaign_id, orm.Decision.kind == "approval"
                )
            )
        }
        by_unit: dict[int, list[orm.Application]] = defaultdict(list)
        for app in apps:
            by_unit[app.recommending_unit_id].append(app)
        told = 0
        for unit in uow.repo.recommending_units():
            mine = by_unit.get(unit.id)
            if not mine:
                continue
            lines = []
            for a in sorted(mine, key=lambda a: a.id):
                if a.plan_number and a.state == ProjectState.IN_PROGRESS:
                    lines.append(f"{a.plan_number} {a.title}（{a.applicant_name}）：立项")
                else:
                    lines.append(
                        f"{a.title}（{a.applicant_name}）：未立项，理由：{reasons.get(a.id, '')}"
                    )
            told += send(
                uow,
                ctx,
                event="approval",
                recipient=Recipient.for_recommending_unit(unit),
                context={
                    "unit": unit.name,
                    "campaign_title": ctx.config.title,
                    "plan_published": ctx.calendar.plan_published,
                    "results": "\n".join(lines),
                },
                attachments=[xlsx],
            )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "plan_published",
            as_of=ctx.now,
            summary={"projects": len(rows), "units_told": told},
        )
        uow.commit()
    outcome.done.append(f"公布项目计划（{len(rows)}项），通知{told}个推荐单位立项结果")
    outcome.documents += [str(xlsx), str(docx)]
    return True
