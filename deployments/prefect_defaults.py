"""Quiet, offline defaults for Prefect in `qcamp` and its benchmark, set before Prefect is
imported anywhere (an operator's own environment wins)."""

from __future__ import annotations

import os

from deployments.ephemeral_api import CLIENT_MAX_RETRIES  # a light module: no Prefect import

DEFAULTS = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Prefect's SDK telemetry (a background thread sending usage events) stays off.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # Retries of requests the API answers "busy".
    "PREFECT_CLIENT_MAX_RETRIES": str(CLIENT_MAX_RETRIES),
}


def set_prefect_defaults() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
