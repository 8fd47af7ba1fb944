"""A failed run as the staff read it: Chinese lines in the run's log, the traceback kept at DEBUG,
and the administrators told with the run's link (`notify_admins`, the stage flows' on_failure).

`ChineseFailureLines` sits on Prefect's flow-run and task-run loggers: an ERROR record carrying
an exception becomes one Chinese line naming the cause and the fix (`services.failures.explain`),
and the traceback goes to the same handlers as a DEBUG record; "Finished in state …" becomes
"运行结束：…"."""

from __future__ import annotations

import logging
from typing import Any

from services.context import STAGES, StageReport
from services.failures import Explanation, explain, notify_failure

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
STATE_NAMES = {
    "Completed": "已完成",
    "Failed": "失败",
    "Crashed": "崩溃",
    "Paused": "已暂停，等待仪表板表单",
    "Suspended": "已暂停，等待仪表板表单",
    "Cancelled": "已取消",
}

PREFECT_LINES = {  # Prefect's own English lines in a run's log, as the staff read them
    "Pausing flow, execution will continue when this flow run is resumed.": (
        "运行已暂停：在运行页面点 Resume 填写表单后继续"
    ),
    "Resuming flow run execution!": "表单已提交，运行继续",
    "Running hook 'notify_admins' in response to entering state 'Failed'": "正在通知管理员运行失败",
    "Hook 'notify_admins' finished running successfully": "已通知管理员（工作人员渠道，含运行链接）",
}

log = logging.getLogger(__name__)


def _debug_copy(record: logging.LogRecord) -> logging.LogRecord:
    copy = logging.makeLogRecord(record.__dict__)
    copy.levelno, copy.levelname = logging.DEBUG, "DEBUG"
    copy.msg, copy.args = "错误详情（traceback，供维护人员排查）：", None
    return copy


class ChineseFailureLines(logging.Filter):
    """Rewrites a run's failure lines in Chinese; the traceback is sent on at DEBUG."""

    def __init__(self) -> None:
        super().__init__("qcamp-failures")
        self.last: dict[str, Explanation] = {}  # flow run id -> its last explained failure

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._rewrite(record)
        except Exception:  # noqa: BLE001 - a log line must never fail the run
            pass
        return True

    def _rewrite(self, record: logging.LogRecord) -> None:
        run_id = str(getattr(record, "flow_run_id", "") or "")
        if record.exc_info and record.exc_info[1] is not None and record.levelno >= logging.ERROR:
            explanation = explain(record.exc_info[1])
            self.last[run_id] = explanation
            debug = _debug_copy(record)
            for handler in logging.getLogger(record.name).handlers:
                if debug.levelno >= handler.level:
                    handler.handle(debug)
            where = "任务失败" if record.name.endswith("task_runs") else "运行失败"
            record.msg, record.args = f"{where}。{explanation.text()}", None
            record.exc_info, record.exc_text = None, None
            return
        message = record.getMessage()
        if message in PREFECT_LINES:
            record.msg, record.args = PREFECT_LINES[message], None
            return
        if message.startswith("Finished in state "):
            state = message.removeprefix("Finished in state ").split("(", 1)[0].strip()
            what = "任务结束" if record.name.endswith("task_runs") else "运行结束"
            text = f"{what}：{STATE_NAMES.get(state, state)}"
            if state in ("Failed", "Crashed"):
                record.levelno, record.levelname = logging.ERROR, "ERROR"
                if run_id in self.last:
                    text += f"。{self.last[run_id].text()}"
            record.msg, record.args = text, None


_FILTER = ChineseFailureLines()


def install_failure_lines() -> None:
    """Put the filter on the run loggers (once per process); the flow-run logger logs INFO
    (our progress lines) unless its level is configured (PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_
    RUNS_LEVEL); Prefect's other loggers keep PREFECT_LOGGING_LEVEL (WARNING in qcamp)."""
    flow_runs = logging.getLogger(RUN_LOGGERS[0])
    if flow_runs.level == logging.NOTSET:
        flow_runs.setLevel(logging.INFO)
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def log_progress(report: StageReport) -> None:
    """A step's outcome as INFO lines in the run's log."""
    from prefect import get_run_logger

    logger = get_run_logger()
    for line in report.done:
        logger.info("完成：%s", line)
    for line in report.waiting:
        logger.info("等待：%s", line)


def run_link(flow_run_id: Any) -> str:
    """The run's page on the dashboard (PREFECT_UI_URL), or a note that there is none."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    if not base:
        return f"（未设置 PREFECT_UI_URL；运行编号 {flow_run_id}）"
    return f"{str(base).rstrip('/')}/runs/flow-run/{flow_run_id}"


def notify_admins(flow: Any, flow_run: Any, state: Any) -> None:
    """on_failure hook: the staff channel is told which run failed, why, and its link."""
    from services.context import open_campaign
    from storage.uow import UnitOfWork

    params = flow_run.parameters or {}
    stage = str(getattr(flow, "name", "")).removesuffix("-stage").replace("-", "_")
    stage = stage if stage in STAGES else "campaign"
    explanation = _FILTER.last.get(str(flow_run.id))
    text = explanation.text() if explanation else f"失败原因：{state.message or '未知'}"
    try:
        ctx = open_campaign(int(params["year"]), params.get("as_of"))
        notify_failure(
            UnitOfWork(),
            ctx,
            stage=stage,
            run_id=f"{flow_run.id.hex[:28]}-{flow_run.run_count}",  # period: 40 chars
            run_name=flow_run.name,
            explanation=text,
            run_link=run_link(flow_run.id),
        )
    except Exception as exc:  # noqa: BLE001 - the hook reports, it cannot fail the run again
        log.error("无法通知管理员运行失败（%s）：%s", type(exc).__name__, exc)
