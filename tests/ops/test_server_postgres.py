"""The production topology without Docker: a Prefect server on PostgreSQL with API auth, our
deployments served from another process, a stage triggered through the API, and a crashed stage
retried (as the dashboard's Retry does) to completion with nothing duplicated.

Needs PostgreSQL (QCAMP_TEST_PG_URL, default postgres@127.0.0.1:5432); skipped without it, except
under CI=true where that is a failure. Takes about a minute.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from deployments.serve import ENTRYPOINTS, default_parameters, deployment_name

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("QCAMP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"
YEAR = 2025
AUTH = "ops:" + uuid.uuid4().hex[:12]
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def pg_url(dbname: str, driver: str = "postgresql") -> str:
    return driver + "://" + PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{dbname}"


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started, and its children (it leads its own session)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Topology:
    api_url: str
    app_db: str
    out_dir: Path
    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] | None = None
    server_cmd: list[str] | None = None
    server_env: dict[str, str] | None = None

    def restart_server(self) -> None:
        """Stop the Prefect server (SIGTERM, as `systemctl restart` does) and start it again on
        the same port and database."""
        assert self.procs is not None and self.server_cmd and self.server_env
        stop(self.procs[0])
        with (self.logs / "server.log").open("ab") as log:
            server = subprocess.Popen(
                self.server_cmd,
                env=self.server_env,
                cwd=self.logs.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(server)  # stopped with the others at the end
        self.procs[0] = server
        wait_healthy(self, server)

    def client(self) -> httpx.Client:
        token = base64.b64encode(AUTH.encode()).decode()
        return httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"Basic {token}"}, timeout=30
        )


@pytest.fixture(scope="module")
def databases() -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:10]
    server_db, app_db = f"prefect_srv_{suffix}", f"qcamp_ops_{suffix}"
    try:
        pg_admin(f'CREATE DATABASE "{server_db}"')
    except Exception as exc:  # psycopg.OperationalError and friends
        message = f"PostgreSQL 不可用（{PG_ADMIN_URL}）：{exc}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    pg_admin(f'CREATE DATABASE "{app_db}"')
    try:
        yield server_db, app_db
    finally:
        for name in (server_db, app_db):
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stage_keys() -> list[str]:
    return [key for key in ENTRYPOINTS if key != "campaign"]


@pytest.fixture(scope="module")
def topology(
    databases: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    server_db, app_db = databases
    from storage.db import engine_for, normalise_url, upgrade

    app_url = pg_url(app_db)
    upgrade(app_url)

    root = tmp_path_factory.mktemp("ops")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "QCAMP_"))} | {
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    }
    server_env = base | {
        "PREFECT_API_DATABASE_CONNECTION_URL": pg_url(server_db, "postgresql+asyncpg"),
        "PREFECT_SERVER_API_AUTH_STRING": AUTH,
        "PREFECT_UI_ENABLED": "false",
    }
    client_env = base | {
        "PREFECT_API_URL": api_url,
        "PREFECT_API_AUTH_STRING": AUTH,
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "QCAMP_DATABASE_URL": app_url,
        "QCAMP_OUT_DIR": str(root / "out"),
        "QCAMP_FAIL_AFTER_STEP": "register",
    }
    prefect_bin = str(Path(sys.executable).with_name("prefect"))
    logs = root / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    server_cmd = [prefect_bin, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    try:
        with (logs / "server.log").open("wb") as log:
            server = subprocess.Popen(
                server_cmd,
                env=server_env,
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(server)
        topo = Topology(
            api_url, app_url, root / "out", client_env, logs, procs, server_cmd, server_env
        )
        wait_healthy(topo, server)

        with (logs / "serve.log").open("wb") as log:
            served = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "tests/ops/ops_serve.py"),
                    str(YEAR),
                    *ENTRYPOINTS,
                ],
                env=client_env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(served)
        wait_deployment(topo, served, "ops-flaky-stage", f"qcamp-{YEAR}-ops-flaky")
        yield topo
    finally:
        for proc in reversed(procs):
            stop(proc)
        engine_for(normalise_url(app_url)).dispose()


def wait_healthy(topo: Topology, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with topo.client() as client:
        while time.monotonic() < deadline:
            assert server.poll() is None, "Prefect 服务器退出：\n" + tail(topo.logs / "server.log")
            try:
                if client.get("/health").status_code == 200:
                    # Auth is on: health probes are open, the API itself refuses strangers.
                    assert httpx.get(topo.api_url + "/version").status_code == 401
                    assert client.get("/version").status_code == 200
                    return
            except httpx.TransportError:
                pass
            time.sleep(1)
    pytest.fail("Prefect 服务器未就绪：\n" + tail(topo.logs / "server.log"))


def wait_deployment(
    topo: Topology, served: subprocess.Popen[bytes], flow_name: str, name: str, timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with topo.client() as client:
        while time.monotonic() < deadline:
            assert served.poll() is None, "部署进程退出：\n" + tail(topo.logs / "serve.log")
            response = client.get(f"/deployments/name/{flow_name}/{name}")
            if response.status_code == 200:
                return response.json()
            time.sleep(1)
    pytest.fail(f"部署 {flow_name}/{name} 未出现：\n" + tail(topo.logs / "serve.log"))


def trigger(topo: Topology, flow_name: str, name: str, parameters: dict[str, Any]) -> str:
    """What the dashboard's "Run" does: a flow run created from the deployment."""
    with topo.client() as client:
        deployment = client.get(f"/deployments/name/{flow_name}/{name}").json()
        response = client.post(
            f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters}
        )
        response.raise_for_status()
        return str(response.json()["id"])


def retry(topo: Topology, flow_run_id: str) -> None:
    """What the dashboard's "Retry" does: the failed run goes back to Scheduled (AwaitingRetry)."""
    with topo.client() as client:
        response = client.post(
            f"/flow_runs/{flow_run_id}/set_state",
            json={
                "state": {"type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry"},
                "force": True,
            },
        )
        response.raise_for_status()


def wait_final(topo: Topology, flow_run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with topo.client() as client:
        while time.monotonic() < deadline:
            run = client.get(f"/flow_runs/{flow_run_id}").json()
            if run["state_type"] in FINAL:
                return run
            time.sleep(1)
    pytest.fail(f"运行 {flow_run_id} 未结束：\n" + tail(topo.logs / "serve.log"))


def latest_artifact(topo: Topology, key: str) -> dict[str, Any] | None:
    with topo.client() as client:
        response = client.post(
            "/artifacts/latest/filter", json={"artifacts": {"key": {"any_": [key]}}}
        )
        response.raise_for_status()
        found = response.json()
    return found[0] if found else None


def test_stage_deployment_runs_through_the_api(topology: Topology) -> None:
    # every served stage has its deployment, tagged by year and stage
    with topology.client() as client:
        for key in stage_keys():
            flow_name = ENTRYPOINTS[key].split(":")[1].replace("_", "-")
            response = client.get(f"/deployments/name/{flow_name}/{deployment_name(key, YEAR)}")
            assert response.status_code == 200, (key, response.text)
            deployment = response.json()
            assert f"year-{YEAR}" in deployment["tags"]
            assert f"stage-{key.replace('_', '-')}" in deployment["tags"]
            assert deployment["parameters"] == default_parameters(key, YEAR)

    # a past year's campaign is served without its daily schedule (the test year is past)
    with topology.client() as client:
        campaign = client.get(
            f"/deployments/name/annual-campaign/{deployment_name('campaign', YEAR)}"
        ).json()
    assert campaign["schedules"] == []

    flow_run_id = trigger(
        topology,
        "audit-stage",
        deployment_name("audit", YEAR),
        {"year": YEAR, "as_of": "2025-05-08"},
    )
    run = wait_final(topology, flow_run_id)
    assert run["state_type"] == "COMPLETED", tail(topology.logs / "serve.log")
    assert run["name"] == "2025-立项审核-2025-05-08"
    artifact = latest_artifact(topology, "campaign-2025-audit")
    assert artifact is not None and "立项审核" in artifact["data"]


def test_crashed_stage_retried_completes_without_duplicates(topology: Topology) -> None:
    from sqlalchemy.orm import sessionmaker

    from storage import orm
    from storage.db import engine_for, normalise_url
    from storage.uow import UnitOfWork

    factory = sessionmaker(engine_for(normalise_url(topology.app_db)))

    def step_counts() -> dict[str, int]:
        with UnitOfWork(factory) as uow:
            rows = uow.session.execute(
                select(orm.StageStep.step, func.count())
                .where(orm.StageStep.stage == "audit")
                .group_by(orm.StageStep.step)
            ).all()
        return {step: n for step, n in rows}

    def documents() -> list[str]:
        with UnitOfWork(factory) as uow:
            return [
                d.title
                for d in uow.session.scalars(
                    select(orm.DocumentRecord).where(orm.DocumentRecord.kind == "ops-test")
                )
            ]

    flow_run_id = trigger(
        topology,
        "ops-flaky-stage",
        f"qcamp-{YEAR}-ops-flaky",
        {"year": YEAR, "as_of": "2025-05-09"},
    )
    run = wait_final(topology, flow_run_id)
    assert run["state_type"] == "FAILED", tail(topology.logs / "serve.log")
    # the first step was committed before the crash; the second never ran
    counts = step_counts()
    assert counts.get("register") == 1 and "notify" not in counts
    assert documents() == ["register"]

    retry(topology, flow_run_id)
    run = wait_final(topology, flow_run_id)
    assert run["state_type"] == "COMPLETED", tail(topology.logs / "serve.log")
    assert run["run_count"] >= 2  # the same flow run, run again

    counts = step_counts()
    assert counts["register"] == 1 and counts["notify"] == 1 and counts["complete"] == 1
    assert sorted(documents()) == ["notify", "register"]
    assert sorted(p.name for p in (topology.out_dir / str(YEAR)).rglob("*.txt")) == [
        "notify.txt",
        "register.txt",
    ]
    artifact = latest_artifact(topology, "campaign-2025-audit")
    assert artifact is not None and "完成步骤 notify" in artifact["data"]
    assert "register 已于上次运行完成" in artifact["data"]

    # the custom state-change events reached the server, one per committed step
    deadline = time.monotonic() + 30
    events: list[dict[str, Any]] = []
    with topology.client() as client:
        while time.monotonic() < deadline and len(events) < 2:
            response = client.post(
                "/events/filter",
                json={"filter": {"event": {"prefix": ["qcamp.application."]}}, "limit": 50},
            )
            response.raise_for_status()
            events = response.json()["events"]
            time.sleep(1)
    assert sorted(e["resource"]["prefect.resource.id"] for e in events) == [
        "qcamp.application.1000",
        "qcamp.application.1001",
    ]
    assert {e["event"] for e in events} == {"qcamp.application.returned"}


def test_prefect_yaml_deploys_to_a_process_worker(topology: Topology) -> None:
    """The `prefect.yaml` route: work pool, `prefect deploy`, a process worker runs the stage."""
    prefect_bin = str(Path(sys.executable).with_name("prefect"))
    env = topology.env | {"QCAMP_PROJECT_DIR": str(REPO), "PREFECT_WORKER_QUERY_SECONDS": "2"}

    def prefect(*args: str) -> None:
        done = subprocess.run(
            [prefect_bin, "--no-prompt", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    prefect("work-pool", "create", "qcamp-pool", "--type", "process")
    prefect("deploy", "--prefect-file", str(REPO / "prefect.yaml"), "--name", "qcamp-audit")
    with topology.client() as client:
        deployment = client.get("/deployments/name/audit-stage/qcamp-audit").json()
    assert deployment["work_pool_name"] == "qcamp-pool"
    assert "stage-audit" in deployment["tags"]

    with (topology.logs / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [prefect_bin, "worker", "start", "--pool", "qcamp-pool"],
            env=env,
            cwd=topology.out_dir.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        flow_run_id = trigger(
            topology, "audit-stage", "qcamp-audit", {"year": YEAR, "as_of": "2025-05-10"}
        )
        run = wait_final(topology, flow_run_id, timeout=180)
        assert run["state_type"] == "COMPLETED", tail(topology.logs / "worker.log", 80)
        assert run["name"] == "2025-立项审核-2025-05-10"
    finally:
        stop(worker)


def test_a_wrong_auth_string_is_told_in_chinese_with_the_fix(topology: Topology) -> None:
    """`qcamp serve` and `qcamp run` against the server with a wrong PREFECT_API_AUTH_STRING."""
    qcamp = str(Path(sys.executable).with_name("qcamp"))
    env = topology.env | {"PREFECT_API_AUTH_STRING": "ops:wrong"}
    for args in (["serve", "--year", str(YEAR)], ["run", "audit", "--year", str(YEAR)]):
        done = subprocess.run(
            [qcamp, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
        )
        said = done.stdout + done.stderr
        assert done.returncode in (1, 2), said
        assert "Prefect 服务器拒绝了认证" in said and "PREFECT_API_AUTH_STRING" in said, said
        assert "Traceback" not in said
