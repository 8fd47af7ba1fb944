"""The commission's published documents: project plan, 公示, 公布 (通报表扬), commendation list,
exchange-meeting agenda.

Each writer takes plain rows (``documents.rows``) and a target path and returns the path(s) it
wrote. Text is the commission's; everything a campaign may change (dates, issuer, contact) is a
parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from docx.document import Document

from documents.docx_style import (
    ISSUER,
    SHORT_ISSUER,
    add_blank,
    add_heading1,
    add_heading2,
    add_red_header,
    add_salutation,
    add_section,
    add_signature,
    add_table,
    add_text,
    add_title,
    arabic_date,
    chinese_date,
    new_document,
    save,
)
from documents.rows import AgendaEntry, CommendedPerson, CommendedUnit, NoticeEntry, PlanRow
from documents.xlsx_style import Column, new_workbook, save_workbook, write_table

__all__ = [
    "chinese_date",
    "chain_label",
    "write_commendation_list",
    "write_exchange_agenda",
    "write_project_plan",
    "write_public_notice",
    "write_publication",
]

CAMPAIGN = "天津市质量攻关"
WEEKDAYS = "一二三四五六日"


def _campaign(year: int) -> str:
    return f"{year}年{CAMPAIGN}"


def _first_title(titles: Sequence[str]) -> str:
    return f"“{titles[0]}”等" if titles else ""


def _begin(doc: Document, red_header: bool, doc_number: str, issuer: str) -> None:
    if red_header:
        add_red_header(doc, issuer, doc_number)


def _public_line(doc: Document) -> None:
    add_blank(doc)
    add_text(doc, "（此件主动公开）", indent=True)


def _annex_heading(doc: Document, annex_title: str) -> None:
    add_heading1(doc, "附件")
    add_blank(doc)
    add_title(doc, annex_title)


# ---------------------------------------------------------------------------------------------
# 2. project plan


PLAN_COLUMNS = ("序号", "项目名称", "申报单位", "所属区", "所属产业链", "项目类型", "推荐单位")


def _plan_values(row: PlanRow) -> list[object]:
    return [
        row.seq,
        row.title,
        row.applicant,
        row.district,
        row.chain,
        row.project_type,
        row.recommending_unit,
    ]


def write_project_plan(
    xlsx_path: Path | str,
    docx_path: Path | str,
    year: int,
    rows: Sequence[PlanRow],
    issued_on: dt.date,
    *,
    issuer: str = ISSUER,
    results_due: dt.date | None = None,
    red_header: bool = False,
    doc_number: str = "",
) -> tuple[Path, Path]:
    """项目计划: the list as xlsx and the website notice with the list as its annex.

    ``results_due`` is when recommending units must forward results (default 30 September).
    Returns ``(xlsx_path, docx_path)``.
    """
    plan_title = f"{_campaign(year)}项目计划"

    wb = new_workbook()
    ws = wb.active
    ws.title = "项目计划"
    columns = [
        Column("序号", 7),
        Column("项目名称", 42, align="left"),
        Column("申报单位", 32, align="left"),
        Column("所属区", 11),
        Column("所属产业链", 14),
        Column("项目类型", 11),
        Column("推荐单位", 26, align="left"),
    ]
    write_table(ws, plan_title, columns, [_plan_values(r) for r in rows])
    xlsx = save_workbook(wb, xlsx_path)

    due = results_due or dt.date(year, 9, 30)
    doc = new_document()
    _begin(doc, red_header, doc_number, issuer)
    add_title(doc, f"关于公布{plan_title}的通知")
    add_salutation(doc, "各有关单位：")
    add_text(
        doc,
        f"根据《{_campaign(year)}工作方案》，经各推荐单位推荐、{SHORT_ISSUER}立项审核，"
        f"确定{_first_title([r.title for r in rows])}{len(rows)}个项目列入{plan_title}，"
        "现予以公布（见附件）。",
    )
    add_text(
        doc,
        "请各项目单位制定项目实施方案并按计划推进，遵循计划、执行、检查、处理（PDCA）程序，"
        "定期对项目进展和效果进行监测和评估，及时调整实施策略，妥善留存项目过程性材料。",
    )
    add_text(
        doc,
        "请各推荐单位适时深入项目单位指导、检查和督促项目进度，帮助企业解决项目实施中遇到的"
        "问题，提出指导性意见和建议。项目单位按照后续通知要求向推荐单位提交项目成果材料和"
        f"过程性材料，推荐单位汇总后于{arabic_date(due)}前推荐至{SHORT_ISSUER}，逾期不再接收。",
    )
    add_blank(doc)
    add_text(doc, f"附件：{plan_title}")
    add_signature(doc, issuer, issued_on)
    _public_line(doc)

    add_section(doc, landscape=True)
    _annex_heading(doc, plan_title)
    add_table(
        doc,
        PLAN_COLUMNS,
        [_plan_values(r) for r in rows],
        widths_mm=(8, 42, 34, 12, 15, 12, 27),
        left_aligned=(1, 2, 6),
        size=12.0,
    )
    docx = save(doc, docx_path)
    return xlsx, docx


# ---------------------------------------------------------------------------------------------
# 7. public notice, publication, commendation list

NOTICE_COLUMNS = ("序号", "成果名称", "完成单位", "推荐单位")


def _notice_values(entry: NoticeEntry) -> list[object]:
    return [entry.seq, entry.title, entry.unit, entry.recommending_unit]


def write_public_notice(
    path: Path | str,
    year: int,
    entries: Sequence[NoticeEntry],
    start: dt.date,
    end: dt.date,
    contact: str,
    phone: str,
    email: str,
    *,
    issued_on: dt.date | None = None,
    issuer: str = ISSUER,
    working_days: int | None = None,
    office: str = "质量发展处",
    address: str = "",
) -> Path:
    """公示 of the proposed excellent results, with period and objection instructions."""
    if end < start:
        raise ValueError(f"公示期结束日期 {end} 早于开始日期 {start}")
    doc = new_document()
    add_title(doc, f"{_campaign(year)}优秀成果公示")
    add_text(
        doc,
        f"根据《天津市质量攻关管理办法》和《{_campaign(year)}工作方案》，经推荐单位推荐、"
        f"质量攻关技术评定组评定，拟认定{_first_title([e.title for e in entries])}"
        f"{len(entries)}项成果为{_campaign(year)}优秀成果，现将名单予以公示。",
    )
    add_table(
        doc,
        NOTICE_COLUMNS,
        [_notice_values(e) for e in entries],
        widths_mm=(9, 45, 32, 28),
        left_aligned=(1, 2, 3),
    )
    add_blank(doc)
    days = f"（{working_days}个工作日）" if working_days else ""
    add_text(doc, f"公示期为{arabic_date(start)}至{arabic_date(end)}{days}。")
    add_text(
        doc,
        "公示期间，任何单位或个人对公示成果有异议的，可在公示期内以书面形式实名提出，"
        f"并提供必要的证明材料，向{SHORT_ISSUER}{office}反映。单位提出异议的，须在异议材料上"
        "加盖本单位公章，并注明联系人和联系方式；个人提出异议的，须在异议材料上签署真实姓名，"
        "并注明本人联系方式。逾期提出或匿名提出的异议不予受理。",
    )
    add_text(doc, f"联系人：{contact}")
    add_text(doc, f"联系电话：{phone}")
    add_text(doc, f"电子邮箱：{email}")
    if address:
        add_text(doc, f"通讯地址：{address}")
    add_signature(doc, issuer, issued_on or start)
    return save(doc, path)


PUBLICATION_COLUMNS = ("序号", "成果名称", "完成单位", "主要完成人员", "推荐单位")


def _publication_values(entry: NoticeEntry) -> list[object]:
    return [
        entry.seq,
        entry.title,
        entry.unit,
        "、".join(entry.participants),
        entry.recommending_unit,
    ]


def write_publication(
    docx_path: Path | str,
    xlsx_path: Path | str,
    year: int,
    entries: Sequence[NoticeEntry],
    issued_on: dt.date,
    *,
    issuer: str = ISSUER,
    notice_period: tuple[dt.date, dt.date] | None = None,
    red_header: bool = False,
    doc_number: str = "",
) -> tuple[Path, Path]:
    """公布: the 通报表扬 notice (docx, list as annex) and the list as xlsx.

    Returns ``(docx_path, xlsx_path)``.
    """
    list_title = f"{_campaign(year)}优秀成果名单"
    doc = new_document()
    _begin(doc, red_header, doc_number, issuer)
    add_title(doc, f"关于公布{_campaign(year)}优秀成果并予以通报表扬的通知")
    add_salutation(doc, "各有关单位：")
    add_text(
        doc,
        f"{year}年，各推荐单位和项目单位认真落实《{_campaign(year)}工作方案》，聚焦质量强企、"
        "质量强链和质量强镇（街），运用先进质量管理理论与方法，围绕提质增效、节能降耗、优化服务、"
        "自主创新等方面开展质量攻关，取得了良好的经济效益和社会效益。",
    )
    publicity = (
        f"经公示（{arabic_date(notice_period[0])}至{arabic_date(notice_period[1])}）"
        if notice_period
        else "经公示"
    )
    add_text(
        doc,
        f"根据《天津市质量攻关管理办法》，经推荐单位推荐、质量攻关技术评定组评定，{publicity}"
        f"无异议，认定{_first_title([e.title for e in entries])}{len(entries)}项成果为"
        f"{_campaign(year)}优秀成果（名单见附件），对优秀成果完成单位、参与人员和组织者予以"
        "通报表扬，颁发证书。",
    )
    add_text(
        doc,
        "希望受到表扬的单位和个人珍惜荣誉，再接再厉，持续开展质量改进与创新，充分发挥示范引领"
        "作用。各有关单位要积极组织质量攻关优秀成果宣传推广，将认定的优秀成果作为天津质量奖、"
        "首席质量官、企业质量融资增信等工作的重要考虑要素，推动质量强市建设。",
    )
    add_blank(doc)
    add_text(doc, f"附件：{list_title}")
    add_signature(doc, issuer, issued_on)
    _public_line(doc)

    add_section(doc, landscape=True)
    _annex_heading(doc, list_title)
    add_table(
        doc,
        PUBLICATION_COLUMNS,
        [_publication_values(e) for e in entries],
        widths_mm=(8, 44, 34, 34, 28),
        left_aligned=(1, 2, 3, 4),
        size=12.0,
    )
    docx = save(doc, docx_path)

    wb = new_workbook()
    ws = wb.active
    ws.title = "优秀成果名单"
    columns = [
        Column("序号", 7),
        Column("成果名称", 44, align="left"),
        Column("完成单位", 32, align="left"),
        Column("主要完成人员", 30, align="left"),
        Column("推荐单位", 26, align="left"),
        Column("所属产业链", 14),
    ]
    write_table(ws, list_title, columns, [[*_publication_values(e), e.chain] for e in entries])
    xlsx = save_workbook(wb, xlsx_path)
    return docx, xlsx


def write_commendation_list(
    path: Path | str,
    year: int,
    units: Sequence[CommendedUnit],
    participants: Sequence[CommendedPerson],
    organisers: Sequence[CommendedPerson],
    *,
    issuer: str = ISSUER,
    issued_on: dt.date | None = None,
) -> Path:
    """通报表扬名单: excellent units, participants and organisers, one table each."""
    doc = new_document()
    add_title(doc, f"{_campaign(year)}通报表扬名单")
    sections: list[tuple[str, tuple[str, ...], list[list[object]], tuple[float, ...]]] = [
        (
            f"一、优秀成果单位（{len(units)}个）",
            ("序号", "单位名称", "成果名称"),
            [[i, u.unit, u.title] for i, u in enumerate(units, start=1)],
            (10, 45, 55),
        ),
        (
            f"二、优秀参与人员（{len(participants)}名）",
            ("序号", "姓名", "单位", "项目名称"),
            [[i, p.name, p.unit, p.title] for i, p in enumerate(participants, start=1)],
            (10, 16, 40, 50),
        ),
        (
            f"三、优秀组织者（{len(organisers)}名）",
            ("序号", "姓名", "单位"),
            [[i, p.name, p.unit] for i, p in enumerate(organisers, start=1)],
            (10, 25, 70),
        ),
    ]
    for heading, headers, values, widths in sections:
        add_heading1(doc, heading)
        if values:
            add_table(doc, headers, values, widths_mm=widths, left_aligned=(2, 3))
        else:
            add_text(doc, "无")
        add_blank(doc)
    if issued_on is not None:
        add_signature(doc, issuer, issued_on, blank_lines=1)
    return save(doc, path)


# ---------------------------------------------------------------------------------------------
# 9. exchange meeting agenda


def chain_label(chain: str) -> str:
    """信创 -> 信创产业链; 其他 -> 其他领域."""
    chain = chain.strip()
    if not chain or chain == "其他":
        return "其他领域"
    return chain if chain.endswith(("产业链", "领域")) else f"{chain}产业链"


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def write_exchange_agenda(
    path: Path | str,
    year: int,
    groups: Mapping[str, Sequence[AgendaEntry]],
    meeting_date: dt.date,
    place: str,
    *,
    start_time: dt.time = dt.time(9, 0),
    opening_minutes: int = 10,
    review_minutes: int = 15,
    closing_minutes: int = 10,
    host: str = ISSUER,
) -> Path:
    """交流会议程, the talks grouped by industry chain with their time slots."""
    doc = new_document()
    add_title(doc, f"{_campaign(year)}优秀成果交流会议程")
    weekday = WEEKDAYS[meeting_date.weekday()]
    add_text(
        doc,
        f"时间：{arabic_date(meeting_date)}（星期{weekday}）{start_time.hour}:{start_time.minute:02d}",
        indent=False,
    )
    add_text(doc, f"地点：{place}", indent=False)
    add_text(doc, f"主办单位：{host}", indent=False)
    add_blank(doc)

    clock = dt.datetime.combine(meeting_date, start_time)

    def slot(minutes: int) -> str:
        nonlocal clock
        begin = clock
        clock = clock + dt.timedelta(minutes=minutes)
        return f"{_hhmm(begin)}—{_hhmm(clock)}"

    add_heading1(doc, f"一、开幕致辞（{slot(opening_minutes)}）")
    add_text(doc, f"{SHORT_ISSUER}领导致辞，介绍{_campaign(year)}工作开展情况。")
    add_heading1(doc, "二、优秀成果交流")
    numerals = "一二三四五六七八九十"
    for index, (chain, entries) in enumerate(groups.items()):
        number = numerals[index] if index < len(numerals) else str(index + 1)
        add_heading2(doc, f"（{number}）{chain_label(chain)}")
        rows = [
            [i, slot(e.minutes), e.title, e.unit, e.speaker] for i, e in enumerate(entries, start=1)
        ]
        add_table(
            doc,
            ("序号", "时间", "交流成果", "完成单位", "交流人"),
            rows,
            widths_mm=(8, 22, 45, 35, 14),
            left_aligned=(2, 3),
            size=12.0,
        )
        add_blank(doc)
    add_heading1(doc, f"三、专家点评（{slot(review_minutes)}）")
    add_text(doc, "质量攻关技术评定专家对交流成果进行点评，推广先进质量管理工具和方法。")
    add_heading1(doc, f"四、会议总结（{slot(closing_minutes)}）")
    add_text(doc, f"{SHORT_ISSUER}领导总结讲话，部署质量攻关优秀成果宣传推广工作。")
    return save(doc, path)
