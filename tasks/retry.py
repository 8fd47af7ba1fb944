"""How the stage tasks retry: a task whose service is idempotent (a rerun completes what is
missing and duplicates nothing) is retried twice, after 2 and 10 seconds, so that a short
database or mail-server outage does not fail the stage run."""

from __future__ import annotations

from typing import Any

OUTAGE_RETRIES: dict[str, Any] = {"retries": 2, "retry_delay_seconds": [2, 10]}
