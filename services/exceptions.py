"""截止后例外 (deadline exception): a closed stage takes nothing, except from a recommending unit
that staff allowed, by name and with a reason, to hand in that stage's material until a time.

The guards every door passes through (the CLI, the drop folder, the mailbox) live here:
`closed_arrival` (when a stage's material counts as received) and `covering` (the exception a
late arrival is taken under, if any)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from domain.calendar import SHANGHAI
from services.context import CampaignContext
from storage import orm
from storage.uow import UnitOfWork

DEADLINE_STAGES: dict[str, str] = {"application": "项目申报", "results": "提交成果"}


class ExceptionError(ValueError):
    """A grant or revoke that cannot be recorded (Chinese message naming the field and fix)."""


class ExceptionOut(BaseModel):
    """One exception as staff see it (`qcamp exceptions list`, the audit workbook, progress)."""

    id: int
    unit: str
    unit_name: str
    stage: str
    stage_label: str
    until: dt.datetime
    granted_by: str
    granted_at: dt.datetime
    reason: str
    revoked: bool
    revoked_by: str = ""
    revoked_at: dt.datetime | None = None
    revoke_reason: str = ""

    def line(self) -> str:
        """One line in Chinese: who may hand in what until when, and who allowed it."""
        until = f"{self.until.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        text = (
            f"例外#{self.id} {self.unit_name}（{self.unit}）{self.stage_label}材料可延至{until}；"
            f"{self.granted_by}批准，理由：{self.reason}"
        )
        if self.revoked:
            text += f"；已由{self.revoked_by}撤销：{self.revoke_reason}"
        return text


def deadline(ctx: CampaignContext, stage: str) -> dt.datetime:
    """The stage's deadline: 申报截止 or 成果提交截止."""
    if stage == "application":
        return ctx.calendar.application_deadline
    return ctx.calendar.results_deadline


def closed_arrival(
    uow: UnitOfWork, ctx: CampaignContext, stage: str, received_at: dt.datetime
) -> dt.datetime:
    """When material of `stage` counts as received (inside an open unit of work): once the
    stage was closed (its close step recorded), an earlier arrival is not believed — the
    material counts as received now, after the deadline."""
    if received_at < ctx.now and uow.repo.step_done(ctx.campaign_id, stage, "closed"):
        return ctx.now
    return received_at


def covering(
    uow: UnitOfWork, ctx: CampaignContext, unit_id: int, stage: str, received_at: dt.datetime
) -> orm.DeadlineException | None:
    """The exception, not revoked, that lets the unit hand in `stage` material received at
    `received_at` after the deadline (inside an open unit of work); None when none does."""
    for exc in uow.exceptions.in_force(ctx.campaign_id, unit_id, stage):
        if received_at <= exc.until:
            return exc
    return None


def _out(exc: orm.DeadlineException) -> ExceptionOut:
    unit = exc.recommending_unit
    return ExceptionOut(
        id=exc.id,
        unit=unit.code,
        unit_name=unit.name,
        stage=exc.stage,
        stage_label=DEADLINE_STAGES.get(exc.stage, exc.stage),
        until=exc.until,
        granted_by=exc.granted_by,
        granted_at=exc.granted_at,
        reason=exc.reason,
        revoked=exc.revoked_at is not None,
        revoked_by=exc.revoked_by,
        revoked_at=exc.revoked_at,
        revoke_reason=exc.revoke_reason,
    )


def _required(value: str, option: str, what: str) -> str:
    if not value.strip():
        raise ExceptionError(f"{option} 不能为空：请写明{what}。")
    return value.strip()


def grant(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit_code: str,
    stage: str,
    until: dt.datetime,
    *,
    by: str,
    reason: str,
) -> ExceptionOut:
    """批准截止后例外: the unit may hand in `stage` material until `until`."""
    if stage not in DEADLINE_STAGES:
        raise ExceptionError(
            f"--stage 的值“{stage}”不对：请写 application（项目申报）或 results（提交成果）。"
        )
    by = _required(by, "--by", "批准人姓名")
    reason = _required(reason, "--reason", "准许逾期报送的理由")
    closes = deadline(ctx, stage)
    if until <= closes:
        raise ExceptionError(
            f"--until {until.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 不晚于该阶段截止时间 "
            f"{closes.astimezone(SHANGHAI):%Y-%m-%d %H:%M}：截止前本可报送，无需例外；请写截止后的时间。"
        )
    with uow:
        unit = uow.repo.recommending_unit(unit_code)
        if unit is None:
            raise ExceptionError(
                f"--unit 的推荐单位代码“{unit_code}”未登记：请检查代码，或先用 qcamp units import 登记。"
            )
        exc = orm.DeadlineException(
            campaign_id=ctx.campaign_id,
            recommending_unit_id=unit.id,
            stage=stage,
            until=until,
            granted_by=by[:100],
            granted_at=ctx.now,
            reason=reason,
        )
        uow.add(exc)
        uow.flush()
        out = _out(exc)
        uow.commit()
    return out


def revoke(
    uow: UnitOfWork, ctx: CampaignContext, exception_id: int, *, by: str, reason: str
) -> ExceptionOut:
    """撤销例外: from now on it covers nothing more; what it let in stays recorded."""
    by = _required(by, "--by", "撤销人姓名")
    reason = _required(reason, "--reason", "撤销理由")
    with uow:
        exc = uow.exceptions.get(ctx.campaign_id, exception_id)
        if exc is None:
            raise ExceptionError(
                f"{ctx.year}年度没有编号为 {exception_id} 的例外：请用 qcamp exceptions list 查看编号。"
            )
        if exc.revoked_at is not None:
            raise ExceptionError(
                f"例外#{exception_id} 已于此前被{exc.revoked_by}撤销，无需再撤销。"
            )
        exc.revoked_by, exc.revoked_at, exc.revoke_reason = by[:100], ctx.now, reason
        out = _out(exc)
        uow.commit()
    return out


def list_exceptions(uow: UnitOfWork, ctx: CampaignContext) -> list[ExceptionOut]:
    """Every exception of the year, granted or revoked, in the order granted."""
    with uow:
        return [_out(exc) for exc in uow.exceptions.all(ctx.campaign_id)]
