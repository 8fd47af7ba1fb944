"""立项申报汇总表: the blank table a unit fills, the filled one, and reading units' tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from documents.safety import UnreadableFile, safe_cell_value
from documents.summary_table import (
    HEADER_ROW,
    HEADERS,
    read_summary,
    write_blank_summary,
    write_summary,
)
from domain.models import CHAINS, DISTRICTS, SummaryRow


def _list_values(wb: openpyxl.Workbook, formula: str) -> list[str]:
    """The values a list validation offers (through a defined name or a range)."""
    if formula in wb.defined_names:
        formula = wb.defined_names[formula].attr_text
    sheet, ref = formula.lstrip("=").split("!")
    ws = wb[sheet.strip("'")]
    return [c.value for row in ws[ref.replace("$", "")] for c in row]


def test_blank_summary_has_title_header_dropdowns_and_print_setup(tmp_path: Path) -> None:
    path = write_blank_summary(tmp_path / "附件6_汇总表.xlsx", year=2025)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    assert "立项申报汇总表" in ws["A1"].value and "2025" in ws["A1"].value
    assert [c.value for c in ws[HEADER_ROW]] == list(HEADERS)
    assert list(HEADERS) == [
        "序号",
        "项目名称",
        "申报单位",
        "统一社会信用代码",
        "所属区",
        "所属产业链",
        "项目类型",
        "是否联合申报",
        "项目负责人",
        "联系电话",
        "推荐单位",
        "备注",
    ]
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows
    assert ws.column_dimensions["B"].width >= 30

    # the lists live in a hidden sheet (a typed list is capped at 255 characters)
    options = [s for s in wb.worksheets if s.sheet_state == "hidden"]
    assert len(options) == 1
    by_column = {}
    for dv in ws.data_validations.dataValidation:
        assert dv.type == "list" and dv.showErrorMessage
        column = str(dv.sqref).split(":")[0].rstrip("0123456789")
        by_column[ws[f"{column}{HEADER_ROW}"].value] = _list_values(wb, dv.formula1)
    assert by_column["所属区"] == list(DISTRICTS)
    assert by_column["所属产业链"] == list(CHAINS)
    assert by_column["项目类型"] == ["提质增效", "节能降耗", "优化服务", "自主创新"]
    assert by_column["是否联合申报"] == ["是", "否"]

    assert read_summary(path) == []


def test_summary_round_trips(tmp_path: Path) -> None:
    rows = [
        SummaryRow(
            title="降低焊缝气孔不良率",
            applicant="天津甲公司",
            uscc="91120116MA05XXXX1X",
            district="滨海新区",
            chain="焊材",
            project_type="提质增效",
            joint="否",
            project_lead="张三",
            phone="02223456789",
            remark="",
        ),
        SummaryRow(
            seq="2",
            title="车用燃料全自动进气阀沉积物试验机研制",
            applicant="天津乙研究院",
            uscc="12120000401234567X",
            district="南开区",
            chain="车用燃料",
            project_type="自主创新",
            joint="是",
            project_lead="李四",
            phone="13800000000",
            recommending_unit="天津市石油和化工协会",
            remark="链主牵头",
        ),
    ]
    path = write_summary(tmp_path / "s.xlsx", rows, "天津市石油和化工协会")
    got = read_summary(path)
    assert [r.row_number for r in got] == [HEADER_ROW + 1, HEADER_ROW + 2]
    assert got[0].seq == "1" and got[0].recommending_unit == "天津市石油和化工协会"
    assert got[0].phone == "02223456789"  # leading zero kept: written as text
    assert [r.model_dump(exclude={"row_number", "seq", "recommending_unit"}) for r in got] == [
        r.model_dump(exclude={"row_number", "seq", "recommending_unit"}) for r in rows
    ]
    assert got[1] == rows[1].model_copy(update={"row_number": HEADER_ROW + 2})


@pytest.mark.parametrize(
    "text", ["=1+1", '=HYPERLINK("http://evil","点我")', "+86 1380000", "-5", "@SUM(A1)"]
)
def test_formula_looking_input_is_written_as_text(tmp_path: Path, text: str) -> None:
    path = write_summary(
        tmp_path / "inj.xlsx",
        [SummaryRow(title=text, applicant="单位", project_lead=text, phone=text)],
        recommending_unit=text,
    )
    ws = openpyxl.load_workbook(path).worksheets[0]
    cell = ws.cell(row=HEADER_ROW + 1, column=2)
    assert cell.value == text  # visible text intact, no apostrophe added
    assert cell.data_type == "s"
    assert cell.quotePrefix  # Excel keeps it text even when the cell is edited
    with zipfile.ZipFile(path) as zf:
        assert "<f>" not in zf.read("xl/worksheets/sheet1.xml").decode()
    assert read_summary(path)[0].title == text
    assert safe_cell_value(text) == (text, True)


def test_reads_a_units_own_table_by_its_labels(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "2025年质量攻关项目汇总"
    ws["A2"] = "推荐单位：天津市某行业协会"
    ws.append([])
    ws.append(["填报说明：请勿改动表头"])
    # header on row 5, with spaces, a line break, 电话 for 联系电话, and a different order
    ws.append(
        [
            "序 号",
            "项目\n名称",
            "申报单位",
            "统一社会信用代码",
            "所属区 ",
            "产业链",
            "项目类型",
            "是否联合申报",
            "项目负责人",
            "电话",
            "备注",
            "推荐单位",
        ]
    )
    ws.append(
        [
            1,
            "提高A产品合格率",
            "甲公司",
            "91120000MA0000001X",
            "和平区",
            "信创",
            "提质增效",
            "否",
            "王一",
            13800000001,
            "",
            "天津市某行业协会",
        ]
    )
    ws.append([])  # a blank row in the middle
    ws.append([2, "", "", "", "", "", "", "", "", None, "", ""])  # numbered, nothing else
    ws.append(
        [
            3,
            "降低B工序能耗",
            "乙公司",
            "91120000MA0000002X",
            "河西区",
            "新材料",
            "节能降耗",
            "是",
            "王二",
            "022-12345678",
            "联合",
            "天津市某行业协会",
        ]
    )
    ws.append(["合计", "2项"])
    path = tmp_path / "unit.xlsx"
    wb.save(path)

    got = read_summary(path)
    assert [(r.row_number, r.seq, r.title) for r in got] == [
        (6, "1", "提高A产品合格率"),
        (9, "3", "降低B工序能耗"),
    ]
    assert got[0].phone == "13800000001"  # a number typed into the sheet, read as text
    assert got[0].chain == "信创" and got[0].recommending_unit == "天津市某行业协会"
    assert got[1].phone == "022-12345678" and got[1].remark == "联合"


def test_a_sheet_without_the_header_is_refused_in_chinese(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["随便", "什么"])
    path = tmp_path / "随便.xlsx"
    wb.save(path)
    with pytest.raises(UnreadableFile) as err:
        read_summary(path)
    assert err.value.code == "FILE_UNREADABLE"
    assert "随便.xlsx" in err.value.message and "表头" in err.value.message


def test_every_row_of_a_long_table_is_bordered_text_in_songti(tmp_path: Path) -> None:
    """A unit's 60-project table: the last row looks like the first (borders, 宋体 10, text
    format so codes and phone numbers stay as typed, titles wrapped and left-aligned)."""
    rows = [
        SummaryRow(title=f"降低第{i}条产线不良率", applicant="天津甲公司", phone="02223456789")
        for i in range(60)
    ]
    path = write_summary(tmp_path / "long.xlsx", rows, "天津市焊接协会")
    ws = openpyxl.load_workbook(path)["立项申报汇总表"]
    for r in (HEADER_ROW + 1, HEADER_ROW + 60):
        for col in range(1, len(HEADERS) + 1):
            cell = ws.cell(row=r, column=col)
            assert cell.number_format == "@"
            assert cell.font.name == "宋体" and cell.font.sz == 10
            assert cell.border.left.style == "thin" and cell.border.bottom.style == "thin"
            assert cell.alignment.wrap_text and cell.alignment.vertical == "center"
        assert ws.cell(row=r, column=2).alignment.horizontal == "left"  # 项目名称
        assert ws.cell(row=r, column=1).alignment.horizontal == "center"  # 序号
    assert ws.cell(row=HEADER_ROW + 60, column=10).value == "02223456789"
    assert read_summary(path)[-1].title == "降低第59条产线不良率"
