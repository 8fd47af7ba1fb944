"""The state machine of an application / project (申报项目状态).

Every change goes through `check_transition`; the caller records who or which rule moved it, and
why, in the state-change log.
"""

from __future__ import annotations

from enum import StrEnum


class ProjectState(StrEnum):
    SUBMITTED = "submitted"  # 已报送
    RETURNED = "returned"  # 已退回
    ACCEPTED = "accepted"  # 已受理
    APPROVED = "approved"  # 已立项
    REJECTED = "rejected"  # 未立项
    IN_PROGRESS = "in_progress"  # 实施中
    RESULTS_SUBMITTED = "results_submitted"  # 已提交成果
    RESULTS_LATE = "results_late"  # 成果逾期
    EVALUATED = "evaluated"  # 已评定
    EXCELLENT = "excellent"  # 优秀成果（拟）
    PUBLISHED = "published"  # 已公布
    WITHDRAWN = "withdrawn"  # 已撤回

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[ProjectState, str] = {
    ProjectState.SUBMITTED: "已报送",
    ProjectState.RETURNED: "已退回",
    ProjectState.ACCEPTED: "已受理",
    ProjectState.APPROVED: "已立项",
    ProjectState.REJECTED: "未立项",
    ProjectState.IN_PROGRESS: "实施中",
    ProjectState.RESULTS_SUBMITTED: "已提交成果",
    ProjectState.RESULTS_LATE: "成果逾期未受理",
    ProjectState.EVALUATED: "已评定",
    ProjectState.EXCELLENT: "拟认定优秀成果",
    ProjectState.PUBLISHED: "已公布优秀成果",
    ProjectState.WITHDRAWN: "已撤回",
}

S = ProjectState
TRANSITIONS: dict[ProjectState, frozenset[ProjectState]] = {
    S.SUBMITTED: frozenset({S.RETURNED, S.ACCEPTED, S.WITHDRAWN}),
    S.RETURNED: frozenset({S.WITHDRAWN}),
    S.ACCEPTED: frozenset({S.APPROVED, S.REJECTED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.IN_PROGRESS, S.WITHDRAWN}),
    S.REJECTED: frozenset(),
    S.IN_PROGRESS: frozenset({S.RESULTS_SUBMITTED, S.RESULTS_LATE, S.WITHDRAWN}),
    S.RESULTS_SUBMITTED: frozenset({S.EVALUATED, S.EXCELLENT, S.WITHDRAWN}),
    # only under a recorded deadline exception (截止后例外): late material taken after all
    S.RESULTS_LATE: frozenset({S.RESULTS_SUBMITTED}),
    S.EVALUATED: frozenset(),
    S.EXCELLENT: frozenset({S.PUBLISHED, S.EVALUATED, S.WITHDRAWN}),
    S.PUBLISHED: frozenset(),
    S.WITHDRAWN: frozenset(),
}


class IllegalTransition(ValueError):
    pass


def check_transition(current: str, target: ProjectState) -> None:
    state = ProjectState(current)
    if target not in TRANSITIONS[state]:
        raise IllegalTransition(f"项目状态不能从“{state.label}”变为“{target.label}”")


# Projects in the year's plan (立项): every state from approval on.
APPROVED_STATES: frozenset[str] = frozenset(s.value for s in ProjectState) - {
    S.SUBMITTED.value,
    S.RETURNED.value,
    S.ACCEPTED.value,
    S.REJECTED.value,
}
# Projects recognised as excellent results (优秀成果), before and after publication.
EXCELLENT_STATES: frozenset[str] = frozenset({S.EXCELLENT.value, S.PUBLISHED.value})
