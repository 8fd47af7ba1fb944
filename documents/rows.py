"""Plain rows that the document writers take.

The writers know nothing of the database: callers map their records to these rows. Every text
field is what appears in the document, already in Chinese.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.checkins import PDCA_PHASES
from domain.findings import split_fix
from domain.models import Finding, Severity, SummaryRow

__all__ = [
    "AgendaEntry",
    "AuditRow",
    "CertificateData",
    "CertificateKind",
    "CheckinRequest",
    "CommendedPerson",
    "CommendedUnit",
    "ExpertScoreSheet",
    "FeedbackRow",
    "NoticeEntry",
    "PlanRow",
    "RosterRow",
    "ScoreCriterion",
    "ScoreSheetRow",
    "ScoreWorkbook",
    "SummaryRow",
    "TrainingSession",
    "VisitCoverageRow",
    "DECISIONS",
    "PDCA_PHASES",
    "SIGNIN_MARKS",
]

_ROW = ConfigDict(frozen=True, str_strip_whitespace=True)

DECISIONS: tuple[str, str] = ("通过", "不通过")
SIGNIN_MARKS: tuple[str, ...] = ("已签到", "缺席", "请假")


class AuditRow(BaseModel):
    """One application on the 立项审核表."""

    model_config = _ROW

    seq: int
    title: str  # 项目名称
    applicant: str  # 申报单位
    uscc: str = ""  # 统一社会信用代码
    district: str = ""  # 所属区
    chain: str = ""  # 所属产业链
    project_type: str = ""  # 项目类型
    recommending_unit: str = ""  # 推荐单位
    findings_text: str = ""  # 审核发现, one per line
    unit_opinion: str = ""  # 推荐单位意见
    suggested_decision: str = ""  # 建议结论 (通过/不通过, from the automatic checks)
    decision: str = ""  # 决定 (left empty for the commission)
    reason: str = ""  # 理由
    key: str = ""  # application id, written in a hidden column for the import
    kind: str = ""  # 课题类型 (the form's, else what the title suggests); staff may change it
    priority: str = ""  # 优先推荐: 联合申报 / 链主牵头联合申报, listed first


class PlanRow(BaseModel):
    """One project of the published 项目计划."""

    model_config = _ROW

    seq: int
    title: str
    applicant: str
    district: str = ""
    chain: str = ""
    project_type: str = ""
    recommending_unit: str = ""


class FeedbackRow(BaseModel):
    """审核意见: one finding on one file of a unit's batch, and how to fix it."""

    model_config = _ROW

    seq: int
    file: str = ""  # 文件名
    title: str = ""  # 项目名称
    applicant: str = ""  # 申报单位
    severity: Severity = Severity.ERROR
    field: str = ""  # 涉及内容
    message: str  # 问题
    fix: str = ""  # 修改要求

    @classmethod
    def from_finding(
        cls, seq: int, finding: Finding, *, title: str = "", applicant: str = "", fix: str = ""
    ) -> FeedbackRow:
        """The finding's message split into 问题说明 and 修改要求 (its 「请…」 clause) unless a
        fix is given; a note that asks nothing (受理说明) says so."""
        message, asked = split_fix(finding.message)
        if not fix and not asked and finding.severity == Severity.INFO:
            asked = "无需修改"
        return cls(
            seq=seq,
            file=finding.file,
            title=title,
            applicant=applicant,
            severity=finding.severity,
            field=finding.field,
            message=message if (fix or asked) else finding.message,
            fix=fix or asked,
        )


class TrainingSession(BaseModel):
    """宣贯培训: one session."""

    model_config = _ROW

    key: str  # short id, e.g. "S1"
    name: str  # e.g. "第一期质量攻关培训班"
    date: dt.date
    time: str = ""  # e.g. "9:00-12:00"
    place: str = ""


class RosterRow(BaseModel):
    """One trainee on a session's roster."""

    model_config = _ROW

    session_key: str
    person_key: str  # stable id, written on the sign-in sheet so the import can match
    name: str
    unit: str
    role: str  # 质量负责人 / 项目负责人 / 技术骨干
    project: str = ""
    phone: str = ""


class CheckinRequest(BaseModel):
    """进度报告: what the commission asks one project unit to return."""

    model_config = _ROW

    project_key: str
    title: str
    applicant: str
    recommending_unit: str = ""
    period: str = ""  # e.g. "2025年第三季度"
    due: dt.date | None = None
    indicator: str = ""  # 攻关指标, e.g. "焊缝气孔不良率"
    indicator_unit: str = ""  # e.g. "%"
    baseline: str = ""  # 基线值
    target: str = ""  # 目标值


class VisitCoverageRow(BaseModel):
    """跟踪服务 coverage of one recommending unit."""

    model_config = _ROW

    recommending_unit: str
    projects: int  # 项目数
    visited_projects: int  # 已走访项目数
    visits: int = 0  # 走访次数
    last_visit: dt.date | None = None
    not_visited: list[str] = Field(default_factory=list)  # titles of projects not yet visited


class ScoreSheetRow(BaseModel):
    """One expert's cells for one result, as read back from a score sheet (not yet checked:
    the rules of `domain.scoring` decide what a good score is)."""

    model_config = _ROW

    expert: str  # the expert's label, 张三（E1a2b3c4d）
    result_key: str
    scores: dict[str, Any]  # criterion key -> the cell's value (None when left blank)
    remark: str = ""
    sheet: str = ""  # the expert's sheet
    row: int = 0  # the row on that sheet


class ScoreCriterion(BaseModel):
    """One criterion column of a score sheet, from its hidden ``_meta`` sheet."""

    model_config = _ROW

    key: str
    name: str
    max_points: float
    column: str  # letter, "E"
    kind: str = ""  # the project kind (课题类型) whose rubric it belongs to


class ExpertScoreSheet(BaseModel):
    """One expert's sheet of a returned score workbook."""

    model_config = _ROW

    sheet: str
    expert: str  # the expert's label
    kind: str = ""  # the project kind (课题类型) the sheet scores
    has_result_keys: bool = True  # False when the 成果编号 header was changed or removed
    rows: list[ScoreSheetRow] = Field(default_factory=list)


class ScoreWorkbook(BaseModel):
    """A returned score workbook: the panel it was written for, its criteria and each expert's
    sheet (sheets named in ``_meta`` but deleted from the workbook are left out)."""

    model_config = _ROW

    panel: str  # the panel's title, 评定组P001（焊材）
    criteria: list[ScoreCriterion]
    sheets: list[ExpertScoreSheet]


class NoticeEntry(BaseModel):
    """One result on the 公示 / 公布 lists."""

    model_config = _ROW

    seq: int
    title: str  # 成果名称
    unit: str  # 完成单位
    recommending_unit: str = ""
    chain: str = ""
    score: float | None = None
    participants: list[str] = Field(default_factory=list)


class CommendedUnit(BaseModel):
    model_config = _ROW

    unit: str
    title: str = ""  # the excellent result


class CommendedPerson(BaseModel):
    model_config = _ROW

    name: str
    unit: str
    title: str = ""  # project (participants) or empty (organisers)


class CertificateKind(StrEnum):
    UNIT = "U"  # 优秀成果单位
    PARTICIPANT = "P"  # 参与人员
    ORGANISER = "O"  # 组织者


class CertificateData(BaseModel):
    """One 荣誉证书."""

    model_config = _ROW

    serial: str  # 证书编号, e.g. TJZLGG-2025-0001-U
    kind: CertificateKind = CertificateKind.UNIT
    recipient: str  # unit name or person's name
    title: str = ""  # the result's title
    unit: str = ""  # the person's unit (participants, organisers)


class AgendaEntry(BaseModel):
    """One talk at the exchange meeting."""

    model_config = _ROW

    title: str
    unit: str
    speaker: str = ""
    minutes: int = 10
