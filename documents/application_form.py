"""天津市质量攻关项目申报书 (attachment 5): the blank form, a filled form, and the reader.

Units fill the form in Word or WPS and reshape it as they go: a label and its value in
neighbouring cells, or both in one cell (``项目名称：…``), cells merged across columns or rows,
tables nested in cells, no table at all. :func:`read_form` therefore reads **by labels**, never by
cell positions:

* the document is walked in order (paragraphs, tables, nested tables, content controls) into rows
  of text units; a merged cell is seen once (a ``w:gridSpan`` cell is one ``w:tc``; the
  continuation cells of a vertical merge are skipped), so nothing is read twice;
* a unit is either a label alone (``项目名称``, ``项 目 名 称``, ``攻关项目名称：``), label and
  value (``项目名称：…``, ``项目名称:…``, full- or half-width colon, stray and full-width spaces),
  several pairs (``项目负责人：张三 电话：138…``), or a value for the label before it (the next
  cell, or the next row/paragraph when the label ends its row);
* 项目负责人/质量负责人 open a context for 姓名/职务/电话/邮箱; 项目组成员 are read from a
  table by its header (姓名/职务或职称/分工), or from lines ``1. 张三，高级工程师，总体设计``;
* blank-template text (``（盖章）``, ``年  月  日``, ``□是 □否``, ``____``, hints such as
  ``（可另附页）``) is ignored; ticked boxes (``☑节能降耗``) give their option;
* 计划起止日期 ``2025年5月—2025年12月`` / ``2025.05-2025.12`` / ``2025-05-01至2025-12-31`` give
  start/end as ``YYYY-MM`` or ``YYYY-MM-DD`` (kept as typed when they do not parse).

When a label occurs twice (the cover page repeats 项目名称/申报单位/推荐单位), the first
non-empty value wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import posixpath
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Literal
from urllib.parse import unquote

import docx
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ALIGN_VERTICAL, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from documents.docx_style import set_chinese_language
from documents.files import write_whole
from documents.fonts import (
    BODY_FONT,
    HEADING_FONT,
    SIZE_ER,
    SIZE_SAN,
    SIZE_WU,
    SIZE_XIAOSI,
    TITLE_FONT,
    set_run_font,
    set_style_font,
)
from documents.safety import FILE_UNREADABLE, UnreadableFile, check_bytes, check_file
from domain.models import ApplicationForm, ContactPerson, ProjectType, TeamMember
from domain.rubrics import KINDS

FORM_TITLE = "天津市质量攻关项目申报书"
DEFAULT_PROMISE = (
    "本单位郑重承诺：所申报项目不与历年质量攻关优秀成果项目雷同；所提交的申报材料及相关数据"
    "真实、准确、完整，不存在弄虚作假、侵犯他人知识产权等行为。如有不实，本单位愿承担相应责任。"
)
PROJECT_TYPES: tuple[str, ...] = tuple(t.value for t in ProjectType)
# 课题类型: the two kinds of topic the default rubrics score (domain.rubrics)
Layout = Literal["table", "inline", "paragraphs"]
LAYOUTS: tuple[str, ...] = ("table", "inline", "paragraphs")

# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------

Kind = Literal["field", "long", "dates", "context", "sub", "ignore"]


@dataclass(frozen=True)
class _Label:
    key: str
    kind: Kind
    strong: bool  # may start a new field even inside running long text


# (key, kind, aliases, weak aliases). Aliases are compared without spaces, numbering, "*" marks
# and parenthesised hints, so "一、项目名称（不超过30字）：" is 项目名称.
_LABEL_SPECS: tuple[tuple[str, Kind, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "title",
        "field",
        ("项目名称", "攻关项目名称", "质量攻关项目名称", "课题名称", "攻关课题名称", "项目题目"),
        (),
    ),
    (
        "applicant",
        "field",
        (
            "申报单位",
            "申报单位名称",
            "申报单位全称",
            "项目单位",
            "项目承担单位",
            "承担单位",
            "单位名称",
        ),
        (),
    ),
    (
        "uscc",
        "field",
        ("统一社会信用代码", "社会信用代码", "统一信用代码", "信用代码", "组织机构代码"),
        (),
    ),
    (
        "address",
        "field",
        ("单位地址", "通讯地址", "通信地址", "注册地址", "单位通讯地址"),
        ("地址",),
    ),
    (
        "district",
        "field",
        ("所属区", "所在区", "所属区域", "所在区域", "所属区县", "所属辖区", "所在区县"),
        (),
    ),
    ("chain", "field", ("所属产业链", "产业链", "所属重点产业链", "所属链条"), ()),
    ("project_type", "field", ("项目类型", "攻关类型", "项目类别", "攻关项目类型"), ("类型",)),
    ("kind", "field", ("课题类型", "成果类型", "攻关课题类型", "课题类别"), ()),
    ("joint", "field", ("是否联合申报", "是否为联合申报"), ()),
    ("joint_units", "field", ("联合申报单位", "联合单位", "联合申报单位名称", "合作单位"), ()),
    ("recommending_unit", "field", ("推荐单位", "推荐单位名称", "推荐部门"), ()),
    (
        "dates",
        "dates",
        (
            "计划起止日期",
            "计划起止时间",
            "起止日期",
            "起止时间",
            "项目起止时间",
            "项目起止日期",
            "计划实施周期",
            "实施周期",
            "实施期限",
            "项目周期",
        ),
        (),
    ),
    ("start_date", "dates", ("计划开始日期", "计划开始时间", "开始日期", "起始日期"), ()),
    (
        "end_date",
        "dates",
        ("计划完成日期", "计划完成时间", "完成日期", "结束日期", "计划结束日期"),
        (),
    ),
    ("economic_benefit", "field", ("经济效益", "预期经济效益"), ()),
    (
        "problem",
        "long",
        ("问题现状", "存在问题", "问题现状分析", "现状及问题", "问题描述", "现状与问题"),
        ("现状",),
    ),
    ("goal", "long", ("攻关目标", "预期目标", "项目目标", "攻关目标及指标"), ("目标",)),
    (
        "measures",
        "long",
        (
            "主要措施或技术路线",
            "主要措施及技术路线",
            "主要措施和技术路线",
            "主要措施/技术路线",
            "措施或技术路线",
            "主要措施",
            "技术路线",
            "实施方案",
        ),
        (),
    ),
    ("social_benefit", "long", ("社会效益", "预期社会效益"), ()),
    (
        "foundation",
        "long",
        ("已有基础", "工作基础", "已有工作基础", "现有基础", "前期基础"),
        (),
    ),
    (
        "integrity_promise",
        "long",
        ("申报单位诚信承诺", "诚信承诺", "申报单位承诺", "诚信承诺书"),
        ("承诺",),
    ),
    (
        "recommendation_opinion",
        "long",
        ("推荐单位意见", "推荐意见", "推荐单位推荐意见"),
        (),
    ),
    ("project_lead", "context", ("项目负责人",), ()),
    ("quality_lead", "context", ("质量负责人",), ()),
    (
        "members",
        "context",
        ("项目组成员", "项目组主要成员", "项目组成员名单", "项目成员", "团队成员"),
        ("主要成员",),
    ),
    ("benefit", "context", ("预期效益", "预期效果", "预期效益分析"), ()),
    ("name", "sub", (), ("姓名",)),
    ("position", "sub", (), ("职务", "职称", "职务或职称", "职务/职称", "职务职称", "职位")),
    (
        "phone",
        "sub",
        (),
        ("电话", "联系电话", "手机", "手机号", "手机号码", "联系方式", "办公电话", "固定电话"),
    ),
    ("email", "sub", (), ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "邮件")),
    (
        "role",
        "sub",
        (),
        ("分工", "项目分工", "任务分工", "承担任务", "主要分工", "在项目中的分工", "承担工作"),
    ),
    (
        "ignore",
        "ignore",
        ("申报日期", "填报日期", "填表日期", "法定代表人", "法人代表", "邮政编码"),
        ("联系人", "邮编", "传真", "日期"),
    ),
)

LONG_FIELDS = frozenset(k for k, kind, _a, _w in _LABEL_SPECS if kind == "long")

_SPACES = "\\s\u3000\u00a0\u200b\ufeff"
_SPACE_RE = re.compile(f"[{_SPACES}]+")
_PAREN_RE = re.compile(r"[（(][^（）()]*[)）]")
_NUMBERING_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|\d{1,2}[、.．)）](?!\d)|[（(][一二三四五六七八九十\d]{1,2}[)）])"
)


def _norm(text: str) -> str:
    return _SPACE_RE.sub("", text)


@lru_cache(maxsize=16384)  # labels and template texts come back in every form
def _label_key(text: str) -> str:
    n = _norm(text).strip("*★※#")
    n = _NUMBERING_RE.sub("", n)
    n = n.rstrip(":：")
    n = _PAREN_RE.sub("", n)
    return n.rstrip(":：").lower()


_ALIASES: dict[str, _Label] = {}
for _key, _kind, _strong_aliases, _weak_aliases in _LABEL_SPECS:
    for _alias in _strong_aliases:
        _ALIASES[_alias.lower()] = _Label(_key, _kind, True)
    for _alias in _weak_aliases:
        _ALIASES[_alias.lower()] = _Label(_key, _kind, False)


def _alias_pattern(alias: str) -> str:
    return f"[{_SPACES}]*".join(re.escape(c) for c in alias)


def _label_regex(strong_only: bool) -> re.Pattern[str]:
    aliases = sorted(
        (a for a, lab in _ALIASES.items() if lab.strong or not strong_only),
        key=len,
        reverse=True,
    )
    alternation = "|".join(_alias_pattern(a) for a in aliases)
    return re.compile(
        rf"(?P<label>{alternation})[{_SPACES}]*(?:[（(][^（）()\n]{{0,40}}[)）])?[{_SPACES}]*[:：]",
        re.IGNORECASE,
    )


_LABEL_COLON_RE = _label_regex(strong_only=False)
_STRONG_COLON_RE = _label_regex(strong_only=True)
_STRONG_SPACE_RE = re.compile(
    "(?P<label>"
    + "|".join(
        _alias_pattern(a)
        for a in sorted((a for a, lab in _ALIASES.items() if lab.strong), key=len, reverse=True)
    )
    + rf")(?:[（(][^（）()\n]{{0,40}}[)）])?[{_SPACES}]+(?=\S)",
    re.IGNORECASE,
)


def _lookup(text: str, *, strong_only: bool = False) -> _Label | None:
    lab = _ALIASES.get(_label_key(text))
    if lab is None or (strong_only and not lab.strong):
        return None
    return lab


# ---------------------------------------------------------------------------------------------
# Placeholders, checkboxes, dates
# ---------------------------------------------------------------------------------------------

_STAMP_RE = re.compile(
    r"[（(]?(?:申报单位|推荐单位|单位|项目单位)?[（(]?"
    r"(?:盖章|公章|签章|签字|签名|盖公章|签字盖章|签字并盖章|单位公章|章)[)）]?[:：]?"
)
_SIGNATURE_RE = re.compile(
    r"(?:法定代表人|法人代表|单位负责人|主要负责人|负责人|推荐单位负责人)[（(]?(?:签字|签名|签章)[)）]?[:：]?.*"
)
_EMPTY_DATE_RE = re.compile(r"[年月日至到—\-－~～/.．:：（）()_＿]*")
_HINT_RE = re.compile(
    r"[（(][^）)]*(?:字|附页|附件|填写|简述|说明|描述|可选|如有|不超过|应包括|包括|勾选|打√|选填|必填|等)[^）)]*[)）]"
)
_FILLER_RE = re.compile(r"[_＿\-—－…·.。]+")
_DATE_LINE_RE = re.compile(
    r"(?:日期[:：]?)?\d{4}[年.\-/．]\d{1,2}(?:[月.\-/．]\d{1,2}日?|月)?|"
    r"[〇○零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日"
)

_BOX_ON = "☑☒■▣√✓✔"
_BOX_OFF = "□☐◻○"
_BOX_ANY = _BOX_ON + _BOX_OFF
_BOX_RE = re.compile(f"([{_BOX_ANY}])[{_SPACES}]*([^{_BOX_ANY}{_SPACES}]+)")


@lru_cache(maxsize=16384)
def _is_placeholder(text: str) -> bool:
    n = _norm(text)
    if not n:
        return True
    return bool(
        _FILLER_RE.fullmatch(n)
        or _STAMP_RE.fullmatch(n)
        or _SIGNATURE_RE.fullmatch(n)
        or _EMPTY_DATE_RE.fullmatch(n)
        or _HINT_RE.fullmatch(n)
    )


def _is_date_line(text: str) -> bool:
    return bool(_DATE_LINE_RE.fullmatch(_norm(text)))


def _resolve_checkboxes(value: str) -> str:
    """``☑提质增效 □节能降耗`` -> ``提质增效``; only blank boxes -> ``""``."""
    if not any(c in value for c in "□☐◻☑☒■▣"):
        return value
    chosen = [opt for box, opt in _BOX_RE.findall(value) if box in _BOX_ON]
    return "、".join(chosen)


def _clean_short(value: str) -> str:
    lines = [ln.strip(_SPACES.replace("\\s", " \t\r\n")) for ln in value.split("\n")]
    kept = [ln for ln in lines if not _is_placeholder(ln)]
    text = " ".join(kept).strip()
    text = text.strip("；;，,、。 \t\u3000")
    return _resolve_checkboxes(text).strip()


def _clean_long(value: str, *, drop_dates: bool = False) -> str:
    lines = [ln.strip(" \t\r\u3000\u00a0") for ln in value.split("\n")]
    kept = [
        ln for ln in lines if not _is_placeholder(ln) and not (drop_dates and _is_date_line(ln))
    ]
    return "\n".join(kept).strip()


_DATE_RE = re.compile(
    r"(?<!\d)(\d{4})\s*(?:年|[.\-/．])\s*(\d{1,2})(?!\d)"
    r"(?:\s*(?:月|[.\-/．])\s*(\d{1,2})(?!\d)\s*日?|\s*月)?"
)
_MONTH_ONLY_RE = re.compile(r"(?<!\d)(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_PERIOD_SPLIT_RE = re.compile(r"\s*(?:至|到|—+|–|～|~|－|--)\s*")


def _ymd(y: int, m: int, d: int | None) -> str | None:
    try:
        dt.date(y, m, d or 1)
    except ValueError:
        return None
    return f"{y:04d}-{m:02d}" + (f"-{d:02d}" if d else "")


def _parse_date_parts(text: str) -> tuple[int, int, int | None] | None:
    m = _DATE_RE.search(text)
    if not m:
        return None
    y, mo = int(m.group(1)), int(m.group(2))
    d = int(m.group(3)) if m.group(3) else None
    return (y, mo, d) if _ymd(y, mo, d) else None


def normalise_date(text: str) -> str:
    """One date as ``YYYY-MM`` or ``YYYY-MM-DD``; the text itself when it does not parse."""
    parts = _parse_date_parts(text)
    if parts is None:
        return text.strip()
    return _ymd(*parts) or text.strip()


def parse_period(text: str) -> tuple[str, str]:
    """计划起止日期 -> (start, end), normalised where parseable."""
    text = text.strip()
    if not text:
        return "", ""
    found: list[str] = []
    last_end = 0
    year = None
    first = _DATE_RE.search(text)
    if first and _PERIOD_SPLIT_RE.fullmatch(text[: first.start()]) and first.start() > 0:
        # "—2025年12月" / "至2025-12-31": only the end was filled in
        return "", normalise_date(text[first.start() :])
    for m in _DATE_RE.finditer(text):
        y, mo = int(m.group(1)), int(m.group(2))
        d = int(m.group(3)) if m.group(3) else None
        norm = _ymd(y, mo, d)
        if norm:
            found.append(norm)
            year = y
            last_end = m.end()
        if len(found) == 2:
            break
    if len(found) == 1 and year is not None:
        rest = text[last_end:]
        m2 = _MONTH_ONLY_RE.search(rest)
        if m2:
            norm = _ymd(year, int(m2.group(1)), int(m2.group(2)) if m2.group(2) else None)
            if norm:
                found.append(norm)
    if found:
        return found[0], found[1] if len(found) > 1 else ""
    parts = [p for p in _PERIOD_SPLIT_RE.split(text, maxsplit=1) if p.strip()]
    return (parts[0].strip() if parts else ""), (parts[1].strip() if len(parts) > 1 else "")


def format_period(start: str, end: str, style: str = "cn") -> str:
    """Write start/end as units do: ``cn`` 2025年5月—2025年12月, ``dot`` 2025.05-2025.12,
    ``iso`` 2025-05-01至2025-12-31."""

    def one(value: str) -> str:
        p = _parse_date_parts(value) if value else None
        if p is None:
            return value
        y, m, d = p
        if style == "dot":
            return f"{y}.{m:02d}" + (f".{d:02d}" if d else "")
        if style == "iso":
            return f"{y}-{m:02d}" + (f"-{d:02d}" if d else "")
        return f"{y}年{m}月" + (f"{d}日" if d else "")

    if not start and not end:
        return ""
    sep = {"dot": "-", "iso": "至"}.get(style, "—")
    if style == "dot" and not (_parse_date_parts(start) and _parse_date_parts(end)):
        sep = "至"
    return f"{one(start)}{sep}{one(end)}"


# ---------------------------------------------------------------------------------------------
# Walking the document
# ---------------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_SKIP_TAGS = {
    _MC_FALLBACK,
    _W + "pPr",
    _W + "rPr",
    _W + "delText",
    _W + "instrText",
    _W + "del",
    _W + "tabs",
}
# Checkbox glyphs of the symbol fonts Word uses for □/☑.
_SYM_CHECKED = {"F052", "0052", "F0FE", "00FE", "F054", "F053", "F078", "F0FD"}
_SYM_EMPTY = {"F0A3", "00A3", "F0A8", "00A8", "F06F", "006F", "F071", "0071", "F0A1"}


@dataclass
class _Unit:
    text: str
    kind: Literal["para", "cell"]
    grid_col: int = 0
    span: int = 1
    seen: bool = False  # continuation of a vertical merge: read once, in the first row


@dataclass
class _Row:
    units: list[_Unit]
    table: object | None = None  # the w:tbl element the row belongs to


# Tags compared on every element while walking, built once.
_W_P, _W_TBL, _W_TR, _W_TC, _W_R, _W_T = (_W + t for t in ("p", "tbl", "tr", "tc", "r", "t"))
_W_TRPR, _W_TCPR, _W_SYM, _W_VAL, _W_CHAR = (_W + t for t in ("trPr", "tcPr", "sym", "val", "char"))
_W_GRID_BEFORE, _W_GRID_SPAN, _W_VMERGE = (_W + t for t in ("gridBefore", "gridSpan", "vMerge"))
_W_SDT, _W_SDT_CONTENT, _W_CUSTOM_XML = (_W + t for t in ("sdt", "sdtContent", "customXml"))
_BLOCK_CONTAINERS = {_W + "customXml", _W + "ins", _W + "smartTag"}
_CHAR_TAGS = {_W + "tab": "\t", _W + "br": "\n", _W + "cr": "\n", _W + "noBreakHyphen": "-"}


def _inline_text(el: etree._Element, out: list[str]) -> None:
    for child in el:
        tag = child.tag
        if tag in _SKIP_TAGS:
            continue
        if tag == _W_T:
            out.append(child.text or "")
        elif tag == _W_R:
            _inline_text(child, out)
        elif tag in _CHAR_TAGS:
            out.append(_CHAR_TAGS[tag])
        elif not isinstance(tag, str):  # comments, processing instructions
            continue
        elif tag == _W_SYM:
            char = (child.get(_W_CHAR) or "").upper()
            out.append("☑" if char in _SYM_CHECKED else "□" if char in _SYM_EMPTY else "")
        elif tag == _W_P:  # paragraphs of a text box inside this paragraph
            out.append("\n")
            _inline_text(child, out)
        else:
            _inline_text(child, out)


def _para_text(p: etree._Element) -> str:
    out: list[str] = []
    _inline_text(p, out)
    return "".join(out)


def _block_children(el: etree._Element) -> Iterator[etree._Element]:
    """Direct w:p / w:tbl children, looking through content controls and custom XML."""
    for child in el:
        tag = child.tag
        if tag == _W_P or tag == _W_TBL:
            yield child
        elif tag == _W_SDT:
            content = child.find(_W_SDT_CONTENT)
            if content is not None:
                yield from _block_children(content)
        elif tag in _BLOCK_CONTAINERS:
            yield from _block_children(child)


def _row_cells(tr: etree._Element) -> Iterator[etree._Element]:
    for child in tr:
        tag = child.tag
        if tag == _W_TC:
            yield child
        elif tag == _W_SDT or tag == _W_CUSTOM_XML:
            content = child.find(_W_SDT_CONTENT) if tag == _W_SDT else child
            if content is not None:
                yield from _row_cells(content)


def _table_rows(tbl: etree._Element) -> Iterator[etree._Element]:
    for child in tbl:
        tag = child.tag
        if tag == _W_TR:
            yield child
        elif tag == _W_SDT or tag == _W_CUSTOM_XML:
            content = child.find(_W_SDT_CONTENT) if tag == _W_SDT else child
            if content is not None:
                yield from _table_rows(content)


def _int_attr(el: etree._Element | None, default: int) -> int:
    if el is None:
        return default
    try:
        return int(el.get(_W_VAL) or default)
    except ValueError:
        return default


def _properties(el: etree._Element, tag: str) -> etree._Element | None:
    """The w:trPr / w:tcPr of a row or cell: its first child as Word writes it, else found."""
    if len(el) and el[0].tag == tag:
        return el[0]
    return el.find(tag)


def _walk_table(tbl: etree._Element) -> Iterator[_Row]:
    for tr in _table_rows(tbl):
        trpr = _properties(tr, _W_TRPR)
        col = _int_attr(trpr.find(_W_GRID_BEFORE) if trpr is not None else None, 0)
        units: list[_Unit] = []
        for tc in _row_cells(tr):
            tcpr = _properties(tc, _W_TCPR)
            span_el = vmerge = None
            if tcpr is not None:
                for prop in tcpr:
                    if prop.tag == _W_GRID_SPAN and span_el is None:
                        span_el = prop
                    elif prop.tag == _W_VMERGE and vmerge is None:
                        vmerge = prop
            span = _int_attr(span_el, 1)
            continuation = vmerge is not None and vmerge.get(_W_VAL) in (None, "continue")
            paragraphs: list[str] = []
            nested: list[etree._Element] = []
            for block in _block_children(tc):
                if block.tag == _W_P:
                    paragraphs.append(_para_text(block))
                else:
                    nested.append(block)
            units.append(_Unit("\n".join(paragraphs), "cell", col, span, continuation))
            col += max(span, 1)
            if nested and not continuation:
                # Nested tables are read right after their cell, in their cell's context.
                yield _Row(units, tbl)
                units = []
                for inner in nested:
                    yield from _walk_table(inner)
        if units:
            yield _Row(units, tbl)


def _walk(body: etree._Element) -> Iterator[_Row]:
    for block in _block_children(body):
        if block.tag == _W_P:
            yield _Row([_Unit(_para_text(block), "para")])
        else:
            yield from _walk_table(block)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

_MEMBER_HEADERS: dict[str, str] = {
    "序号": "seq",
    "编号": "seq",
    "姓名": "name",
    "成员姓名": "name",
    "职务或职称": "title",
    "职务/职称": "title",
    "职务职称": "title",
    "职务": "title",
    "职称": "title",
    "分工": "role",
    "项目分工": "role",
    "任务分工": "role",
    "承担任务": "role",
    "主要分工": "role",
    "在项目中的分工": "role",
    "承担工作": "role",
    "工作单位": "other",
    "所在单位": "other",
    "单位": "other",
    "所在部门": "other",
    "部门": "other",
    "专业": "other",
    "学历": "other",
    "签字": "other",
    "联系电话": "other",
    "电话": "other",
}

_Target = tuple[str, ...]


@dataclass
class _State:
    values: dict[str, str] = field(default_factory=dict)
    leads: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"project_lead": {}, "quality_lead": {}}
    )
    members: list[TeamMember] = field(default_factory=list)
    context: str | None = None
    pending: _Target | None = None
    pending_blocked: bool = False
    long_target: str | None = None  # paragraphs after it are appended to this long field
    member_cols: dict[str, int] | None = None
    member_table: object | None = None


def _segments(text: str, *, strong_only: bool = False) -> tuple[str, list[tuple[_Label, str]]]:
    """Split a unit into the text before any label and (label, value) pairs."""
    text = text.strip(" \t\r\n\u3000\u00a0")
    if not text:
        return "", []
    first, _, rest = text.partition("\n")
    lab = _lookup(first, strong_only=strong_only)
    if lab is not None:
        if lab.kind == "long":
            return "", [(lab, rest)]
        lead, segs = _segments(rest, strong_only=strong_only)
        if segs and not lead:
            return "", [(lab, ""), *segs]
        return "", [(lab, lead), *segs]
    regex = _STRONG_COLON_RE if strong_only else _LABEL_COLON_RE
    matches = list(regex.finditer(text))
    if not matches:
        m = _STRONG_SPACE_RE.match(text)
        if m:
            lab = _lookup(m.group("label"))
            if lab is not None:
                return "", [(lab, text[m.end() :])]
        return text, []
    segs: list[tuple[_Label, str]] = []
    leading = text[: matches[0].start()]
    for i, m in enumerate(matches):
        lab = _lookup(m.group("label"))
        if lab is None:  # pragma: no cover - the regex is built from the aliases
            continue
        if lab.kind == "long":
            segs.append((lab, text[m.end() :]))
            break
        stop = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        segs.append((lab, text[m.end() : stop]))
    return leading, segs


def _starts_with_strong_label(text: str) -> bool:
    stripped = text.strip(" \t\r\n\u3000\u00a0")
    if not stripped:
        return False
    if _lookup(stripped.split("\n", 1)[0], strong_only=True) is not None:
        return True
    m = _STRONG_COLON_RE.match(stripped)
    return m is not None


def _member_from_line(line: str) -> TeamMember | None:
    line = line.strip(" \t\u3000")
    if re.match(r"^[一二三四五六七八九十]+[、.．]", line):  # a section heading, not a member
        return None
    line = _NUMBERING_RE.sub("", line)
    line = re.sub(r"^\d{1,3}\s+", "", line).strip()
    if _is_placeholder(line):
        return None
    parts = [p.strip() for p in re.split(r"[，,、；;\t]|\s{2,}|\u3000", line, maxsplit=2)]
    if len(parts) == 1:
        parts = line.split(None, 2)
    parts = [*parts, "", "", ""]
    if not parts[0] or len(parts[0]) > 20:
        return None
    return TeamMember(name=parts[0], title=parts[1], role=parts[2].rstrip("；;。"))


class _Reader:
    def __init__(self) -> None:
        self.s = _State()

    # -- assigning values --------------------------------------------------------------------

    def _set(self, key: str, value: str) -> bool:
        if value and not self.s.values.get(key):
            self.s.values[key] = value
            return True
        return False

    def assign(self, target: _Target, raw: str, kind: str) -> None:
        s = self.s
        if target[0] == "field":
            key = target[1]
            if key in LONG_FIELDS:
                value = _clean_long(
                    raw, drop_dates=key in ("integrity_promise", "recommendation_opinion")
                )
                if self._set(key, value) and kind == "para":
                    s.long_target = key
                return
            value = _clean_short(raw)
            if key == "dates":
                start, end = parse_period(value)
                self._set("start_date", start)
                self._set("end_date", end)
            elif key in ("start_date", "end_date"):
                self._set(key, normalise_date(value))
            elif key == "benefit":
                self._benefit(raw)
            else:
                self._set(key, value)
        elif target[0] == "lead":
            ctx, sub = target[1], target[2]
            value = _clean_short(raw)
            if sub == "role" or not value:
                return
            person = s.leads[ctx]
            if not person.get(sub):
                person[sub] = value
        elif target[0] == "member":
            sub = target[1]
            value = _clean_short(raw)
            if not value:
                return
            if sub == "name":
                s.members.append(TeamMember(name=value))
            elif s.members and sub in ("title", "role") and not getattr(s.members[-1], sub):
                setattr(s.members[-1], sub, value)
        # ("ignore",): the value is consumed and dropped

    def _benefit(self, raw: str) -> None:
        """预期效益 written as free text, without 经济效益/社会效益 labels."""
        text = _clean_long(raw)
        if not text:
            return
        m = re.search(r"(\d+(?:\.\d+)?)\s*万元", text)
        if m:
            self._set("economic_benefit", m.group(1))
        self._set("social_benefit", text)

    # -- labels ------------------------------------------------------------------------------

    def label(self, lab: _Label, value: str, kind: str) -> None:
        s = self.s
        s.long_target = None
        s.pending = None
        s.pending_blocked = False
        target: _Target | None
        if lab.kind == "context":
            s.context = lab.key
            if lab.key in ("project_lead", "quality_lead"):
                target = ("lead", lab.key, "name")
            elif lab.key == "benefit":
                target = ("field", "benefit")
            else:  # members, possibly listed in the same unit
                for line in value.split("\n"):
                    member = _member_from_line(line)
                    if member is not None:
                        s.members.append(member)
                return
        elif lab.kind == "sub":
            sub = "position" if lab.key == "position" else lab.key
            if s.context in ("project_lead", "quality_lead"):
                target = ("lead", s.context, sub)
            elif s.context == "members":
                member_sub = {"name": "name", "position": "title", "role": "role"}.get(lab.key)
                target = ("member", member_sub) if member_sub else ("ignore",)
            else:
                target = ("ignore",)
        elif lab.kind == "ignore":
            s.context = None
            target = ("ignore",)
        else:
            if not (s.context == "benefit" and lab.key in ("economic_benefit", "social_benefit")):
                s.context = None
            target = ("field", lab.key)
        if _is_placeholder(value):
            s.pending = target
        else:
            self.assign(target, value, kind)

    # -- units and rows ----------------------------------------------------------------------

    def unit(self, u: _Unit) -> None:
        s = self.s
        text = u.text
        pending_long = (
            s.pending is not None
            and s.pending[0] == "field"
            and (s.pending[1] in LONG_FIELDS or s.pending[1] == "benefit")
        )
        if pending_long and not _starts_with_strong_label(text):
            if _is_placeholder(text):
                if u.kind == "cell":
                    s.pending_blocked = True
                return
            assert s.pending is not None
            target, s.pending = s.pending, None
            self.assign(target, text, u.kind)
            return
        if s.long_target is not None and u.kind == "para" and not _starts_with_strong_label(text):
            key = s.long_target
            drop_dates = key in ("integrity_promise", "recommendation_opinion")
            extra = _clean_long(text, drop_dates=drop_dates)
            if extra:
                s.values[key] = f"{s.values[key]}\n{extra}"
            return
        if _is_placeholder(text):
            if u.kind == "cell" and s.pending is not None:
                s.pending_blocked = True
            return
        if s.pending is not None and s.pending[-1] in ("position", "title"):
            lab = _lookup(text)
            if lab is not None and lab.key in ("project_lead", "quality_lead"):
                # 职务 | 质量负责人: a position that reads like a label
                target, s.pending = s.pending, None
                self.assign(target, text, u.kind)
                return
        leading, segs = _segments(text)
        if leading.strip() and not _is_placeholder(leading):
            if s.pending is not None:
                target, s.pending = s.pending, None
                self.assign(target, leading, u.kind)
            elif s.context == "members":
                if re.match(r"^[一二三四五六七八九十]+[、.．]", leading.strip()):
                    s.context = None  # the next section's heading
                for line in leading.split("\n"):
                    member = _member_from_line(line)
                    if member is not None:
                        s.members.append(member)
            elif s.context == "benefit" and not segs:
                self._benefit(leading)
        for lab, value in segs:
            self.label(lab, value, u.kind)

    def _member_header(self, row: _Row) -> dict[str, int] | None:
        cols: dict[str, int] = {}
        for u in row.units:
            if u.seen or not _norm(u.text):
                continue
            key = _label_key(u.text)
            role = _MEMBER_HEADERS.get(key)
            if role is None:
                lab = _ALIASES.get(key)
                if lab is not None and lab.key == "members":
                    continue
                return None
            if role not in cols:
                cols[role] = u.grid_col
        if "name" in cols and ("role" in cols or "title" in cols):
            return cols
        return None

    def _member_row(self, row: _Row, cols: dict[str, int]) -> None:
        def at(col: int | None) -> str:
            if col is None:
                return ""
            for u in row.units:
                if u.grid_col <= col < u.grid_col + max(u.span, 1):
                    return "" if u.seen else _clean_short(u.text)
            return ""

        name = at(cols.get("name"))
        if not name:
            return
        self.s.members.append(
            TeamMember(name=name, title=at(cols.get("title")), role=at(cols.get("role")))
        )

    def _is_field_row(self, row: _Row) -> bool:
        for u in row.units:
            if u.seen:
                continue
            first = u.text.strip().split("\n", 1)[0]
            lab = _lookup(first, strong_only=True) or (
                _lookup(m.group("label")) if (m := _STRONG_COLON_RE.match(u.text.strip())) else None
            )
            if lab is not None and lab.kind != "sub" and lab.key != "members":
                return True
        return False

    def row(self, row: _Row) -> None:
        s = self.s
        if s.member_cols is not None and (row.table is not s.member_table or row.table is None):
            s.member_cols = None  # the member table has ended, and with it the members
            if s.context == "members":
                s.context = None
        if row.table is not None:
            s.long_target = None
            header = self._member_header(row)
            if header is not None:
                s.member_cols, s.member_table = header, row.table
                s.context, s.pending = "members", None
                return
            if s.member_cols is not None:
                if self._is_field_row(row):
                    s.member_cols = None
                else:
                    self._member_row(row, s.member_cols)
                    return
        for u in row.units:
            if not u.seen:
                self.unit(u)
        if s.pending is not None and s.pending_blocked:
            s.pending = None
        s.pending_blocked = False

    def result(self) -> ApplicationForm:
        s = self.s
        v = s.values
        return ApplicationForm(
            title=v.get("title", ""),
            applicant=v.get("applicant", ""),
            uscc=re.sub(f"[{_SPACES}]", "", v.get("uscc", "")),
            address=v.get("address", ""),
            district=v.get("district", ""),
            chain=v.get("chain", ""),
            project_type=v.get("project_type", ""),
            kind=v.get("kind", ""),
            joint=v.get("joint", ""),
            joint_units=v.get("joint_units", ""),
            recommending_unit=v.get("recommending_unit", ""),
            project_lead=ContactPerson(**s.leads["project_lead"]),
            quality_lead=ContactPerson(**s.leads["quality_lead"]),
            members=s.members,
            start_date=v.get("start_date", ""),
            end_date=v.get("end_date", ""),
            problem=v.get("problem", ""),
            goal=v.get("goal", ""),
            measures=v.get("measures", ""),
            economic_benefit=v.get("economic_benefit", ""),
            social_benefit=v.get("social_benefit", ""),
            foundation=v.get("foundation", ""),
            integrity_promise=v.get("integrity_promise", ""),
            recommendation_opinion=v.get("recommendation_opinion", ""),
        )


_PKG_RELS = "_rels/.rels"
_CONTENT_TYPES = "[Content_Types].xml"
_RT_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)
_RT_OFFICE_DOCUMENT_STRICT = (
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
)
_CT_DOCUMENT_MAIN = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
)
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# The options python-docx parses with: no entities resolved, ignorable whitespace dropped.
_XML_PARSER = etree.XMLParser(
    remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False
)


def _main_part_name(zf: zipfile.ZipFile) -> str:
    """The package's main document part (as python-docx finds it), checked to be a Word body."""
    rels = etree.fromstring(zf.read(_PKG_RELS), _XML_PARSER)
    target = None
    for rel in rels.iter(_REL + "Relationship"):
        if rel.get("Type") in (_RT_OFFICE_DOCUMENT, _RT_OFFICE_DOCUMENT_STRICT):
            if rel.get("TargetMode") != "External":
                target = rel.get("Target")
                break
    if not target:
        raise ValueError("no main document part")
    part = posixpath.normpath(unquote(target).lstrip("/"))
    types = etree.fromstring(zf.read(_CONTENT_TYPES), _XML_PARSER)
    content_type = None
    for override in types.iter(_CT + "Override"):
        if (override.get("PartName") or "").lstrip("/").lower() == part.lower():
            content_type = override.get("ContentType")
            break
    else:
        ext = posixpath.splitext(part)[1].lstrip(".").lower()
        for default in types.iter(_CT + "Default"):
            if (default.get("Extension") or "").lower() == ext:
                content_type = default.get("ContentType")
                break
    if content_type != _CT_DOCUMENT_MAIN:
        raise ValueError(f"main part is {content_type!r}, not a Word document")
    return part


def _document_body(data: bytes) -> etree._Element:
    """The ``w:body`` of a .docx, parsed from its main part alone (the rest is never read)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = etree.fromstring(zf.read(_main_part_name(zf)), _XML_PARSER)
    body = root.find(_W + "body")
    if root.tag != _W + "document" or body is None:
        raise ValueError("the main part has no w:body")
    return body


# Forms already read, by the SHA-256 of their bytes: a unit resubmitting its batch to fix one
# form sends the others again unchanged, and the same bytes always read the same.
_READ_FORMS: OrderedDict[bytes, ApplicationForm] = OrderedDict()
_READ_FORMS_KEPT = 4096
_READ_FORMS_LOCK = threading.Lock()  # Prefect may run intake tasks in threads


def read_form(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    name: str | None = None,
    check: bool = True,
) -> ApplicationForm:
    """Read a filled 申报书 (.docx) by its labels.

    ``source`` is a path, the bytes, or a binary file object; ``name`` names it in messages.
    With ``check`` (default) the file first goes through :func:`documents.safety.check_file`;
    a refused or unparseable file raises :class:`UnreadableFile`. Only the package's main part
    (``word/document.xml``) is parsed; styles, numbering and media are not needed to read labels.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        display = name or path.name
        if check:
            check_file(path)
        data = path.read_bytes()
    else:
        data = source if isinstance(source, bytes) else source.read()
        display = name or "申报书.docx"
        if check:
            check_bytes(data, display if display.lower().endswith(".docx") else display + ".docx")
    digest = hashlib.sha256(data).digest()
    with _READ_FORMS_LOCK:
        known = _READ_FORMS.get(digest)
        if known is not None:
            _READ_FORMS.move_to_end(digest)
    if known is not None:
        return known.model_copy(deep=True)
    try:
        body = _document_body(data)
    except Exception as exc:  # zipfile, lxml and a missing part raise alike
        raise UnreadableFile(
            FILE_UNREADABLE,
            f"文件「{display}」无法作为 Word 申报书读取，请用 Word/WPS 打开后另存为 .docx "
            "格式再提交。",
            file=display,
        ) from exc
    form = _read_body(body)
    with _READ_FORMS_LOCK:
        _READ_FORMS[digest] = form.model_copy(deep=True)
        if len(_READ_FORMS) > _READ_FORMS_KEPT:
            _READ_FORMS.popitem(last=False)
    return form


def read_document(document: DocxDocument) -> ApplicationForm:
    """Read an already opened python-docx document by its labels."""
    return _read_body(document.element.body)


def _read_body(body: etree._Element) -> ApplicationForm:
    reader = _Reader()
    for row in _walk(body):
        reader.row(row)
    return reader.result()


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

_PAGE_W, _PAGE_H = Cm(21.0), Cm(29.7)
_MARGINS = {"top": Cm(3.7), "bottom": Cm(3.5), "left": Cm(2.8), "right": Cm(2.6)}
_MAIN_WIDTHS = (3.0, 2.0, 4.0, 2.4, 4.2)  # 15.6 cm: the text width
_MEMBER_WIDTHS = (1.5, 3.0, 4.0, 7.1)
_LONG_WIDTHS = (3.0, 12.6)
_LABEL_FILL = "F2F2F2"
_PROMISE_HINTS = {
    "problem": "问题现状（简述存在的质量问题、现状数据及原因分析，可另附页）",
    "goal": "攻关目标（含可量化的指标，如合格率、不良率、能耗、周期等）",
    "measures": "主要措施或技术路线",
    "foundation": "已有基础（专利、标准、成果鉴定等）",
}


_RT_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _new_document() -> DocxDocument:
    doc = docx.Document()
    # python-docx's default package carries Word 2010's stylesWithEffects.xml (430 kB of
    # uncompressed XML that no current Word, WPS or LibreOffice reads); every upload is
    # decompressed in full by the safety check, so the forms leave it out.
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype == _RT_STYLES_WITH_EFFECTS:
            doc.part.drop_rel(rid)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = _PAGE_W, _PAGE_H
    section.top_margin = _MARGINS["top"]
    section.bottom_margin = _MARGINS["bottom"]
    section.left_margin = _MARGINS["left"]
    section.right_margin = _MARGINS["right"]
    normal = doc.styles["Normal"]
    set_style_font(normal, BODY_FONT, size=SIZE_XIAOSI)
    pf = normal.paragraph_format  # type: ignore[attr-defined]
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing = 1.25
    set_chinese_language(doc)
    doc.core_properties.title = FORM_TITLE
    doc.core_properties.author = "天津市市场监督管理委员会"
    return doc


def _para(
    container: DocxDocument | _Cell,
    text: str = "",
    *,
    font: str = BODY_FONT,
    size: float | None = None,
    bold: bool | None = None,
    align: WD_ALIGN_PARAGRAPH | None = None,
    first: bool = False,
) -> Paragraph:
    """Add a paragraph (or fill a cell's first, empty one) in the given Chinese font."""
    if first and isinstance(container, _Cell):
        p = container.paragraphs[0]
    else:
        p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    if text:
        set_run_font(p.add_run(text), font, size=size, bold=bold)
    return p


def _set_cell(
    cell: _Cell,
    text: str,
    *,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    fill: str | None = None,
    size: float = SIZE_XIAOSI,
) -> _Cell:
    for extra in cell.paragraphs[1:]:
        extra._element.getparent().remove(extra._element)
    lines = text.split("\n") if text else [""]
    for i, line in enumerate(lines):
        _para(cell, line, size=size, bold=bold or None, align=align, first=i == 0)
    cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
    if fill:
        tcpr = cell._tc.get_or_add_tcPr()
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), fill)
        for tag in ("noWrap", "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark"):
            successor = tcpr.find(qn(f"w:{tag}"))  # keep the schema order of w:tcPr
            if successor is not None:
                successor.addprevious(shd)
                break
        else:
            tcpr.append(shd)
    return cell


def _label_cell(cell: _Cell, text: str) -> _Cell:
    return _set_cell(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, fill=_LABEL_FILL)


_TBLPR_AFTER_BORDERS = ("shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption")


def _set_table_borders(table: Table, size_eighths: int = 6) -> None:
    tblpr = table._tbl.tblPr
    old = tblpr.find(qn("w:tblBorders"))
    if old is not None:
        tblpr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size_eighths))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    for tag in _TBLPR_AFTER_BORDERS:  # keep the schema order of w:tblPr
        successor = tblpr.find(qn(f"w:{tag}"))
        if successor is not None:
            successor.addprevious(borders)
            return
    tblpr.append(borders)


def _table(container: DocxDocument | _Cell, widths: Sequence[float]) -> Table:
    if isinstance(container, _Cell):
        table = container.add_table(rows=0, cols=len(widths))
    else:
        table = container.add_table(rows=0, cols=len(widths))
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _set_table_borders(table)
    for col, width in zip(table.columns, widths, strict=True):
        col.width = Cm(width)
    return table


def _row(table: Table, widths: Sequence[float], min_height_cm: float = 0.9) -> list[_Cell]:
    row = table.add_row()
    row.height = Cm(min_height_cm)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    cells = list(row.cells)
    for cell, width in zip(cells, widths, strict=True):
        cell.width = Cm(width)
    return cells


def _merge(cells: list[_Cell], first: int, last: int) -> _Cell:
    return cells[first].merge(cells[last]) if last > first else cells[first]


def _checkboxes(options: Sequence[str], value: str | None) -> str:
    return "  ".join(f"{'☑' if value == o else '□'}{o}" for o in options)


def choice_text(options: Sequence[str], value: str) -> str:
    """A filled choice as the table layout shows it: ``☑提质增效  □节能降耗 …``, or the value
    as typed when it is not one of the options."""
    return _checkboxes(options, value) if value in options else value


def _choice(options: Sequence[str], value: str, blank: bool) -> str:
    return _checkboxes(options, None) if blank else choice_text(options, value)


def _cover(doc: DocxDocument, form: ApplicationForm | None) -> None:
    p = _para(doc, "附件5", font=HEADING_FONT, size=SIZE_SAN)
    p.paragraph_format.space_after = Pt(24)
    for _ in range(3):
        _para(doc)
    title = _para(
        doc, FORM_TITLE, font=TITLE_FONT, size=SIZE_ER, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    title.paragraph_format.space_after = Pt(60)
    blank = "_" * 26
    lines = (
        ("项目名称", form.title if form else ""),
        ("申报单位（盖章）", form.applicant if form else ""),
        ("推荐单位（盖章）", form.recommending_unit if form else ""),
        ("申报日期", ""),
    )
    for label, value in lines:
        shown = value or ("      年    月    日" if label == "申报日期" else blank)
        cp = _para(doc, f"{label}：", size=SIZE_SAN)
        cp.paragraph_format.left_indent = Cm(1.5)
        cp.paragraph_format.space_after = Pt(18)
        set_run_font(cp.add_run(shown), BODY_FONT, size=SIZE_SAN, bold=False)
    for _ in range(4):
        _para(doc)
    _para(
        doc,
        "天津市市场监督管理委员会  制",
        size=SIZE_SAN,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _section_heading(doc: DocxDocument, text: str) -> None:
    p = _para(doc, text, font=HEADING_FONT, size=SIZE_SAN)
    p.paragraph_format.space_before = Pt(6)
    p.paragraph_format.space_after = Pt(6)
    p.paragraph_format.keep_with_next = (
        True  # never stranded at a page's foot, apart from its table
    )


def _promise_block(cell: _Cell, heading: str, body: str, stamp: str, date_text: str) -> None:
    _set_cell(cell, heading, bold=True)
    cell.vertical_alignment = WD_ALIGN_VERTICAL.TOP
    for line in body.split("\n") if body else ["", "", ""]:
        p = _para(cell, line)
        p.paragraph_format.first_line_indent = Pt(24)
    if heading.startswith("申报单位"):
        _para(cell)
        _para(cell, "法定代表人（签字）：", align=WD_ALIGN_PARAGRAPH.LEFT)
    _para(cell)
    _para(cell, stamp, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(cell, date_text, align=WD_ALIGN_PARAGRAPH.RIGHT)


def _full_row(t: Table, label: str, value: str) -> None:
    """A row of 基本信息: the label, then its value across the rest of the row."""
    cells = _row(t, _MAIN_WIDTHS)
    _label_cell(cells[0], label)
    _set_cell(_merge(cells, 1, 4), value)


def _pair_row(t: Table, label1: str, value1: str, label2: str, value2: str) -> None:
    """A row of 基本信息 holding two fields side by side."""
    cells = _row(t, _MAIN_WIDTHS)
    _label_cell(cells[0], label1)
    _set_cell(_merge(cells, 1, 2), value1)
    _label_cell(cells[3], label2)
    _set_cell(cells[4], value2)


def _contact_rows(t: Table, label: str, person: ContactPerson, *, full_details: bool) -> None:
    """项目负责人/质量负责人: 姓名/电话 in one row, or 姓名/职务 and 电话/邮箱 in two."""
    w = _MAIN_WIDTHS
    if not full_details:  # the printed form asks 质量负责人 for 姓名/电话 only
        cells = _row(t, w)
        _label_cell(cells[0], label)
        _label_cell(cells[1], "姓名")
        _set_cell(cells[2], person.name)
        _label_cell(cells[3], "电话")
        _set_cell(cells[4], person.phone)
        return
    r1, r2 = _row(t, w), _row(t, w)
    _label_cell(r1[0].merge(r2[0]), label)  # merged down two rows
    for cells, (l1, v1, l2, v2) in (
        (r1, ("姓名", person.name, "职务", person.position)),
        (r2, ("电话", person.phone, "邮箱", person.email)),
    ):
        _label_cell(cells[1], l1)
        _set_cell(cells[2], v1)
        _label_cell(cells[3], l2)
        _set_cell(cells[4], v2)


def _basic_info_section(doc: DocxDocument, f: ApplicationForm, *, blank: bool) -> None:
    """一、基本信息: the unit, the project's classification, the dates and the two leads."""
    _section_heading(doc, "一、基本信息")
    t = _table(doc, _MAIN_WIDTHS)
    _full_row(t, "项目名称", f.title)
    _full_row(t, "申报单位", f.applicant)
    _pair_row(t, "统一社会信用代码", f.uscc, "所属区", f.district)
    _full_row(t, "单位地址", f.address)
    _full_row(t, "所属产业链", f.chain)
    _full_row(t, "项目类型", _choice(PROJECT_TYPES, f.project_type, blank))
    _full_row(t, "课题类型", _choice(KINDS, f.kind, blank))
    _pair_row(
        t, "是否联合申报", _choice(("是", "否"), f.joint, blank), "联合申报单位", f.joint_units
    )
    _full_row(t, "推荐单位", f.recommending_unit)
    period = (
        "      年    月  至      年    月"
        if blank
        else format_period(f.start_date, f.end_date, "cn")
    )
    _full_row(t, "计划起止日期", period)
    _contact_rows(t, "项目负责人", f.project_lead, full_details=True)
    # A unit that also gives its quality lead's 职务/邮箱 adds the rows, as units do.
    _contact_rows(
        t,
        "质量负责人",
        f.quality_lead,
        full_details=bool(f.quality_lead.position or f.quality_lead.email),
    )


def _members_section(doc: DocxDocument, f: ApplicationForm, *, blank: bool) -> None:
    """二、项目组成员: one numbered row per member (six empty rows on the blank form)."""
    _section_heading(doc, "二、项目组成员")
    mt = _table(doc, _MEMBER_WIDTHS)
    head = _row(mt, _MEMBER_WIDTHS)
    for cell, text in zip(head, ("序号", "姓名", "职务或职称", "分工"), strict=True):
        _label_cell(cell, text)
    n_rows = max(len(f.members), 6 if blank else 0)
    for i in range(n_rows):
        cells = _row(mt, _MEMBER_WIDTHS)
        member = f.members[i] if i < len(f.members) else None
        _set_cell(cells[0], str(i + 1), align=WD_ALIGN_PARAGRAPH.CENTER)
        _set_cell(cells[1], member.name if member else "", align=WD_ALIGN_PARAGRAPH.CENTER)
        _set_cell(cells[2], member.title if member else "", align=WD_ALIGN_PARAGRAPH.CENTER)
        _set_cell(cells[3], member.role if member else "")


def _long_text_rows(lt: Table, label: str, value: str, height: float = 4.0) -> None:
    """A heading row, then a tall row for the text under it."""
    cells = _row(lt, _LONG_WIDTHS)
    _set_cell(_merge(cells, 0, 1), label, bold=True, fill=_LABEL_FILL)
    cells = _row(lt, _LONG_WIDTHS, height)
    merged = _set_cell(_merge(cells, 0, 1), value)
    merged.vertical_alignment = WD_ALIGN_VERTICAL.TOP


def _content_section(doc: DocxDocument, f: ApplicationForm) -> None:
    """三、项目内容: 问题现状, 攻关目标, 主要措施或技术路线, 预期效益 and 已有基础."""
    _section_heading(doc, "三、项目内容")
    lt = _table(doc, _LONG_WIDTHS)
    lw = _LONG_WIDTHS
    _long_text_rows(lt, _PROMISE_HINTS["problem"], f.problem)
    _long_text_rows(lt, _PROMISE_HINTS["goal"], f.goal)
    _long_text_rows(lt, _PROMISE_HINTS["measures"], f.measures, 6.0)
    cells = _row(lt, lw)
    _set_cell(_merge(cells, 0, 1), "预期效益", bold=True, fill=_LABEL_FILL)
    cells = _row(lt, lw)
    _label_cell(cells[0], "经济效益（万元）")
    _set_cell(cells[1], f.economic_benefit)
    cells = _row(lt, lw, 2.5)
    _label_cell(cells[0], "社会效益")
    _set_cell(cells[1], f.social_benefit)
    _long_text_rows(lt, _PROMISE_HINTS["foundation"], f.foundation, 3.0)


def _promise_section(doc: DocxDocument, f: ApplicationForm) -> None:
    """四、承诺与推荐意见: the applicant's integrity promise and the recommending unit's opinion."""
    _section_heading(doc, "四、承诺与推荐意见")
    pt = _table(doc, (15.6,))
    cells = _row(pt, (15.6,), 5.0)
    _promise_block(
        cells[0],
        "申报单位诚信承诺",
        f.integrity_promise or DEFAULT_PROMISE,
        "申报单位（盖章）",
        "年    月    日",
    )
    cells = _row(pt, (15.6,), 5.0)
    _promise_block(
        cells[0], "推荐单位意见", f.recommendation_opinion, "推荐单位（盖章）", "年    月    日"
    )


def _write_table_layout(doc: DocxDocument, form: ApplicationForm, *, blank: bool) -> None:
    """The official form: 基本信息, 项目组成员, 项目内容, then 承诺与推荐意见."""
    _basic_info_section(doc, form, blank=blank)
    _members_section(doc, form, blank=blank)
    _content_section(doc, form)
    _promise_section(doc, form)


def _extra_details(person: ContactPerson) -> str:
    """职务/邮箱 of the quality lead, when the unit gives them."""
    extra = ""
    if person.position:
        extra += f"\u3000职务：{person.position}"
    if person.email:
        extra += f"\u3000邮箱：{person.email}"
    return extra


def _write_inline_layout(doc: DocxDocument, form: ApplicationForm) -> None:
    f = form
    w = (7.8, 7.8)
    t = _table(doc, w)

    def full(text: str, height: float = 0.9) -> _Cell:
        cells = _row(t, w, height)
        cell = _set_cell(_merge(cells, 0, 1), text)
        if height > 1:
            cell.vertical_alignment = WD_ALIGN_VERTICAL.TOP
        return cell

    def pair(text1: str, text2: str) -> None:
        cells = _row(t, w)
        _set_cell(cells[0], text1)
        _set_cell(cells[1], text2)

    # Deliberately untidy, as typed by hand: half-width colons, stray and full-width spaces.
    full(f"项目名称：{f.title}")
    full(f"申报单位 ： {f.applicant}")
    pair(f"统一社会信用代码:{f.uscc}", f"所属区\u3000：\u3000{f.district}")
    full(f"单位地址：  {f.address}")
    pair(f"所属产业链：{f.chain}", f"项目类型:  {f.project_type}")
    full(f"课题类型：{f.kind}")
    pair(f"是否联合申报：{f.joint}", f"联合申报单位：{f.joint_units}")
    full(f"推荐单位：{f.recommending_unit}")
    full(f"计划起止日期：{format_period(f.start_date, f.end_date, 'dot')}")
    pl, ql = f.project_lead, f.quality_lead
    full(f"项目负责人：{pl.name}  职务：{pl.position}  电话：{pl.phone}  邮箱：{pl.email}")
    full(f"质量负责人：{ql.name}\u3000电话：{ql.phone}{_extra_details(ql)}")
    cell = full("项 目 组 成 员：")
    nested_widths = (1.2, 2.5, 3.5, 7.8)
    nested = _table(cell, nested_widths)
    for cells, texts in [
        (_row(nested, nested_widths), ("序号", "姓名", "职务或职称", "分工")),
        *[
            (_row(nested, nested_widths), (str(i + 1), m.name, m.title, m.role))
            for i, m in enumerate(f.members)
        ],
    ]:
        for c, text in zip(cells, texts, strict=True):
            _set_cell(c, text)
    _para(cell)  # Word needs a paragraph after a nested table in a cell
    full(f"问题现状：\n{f.problem}", 4.0)
    full(f"攻关目标：{f.goal}", 3.0)
    full(f"主要措施或技术路线：\n{f.measures}", 5.0)
    full(f"预期效益：\n经济效益（万元）：{f.economic_benefit}\n社会效益：{f.social_benefit}", 2.5)
    full(f"已有基础：\n{f.foundation}", 2.5)
    full(
        f"申报单位诚信承诺：\n{f.integrity_promise or DEFAULT_PROMISE}\n"
        "申报单位（盖章）\n年    月    日",
        4.0,
    )
    full(f"推荐单位意见：\n{f.recommendation_opinion}\n推荐单位（盖章）\n年    月    日", 4.0)


def _write_paragraph_layout(doc: DocxDocument, form: ApplicationForm) -> None:
    f = form

    def line(text: str) -> None:
        _para(doc, text)

    def block(label: str, value: str) -> None:
        line(f"{label}：")
        for text in value.split("\n") if value else []:
            p = _para(doc, text)
            p.paragraph_format.first_line_indent = Pt(24)

    line(f"项目名称：{f.title}")
    line(f"申报单位： {f.applicant}")
    line(f"统一社会信用代码：{f.uscc}")
    line(f"单位地址：{f.address}")
    line(f"所属区：{f.district}")
    line(f"所属产业链：{f.chain}")
    line(f"项目类型：{f.project_type}")
    line(f"课题类型：{f.kind}")
    line(f"是否联合申报：{f.joint}")
    line(f"联合申报单位：{f.joint_units}")
    line(f"推荐单位：{f.recommending_unit}")
    line(f"计划起止日期：{format_period(f.start_date, f.end_date, 'iso')}")
    pl, ql = f.project_lead, f.quality_lead
    line(
        f"项目负责人：{pl.name}\u3000职务：{pl.position}\u3000电话：{pl.phone}\u3000邮箱：{pl.email}"
    )
    line(f"质量负责人：{ql.name}\u3000电话：{ql.phone}{_extra_details(ql)}")
    line("项目组成员：")
    for i, m in enumerate(f.members, start=1):
        line(f"{i}. {m.name}，{m.title}，{m.role}")
    block("问题现状", f.problem)
    block("攻关目标", f.goal)
    block("主要措施或技术路线", f.measures)
    line("预期效益：")
    line(f"经济效益（万元）：{f.economic_benefit}")
    block("社会效益", f.social_benefit)
    block("已有基础", f.foundation)
    block("申报单位诚信承诺", f.integrity_promise or DEFAULT_PROMISE)
    line("申报单位（盖章）")
    line("年    月    日")
    block("推荐单位意见", f.recommendation_opinion)
    line("推荐单位（盖章）")
    line("年    月    日")


def _save(doc: DocxDocument, path: str | os.PathLike[str]) -> Path:
    return write_whole(path, doc.save)


def write_blank_form(path: str | os.PathLike[str]) -> Path:
    """Write the blank 天津市质量攻关项目申报书 (.docx) for units to fill in; return its path."""
    doc = _new_document()
    _cover(doc, None)
    _write_table_layout(doc, ApplicationForm(), blank=True)
    _para(doc)
    _para(
        doc,
        "填写说明：1. 请勿删除或改动表中栏目名称；2. 篇幅不够可另附页；"
        "3. 申报书须经申报单位盖章、推荐单位签署意见并盖章。",
        size=SIZE_WU,
    )
    return _save(doc, path)


def write_filled_form(
    path: str | os.PathLike[str], form: ApplicationForm, *, layout: str = "table"
) -> Path:
    """Write ``form`` filled in, the way units do in Word/WPS; return the path.

    ``layout``: ``table`` (the official form: label and value in neighbouring cells, merged value
    cells, ticked boxes), ``inline`` (one cell per ``标签：值`` with untidy colons/spaces and the
    members in a nested table) or ``paragraphs`` (no table at all). An empty
    ``integrity_promise`` is written as the printed promise text.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    doc = _new_document()
    if layout == "table":
        _cover(doc, form)
        _write_table_layout(doc, form, blank=False)
    else:
        _para(
            doc,
            FORM_TITLE,
            font=TITLE_FONT,
            size=SIZE_ER,
            bold=True,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
        _para(doc)
        if layout == "inline":
            _write_inline_layout(doc, form)
        else:
            _write_paragraph_layout(doc, form)
    return _save(doc, path)
