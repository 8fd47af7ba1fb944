"""Stage 2 立项审核: the audit workbook, the staff's decisions (dashboard form, filled workbook or
scripted policy), applying them, the published 项目计划 and every unit told its results.

Plain functions over a unit of work not yet entered; no Prefect here. The dashboard's pause form
lives in `flows/audit.py` and hands its plain data (`AuditDecisionForm`) to
`record_dashboard_decisions`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from documents.official import write_project_plan
from documents.reports import AuditWorkbookError, read_audit_workbook, write_audit_workbook
from documents.rows import DECISIONS, AuditRow, PlanRow
from documents.safety import UnreadableFile
from domain.audit import (
    APPROVAL,
    APPROVE,
    APPROVED_REASON,
    DECISION_SOURCES,
    REJECT,
    SUGGESTION_TAKEN,
    Outcome,
    application_id_from_number,
    application_number,
    plan_number,
    suggested_outcome,
)
from domain.calendar import SHANGHAI
from domain.eligibility import CHAIN_LEADER_PRIORITY, JOINT_PRIORITY
from domain.registers import unit_order
from domain.rubrics import KIND_DECISION, KINDS, project_kind
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.exceptions import DEADLINE_STAGES
from services.messaging import send, staff_recipient
from services.notices import doc_number, issuing
from storage import orm
from storage.uow import UnitOfWork

__all__ = [
    "APPROVE",
    "REJECT",
    "STAGE",
    "ApprovalDecision",
    "AuditDecisionForm",
    "DecisionError",
    "DecisionsReport",
    "RejectItem",
    "WorkbookError",
    "apply_decisions",
    "audit_workbook_path",
    "decisions_from_form",
    "import_audit_decisions",
    "pending_applications",
    "publish_plan",
    "read_audit_decisions",
    "record_approval_decisions",
    "record_dashboard_decisions",
    "remind_staff",
    "suggestion",
    "pending_rows",
    "PendingRow",
    "write_audit",
]

STAGE = "audit"


class ApprovalDecision(BaseModel):
    """One staff decision on one accepted application."""

    application_id: int
    outcome: Outcome
    reason: str = ""
    kind: str = ""  # 课题类型 as staff set it in the workbook ("" when not given)


class RejectItem(BaseModel):
    key: str = Field(title="申报编号", description="申报编号（审核表最后一列）或计划编号")
    reason: str = Field(title="理由", description="不予立项的理由（将告知推荐单位）")


class AuditDecisionForm(BaseModel):
    """What the staff submit on the dashboard's decision form, as plain data."""

    approve_all_suggestions: bool = Field(
        default=False,
        title="按建议结论决定其余项目",
        description="按审核表“建议结论”决定其余全部项目（建议通过的予以立项，建议不通过的不予立项）",
    )
    reject: list[RejectItem] = Field(
        default_factory=list,
        title="不予立项的项目",
        description="不予立项的项目：申报编号及理由（优先于建议结论）",
    )
    decided_by: str = Field(title="决定人", description="决定人姓名（记入决定记录）")


class PendingRow(BaseModel):
    """One accepted application still without a decision, as the decision form lists it."""

    key: str
    title: str
    recommending_unit: str
    suggested: str


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message says what and how to fix it."""


class WorkbookError(ValueError):
    """A filled audit workbook that cannot be read; every bad row is named."""


class DecisionsReport(StageReport):
    """The report of applying the decisions, and whether they are applied (now or earlier):
    the plan is published only after."""

    applied: bool = False


# ---------------------------------------------------------------------------------------------
# suggestions and the workbook


def suggestion(app: orm.Application) -> tuple[str, str]:
    """建议结论 (通过/不通过) and its reason, from the stored findings."""
    outcome, reason = suggested_outcome(app.findings)
    return (DECISIONS[0] if outcome == APPROVE else DECISIONS[1]), reason


def _findings_text(app: orm.Application) -> str:
    lines = [f.message for f in app.findings]
    if app.batch.exception_id:  # a late batch taken under a deadline exception
        lines.insert(0, f"逾期送达，依据截止后例外#{app.batch.exception_id}受理")
    return "\n".join(lines) or "无"


def _exception_rows(uow: UnitOfWork, ctx: CampaignContext) -> list[list[object]]:
    """The 截止后例外 sheet's rows: every exception of the year (inside an open unit of work)."""
    rows: list[list[object]] = []
    for e in uow.exceptions.all(ctx.campaign_id):
        revoked = (
            f"{e.revoked_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} {e.revoked_by}撤销：{e.revoke_reason}"
            if e.revoked_at
            else "有效"
        )
        rows.append(
            [
                e.id,
                e.recommending_unit.name,
                DEADLINE_STAGES.get(e.stage, e.stage),
                f"{e.until.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                e.granted_by,
                f"{e.granted_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                e.reason,
                revoked,
            ]
        )
    return rows


def listing_order(app: orm.Application) -> tuple[tuple[int, int, str], int]:
    """An application's place in the commission's lists: its recommending unit's place
    (`domain.registers.unit_order`), then the order it was received in."""
    unit = app.recommending_unit
    return unit_order(unit.kind, unit.name, unit.code), app.id


def audit_key(app: orm.Application, year: int) -> str:
    """申报编号 on the 立项审核表 (`domain.audit.application_number`): what the import matches."""
    return application_number(year, app.recommending_unit.code, app.id)


def audit_workbook_path(ctx: CampaignContext) -> Path:
    return ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关项目立项审核表.xlsx"


def priority(app: orm.Application) -> str:
    """优先推荐: 链主牵头联合申报 or 联合申报 (from the stored findings), else ""."""
    codes = {f.code for f in app.findings}
    if CHAIN_LEADER_PRIORITY in codes:
        return "链主牵头联合申报"
    return "联合申报" if JOINT_PRIORITY in codes else ""


def audit_order(apps: Sequence[orm.Application]) -> list[orm.Application]:
    """The workbook's order: 链主牵头 joint applications, then joint ones, then the rest (each
    group in the commission's listing order, `listing_order`)."""
    rank = {"链主牵头联合申报": 0, "联合申报": 1, "": 2}
    return sorted(apps, key=lambda a: (rank[priority(a)], listing_order(a)))


def _audit_row(seq: int, app: orm.Application, kinds: Sequence[str], year: int) -> AuditRow:
    suggested, reason = suggestion(app)
    return AuditRow(
        kind=project_kind(str(app.form.get("kind", "")), app.title, kinds=kinds),
        priority=priority(app),
        seq=seq,
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
        key=audit_key(app, year),
    )


def write_audit(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """立项审核表 of every accepted application, once; written again from the database when it
    is missing from disk while the decisions are still to be applied (staff fill it in)."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "workbook"):
            if audit_workbook_path(ctx).exists() or uow.repo.step_done(
                ctx.campaign_id, STAGE, "decisions_applied"
            ):
                return report
            rewrite = True
        else:
            rewrite = False
        apps = uow.repo.applications(
            ctx.campaign_id, [ProjectState.ACCEPTED], with_form=True, with_findings=True
        )
        kinds = ctx.config.kinds
        rows = [
            _audit_row(i, app, kinds, ctx.year) for i, app in enumerate(audit_order(apps), start=1)
        ]
        path = write_audit_workbook(
            audit_workbook_path(ctx), ctx.year, rows, kinds, _exception_rows(uow, ctx)
        )
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="audit_workbook", title="立项审核表", path=str(path)
        )
        if not rewrite:
            uow.repo.mark_step(
                ctx.campaign_id, STAGE, "workbook", as_of=ctx.now, summary={"rows": len(rows)}
            )
        uow.commit()
    report.done.append(
        f"重新生成缺失的立项审核表：{len(rows)}个已受理项目待审核"
        if rewrite
        else f"生成立项审核表：{len(rows)}个已受理项目待审核"
    )
    report.documents.append(str(path))
    return report


# ---------------------------------------------------------------------------------------------
# recording decisions


def pending_applications(uow: UnitOfWork, ctx: CampaignContext) -> list[int]:
    """Accepted applications that have no approval decision yet."""
    with uow:
        decided = uow.audit.decided_application_ids(ctx.campaign_id)
        return [
            i
            for i in uow.repo.application_ids(ctx.campaign_id, [ProjectState.ACCEPTED])
            if i not in decided
        ]


def pending_rows(uow: UnitOfWork, ctx: CampaignContext, limit: int = 200) -> list[PendingRow]:
    """The first `limit` accepted applications without a decision, for the decision form."""
    with uow:
        decided = uow.audit.decided_application_ids(ctx.campaign_id)
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.ACCEPTED], with_findings=True)
        return [
            PendingRow(
                key=audit_key(a, ctx.year),
                title=a.title,
                recommending_unit=a.recommending_unit.name,
                suggested=suggestion(a)[0],
            )
            for a in apps
            if a.id not in decided
        ][:limit]


def _decision_problems(
    decisions: Sequence[ApprovalDecision], apps: dict[int, orm.Application], existing: set[int]
) -> list[str]:
    """What is wrong with each decision (Chinese), naming the application."""
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
    return problems


def record_approval_decisions(
    uow: UnitOfWork,
    ctx: CampaignContext,
    decisions: Sequence[ApprovalDecision],
    decided_by: str,
    source: str,
) -> int:
    """Store the decisions (all or none); returns how many were new.

    A decision already recorded for an application is kept (the first word stands); to change it
    staff edit the record on the dashboard. Raises `DecisionError` naming every bad decision.
    """
    if source not in DECISION_SOURCES:
        raise DecisionError(f"决定来源“{source}”无效，应为 {'/'.join(DECISION_SOURCES)}")
    if not decided_by.strip():
        raise DecisionError("未填写决定人：请填写作出决定的工作人员姓名")
    with uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        existing = uow.audit.decided_application_ids(ctx.campaign_id)
        problems = _decision_problems(decisions, apps, existing)
        if problems:
            raise DecisionError("；".join(problems))
        new: set[int] = set()
        kinds_decided = uow.evaluation.decisions(ctx.campaign_id, KIND_DECISION)
        for d in decisions:
            if d.application_id in existing or d.application_id in new:
                continue
            new.add(d.application_id)
            if d.application_id not in kinds_decided:
                _record_kind(uow, ctx, apps[d.application_id], d, decided_by, source)
            uow.add(
                orm.Decision(
                    campaign_id=ctx.campaign_id,
                    application_id=d.application_id,
                    kind=APPROVAL,
                    outcome=d.outcome,
                    reason=d.reason.strip(),
                    decided_by=decided_by.strip(),
                    decided_at=ctx.now,
                    source=source,
                )
            )
        uow.commit()
    return len(new)


def _record_kind(
    uow: UnitOfWork,
    ctx: CampaignContext,
    app: orm.Application,
    decision: ApprovalDecision,
    decided_by: str,
    source: str,
) -> None:
    """Staff's 课题类型 for a project, recorded when it differs from what its form says (or,
    without one, what its title suggests): the rubric its result will be scored on."""
    form_kind = project_kind(str(app.form.get("kind", "")), app.title, kinds=ctx.config.kinds)
    if not decision.kind or decision.kind == form_kind:
        return
    uow.add(
        orm.Decision(
            campaign_id=ctx.campaign_id,
            application_id=app.id,
            kind=KIND_DECISION,
            outcome=decision.kind,
            reason=f"立项审核时将课题类型由“{form_kind}”改为“{decision.kind}”",
            decided_by=decided_by.strip(),
            decided_at=ctx.now,
            source=source,
        )
    )


def decisions_from_form(
    uow: UnitOfWork, ctx: CampaignContext, form: AuditDecisionForm
) -> list[ApprovalDecision]:
    """The dashboard form as decisions: listed rejections, then the suggestions if asked."""
    pending = set(pending_applications(uow, ctx))
    with uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        by_plan = {a.plan_number: a.id for a in apps.values() if a.plan_number}
        rejected: dict[int, str] = {}
        unknown = []
        for item in form.reject:
            key = item.key.strip()
            app_id = by_plan.get(key) or application_id_from_number(key)
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
                        reason=reason or SUGGESTION_TAKEN,
                    )
                )
    return decisions


def record_dashboard_decisions(
    uow: UnitOfWork, ctx: CampaignContext, form: AuditDecisionForm
) -> StageReport:
    """What the staff submitted on the dashboard form, recorded (source "dashboard"); a form
    that cannot be recorded stores nothing and the report says why."""
    report = StageReport.start(STAGE, ctx)
    try:
        decisions = decisions_from_form(uow, ctx, form)
        new = record_approval_decisions(uow, ctx, decisions, form.decided_by, "dashboard")
    except DecisionError as exc:
        report.waiting.append(f"仪表盘提交的立项决定未保存：{exc}")
        return report
    report.done.append(f"记录{form.decided_by}在仪表盘作出的立项决定{new}项")
    return report


def remind_staff(uow: UnitOfWork, ctx: CampaignContext, pending: int) -> StageReport:
    """The dashboard form timed out: a reminder to the staff (once a day); the stage waits."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        send(
            uow,
            ctx,
            event="staff_digest",
            rule_detail="audit_decision",
            recipient=staff_recipient(ctx),
            period=f"audit-{ctx.local_date().isoformat()}",
            context={
                "campaign_title": ctx.config.title,
                "day": ctx.local_date(),
                "as_of": ctx.now,
                "counts": f"立项审核：{pending}个项目尚待作出立项决定（仪表盘表单已超时关闭）",
                "failed_count": 0,
                "failures": "无",
            },
        )
        uow.commit()
    report.waiting.append(f"仪表盘决定表单超时：已提醒工作人员，{pending}个项目待决定")
    return report


# ---------------------------------------------------------------------------------------------
# the workbook's decision column


def read_audit_decisions(path: Path, kinds: Sequence[str] = KINDS) -> list[ApprovalDecision]:
    """决定/理由 of a filled 立项审核表, after the file's safety checks; rows left blank are
    skipped (still undecided). Raises `WorkbookError` naming the file and every bad row."""
    try:
        rows = read_audit_workbook(path, kinds)
    except FileNotFoundError as exc:
        raise WorkbookError(f"找不到文件 {path}：请检查路径和文件名") from exc
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        raise WorkbookError(f"{exc.message}（{path}）") from exc
    except AuditWorkbookError as exc:
        raise WorkbookError(str(exc)) from exc
    return [
        ApprovalDecision(
            application_id=row.application_id,
            outcome=APPROVE if row.decision == DECISIONS[0] else REJECT,
            reason=row.reason,
            kind=row.kind,
        )
        for row in rows
    ]


def import_audit_decisions(
    uow: UnitOfWork, ctx: CampaignContext, path: Path, decided_by: str
) -> int:
    """`qcamp audit decide`: the workbook's decisions, source "workbook"; how many were new."""
    decisions = read_audit_decisions(path, ctx.config.kinds)
    try:
        return record_approval_decisions(uow, ctx, decisions, decided_by, "workbook")
    except DecisionError as exc:
        raise WorkbookError(f"文件 {path}：{exc}；未保存任何决定") from exc


# ---------------------------------------------------------------------------------------------
# applying the decisions, the plan, the units told


def apply_decisions(uow: UnitOfWork, ctx: CampaignContext) -> DecisionsReport:
    """When every accepted application is decided: approve / reject them, number the plan.

    The report's `applied` says whether the decisions are applied (now or earlier)."""
    report = DecisionsReport(stage=STAGE, as_of=ctx.now)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "decisions_applied"):
            report.applied = True
            return report
    pending = pending_applications(uow, ctx)
    if pending:
        report.waiting.append(
            f"待工作人员作出立项决定：{len(pending)}个项目（仪表盘表单或 qcamp audit decide）"
        )
        report.counts["待决定项目"] = len(pending)
        return report
    with uow:
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id, [ProjectState.ACCEPTED])}
        seq = uow.audit.plan_numbers_given(ctx.campaign_id)
        approved = rejected = 0
        decisions = [
            d for d in uow.audit.approval_decisions(ctx.campaign_id) if d.application_id in apps
        ]
        # Plan numbers follow the commission's order (recommending units, then their applications),
        # not the order in which batches happened to arrive.
        decisions.sort(key=lambda d: listing_order(apps[d.application_id]))
        for d in decisions:
            app = apps[d.application_id]
            if d.outcome == APPROVE:
                seq += 1
                app.plan_number = plan_number(ctx.year, seq)
                reason = d.reason or APPROVED_REASON
                uow.repo.move(
                    app, ProjectState.APPROVED, at=ctx.now, actor=d.decided_by, reason=reason
                )
                approved += 1
            else:
                uow.repo.move(
                    app, ProjectState.REJECTED, at=ctx.now, actor=d.decided_by, reason=d.reason
                )
                rejected += 1
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "decisions_applied",
            as_of=ctx.now,
            summary={"approved": approved, "rejected": rejected},
        )
        uow.commit()
    report.done.append(f"立项决定生效：立项{approved}项，不予立项{rejected}项")
    report.applied = True
    return report


def _plan_rows(approved: Sequence[orm.Application]) -> list[PlanRow]:
    return [
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


def _write_plan(ctx: CampaignContext, rows: list[PlanRow], number: str = "") -> tuple[Path, Path]:
    """项目计划 (xlsx) and the notice publishing it (docx)."""
    folder = ctx.folder(STAGE)
    name = f"{ctx.year}年天津市质量攻关项目计划"
    return write_project_plan(
        folder / f"{name}.xlsx",
        folder / f"关于公布{name}的通知.docx",
        ctx.year,
        rows,
        ctx.calendar.plan_published.astimezone(SHANGHAI).date(),
        results_due=ctx.calendar.results_deadline.astimezone(SHANGHAI).date(),
        issuing=issuing(ctx, number),
    )


def _unit_results(apps: list[orm.Application], reasons: dict[int, str]) -> str:
    """One line per application of a unit: 立项 with its plan number, or 未立项 and why."""
    lines = []
    for a in sorted(apps, key=lambda a: a.id):
        if a.plan_number and a.state == ProjectState.IN_PROGRESS:
            lines.append(f"{a.plan_number} {a.title}（{a.applicant_name}）：立项")
        else:
            lines.append(f"{a.title}（{a.applicant_name}）：未立项，理由：{reasons.get(a.id, '')}")
    return "\n".join(lines)


def _tell_units(
    uow: UnitOfWork, ctx: CampaignContext, apps: Sequence[orm.Application], plan: Path
) -> int:
    """Every recommending unit with applications told which of them are approved; how many."""
    reasons = {d.application_id: d.reason for d in uow.audit.approval_decisions(ctx.campaign_id)}
    by_unit: dict[int, list[orm.Application]] = defaultdict(list)
    for app in apps:
        by_unit[app.recommending_unit_id].append(app)
    told = 0
    for unit in uow.repo.recommending_units():
        mine = by_unit.get(unit.id)
        if not mine:
            continue
        told += send(
            uow,
            ctx,
            event="approval",
            recipient=Recipient.for_recommending_unit(unit),
            context={
                "unit": unit.name,
                "campaign_title": ctx.config.title,
                "plan_published": ctx.calendar.plan_published,
                "results": _unit_results(mine, reasons),
            },
            attachments=[plan],
        )
    return told


def publish_plan(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """项目计划 (xlsx + docx notice), approved → in progress, every unit told; once.

    The report is complete once the plan is published (now or earlier)."""
    report = StageReport.start(STAGE, ctx)
    if not ctx.is_due(ctx.calendar.plan_published):
        report.waiting.append(
            f"项目计划公布时间 {ctx.calendar.plan_published.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
        return report
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "plan_published"):
            report.complete = True
            return _rewrite_plan(uow, ctx, report)
        apps = uow.repo.applications(
            ctx.campaign_id, [ProjectState.APPROVED, ProjectState.REJECTED]
        )
        approved = sorted(
            (a for a in apps if a.state == ProjectState.APPROVED), key=lambda a: a.plan_number or ""
        )
        rows = _plan_rows(approved)
        xlsx, docx = _write_plan(ctx, rows, doc_number(uow, ctx, "plan"))
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
        told = _tell_units(uow, ctx, apps, xlsx)
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "plan_published",
            as_of=ctx.now,
            summary={"projects": len(rows), "units_told": told},
        )
        uow.commit()
    report.done.append(f"公布项目计划（{len(rows)}项），通知{told}个推荐单位立项结果")
    report.documents += [str(xlsx), str(docx)]
    report.complete = True
    return report


def _rewrite_plan(uow: UnitOfWork, ctx: CampaignContext, report: StageReport) -> StageReport:
    """The published 项目计划 and its notice written again from the database (every project
    with a plan number) when one of them is missing from disk; no message, no state change."""
    name = f"{ctx.year}年天津市质量攻关项目计划"
    folder = ctx.folder(STAGE)
    if (folder / f"{name}.xlsx").exists() and (folder / f"关于公布{name}的通知.docx").exists():
        return report
    planned = sorted(
        (a for a in uow.repo.applications(ctx.campaign_id) if a.plan_number),
        key=lambda a: a.plan_number or "",
    )
    paths = _write_plan(ctx, _plan_rows(planned), doc_number(uow, ctx, "plan"))
    uow.commit()
    report.done.append(f"重新生成缺失的项目计划（{len(planned)}项）")
    report.documents += [str(p) for p in paths]
    return report
