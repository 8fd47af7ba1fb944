"""项目名称规范: the naming guide for project titles (attachment 4 of the plan).

Accepted forms:
- direction verb + object + characteristic: "降低××焊缝气孔不良率", "提高××一次交检合格率",
  "缩短××交付周期";
- object + technology / 研制 for technical topics: "车用燃料全自动进气阀沉积物试验机研制",
  "金属焊接件早期疲劳检测技术".
Flagged (code NAME_GUIDE, severity error): the unit's name in the title, "关于…/浅谈/探讨/研究报告/
论…" framings, slogans, punctuation, too long or too short, and vague titles with no concrete object.
"""

from __future__ import annotations

import re
import unicodedata

from domain.models import DISTRICTS, Finding, Severity

CODE = "NAME_GUIDE"
FIELD = "项目名称"
DEFAULT_MAX_LEN = 30
DEFAULT_MIN_LEN = 6

_FORMAT_HINT = (
    "按“动词+对象+特性”格式命名（如“降低××焊缝气孔不良率”“提高××一次交检合格率”），"
    "技术类课题可用“对象+技术/研制”（如“金属焊接件早期疲劳检测技术”）"
)

# --- unit names -------------------------------------------------------------------------------

_REGION_PREFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            "中国",
            "天津市",
            "天津",
            "滨海新区",
            "天津经济技术开发区",
            "天津港保税区",
            "天津自贸区",
            "天津滨海高新技术产业开发区",
            "滨海高新区",
            *DISTRICTS,
            *(d.removesuffix("区") for d in DISTRICTS if d != "滨海新区"),
        },
        key=len,
        reverse=True,
    )
)

_LEGAL_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            "股份有限公司",
            "有限责任公司",
            "集团有限公司",
            "集团股份有限公司",
            "有限公司",
            "集团公司",
            "分公司",
            "总公司",
            "公司",
            "集团",
            "控股",
            "研究院",
            "研究所",
            "设计院",
            "总厂",
            "分厂",
            "工厂",
            "厂",
            "协会",
            "学会",
            "中心",
            "大学",
            "学院",
        },
        key=len,
        reverse=True,
    )
)

# Trade words that follow a brand in a company name; stripping them leaves the brand ("力神").
_TRADE_WORDS: frozenset[str] = frozenset(
    {
        "科技",
        "技术",
        "电子",
        "机械",
        "汽车",
        "汽车零部件",
        "零部件",
        "电池",
        "制药",
        "药业",
        "医药",
        "生物",
        "钢铁",
        "钢管",
        "化工",
        "石化",
        "石油化工",
        "电气",
        "电力",
        "电器",
        "能源",
        "新能源",
        "材料",
        "新材料",
        "装备",
        "设备",
        "工业",
        "实业",
        "发展",
        "精密",
        "制造",
        "智能",
        "信息",
        "网络",
        "软件",
        "食品",
        "包装",
        "塑料",
        "橡胶",
        "建材",
        "建筑",
        "工程",
        "物流",
        "贸易",
        "焊材",
        "焊接",
        "焊接材料",
        "重工",
        "轻工",
        "自行车",
        "车业",
        "金属",
        "机电",
        "仪器",
        "仪表",
        "光电",
        "半导体",
        "集成电路",
        "航空",
        "航天",
        "船舶",
        "纺织",
        "印刷",
        "环保",
        "检测",
        "计量",
        "质量",
        "服务",
        "管理",
        "国际",
        "中国",
    }
)
_TRADE_WORDS_BY_LEN = sorted(_TRADE_WORDS, key=len, reverse=True)

_UNIT_SPLIT = re.compile(r"[、,，;；/\s]+")
_BRANCH = re.compile(r"^(.+?(?:有限公司|有限责任公司|集团|公司))(.+(?:分公司|分厂|厂|分院))$")
_PAREN_REGION = re.compile(r"[（(][^）)]{1,12}[）)]")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _nfkc(text))


def _strip_prefixes(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _REGION_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix) + 1:
                name = name[len(prefix) :]
                changed = True
                break
    return name


def _strip_suffixes(name: str, suffixes: list[str] | tuple[str, ...], keep: int = 2) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) - len(suffix) >= keep:
                name = name[: -len(suffix)]
                changed = True
                break
    return name


def unit_name_variants(unit: str) -> list[str]:
    """Forms of a unit's name that must not appear in a title, longest first.

    "天津力神电池股份有限公司" -> 天津力神电池股份有限公司, 力神电池股份有限公司, 力神电池, 力神.
    Variants made only of trade words ("焊接材料") or only of a region or legal form ("大学") are
    left out, so that a company named after its trade does not forbid the trade in titles.
    """
    full = _compact(unit)
    if len(full) < 2:
        return []
    variants = [full]
    branch = _BRANCH.match(full)
    if branch:
        variants.extend(unit_name_variants(branch.group(1)))
    no_paren = _PAREN_REGION.sub("", full)
    no_region = _strip_prefixes(no_paren)
    variants.append(no_region)
    # With the region kept: "天津钢管制造有限公司" -> 天津钢管制造, 天津钢管.
    with_region = _strip_suffixes(no_paren, _LEGAL_SUFFIXES)
    if not with_region.startswith(no_region):
        while len(with_region) >= 4:
            variants.append(with_region)
            word = next((w for w in _TRADE_WORDS_BY_LEN if with_region.endswith(w)), "")
            if not word:
                break
            with_region = with_region[: -len(word)]
    core = _strip_prefixes(_strip_suffixes(no_region, _LEGAL_SUFFIXES))
    brand = _strip_suffixes(core, _TRADE_WORDS_BY_LEN)
    if brand and brand not in _TRADE_WORDS and not _only_trade_words(core):
        variants.append(core)
        variants.append(brand)
    out: list[str] = []
    for v in variants:
        if v == full and len(v) >= 4:
            out.append(v)
            continue
        bare = _strip_suffixes(v, _LEGAL_SUFFIXES, keep=0)
        if (
            len(v) >= 2
            and v not in out
            and v not in _REGION_PREFIXES
            and len(bare) >= 2
            and bare not in _REGION_PREFIXES
            and not _only_trade_words(bare)
        ):
            out.append(v)
    return sorted(out, key=len, reverse=True)


def _only_trade_words(text: str) -> bool:
    rest = text
    while rest:
        for word in _TRADE_WORDS_BY_LEN:
            if rest.startswith(word):
                rest = rest[len(word) :]
                break
        else:
            return False
    return True


def split_units(joint_units: str) -> list[str]:
    return [u.strip() for u in _UNIT_SPLIT.split(_nfkc(joint_units)) if u.strip()]


# --- framings, slogans, punctuation -----------------------------------------------------------

_FRAMING_PREFIXES = ("关于", "浅谈", "浅析", "浅议", "试论", "略论", "刍议", "初探", "谈谈", "漫谈")
_FRAMING_ANYWHERE = ("浅谈", "浅析", "探讨", "探析", "研究报告", "论文", "心得体会", "经验总结")

_SLOGANS = (
    "打造",
    "争创",
    "争做",
    "一流",
    "全力",
    "奋力",
    "助力",
    "铸就",
    "匠心",
    "决战",
    "攻坚战",
    "追求卓越",
    "精益求精",
    "保驾护航",
    "再上新台阶",
    "新台阶",
    "新篇章",
    "新征程",
    "新高度",
    "新突破",
    "高质量发展",
    "践行",
    "弘扬",
    "为民",
    "品质之路",
    "永无止境",
    "勇攀",
    "腾飞",
    "领跑",
)

# Parentheses or brackets holding a model number / specification are allowed: "（XK-200型）".
_MODEL_PAREN = re.compile(r"[(\[]([A-Za-z0-9.\-/×*+φΦ ]+(?:型|系列|号|mm|kV|kW)?)[)\]]")
# Punctuation that may appear inside a model number: "XK-200", "0.5mm", "4/6", "CRH380·A" not.
_MODEL_INNER = re.compile(r"(?<=[A-Za-z0-9])[\-./](?=[A-Za-z0-9])")
_PUNCT_CHARS = set("!！,，.。、;；:：?？\"“”'‘’《》<>〈〉【】[]()（）{}·…—–-~～@#$￥&*^|\\/+=_")

_ALLOWED_SYMBOLS = set("%‰℃°")


def _punctuation(title: str) -> list[str]:
    text = _MODEL_PAREN.sub(lambda m: m.group(1), title)
    text = _MODEL_INNER.sub("", text)
    found: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in _ALLOWED_SYMBOLS:
            continue
        if (ch in _PUNCT_CHARS or cat.startswith("P") or cat == "So") and ch not in found:
            found.append(ch)
    return found


# --- vagueness --------------------------------------------------------------------------------

_VERBS = (
    "提高",
    "提升",
    "增加",
    "增强",
    "降低",
    "减少",
    "下降",
    "减小",
    "缩短",
    "压缩",
    "改善",
    "改进",
    "优化",
    "加强",
    "强化",
    "完善",
    "推进",
    "开展",
    "实现",
    "保证",
    "确保",
    "稳定",
    "攻克",
    "解决",
    "控制",
    "延长",
    "促进",
    "推动",
    "做好",
    "抓好",
)
_GENERIC = (
    "产品质量",
    "质量管理",
    "管理水平",
    "工作质量",
    "服务质量",
    "质量水平",
    "质量改进",
    "质量提升",
    "质量攻关",
    "质量",
    "管理",
    "水平",
    "效率",
    "效益",
    "能力",
    "产品",
    "服务",
    "工作",
    "项目",
    "攻关",
    "企业",
    "公司",
    "单位",
    "整体",
    "综合",
    "全面",
    "体系",
    "建设",
    "创新",
    "技术",
    "研究",
    "研制",
    "开发",
    "方法",
    "措施",
    "活动",
    "生产",
    "过程",
    "流程",
    "标准化",
    "提质增效",
    "节能降耗",
    "自主",
    "一次交检合格率",
    "一次交验合格率",
    "一次合格率",
    "合格率",
    "不良率",
    "缺陷率",
    "良品率",
    "满意度",
    "成本",
    "能耗",
    "周期",
    "时间",
    "问题",
    "我们",
    "本",
    "各项",
    "有关",
    "相关",
    "的",
    "和",
    "与",
    "及",
    "之",
)
_VAGUE_STRIP = re.compile(
    "|".join(re.escape(w) for w in sorted({*_VERBS, *_GENERIC}, key=len, reverse=True))
)


def _concrete_part(title: str) -> str:
    text = re.sub(r"[^\w]", "", title)
    text = re.sub(r"\d+(?:\.\d+)?|至|达到|以上|以下|以内", "", text)
    return _VAGUE_STRIP.sub("", text)


# --- the check --------------------------------------------------------------------------------


def _finding(message: str, rule: str, **detail: str | int) -> Finding:
    return Finding(
        code=CODE,
        severity=Severity.ERROR,
        field=FIELD,
        message=message,
        detail={"rule": rule, **detail},
    )


def _unit_name_findings(text: str, applicant: str, joint_units: str) -> list[Finding]:
    """The applicant's or a joint unit's name in the title (the longest variant, once per unit)."""
    findings: list[Finding] = []
    for unit in [applicant, *split_units(joint_units)]:
        variant = next((v for v in unit_name_variants(unit) if v in text), None)
        if variant is not None:
            findings.append(
                _finding(
                    f"项目名称不应包含单位名称“{variant}”，请删去单位名称，{_FORMAT_HINT}",
                    "unit_name",
                    unit=variant,
                )
            )
    return findings


def _framing_findings(text: str) -> list[Finding]:
    """A "关于…/浅谈/研究报告/论…" framing, as in official letters or papers."""
    framing = next((p for p in _FRAMING_PREFIXES if text.startswith(p)), None)
    if framing is None:
        framing = next((p for p in _FRAMING_ANYWHERE if p in text), None)
    if framing is None and text.startswith("论") and not text.startswith(("论证", "论坛")):
        framing = "论"
    if framing is None:
        return []
    return [
        _finding(
            f"项目名称不应采用“{framing}……”这类公文或论文式表述，"
            f"请直接写明攻关对象和要改进的特性，{_FORMAT_HINT}",
            "framing",
            word=framing,
        )
    ]


def _slogan_findings(text: str) -> list[Finding]:
    """Slogans ("打造", "一流", "新台阶" …) in the title."""
    slogans = [s for s in _SLOGANS if s in text]
    if not slogans:
        return []
    shown = "”“".join(slogans)
    return [
        _finding(
            f"项目名称不应使用口号式用语“{shown}”，请改为平实、具体的表述，{_FORMAT_HINT}",
            "slogan",
            words="、".join(slogans),
        )
    ]


def _punctuation_findings(text: str) -> list[Finding]:
    """Punctuation in the title, other than inside a model number or specification."""
    marks = _punctuation(text)
    if not marks:
        return []
    shown = "".join(f"「{m}」" for m in marks)
    return [
        _finding(
            f"项目名称不应使用标点符号{shown}，请删去标点，写成一个简洁的短语；"
            "型号规格可保留连字符或括号，如“XK-200型”“（Φ50）”",
            "punctuation",
            marks="".join(marks),
        )
    ]


def _length_findings(text: str, max_len: int, min_len: int) -> list[Finding]:
    """A title longer than `max_len` or shorter than `min_len` characters."""
    length = len(text)
    if length > max_len:
        return [
            _finding(
                f"项目名称共{length}个字，超过{max_len}个字的上限，请精简，只保留攻关对象和目标特性，"
                "删去背景、手段和修饰语",
                "too_long",
                length=length,
                limit=max_len,
            )
        ]
    if length < min_len:
        return [
            _finding(
                f"项目名称仅{length}个字，过于简略，请写明具体的攻关对象和要改进的特性，{_FORMAT_HINT}",
                "too_short",
                length=length,
                limit=min_len,
            )
        ]
    return []


def _vagueness_findings(text: str, min_len: int) -> list[Finding]:
    """A title of full length that still names no concrete object (product, process, device)."""
    if len(text) < min_len or len(_concrete_part(text)) >= 2:
        return []
    return [
        _finding(
            f"项目名称“{text}”过于笼统，没有具体的攻关对象，请写明针对哪种产品、工序、"
            f"设备或服务环节，{_FORMAT_HINT}",
            "vague",
        )
    ]


def check_title(
    title: str,
    applicant: str = "",
    joint_units: str = "",
    *,
    max_len: int = DEFAULT_MAX_LEN,
    min_len: int = DEFAULT_MIN_LEN,
) -> list[Finding]:
    """Check a project title against the naming guide; an empty title gives no finding here (the
    missing field is reported by `domain.eligibility`)."""
    text = re.sub(r"\s+", "", _nfkc(title))
    if not text:
        return []
    return [
        *_unit_name_findings(text, applicant, joint_units),
        *_framing_findings(text),
        *_slogan_findings(text),
        *_punctuation_findings(text),
        *_length_findings(text, max_len, min_len),
        *_vagueness_findings(text, min_len),
    ]
