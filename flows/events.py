"""Custom Prefect events for project state changes, so automations can act on them.

Each change emits `qcamp.application.<to_state>` (e.g. `qcamp.application.returned`) on the resource
`qcamp.application.<id>`, related to the campaign year. In the dashboard: Events; in automations:
trigger on `qcamp.application.returned` and e.g. send a notification.

Events are emitted only where a Prefect server is configured (`PREFECT_API_URL`: served
deployments, workers, the test harness), because that is where automations live. With the
temporary API of a one-off local run (`qcamp-demo`, `qcamp run` without a server; see
`deployments.ephemeral_api`) nothing can listen, and a simulated year's
thousands of state changes would only load the throwaway server; there, and outside Prefect
altogether, this does nothing (no error, no warning), so scripts and tests may call it freely.
"""

from __future__ import annotations

import logging
import os
from enum import Enum
from typing import Any

EVENT_PREFIX = "qcamp.application"

logger = logging.getLogger(__name__)


def state_value(state: str | Enum | None) -> str | None:
    if state is None:
        return None
    value = state.value if isinstance(state, Enum) else state
    return str(value)


def event_name(to_state: str | Enum) -> str:
    """`returned` -> `qcamp.application.returned`."""
    return f"{EVENT_PREFIX}.{str(state_value(to_state)).strip().lower().replace(' ', '_')}"


# The URLs of the temporary APIs this process is serving (`deployments.ephemeral_api` adds and
# removes them): a run there is a one-off local run.
TEMPORARY_APIS: set[str] = set()


# Set by a process serving a temporary API, for its child processes (e.g. the chaos demo's).
TEMPORARY_API_ENV = "QCAMP_TEMPORARY_API_URL"


def serving_temporary_api(url: str | None) -> bool:
    """Whether `url` is a temporary API of this process or of the parent that started this one
    (not a configured Prefect server)."""
    return url in TEMPORARY_APIS or (bool(url) and url == os.environ.get(TEMPORARY_API_ENV))


def should_emit() -> bool:
    """Only towards a configured Prefect server (see the module docstring)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return bool(url) and not serving_temporary_api(url)


def emit_state_change(
    application_id: int,
    from_state: str | Enum | None,
    to_state: str | Enum,
    year: int,
    reason: str = "",
    *,
    actor: str = "",
    title: str = "",
    unit: str = "",
) -> Any | None:
    """Emit the event for one project's state change; returns the Event, or None if not sent.

    Never raises: a failure to emit is logged at debug level and the state change stands.
    """
    if not should_emit():
        return None
    try:
        from prefect.events import emit_event

        resource = {
            "prefect.resource.id": f"{EVENT_PREFIX}.{application_id}",
            "prefect.resource.name": title or f"申报项目 {application_id}",
            "qcamp.year": str(year),
        }
        if unit:
            resource["qcamp.unit"] = unit
        related = [
            {
                "prefect.resource.id": f"qcamp.campaign.{year}",
                "prefect.resource.role": "campaign",
                "prefect.resource.name": f"{year}年质量攻关",
            }
        ]
        payload = {
            "application_id": application_id,
            "from_state": state_value(from_state),
            "to_state": state_value(to_state),
            "year": year,
            "reason": reason,
            "actor": actor,
        }
        return emit_event(
            event=event_name(to_state), resource=resource, related=related, payload=payload
        )
    except Exception:  # events are a convenience; never break the state change
        logger.debug("could not emit state-change event", exc_info=True)
        return None
