"""Rules of stage 7 成果评定 that are not about the draw or the scores themselves: the expert
list (its columns, what a good row is, an expert's stable key), the panel seed, the excellent
list's outcomes, and the texts that name a wrong input."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from domain import limits
from domain.limits import too_long_message

EXCELLENT_DECISION = "excellent"  # Decision.kind of the staff's decision on the excellent list
EXCELLENT = "excellent"
NOT_EXCELLENT = "not_excellent"
OUTLIER_POINTS = 15.0  # an expert this many points from the others' mean is flagged
MAX_RESULTS_PER_PANEL = 30
REVIEW_PLACE = "天津市市场监管委（河西区友谊路）评审会议室"
INVITATION_REPLY_DAYS = 2  # experts answer the invitation within this many days of the draw
OUTLIERS_LISTED = 20  # outlier notes shown in a stage report; the rest are counted

FIELD_SEPARATORS = re.compile(r"[、，,;；/\s]+")
PHONE = re.compile(r"^[0-9+\-（）() ]{7,20}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EXPERT_IN_SHEET = re.compile(r"（(E[0-9a-f]{8})）$")
PANEL_IN_SHEET = re.compile(r"评定组(P\d+)")

EXPERT_COLUMNS = ("姓名", "单位", "专业领域", "职称", "电话", "邮箱", "回避单位")
REQUIRED_EXPERT_COLUMNS = ("姓名", "单位", "专业领域", "电话")
HEADER_SEARCH_ROWS = 10  # the header row of an uploaded list is among its first rows


class EvaluationError(ValueError):
    """A user's input cannot be taken; `problems` names each one (file, row, column, fix)."""

    def __init__(self, summary: str, problems: Sequence[str] = ()) -> None:
        self.summary = summary
        self.problems = list(problems)
        text = summary if not self.problems else summary + "：\n" + "\n".join(self.problems)
        super().__init__(text)


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person typed (13800000001.0 -> "13800000001")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def split_list(text: str) -> list[str]:
    """ "焊材、新材料, 信创" -> the items, however people separate them."""
    return [p for p in (s.strip() for s in FIELD_SEPARATORS.split(text)) if p]


def expert_key(name: str, phone: str) -> str:
    """A stable key for an expert: the same name and phone always give the same key."""
    norm = "".join(unicodedata.normalize("NFKC", name).split())
    digits = re.sub(r"\D", "", phone)
    return "E" + hashlib.sha1(f"{norm}|{digits}".encode()).hexdigest()[:8]


def expert_label(name: str, key: str) -> str:
    """`张三（E1a2b3c4d）`: the name experts see, with the key the import reads back."""
    return f"{name}（{key}）"


def panel_seed(year: int, configured: int | None) -> int:
    """The draw's seed: `[rules] panel_seed` in the campaign's config, else derived from the year."""
    if configured is not None:
        return configured
    digest = hashlib.sha256(f"天津市质量攻关-{year}-评定组抽取".encode()).hexdigest()
    return int(digest[:8], 16)


# ---------------------------------------------------------------------------------------------
# the expert list (专家库)


EXPERT_LIMITS = (
    ("姓名", limits.PERSON_NAME_MAX),
    ("单位", limits.UNIT_NAME_MAX),
    ("职称", limits.PERSON_TITLE_MAX),
    ("电话", limits.PHONE_MAX),
    ("邮箱", limits.EMAIL_MAX),
)


class ExpertRow(BaseModel):
    """One expert as the list gives them."""

    name: str
    organisation: str
    fields: list[str] = Field(default_factory=list)
    title: str = ""
    phone: str
    email: str = ""
    recused_units: list[str] = Field(default_factory=list)


def _header_row(name: str, sheet: str, rows: Sequence[Sequence[object]]) -> int:
    index = next(
        (
            i
            for i, r in enumerate(rows[:HEADER_SEARCH_ROWS])
            if any(cell_text(c) == "姓名" for c in r)
        ),
        None,
    )
    if index is None:
        raise EvaluationError(
            f"专家库文件 {name} 工作表「{sheet}」前10行中没有表头「姓名」",
            [f"请在第一行填写表头：{'、'.join(EXPERT_COLUMNS)}"],
        )
    return index


def _expert_row_problems(where: str, values: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    phone, email = values["电话"], values["邮箱"]
    if not values["姓名"]:
        problems.append(f"{where}「姓名」列为空：请填写专家姓名")
    if not values["单位"]:
        problems.append(f"{where}「单位」列为空：请填写专家所在单位全称（用于回避）")
    if not split_list(values["专业领域"]):
        problems.append(f"{where}「专业领域」列为空：请填写所属产业链或专业，多个用“、”分隔")
    if not phone:
        problems.append(f"{where}「电话」列为空：请填写专家联系电话")
    elif not PHONE.match(phone):
        problems.append(f"{where}「电话」列「{phone}」不是有效电话号码：请只填写数字和“-”")
    if email and not EMAIL.match(email):
        problems.append(
            f"{where}「邮箱」列「{email}」不是有效邮箱地址：请改为 name@example.com 形式"
        )
    for column, limit in EXPERT_LIMITS:
        if message := too_long_message(column, values[column], limit):
            problems.append(f"{where}{message}")
    return problems


def parse_expert_list(
    name: str, sheet: str, rows: Sequence[Sequence[object]]
) -> dict[str, ExpertRow]:
    """The experts of an uploaded list, by key (`rows`: the first sheet's rows from row 1).

    Every bad row is named (file, row, column, fix) in one `EvaluationError`; nothing is taken
    if any row is bad."""
    header_index = _header_row(name, sheet, rows)
    header = [cell_text(c) for c in rows[header_index]]
    missing = [c for c in REQUIRED_EXPERT_COLUMNS if c not in header]
    if missing:
        raise EvaluationError(
            f"专家库文件 {name} 缺少必填列",
            [f"第{header_index + 1}行表头缺少列「{c}」：请添加该列并填写" for c in missing],
        )
    col = {h: i for i, h in enumerate(header) if h}
    problems: list[str] = []
    parsed: dict[str, ExpertRow] = {}
    first_row_of: dict[str, int] = {}
    for number, raw in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(cell_text(c) for c in raw):
            continue
        values = {
            c: cell_text(raw[col[c]]) if c in col and col[c] < len(raw) else ""
            for c in EXPERT_COLUMNS
        }
        where = f"{name} 第{number}行"
        problems += _expert_row_problems(where, values)
        if not values["姓名"] or not values["电话"]:
            continue
        key = expert_key(values["姓名"], values["电话"])
        if key in parsed:
            problems.append(
                f"{where}与第{first_row_of[key]}行为同一专家（姓名、电话相同）：请删除重复行"
            )
            continue
        first_row_of[key] = number
        parsed[key] = ExpertRow(
            name=values["姓名"],
            organisation=values["单位"],
            fields=split_list(values["专业领域"]),
            title=values["职称"],
            phone=values["电话"],
            email=values["邮箱"],
            recused_units=split_list(values["回避单位"]),
        )
    if problems:
        raise EvaluationError(
            f"专家库文件 {name} 有{len(problems)}处错误，未导入任何专家", problems
        )
    if not parsed:
        raise EvaluationError(f"专家库文件 {name} 没有专家数据：请从表头下一行起逐行填写")
    return parsed


def record_key(application_id: int, plan_number: str | None) -> str:
    """How a result is named on sheets and lists: its plan number, else its record number."""
    return plan_number or f"R{application_id:05d}"
