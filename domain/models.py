"""Plain pydantic models of the campaign's documents and rules.

Nothing here knows of the database or of Prefect; `storage/` maps these to tables and `tasks/`
moves them between the two.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

DISTRICTS: tuple[str, ...] = (
    "和平区",
    "河东区",
    "河西区",
    "南开区",
    "河北区",
    "红桥区",
    "东丽区",
    "西青区",
    "津南区",
    "北辰区",
    "武清区",
    "宝坻区",
    "宁河区",
    "静海区",
    "蓟州区",
    "滨海新区",
)

# Section 四 of the 2025 plan: the focus chains, the characteristic chains and new-generation IT.
FOCUS_CHAINS: tuple[str, ...] = (
    "信创",
    "高端装备",
    "集成电路",
    "车联网",
    "新能源",
    "航空航天",
    "新材料",
    "汽车及新能源汽车",
    "生物医药",
    "中医药",
    "绿色石化",
    "轻工",
    "电动自行车",
    "焊材",
    "车用燃料",
    "光伏",
    "5G信息技术",
    "人工智能",
    "大数据",
)
OTHER_CHAIN = "其他"
CHAINS: tuple[str, ...] = (*FOCUS_CHAINS, OTHER_CHAIN)


class ProjectType(StrEnum):
    """项目类型."""

    QUALITY_EFFICIENCY = "提质增效"
    ENERGY_SAVING = "节能降耗"
    SERVICE = "优化服务"
    INNOVATION = "自主创新"


class RecommendingUnitKind(StrEnum):
    """推荐单位类型."""

    DEPARTMENT = "市级行业主管部门"
    ASSOCIATION = "行业协会"
    DISTRICT_REGULATOR = "区市场监督管理部门"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Finding(BaseModel):
    """审核发现: one thing wrong (or worth knowing) about an application, with how to fix it."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    field: str = ""
    message: str
    file: str = ""
    detail: dict[str, str | float | int] = Field(default_factory=dict)


class TeamMember(BaseModel):
    """项目组成员."""

    name: str
    title: str = ""  # 职务或职称
    role: str = ""  # 分工


class ContactPerson(BaseModel):
    name: str = ""
    position: str = ""  # 职务
    phone: str = ""
    email: str = ""


class ApplicationForm(BaseModel):
    """天津市质量攻关项目申报书 (attachment 5), as read from a unit's Word file.

    Every field is a string as typed; checks happen in `domain.eligibility`, so that a form with
    gaps can still be stored and returned with findings.
    """

    title: str = ""  # 项目名称
    applicant: str = ""  # 申报单位
    uscc: str = ""  # 统一社会信用代码
    address: str = ""  # 单位地址
    district: str = ""  # 所属区
    chain: str = ""  # 所属产业链
    project_type: str = ""  # 项目类型
    kind: str = ""  # 课题类型 (问题解决型 / 创新型): which rubric scores its result
    joint: str = ""  # 是否联合申报 (是/否)
    joint_units: str = ""  # 联合申报单位
    recommending_unit: str = ""  # 推荐单位
    project_lead: ContactPerson = Field(default_factory=ContactPerson)  # 项目负责人
    quality_lead: ContactPerson = Field(default_factory=ContactPerson)  # 质量负责人
    members: list[TeamMember] = Field(default_factory=list)  # 项目组成员
    start_date: str = ""  # 计划起止日期 (start)
    end_date: str = ""  # 计划起止日期 (end)
    problem: str = ""  # 问题现状
    goal: str = ""  # 攻关目标
    measures: str = ""  # 主要措施或技术路线
    economic_benefit: str = ""  # 预期效益: 经济效益 (万元)
    social_benefit: str = ""  # 预期效益: 社会效益
    foundation: str = ""  # 已有基础
    integrity_promise: str = ""  # 申报单位诚信承诺
    recommendation_opinion: str = ""  # 推荐单位意见

    @property
    def is_joint(self) -> bool:
        return self.joint.strip() in {"是", "Y", "y", "yes", "Yes", "√"}


class SummaryRow(BaseModel):
    """One row of the 立项申报汇总表 (attachment 6)."""

    seq: str = ""  # 序号
    title: str = ""  # 项目名称
    applicant: str = ""  # 申报单位
    uscc: str = ""  # 统一社会信用代码
    district: str = ""  # 所属区
    chain: str = ""  # 所属产业链
    project_type: str = ""  # 项目类型
    joint: str = ""  # 是否联合申报
    project_lead: str = ""  # 项目负责人
    phone: str = ""  # 联系电话
    recommending_unit: str = ""  # 推荐单位
    remark: str = ""  # 备注
    row_number: int = 0  # the row in the sheet, for messages


class PastResult(BaseModel):
    """历年优秀成果: a past year's excellent result, for the duplicate check."""

    year: int
    title: str
    unit: str = ""
    abstract: str = ""


class DuplicateMatch(BaseModel):
    past: PastResult
    similarity: float


class ExpertProfile(BaseModel):
    """专家: one member of the expert pool."""

    key: str
    name: str
    organisation: str = ""
    fields: list[str] = Field(default_factory=list)  # 专业领域 (chains)
    title: str = ""
    recused_units: list[str] = Field(default_factory=list)  # 回避单位


class DatedWindow(BaseModel):
    opens: dt.datetime
    closes: dt.datetime
