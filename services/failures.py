"""Why a run failed, in the staff's words: the cause and the fix (失败原因与处理办法).

`explain(exc)` walks the exception and its causes and names the first one it recognises: the
database unreachable, a file that cannot be read or written, the year's config, the mail
server, another run holding the stage. Anything else is named by its type with the advice to
read the traceback (kept in the run's log at DEBUG level). No Prefect here."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass

from documents.safety import UnreadableFile
from domain.calendar import CampaignConfigError
from services.context import STAGES, CampaignContext, StageReport
from services.delivery import deliver_messages
from services.messaging import send, staff_recipient
from storage.db import DatabaseUnusable
from storage.locks import RunInProgress
from storage.uow import UnitOfWork

RETRY = "排除后在仪表板的运行页面点 Retry（或重新执行 qcamp run），已完成的步骤不会重复。"


@dataclass(frozen=True)
class Explanation:
    cause: str
    fix: str

    def text(self) -> str:
        return f"失败原因：{self.cause}。处理办法：{self.fix}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_database_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("sqlalchemy", "psycopg", "sqlite3")) and (
        "Operational" in type(exc).__name__ or "Interface" in type(exc).__name__
    )


def _file_error(exc: OSError) -> Explanation:
    path = exc.filename or "（未知路径）"
    if isinstance(exc, IsADirectoryError):
        what = f"文件路径 {path} 被一个同名文件夹占用，无法写入或读取"
        fix = f"移走或改名文件夹 {path}"
    elif isinstance(exc, PermissionError):
        what = f"没有权限读写文件 {path}"
        fix = f"让运行 qcamp 的账户可以读写 {path}（检查权限或是否被其他程序占用）"
    elif isinstance(exc, FileNotFoundError):
        what = f"找不到文件 {path}"
        fix = f"把文件放回 {path}，或检查 QCAMP_OUT_DIR / QCAMP_CAMPAIGN_DIR 的设置"
    else:
        what = f"读写文件 {path} 出错（{exc.strerror or exc}）"
        fix = "检查磁盘空间、路径与权限"
    return Explanation(what, f"{fix}；{RETRY}")


AUTH_FIX = (
    "把环境变量 PREFECT_API_AUTH_STRING 设为与 Prefect 服务器的 PREFECT_SERVER_API_AUTH_STRING "
    "相同的“用户名:密码”（Docker Compose 中两者都来自 .env 的 PREFECT_AUTH），然后重新运行"
)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _recognised(exc: BaseException) -> Explanation | None:
    if _status(exc) in (401, 403):
        return Explanation(
            f"Prefect 服务器拒绝了认证（HTTP {_status(exc)}：认证字符串错误或未设置）", AUTH_FIX
        )
    if isinstance(exc, RunInProgress):
        return Explanation(str(exc), "等另一个运行结束后再运行本阶段。")
    if isinstance(exc, DatabaseUnusable) or _is_database_error(exc):
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Explanation(
            f"连不上数据库或数据库拒绝操作（{detail}）",
            "检查数据库（PostgreSQL）是否在运行、QCAMP_DATABASE_URL 与 QCAMP_DATABASE_PASSWORD "
            f"是否正确、网络是否可达；{RETRY}",
        )
    if isinstance(exc, CampaignConfigError):
        return Explanation(f"年度配置文件有误：{exc}", f"按提示改正配置文件；{RETRY}")
    if isinstance(exc, UnreadableFile):
        return Explanation(f"文件无法读取：{exc.message}", f"换成完好的文件；{RETRY}")
    if isinstance(exc, (smtplib.SMTPException, ConnectionRefusedError)):
        return Explanation(
            f"邮件服务器拒绝或无法连接（{exc}）",
            "检查年度配置中的发信通道（SMTP 地址、端口、QCAMP_SMTP_USER / QCAMP_SMTP_PASSWORD）"
            f"与邮件服务器是否可用；{RETRY}",
        )
    if isinstance(exc, OSError) and exc.filename:
        return _file_error(exc)
    return None


def explain(exc: BaseException) -> Explanation:
    """The cause and the fix of a failure, in Chinese."""
    for link in _chain(exc):
        found = _recognised(link)
        if found is not None:
            return found
    return Explanation(
        f"程序遇到未预料的错误（{type(exc).__name__}：{str(exc)[:200]}）",
        "在运行日志中把级别调到 DEBUG 查看错误详情（traceback），排除后重试；"
        "仍然失败请把运行链接发给系统维护人员。",
    )


class StageFailed(RuntimeError):
    """A stage's run failed; the message is the Chinese cause and fix (`explain`)."""


def failure_markdown(
    ctx_year: int, stage: str, done: list[StageReport], explanation: Explanation
) -> str:
    """The failed run's artifact: the cause and the fix, then what it had done before."""
    lines = [
        f"## {ctx_year}年{STAGES.get(stage, '年度活动')}：本次运行失败",
        "",
        f"**{explanation.text()}**",
        "",
        "### 失败前已完成",
        "",
    ]
    finished = [line for report in done for line in report.done]
    lines += [f"- {line}" for line in finished] or ["- （无：失败发生在第一步完成之前）"]
    lines += ["", "重新运行会从未完成的步骤继续，已完成的不会重复。"]
    return "\n".join(lines)


def notify_failure(
    uow: UnitOfWork,
    ctx: CampaignContext,
    *,
    stage: str,
    run_id: str,
    run_name: str,
    explanation: str,
    run_link: str,
) -> bool:
    """Tell the staff (their channel in the year's config) that a run failed, with its link;
    sent at once. False when this failure of this run was already told."""
    with uow:
        queued = send(
            uow,
            ctx,
            event="stage_failed",
            rule_detail=stage,
            recipient=staff_recipient(ctx),
            period=f"failed-{run_id}",
            context={
                "stage_label": STAGES.get(stage, "年度活动"),
                "run_name": run_name,
                "explanation": explanation,
                "run_link": run_link,
            },
        )
        uow.commit()
    if queued:
        deliver_messages(ctx)
    return queued
