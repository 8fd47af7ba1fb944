"""A staff decision survives a Prefect server restart: the audit stage, served as in production
(PostgreSQL-backed server with auth, `serve` in another process), pauses for the dashboard's
立项决定 form; the server is restarted while it waits; the form is then submitted and the
decisions are taken. Needs PostgreSQL (marker postgres)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from deployments.serve import deployment_name
from tests.ops.test_server_postgres import (  # noqa: F401 - fixtures used by name
    YEAR,
    Topology,
    databases,
    tail,
    topology,
    trigger,
    wait_final,
)

pytestmark = pytest.mark.postgres


def wait_paused(topo: Topology, flow_run_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with topo.client() as client:
        while time.monotonic() < deadline:
            run = client.get(f"/flow_runs/{flow_run_id}").json()
            if run["state_type"] == "PAUSED":
                return
            assert run["state_type"] not in {"COMPLETED", "FAILED", "CRASHED"}, run["state"]
            time.sleep(1)
    pytest.fail("立项审核运行没有暂停：\n" + tail(topo.logs / "serve.log"))


def test_a_pending_decision_survives_a_server_restart(
    topology: Topology,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from storage import orm
    from storage.db import engine_for, normalise_url
    from storage.uow import UnitOfWork
    from tests.stages.factory import seed

    monkeypatch.setenv("QCAMP_DATABASE_URL", topology.app_db)
    ids = seed(3)

    flow_run_id = trigger(
        topology,
        "audit-stage",
        deployment_name("audit", YEAR),
        {"year": YEAR, "as_of": "2025-05-16"},
    )
    wait_paused(topology, flow_run_id)

    topology.restart_server()
    time.sleep(15)  # the paused run polls the server every 10 s: it meets the new server
    with topology.client() as client:
        assert client.get(f"/flow_runs/{flow_run_id}").json()["state_type"] == "PAUSED"
        response = client.post(
            f"/flow_runs/{flow_run_id}/resume",
            json={
                "run_input": {
                    "approve_all_suggestions": True,
                    "reject": [{"key": str(ids[1]), "reason": "与历年成果雷同"}],
                    "decided_by": "李科长",
                }
            },
        )
        response.raise_for_status()
        assert response.json()["status"] == "ACCEPT", response.text

    run = wait_final(topology, flow_run_id)
    assert run["state_type"] == "COMPLETED", tail(topology.logs / "serve.log", 80)
    factory = sessionmaker(engine_for(normalise_url(topology.app_db)))
    with UnitOfWork(factory) as uow:
        decisions = uow.session.scalars(select(orm.Decision)).all()
        states = {a.id: a.state for a in uow.session.scalars(select(orm.Application))}
    assert {d.decided_by for d in decisions} == {"李科长"}
    assert {d.source for d in decisions} == {"dashboard"}
    assert states[ids[1]] == "rejected" and states[ids[0]] == "in_progress"
