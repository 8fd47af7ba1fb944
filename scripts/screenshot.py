"""Screenshot of the dashboard: a campaign run with its artifacts, for the README.

    uv run python scripts/screenshot.py [--projects 20] [--output docs/dashboard.png]

Starts a throwaway Prefect server (SQLite, in a temporary PREFECT_HOME) on a free port, runs the
demo campaign against it (`qcamp-demo`; if that fails, `annual_campaign` on a few dates), then
opens the flow-run page of the last campaign run in headless Chromium (Debian's `chromium`) and
saves the picture. Everything temporary is removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
DEMO_DATES = ("2025-03-20", "2025-04-21", "2025-05-12", "2025-06-20")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(api_url: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("Prefect 服务器启动失败")
        try:
            if httpx.get(f"{api_url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit("Prefect 服务器未在时限内就绪")


def run_campaign(env: dict[str, str], year: int, projects: int, work: Path) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "simulation", "--year", str(year), "--projects", str(projects)]
        + ["--out", str(work / "out" / str(year))],
        env=env,
        cwd=work,
    )
    if demo.returncode == 0:
        return
    print("演示未成功，改为直接运行 annual_campaign", file=sys.stderr)
    script = (
        "import sys\n"
        "from storage.db import upgrade\n"
        "from flows.campaign import annual_campaign\n"
        "upgrade()\n"
        "for day in sys.argv[2:]:\n"
        "    annual_campaign(year=int(sys.argv[1]), as_of=day)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(year), *DEMO_DATES], env=env, cwd=REPO, check=True
    )


SCENE_SCRIPT = """
import sys, threading
from storage.db import upgrade
upgrade()
from tests.stages.factory import context, seed
from services.audit import audit_workbook_path
from flows.audit import audit_stage
seed(8)
if sys.argv[1] == "failed":
    # the audit workbook's path taken by a folder: the run fails, its log says why
    audit_workbook_path(context("2025-05-09")).mkdir(parents=True)
    audit_stage(year=2025, as_of="2025-05-09", return_state=True)
else:
    audit_stage(year=2025, as_of="2025-05-16", wait_for_staff=True, pause_timeout=900)
"""


def run_scene(env: dict[str, str], scene: str) -> subprocess.Popen[bytes]:
    """A failed audit run, or an audit run paused for the dashboard's decision form."""
    return subprocess.Popen(
        [sys.executable, "-c", SCENE_SCRIPT, scene],
        env=env | {"PYTHONPATH": str(REPO)},
        cwd=REPO,
        start_new_session=True,
    )


def scene_run(api_url: str, state: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = post(
            api_url,
            "/flow_runs/filter",
            {"flow_runs": {"state": {"type": {"any_": [state]}}}, "limit": 1},
        )
        if runs:
            return str(runs[0]["id"])
        time.sleep(1)
    raise SystemExit(f"没有找到状态为 {state} 的运行")


def post(api_url: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{api_url}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def busiest_campaign_run(api_url: str) -> str:
    """The completed campaign run that ran the most stages (ties: the latest)."""
    runs = post(
        api_url,
        "/flow_runs/filter",
        {
            "flows": {"name": {"any_": ["annual-campaign"]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            "sort": "START_TIME_DESC",
            "limit": 100,
        },
    )
    if not runs:
        raise SystemExit("没有找到已完成的年度活动运行")

    def stages_run(run: dict[str, Any]) -> int:
        body = {"flow_runs": {"parent_flow_run_id": {"any_": [run["id"]]}}}
        return int(post(api_url, "/flow_runs/count", body))

    return max((stages_run(r), -i, r["id"]) for i, r in enumerate(runs))[2]


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1600,1000",
)

CLICK_TAB = """(() => {
  const tab = [...document.querySelectorAll('button, [role=tab], a, li')]
    .find(e => e.textContent.trim() === %s);
  if (!tab) return false;
  tab.click();
  return true;
})()"""


class DevTools:
    """Just enough of the Chrome DevTools protocol to open a page, click a tab and capture it."""

    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=30)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.5)
        return False


SCROLL_TO = """(() => {
  const hits = [...document.querySelectorAll('div, p, span')]
    .filter(e => e.children.length === 0 && e.textContent.includes(%s));
  if (!hits.length) return false;
  hits[hits.length - 1].scrollIntoView({block: 'end'});
  return true;
})()"""


def screenshot(url: str, output: Path, work: Path, tab: str, scroll_to: str = "") -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("未找到 chromium：apt-get install -y chromium")
    output.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'chromium'}"]
        + [f"--remote-debugging-port={port}", "--remote-allow-origins=*", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        pages: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not pages:
            try:
                targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
                pages = [t for t in targets if t.get("type") == "page"]
            except httpx.TransportError:
                time.sleep(0.5)
        if not pages:
            raise SystemExit("无法连接无头 Chromium")
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Page.navigate", url=url)
        label = json.dumps(tab)
        # The tab bar appears once the run is loaded; then open the tab and let it render.
        if not tools.wait_for(CLICK_TAB % label, timeout=90):
            print(f"未找到“{tab}”标签，截取当前页面", file=sys.stderr)
        time.sleep(6)
        if scroll_to and not tools.wait_for(SCROLL_TO % json.dumps(scroll_to), timeout=30):
            print(f"页面上没有“{scroll_to}”", file=sys.stderr)
        time.sleep(1)
        shot = tools.call("Page.captureScreenshot", format="png")
        output.write_bytes(base64.b64decode(shot["data"]))
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "dashboard.png")
    parser.add_argument("--tab", default="Artifacts", help="flow-run page tab (or button) to click")
    parser.add_argument(
        "--scroll-to", default="", help="scroll the last line with this text into view"
    )
    parser.add_argument(
        "--scene",
        choices=("campaign", "failed", "resume"),
        default="campaign",
        help="failed: a failed run's log; resume: a paused run's decision form",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="qcamp-shot-"))
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "QCAMP_"))}
    base |= {
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    scene: subprocess.Popen[bytes] | None = None
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "server", "start"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=base | {"PREFECT_UI_API_URL": api_url},
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(api_url, server)
        env = base | {
            "PREFECT_API_URL": api_url,
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "QCAMP_DATABASE_URL": f"sqlite:///{work / 'qcamp.sqlite'}",
            "QCAMP_OUT_DIR": str(work / "out"),
            "QCAMP_OUTBOX_DIR": str(work / "outbox"),
        }
        if args.scene == "campaign":
            started = time.monotonic()
            run_campaign(env, args.year, args.projects, work)
            print(f"活动运行完成，用时 {time.monotonic() - started:.0f} 秒")
            run_id = busiest_campaign_run(api_url)
        else:
            scene = run_scene(env, args.scene)
            run_id = scene_run(api_url, "FAILED" if args.scene == "failed" else "PAUSED")
        url = f"http://127.0.0.1:{port}/runs/flow-run/{run_id}"
        screenshot(url, args.output, work, args.tab, args.scroll_to)
        print(f"截图已保存：{args.output}（{url}）")
    finally:
        if scene is not None and scene.poll() is None:
            os.killpg(scene.pid, signal.SIGTERM)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
