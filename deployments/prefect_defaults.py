"""Quiet, offline defaults for Prefect in `qcamp` and its benchmark, set before Prefect is
imported anywhere (an operator's own environment wins)."""

from __future__ import annotations

import os

from deployments.ephemeral_api import CLIENT_MAX_RETRIES  # a light module: no Prefect import

DEFAULTS = {
    # Prefect's own loggers stay quiet; a run's log (the dashboard's Logs tab) still gets our
    # INFO progress lines: `flows.failures.install_failure_lines` sets the flow-run logger to
    # INFO. Task runs keep WARNING: one "Finished in state Completed()" per task would flood it.
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


# The demo and the benchmark run hundreds of flows in one terminal: the progress lines go to the
# runs' logs on the API, not to the console.
QUIET_CONSOLE = {"PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING"}


def set_prefect_defaults(*, quiet_console: bool = False) -> None:
    for name, value in (DEFAULTS | (QUIET_CONSOLE if quiet_console else {})).items():
        os.environ.setdefault(name, value)
