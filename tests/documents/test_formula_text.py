"""Cells that come from units' files and look like formulas are exported as text."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from documents.reports import write_audit_workbook, write_summary_workbook
from documents.rows import AuditRow
from domain.models import SummaryRow


def test_summary_workbook_keeps_formula_looking_titles_as_text(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://example.invalid","点击")'
    rows = [SummaryRow(seq="1", title=hostile, applicant="@SUM(A1)", recommending_unit="+协会")]
    path = write_summary_workbook(tmp_path / "汇总.xlsx", 2025, rows)
    ws = load_workbook(path).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row if c.value in {hostile, "@SUM(A1)", "+协会"}]
    assert len(cells) == 3
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_audit_workbook_still_counts_decisions_with_its_own_formulas(tmp_path: Path) -> None:
    rows = [
        AuditRow(
            seq=1,
            title="-降低焊缝气孔不良率",
            applicant="天津某公司",
            recommending_unit="焊接协会",
            key="1",
        )
    ]
    path = write_audit_workbook(tmp_path / "审核.xlsx", 2025, rows)
    wb = load_workbook(path)
    titles = [
        c
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value == "-降低焊缝气孔不良率"
    ]
    assert titles and titles[0].data_type == "s"
    formulas = [
        c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"
    ]
    assert any("COUNTIFS" in str(c.value) for c in formulas)


def test_list_rows_after_the_first_keep_their_own_text_numbers_and_column_style(
    tmp_path: Path,
) -> None:
    """Every row of a long list: formula-looking text stays text (quote prefix) in whichever
    row it is, plain text and numbers are plain, and each cell has its column's style."""
    from documents.xlsx_style import (
        FIRST_DATA_ROW,
        Column,
        new_workbook,
        save_workbook,
        write_table,
    )

    columns = [
        Column("序号", 6),
        Column("单位", 30, align="left"),
        Column("签到", 12, input=True),
        Column("合计", 10, formula=True),
    ]
    rows = [
        [1, "=危险(1)", None, "=1+1"],
        [2, "天津某公司", None, "=2+2"],
        [3, "-协会", "", None],
        [4.5, "#N/A", "已签到", "=3+3"],
    ]
    wb = new_workbook()
    last = write_table(wb.active, "名单", columns, rows)
    wb.active.append(["合计", None, None, None])  # a row added after the list goes below it
    ws = load_workbook(save_workbook(wb, tmp_path / "名单.xlsx")).active
    assert ws.cell(last + 1, 1).value == "合计"
    first = FIRST_DATA_ROW
    assert [ws.cell(first + i, 1).value for i in range(4)] == [1, 2, 3, 4.5]
    assert (ws.cell(first, 2).value, ws.cell(first, 2).quotePrefix) == ("=危险(1)", True)
    assert (ws.cell(first + 1, 2).value, ws.cell(first + 1, 2).quotePrefix) == ("天津某公司", False)
    assert (ws.cell(first + 2, 2).data_type, ws.cell(first + 2, 2).quotePrefix) == ("s", True)
    assert ws.cell(first + 2, 2).value == "-协会"
    assert ws.cell(first + 3, 2).value == "#N/A"
    assert ws.cell(first + 1, 4).value == "=2+2"  # the writer's own formula
    assert ws.cell(first + 2, 3).value is None
    for r in range(first, first + 4):
        assert ws.cell(r, 3).fill.fgColor.rgb.endswith("FFF2CC")  # input column shading
        assert ws.cell(r, 2).alignment.horizontal == "left"
        assert ws.cell(r, 1).border.left.style == "thin"
        assert ws.cell(r, 1).font.name == "宋体"
