"""Certificates: one landscape page each, unique serials, PDF where LibreOffice exists."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from documents.certificates import certificate_serial, to_pdf, to_pdfs, write_certificates
from documents.docx_style import east_asian_font
from documents.official import write_public_notice
from documents.rows import CertificateData, CertificateKind, NoticeEntry

CERTS = [
    CertificateData(
        serial=certificate_serial(2025, 1),
        recipient="天津市金桥焊材集团股份有限公司",
        title="降低高强钢气保焊丝焊缝气孔不良率",
    ),
    CertificateData(
        serial=certificate_serial(2025, 2, CertificateKind.PARTICIPANT),
        kind=CertificateKind.PARTICIPANT,
        recipient="张伟",
        unit="天津市金桥焊材集团股份有限公司",
        title="降低高强钢气保焊丝焊缝气孔不良率",
    ),
    CertificateData(
        serial=certificate_serial(2025, 3, CertificateKind.ORGANISER),
        kind=CertificateKind.ORGANISER,
        recipient="刘洋",
        unit="北辰区市场监督管理局",
    ),
]


def test_serial_format() -> None:
    assert certificate_serial(2025, 1) == "TJZLZS-2025-0001-U"
    assert certificate_serial(2025, 12, CertificateKind.PARTICIPANT) == "TJZLZS-2025-0012-P"
    with pytest.raises(ValueError):
        certificate_serial(2025, 0)


def test_certificates(tmp_path: Path) -> None:
    path = write_certificates(tmp_path / "certs.docx", 2025, CERTS, issued_on=dt.date(2025, 10, 20))
    doc = Document(str(path))
    section = doc.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert section.page_width > section.page_height
    assert section._sectPr.find(qn("w:pgBorders")) is not None

    titles = [p for p in doc.paragraphs if p.text == "荣誉证书"]
    assert len(titles) == len(CERTS)
    assert not titles[0].paragraph_format.page_break_before
    assert all(t.paragraph_format.page_break_before for t in titles[1:])
    assert east_asian_font(titles[0].runs[0]) == "方正小标宋简体"
    assert titles[0].runs[0].font.size.pt >= 36

    text = "\n".join(p.text for p in doc.paragraphs)
    assert (
        "天津市金桥焊材集团股份有限公司：\n你单位完成的“降低高强钢气保焊丝焊缝气孔不良率”项目"
        "被评为2025年天津市质量攻关优秀成果。特发此证，以资鼓励。"
    ) in text
    assert "张伟同志：\n你参与完成的" in text
    assert "被评为2025年天津市质量攻关优秀组织者" in text
    serials = [p.text for p in doc.paragraphs if p.text.startswith("证书编号：")]
    assert serials == [f"证书编号：{c.serial}" for c in CERTS]
    assert len(set(serials)) == len(serials)
    assert text.count("二〇二五年十月二十日") == len(CERTS)
    assert text.count("天津市市场监督管理委员会") == len(CERTS)


def test_certificates_reject_duplicate_serials(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TJZLZS-2025-0001-U"):
        write_certificates(tmp_path / "c.docx", 2025, [CERTS[0], CERTS[0]])


# Under CI the test command installs LibreOffice: there a missing one fails, never skips.
needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None and os.environ.get("CI") != "true",
    reason="LibreOffice not installed (scripts/test.sh installs it)",
)


def test_to_pdf_without_libreoffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert to_pdf(tmp_path / "missing.docx") is None


@needs_libreoffice
def test_to_pdf_with_libreoffice(tmp_path: Path) -> None:
    certs = write_certificates(tmp_path / "certs.docx", 2025, CERTS)
    notice = write_public_notice(
        tmp_path / "notice.docx",
        2025,
        [NoticeEntry(seq=1, title=CERTS[0].title, unit=CERTS[0].recipient)],
        dt.date(2025, 9, 30),
        dt.date(2025, 10, 13),
        contact="郭丽坤",
        phone="27182036",
        email="scjgzlfzc@tj.gov.cn",
    )
    for docx in (certs, notice):
        pdf = to_pdf(docx, tmp_path / "pdf")
        assert pdf is not None and pdf.exists()
        assert pdf.read_bytes().startswith(b"%PDF")
    # several files in one LibreOffice run, each PDF beside its file, in the order given
    pdfs = to_pdfs([notice, certs])
    assert pdfs == [tmp_path / "notice.pdf", tmp_path / "certs.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)


@needs_libreoffice
def test_each_certificate_prints_on_one_page_even_with_long_title_and_unit(tmp_path: Path) -> None:
    """A person's certificate carries a unit line: with a three-line title and a two-line unit
    the issuer, date and serial still stay on the certificate's own page."""
    long_title = "降低某型号高端精密数控机床主轴箱体铸件加工过程中的尺寸超差不良率与返工返修成本"
    long_unit = "天津市滨海新区某某精密机械制造集团股份有限公司第二分公司"
    certs = [
        *CERTS,
        CertificateData(
            serial=certificate_serial(2025, 4, CertificateKind.PARTICIPANT),
            kind=CertificateKind.PARTICIPANT,
            recipient="欧阳建国",
            unit=long_unit,
            title=long_title,
        ),
        CertificateData(serial=certificate_serial(2025, 5), recipient=long_unit, title=long_title),
    ]
    docx = write_certificates(tmp_path / "certs.docx", 2025, certs)
    pdf = to_pdf(docx, tmp_path / "pdf")
    assert pdf is not None
    pages = re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes())
    assert len(pages) == len(certs)


def test_certificate_texts_with_markup_characters_read_back_as_written(tmp_path: Path) -> None:
    """Names and titles are put into the page as text: ``&``, ``<`` and spaces stay as typed."""
    cert = CertificateData(
        serial=certificate_serial(2025, 7, CertificateKind.PARTICIPANT),
        kind=CertificateKind.PARTICIPANT,
        recipient="A&B <张伟>",
        unit="天津市R&D中心",
        title="提高“<一次>”交检合格率 & 效率",
    )
    path = write_certificates(
        tmp_path / "c.docx", 2025, [*CERTS, cert], issued_on=dt.date(2025, 10, 20)
    )
    texts = [p.text for p in Document(str(path)).paragraphs]
    assert "A&B <张伟>同志：" in texts
    assert "（天津市R&D中心）" in texts
    assert any("“提高“<一次>”交检合格率 & 效率”" in t for t in texts)
    assert texts.count("证书编号：TJZLZS-2025-0007-P") == 1
    with pytest.raises(ValueError, match="XML compatible"):
        write_certificates(
            tmp_path / "bad.docx",
            2025,
            [cert.model_copy(update={"recipient": "张\x01伟"})],
            issued_on=dt.date(2025, 10, 20),
        )
