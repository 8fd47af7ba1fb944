"""How the dashboard's progress page names things: each recorded stage step in the campaign's
own words (`call` → 征集通知已发布, `sheet:P001` → 评分表 P001), and the project states grouped
into a few columns so that the per-unit table fits the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from domain.checkins import period_label
from domain.states import ProjectState

# (stage, step) → label, for the steps recorded once per stage
STEP_LABELS: dict[tuple[str, str], str] = {
    ("application", "call"): "征集通知已发布",
    ("application", "closed"): "申报已截止",
    ("audit", "workbook"): "立项审核表已生成",
    ("audit", "decisions_applied"): "立项决定已执行",
    ("audit", "plan_published"): "项目计划已公布",
    ("results", "closed"): "成果提交已截止",
    ("evaluation", "panels_drawn"): "评定组已抽取",
    ("evaluation", "aggregated"): "评分已汇总",
    ("evaluation", "excellent_confirmed"): "优秀成果名单已确认",
    ("evaluation", "states_applied"): "评定结果已生效",
    ("publicity", "published"): "评定结果已公布",
    ("promotion", "meeting_planned"): "交流会已安排",
}

# step kind (the part before ":") → how the label reads with the step's own key
KEYED_LABELS: dict[str, str] = {
    "assigned": "培训分配（{}）",
    "attendance": "{}场次签到已导入",
    "reinvited": "{}场次缺席人员已通知补训",
    "requested": "{}进度报告已请求",
    "chased": "{}进度报告已催报",
    "coverage": "走访覆盖情况（{}）",
    "sheet": "评分表 {}",
}

COMPLETE_LABEL = "阶段完成"


def _key_text(kind: str, key: str) -> str:
    """A step's own key as read: a clock `20250526T100000` → 5月26日, a period `2025-06` →
    2025年6月, `final` → 成果提交截止; anything else as it is (a 培训场次 S1, a panel P001)."""
    if kind == "assigned":
        try:
            day = dt.datetime.strptime(key, "%Y%m%dT%H%M%S")
        except ValueError:
            return key
        return f"{day.month}月{day.day}日"
    if kind in ("requested", "chased", "coverage"):
        if key == "final":
            return "成果提交截止"
        try:
            return period_label(key)
        except ValueError:
            return key
    return key


def step_label(stage: str, step: str) -> str:
    """A recorded stage step in Chinese; a step not known here is shown as recorded."""
    if step == "complete":
        return COMPLETE_LABEL
    if (stage, step) in STEP_LABELS:
        return STEP_LABELS[(stage, step)]
    kind, sep, key = step.partition(":")
    if sep and kind in KEYED_LABELS:
        return KEYED_LABELS[kind].format(_key_text(kind, key))
    return step


def steps_text(stage: str, steps: Iterable[str]) -> str:
    """The steps of one stage as one cell, in order; the steps of one kind that repeat per key
    are folded into one entry (评分表 P001、P002; 2025年6月、2025年7月进度报告已请求) to stay
    short. Empty when there is none."""
    entries: list[str | tuple[str, list[str]]] = []
    keyed: dict[str, list[str]] = {}
    for step in steps:
        kind, sep, key = step.partition(":")
        if sep and kind in KEYED_LABELS:
            if kind not in keyed:
                keyed[kind] = []
                entries.append((kind, keyed[kind]))
            keyed[kind].append(_key_text(kind, key))
        else:
            entries.append(step_label(stage, step))
    return "；".join(
        e if isinstance(e, str) else KEYED_LABELS[e[0]].format("、".join(e[1])) for e in entries
    )


S = ProjectState
# the per-unit table's columns: a few groups of states, in the campaign's order
STATE_GROUPS: dict[str, tuple[ProjectState, ...]] = {
    "申报中": (S.SUBMITTED, S.ACCEPTED),
    "已立项": (S.APPROVED,),
    "实施中": (S.IN_PROGRESS,),
    "已提交成果": (S.RESULTS_SUBMITTED, S.EVALUATED),
    "优秀成果": (S.EXCELLENT, S.PUBLISHED),
    "未立项或退出": (S.RETURNED, S.REJECTED, S.RESULTS_LATE, S.WITHDRAWN),
}
