"""资格审核: checks of one application form, and of forms against their summary table.

`check_form` looks at one 申报书 alone (required fields, enumerations, 统一社会信用代码, naming
guide, duplicates of past excellent results, focus areas, joint applications). `reconcile` checks a
recommending unit's 立项申报汇总表 against the forms it covers; `rows_without_form` lists the rows
no form was given for; `campaign_duplicates` finds near-identical titles within one campaign.
Every finding's message is Chinese, names the field and says how to fix it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Sequence

from domain.duplicates import PastResultIndex
from domain.duplicates import campaign_duplicates as _campaign_duplicates
from domain.models import (
    CHAINS,
    DISTRICTS,
    FOCUS_CHAINS,
    OTHER_CHAIN,
    ApplicationForm,
    Finding,
    ProjectType,
    Severity,
    SummaryRow,
)
from domain.naming import DEFAULT_MAX_LEN, check_title
from domain.uscc import is_tianjin, normalize_uscc, validate_uscc

MISSING_FIELD = "MISSING_FIELD"
INVALID_VALUE = "INVALID_VALUE"
USCC_INVALID = "USCC_INVALID"
NOT_REGISTERED_IN_TIANJIN = "NOT_REGISTERED_IN_TIANJIN"
DUPLICATE_PAST_RESULT = "DUPLICATE_PAST_RESULT"
OUT_OF_FOCUS_AREA = "OUT_OF_FOCUS_AREA"
JOINT_PRIORITY = "JOINT_PRIORITY"
CHAIN_LEADER_PRIORITY = "CHAIN_LEADER_PRIORITY"
NO_MEASURABLE_INDICATOR = "NO_MEASURABLE_INDICATOR"
PRIORITY_CODES = frozenset({JOINT_PRIORITY, CHAIN_LEADER_PRIORITY})  # listed first in the audit
SUMMARY_MISMATCH = "SUMMARY_MISMATCH"
NOT_IN_SUMMARY = "NOT_IN_SUMMARY"
DUPLICATE_IN_CAMPAIGN = "DUPLICATE_IN_CAMPAIGN"
FORM_MISSING = "FORM_MISSING"

YES_VALUES = frozenset({"是", "y", "yes", "√", "✓", "✔", "☑是", "■是"})
NO_VALUES = frozenset({"否", "n", "no", "×", "✗", "无", "☑否", "■否"})

# --- normalisation of typed values --------------------------------------------------------------


def compact(text: str) -> str:
    """Full-width to half-width and no whitespace: for comparing what two documents typed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def normalize_district(value: str) -> str | None:
    """The DISTRICTS entry meant by `value` ("天津市西青区", "西青" -> "西青区"), or None."""
    text = compact(value).removeprefix("天津市").removeprefix("天津")
    if text in DISTRICTS:
        return text
    if text + "区" in DISTRICTS:
        return text + "区"
    if text in {"滨海", "滨海新"}:
        return "滨海新区"
    return None


def normalize_chain(value: str) -> str | None:
    """The CHAINS entry meant by `value` ("高端装备产业链" -> "高端装备"), or None."""
    text = compact(value)
    for candidate in (text, text.removesuffix("产业链"), text.removesuffix("链")):
        if candidate in CHAINS:
            return candidate
        if candidate.removesuffix("产业") in CHAINS:
            return candidate.removesuffix("产业")
    lowered = text.lower()
    for chain in CHAINS:
        if chain.lower() == lowered:
            return chain
    return None


def normalize_project_type(value: str) -> ProjectType | None:
    """ "提质增效", "提质增效类" -> ProjectType.QUALITY_EFFICIENCY; None when not a type."""
    text = compact(value).removesuffix("类")
    try:
        return ProjectType(text)
    except ValueError:
        return None


def normalize_joint(value: str) -> bool | None:
    """是 -> True, 否 -> False, empty or anything else -> None."""
    text = compact(value).lower()
    if text in YES_VALUES:
        return True
    if text in NO_VALUES:
        return False
    return None


# --- one form -----------------------------------------------------------------------------------

_PROJECT_TYPES = "、".join(f"“{t.value}”" for t in ProjectType)


def _missing(label: str, how: str) -> Finding:
    return Finding(
        code=MISSING_FIELD,
        severity=Severity.ERROR,
        field=label,
        message=f"“{label}”未填写，{how}",
    )


def _invalid(label: str, message: str, value: str) -> Finding:
    return Finding(
        code=INVALID_VALUE,
        severity=Severity.ERROR,
        field=label,
        message=message,
        detail={"value": value},
    )


# (label, getter, how to fix) for the required fields, in the order of the form.
_REQUIRED: tuple[tuple[str, Callable[[ApplicationForm], str], str], ...] = (
    ("项目名称", lambda f: f.title, "请按项目名称规范填写，如“降低××焊缝气孔不良率”"),
    ("申报单位", lambda f: f.applicant, "请填写与营业执照一致的单位全称"),
    ("统一社会信用代码", lambda f: f.uscc, "请按营业执照填写18位统一社会信用代码"),
    ("所属区", lambda f: f.district, "请填写单位注册地所在区，如“西青区”“滨海新区”"),
    (
        "所属产业链",
        lambda f: f.chain,
        "请填写项目所属产业链，如“高端装备”；不属于重点产业链的填“其他”",
    ),
    ("项目类型", lambda f: f.project_type, f"请从{_PROJECT_TYPES}中选择一项"),
    (
        "推荐单位",
        lambda f: f.recommending_unit,
        "请填写负责推荐本项目的行业主管部门、行业协会或区市场监管局",
    ),
    ("项目负责人姓名", lambda f: f.project_lead.name, "请填写项目负责人姓名"),
    (
        "项目负责人电话",
        lambda f: f.project_lead.phone,
        "请填写项目负责人联系电话（手机或带区号的座机）",
    ),
    ("问题现状", lambda f: f.problem, "请用数据说明当前存在的质量问题及其影响"),
    (
        "攻关目标",
        lambda f: f.goal,
        "请写明可量化、可考核的攻关目标，如“焊缝气孔不良率由3%降至1%以下”",
    ),
    ("主要措施或技术路线", lambda f: f.measures, "请写明拟采取的主要措施或技术路线"),
    (
        "申报单位诚信承诺",
        lambda f: f.integrity_promise,
        "请填写诚信承诺并由申报单位盖章、负责人签字",
    ),
    (
        "推荐单位意见",
        lambda f: f.recommendation_opinion,
        "请推荐单位核实申报材料的完整性和真实性后填写推荐意见，并盖章",
    ),
)


def _missing_fields(form: ApplicationForm) -> list[Finding]:
    """MISSING_FIELD for each required field left empty, in the order of the form."""
    return [_missing(label, how) for label, get, how in _REQUIRED if not compact(get(form))]


def _uscc_findings(form: ApplicationForm) -> list[Finding]:
    """A 统一社会信用代码 that is not valid, or not registered in Tianjin."""
    if not compact(form.uscc):
        return []
    error = validate_uscc(form.uscc)
    if error is not None:
        return [
            Finding(
                code=USCC_INVALID,
                severity=Severity.ERROR,
                field="统一社会信用代码",
                message=error,
                detail={"value": normalize_uscc(form.uscc)},
            )
        ]
    if is_tianjin(form.uscc):
        return []
    code = normalize_uscc(form.uscc)
    return [
        Finding(
            code=NOT_REGISTERED_IN_TIANJIN,
            severity=Severity.WARNING,
            field="统一社会信用代码",
            message=(
                f"统一社会信用代码“{code}”第3-8位登记机关行政区划码为“{code[2:8]}”，"
                "不是天津市（应以12开头）。申报单位须在天津市注册；如为经主管部门认定的"
                "行业质量组织，请在推荐意见中说明，否则请核对代码或更换申报主体"
            ),
            detail={"division": code[2:8]},
        )
    ]


def _district_and_type_findings(form: ApplicationForm) -> list[Finding]:
    """A 所属区 that is not a Tianjin district, or a 项目类型 outside the prescribed types."""
    findings: list[Finding] = []
    if compact(form.district) and normalize_district(form.district) is None:
        findings.append(
            _invalid(
                "所属区",
                f"“所属区”填写为“{form.district.strip()}”，不是天津市的区，"
                f"请填写以下之一：{'、'.join(DISTRICTS)}",
                form.district.strip(),
            )
        )
    if compact(form.project_type) and normalize_project_type(form.project_type) is None:
        findings.append(
            _invalid(
                "项目类型",
                f"“项目类型”填写为“{form.project_type.strip()}”，不在规定类型中，"
                f"请从{_PROJECT_TYPES}中选择一项",
                form.project_type.strip(),
            )
        )
    return findings


def _joint_application_findings(
    form: ApplicationForm, joint: bool | None, joint_units: str
) -> list[Finding]:
    """是否联合申报 not 是/否, or at odds with 联合申报单位."""
    if compact(form.joint) and joint is None:
        return [
            _invalid(
                "是否联合申报",
                f"“是否联合申报”填写为“{form.joint.strip()}”，请填写“是”或“否”",
                form.joint.strip(),
            )
        ]
    if joint is None and joint_units:
        return [
            _invalid(
                "是否联合申报",
                f"已填写联合申报单位“{joint_units}”，但“是否联合申报”未填写，"
                "请填写“是”；如不是联合申报，请删去联合申报单位",
                "",
            )
        ]
    if joint is True and not joint_units:
        return [
            _invalid(
                "联合申报单位",
                "“是否联合申报”为“是”，但“联合申报单位”未填写，"
                "请填写各联合申报单位全称；如不是联合申报，请将“是否联合申报”改为“否”",
                "",
            )
        ]
    return []


def _past_result_duplicates(
    form: ApplicationForm, past_index: PastResultIndex | None, threshold: float
) -> list[Finding]:
    """DUPLICATE_PAST_RESULT for each past excellent result the project nearly repeats."""
    if past_index is None or not compact(form.title):
        return []
    findings: list[Finding] = []
    text = "\n".join(t for t in (form.problem, form.goal) if t.strip())
    for match in past_index.match(form.title, text, threshold=threshold):
        past = match.past
        sim = round(match.similarity, 2)
        unit = f"（{past.unit}）" if past.unit else ""
        findings.append(
            Finding(
                code=DUPLICATE_PAST_RESULT,
                severity=Severity.ERROR,
                field="项目名称",
                message=(
                    f"项目与{past.year}年优秀成果“{past.title}”{unit}高度相似"
                    f"（相似度{sim:.2f}），疑似雷同。历年优秀成果不得重复申报；如确为新的攻关"
                    "课题，请在项目名称、问题现状和攻关目标中写明与该成果不同的攻关对象或指标"
                ),
                detail={
                    "matched_title": past.title,
                    "year": past.year,
                    "unit": past.unit,
                    "similarity": sim,
                },
            )
        )
    return findings


def _focus_area_findings(form: ApplicationForm) -> list[Finding]:
    """OUT_OF_FOCUS_AREA (info) when the 所属产业链 is not one of this year's focus chains."""
    chain = normalize_chain(form.chain)
    if not compact(form.chain) or chain in FOCUS_CHAINS:
        return []
    shown = form.chain.strip()
    hint = (
        ""
        if chain == OTHER_CHAIN
        else "；如属重点产业链，请按规范名称填写（如“高端装备”“集成电路”“生物医药”）"
    )
    return [
        Finding(
            code=OUT_OF_FOCUS_AREA,
            severity=Severity.INFO,
            field="所属产业链",
            message=f"所属产业链“{shown}”不在本年度重点支持的产业链范围内，不影响申报{hint}",
            detail={"chain": shown},
        )
    ]


# A measurable indicator: a number with a unit, or a percentage ("由3%降至1%", "节约能耗120吨标煤",
# "年增效益50万元", "缩短至15天"); a date ("到2025年9月") is not one.
MEASURABLE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|％|‰|个百分点|百分点|ppm|倍|"
    r"[万亿千百]?元|吨|千克|公斤|kg|g|克|千瓦时|kWh|度|立方米|m3|m³|升|L|"
    r"小时|h|天|个工作日|周|个月|分钟|min|秒|s|"
    r"次|件|台|套|项|个|批|人|辆|只|片|米|m|mm|毫米|μm|微米|cm|厘米|km|公里|MPa|Pa|℃|dB|级|分)"
)


def has_indicator(text: str) -> bool:
    """Whether `text` states a measurable indicator (a number with a unit, or a percentage)."""
    return bool(MEASURABLE.search(unicodedata.normalize("NFKC", text or "")))


def _indicator_findings(form: ApplicationForm) -> list[Finding]:
    """NO_MEASURABLE_INDICATOR (warning): 攻关目标 or 预期效益 without a measurable indicator
    (二(二): the project must be expected to bring a significant effect)."""
    found: list[Finding] = []
    goal = form.goal.strip()
    if goal and not has_indicator(goal):
        found.append(
            Finding(
                code=NO_MEASURABLE_INDICATOR,
                severity=Severity.WARNING,
                field="攻关目标",
                message=f"攻关目标“{goal[:40]}”没有可量化的指标，请写明指标及目标值，"
                "如“焊缝气孔不良率由3%降至1%以下”",
            )
        )
    benefit = "；".join(t.strip() for t in (form.economic_benefit, form.social_benefit) if t)
    # 经济效益 is asked in 万元: a number alone there is an indicator
    if not (re.search(r"\d", form.economic_benefit) or has_indicator(benefit)):
        shown = f"“{benefit[:40]}”" if benefit.strip() else "未填写"
        found.append(
            Finding(
                code=NO_MEASURABLE_INDICATOR,
                severity=Severity.WARNING,
                field="预期效益",
                message=f"预期效益{shown}，没有可量化的指标：请写明经济效益（万元）或节能降耗、"
                "质量提升等可考核的数值，如“年节约成本约80万元”",
            )
        )
    return found


def _chain_leader_priority(
    form: ApplicationForm, joint: bool | None, chain_leaders: Collection[str]
) -> list[Finding]:
    """CHAIN_LEADER_PRIORITY (info): a joint application led by a chain leader (链主), recommended
    first under the plan; a leader is on the campaign's list or calls itself 链主 on the form."""
    applicant = compact(form.applicant)
    listed = any(compact(name) == applicant for name in chain_leaders if name.strip())
    said = "链主" in compact(" ".join((form.applicant, form.foundation, form.joint_units)))
    if joint is not True or not (listed or said):
        return []
    return [
        Finding(
            code=CHAIN_LEADER_PRIORITY,
            severity=Severity.INFO,
            field="申报单位",
            message=f"链主企业“{form.applicant.strip()}”牵头的联合申报项目，按工作方案优先推荐",
            detail={"applicant": form.applicant.strip()},
        )
    ]


def _joint_priority(joint: bool | None, joint_units: str) -> list[Finding]:
    """JOINT_PRIORITY (info): joint applications are recommended first under the plan."""
    if joint is not True or not joint_units:
        return []
    return [
        Finding(
            code=JOINT_PRIORITY,
            severity=Severity.INFO,
            field="是否联合申报",
            message=f"联合申报项目（联合申报单位：{joint_units}），按工作方案优先推荐",
            detail={"joint_units": joint_units},
        )
    ]


def check_form(
    form: ApplicationForm,
    *,
    past_index: PastResultIndex | None,
    threshold: float,
    title_max_len: int = DEFAULT_MAX_LEN,
    chain_leaders: Collection[str] = (),
) -> list[Finding]:
    """All findings about one application form; `threshold` is the duplicate-similarity
    threshold of the campaign (e.g. 0.75), `chain_leaders` its list of chain leaders (链主)."""
    joint = normalize_joint(form.joint)
    joint_units = form.joint_units.strip()
    return [
        *_missing_fields(form),
        *_uscc_findings(form),
        *_district_and_type_findings(form),
        *_joint_application_findings(form, joint, joint_units),
        *check_title(form.title, form.applicant, form.joint_units, max_len=title_max_len),
        *_past_result_duplicates(form, past_index, threshold),
        *_indicator_findings(form),
        *_focus_area_findings(form),
        *_chain_leader_priority(form, joint, chain_leaders),
        *_joint_priority(joint, joint_units),
    ]


# --- forms against the summary table --------------------------------------------------------------


def _title_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", compact(text)).lower()


_PairKey = tuple[str, str] | str | None


def _key_both(uscc: str, title: str) -> _PairKey:
    return (uscc, title) if uscc and title else None


def _key_uscc(uscc: str, _title: str) -> _PairKey:
    return uscc or None


def _key_title(_uscc: str, title: str) -> _PairKey:
    return title or None


def _pair(
    forms: Sequence[tuple[str, ApplicationForm]], rows: Sequence[SummaryRow]
) -> tuple[dict[str, SummaryRow], list[SummaryRow]]:
    """Match each form to a summary row: uscc + title first; then, for the forms left, uscc alone
    or title alone, but only where exactly one free row fits (a unit with two projects whose
    titles both differ is not guessed). Returns {file: row} and the rows left over.

    Each form and row is normalised once and the free rows are looked up by key, so a batch of
    n forms costs O(n), not O(n²) comparisons."""
    row_keys = [(normalize_uscc(r.uscc), _title_key(r.title)) for r in rows]
    form_keys = [(normalize_uscc(f.uscc), _title_key(f.title)) for _file, f in forms]
    free = list(range(len(rows)))
    paired: dict[str, SummaryRow] = {}
    rules: tuple[tuple[Callable[[str, str], _PairKey], bool], ...] = (
        (_key_both, True),
        (_key_uscc, False),
        (_key_title, False),
    )
    for key_of, first_of_many in rules:
        fitting: dict[_PairKey, list[int]] = {}  # key -> the free rows with it, in order
        for i in free:
            key = key_of(*row_keys[i])
            if key is not None:
                fitting.setdefault(key, []).append(i)
        for (file, _form), form_key in zip(forms, form_keys, strict=True):
            if file in paired:
                continue
            key = key_of(*form_key)
            hits = fitting.get(key, []) if key is not None else []
            if len(hits) == 1 or (hits and first_of_many):
                row = hits.pop(0)
                paired[file] = rows[row]
                free.remove(row)
    return paired, [rows[i] for i in free]


def _joint_or_no(value: str) -> bool | None:
    # An empty "是否联合申报" means not joint.
    return False if not compact(value) else normalize_joint(value)


_NORMALISERS: dict[str, Callable[[str], object]] = {
    "统一社会信用代码": normalize_uscc,
    "所属区": normalize_district,
    "所属产业链": normalize_chain,
    "项目类型": normalize_project_type,
    "是否联合申报": _joint_or_no,
}


def _same(label: str, form_value: str, row_value: str) -> bool:
    """Whether the form and the row say the same, tolerant of spacing, full-width characters and
    the accepted spellings of enumerations ("天津市西青区" = "西青区", "提质增效类" = "提质增效")."""
    normalise = _NORMALISERS.get(label)
    if normalise is not None:
        a, b = normalise(form_value), normalise(row_value)
        if a is not None and b is not None:
            return a == b
    return compact(form_value) == compact(row_value)


_COMPARED: tuple[tuple[str, Callable[[ApplicationForm], str], Callable[[SummaryRow], str]], ...] = (
    ("项目名称", lambda f: f.title, lambda r: r.title),
    ("申报单位", lambda f: f.applicant, lambda r: r.applicant),
    ("统一社会信用代码", lambda f: f.uscc, lambda r: r.uscc),
    ("所属区", lambda f: f.district, lambda r: r.district),
    ("所属产业链", lambda f: f.chain, lambda r: r.chain),
    ("项目类型", lambda f: f.project_type, lambda r: r.project_type),
    ("是否联合申报", lambda f: f.joint, lambda r: r.joint),
)


def _row_label(summary_file: str, row: SummaryRow) -> str:
    where = f"第{row.row_number}行" if row.row_number else f"序号{row.seq}" if row.seq else ""
    return f"汇总表《{summary_file}》{where}" if summary_file else f"汇总表{where}"


def reconcile(
    forms: Sequence[tuple[str, ApplicationForm]],
    rows: Sequence[SummaryRow],
    summary_file: str,
    *,
    duplicate_threshold: float | None = None,
) -> dict[str, list[Finding]]:
    """Findings per form file: SUMMARY_MISMATCH for every field that disagrees with the form's
    summary row, NOT_IN_SUMMARY when no row lists the form, and, when `duplicate_threshold` is
    given, DUPLICATE_IN_CAMPAIGN among these forms. Every file gets a key (possibly empty)."""
    paired, _ = _pair(forms, rows)
    out: dict[str, list[Finding]] = {file: [] for file, _ in forms}
    for file, form in forms:
        row = paired.get(file)
        if row is None:
            out[file].append(
                Finding(
                    code=NOT_IN_SUMMARY,
                    severity=Severity.ERROR,
                    field="项目名称",
                    file=file,
                    message=(
                        f"申报书“{form.title.strip() or file}”未列入汇总表《{summary_file}》，"
                        "请推荐单位在汇总表中补列该项目（项目名称、统一社会信用代码须与申报书一致），"
                        "或撤回该申报书"
                    ),
                    detail={"summary_file": summary_file},
                )
            )
            continue
        where = _row_label(summary_file, row)
        for label, from_form, from_row in _COMPARED:
            a, b = from_form(form).strip(), from_row(row).strip()
            if _same(label, a, b):
                continue
            out[file].append(
                Finding(
                    code=SUMMARY_MISMATCH,
                    severity=Severity.ERROR,
                    field=label,
                    file=file,
                    message=(
                        f"“{label}”申报书填写为“{a or '（空）'}”，{where}为“{b or '（空）'}”，"
                        "两者不一致，请核实后统一修改申报书或汇总表"
                    ),
                    detail={
                        "form_value": a,
                        "summary_value": b,
                        "summary_file": summary_file,
                        "row_number": row.row_number,
                    },
                )
            )
    if duplicate_threshold is not None:
        for file, found in campaign_duplicate_findings(
            [(file, form.title) for file, form in forms], duplicate_threshold
        ).items():
            out[file].extend(found)
    return out


def rows_without_form(
    forms: Sequence[tuple[str, ApplicationForm]], rows: Sequence[SummaryRow]
) -> list[SummaryRow]:
    """Summary rows listing a project for which no form was given."""
    _, left = _pair(forms, rows)
    return left


def missing_form_findings(
    forms: Sequence[tuple[str, ApplicationForm]], rows: Sequence[SummaryRow], summary_file: str
) -> list[Finding]:
    """FORM_MISSING (error, file = the summary file) for each row without a form."""
    return [
        Finding(
            code=FORM_MISSING,
            severity=Severity.ERROR,
            field="项目名称",
            file=summary_file,
            message=(
                f"{_row_label(summary_file, row)}列有项目“{row.title.strip()}”"
                f"（{row.applicant.strip()}），但未收到对应的申报书，"
                "请补交该项目的申报书，或从汇总表中删去该行"
            ),
            detail={"title": row.title, "applicant": row.applicant, "row_number": row.row_number},
        )
        for row in rows_without_form(forms, rows)
    ]


def campaign_duplicates(
    titles: Sequence[tuple[str, str]],
    threshold: float,
    *,
    only: Collection[str] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """For each key (form file) whose title nearly repeats another application's title in the
    same campaign: the other keys and similarities, best first. With `only`, just those keys
    are looked up (a new batch against the campaign), with the same results for them."""
    return _campaign_duplicates(titles, threshold, only=only)


def campaign_duplicate_findings(
    titles: Sequence[tuple[str, str]], threshold: float
) -> dict[str, list[Finding]]:
    """DUPLICATE_IN_CAMPAIGN findings (warning: one of the units may simply be the other's joint
    partner) for each key with near-identical titles elsewhere in the campaign."""
    by_key = dict(titles)
    out: dict[str, list[Finding]] = {}
    for key, others in campaign_duplicates(titles, threshold).items():
        for other, sim in others:
            out.setdefault(key, []).append(
                Finding(
                    code=DUPLICATE_IN_CAMPAIGN,
                    severity=Severity.WARNING,
                    field="项目名称",
                    file=key,
                    message=(
                        f"项目名称“{by_key[key]}”与本年度另一申报项目“{by_key[other]}”（{other}）"
                        f"高度相似（相似度{sim:.2f}），疑似重复申报。请核实：同一项目只能申报一次，"
                        "合作项目请合并为一项联合申报；确为不同项目的，请在名称中写明不同的攻关对象"
                    ),
                    detail={
                        "other": other,
                        "other_title": by_key[other],
                        "similarity": round(sim, 2),
                    },
                )
            )
    return out
