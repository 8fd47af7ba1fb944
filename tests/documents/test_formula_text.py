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
