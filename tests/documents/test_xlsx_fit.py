"""Workbooks print as people expect: wrapped text in rows tall enough, no text cut off by its
neighbour, A4 one page wide with page numbers; lists in the commission's order."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from documents.xlsx_style import Column, new_workbook, save_workbook, write_table
from domain.models import RecommendingUnitKind
from domain.registers import unit_order
from tests.documents.xlsx_print_check import print_faults, print_setup_faults

LONG = (
    "联合申报单位未在申报书中盖章，且项目负责人联系电话与推荐单位登记的不一致，请核对后重新报送。"
    * 2
)


def _sheet(path: Path, *, fit: bool) -> Path:
    wb = new_workbook()
    ws = wb.active
    ws.title = "审核意见"
    columns = [
        Column("序号", 6),
        Column("问题说明", 20, align="left"),
        Column("单位", 8),
        Column("备注", 8),
    ]
    write_table(
        ws,
        "审核意见",
        columns,
        [[1, LONG, "汽车及新能源汽车协会", "补正"], [2, "无", "和平区", ""]],
    )
    if fit:
        return save_workbook(wb, path)
    wb.save(path)  # what the writers did before: rows never sized
    return path


def test_a_sheet_saved_without_fitting_prints_text_over_its_neighbours(tmp_path: Path) -> None:
    faults = print_faults(_sheet(tmp_path / "raw.xlsx", fit=False))
    assert any("B3" in f and "行高" in f for f in faults)
    assert any("C3" in f and "截断" in f for f in faults)


def test_saved_sheets_hold_their_text_and_print_on_a4(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "fitted.xlsx", fit=True)
    assert print_faults(path) == []
    assert print_setup_faults(path) == []
    ws = load_workbook(path)["审核意见"]
    assert ws["C3"].alignment.wrap_text  # wider than its column: wrapped, not cut
    assert ws.row_dimensions[3].height > 4 * 15  # many lines of 问题说明
    assert ws.row_dimensions[4].height is None  # a one-line row keeps the default height


def test_a_sheet_nobody_set_up_for_printing_gets_a4_and_page_numbers(tmp_path: Path) -> None:
    wb = new_workbook()
    ws = wb.active
    ws.append(["姓名", "单位"])
    path = save_workbook(wb, tmp_path / "plain.xlsx")
    assert print_setup_faults(path) == []


def test_units_are_listed_districts_first_in_administrative_order() -> None:
    district = RecommendingUnitKind.DISTRICT_REGULATOR.value
    units = [
        ("ASSN-ZLXH", "天津市质量管理协会", RecommendingUnitKind.ASSOCIATION.value),
        ("DIST-17", "天津市宁河区市场监督管理局", district),
        ("CITY-GXJ", "天津市工业和信息化局", RecommendingUnitKind.DEPARTMENT.value),
        ("X-9", "天津市和平区市场监督管理局", district),
        ("DIST-16", "天津市滨海新区市场监督管理局", district),
    ]
    ordered = sorted(units, key=lambda u: unit_order(u[2], u[1], u[0]))
    # the configured order of districts (滨海新区 last in it), not the codes
    assert [u[0] for u in ordered] == ["X-9", "DIST-17", "DIST-16", "CITY-GXJ", "ASSN-ZLXH"]
