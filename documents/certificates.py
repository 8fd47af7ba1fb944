"""荣誉证书: one landscape A4 page per certificate in a single Word file, and PDF conversion where
LibreOffice is installed."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from documents.docx_style import (
    ISSUER,
    OFFICIAL_FONTS,
    FontSet,
    _run_xml,
    _xml_text,
    add_page_borders,
    add_text,
    chinese_date,
    new_document,
    start_new_page,
)
from documents.files import replacing
from documents.rows import CertificateData, CertificateKind

__all__ = [
    "SERIAL_PREFIX",
    "certificate_body",
    "certificate_serial",
    "to_pdf",
    "to_pdfs",
    "write_certificates",
]

SERIAL_PREFIX = "TJZLZS"  # distinct from the plan numbers' TJZLGG ([documents] certificate_prefix)
TITLE_SIZE = 54.0
BODY_SIZE = 22.0
BODY_PITCH = 34.0


def certificate_serial(
    year: int,
    number: int,
    kind: CertificateKind = CertificateKind.UNIT,
    prefix: str = SERIAL_PREFIX,
) -> str:
    """证书编号: ``certificate_serial(2025, 1) == "TJZLZS-2025-0001-U"``."""
    if number < 1:
        raise ValueError("证书序号从1开始")
    return f"{prefix}-{year}-{number:04d}-{kind.value}"


def certificate_body(year: int, cert: CertificateData) -> tuple[str, str]:
    """The salutation line and the body sentence of one certificate."""
    campaign = f"{year}年天津市质量攻关"
    if cert.kind is CertificateKind.UNIT:
        return (
            f"{cert.recipient}：",
            f"你单位完成的“{cert.title}”项目被评为{campaign}优秀成果。特发此证，以资鼓励。",
        )
    if cert.kind is CertificateKind.PARTICIPANT:
        return (
            f"{cert.recipient}同志：",
            f"你参与完成的“{cert.title}”项目被评为{campaign}优秀成果。特发此证，以资鼓励。",
        )
    return (
        f"{cert.recipient}同志：",
        f"你在{campaign}活动中组织推进工作成绩突出，被评为{campaign}优秀组织者。"
        "特发此证，以资鼓励。",
    )


@dataclass(frozen=True)
class _PageTexts:
    salutation: str
    body: str
    unit_line: str | None  # "（单位）" under the body, people's certificates only
    serial_line: str


def _page_texts(year: int, cert: CertificateData) -> _PageTexts:
    salutation, body = certificate_body(year, cert)
    unit_line = f"（{cert.unit}）" if cert.kind is not CertificateKind.UNIT and cert.unit else None
    return _PageTexts(salutation, body, unit_line, f"证书编号：{cert.serial}")


def _certificate_page(
    doc: Document,
    texts: _PageTexts,
    issuer: str,
    issued_on: dt.date,
    first: bool,
    fonts: FontSet,
) -> None:
    title = add_text(
        doc,
        "荣誉证书",
        font=fonts.title,
        size=TITLE_SIZE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        indent=False,
        pitch=None,
        fonts=fonts,
    )
    title.paragraph_format.space_before = Pt(6)
    title.paragraph_format.space_after = Pt(18)
    if not first:
        start_new_page(title)
    add_text(doc, texts.salutation, size=BODY_SIZE, indent=False, pitch=BODY_PITCH, fonts=fonts)
    add_text(doc, texts.body, size=BODY_SIZE, pitch=BODY_PITCH, fonts=fonts)
    if texts.unit_line is not None:
        add_text(doc, texts.unit_line, size=BODY_SIZE, pitch=BODY_PITCH, fonts=fonts)
    else:
        # a people's certificate has the unit line here instead: both fit on one page
        add_text(doc, "", size=BODY_SIZE, indent=False, pitch=BODY_PITCH, fonts=fonts)
    for n, text in enumerate((issuer, chinese_date(issued_on))):
        p = add_text(
            doc,
            text,
            size=BODY_SIZE,
            align=WD_ALIGN_PARAGRAPH.RIGHT,
            indent=False,
            pitch=BODY_PITCH,
            fonts=fonts,
        )
        p.paragraph_format.right_indent = Pt(BODY_SIZE * 2)
        if n == 0:
            p.paragraph_format.space_before = Pt(12)
    serial = add_text(
        doc,
        texts.serial_line,
        size=14.0,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        indent=False,
        pitch=None,
        fonts=fonts,
    )
    serial.paragraph_format.space_before = Pt(12)


# Private-use characters standing for each page's own texts in the page template.
_MARKS = _PageTexts("\ue001", "\ue002", "\ue003", "\ue004")


class _PageTemplate:
    """One certificate page written once through :func:`_certificate_page` with marks for the
    texts, and serialized; each certificate is that text with its own runs put in (the same XML
    as writing every page through python-docx, many times faster)."""

    def __init__(
        self, issuer: str, issued_on: dt.date, first: bool, unit_line: bool, fonts: FontSet
    ) -> None:
        marks = _MARKS if unit_line else replace(_MARKS, unit_line=None)
        scratch = new_document(landscape=True, fonts=fonts, page_numbers=False)
        _certificate_page(scratch, marks, issuer, issued_on, first, fonts)
        xml = "".join(_xml_text(p) for p in scratch.element.body.iterchildren(qn("w:p")))
        # (text before the mark's run, the run's w:rPr, which text) for each mark in page order
        self._pieces: list[tuple[str, str, str]] = []
        position = 0
        for field in ("salutation", "body", "unit_line", "serial_line"):
            mark = getattr(marks, field)
            if mark is None:
                continue
            at = xml.index(mark, position)
            run_start = xml.rindex("<w:r>", position, at)
            rpr = xml[run_start + len("<w:r>") : xml.index("<w:t", run_start)]
            self._pieces.append((xml[position:run_start], rpr, field))
            position = xml.index("</w:r>", at) + len("</w:r>")
        self._tail = xml[position:]
        assert "xmlns" not in xml and not re.search(r"<(?!w:|/w:)", xml), "only w: elements"

    def render(self, texts: _PageTexts) -> str:
        """The page of one certificate, as ``w:p`` elements' text (``w`` not declared)."""
        parts: list[str] = []
        for before, rpr, field in self._pieces:
            parts.append(before)
            parts.append(_run_xml(getattr(texts, field), rpr))
        parts.append(self._tail)
        return "".join(parts)


@functools.lru_cache(maxsize=32)
def _page_template(
    issuer: str, issued_on: dt.date, first: bool, unit_line: bool, fonts: FontSet
) -> _PageTemplate:
    return _PageTemplate(issuer, issued_on, first, unit_line, fonts)


def write_certificates(
    path: Path | str,
    year: int,
    certs: Sequence[CertificateData],
    *,
    issued_on: dt.date | None = None,
    issuer: str = ISSUER,
    fonts: FontSet = OFFICIAL_FONTS,
) -> Path:
    """All certificates in one landscape A4 document, one per page.

    Serial numbers must be unique (``ValueError`` otherwise); ``issued_on`` defaults to today.
    """
    if not certs:
        raise ValueError("没有需要制作的证书")
    duplicates = [s for s, n in Counter(c.serial for c in certs).items() if n > 1]
    if duplicates:
        raise ValueError(f"证书编号重复：{'、'.join(sorted(duplicates))}")
    when = issued_on or dt.date.today()
    templates = {
        (first, unit_line): _page_template(issuer, when, first, unit_line, fonts)
        for first in (True, False)
        for unit_line in (True, False)
    }
    parts, head, tail = _empty_file(fonts)
    pages = [head]
    for index, cert in enumerate(certs):
        texts = _page_texts(year, cert)
        pages.append(templates[index == 0, texts.unit_line is not None].render(texts))
    pages.append(tail)
    target = Path(path)
    with (
        replacing(target) as temporary,
        zipfile.ZipFile(
            temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
        ) as package,
    ):
        for name, blob in parts:
            if name == _DOCUMENT_PART:
                blob = "".join(pages).encode("utf-8")
            package.writestr(name, blob)
    return target


_DOCUMENT_PART = "word/document.xml"


@functools.lru_cache(maxsize=8)
def _empty_file(fonts: FontSet) -> tuple[tuple[tuple[str, bytes], ...], str, str]:
    """The package of an empty certificates document (landscape, page borders), as python-docx
    saves it: its parts, and its ``document.xml`` cut where the pages go (before ``w:sectPr``)."""
    doc = new_document(
        landscape=True, fonts=fonts, page_numbers=False, margins_mm=(30.0, 30.0, 30.0, 30.0)
    )
    add_page_borders(doc)
    buffer = io.BytesIO()
    doc.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        parts = tuple((name, package.read(name)) for name in package.namelist())
    xml = dict(parts)[_DOCUMENT_PART].decode("utf-8")
    cut = xml.rindex("<w:sectPr")
    return parts, xml[:cut], xml[cut:]


def to_pdf(
    docx_path: Path | str, outdir: Path | str | None = None, timeout: float = 180
) -> Path | None:
    """Convert with ``soffice --headless --convert-to pdf``; None where LibreOffice is absent.

    A throw-away LibreOffice profile is used so that a running LibreOffice does not block the
    conversion. A failed conversion raises ``RuntimeError``.
    """
    pdfs = to_pdfs([docx_path], outdir, timeout=timeout)
    return None if pdfs is None else pdfs[0]


def to_pdfs(
    docx_paths: Sequence[Path | str],
    outdir: Path | str | None = None,
    *,
    timeout: float = 180,
) -> list[Path] | None:
    """Several files converted by one LibreOffice run (it starts once: about a second and a half
    of CPU saved per file); the PDFs in the order of ``docx_paths``, each beside its file unless
    ``outdir`` is given. None where LibreOffice is absent; ``RuntimeError`` when one fails."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    sources = [Path(p).resolve() for p in docx_paths]
    if not sources:
        return []
    pdfs: list[Path] = []
    for folder, group in _by_folder(sources, outdir).items():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="qcamp-soffice-") as profile:
            command = [
                soffice,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(folder),
                *[str(s) for s in group],
            ]
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout * len(group)
            )
        missing = [s.name for s in group if not (folder / f"{s.stem}.pdf").exists()]
        if completed.returncode != 0 or missing:
            raise RuntimeError(
                f"LibreOffice 转换失败（{completed.returncode}）：{'、'.join(missing)}"
                f"{completed.stderr.strip()[:500]}"
            )
    for source in sources:
        folder = Path(outdir).resolve() if outdir is not None else source.parent
        pdfs.append(folder / f"{source.stem}.pdf")
    return pdfs


def _by_folder(sources: Sequence[Path], outdir: Path | str | None) -> dict[Path, list[Path]]:
    groups: dict[Path, list[Path]] = {}
    for source in sources:
        folder = Path(outdir).resolve() if outdir is not None else source.parent
        groups.setdefault(folder, []).append(source)
    return groups
