"""经办人: who made a change. A staff action records the operator (`--by`, else the environment's
QCAMP_OPERATOR, else the OS user); a mail-borne change records the sender; the campaign's own
rules record ``rule:<name>``. Changes that move no project state (registers, sign-in sheets,
score sheets, visits, progress reports, expert declines) are written to the operations log."""

from __future__ import annotations

import getpass
import os
from typing import Any

from services.context import CampaignContext
from storage.uow import UnitOfWork

OPERATOR_ENV = "QCAMP_OPERATOR"
SYSTEM_ACTOR = "system"  # a service called without an actor (no person to name)


def operator(by: str | None = None) -> str:
    """Who does a staff action: `--by`, else QCAMP_OPERATOR, else the OS user."""
    for name in (by, os.environ.get(OPERATOR_ENV)):
        if name and name.strip():
            return name.strip()[:100]
    try:
        return getpass.getuser()[:100] or "unknown"
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def record_action(
    uow: UnitOfWork,
    action: str,
    actor: str,
    detail: dict[str, Any],
    ctx: CampaignContext | None = None,
) -> None:
    """One line of the operations log, in the caller's open unit of work (it commits with the
    change it describes)."""
    uow.operations.record(
        ctx.campaign_id if ctx is not None else None,
        action=action,
        actor=(actor or SYSTEM_ACTOR)[:100],
        detail=detail,
    )
