"""The published documents read back as a user would see them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.shared import Mm
from openpyxl import load_workbook

from documents.docx_style import east_asian_font, table_texts
from documents.official import (
    chain_label,
    chinese_date,
    write_commendation_list,
    write_exchange_agenda,
    write_project_plan,
    write_public_notice,
    write_publication,
)
from documents.rows import AgendaEntry, CommendedPerson, CommendedUnit, NoticeEntry, PlanRow

PLAN = [
    PlanRow(
        seq=1,
        title="降低高强钢气保焊丝焊缝气孔不良率",
        applicant="天津市金桥焊材集团股份有限公司",
        district="北辰区",
        chain="焊材",
        project_type="提质增效",
        recommending_unit="北辰区市场监督管理局",
    ),
    PlanRow(
        seq=2,
        title="提高车规级MCU芯片封装一次交检合格率",
        applicant="天津飞腾信息技术有限公司",
        district="滨海新区",
        chain="集成电路",
        project_type="自主创新",
        recommending_unit="天津市工业和信息化局",
    ),
    PlanRow(
        seq=3,
        title="缩短政务服务热线工单办结周期",
        applicant="天津市和平区政务服务中心",
        district="和平区",
        chain="其他",
        project_type="优化服务",
        recommending_unit="和平区市场监督管理局",
    ),
]

ENTRIES = [
    NoticeEntry(
        seq=1,
        title="降低高强钢气保焊丝焊缝气孔不良率",
        unit="天津市金桥焊材集团股份有限公司",
        recommending_unit="北辰区市场监督管理局",
        chain="焊材",
        participants=["张伟", "李娜", "王强"],
    ),
    NoticeEntry(
        seq=2,
        title="车用燃料全自动进气阀沉积物试验机研制",
        unit="中国汽车技术研究中心有限公司",
        recommending_unit="天津市汽车工业协会",
        chain="车用燃料",
        participants=["赵敏"],
    ),
]


def all_text(doc: Document) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2025, 5, 10), "二〇二五年五月十日"),
        (dt.date(2025, 10, 1), "二〇二五年十月一日"),
        (dt.date(2025, 12, 31), "二〇二五年十二月三十一日"),
        (dt.date(2030, 11, 20), "二〇三〇年十一月二十日"),
        (dt.date(2025, 9, 19), "二〇二五年九月十九日"),
    ],
)
def test_chinese_date(day: dt.date, expected: str) -> None:
    assert chinese_date(day) == expected


def test_chain_label() -> None:
    assert chain_label("信创") == "信创产业链"
    assert chain_label("其他") == "其他领域"
    assert chain_label("焊材产业链") == "焊材产业链"


def test_project_plan(tmp_path: Path) -> None:
    xlsx, docx = write_project_plan(
        tmp_path / "plan.xlsx", tmp_path / "plan.docx", 2025, PLAN, dt.date(2025, 5, 10)
    )
    doc = Document(str(docx))
    text = all_text(doc)
    assert doc.paragraphs[0].text == "关于公布2025年天津市质量攻关项目计划的通知"
    assert "各有关单位：" in text
    assert "等3个项目列入2025年天津市质量攻关项目计划" in text
    assert "2025年9月30日前" in text and "逾期不再接收" in text
    assert "2025年5月10日" in text and "二〇二五年五月十日" not in text  # GB/T 9704-2012
    assert "天津市市场监督管理委员会" in text

    # the annex table: header plus every project, on a landscape A4 page
    rows = table_texts(doc.tables[0])
    assert rows[0] == [
        "序号",
        "项目名称",
        "申报单位",
        "所属区",
        "所属产业链",
        "项目类型",
        "推荐单位",
    ]
    assert [r[1] for r in rows[1:]] == [p.title for p in PLAN]
    first, annex = doc.sections[0], doc.sections[-2]  # the last section holds the 版记
    assert first.orientation == WD_ORIENT.PORTRAIT
    assert abs(first.page_width - Mm(210)) < Mm(1)
    assert annex.orientation == WD_ORIENT.LANDSCAPE
    assert annex.page_width > annex.page_height

    # fonts: title in 方正小标宋简体, body in 仿宋_GB2312, set on w:eastAsia
    assert east_asian_font(doc.paragraphs[0].runs[0]) == "方正小标宋简体"
    body = next(p for p in doc.paragraphs if p.text.startswith("根据"))
    assert east_asian_font(body.runs[0]) == "仿宋_GB2312"
    assert body.runs[0].font.size.pt == 16
    cell_run = doc.tables[0].rows[1].cells[1].paragraphs[0].runs[0]
    assert east_asian_font(cell_run) == "仿宋_GB2312"

    ws = load_workbook(xlsx).active
    assert ws["A1"].value == "2025年天津市质量攻关项目计划"
    assert [c.value for c in ws[2]] == [
        "序号",
        "项目名称",
        "申报单位",
        "所属区",
        "所属产业链",
        "项目类型",
        "推荐单位",
    ]
    assert [ws.cell(row=r, column=2).value for r in range(3, 6)] == [p.title for p in PLAN]
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:G5"
    assert ws.page_setup.orientation == "landscape"
    assert "A1:G1" in {str(m) for m in ws.merged_cells.ranges}


def test_project_plan_red_header_and_due_date(tmp_path: Path) -> None:
    _, docx = write_project_plan(
        tmp_path / "p.xlsx",
        tmp_path / "p.docx",
        2026,
        PLAN[:1],
        dt.date(2026, 5, 8),
        doc_number="津市场监管质发〔2026〕5号",
        results_due=dt.date(2026, 9, 25),
    )
    doc = Document(str(docx))
    assert doc.paragraphs[0].text == "天津市市场监督管理委员会文件"
    assert doc.paragraphs[0].runs[0].font.color.rgb is not None
    text = all_text(doc)
    assert "津市场监管质发〔2026〕5号" in text
    assert "2026年9月25日前" in text
    assert "“降低高强钢气保焊丝焊缝气孔不良率”等1个项目" in text


def test_public_notice(tmp_path: Path) -> None:
    path = write_public_notice(
        tmp_path / "notice.docx",
        2025,
        ENTRIES,
        dt.date(2025, 9, 30),
        dt.date(2025, 10, 13),
        contact="郭丽坤 陈莹",
        phone="022-27182036",
        email="scjgzlfzc@tj.gov.cn",
        working_days=5,
    )
    doc = Document(str(path))
    text = all_text(doc)
    assert doc.paragraphs[0].text == "2025年天津市质量攻关优秀成果公示"
    assert "公示期为2025年9月30日至2025年10月13日（5个工作日）。" in text
    assert "实名" in text and "书面" in text
    assert "联系人：郭丽坤 陈莹" in text
    assert "联系电话：022-27182036" in text
    assert "电子邮箱：scjgzlfzc@tj.gov.cn" in text
    assert "2025年9月30日\n" in text + "\n"  # issued on the first day by default
    rows = table_texts(doc.tables[0])
    assert rows[0] == ["序号", "成果名称", "完成单位", "推荐单位"]
    assert rows[1] == ["1", ENTRIES[0].title, ENTRIES[0].unit, ENTRIES[0].recommending_unit]
    assert len(rows) == 1 + len(ENTRIES)


def test_public_notice_rejects_reversed_period(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_public_notice(
            tmp_path / "n.docx",
            2025,
            ENTRIES,
            dt.date(2025, 10, 13),
            dt.date(2025, 9, 30),
            contact="郭丽坤",
            phone="27182036",
            email="a@b.cn",
        )


def test_publication(tmp_path: Path) -> None:
    docx, xlsx = write_publication(
        tmp_path / "pub.docx",
        tmp_path / "pub.xlsx",
        2025,
        ENTRIES,
        dt.date(2025, 10, 20),
        notice_period=(dt.date(2025, 9, 30), dt.date(2025, 10, 13)),
    )
    doc = Document(str(docx))
    text = all_text(doc)
    assert "通报表扬" in doc.paragraphs[0].text
    assert "经公示（2025年9月30日至2025年10月13日）无异议" in text
    assert "2025年10月20日" in text
    rows = table_texts(doc.tables[0])
    assert rows[1][3] == "张伟、李娜、王强"
    assert {r[1] for r in rows[1:]} == {e.title for e in ENTRIES}

    ws = load_workbook(xlsx).active
    assert ws["A1"].value == "2025年天津市质量攻关优秀成果名单"
    assert [ws.cell(row=r, column=2).value for r in (3, 4)] == [e.title for e in ENTRIES]
    assert ws.cell(row=4, column=6).value == "车用燃料"


def test_commendation_list(tmp_path: Path) -> None:
    path = write_commendation_list(
        tmp_path / "c.docx",
        2025,
        [CommendedUnit(unit=e.unit, title=e.title) for e in ENTRIES],
        [CommendedPerson(name="张伟", unit=ENTRIES[0].unit, title=ENTRIES[0].title)],
        [],
        issued_on=dt.date(2025, 10, 20),
    )
    doc = Document(str(path))
    text = all_text(doc)
    assert "一、优秀成果单位（2个）" in text
    assert "二、优秀参与人员（1名）" in text
    assert "三、优秀组织者（0名）" in text
    assert len(doc.tables) == 2  # no table for the empty organiser list
    assert "张伟" in table_texts(doc.tables[1])[1]


def test_exchange_agenda(tmp_path: Path) -> None:
    groups = {
        "焊材": [
            AgendaEntry(title=ENTRIES[0].title, unit=ENTRIES[0].unit, speaker="张伟", minutes=15),
        ],
        "车用燃料": [
            AgendaEntry(title=ENTRIES[1].title, unit=ENTRIES[1].unit, speaker="赵敏"),
            AgendaEntry(title="降低汽油清净剂批次间性能波动", unit="天津某石化公司"),
        ],
    }
    path = write_exchange_agenda(
        tmp_path / "agenda.docx", 2025, groups, dt.date(2025, 11, 20), "天津市市场监管委三楼会议室"
    )
    doc = Document(str(path))
    text = all_text(doc)
    assert doc.paragraphs[0].text == "关于召开2025年天津市质量攻关优秀成果交流会的通知"
    assert "附件：2025年天津市质量攻关优秀成果交流会议程" in text
    assert "时间：2025年11月20日（星期四）9:00" in text
    assert "地点：天津市市场监管委三楼会议室" in text
    assert "（一）焊材产业链" in text and "（二）车用燃料产业链" in text
    assert len(doc.tables) == 2
    first, second = table_texts(doc.tables[0]), table_texts(doc.tables[1])
    assert first[1][1] == "9:10—9:25"  # after a 10-minute opening
    assert [r[1] for r in second[1:]] == ["9:25—9:35", "9:35—9:45"]
    assert "三、专家点评（9:45—10:00）" in text


def test_exchange_agenda_numbers_past_ten_and_breaks_for_tea(tmp_path: Path) -> None:
    """（十）（十一）（十二）, never （11）; a tea break after every six talks; a half day."""
    talk = AgendaEntry(title="降低焊缝气孔不良率", unit="天津某焊材公司", speaker="张伟")
    groups = {f"链{i}": [talk] for i in range(1, 14)}
    path = write_exchange_agenda(
        tmp_path / "a.docx", 2025, groups, dt.date(2025, 12, 10), "报告厅", start_time=dt.time(14)
    )
    text = all_text(Document(str(path)))
    assert "（十）链10" in text and "（十一）链11" in text and "（十三）链13" in text
    assert "（11）" not in text
    assert text.count("茶歇") == 2
    assert "茶歇（15:10—15:25）" in text  # after 14:00 + 10 opening + 6 talks
    assert "四、会议总结（17:05—17:15）" in text


def test_talks_fit_the_afternoon() -> None:
    from domain.notices import fair_share, talks_that_fit

    n = talks_that_fit(
        dt.time(14),
        dt.time(17, 30),
        fixed_minutes=35,
        talk_minutes=10,
        break_minutes=15,
        talks_between_breaks=6,
    )
    assert n == 14  # 140 minutes of talks and two breaks in 175 minutes
    kept = fair_share({"a": ["1", "2", "3"], "b": ["1"], "c": ["1", "2"]}, 4)
    assert kept == {"a": 2, "b": 1, "c": 1}


def test_publication_states_the_objections_and_how_they_were_settled(tmp_path: Path) -> None:
    docx, _ = write_publication(
        tmp_path / "p.docx",
        tmp_path / "p.xlsx",
        2025,
        ENTRIES,
        dt.date(2025, 11, 20),
        notice_period=(dt.date(2025, 11, 5), dt.date(2025, 11, 11)),
        objections=(0, 1),
    )
    text = all_text(Document(str(docx)))
    assert "无异议" not in text
    assert "期间收到异议1件" in text and "1件异议经核实不成立，维持评定结果" in text


def test_table_cells_keep_line_breaks_markup_and_fonts(tmp_path: Path) -> None:
    """Every data cell of a long table is a real cell: its text (with line breaks and markup
    characters), 仿宋 body font, widths and alignment as in the header's column."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from documents.docx_style import add_table, new_document, save

    doc = new_document()
    rows = [[i, f"第一行{i}\n第二行 & <{i}>", None] for i in range(1, 301)]
    add_table(doc, ("序号", "名称", "备注"), rows, widths_mm=(10, 60, 30), left_aligned=(1,))
    reread = Document(str(save(doc, tmp_path / "t.docx")))
    table = reread.tables[0]
    texts = table_texts(table)
    assert len(texts) == 301
    assert texts[300] == ["300", "第一行300\n第二行 & <300>", ""]
    cell = table.rows[300].cells[1]
    assert cell.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert table.rows[300].cells[0].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert east_asian_font(cell.paragraphs[0].runs[0]) == "仿宋_GB2312"
    assert east_asian_font(table.rows[0].cells[1].paragraphs[0].runs[0]) == "黑体"
    assert cell.width == table.rows[0].cells[1].width
    with pytest.raises(ValueError):
        add_table(new_document(), ("a", "b"), [[1]])
