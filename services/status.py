"""活动概况: the campaign's summary as staff read it (`qcamp status`), read only."""

from __future__ import annotations

from collections import Counter
from typing import Any

from domain.intake import BATCH_REFUSED
from domain.states import APPROVED_STATES, EXCELLENT_STATES
from services.context import CampaignContext
from services.progress import progress_rows
from storage.settings import get_settings
from storage.uow import UnitOfWork


def campaign_status(uow: UnitOfWork, ctx: CampaignContext) -> dict[str, Any]:
    """Batches, projects by state, stage progress, each recommending unit's projects, messages
    and documents, with the year's config (the calendar and rules participants go by)."""
    with uow:
        apps = [(a.recommending_unit_id, a.state) for a in uow.repo.applications(ctx.campaign_id)]
        units = [(u.id, u.code, u.name) for u in uow.repo.recommending_units()]
        documents = len(uow.repo.documents(ctx.campaign_id))
        messages = uow.repo.message_counts_by_status(ctx.campaign_id)
        batches = uow.intake.batch_statuses(ctx.campaign_id)
        stage_steps: dict[str, list[str]] = {}
        for step in uow.repo.steps(ctx.campaign_id):
            stage_steps.setdefault(step.stage, []).append(step.step)
    late_units = {unit for unit, status in batches if status == "late"}
    return {
        "year": ctx.year,
        "config": ctx.config.model_dump(mode="json"),
        "batches": {
            "total": len(batches),
            "late": sum(status == "late" for _u, status in batches),
            "superseded": sum(status == "superseded" for _u, status in batches),
            "refused": sum(status == BATCH_REFUSED for _u, status in batches),
        },
        "applications": len(apps),
        "states": dict(Counter(state for _u, state in apps)),
        "stages": progress_rows(UnitOfWork(), ctx),
        "stage_steps": stage_steps,
        "units": [
            {
                "code": code,
                "name": name,
                "applications": sum(u == uid for u, _s in apps),
                "approved": sum(u == uid and s in APPROVED_STATES for u, s in apps),
                "excellent": sum(u == uid and s in EXCELLENT_STATES for u, s in apps),
                "late_batch": uid in late_units,
            }
            for uid, code, name in units
        ],
        "notifications": {
            "sent": messages.get("sent", 0),
            "pending": sum(n for s, n in messages.items() if s in ("pending", "sending")),
            "failed": messages.get("failed", 0),
            "held": messages.get("held", 0),
            "undeliverable": messages.get("undeliverable", 0),
        },
        "outbox": str(ctx.outbox),
        "documents": documents,
        "campaign_dir": str(ctx.out_dir),
        "database": get_settings().database_url.split("@")[-1],
    }
