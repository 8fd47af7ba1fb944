"""The campaign and its nine stages as Prefect deployments, served from one process (`qcamp serve`).

Each deployment carries the year as its default parameter and tags per year and stage, so the
dashboard can filter `year-2025` or `stage-audit`. Only the campaign has a schedule: every day at
09:00 Shanghai time; a run only does what is due by its clock (`as_of`), so a run on a weekend or
holiday finds nothing due except deadlines that fall on it. The stage deployments are run by hand
from the dashboard ("Run" / "Retry") or with `qcamp run STAGE --year Y`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from domain.calendar import SHANGHAI
from flows.parameters import in_chinese

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

TIMEZONE = "Asia/Shanghai"
CAMPAIGN_CRON = "0 9 * * *"  # 每日 09:00（北京时间）
MAILBOX_CRON = "*/10 * * * *"  # 每 10 分钟（北京时间）
WAIT_FOR_STAFF = "wait_for_staff"  # the stage flows' parameter: pause for a dashboard form

# Deployment key -> "module:flow function". Kept as import paths (not imported flows) so that
# one stage can be served, or `prefect.yaml` checked, without importing every stage's tasks.
ENTRYPOINTS: dict[str, str] = {
    "campaign": "flows.campaign:annual_campaign",
    "application": "flows.application:application_stage",
    "audit": "flows.audit:audit_stage",
    "training": "flows.training:training_stage",
    "implementation": "flows.implementation:implementation_stage",
    "follow_up": "flows.follow_up:follow_up_stage",
    "results": "flows.results:results_stage",
    "evaluation": "flows.evaluation:evaluation_stage",
    "publicity": "flows.publicity:publicity_stage",
    "promotion": "flows.promotion:promotion_stage",
}

# Served beside the campaign and its stages: the commission's mailbox, polled on a schedule.
MAILBOX_ENTRYPOINT = "flows.mailbox:poll_mailbox"
SERVED: dict[str, str] = {**ENTRYPOINTS, "mailbox": MAILBOX_ENTRYPOINT}

DESCRIPTIONS: dict[str, str] = {
    "mailbox": "收件邮箱：每 10 分钟读取新来信，按类别导入并即时回复回执或退回通知",
    "campaign": "年度质量攻关：每个工作日 09:00 运行，按日期完成各阶段到期事项",
    "application": "项目申报：发布征集通知、催报、接收推荐单位批次、截止",
    "audit": "立项审核：审核申报材料，形成年度项目计划",
    "training": "宣贯培训：通知质量负责人、项目负责人、技术骨干参加培训",
    "implementation": "项目实施：PDCA 进度填报与督促",
    "follow_up": "跟踪服务：推荐单位走访记录与问题建议",
    "results": "提交成果：接收成果材料（9月30日前，逾期不再接收）",
    "evaluation": "成果评定：抽取专家组成评定组、评分、拟定优秀成果名单",
    "publicity": "公示公布：公示（5个工作日）、异议处理、公布、证书",
    "promotion": "宣传推广：优秀成果交流会与宣传",
}


def current_year() -> int:
    return dt.datetime.now(SHANGHAI).year


def deployment_name(key: str, year: int) -> str:
    """`qcamp-2025-campaign`, `qcamp-2025-follow-up`: the name shown under each flow."""
    return f"qcamp-{year}-{key.replace('_', '-')}"


def load_flow(key: str) -> Flow[..., Any]:
    """Import the flow behind a deployment key (`campaign` or a stage name)."""
    try:
        module_name, attr = SERVED[key].split(":")
    except KeyError:
        known = ", ".join(SERVED)
        raise KeyError(f"未知阶段 {key!r}；可选：{known}") from None
    return getattr(importlib.import_module(module_name), attr)


def campaign_schedule() -> Any:
    from prefect.schedules import Cron

    return Cron(CAMPAIGN_CRON, timezone=TIMEZONE)


def scheduled(year: int) -> bool:
    """Whether the year's campaign runs daily on its own: this year's or a later one."""
    return year >= current_year()


def schedules_of(key: str, year: int) -> list[Any] | None:
    """The campaign daily at 09:00, the mailbox every 10 minutes; stages only by hand. A past
    year is served for its records and reruns, never on a schedule (a daily run of a year long
    over would do every overdue stage "now")."""
    from prefect.schedules import Cron

    if not scheduled(year):
        return None
    if key == "campaign":
        return [campaign_schedule()]
    if key == "mailbox":
        return [Cron(MAILBOX_CRON, timezone=TIMEZONE)]
    return None


def accepts(stage_flow: Flow[..., Any], parameter: str) -> bool:
    return parameter in inspect.signature(stage_flow.fn).parameters


def default_parameters(key: str, year: int) -> dict[str, Any]:
    """The year; and for stages with human decisions, pause for the dashboard's form: a run
    started from the dashboard has staff at hand to answer it."""
    parameters: dict[str, Any] = {"year": year}
    if accepts(load_flow(key), WAIT_FOR_STAFF):
        parameters[WAIT_FOR_STAFF] = True
    return parameters


def build_deployment(key: str, year: int | None = None) -> RunnerDeployment:
    year = year or current_year()
    stage_tag = key if key in ("campaign", "mailbox") else key.replace("_", "-")
    deployment = load_flow(key).to_deployment(
        name=deployment_name(key, year),
        parameters=default_parameters(key, year),
        tags=["qcamp", f"year-{year}", f"stage-{stage_tag}"],
        description=DESCRIPTIONS[key],
        schedules=schedules_of(key, year),
        # No deployment concurrency limit: its slot is a lease in the Prefect server's memory,
        # lost when the server restarts (a paused stage then crashed with 410 Gone). One run at
        # a time per stage is qcamp's own lock in the campaign database (`one_run_at_a_time`).
    )
    # the custom-run form: Chinese titles and descriptions (with the date format) per parameter
    in_chinese(deployment._parameter_openapi_schema.properties)
    return deployment


def build_deployments(
    year: int | None = None, keys: Iterable[str] | None = None
) -> list[RunnerDeployment]:
    """The campaign deployment (scheduled), the nine stage deployments (run on demand) and the
    mailbox's poll (every 10 minutes)."""
    return [build_deployment(key, year) for key in (keys or SERVED)]


def build_maintenance_deployment() -> RunnerDeployment:
    """`prune-prefect-history`: weekly, deletes Prefect's records older than the retention
    window (flows/maintenance.py), so the Prefect database stays bounded."""
    from prefect.schedules import Cron

    from flows.maintenance import DEPLOYMENT_NAME, MAINTENANCE_CRON, prune_prefect_history

    return prune_prefect_history.to_deployment(
        name=DEPLOYMENT_NAME,
        tags=["qcamp", "maintenance"],
        description="清理运行记录：每周日 03:00 删除保留期限（默认 400 天）之前的运行记录",
        schedules=[Cron(MAINTENANCE_CRON, timezone=TIMEZONE)],
        concurrency_limit=1,
    )


def serve_all(year: int | None = None, keys: Iterable[str] | None = None) -> None:
    """Serve the deployments from this process until interrupted (Ctrl-C / SIGTERM); serving all
    of them includes the weekly maintenance deployment."""
    from prefect import serve

    deployments = build_deployments(year, keys)
    if keys is None:
        deployments.append(build_maintenance_deployment())
    serve(*deployments)
