"""字段长度上限: how many characters each stored field holds, written once here and used both by
the tables (`storage/orm.py` sizes its columns with these) and by the checks at the door, so that
an over-long value is a finding naming the field, the limit and the fix on SQLite and PostgreSQL
alike, never a database error (PostgreSQL refuses it, SQLite would store it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from domain.models import ApplicationForm, Finding, Severity

FIELD_TOO_LONG = "FIELD_TOO_LONG"

# Characters per field (the columns' lengths).
TITLE_MAX = 300  # 项目名称, 历年优秀成果名称
FILE_NAME_MAX = 300  # a batch's file as stored with its application
UNIT_NAME_MAX = 200  # 申报单位, 推荐单位, 专家所在单位, 证书持有单位
ADDRESS_MAX = 300  # 单位地址
USCC_MAX = 18  # 统一社会信用代码 (applicant units); applications keep what was typed, up to 40
APPLICATION_USCC_MAX = 40
DISTRICT_MAX = 40  # 所属区
CHAIN_MAX = 40  # 所属产业链
PROJECT_TYPE_MAX = 20  # 项目类型
PERSON_NAME_MAX = 60  # 项目人员、专家姓名
PERSON_TITLE_MAX = 60  # 职务、职称
PHONE_MAX = 40  # 电话
EMAIL_MAX = 200  # 邮箱
PERSON_KEY_MAX = 120  # 项目人员的内部键: 申报单位代码（或名称）:姓名
UNIT_CODE_MAX = 64  # 推荐单位代码
UNIT_KIND_MAX = 40  # 推荐单位类型
CONTACT_MAX = 100  # 推荐单位联系人
EXPERT_KEY_MAX = 60  # 专家编号
DOCUMENT_TITLE_MAX = 200  # 文档标题
PATH_MAX = 500  # 文档、收件目录的路径

Getter = Callable[[ApplicationForm], Iterable[tuple[str, str]]]

# The application form's fields that are stored in a column of their own: (label, values, limit).
FORM_LIMITS: tuple[tuple[str, Getter, int], ...] = (
    ("项目名称", lambda f: [("", f.title)], TITLE_MAX),
    ("申报单位", lambda f: [("", f.applicant)], UNIT_NAME_MAX),
    ("单位地址", lambda f: [("", f.address)], ADDRESS_MAX),
    ("统一社会信用代码", lambda f: [("", f.uscc)], APPLICATION_USCC_MAX),
    ("所属区", lambda f: [("", f.district)], DISTRICT_MAX),
    ("所属产业链", lambda f: [("", f.chain)], CHAIN_MAX),
    ("项目类型", lambda f: [("", f.project_type)], PROJECT_TYPE_MAX),
    (
        "姓名",
        lambda f: [
            ("项目负责人", f.project_lead.name),
            ("质量负责人", f.quality_lead.name),
            *(("项目组成员", m.name) for m in f.members),
        ],
        PERSON_NAME_MAX,
    ),
    (
        "职务/职称",
        lambda f: [
            ("项目负责人", f.project_lead.position),
            ("质量负责人", f.quality_lead.position),
            *(("项目组成员", m.title) for m in f.members),
        ],
        PERSON_TITLE_MAX,
    ),
    (
        "电话",
        lambda f: [("项目负责人", f.project_lead.phone), ("质量负责人", f.quality_lead.phone)],
        PHONE_MAX,
    ),
    (
        "邮箱",
        lambda f: [("项目负责人", f.project_lead.email), ("质量负责人", f.quality_lead.email)],
        EMAIL_MAX,
    ),
)


def too_long_message(field: str, value: str, limit: int) -> str | None:
    """The Chinese message for a value over its field's limit, or None when it fits."""
    if len(value) <= limit:
        return None
    return (
        f"“{field}”有 {len(value)} 个字符，超过 {limit} 个字符的上限，系统无法保存。"
        f"请精简到 {limit} 个字符以内后重新提交。"
    )


def form_length_findings(form: ApplicationForm) -> list[Finding]:
    """One FIELD_TOO_LONG finding (error) for each stored field of the form over its limit."""
    found = []
    for label, values, limit in FORM_LIMITS:
        for who, value in values(form):
            field = f"{who}{label}"
            if message := too_long_message(field, value.strip(), limit):
                found.append(
                    Finding(
                        code=FIELD_TOO_LONG,
                        severity=Severity.ERROR,
                        field=field,
                        message=message,
                        detail={"length": len(value.strip()), "limit": limit},
                    )
                )
    return found


def fit(value: str, limit: int) -> str:
    """A value cut to its column (kept whole elsewhere, e.g. in the stored form), for records
    that are stored even though the value was refused (a returned application, a document title)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
