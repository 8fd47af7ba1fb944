"""导入模板: blank spreadsheets for every register staff import (推荐单位名录, 历年优秀成果, 专家库,
走访记录), with the header the importer looks for in the first row and a second sheet
「填写说明」 that says what goes in each column. The files the stages write themselves (立项审核表,
签到表, 进度报告, 评分表) are filled in place and need no template."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl.styles import Alignment, Font

from documents.xlsx_style import (
    BORDER,
    HEADER_FILL,
    Column,
    new_workbook,
    save_workbook,
    setup_print,
    write_table,
)

__all__ = ["TEMPLATES", "write_import_templates"]

# file name -> (sheet title, [(column, width, what to fill)])
TEMPLATES: dict[str, tuple[str, list[tuple[str, float, str]]]] = {
    "推荐单位名录（导入模板）.xlsx": (
        "推荐单位",
        [
            ("单位代码", 12, "必填。全市唯一的代码，如 DIST-03；报送、回执和名单都用它识别单位"),
            ("单位名称", 30, "必填。全称，如 天津市河西区市场监督管理局"),
            ("类型", 16, "市级行业主管部门 / 行业协会 / 区市场监督管理部门"),
            ("联系人", 10, "负责质量攻关工作的联系人姓名"),
            ("电话", 16, "联系电话"),
            ("邮箱", 28, "联系邮箱：征集通知、回执、提醒发到这里；单位从这个地址报送材料"),
            ("通知渠道", 36, "可选。另加的 apprise 地址，多个用分号分隔；密码只能写 {env:变量名}"),
        ],
    ),
    "历年优秀成果（导入模板）.xlsx": (
        "历年优秀成果",
        [
            ("年份", 8, "必填。四位年份，如 2024"),
            ("项目名称", 40, "必填。成果名称，与当年公布的名单一致"),
            ("单位", 30, "完成单位全称"),
            ("摘要", 60, "成果摘要；查重时与新申报项目的名称和内容比对"),
        ],
    ),
    "专家库（导入模板）.xlsx": (
        "专家库",
        [
            ("姓名", 10, "必填"),
            ("单位", 30, "必填。工作单位全称；与申报单位相同时自动回避"),
            ("专业领域", 30, "必填。产业链名称，多个用顿号分隔，如 新材料、生物医药"),
            ("职称", 14, "如 正高级工程师"),
            ("电话", 16, "必填。手机号码"),
            ("邮箱", 26, "评分表和邀请函发到这里"),
            ("回避单位", 30, "需回避的单位全称，多个用顿号分隔"),
        ],
    ),
    "走访记录（导入模板）.xlsx": (
        "走访记录",
        [
            ("推荐单位", 28, "必填。走访的推荐单位全称"),
            ("项目编号", 18, "计划编号，如 TJZLGG-2025-0005（与项目名称至少填一个）"),
            ("项目名称", 34, "项目名称（与项目编号至少填一个）"),
            ("走访日期", 12, "必填。如 2025-06-18"),
            ("走访人", 12, "必填"),
            ("发现问题与建议", 40, "走访中发现的问题和提出的建议"),
        ],
    ),
}


def write_import_templates(folder: Path) -> list[Path]:
    """Every register template in `folder` (created when missing); returns their paths."""
    return [_write(folder / name, sheet, columns) for name, (sheet, columns) in TEMPLATES.items()]


def _write(path: Path, sheet: str, columns: Sequence[tuple[str, float, str]]) -> Path:
    wb = new_workbook()
    ws = wb.active
    ws.title = sheet
    for index, (header, width, _) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index, value=header)
        cell.font = Font(name="黑体", size=11, bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = "A2"
    setup_print(ws, title_rows="1:1")
    guide = wb.create_sheet("填写说明")
    write_table(
        guide,
        f"{sheet}填写说明（第一个工作表第一行为表头，请勿改动；从第二行起每行一条）",
        [Column("列名", 14), Column("填写要求", 70, align="left")],
        [[header, text] for header, _, text in columns],
        landscape=False,
        autofilter=False,
    )
    return save_workbook(wb, path)
