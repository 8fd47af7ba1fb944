"""荣誉证书: one landscape A4 page per certificate in a single Word file, and PDF conversion where
LibreOffice is installed."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from documents.docx_style import (
    ISSUER,
    OFFICIAL_FONTS,
    FontSet,
    add_page_borders,
    add_text,
    chinese_date,
    new_document,
    save,
    start_new_page,
)
from documents.rows import CertificateData, CertificateKind

__all__ = [
    "SERIAL_PREFIX",
    "certificate_body",
    "certificate_serial",
    "to_pdf",
    "write_certificates",
]

SERIAL_PREFIX = "TJZLGG"
TITLE_SIZE = 54.0
BODY_SIZE = 22.0
BODY_PITCH = 40.0


def certificate_serial(year: int, number: int, kind: CertificateKind = CertificateKind.UNIT) -> str:
    """证书编号: ``certificate_serial(2025, 1) == "TJZLGG-2025-0001-U"``."""
    if number < 1:
        raise ValueError("证书序号从1开始")
    return f"{SERIAL_PREFIX}-{year}-{number:04d}-{kind.value}"


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


def _certificate_page(
    doc: Document,
    year: int,
    cert: CertificateData,
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
    title.paragraph_format.space_after = Pt(30)
    if not first:
        start_new_page(title)
    salutation, body = certificate_body(year, cert)
    add_text(doc, salutation, size=BODY_SIZE, indent=False, pitch=BODY_PITCH, fonts=fonts)
    add_text(doc, body, size=BODY_SIZE, pitch=BODY_PITCH, fonts=fonts)
    if cert.kind is not CertificateKind.UNIT and cert.unit:
        add_text(doc, f"（{cert.unit}）", size=BODY_SIZE, pitch=BODY_PITCH, fonts=fonts)
    spacer = add_text(doc, "", size=BODY_SIZE, indent=False, pitch=BODY_PITCH, fonts=fonts)
    spacer.paragraph_format.space_after = Pt(24)
    for text in (issuer, chinese_date(issued_on)):
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
    serial = add_text(
        doc,
        f"证书编号：{cert.serial}",
        size=14.0,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        indent=False,
        pitch=None,
        fonts=fonts,
    )
    serial.paragraph_format.space_before = Pt(24)


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
    doc = new_document(
        landscape=True, fonts=fonts, page_numbers=False, margins_mm=(30.0, 30.0, 30.0, 30.0)
    )
    add_page_borders(doc)
    when = issued_on or dt.date.today()
    for index, cert in enumerate(certs):
        _certificate_page(doc, year, cert, issuer, when, index == 0, fonts)
    return save(doc, path)


def to_pdf(
    docx_path: Path | str, outdir: Path | str | None = None, timeout: float = 180
) -> Path | None:
    """Convert with ``soffice --headless --convert-to pdf``; None where LibreOffice is absent.

    A throw-away LibreOffice profile is used so that a running LibreOffice does not block the
    conversion. A failed conversion raises ``RuntimeError``.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    source = Path(docx_path).resolve()
    target_dir = Path(outdir).resolve() if outdir is not None else source.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qcamp-soffice-") as profile:
        command = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(target_dir),
            str(source),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    pdf = target_dir / f"{source.stem}.pdf"
    if completed.returncode != 0 or not pdf.exists():
        raise RuntimeError(
            f"LibreOffice 转换失败（{completed.returncode}）：{completed.stderr.strip()[:500]}"
        )
    return pdf
