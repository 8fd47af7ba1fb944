"""The commission's published documents: the call, project plan, 公示, 公布 (通报表扬),
commendation, exchange meeting notice and agenda.

Each writer takes plain rows (``documents.rows``) and a target path and returns the path(s) it
wrote. Text is the commission's; everything a campaign may change (dates, issuer, 发文字号,
版记) is a parameter. The layout of every notice is ``documents.notice`` (GB/T 9704-2012).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docx.document import Document

from documents.docx_style import (
    ISSUER,
    SHORT_ISSUER,
    add_blank,
    add_heading1,
    add_heading2,
    add_table,
    add_text,
    arabic_date,
    chinese_date,
    keep_with_next,
)
from documents.notice import (
    DEFAULT_PRINTER,
    Annex,
    Notice,
    Paragraph,
    chinese_number,
    write_notice,
)
from documents.rows import AgendaEntry, CommendedPerson, CommendedUnit, NoticeEntry, PlanRow
from documents.xlsx_style import Column, new_workbook, save_workbook, write_table

__all__ = [
    "Issuing",
    "Timetable",
    "objections_sentence",
    "chinese_date",
    "chain_label",
    "write_call",
    "write_commendation_list",
    "write_exchange_agenda",
    "write_project_plan",
    "write_public_notice",
    "write_publication",
]

CAMPAIGN = "天津市质量攻关"
WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Issuing:
    """Who issues a notice and how it is numbered and printed: the issuer, the 发文字号 (none:
    no 版头), the 印发机关 and the 抄送机关 of the 版记."""

    issuer: str = ISSUER
    doc_number: str = ""
    printer: str = DEFAULT_PRINTER
    copy_to: Sequence[str] = field(default_factory=tuple)


def _campaign(year: int) -> str:
    return f"{year}年{CAMPAIGN}"


def _first_title(titles: Sequence[str]) -> str:
    return f"“{titles[0]}”等" if titles else ""


def _notice(
    issuing: Issuing,
    title: str,
    body: Sequence[Paragraph],
    issued_on: dt.date,
    *,
    addressee: str = "各有关单位",
    annexes: Sequence[Annex] = (),
) -> Notice:
    return Notice(
        title=title,
        body=body,
        issued_on=issued_on,
        issuer=issuing.issuer,
        doc_number=issuing.doc_number,
        addressee=addressee,
        annexes=annexes,
        printer=issuing.printer,
        copy_to=tuple(issuing.copy_to),
    )


def _table_annex(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths_mm: Sequence[float],
    left_aligned: Sequence[int],
    *,
    landscape: bool = True,
    size: float = 12.0,
) -> Annex:
    def write(doc: Document) -> None:
        add_table(doc, headers, rows, widths_mm=widths_mm, left_aligned=left_aligned, size=size)

    return Annex(title=title, write=write, landscape=landscape)


# ---------------------------------------------------------------------------------------------
# 1. the call


def write_call(
    path: Path | str,
    year: int,
    issued_on: dt.date,
    deadline: dt.date,
    form_titles: Sequence[str],
    *,
    issuing: Issuing = Issuing(),
    contact: str = "",
    phone: str = "",
    email: str = "",
) -> Path:
    """征集通知: the call for applications; the blank forms travel with it as separate files."""
    forms = "、".join(f"《{t}》" for t in form_titles)
    body: list[Paragraph] = [
        f"为深入实施质量强市战略，推动企业运用先进质量管理理论与方法解决质量问题，现组织开展"
        f"{_campaign(year)}项目申报工作。有关事项通知如下：",
        ("h1", "一、申报范围"),
        "本市注册的企业、事业单位和社会组织，围绕提质增效、节能降耗、优化服务、自主创新等方面"
        "确定攻关课题，均可申报。",
        ("h1", "二、申报程序"),
        f"申报单位填写{forms}，经推荐单位审核后，由推荐单位汇总，于{arabic_date(deadline)}前"
        f"以电子邮件报送{SHORT_ISSUER}，逾期不再接收。",
        ("h1", "三、联系方式"),
        f"联系人：{contact}；联系电话：{phone}；电子邮箱：{email}。",
    ]
    notice = _notice(
        issuing,
        f"关于开展{_campaign(year)}项目申报工作的通知",
        body,
        issued_on,
        addressee="各推荐单位",
    )
    return write_notice(path, notice)


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
    doc_number: str = "",
    issuing: Issuing | None = None,
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
    body: list[Paragraph] = [
        f"根据《{_campaign(year)}工作方案》，经各推荐单位推荐、{SHORT_ISSUER}立项审核，"
        f"确定{_first_title([r.title for r in rows])}{len(rows)}个项目列入{plan_title}，"
        "现予以公布（见附件）。",
        "请各项目单位制定项目实施方案并按计划推进，遵循计划、执行、检查、处理（PDCA）程序，"
        "定期对项目进展和效果进行监测和评估，及时调整实施策略，妥善留存项目过程性材料。",
        "请各推荐单位适时深入项目单位指导、检查和督促项目进度，帮助企业解决项目实施中遇到的"
        "问题，提出指导性意见和建议。项目单位按照后续通知要求向推荐单位提交项目成果材料和"
        f"过程性材料，推荐单位汇总后于{arabic_date(due)}前推荐至{SHORT_ISSUER}，逾期不再接收。",
    ]
    annex = _table_annex(
        plan_title,
        PLAN_COLUMNS,
        [_plan_values(r) for r in rows],
        (8, 42, 34, 12, 15, 12, 27),
        (1, 2, 6),
    )
    notice = _notice(
        issuing or Issuing(issuer=issuer, doc_number=doc_number),
        f"关于公布{plan_title}的通知",
        body,
        issued_on,
        annexes=[annex],
    )
    return xlsx, write_notice(docx_path, notice)


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
    issuing: Issuing | None = None,
) -> Path:
    """公示 of the proposed excellent results, with period and objection instructions; the
    list is its attachment."""
    if end < start:
        raise ValueError(f"公示期结束日期 {end} 早于开始日期 {start}")
    list_title = f"{_campaign(year)}拟认定优秀成果名单"
    days = f"（{working_days}个工作日）" if working_days else ""
    body: list[Paragraph] = [
        f"根据《天津市质量攻关管理办法》和《{_campaign(year)}工作方案》，经推荐单位推荐、"
        f"质量攻关技术评定组评定，拟认定{_first_title([e.title for e in entries])}"
        f"{len(entries)}项成果为{_campaign(year)}优秀成果，现将名单予以公示（见附件）。",
        f"公示期为{arabic_date(start)}至{arabic_date(end)}{days}。",
        "公示期间，任何单位或个人对公示成果有异议的，可在公示期内以书面形式实名提出，"
        f"并提供必要的证明材料，向{SHORT_ISSUER}{office}反映。单位提出异议的，须在异议材料上"
        "加盖本单位公章，并注明联系人和联系方式；个人提出异议的，须在异议材料上签署真实姓名，"
        "并注明本人联系方式。逾期提出或匿名提出的异议不予受理。",
        f"联系人：{contact}",
        f"联系电话：{phone}",
        f"电子邮箱：{email}",
    ]
    if address:
        body.append(f"通讯地址：{address}")
    annex = _table_annex(
        list_title,
        NOTICE_COLUMNS,
        [_notice_values(e) for e in entries],
        (9, 45, 32, 28),
        (1, 2, 3),
        landscape=False,
    )
    base = issuing or Issuing(issuer=issuer)
    notice = Notice(
        title=f"{_campaign(year)}优秀成果公示",
        body=body,
        issued_on=issued_on or start,
        issuer=base.issuer,
        doc_number="",  # a 公示 is posted, not sent: no 版头, no 版记
        annexes=[annex],
        printer="",
    )
    return write_notice(path, notice)


PUBLICATION_COLUMNS = ("序号", "成果名称", "完成单位", "主要完成人员", "推荐单位")


def _publication_values(entry: NoticeEntry) -> list[object]:
    return [
        entry.seq,
        entry.title,
        entry.unit,
        "、".join(entry.participants),
        entry.recommending_unit,
    ]


def objections_sentence(period: str, upheld: int, dismissed: int) -> str:
    """What the 公示 brought: 「经公示（…）无异议」, or the objections received and how they
    were settled."""
    received = upheld + dismissed
    if received == 0:
        return f"{period}无异议"
    parts = []
    if upheld:
        parts.append(f"{upheld}件异议经核实成立，相关成果不予认定")
    if dismissed:
        parts.append(f"{dismissed}件异议经核实不成立，维持评定结果")
    return f"{period.removeprefix('经')}期间收到异议{received}件，" + "，".join(parts) + "。据此"


def write_publication(
    docx_path: Path | str,
    xlsx_path: Path | str,
    year: int,
    entries: Sequence[NoticeEntry],
    issued_on: dt.date,
    *,
    issuer: str = ISSUER,
    notice_period: tuple[dt.date, dt.date] | None = None,
    doc_number: str = "",
    issuing: Issuing | None = None,
    objections: tuple[int, int] = (0, 0),
) -> tuple[Path, Path]:
    """公布: the 通报表扬 notice (docx, list as annex) and the list as xlsx. ``objections`` is
    (upheld, dismissed): the objections of the 公示 and how they were settled.

    Returns ``(docx_path, xlsx_path)``.
    """
    list_title = f"{_campaign(year)}优秀成果名单"
    period = (
        f"经公示（{arabic_date(notice_period[0])}至{arabic_date(notice_period[1])}）"
        if notice_period
        else "经公示"
    )
    body: list[Paragraph] = [
        f"{year}年，各推荐单位和项目单位认真落实《{_campaign(year)}工作方案》，聚焦质量强企、"
        "质量强链和质量强镇（街），运用先进质量管理理论与方法，围绕提质增效、节能降耗、优化服务、"
        "自主创新等方面开展质量攻关，取得了良好的经济效益和社会效益。",
        f"根据《天津市质量攻关管理办法》，经推荐单位推荐、质量攻关技术评定组评定，"
        f"{objections_sentence(period, *objections)}，"
        f"认定{_first_title([e.title for e in entries])}{len(entries)}项成果为"
        f"{_campaign(year)}优秀成果（名单见附件），对优秀成果完成单位、参与人员和组织者予以"
        "通报表扬，颁发证书。",
        "希望受到表扬的单位和个人珍惜荣誉，再接再厉，持续开展质量改进与创新，充分发挥示范引领"
        "作用。各有关单位要积极组织质量攻关优秀成果宣传推广，将认定的优秀成果作为天津质量奖、"
        "首席质量官、企业质量融资增信等工作的重要考虑要素，推动质量强市建设。",
    ]
    annex = _table_annex(
        list_title,
        PUBLICATION_COLUMNS,
        [_publication_values(e) for e in entries],
        (8, 44, 34, 34, 28),
        (1, 2, 3, 4),
    )
    notice = _notice(
        issuing or Issuing(issuer=issuer, doc_number=doc_number),
        f"关于公布{_campaign(year)}优秀成果并予以通报表扬的通知",
        body,
        issued_on,
        annexes=[annex],
    )
    docx = write_notice(docx_path, notice)

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


def _commendation_sections(
    units: Sequence[CommendedUnit],
    participants: Sequence[CommendedPerson],
    organisers: Sequence[CommendedPerson],
) -> list[tuple[str, tuple[str, ...], list[list[object]], tuple[float, ...]]]:
    return [
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
            ("序号", "姓名", "推荐单位"),
            [[i, p.name, p.unit] for i, p in enumerate(organisers, start=1)],
            (10, 25, 70),
        ),
    ]


def write_commendation_list(
    path: Path | str,
    year: int,
    units: Sequence[CommendedUnit],
    participants: Sequence[CommendedPerson],
    organisers: Sequence[CommendedPerson],
    *,
    issued_on: dt.date,
    issuer: str = ISSUER,
    issuing: Issuing | None = None,
) -> Path:
    """通报表扬: the 通报 and, as its attachment, the 通报表扬名单 — excellent units,
    participants and organisers (a person of each recommending unit), one table each."""
    sections = _commendation_sections(units, participants, organisers)

    def write(doc: Document) -> None:
        for heading, headers, values, widths in sections:
            keep_with_next(add_heading1(doc, heading))
            if values:
                add_table(doc, headers, values, widths_mm=widths, left_aligned=(2, 3))
            else:
                add_text(doc, "无")
            add_blank(doc)

    list_title = f"{_campaign(year)}通报表扬名单"
    body: list[Paragraph] = [
        f"{_campaign(year)}工作中，各推荐单位精心组织，各项目单位和参与人员攻坚克难，"
        f"{len(units)}项成果被认定为{_campaign(year)}优秀成果。为表彰先进，经研究，决定对"
        f"{len(units)}个优秀成果完成单位、{len(participants)}名优秀参与人员和"
        f"{len(organisers)}名优秀组织者予以通报表扬（名单见附件）。",
        "希望受到表扬的单位和个人珍惜荣誉，发挥示范作用，持续推动质量改进和创新。",
    ]
    notice = _notice(
        issuing or Issuing(issuer=issuer),
        f"关于对{_campaign(year)}优秀成果完成单位、参与人员和组织者予以通报表扬的通报",
        body,
        issued_on,
        annexes=[Annex(title=list_title, write=write)],
    )
    return write_notice(path, notice)


# ---------------------------------------------------------------------------------------------
# 9. exchange meeting notice and agenda


def chain_label(chain: str) -> str:
    """信创 -> 信创产业链; 其他 -> 其他领域."""
    chain = chain.strip()
    if not chain or chain == "其他":
        return "其他领域"
    return chain if chain.endswith(("产业链", "领域")) else f"{chain}产业链"


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


@dataclass(frozen=True)
class Timetable:
    """The meeting's fixed parts in minutes and its tea breaks."""

    opening: int = 10
    review: int = 15
    closing: int = 10
    break_minutes: int = 15
    talks_between_breaks: int = 6


class _Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def slot(self, minutes: int) -> str:
        begin = self.now
        self.now = self.now + dt.timedelta(minutes=minutes)
        return f"{_hhmm(begin)}—{_hhmm(self.now)}"


def _write_agenda(
    doc: Document,
    year: int,
    groups: Mapping[str, Sequence[AgendaEntry]],
    clock: _Clock,
    timetable: Timetable,
) -> None:
    """议程: opening, the talks by chain with a tea break after every few talks, review and
    closing, numbered 一、… and （一）…（十）（十一）…."""
    keep_with_next(add_heading1(doc, f"一、开幕致辞（{clock.slot(timetable.opening)}）"))
    add_text(doc, f"{SHORT_ISSUER}领导致辞，介绍{_campaign(year)}工作开展情况。")
    keep_with_next(add_heading1(doc, "二、优秀成果交流"))
    since_break = 0
    items = list(groups.items())
    for index, (chain, entries) in enumerate(items, start=1):
        keep_with_next(add_heading2(doc, f"（{chinese_number(index)}）{chain_label(chain)}"))
        rows = [
            [i, clock.slot(e.minutes), e.title, e.unit, e.speaker] for i, e in enumerate(entries, 1)
        ]
        add_table(
            doc,
            ("序号", "时间", "交流成果", "完成单位", "交流人"),
            rows,
            widths_mm=(8, 22, 45, 35, 14),
            left_aligned=(2, 3),
            size=12.0,
        )
        since_break += len(entries)
        more = index < len(items)
        if more and timetable.break_minutes and since_break >= timetable.talks_between_breaks:
            add_text(doc, f"茶歇（{clock.slot(timetable.break_minutes)}）", indent=False)
            since_break = 0
        else:
            add_blank(doc)
    keep_with_next(add_heading1(doc, f"三、专家点评（{clock.slot(timetable.review)}）"))
    add_text(doc, "质量攻关技术评定专家对交流成果进行点评，推广先进质量管理工具和方法。")
    keep_with_next(add_heading1(doc, f"四、会议总结（{clock.slot(timetable.closing)}）"))
    add_text(doc, f"{SHORT_ISSUER}领导总结讲话，部署质量攻关优秀成果宣传推广工作。")


def write_exchange_agenda(
    path: Path | str,
    year: int,
    groups: Mapping[str, Sequence[AgendaEntry]],
    meeting_date: dt.date,
    place: str,
    *,
    start_time: dt.time = dt.time(9, 0),
    timetable: Timetable = Timetable(),
    host: str = ISSUER,
    issued_on: dt.date | None = None,
    issuing: Issuing | None = None,
    reply_by: dt.date | None = None,
) -> Path:
    """交流会通知: the notice calling the exchange meeting, with its 议程 (the talks grouped by
    industry chain with their time slots and tea breaks) as the attachment."""
    start = dt.datetime.combine(meeting_date, start_time)
    clock = _Clock(start)
    agenda_title = f"{_campaign(year)}优秀成果交流会议程"
    weekday = WEEKDAYS[meeting_date.weekday()]
    talks = sum(len(g) for g in groups.values())

    def write(doc: Document) -> None:
        add_text(
            doc, f"时间：{arabic_date(meeting_date)}（星期{weekday}）{_hhmm(start)}", indent=False
        )
        add_text(doc, f"地点：{place}", indent=False)
        add_text(doc, f"主办单位：{host}", indent=False)
        add_blank(doc)
        _write_agenda(doc, year, groups, clock, timetable)

    when = f"{arabic_date(meeting_date)}（星期{weekday}）{_hhmm(start)}"
    body: list[Paragraph] = [
        f"为总结交流{_campaign(year)}优秀成果经验，推广先进质量管理方法，定于{when}召开"
        f"{_campaign(year)}优秀成果交流会。现将有关事项通知如下：",
        ("h1", "一、会议时间和地点"),
        f"时间：{when}。地点：{place}。",
        ("h1", "二、参会人员"),
        f"优秀成果完成单位代表、交流人，各推荐单位质量攻关工作负责人。会议安排{talks}项成果交流"
        "（议程见附件）。",
        ("h1", "三、有关要求"),
        "请交流人按议程时间准备发言材料，每项成果交流时间不超过10分钟。"
        + (f"请于{arabic_date(reply_by)}前回复参会回执。" if reply_by else ""),
    ]
    notice = _notice(
        issuing or Issuing(issuer=host),
        f"关于召开{_campaign(year)}优秀成果交流会的通知",
        body,
        issued_on or meeting_date,
        annexes=[Annex(title=agenda_title, write=write)],
    )
    return write_notice(path, notice)
