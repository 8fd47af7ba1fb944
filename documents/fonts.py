"""Chinese font helpers shared by the Word writers.

Word picks the font of CJK characters from ``w:rFonts/@w:eastAsia``; python-docx's ``font.name``
only sets the Latin slots (``w:ascii``/``w:hAnsi``), so a run styled with ``font.name = "仿宋"``
still shows its Chinese text in the default East Asian font. These helpers set both.
"""

from __future__ import annotations

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Pt
from docx.styles.style import BaseStyle
from docx.text.run import Run

# Fonts of Chinese government forms (GB/T 9704): titles in 方正小标宋 (fallback 宋体), body in
# 仿宋. We name the fonts every Windows/WPS install has, so the form looks the same everywhere.
TITLE_FONT = "宋体"
BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"

# Chinese point sizes (字号).
SIZE_ER = 22.0  # 二号
SIZE_SAN = 16.0  # 三号
SIZE_SI = 14.0  # 四号
SIZE_XIAOSI = 12.0  # 小四
SIZE_WU = 10.5  # 五号


def _set_rfonts(rpr: CT_RPr, east_asia: str, latin: str) -> None:
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)


def set_run_font(
    run: Run,
    east_asia: str = BODY_FONT,
    *,
    latin: str = LATIN_FONT,
    size: float | None = None,
    bold: bool | None = None,
) -> Run:
    """Set a run's Chinese (East Asian) and Latin fonts, size in points and weight."""
    _set_rfonts(run._element.get_or_add_rPr(), east_asia, latin)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold
    return run


def set_style_font(
    style: BaseStyle,
    east_asia: str = BODY_FONT,
    *,
    latin: str = LATIN_FONT,
    size: float | None = None,
    bold: bool | None = None,
) -> None:
    """Set a paragraph/character style's Chinese and Latin fonts (e.g. the ``Normal`` style)."""
    _set_rfonts(style.element.get_or_add_rPr(), east_asia, latin)
    font = style.font  # type: ignore[attr-defined]
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
