"""来信分类: what a mail to the commission's mailbox is, from who sent it and what it carries.

Pure rules: the sender's role (推荐单位, 项目人员, 专家), the attachments' names (and the names
inside a .zip) decide the kind; the stage window open at arrival decides a batch of Word forms
that names no project (申报 while the application stage is open, else nothing to take)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

PLAN_NUMBER = re.compile(r"^TJZLGG-\d{4}-\d{3,5}_")
TAKEN_SUFFIXES = {".docx", ".xlsx", ".zip", ".pdf", ".txt", ".doc", ".xls", ".jpg", ".png"}


class SenderRole(StrEnum):
    unit = "unit"  # 推荐单位
    person = "person"  # 项目人员
    expert = "expert"  # 专家
    unknown = "unknown"


class MailKind(StrEnum):
    application = "application"  # 申报批次
    results = "results"  # 成果材料
    checkins = "checkins"  # 进度报告
    scores = "scores"  # 专家评分表
    attendance = "attendance"  # 培训签到表
    visits = "visits"  # 走访记录
    unknown = "unknown"


KIND_LABELS = {
    MailKind.application: "申报材料",
    MailKind.results: "成果材料",
    MailKind.checkins: "进度报告",
    MailKind.scores: "专家评分表",
    MailKind.attendance: "培训签到表",
    MailKind.visits: "走访记录",
    MailKind.unknown: "无法识别的材料",
}


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def classify(role: SenderRole, names: Sequence[str], application_open: bool) -> MailKind:
    """The kind of a mail from its sender's role and its files' names (zip members included)."""
    if role == SenderRole.unknown or not names:
        return MailKind.unknown
    sheets = [n for n in names if _suffix(n) == ".xlsx"]
    if role == SenderRole.expert:
        return MailKind.scores if sheets and len(sheets) == len(names) else MailKind.unknown
    if any(PLAN_NUMBER.match(n) for n in names):
        return MailKind.results
    for words, kind in (("进度", MailKind.checkins), ("签到", MailKind.attendance),
                        ("走访", MailKind.visits)):  # fmt: skip
        if sheets and all(words in n for n in sheets) and len(sheets) == len(names):
            return kind
    if role == SenderRole.unit and application_open:
        if any(_suffix(n) in (".docx", ".zip") for n in names):
            return MailKind.application
    return MailKind.unknown


def unknown_suffixes(names: Sequence[str]) -> list[str]:
    """The files of a mail whose type the commission takes in no return."""
    return [n for n in names if _suffix(n) not in TAKEN_SUFFIXES]
