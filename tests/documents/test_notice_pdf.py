"""Every notice the commission issues, converted with LibreOffice and read page by page as a
reader would (pdftotext): GB/T 9704-2012's 署名 and 成文日期 on a page with body text, Arabic
成文日期, 「— N —」 page numbers, and each 通知's 发文字号 on page 1."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document

from documents.certificates import to_pdfs
from documents.notice import Notice, write_notice
from documents.official import (
    Issuing,
    write_call,
    write_commendation_list,
    write_exchange_agenda,
    write_project_plan,
    write_public_notice,
    write_publication,
)
from documents.rows import AgendaEntry, CommendedPerson, CommendedUnit, NoticeEntry, PlanRow

# Under CI the test command installs LibreOffice and poppler: there a missing one fails.
needs_libreoffice = pytest.mark.skipif(
    (shutil.which("soffice") is None or shutil.which("pdftotext") is None)
    and os.environ.get("CI") != "true",
    reason="LibreOffice or poppler-utils not installed (scripts/test.sh installs them)",
)

ISSUER = "天津市市场监督管理委员会"
NUMBER = "津市场监管质发〔2025〕4号"
ISSUING = Issuing(doc_number=NUMBER, copy_to=("各区人民政府办公室",))
ENTRIES = [
    NoticeEntry(
        seq=i,
        title=f"降低高强钢气保焊丝焊缝气孔缺陷率第{i}项",
        unit="天津市金桥焊材集团股份有限公司",
        recommending_unit="天津市焊接协会",
        participants=("张伟", "李娜", "王强"),
        chain="焊材",
    )
    for i in range(1, 41)
]


def _notices(folder: Path) -> dict[str, tuple[Path, bool]]:
    """Every kind of notice, with whether it is a 通知/通报 that carries a 发文字号."""
    day = dt.date(2025, 11, 5)
    plan = [
        PlanRow(
            seq=i,
            title=f"提高汽车座椅骨架焊接一次交检合格率第{i}项",
            applicant="天津某汽车零部件有限公司",
            district="西青区",
            chain="汽车及新能源汽车",
            project_type="现场型",
            recommending_unit="西青区市场监督管理局",
        )
        for i in range(1, 61)
    ]
    talk = AgendaEntry(title="降低焊缝气孔缺陷率", unit="天津某焊材公司", speaker="张伟")
    out = {
        "call": (
            write_call(
                folder / "call.docx",
                2025,
                day,
                dt.date(2025, 4, 20),
                ["天津市质量攻关项目申报书", "立项申报汇总表"],
                issuing=ISSUING,
                contact="郭丽坤",
                phone="27182036",
                email="scjgzlfzc@tj.gov.cn",
            ),
            True,
        ),
        "plan": (
            write_project_plan(
                folder / "plan.xlsx", folder / "plan.docx", 2025, plan, day, issuing=ISSUING
            )[1],
            True,
        ),
        "publicity": (
            write_public_notice(
                folder / "publicity.docx",
                2025,
                ENTRIES,
                day,
                dt.date(2025, 11, 11),
                "郭丽坤",
                "27182036",
                "scjgzlfzc@tj.gov.cn",
                working_days=5,
            ),
            False,
        ),
        "publication": (
            write_publication(
                folder / "publication.docx",
                folder / "publication.xlsx",
                2025,
                ENTRIES,
                day,
                notice_period=(day, dt.date(2025, 11, 11)),
                issuing=ISSUING,
                objections=(0, 1),
            )[0],
            True,
        ),
        "commendation": (
            write_commendation_list(
                folder / "commendation.docx",
                2025,
                [CommendedUnit(unit=e.unit, title=e.title) for e in ENTRIES],
                [CommendedPerson(name="张伟", unit=e.unit, title=e.title) for e in ENTRIES],
                [CommendedPerson(name="王芳", unit="天津市焊接协会")],
                issued_on=day,
                issuing=ISSUING,
            ),
            True,
        ),
        "meeting": (
            write_exchange_agenda(
                folder / "meeting.docx",
                2025,
                {f"链{i}": [talk, talk] for i in range(1, 8)},
                dt.date(2025, 12, 10),
                "一号报告厅",
                start_time=dt.time(14),
                issued_on=day,
                issuing=ISSUING,
            ),
            True,
        ),
    }
    return out


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [p for p in text.split("\f") if p.strip()]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


NOT_BODY = re.compile(
    r"^(天津市市场监督管理委员会|2025年\d+月\d+日|（此件主动公开）|附件：.*|—\d+—)$"
)


def _check_signed_page(name: str, pages: list[str], date: str) -> None:
    signed = [i for i, p in enumerate(pages) if re.search(rf"^{date}$", _lines(p), re.M)]
    assert signed, f"{name}: 成文日期 {date} not found in Arabic numerals"
    page = pages[signed[0]]
    lines = _lines(page).splitlines()
    at = lines.index(date)
    assert lines[at - 1] == ISSUER, f"{name}: 署名 not right above the date"
    body = [ln for ln in lines[: at - 1] if ln and not NOT_BODY.match(ln)]
    assert body, f"{name}: 署名 and 成文日期 alone on page {signed[0] + 1}:\n{page}"


def _lines(page: str) -> str:
    return "\n".join(_squeeze(line) for line in page.splitlines() if line.strip())


@needs_libreoffice
def test_every_notice_prints_per_gbt_9704(tmp_path: Path) -> None:
    notices = _notices(tmp_path)
    pdfs = to_pdfs([path for path, _ in notices.values()])
    assert pdfs is not None, "LibreOffice (soffice) is not installed"
    for (name, (_, numbered)), pdf in zip(notices.items(), pdfs, strict=True):
        pages = _pages(pdf)
        assert len(pages) >= 2, name
        whole = _squeeze("".join(pages))
        assert "二〇二五" not in whole, f"{name}: 成文日期 in Chinese numerals"
        _check_signed_page(name, pages, "2025年11月5日")
        for n, page in enumerate(pages, start=1):
            assert re.search(rf"—\s*{n}\s*—", page), f"{name}: page {n} lacks 「— {n} —」"
        if numbered:
            assert NUMBER in _squeeze(pages[0]), f"{name}: 发文字号 not on page 1"
            assert "印发" in _squeeze(pages[-1]), f"{name}: no 版记 on the last page"


@needs_libreoffice
@pytest.mark.parametrize("paragraphs", range(3, 9))
def test_signature_never_stands_alone(tmp_path: Path, paragraphs: int) -> None:
    """Bodies of every length around a page's end: the signature keeps body text with it."""
    filler = "各推荐单位要加强对项目单位的指导，督促项目按计划推进，确保攻关取得实效。" * 3
    notice = Notice(
        title="关于做好质量攻关有关工作的通知",
        body=[filler] * paragraphs,
        issued_on=dt.date(2025, 11, 5),
        doc_number=NUMBER,
        addressee="各有关单位",
    )
    path = write_notice(tmp_path / "n.docx", notice)
    pdfs = to_pdfs([path])
    assert pdfs is not None, "LibreOffice (soffice) is not installed"
    _check_signed_page(f"{paragraphs} paragraphs", _pages(pdfs[0]), "2025年11月5日")


def test_styles_declare_simplified_chinese_and_rows_do_not_split(tmp_path: Path) -> None:
    path = _notices(tmp_path)["publication"][0]
    doc = Document(str(path))
    styles = doc.styles.element.xml
    assert 'w:eastAsia="zh-CN"' in styles and 'w:eastAsia="en-US"' not in styles
    table = doc.tables[0]._tbl.xml
    assert table.count("<w:cantSplit") == len(doc.tables[0].rows)
    assert "<w:tblHeader" in table


@needs_libreoffice
def test_blank_form_keeps_section_heading_with_its_table(tmp_path: Path) -> None:
    """「三、项目内容」 of the blank 申报书 starts the page of its table, never alone at a foot."""
    from documents.application_form import write_blank_form

    pdfs = to_pdfs([write_blank_form(tmp_path / "blank.docx")])
    assert pdfs is not None, "LibreOffice (soffice) is not installed"
    pages = [_lines(p) for p in _pages(pdfs[0])]
    page = next(p for p in pages if "三、项目内容" in p)
    assert "问题现状" in page.split("三、项目内容", 1)[1]
