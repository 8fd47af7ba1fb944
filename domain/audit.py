"""立项审核 rules: the outcomes of an approval decision, who may decide how, what the automatic
checks suggest, and how approved projects are numbered in the 项目计划."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, Protocol

APPROVAL = "approval"  # the kind of a 立项 decision (an 优秀 decision is another kind)
APPROVE, REJECT = "approve", "reject"
Outcome = Literal["approve", "reject"]
# Where a decision came from: the dashboard form, the filled workbook, the demo's scripted policy.
DECISION_SOURCES = ("dashboard", "workbook", "policy")
# Findings that make the suggestion 不通过 even on an accepted application.
REJECT_SUGGESTION_CODES = frozenset({"PAST_DUPLICATE", "DUPLICATE_PAST", "SIMILAR_TO_PAST"})
# The reason recorded when the staff take over the suggestion without a reason of their own.
SUGGESTION_TAKEN = "采纳审核建议"
# The reason recorded on an approval decided without one.
APPROVED_REASON = "立项审核通过"


class FindingFact(Protocol):
    """What the suggestion reads of a stored finding."""

    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def message(self) -> str: ...


def suggested_outcome(findings: Iterable[FindingFact]) -> tuple[Outcome, str]:
    """The outcome the automatic checks suggest, and the reason for a rejection (Chinese):
    an error-level finding, or a finding of similarity to past excellent results, rejects."""
    for f in findings:
        if f.severity == "error":
            return REJECT, f"审核发现问题：{f.message}"
        if f.code in REJECT_SUGGESTION_CODES or "PAST" in f.code:
            return REJECT, f"与历年优秀成果雷同：{f.message}"
    return APPROVE, ""


def plan_number(year: int, seq: int) -> str:
    """The 计划编号 of the `seq`-th approved project of `year` (TJZLGG-2025-0001)."""
    return f"TJZLGG-{year}-{seq:04d}"


_APPLICATION_NUMBER = re.compile(r"^(?:SB\d{4}-[A-Za-z0-9_-]+-)?0*(\d+)$")


def application_number(year: int, unit_code: str, application_id: int) -> str:
    """申报编号 as people read it on the 立项审核表: SB2025-DIST-03-0017 (the year, the
    recommending unit's code and the stored application's number)."""
    return f"SB{year}-{unit_code}-{application_id:04d}"


def application_id_from_number(text: str) -> int | None:
    """The stored application's number in a 申报编号 (also a bare number, as older workbooks
    and the dashboard form may give it); None when the text is not one."""
    match = _APPLICATION_NUMBER.match(text.strip())
    return int(match.group(1)) if match else None
