"""项目申报受理 outside a flow: `services.intake.intake_batch` in its own unit of work, for callers
that hold no unit of work (the benchmark). The stage flow takes batches through
`tasks.application.intake_unit_batches`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from services import intake
from services.context import CampaignContext
from services.intake import IntakeError, IntakeResult
from storage.uow import UnitOfWork

__all__ = ["IntakeError", "IntakeResult", "intake_batch"]


def intake_batch(
    ctx: CampaignContext,
    unit_code: str,
    paths: Sequence[Path],
    *,
    received_at: dt.datetime | None = None,
) -> IntakeResult:
    """Take one recommending unit's batch; idempotent on the batch's content."""
    return intake.intake_batch(UnitOfWork(), ctx, unit_code, paths, received_at=received_at)
