"""Facts every message template of the middle stages may use, as typed values."""

from __future__ import annotations

from typing import Any

from tasks.context import CampaignContext


def template_facts(ctx: CampaignContext) -> dict[str, Any]:
    cal = ctx.calendar
    return {
        "campaign_title": ctx.config.title,
        "plan_published": cal.plan_published,
        "results_deadline": cal.results_deadline,
        "as_of": ctx.now,
    }
