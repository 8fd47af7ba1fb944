"""The flow parameters as the dashboard's custom-run form shows them: Chinese titles and
descriptions (with the date format).

Prefect builds a flow's parameter schema from its signature and always titles each field with
the parameter's name (a `Field(title=…)` in an `Annotated` type is overridden), so the texts are
set on the schema of each deployment (`deployments.serve.build_deployment`)."""

from __future__ import annotations

from typing import Any

PARAMETER_TEXTS: dict[str, tuple[str, str]] = {
    "year": ("活动年度", "质量攻关活动的年度，四位数字，如 2025"),
    "as_of": (
        "截至时间（活动时钟）",
        "按此时间办理到期事项（北京时间）。格式：YYYY-MM-DD（指当日 23:59:59）"
        "或 YYYY-MM-DDTHH:MM，如 2025-05-26 或 2025-05-26T10:00；留空为当前时间。",
    ),
    "wait_for_staff": (
        "在仪表盘等待工作人员决定",
        "勾选后，需要人工决定时本次运行暂停，在仪表盘显示决定表单；"
        "不勾选则记为待办，由工作人员用 qcamp 命令导入决定。",
    ),
    "pause_timeout": (
        "表单等待时间（秒）",
        "暂停等待决定表单的最长时间，单位秒（3600 即 1 小时）；超时后提醒工作人员，下次运行再次请求。",
    ),
}


def in_chinese(properties: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A parameter schema's properties with the Chinese title and description of each known
    parameter (in place; returned for convenience)."""
    for name, field in properties.items():
        if name in PARAMETER_TEXTS:
            field["title"], field["description"] = PARAMETER_TEXTS[name]
    return properties
