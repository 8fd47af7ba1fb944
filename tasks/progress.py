"""The dashboard's tables (`services.progress`), for the campaign flow and the demo's summary."""

from __future__ import annotations

from services import progress as service
from services.context import CampaignContext
from storage.uow import UnitOfWork


def progress_rows(ctx: CampaignContext) -> list[dict[str, str]]:
    """Per stage: its state, the steps it recorded, when it last did one."""
    return service.progress_rows(UnitOfWork(), ctx)


def progress_markdown(ctx: CampaignContext) -> str:
    """Stage progress, then every recommending unit's projects."""
    return service.progress_markdown(UnitOfWork(), ctx)
