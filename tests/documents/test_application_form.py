"""申报书: the blank form looks right, filled forms round-trip in every layout, and forms typed
by hand in odd ways are read by their labels."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from documents.application_form import (
    LAYOUTS,
    format_period,
    parse_period,
    read_form,
    write_blank_form,
    write_filled_form,
)
from documents.safety import UnreadableFile
from domain.models import ApplicationForm, ContactPerson, TeamMember


@pytest.fixture
def form() -> ApplicationForm:
    return ApplicationForm(
        title="降低汽车座椅骨架焊缝气孔不良率",
        applicant="天津市某某汽车零部件有限公司",
        uscc="91120116MA05XXXX1X",
        address="天津市滨海新区黄海路100号",
        district="滨海新区",
        chain="汽车及新能源汽车",
        project_type="提质增效",
        joint="是",
        joint_units="天津大学；天津某某检测技术有限公司",
        recommending_unit="滨海新区市场监督管理局",
        project_lead=ContactPerson(
            name="张三", position="质量部部长", phone="13800000000", email="zhangsan@example.com"
        ),
        quality_lead=ContactPerson(name="李四", phone="022-23456789"),
        members=[
            TeamMember(name="王五", title="高级工程师", role="总体方案设计"),
            TeamMember(name="赵六", title="", role="数据采集、统计分析"),
            TeamMember(name="欧阳明月", title="技师", role="焊接工艺试验"),
        ],
        start_date="2025-05",
        end_date="2025-12",
        problem="2024年焊缝气孔不良率为3.2%，年返修成本约80万元。\n主要原因：保护气体流量不稳定。",
        goal="将焊缝气孔不良率由3.2%降至0.8%以下。",
        measures="1. 建立气体流量在线监控；\n2. 优化焊接参数（电流、电压、速度）；\n3. 固化作业标准。",
        economic_benefit="120",
        social_benefit="提升产品质量口碑。\n带动链上企业焊接质量提升。",
        foundation="已获实用新型专利2项，参与制定团体标准1项。",
        integrity_promise="本单位承诺所报材料真实、准确、完整，如有不实愿承担相应责任。",
        recommendation_opinion="经审核，材料真实，同意推荐。",
    )


# ---------------------------------------------------------------------------------------------
# the blank form


def _all_text(document: docx.document.Document) -> str:
    parts = [p.text for p in document.paragraphs]

    def table_text(table: docx.table.Table) -> None:
        for row in table.rows:
            for cell in row.cells:
                parts.append(cell.text)
                for inner in cell.tables:
                    table_text(inner)

    for t in document.tables:
        table_text(t)
    return "\n".join(parts)


def test_blank_form_is_an_a4_form_with_every_field(tmp_path: Path) -> None:
    path = write_blank_form(tmp_path / "附件5_申报书.docx")
    document = docx.Document(str(path))

    section = document.sections[0]
    assert abs(section.page_width - Cm(21)) < Cm(0.05)
    assert abs(section.page_height - Cm(29.7)) < Cm(0.05)
    assert section.left_margin >= Cm(2.5) and section.top_margin >= Cm(2.5)

    title = next(p for p in document.paragraphs if p.text == "天津市质量攻关项目申报书")
    run = title.runs[0]
    assert run.font.bold and run.font.size == Pt(22)
    assert run._element.rPr.rFonts.get(qn("w:eastAsia")) in {"宋体", "方正小标宋简体"}
    normal = document.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"

    text = _all_text(document)
    for label in (
        "项目名称",
        "申报单位",
        "推荐单位",
        "申报日期",
        "统一社会信用代码",
        "单位地址",
        "所属区",
        "所属产业链",
        "项目类型",
        "提质增效",
        "节能降耗",
        "优化服务",
        "自主创新",
        "是否联合申报",
        "联合申报单位",
        "项目负责人",
        "质量负责人",
        "姓名",
        "职务",
        "电话",
        "邮箱",
        "序号",
        "职务或职称",
        "分工",
        "计划起止日期",
        "问题现状",
        "攻关目标",
        "主要措施或技术路线",
        "预期效益",
        "经济效益（万元）",
        "社会效益",
        "已有基础",
        "申报单位诚信承诺",
        "推荐单位意见",
        "（盖章）",
        "年    月    日",
    ):
        assert label in text, label
    # The fields are in bordered tables, the members in their own table with its header.
    assert len(document.tables) >= 3
    borders = document.tables[0]._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None and borders.find(qn("w:insideH")).get(qn("w:val")) == "single"
    member_table = next(t for t in document.tables if t.rows[0].cells[1].text == "姓名")
    assert [c.text for c in member_table.rows[0].cells] == ["序号", "姓名", "职务或职称", "分工"]


def test_blank_form_reads_as_empty(tmp_path: Path) -> None:
    """Template text (boxes, 年 月 日, 盖章, underscores) is never taken for an answer."""
    got = read_form(write_blank_form(tmp_path / "blank.docx"))
    expected = ApplicationForm(integrity_promise=got.integrity_promise)
    assert got == expected
    assert "承诺" in got.integrity_promise  # the printed promise itself


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("layout", LAYOUTS)
def test_filled_form_round_trips_in_every_layout(
    tmp_path: Path, form: ApplicationForm, layout: str
) -> None:
    path = write_filled_form(tmp_path / f"{layout}.docx", form, layout=layout)
    got = read_form(path)
    assert got.model_dump() == form.model_dump()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_form_with_gaps_round_trips(tmp_path: Path, form: ApplicationForm, layout: str) -> None:
    """Empty answers stay empty: no value slides into the next label's field."""
    gappy = form.model_copy(
        update={
            "title": "",
            "district": "",
            "project_type": "",
            "joint": "",
            "joint_units": "",
            "start_date": "",
            "project_lead": ContactPerson(name="", position="部长", phone="", email="a@b.cn"),
            "quality_lead": ContactPerson(),
            "members": [],
            "goal": "",
            "economic_benefit": "",
            "recommendation_opinion": "",
        }
    )
    got = read_form(write_filled_form(tmp_path / f"{layout}.docx", gappy, layout=layout))
    assert got.model_dump() == gappy.model_dump()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_quality_lead_details_beyond_the_printed_form_survive(
    tmp_path: Path, form: ApplicationForm, layout: str
) -> None:
    full = form.model_copy(
        update={
            "quality_lead": ContactPerson(
                name="李四", position="质量负责人", phone="13900000000", email="li@example.cn"
            )
        }
    )
    got = read_form(write_filled_form(tmp_path / f"{layout}.docx", full, layout=layout))
    assert got.quality_lead == full.quality_lead
    assert got.project_lead == full.project_lead


def test_table_layout_uses_merged_cells_and_ticked_boxes(
    tmp_path: Path, form: ApplicationForm
) -> None:
    document = docx.Document(str(write_filled_form(tmp_path / "t.docx", form)))
    body_xml = document.element.body.xml
    assert "w:gridSpan" in body_xml and "w:vMerge" in body_xml
    assert "☑提质增效" in _all_text(document) and "☑是" in _all_text(document)


def test_unparseable_dates_are_kept_as_typed(tmp_path: Path, form: ApplicationForm) -> None:
    odd = form.model_copy(update={"start_date": "立项后", "end_date": "次年年底"})
    for layout in LAYOUTS:
        got = read_form(write_filled_form(tmp_path / f"{layout}.docx", odd, layout=layout))
        assert (got.start_date, got.end_date) == ("立项后", "次年年底"), layout


def test_unknown_layout_is_refused(tmp_path: Path, form: ApplicationForm) -> None:
    with pytest.raises(ValueError):
        write_filled_form(tmp_path / "x.docx", form, layout="pdf")


# ---------------------------------------------------------------------------------------------
# forms typed by hand


def _sym_checkbox(paragraph, checked: bool) -> None:
    """A Wingdings 2 checkbox as Word inserts it (Insert > Symbol)."""
    run = paragraph.add_run()
    sym = OxmlElement("w:sym")
    sym.set(qn("w:font"), "Wingdings 2")
    sym.set(qn("w:char"), "F052" if checked else "F0A3")
    run._r.append(sym)


def test_hand_made_table_with_odd_labels_merges_and_nesting(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("附件5")
    document.add_paragraph("天津市质量攻关项目申报书")
    t = document.add_table(rows=0, cols=6)

    def row(*texts: str) -> list:
        cells = t.add_row().cells
        for c, text in zip(cells, texts, strict=False):
            c.text = text
        return cells

    # label with spaces and a full-width colon; value merged across five cells
    cells = row("项 目 名 称：", "提高齿轮箱一次交检合格率")
    cells[1].merge(cells[5])
    # a label variant and stray full-width spaces, all in one cell
    cells = row("\u3000申报单位\u3000：\u3000天津某某传动科技有限公司\u3000")
    cells[0].merge(cells[5])
    cells = row("统一社会信用代码", "91120000MA06YYYY2Y", "", "所在区", "西青区")
    cells[1].merge(cells[2])
    cells = row("所属产业链", "高端装备", "项目类型")
    cells[3].merge(cells[5])
    _sym_checkbox(cells[3].paragraphs[0], False)
    cells[3].paragraphs[0].add_run("提质增效 ")
    _sym_checkbox(cells[3].paragraphs[0], True)
    cells[3].paragraphs[0].add_run("节能降耗")
    cells = row("是否联合申报", "□是 ☑否", "联合申报单位", "/")
    cells[3].merge(cells[5])
    cells = row("推荐单位：天津市工业和信息化局", "")
    cells[0].merge(cells[5])
    cells = row("计划起止时间", "2025年5月—2025年12月")
    cells[1].merge(cells[5])
    # 项目负责人 as one typed line; 质量负责人 as label/value pairs
    cells = row("项目负责人：陈明 职务：总工程师  电话:13912345678 邮箱：chen@example.cn")
    cells[0].merge(cells[5])
    row("质量负责人", "姓名", "刘洋", "联系电话", "13700001111", "")
    # the member table inside the main table, its label merged down the rows
    r1 = row("项目组成员", "序号", "姓名", "职务/职称", "分工", "")
    r2 = row("", "1", "孙强", "工程师", "工艺改进")
    r3 = row("", "2", "周丽", "质量工程师", "数据分析")
    r1[0].merge(r3[0])
    assert r2  # merged away
    # long text: a label row, then the value in the next row
    cells = row("问题现状（简述现状数据及原因，可另附页）")
    cells[0].merge(cells[5])
    cells = row("一次交检合格率为92%。")
    cells[0].merge(cells[5])
    cells[0].add_paragraph("原因：齿面磨削参数不稳定。")
    cells = row("攻关目标", "一次交检合格率提高到98%。")
    cells[1].merge(cells[5])
    cells = row("主要措施及技术路线：\n采用SPC监控磨削过程。")
    cells[0].merge(cells[5])
    cells = row("预期效益", "")
    nested = cells[1].add_table(rows=2, cols=2)
    nested.cell(0, 0).text = "经济效益（万元）"
    nested.cell(0, 1).text = "85.5"
    nested.cell(1, 0).text = "社会效益"
    nested.cell(1, 1).text = "减少废品，节约资源。"
    cells[1].merge(cells[5])
    cells = row("已有基础", "授权发明专利1项。")
    cells[1].merge(cells[5])
    cells = row(
        "申报单位诚信承诺\n本单位承诺材料真实。\n法定代表人（签字）：\n（盖章）\n2025年4月1日"
    )
    cells[0].merge(cells[5])
    cells = row("推荐单位意见\n同意推荐。\n推荐单位（盖章）\n    年  月  日")
    cells[0].merge(cells[5])
    path = tmp_path / "hand.docx"
    document.save(str(path))

    got = read_form(path)
    assert got.title == "提高齿轮箱一次交检合格率"
    assert got.applicant == "天津某某传动科技有限公司"
    assert got.uscc == "91120000MA06YYYY2Y"
    assert got.district == "西青区"
    assert got.chain == "高端装备"
    assert got.project_type == "节能降耗"
    assert got.joint == "否" and got.joint_units == ""
    assert got.recommending_unit == "天津市工业和信息化局"
    assert (got.start_date, got.end_date) == ("2025-05", "2025-12")
    assert got.project_lead == ContactPerson(
        name="陈明", position="总工程师", phone="13912345678", email="chen@example.cn"
    )
    assert got.quality_lead == ContactPerson(name="刘洋", phone="13700001111")
    assert got.members == [
        TeamMember(name="孙强", title="工程师", role="工艺改进"),
        TeamMember(name="周丽", title="质量工程师", role="数据分析"),
    ]
    assert got.problem == "一次交检合格率为92%。\n原因：齿面磨削参数不稳定。"
    assert got.goal == "一次交检合格率提高到98%。"
    assert got.measures == "采用SPC监控磨削过程。"
    assert (got.economic_benefit, got.social_benefit) == ("85.5", "减少废品，节约资源。")
    assert got.foundation == "授权发明专利1项。"
    assert got.integrity_promise == "本单位承诺材料真实。"
    assert got.recommendation_opinion == "同意推荐。"


def test_hand_made_paragraphs_without_any_table(tmp_path: Path) -> None:
    document = docx.Document()
    for line in (
        "天津市质量攻关项目申报书",
        "一、攻关项目名称:  缩短风电齿轮箱交付周期",
        "申报单位名称：天津某某重工有限公司",
        "统一社会信用代码 ： 91120222MA07ZZZZ3Z",
        "所属区：武清区　　所属产业链：新能源",
        "项目类型：优化服务",
        "是否联合申报：否",
        "推荐单位：天津市风电行业协会",
        "计划起止日期：2025-05-01至2025-12-31",
        "项目负责人：吴刚　电话：15822223333",
        "质量负责人：郑红　电话：022-58889999",
        "项目组成员：",
        "1、吴刚，高级工程师，总体负责",
        "2、钱芳，工程师，数据分析与改进",
        "问题现状：",
        "平均交付周期45天，客户投诉多。",
        "目标：这行虽以“目标：”开头，仍属于问题现状。",
        "攻关目标：交付周期缩短至30天。",
        "主要措施或技术路线：",
        "价值流分析；",
        "计划排程优化。",
        "预期效益：年节约成本约200万元，客户满意度提升。",
        "已有基础：",
        "（专利、标准、成果鉴定等）",
        "通过ISO 9001认证。",
        "申报单位诚信承诺：",
        "本单位承诺所报材料真实。",
        "申报单位（盖章）",
        "2025年4月10日",
    ):
        document.add_paragraph(line)
    path = tmp_path / "paras.docx"
    document.save(str(path))

    got = read_form(path)
    assert got.title == "缩短风电齿轮箱交付周期"
    assert got.applicant == "天津某某重工有限公司"
    assert got.uscc == "91120222MA07ZZZZ3Z"
    assert (got.district, got.chain) == ("武清区", "新能源")
    assert (got.project_type, got.joint) == ("优化服务", "否")
    assert got.recommending_unit == "天津市风电行业协会"
    assert (got.start_date, got.end_date) == ("2025-05-01", "2025-12-31")
    assert got.project_lead == ContactPerson(name="吴刚", phone="15822223333")
    assert got.quality_lead == ContactPerson(name="郑红", phone="022-58889999")
    assert [m.name for m in got.members] == ["吴刚", "钱芳"]
    assert got.members[1] == TeamMember(name="钱芳", title="工程师", role="数据分析与改进")
    assert (
        got.problem
        == "平均交付周期45天，客户投诉多。\n目标：这行虽以“目标：”开头，仍属于问题现状。"
    )
    assert got.goal == "交付周期缩短至30天。"
    assert got.measures == "价值流分析；\n计划排程优化。"
    assert got.economic_benefit == "200"
    assert got.social_benefit == "年节约成本约200万元，客户满意度提升。"
    assert got.foundation == "通过ISO 9001认证。"
    assert got.integrity_promise == "本单位承诺所报材料真实。"


def test_member_table_found_by_header_not_position(tmp_path: Path) -> None:
    """Extra columns, another column order, a label row above: still the right members."""
    document = docx.Document()
    document.add_paragraph("项目名称：提高某产品一次合格率")
    t = document.add_table(rows=4, cols=5)
    for r, texts in enumerate(
        (
            ("姓 名", "工作单位", "分工", "职称", "序号"),
            ("甲一", "某公司", "现场试验", "助理工程师", "1"),
            ("", "", "", "", "2"),  # numbered but empty
            ("乙二", "某大学", "理论分析", "教授", "3"),
        )
    ):
        for c, text in enumerate(texts):
            t.cell(r, c).text = text
    path = tmp_path / "members.docx"
    document.save(str(path))
    assert read_form(path).members == [
        TeamMember(name="甲一", title="助理工程师", role="现场试验"),
        TeamMember(name="乙二", title="教授", role="理论分析"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025年5月—2025年12月", ("2025-05", "2025-12")),
        ("2025.05-2025.12", ("2025-05", "2025-12")),
        ("2025-05-01至2025-12-31", ("2025-05-01", "2025-12-31")),
        ("2025/5/1～2025/12/31", ("2025-05-01", "2025-12-31")),
        ("2025年5月1日 至 2025年12月31日", ("2025-05-01", "2025-12-31")),
        ("2025年5月—12月", ("2025-05", "2025-12")),
        ("立项后至次年年底", ("立项后", "次年年底")),
        ("至2025-12-31", ("", "2025-12-31")),
        ("2025年5月—", ("2025-05", "")),
        ("", ("", "")),
    ],
)
def test_parse_period(text: str, expected: tuple[str, str]) -> None:
    assert parse_period(text) == expected


def test_format_period_styles() -> None:
    assert format_period("2025-05", "2025-12", "cn") == "2025年5月—2025年12月"
    assert format_period("2025-05", "2025-12", "dot") == "2025.05-2025.12"
    assert format_period("2025-05-01", "2025-12-31", "iso") == "2025-05-01至2025-12-31"


def test_read_form_refuses_what_is_not_a_word_file(tmp_path: Path) -> None:
    fake = tmp_path / "申报书.docx"
    fake.write_text("这不是 Word 文件", encoding="utf-8")
    with pytest.raises(UnreadableFile) as err:
        read_form(fake)
    assert err.value.code == "FILE_UNREADABLE"
    assert "申报书.docx" in err.value.message


def test_read_form_accepts_bytes(tmp_path: Path, form: ApplicationForm) -> None:
    data = write_filled_form(tmp_path / "f.docx", form).read_bytes()
    assert read_form(data, name="f.docx").title == form.title


def test_the_same_file_read_twice_gives_equal_but_separate_forms(
    tmp_path: Path, form: ApplicationForm
) -> None:
    """A resubmitted batch repeats unchanged files: they read the same, and changing what one
    read returned does not change what the next read returns."""
    data = write_filled_form(tmp_path / "f.docx", form).read_bytes()
    first = read_form(data, name="f.docx")
    first.title = "改过的名称"
    first.members.clear()
    second = read_form(data, name="f.docx")
    assert second == read_form(tmp_path / "f.docx") and second.title == form.title
    assert second.members == form.members
