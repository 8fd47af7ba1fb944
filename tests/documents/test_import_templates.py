"""`qcamp templates` gives staff a template for every register they import; a template filled in
as its 填写说明 says is taken by the import command as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from deployments.cli import app
from tests.documents.xlsx_print_check import print_faults, print_setup_faults

pytestmark = pytest.mark.usefixtures("database")

ROWS = {
    "推荐单位名录（导入模板）.xlsx": (
        ["units", "import"],
        ["DIST-03", "天津市河西区市场监督管理局", "区市场监督管理部门", "王敏", "022-23000000",
         "zlk@hexi.example.cn", ""],
    ),
    "历年优秀成果（导入模板）.xlsx": (
        ["past-results", "import"],
        ["2024", "降低焊接接头气孔缺陷率", "天津市某焊材有限公司", "通过优化保护气配比降低气孔率"],
    ),
    "专家库（导入模板）.xlsx": (
        ["experts", "import"],
        ["张明", "天津大学", "焊材、新材料", "教授", "13800000001", "zm@tju.example.cn", ""],
    ),
}  # fmt: skip


def test_every_register_template_is_written_with_its_guide(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["templates", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    written = sorted((tmp_path / "导入模板").glob("*.xlsx"))
    assert [p.name for p in written] == sorted([*ROWS, "走访记录（导入模板）.xlsx"])
    for path in written:
        wb = load_workbook(path)
        assert wb.sheetnames[1] == "填写说明"
        assert print_faults(path) == [] and print_setup_faults(path) == []


@pytest.mark.parametrize("name", list(ROWS))
def test_a_filled_template_imports(tmp_path: Path, name: str) -> None:
    CliRunner().invoke(app, ["templates", "--out", str(tmp_path)])
    path = tmp_path / "导入模板" / name
    wb = load_workbook(path)
    command, row = ROWS[name]
    wb.worksheets[0].append(row)
    wb.save(path)
    out = CliRunner().invoke(app, [*command, str(path)])
    assert out.exit_code == 0, out.output
    assert re.search(r"(新增|导入)\D{0,3}1\s*(个|条|名|位|人)", out.output), out.output
