"""How stages address people: recipients from stored records, messages queued in the caller's
unit of work (so a message commits with the change that caused it), and delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from notifications.recipients import Recipient
from notifications.service import enqueue
from notifications.templates import campaign_context
from storage import orm
from storage.uow import UnitOfWork
from tasks.context import CampaignContext


def unit_recipient(unit: orm.RecommendingUnit) -> Recipient:
    return Recipient(
        key=f"ru:{unit.code}",
        name=unit.name,
        kind="recommending_unit",
        email=unit.email,
        channels=list(unit.channels or []),
    )


def person_recipient(person: orm.ProjectPerson) -> Recipient:
    return Recipient(
        key=f"person:{person.person_key}",
        name=person.name,
        kind="project_person",
        email=person.email,
        channels=[],
    )


def expert_recipient(expert: orm.Expert) -> Recipient:
    return Recipient(
        key=f"expert:{expert.key}", name=expert.name, kind="expert", email=expert.email, channels=[]
    )


def staff_recipient(ctx: CampaignContext) -> Recipient:
    return Recipient(
        key="staff",
        name=f"{ctx.config.issuer}{ctx.config.department}",
        kind="staff",
        email=ctx.config.email,
        channels=[],
    )


def campaign_facts(ctx: CampaignContext) -> dict[str, Any]:
    """The facts every template may use: the campaign's config and the clock."""
    return {**campaign_context(ctx.config), "as_of": ctx.now}


def send(
    uow: UnitOfWork,
    ctx: CampaignContext,
    *,
    event: str,
    rule: str,
    recipient: Recipient,
    period: str = "",
    context: dict[str, Any] | None = None,
    attachments: list[Path] | None = None,
) -> bool:
    """Queue one message; False when the same (event, recipient, period) was already queued."""
    record_id = enqueue(
        uow.session,
        campaign_id=ctx.campaign_id,
        event=event,
        rule=rule,
        recipient=recipient,
        period=period,
        context={**campaign_facts(ctx), **(context or {})},
        attachments=attachments or [],
        now=ctx.now,
    )
    return record_id is not None
