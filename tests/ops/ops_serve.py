"""Serve the named deployments plus the test-only flaky stage: `python ops_serve.py YEAR KEY...`.

Run with the repository as the working directory and PREFECT_API_URL set; stops on SIGTERM.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ops_flows import flaky_stage  # noqa: E402

from deployments.serve import build_deployments  # noqa: E402


def main(argv: list[str]) -> None:
    year, keys = int(argv[0]), argv[1:]
    deployments = build_deployments(year, keys)
    deployments.append(
        flaky_stage.to_deployment(
            name=f"qcamp-{year}-ops-flaky", parameters={"year": year}, tags=[f"year-{year}"]
        )
    )
    serve(*deployments)


if __name__ == "__main__":
    main(sys.argv[1:])
