"""Shared styling for the commission's Word documents.

The layout follows the usual government-document conventions (GB/T 9704): A4 paper, margins
37/35/28/26 mm, title in 方正小标宋简体 二号 (22pt), body in 仿宋_GB2312 三号 (16pt) at a fixed
28pt line pitch, first-line indent of two characters, page numbers "— 1 —" at the foot.

Chinese fonts must be set on ``w:rFonts/@w:eastAsia``; python-docx's ``font.name`` only sets
``w:ascii``/``w:hAnsi``, so every run written here goes through :func:`set_run_font`.
Machines without the official fonts fall back on the viewer's substitution (Word maps
仿宋_GB2312 to 仿宋, WPS ships both); :data:`COMMON_FONTS` uses only the stock Windows fonts.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document as new_docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.table import CT_Row
from docx.oxml.text.font import CT_RPr
from docx.oxml.text.parfmt import CT_PPr
from docx.oxml.text.run import CT_R
from docx.section import Section
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from documents.files import write_whole

ISSUER = "天津市市场监督管理委员会"
SHORT_ISSUER = "市市场监管委"
RED = RGBColor(0xE6, 0x00, 0x12)


@dataclass(frozen=True)
class FontSet:
    """The typefaces of one document family."""

    body: str = "仿宋_GB2312"
    title: str = "方正小标宋简体"
    heading1: str = "黑体"
    heading2: str = "楷体_GB2312"
    latin: str = "Times New Roman"


OFFICIAL_FONTS = FontSet()
COMMON_FONTS = FontSet(body="仿宋", title="宋体", heading1="黑体", heading2="楷体")

# Sizes in points by their Chinese names.
SIZE_ER = 22.0  # 二号
SIZE_XIAO_ER = 18.0  # 小二
SIZE_SAN = 16.0  # 三号
SIZE_XIAO_SAN = 15.0  # 小三
SIZE_SI = 14.0  # 四号
SIZE_XIAO_SI = 12.0  # 小四
SIZE_WU = 10.5  # 五号

# GB/T 9704-2012 版心 156 mm x 225 mm: 22 lines of 28 characters of 三号 type.
TYPE_AREA_MM = (156.0, 225.0)
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28
BODY_LINE_PITCH = 28.9  # points: 225 mm / 22 lines (28.95 pt), rounded down so 22 lines fit

_DIGITS = "〇一二三四五六七八九"


def chinese_date(d: dt.date) -> str:
    """Date written out in Chinese numerals: 2025-05-10 -> 二〇二五年五月十日."""

    def small(n: int) -> str:
        if n < 10:
            return _DIGITS[n]
        tens, ones = divmod(n, 10)
        head = "" if tens == 1 else _DIGITS[tens]
        return f"{head}十{_DIGITS[ones] if ones else ''}"

    year = "".join(_DIGITS[int(c)] for c in f"{d.year:04d}")
    return f"{year}年{small(d.month)}月{small(d.day)}日"


def arabic_date(d: dt.date) -> str:
    """2025-09-30 -> 2025年9月30日 (the style used inside body text)."""
    return f"{d.year}年{d.month}月{d.day}日"


# ---------------------------------------------------------------------------------------------
# runs and paragraphs


def set_run_font(
    run: Run,
    east_asia: str,
    size: float | None = None,
    *,
    bold: bool | None = None,
    latin: str = OFFICIAL_FONTS.latin,
    color: RGBColor | None = None,
) -> Run:
    """Set the run's East Asian and Latin typefaces (and size, weight, colour)."""
    run.font.name = latin
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for theme_attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme_attr), None)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


def east_asian_font(run: Run) -> str | None:
    """The run's ``w:eastAsia`` typeface, for tests and checks."""
    rpr = run._element.rPr
    if rpr is None:
        return None
    rfonts = rpr.find(qn("w:rFonts"))
    return None if rfonts is None else rfonts.get(qn("w:eastAsia"))


def _line_spacing(paragraph: Paragraph, pitch: float | None) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if pitch is None:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(pitch)


def add_text(
    doc: Document,
    text: str,
    *,
    font: str | None = None,
    size: float = SIZE_SAN,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.JUSTIFY,
    indent: bool = True,
    pitch: float | None = BODY_LINE_PITCH,
    color: RGBColor | None = None,
    fonts: FontSet = OFFICIAL_FONTS,
) -> Paragraph:
    """One paragraph of body text (仿宋 三号, first line indented two characters)."""
    paragraph = doc.add_paragraph()
    p = paragraph._p
    # Paragraph and run properties are made once per kind and copied: the same XML as setting
    # them through python-docx each time, at a fraction of the cost.
    p.insert(0, deepcopy(_ppr_template(pitch, align, size * 2 if indent else None)))
    if text:
        p.append(_new_run(text, _rpr_template(font or fonts.body, size, bold, fonts.latin, color)))
    return paragraph


@functools.lru_cache(maxsize=256)
def _ppr_template(
    pitch: float | None, align: WD_ALIGN_PARAGRAPH | None, first_line_indent: float | None
) -> CT_PPr:
    """``w:pPr`` as :func:`add_text` sets it, made once through python-docx (never mutated)."""
    paragraph = Paragraph(OxmlElement("w:p"), None)  # type: ignore[arg-type]
    _line_spacing(paragraph, pitch)
    if align is not None:
        paragraph.alignment = align
    if first_line_indent is not None:
        paragraph.paragraph_format.first_line_indent = Pt(first_line_indent)
    return paragraph._p.get_or_add_pPr()


@functools.lru_cache(maxsize=256)
def _rpr_template(
    east_asia: str, size: float | None, bold: bool | None, latin: str, color: RGBColor | None
) -> CT_RPr:
    """``w:rPr`` as :func:`set_run_font` sets it on a new run, made once (never mutated)."""
    run = Run(OxmlElement("w:r"), None)  # type: ignore[arg-type]
    set_run_font(run, east_asia, size, bold=bold, latin=latin, color=color)
    rpr = run._r.rPr
    assert rpr is not None
    return rpr


_SPECIAL = re.compile(r"([\t\r\n])")


def _new_run(text: str, rpr: CT_RPr) -> CT_R:
    """``<w:r>`` with a copy of ``rpr`` and ``text`` (tabs and line feeds as python-docx writes
    them: ``w:tab`` and ``w:br``)."""
    r: CT_R = OxmlElement("w:r")  # type: ignore[assignment]
    r.append(deepcopy(rpr))
    for piece in _SPECIAL.split(text):
        if piece == "\t":
            r.add_tab()
        elif piece in ("\r", "\n"):
            r.add_br()
        elif piece:
            r.add_t(piece)
    return r


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _run_xml(text: str, rpr_xml: str) -> str:
    """The serialized form of :func:`_new_run` (for pages and rows written as text)."""
    if _NOT_XML.search(text):  # what lxml says when python-docx is given such text
        raise ValueError(
            "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control "
            "characters"
        )
    parts = ["<w:r>", rpr_xml]
    for piece in _SPECIAL.split(text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            parts.append(f"<w:t{space}>{escape(piece)}</w:t>")
    parts.append("</w:r>")
    return "".join(parts)


def add_blank(doc: Document, lines: int = 1) -> None:
    for _ in range(lines):
        add_text(doc, "", indent=False)


def add_title(doc: Document, text: str, *, fonts: FontSet = OFFICIAL_FONTS) -> Paragraph:
    """Document title: 方正小标宋简体 二号, centred, followed by one blank line."""
    paragraph = add_text(
        doc,
        text,
        font=fonts.title,
        size=SIZE_ER,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        indent=False,
        pitch=36.0,
        fonts=fonts,
    )
    add_blank(doc)
    return paragraph


def add_heading1(doc: Document, text: str, *, fonts: FontSet = OFFICIAL_FONTS) -> Paragraph:
    """First-level heading "一、…" in 黑体 三号."""
    return add_text(doc, text, font=fonts.heading1, fonts=fonts)


def add_heading2(doc: Document, text: str, *, fonts: FontSet = OFFICIAL_FONTS) -> Paragraph:
    """Second-level heading "（一）…" in 楷体 三号."""
    return add_text(doc, text, font=fonts.heading2, fonts=fonts)


def add_salutation(doc: Document, text: str, *, fonts: FontSet = OFFICIAL_FONTS) -> Paragraph:
    """主送机关 line ("各有关单位："), flush left."""
    return add_text(doc, text, indent=False, fonts=fonts)


def _text_width(text: str) -> float:
    """Width in characters of 三号 type: a CJK character is one, a half-width digit half."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def keep_with_next(paragraph: Paragraph) -> Paragraph:
    """The paragraph stays on the page of the next one (and is not split across pages)."""
    fmt = paragraph.paragraph_format
    fmt.keep_with_next = True
    fmt.keep_together = True
    return paragraph


def _keep_tail_with_next(doc: Document) -> None:
    """The end of the body (trailing blanks and the last paragraph with text) kept with what
    follows, so that a signature never stands alone on a page."""
    for paragraph in reversed(doc.paragraphs):
        if paragraph._p.getparent() is not doc.element.body:
            break
        paragraph.paragraph_format.keep_with_next = True
        if paragraph.text.strip():
            break


def add_signature(
    doc: Document,
    issuer: str,
    issued_on: dt.date,
    *,
    fonts: FontSet = OFFICIAL_FONTS,
    blank_lines: int = 1,
) -> tuple[Paragraph, Paragraph]:
    """发文机关署名 and 成文日期 (GB/T 9704-2012 7.3.5.2): one blank line below the body, the
    issuer two characters from the right margin, the date in Arabic numerals below it, its
    first character two characters right of the issuer's. Kept on one page with the end of
    the body."""
    _keep_tail_with_next(doc)
    for _ in range(blank_lines):
        keep_with_next(add_text(doc, "", indent=False, fonts=fonts))
    date = arabic_date(issued_on)
    date_right = _text_width(issuer) - _text_width(date)  # = 2 + width(issuer) - 2 - width(date)
    issuer_right = 2.0
    if date_right < 2.0:
        issuer_right += 2.0 - date_right
        date_right = 2.0
    paragraphs: list[Paragraph] = []
    for text, right in ((issuer, issuer_right), (date, date_right)):
        p = add_text(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False, fonts=fonts)
        p.paragraph_format.right_indent = Pt(SIZE_SAN * right)
        paragraphs.append(p)
    keep_with_next(paragraphs[0])
    paragraphs[1].paragraph_format.keep_together = True
    return paragraphs[0], paragraphs[1]


_PPR_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


def _add_border(paragraph: Paragraph, edge: str, size_eighths: int, color: str = "000000") -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        # keep the schema order of w:pPr children
        ppr.insert_element_before(borders, *_PPR_AFTER_PBDR)
    element = OxmlElement(f"w:{edge}")
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), str(size_eighths))
    element.set(qn("w:space"), "1")
    element.set(qn("w:color"), color)
    if edge == "top" or borders.find(qn("w:top")) is None:
        borders.insert(0 if edge == "top" else len(borders), element)
    else:
        borders.append(element)


def add_bottom_border(paragraph: Paragraph, color: str = "E60012", size_eighths: int = 18) -> None:
    """A horizontal rule under the paragraph (the red line of a 红头 document)."""
    _add_border(paragraph, "bottom", size_eighths, color)


def add_red_header(
    doc: Document,
    issuer: str = ISSUER,
    doc_number: str = "",
    *,
    fonts: FontSet = OFFICIAL_FONTS,
) -> None:
    """版头: the 发文机关标志 in red 小标宋 (scaled to the type width), two blank lines, the
    发文字号 centred, and the red rule 4 mm below it."""
    mark = f"{issuer}文件" if doc_number else issuer
    size = min(36.0, (TYPE_AREA_MM[0] / 25.4 * 72.0 - 4.0) / max(_text_width(mark), 1.0))
    head = add_text(
        doc,
        mark,
        font=fonts.title,
        size=round(size, 1),
        align=WD_ALIGN_PARAGRAPH.CENTER,
        indent=False,
        pitch=None,
        color=RED,
        fonts=fonts,
    )
    head.paragraph_format.space_before = Pt(BODY_LINE_PITCH)
    last = head
    if doc_number:
        add_blank(doc, 2)
        last = add_text(
            doc, doc_number, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, pitch=None, fonts=fonts
        )
    last.paragraph_format.space_after = Pt(11)  # the rule 4 mm below the number
    add_bottom_border(last)
    add_blank(doc, 2)


def add_imprint(
    doc: Document,
    printer: str,
    printed_on: dt.date,
    *,
    copy_to: Sequence[str] = (),
    fonts: FontSet = OFFICIAL_FONTS,
) -> None:
    """版记 (GB/T 9704-2012 7.4): 抄送 and 印发机关/印发日期 in 4号仿宋 between a thick first
    and last rule and a thin rule between the lines, kept together at the end of the document."""
    lines: list[Paragraph] = []
    if copy_to:
        lines.append(
            add_text(doc, f"抄送：{'，'.join(copy_to)}。", size=SIZE_SI, indent=False, fonts=fonts)
        )
        lines[-1].paragraph_format.left_indent = Pt(SIZE_SI)
        lines[-1].paragraph_format.right_indent = Pt(SIZE_SI)
    printed = add_text(
        doc,
        f"{printer}\t{arabic_date(printed_on)}印发",
        size=SIZE_SI,
        indent=False,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        fonts=fonts,
    )
    fmt = printed.paragraph_format
    fmt.left_indent = Pt(SIZE_SI)
    width = usable_width_mm(doc)
    fmt.tab_stops.add_tab_stop(Mm(width) - Pt(SIZE_SI * 2), WD_TAB_ALIGNMENT.RIGHT)
    lines.append(printed)
    for i, line in enumerate(lines):
        _add_border(line, "top", 8 if i == 0 else 4)
        keep_with_next(line)
    _add_border(lines[-1], "bottom", 8)
    lines[-1].paragraph_format.keep_with_next = False


def start_new_page(paragraph: Paragraph) -> Paragraph:
    """Make the paragraph begin a new page (no empty paragraph left behind)."""
    paragraph.paragraph_format.page_break_before = True
    return paragraph


# ---------------------------------------------------------------------------------------------
# document and page


def _page_number(paragraph: Paragraph, fonts: FontSet) -> None:
    """「— N —」 in 4号 half-width 宋体: a PAGE field between two em dashes."""
    font = "宋体"
    set_run_font(paragraph.add_run("— "), font, SIZE_SI, latin=font)
    # a PAGE field: begin, instruction and end each in their own run
    for kind in ("begin", "instr", "end"):
        run = paragraph.add_run()
        set_run_font(run, font, SIZE_SI, latin=font)
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = " PAGE "
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        run._r.append(element)
    set_run_font(paragraph.add_run(" —"), font, SIZE_SI, latin=font)


def _add_page_number_footer(doc: Document, fonts: FontSet) -> None:
    """Page numbers (GB/T 9704-2012 7.5): odd pages on the right, even pages on the left, one
    character in from the edge of the type area."""
    section = doc.sections[0]
    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            paragraph.paragraph_format.right_indent = Pt(SIZE_SI)
        else:
            paragraph.paragraph_format.left_indent = Pt(SIZE_SI)
        _page_number(paragraph, fonts)


def set_chinese_language(doc: Document) -> None:
    """Declare the East Asian text as zh-CN in the document defaults and the Normal style, so
    viewers choose Simplified Chinese glyphs (python-docx's template says en-US)."""
    styles = doc.styles.element
    targets = [styles.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))]
    targets.append(doc.styles["Normal"].element.get_or_add_rPr())
    for rpr in targets:
        if rpr is None:
            continue
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")


def _set_doc_grid(section: Section) -> None:
    """文档网格: 22 lines in the 225 mm high type area (the 28 characters of a line come from
    :func:`fit_chars_per_line`, as a character grid would space 小标宋 titles and tables)."""
    sect_pr = section._sectPr
    grid = sect_pr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect_pr.append(grid)
    for attr in ("w:charSpace", "w:type"):
        grid.attrib.pop(qn(attr), None)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(int(BODY_LINE_PITCH * 20)))


# 156 mm / 28 characters = 15.79 pt: 三号 (16 pt) characters condensed by a quarter point
_CONDENSE_TWIPS = -5


def fit_chars_per_line(doc: Document) -> None:
    """28 characters of 三号 body text per line in the 156 mm type width: the body's 16 pt runs
    (outside tables) condensed by a quarter point each."""
    body = doc.element.body
    for p in body.iterchildren(qn("w:p")):
        for rpr in p.iter(qn("w:rPr")):
            size = rpr.find(qn("w:sz"))
            if size is None or size.get(qn("w:val")) != str(int(SIZE_SAN * 2)):
                continue
            if rpr.find(qn("w:spacing")) is None:
                spacing = OxmlElement("w:spacing")
                spacing.set(qn("w:val"), str(_CONDENSE_TWIPS))
                rpr.insert_element_before(
                    spacing, "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight"
                )


def new_document(
    *,
    landscape: bool = False,
    fonts: FontSet = OFFICIAL_FONTS,
    page_numbers: bool = True,
    margins_mm: tuple[float, float, float, float] = (37.0, 35.0, 28.0, 26.0),
) -> Document:
    """An empty A4 document with official margins (top, bottom, left, right) and body font."""
    doc = new_docx()
    section = doc.sections[0]
    top, bottom, left, right = margins_mm
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        # rotate the margins with the page: the binding edge stays on the left
        top, bottom, left, right = left, right, top, bottom
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    section.footer_distance = Mm(18)
    if not landscape:
        _set_doc_grid(section)

    normal = doc.styles["Normal"]
    normal.font.name = fonts.latin
    normal.font.size = Pt(SIZE_SAN)
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.attrib.pop(qn("w:eastAsiaTheme"), None)
    rfonts.set(qn("w:eastAsia"), fonts.body)
    set_chinese_language(doc)

    # the default template starts with no paragraph; python-docx keeps it that way
    if page_numbers:
        _add_page_number_footer(doc, fonts)
    return doc


def add_section(doc: Document, *, landscape: bool) -> None:
    """Start a new page in a new section, e.g. a landscape annex after a portrait notice."""
    from docx.enum.section import WD_SECTION

    previous = doc.sections[-1]
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    short, long_ = Mm(210), Mm(297)
    top, bottom = previous.top_margin, previous.bottom_margin
    left, right = previous.left_margin, previous.right_margin
    turning = (previous.orientation == WD_ORIENT.LANDSCAPE) != landscape
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = long_, short
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = short, long_
    if turning:
        top, bottom, left, right = left, right, top, bottom
    section.top_margin, section.bottom_margin = top, bottom
    section.left_margin, section.right_margin = left, right
    grid = section._sectPr.find(qn("w:docGrid"))
    if landscape and grid is not None:
        section._sectPr.remove(grid)
    elif not landscape:
        _set_doc_grid(section)


def add_page_borders(doc: Document, color: str = "C00000", size_eighths: int = 24) -> None:
    """A double frame around every page of the last section (certificates)."""
    sect_pr = doc.sections[-1]._sectPr
    borders = OxmlElement("w:pgBorders")
    borders.set(qn("w:offsetFrom"), "page")
    for edge in ("top", "left", "bottom", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "thinThickSmallGap")
        element.set(qn("w:sz"), str(size_eighths))
        element.set(qn("w:space"), "24")
        element.set(qn("w:color"), color)
        borders.append(element)
    # schema order: pgSz, pgMar, paperSrc, pgBorders, ...
    anchor = sect_pr.find(qn("w:paperSrc"))
    if anchor is None:
        anchor = sect_pr.find(qn("w:pgMar"))
    if anchor is None:
        sect_pr.insert(0, borders)
    else:
        anchor.addnext(borders)


def save(doc: Document, path: Path | str) -> Path:
    return write_whole(path, doc.save)


def usable_width_mm(doc: Document) -> float:
    section = doc.sections[-1]
    width = section.page_width - section.left_margin - section.right_margin  # type: ignore[operator]
    return float(width) / 36000.0  # EMU per mm


# ---------------------------------------------------------------------------------------------
# tables


def _set_table_borders(table: Table, size_eighths: int = 4) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size_eighths))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    existing = tbl_pr.find(qn("w:tblBorders"))
    if existing is not None:
        tbl_pr.remove(existing)
    tbl_pr.insert_element_before(
        borders,
        "w:shd",
        "w:tblLayout",
        "w:tblCellMar",
        "w:tblLook",
        "w:tblCaption",
        "w:tblDescription",
        "w:tblPrChange",
    )


def _repeat_as_header(row_element: CT_Row) -> None:
    tr_pr = row_element.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.insert_element_before(header, "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins", "w:del")


def _keep_row_whole(row_element: CT_Row) -> None:
    """The row is never split across pages (w:cantSplit)."""
    tr_pr = row_element.get_or_add_trPr()
    element = OxmlElement("w:cantSplit")
    element.set(qn("w:val"), "true")
    tr_pr.insert_element_before(
        element, "w:trHeight", "w:tblHeader", "w:tblCellSpacing", "w:jc", "w:hidden"
    )


def set_cell_text(
    cell: _Cell,
    text: str,
    *,
    font: str,
    size: float,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    latin: str = OFFICIAL_FONTS.latin,
) -> None:
    cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    _line_spacing(paragraph, None)
    # single-spaced cell text, not stretched to the page's 22-line grid
    no_snap = OxmlElement("w:snapToGrid")
    no_snap.set(qn("w:val"), "0")
    paragraph._p.get_or_add_pPr().insert_element_before(no_snap, *_PPR_AFTER_PBDR[12:])
    lines = str(text).split("\n")
    for i, line in enumerate(lines):
        run = paragraph.add_run(line)
        set_run_font(run, font, size, bold=bold, latin=latin)
        if i < len(lines) - 1:
            run.add_break()


def add_table(
    doc: Document,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    widths_mm: Sequence[float] | None = None,
    size: float = SIZE_XIAO_SI,
    left_aligned: Sequence[int] = (),
    fonts: FontSet = OFFICIAL_FONTS,
) -> Table:
    """A bordered table with a bold 黑体 header row repeated on every page.

    ``widths_mm`` are relative: they are scaled to the text width. Columns listed in
    ``left_aligned`` (by index) are left-aligned; everything else is centred.
    """
    table = doc.add_table(rows=1, cols=len(headers))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _set_table_borders(table)
    header_row = table.rows[0]
    _repeat_as_header(header_row._tr)
    _keep_row_whole(header_row._tr)
    for cell, text in zip(header_row.cells, headers, strict=True):
        set_cell_text(cell, text, font=fonts.heading1, size=size, latin=fonts.latin)
    aligns = [
        WD_ALIGN_PARAGRAPH.LEFT if i in left_aligned else WD_ALIGN_PARAGRAPH.CENTER
        for i in range(len(headers))
    ]
    widths: list[Mm] = []
    if widths_mm:
        total = sum(widths_mm)
        available = usable_width_mm(doc)
        widths = [Mm(available * share / total) for share in widths_mm]
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        for cell, width in zip(header_row.cells, widths, strict=True):
            cell.width = width
    if rows:
        _add_body_rows(table, rows, aligns, widths, fonts.body, size, fonts.latin)
    return table


_W_NS = nsdecls("w")
_NS_DECLARATION = re.compile(r' xmlns:\w+="[^"]*"')


def _xml_text(element: etree._Element) -> str:
    """An element serialized without namespace declarations, to be put inside a document or a
    wrapper that declares ``w`` (the only prefix these elements use)."""
    return _NS_DECLARATION.sub("", etree.tostring(element, encoding="unicode"))


_MARK = "\ue000"  # a private-use character marking where a cell's runs go in its template


def _add_body_rows(
    table: Table,
    rows: Sequence[Sequence[object]],
    aligns: Sequence[WD_ALIGN_PARAGRAPH],
    widths: Sequence[Mm],
    font: str,
    size: float,
    latin: str,
) -> None:
    """The data rows, the same XML as ``table.add_row()`` and :func:`set_cell_text` per cell
    would write: one row is made that way as the template, the rest are written as text from
    it and parsed in one go (python-docx's per-cell calls cost about a millisecond each)."""
    ncols = len(aligns)
    sample = table.add_row()
    _keep_row_whole(sample._tr)
    for cell, align in zip(sample.cells, aligns, strict=True):
        set_cell_text(cell, _MARK, font=font, size=size, align=align, latin=latin)
    for cell, width in zip(sample.cells, widths, strict=False):
        cell.width = width
    tr = sample._tr
    cells: list[tuple[str, str, str]] = []  # (before the runs, a run's w:rPr, after the runs)
    for tc in tr.tc_lst:
        xml = _xml_text(tc)
        run_start = xml.index("<w:r>")
        run_end = xml.index("</w:r>", run_start) + len("</w:r>")
        run = xml[run_start:run_end]
        rpr = run[len("<w:r>") : run.index("<w:t")]
        cells.append((xml[:run_start], rpr, xml[run_end:]))
    row_open = _xml_text(tr)
    row_open = row_open[: row_open.index("<w:tc")]
    parts = [f"<w:tbl {_W_NS}>"]
    for r, values in enumerate(rows):
        if len(values) != ncols:
            raise ValueError(f"第{r + 1}行有{len(values)}个值，表格有{ncols}列")
        parts.append(row_open)
        for (before, rpr, after), value in zip(cells, values, strict=True):
            parts.append(before)
            lines = ("" if value is None else str(value)).split("\n")
            last = len(lines) - 1
            for i, line in enumerate(lines):
                run = _run_xml(line, rpr)
                parts.append(run if i == last else run[: -len("</w:r>")] + "<w:br/></w:r>")
            parts.append(after)
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    tbl = table._tbl
    tbl.remove(tr)
    tbl.extend(list(parse_xml("".join(parts))))


def table_texts(table: Table) -> list[list[str]]:
    """Every cell's text, row by row (for tests and round trips)."""
    return [[cell.text for cell in row.cells] for row in table.rows]


__all__ = [
    "COMMON_FONTS",
    "ISSUER",
    "OFFICIAL_FONTS",
    "SHORT_ISSUER",
    "FontSet",
    "add_blank",
    "add_heading1",
    "add_page_borders",
    "add_section",
    "add_heading2",
    "add_imprint",
    "fit_chars_per_line",
    "keep_with_next",
    "set_chinese_language",
    "add_red_header",
    "add_salutation",
    "add_signature",
    "add_table",
    "add_text",
    "add_title",
    "arabic_date",
    "chinese_date",
    "east_asian_font",
    "new_document",
    "save",
    "set_cell_text",
    "set_run_font",
    "start_new_page",
    "table_texts",
]
