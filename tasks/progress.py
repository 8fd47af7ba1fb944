"""The dashboard's tables (`services.progress`), for the campaign flow and the demo's summary."""

from __future__ import annotations

from services import progress as service
from services.context import CampaignContext
from storage.uow import UnitOfWork


def progress_markdown(ctx: CampaignContext) -> str:
    """Stage progress, then every recommending unit's projects."""
    return service.progress_markdown(UnitOfWork(), ctx)
