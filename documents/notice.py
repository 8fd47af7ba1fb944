"""公文 (通知, 通报, 公示) laid out per GB/T 9704-2012 党政机关公文格式, in one place.

A :class:`Notice` holds what a notice says; :func:`write_notice` lays it out: 版头 (red
发文机关标志 and 发文字号), 标题, 主送机关, 正文, 附件说明, 发文机关署名 and 成文日期 kept on the
page of the end of the body, the 公开 line, the attachments each on a new page headed 「附件」
and its title, and the 版记 (抄送, 印发机关和印发日期). Every page is numbered 「— N —」.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docx.document import Document
from docx.shared import Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from documents.docx_style import (
    ISSUER,
    SIZE_SAN,
    add_blank,
    add_heading1,
    add_heading2,
    add_imprint,
    add_red_header,
    add_salutation,
    add_section,
    add_signature,
    add_text,
    add_title,
    fit_chars_per_line,
    keep_with_next,
    new_document,
    save,
    start_new_page,
)

# A body paragraph: plain text, or (level, text) with level "h1" (一、 黑体) or "h2" (（一） 楷体).
Paragraph = str | tuple[str, str]

DEFAULT_PRINTER = "天津市市场监督管理委员会办公室"


@dataclass(frozen=True)
class Annex:
    """附件: its title and a writer for its content (tables, lists) on its own pages."""

    title: str
    write: Callable[[Document], None]
    landscape: bool = False


@dataclass(frozen=True)
class Notice:
    """What one notice says; the layout is :func:`write_notice`'s."""

    title: str
    body: Sequence[Paragraph]
    issued_on: dt.date
    issuer: str = ISSUER
    doc_number: str = ""  # 发文字号, e.g. 津市场监管质发〔2025〕3号; none: no 版头
    addressee: str = ""  # 主送机关, e.g. 各有关单位
    annexes: Sequence[Annex] = ()
    public: bool = True  # （此件主动公开）
    printer: str = DEFAULT_PRINTER  # 印发机关; empty: no 版记
    copy_to: Sequence[str] = field(default_factory=tuple)


def chinese_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 11 -> 十一, 20 -> 二十, 23 -> 二十三 (up to 99)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        raise ValueError(f"序号{n}超出1–99")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    head = "" if tens == 1 else digits[tens]
    return f"{head}十{digits[ones] if ones else ''}"


def _annex_label(index: int, count: int) -> str:
    return "附件" if count == 1 else f"附件{index}"


def _body(doc: Document, body: Sequence[Paragraph]) -> None:
    for item in body:
        if isinstance(item, str):
            add_text(doc, item)
        elif item[0] == "h1":
            keep_with_next(add_heading1(doc, item[1]))
        else:
            keep_with_next(add_heading2(doc, item[1]))


def _blank(doc: Document) -> DocxParagraph:
    return add_text(doc, "", indent=False)


def _annex_note(doc: Document, annexes: Sequence[Annex]) -> None:
    """附件说明 (7.3.4): one blank line below the body, 「附件：」 two characters in, several
    attachments numbered and aligned under the first title."""
    if not annexes:
        return
    doc.paragraphs[-1].paragraph_format.keep_with_next = True  # the body's last line
    keep_with_next(_blank(doc))
    if len(annexes) == 1:
        keep_with_next(add_text(doc, f"附件：{annexes[0].title}"))
        return
    for i, annex in enumerate(annexes, start=1):
        p = add_text(doc, f"{'附件：' if i == 1 else ''}{i}．{annex.title}", indent=i == 1)
        if i > 1:
            p.paragraph_format.left_indent = Pt(SIZE_SAN * 5)
        keep_with_next(p)


def _annexes(doc: Document, annexes: Sequence[Annex]) -> bool:
    """Each attachment on a new page: 「附件」 flush left in 黑体, the title centred, the content.
    Returns whether the document ended in a landscape section."""
    landscape = False
    for i, annex in enumerate(annexes, start=1):
        if annex.landscape != landscape:
            add_section(doc, landscape=annex.landscape)
            landscape = annex.landscape
            label = add_heading1(doc, _annex_label(i, len(annexes)))
        else:
            label = start_new_page(add_heading1(doc, _annex_label(i, len(annexes))))
        label.paragraph_format.first_line_indent = None
        keep_with_next(label)
        keep_with_next(_blank(doc))
        keep_with_next(add_title(doc, annex.title))
        annex.write(doc)
    return landscape


def write_notice(path: Path | str, notice: Notice) -> Path:
    """The notice as a Word file laid out per GB/T 9704-2012."""
    doc = new_document()
    if notice.doc_number:
        add_red_header(doc, notice.issuer, notice.doc_number)
    add_title(doc, notice.title)
    if notice.addressee:
        add_salutation(doc, f"{notice.addressee}：")
    _body(doc, notice.body)
    _annex_note(doc, notice.annexes)
    add_signature(doc, notice.issuer, notice.issued_on)
    if notice.public:
        add_blank(doc)
        add_text(doc, "（此件主动公开）")
    landscape = _annexes(doc, notice.annexes)
    if notice.printer:
        if landscape:
            add_section(doc, landscape=False)
        else:
            add_blank(doc, 2)
        add_imprint(doc, notice.printer, notice.issued_on, copy_to=notice.copy_to)
    fit_chars_per_line(doc)
    return save(doc, path)


__all__ = ["Annex", "Notice", "Paragraph", "chinese_number", "write_notice"]
