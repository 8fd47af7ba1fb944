"""The working workbooks read back: rows, validations, layout, and the import round trips."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from documents.reports import (
    CHECKIN_LABELS,
    AuditWorkbookError,
    criterion_header,
    read_audit_workbook,
    read_checkin_response,
    read_score_sheet,
    read_signin_sheet,
    write_audit_workbook,
    write_checkin_request,
    write_intake_feedback,
    write_score_sheet,
    write_signin_sheet,
    write_summary_workbook,
    write_training_roster,
    write_visit_coverage,
)
from documents.rows import (
    AuditRow,
    CheckinRequest,
    FeedbackRow,
    RosterRow,
    SummaryRow,
    TrainingSession,
    VisitCoverageRow,
)
from documents.safety import UnreadableFile
from documents.zip_patch import patched_zip
from domain.models import Finding, Severity
from domain.scoring import Criterion, check_expert_sheet

AUDIT = [
    AuditRow(
        seq=1,
        title="降低高强钢气保焊丝焊缝气孔不良率",
        applicant="天津市金桥焊材集团股份有限公司",
        uscc="91120113MA05K1234X",
        district="北辰区",
        chain="焊材",
        project_type="提质增效",
        recommending_unit="北辰区市场监督管理局",
        findings_text="",
        unit_opinion="材料真实完整，同意推荐。",
        suggested_decision="通过",
        key="A-0001",
    ),
    AuditRow(
        seq=2,
        title="关于提升企业管理水平的探讨",
        applicant="天津某科技有限公司",
        uscc="91120116XXXXXXXX",
        district="滨海新区",
        chain="其他",
        project_type="提质增效",
        recommending_unit="滨海新区市场监督管理局",
        findings_text="统一社会信用代码位数不对\n项目名称含“关于…/探讨”",
        unit_opinion="同意推荐。",
        suggested_decision="不通过",
        key="A-0002",
    ),
    AuditRow(
        seq=3,
        title="提高锂电池极片涂布面密度一致性",
        applicant="天津力神电池股份有限公司",
        uscc="91120116103071000K",
        district="滨海新区",
        chain="新能源",
        project_type="提质增效",
        recommending_unit="滨海新区市场监督管理局",
        unit_opinion="同意推荐。",
        suggested_decision="通过",
        key="A-0003",
    ),
]


def validations(ws: Worksheet) -> list:
    return list(ws.data_validations.dataValidation)


def test_audit_workbook(tmp_path: Path) -> None:
    path = write_audit_workbook(tmp_path / "audit.xlsx", 2025, AUDIT)
    wb = load_workbook(path)
    ws = wb["立项审核"]
    assert ws["A1"].value == "2025年天津市质量攻关项目立项审核表"
    headers = [c.value for c in ws[2]]
    for label in ("项目名称", "审核发现", "推荐单位意见", "建议结论", "决定", "理由", "申报编号"):
        assert label in headers
    decision_col = headers.index("决定") + 1
    assert [ws.cell(row=r, column=2).value for r in (3, 4, 5)] == [a.title for a in AUDIT]
    assert ws.cell(row=4, column=headers.index("审核发现") + 1).value.count("\n") == 1
    assert all(ws.cell(row=r, column=decision_col).value is None for r in (3, 4, 5))
    dv, kind = validations(ws)
    assert dv.type == "list"
    assert dv.formula1 == '"通过,不通过"'
    assert str(dv.sqref) == "L3:L5"
    assert kind.formula1 == '"问题解决型,创新型"'  # 课题类型: staff may change a project's kind
    assert str(kind.sqref) == "O3:O5" and headers[14] == "课题类型"
    assert ws.freeze_panes == "C3"

    stats = wb["按推荐单位统计"]
    rows = list(stats.iter_rows(min_row=3, values_only=True))
    by_unit = {r[1]: r for r in rows if r[1]}
    assert by_unit["滨海新区市场监督管理局"][2:5] == (2, 1, 1)
    assert by_unit["北辰区市场监督管理局"][2:5] == (1, 1, 0)
    assert str(by_unit["北辰区市场监督管理局"][5]).startswith("=COUNTIFS('立项审核'!$H$3:$H$5")
    assert rows[-1][0] == "合计"
    assert ws.column_dimensions["N"].hidden  # 申报编号, the key the import matches on


def test_audit_workbook_read_back_after_the_safety_checks(tmp_path: Path) -> None:
    rows = [r.model_copy(update={"key": str(10 + r.seq)}) for r in AUDIT]
    path = write_audit_workbook(tmp_path / "audit.xlsx", 2025, rows)
    assert read_audit_workbook(path) == []  # nothing decided yet
    wb = load_workbook(path)
    ws = wb["立项审核"]
    ws["L3"], ws["L4"], ws["M4"] = "通过", "不通过", "目标不可量化"
    ws["N5"] = 13.0  # a key Excel turned into a number
    ws["L5"] = "通过"
    ws["O3"] = "创新型"  # staff decide the project's kind (课题类型)
    wb.save(path)
    decided = read_audit_workbook(path)
    assert [tuple(d) for d in decided] == [
        (11, "通过", "", "创新型"),
        (12, "不通过", "目标不可量化", ""),
        (13, "通过", "", ""),
    ]
    ws["O4"] = "攻关型"
    wb.save(path)
    with pytest.raises(AuditWorkbookError) as err:
        read_audit_workbook(path)
    assert "第4行 O列（课题类型）“攻关型”无效" in str(err.value)
    ws["O4"] = None
    ws["L5"], ws["M3"], ws["L3"] = "同意", None, "不通过"
    wb.save(path)
    with pytest.raises(AuditWorkbookError) as err:
        read_audit_workbook(path)
    assert "有2处错误" in str(err.value)
    assert "第3行 M列（理由）为空" in str(err.value) and "第5行 L列（决定）“同意”无效" in str(
        err.value
    )
    macro = tmp_path / "audit.xlsm"
    macro.write_bytes(path.read_bytes())
    with pytest.raises(UnreadableFile, match="含宏"):
        read_audit_workbook(macro)


def test_summary_workbook(tmp_path: Path) -> None:
    rows = [
        SummaryRow(
            seq=str(i),
            title=a.title,
            applicant=a.applicant,
            uscc=a.uscc,
            district=a.district,
            chain=a.chain,
            project_type=a.project_type,
            joint="否",
            project_lead="张伟",
            phone="13802012345",
            recommending_unit=a.recommending_unit,
        )
        for i, a in enumerate(AUDIT, start=7)
    ]
    path = write_summary_workbook(tmp_path / "summary.xlsx", 2025, rows)
    wb = load_workbook(path)
    ws = wb["立项申报汇总"]
    assert ws["A1"].value == "2025年天津市质量攻关项目立项申报汇总表"
    assert [c.value for c in ws[2]] == [
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
    assert [ws.cell(row=r, column=1).value for r in (3, 4, 5)] == [1, 2, 3]  # renumbered
    assert ws["J3"].value == "13802012345" and ws["J3"].number_format == "@"
    counts = {r[1]: r[2] for r in wb["按推荐单位"].iter_rows(min_row=3, values_only=True)}
    assert counts["滨海新区市场监督管理局"] == 2
    assert counts[None] == 3  # the total row (merged A:B) holds 3
    assert set(wb.sheetnames) >= {"按产业链", "按所属区"}


def test_intake_feedback(tmp_path: Path) -> None:
    finding = Finding(
        code="uscc.length",
        severity=Severity.ERROR,
        field="统一社会信用代码",
        message="统一社会信用代码应为18位，实际为16位",
        file="天津某科技有限公司-申报书.docx",
    )
    rows = [
        FeedbackRow.from_finding(
            1,
            finding,
            title=AUDIT[1].title,
            applicant=AUDIT[1].applicant,
            fix="按营业执照填写18位统一社会信用代码",
        ),
        FeedbackRow(
            seq=2,
            file="天津某科技有限公司-申报书.docx",
            title=AUDIT[1].title,
            severity=Severity.WARNING,
            field="项目名称",
            message="项目名称含“关于…/探讨”",
            fix="按“动词+对象+特性”改写，如“提高××一次交检合格率”",
        ),
    ]
    path = write_intake_feedback(
        tmp_path / "fb.xlsx",
        "滨海新区市场监督管理局",
        rows,
        batch_label="第1批",
        resubmit_by=dt.date(2025, 4, 18),
    )
    ws = load_workbook(path).active
    assert ws["A1"].value == "滨海新区市场监督管理局立项申报材料审核意见（第1批）"
    assert [ws.cell(row=r, column=5).value for r in (3, 4)] == ["须修改", "请核实"]
    assert ws["H3"].value == "按营业执照填写18位统一社会信用代码"
    note = ws.cell(row=6, column=1).value
    assert "共发现问题2项" in note and "2025年4月18日前重新报送" in note


SESSIONS = [
    TrainingSession(
        key="S1",
        name="第一期质量攻关培训班",
        date=dt.date(2025, 6, 10),
        time="9:00-12:00",
        place="天津市市场监管委培训中心",
    ),
    TrainingSession(key="S2", name="第二期质量攻关培训班", date=dt.date(2025, 6, 17)),
]
ROSTER = [
    RosterRow(
        session_key="S1",
        person_key="P001",
        name="张伟",
        unit="天津市金桥焊材集团股份有限公司",
        role="项目负责人",
        project=AUDIT[0].title,
        phone="13802012345",
    ),
    RosterRow(
        session_key="S1",
        person_key="P002",
        name="李娜",
        unit="天津市金桥焊材集团股份有限公司",
        role="质量负责人",
        project=AUDIT[0].title,
    ),
    RosterRow(
        session_key="S2",
        person_key="P003",
        name="王强",
        unit="天津力神电池股份有限公司",
        role="技术骨干",
        project=AUDIT[2].title,
    ),
]


def test_training_roster(tmp_path: Path) -> None:
    path = write_training_roster(tmp_path / "roster.xlsx", 2025, SESSIONS, ROSTER)
    wb = load_workbook(path)
    assert wb.sheetnames == ["场次汇总", "第一期质量攻关培训班", "第二期质量攻关培训班"]
    s1 = wb["第一期质量攻关培训班"]
    assert "2025年6月10日 9:00-12:00" in s1["A1"].value
    assert [c.value for c in s1[2]][-1] == "签到"
    assert [s1.cell(row=r, column=2).value for r in (3, 4)] == ["张伟", "李娜"]
    assert s1.cell(row=5, column=2).value is None
    overview = list(wb["场次汇总"].iter_rows(min_row=3, values_only=True))
    assert [r[-1] for r in overview] == [2, 1]


def test_training_roster_unknown_session(tmp_path: Path) -> None:
    bad = ROSTER[0].model_copy(update={"session_key": "S9"})
    with pytest.raises(ValueError, match="S9"):
        write_training_roster(tmp_path / "r.xlsx", 2025, SESSIONS, [bad])


def test_signin_round_trip(tmp_path: Path) -> None:
    path = write_signin_sheet(tmp_path / "signin.xlsx", SESSIONS[0], ROSTER)
    wb = load_workbook(path)
    ws = wb["签到表"]
    assert wb["_meta"].sheet_state == "hidden"
    assert [ws.cell(row=r, column=2).value for r in (3, 4)] == ["P001", "P002"]
    [dv] = validations(ws)
    assert dv.formula1 == '"已签到,缺席,请假"'
    ws["G3"] = "已签到"
    ws["G4"] = "请假"
    wb.save(path)
    assert read_signin_sheet(path) == ("S1", {"P001": "已签到", "P002": "请假"})

    ws["G4"] = "来了"
    wb.save(path)
    with pytest.raises(ValueError, match="P002"):
        read_signin_sheet(path)


def test_signin_marked_by_the_demo_reads_back_in_excel_and_here(tmp_path: Path) -> None:
    from simulation.middle import mark_signin_sheet

    sheet = write_signin_sheet(tmp_path / "signin.xlsx", SESSIONS[0], ROSTER)
    marked = mark_signin_sheet(
        sheet, tmp_path / "marked.xlsx", lambda key: "缺席" if key == "P002" else "已签到"
    )
    wb = load_workbook(marked)  # still a valid workbook for Excel/openpyxl
    ws = wb["签到表"]
    assert [ws.cell(row=r, column=7).value for r in (3, 4)] == ["已签到", "缺席"]
    assert ws["G3"].fill.fgColor.rgb == ws["H3"].fill.fgColor.rgb  # input cells keep their shade
    assert [dv.formula1 for dv in validations(ws)] == ['"已签到,缺席,请假"']
    assert wb["_meta"].sheet_state == "hidden"
    assert read_signin_sheet(marked) == ("S1", {"P001": "已签到", "P002": "缺席"})
    # A sheet saved by another program, the keys not as inline strings: read as Excel shows them.
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(sheet) as z:
        xml = z.read(part).decode()
    other = re.sub(
        r'(<c r="B\d+"[^>]*?) t="inlineStr"><is><t>([^<]*)</t></is>', r'\1 t="str"><v>\2</v>', xml
    )
    assert other.count('t="str"') == 3  # the header and two people
    resaved = tmp_path / "resaved.xlsx"
    resaved.write_bytes(patched_zip(sheet.read_bytes(), {part: other.encode()}))
    wanted = {"P001": "请假", "P002": "已签到"}
    again = mark_signin_sheet(resaved, tmp_path / "again.xlsx", wanted.__getitem__)
    assert read_signin_sheet(again) == ("S1", wanted)


def test_signin_marked_where_the_mark_cells_are_missing(tmp_path: Path) -> None:
    """A sheet re-saved without the empty 签到情况 cells: the marks go in at their columns."""
    from simulation.middle import mark_signin_sheet

    sheet = write_signin_sheet(tmp_path / "signin.xlsx", SESSIONS[0], ROSTER)
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(sheet) as z:
        xml = z.read(part).decode()
    bare = re.sub(r'<c r="G[34]"[^>]*?(?:/>|>.*?</c>)', "", xml, flags=re.DOTALL)
    assert bare != xml
    sheet.write_bytes(patched_zip(sheet.read_bytes(), {part: bare.encode()}))
    marked = mark_signin_sheet(sheet, tmp_path / "marked.xlsx", lambda key: "请假")
    ws = load_workbook(marked)["签到表"]
    assert [[c.value for c in ws[r]][5:8] for r in (3, 4)] == [
        [ROSTER[0].project, "请假", None],
        [ROSTER[1].project, "请假", None],
    ]
    assert read_signin_sheet(marked) == ("S1", {"P001": "请假", "P002": "请假"})


def test_signin_reader_refuses_unsafe_or_foreign_files(tmp_path: Path) -> None:
    from documents.safety import UnreadableFile

    sheet = write_signin_sheet(tmp_path / "signin.xlsx", SESSIONS[0], ROSTER)
    truncated = tmp_path / "截断.xlsx"
    truncated.write_bytes(sheet.read_bytes()[:-200])
    with pytest.raises(UnreadableFile, match="「截断.xlsx」文件不完整或已损坏，请重新保存后提交"):
        read_signin_sheet(truncated)
    other = Workbook()
    other.active.title = "签到表"
    other.save(tmp_path / "别的表.xlsx")
    with pytest.raises(ValueError, match="缺少 _meta 工作表，不是本系统生成的表格"):
        read_signin_sheet(tmp_path / "别的表.xlsx")
    renamed = load_workbook(sheet)
    renamed["签到表"]["B2"] = "编号"
    renamed.save(tmp_path / "改了表头.xlsx")
    with pytest.raises(ValueError, match="第2行表头缺少“人员编号”列"):
        read_signin_sheet(tmp_path / "改了表头.xlsx")


def test_checkin_request_round_trip(tmp_path: Path) -> None:
    request = CheckinRequest(
        project_key="2025-0001",
        title=AUDIT[0].title,
        applicant=AUDIT[0].applicant,
        recommending_unit=AUDIT[0].recommending_unit,
        period="2025年第三季度",
        due=dt.date(2025, 7, 15),
        indicator="焊缝气孔不良率",
        indicator_unit="%",
        baseline="3.2",
        target="1.0",
    )
    path = write_checkin_request(tmp_path / "checkin.xlsx", request)
    wb = load_workbook(path)
    ws = wb["进度报告"]
    assert ws["A1"].value == "天津市质量攻关项目进度报告（2025年第三季度）"
    labels = [ws.cell(row=r, column=1).value for r in range(2, 2 + len(CHECKIN_LABELS))]
    assert labels == list(CHECKIN_LABELS.values())
    kinds = {(dv.type, dv.formula1, dv.formula2) for dv in validations(ws)}
    assert ("list", '"计划,执行,检查,处理"', None) in kinds
    assert ("decimal", "0", "100") in kinds
    assert ws.protection.sheet

    row = {label: r for r, label in enumerate(labels, start=2)}
    ws.cell(row=row["当前PDCA阶段"], column=2, value="执行")
    ws.cell(row=row["完成进度（%）"], column=2, value=45)
    ws.cell(row=row["当前值"], column=2, value="2.1")
    ws.cell(row=row["存在问题"], column=2, value="保护气体流量波动")
    wb.save(path)
    back = read_checkin_response(path)
    assert back["project_key"] == "2025-0001"
    assert back["phase"] == "执行" and back["percent"] == 45
    assert back["target"] == "1.0" and back["current"] == "2.1"
    assert back["indicator"] == "焊缝气孔不良率（%）"


def checkin_request(tmp_path: Path) -> Path:
    return write_checkin_request(
        tmp_path / "checkin.xlsx",
        CheckinRequest(
            project_key="TJZLGG-2025-0007",
            title=AUDIT[0].title,
            applicant=AUDIT[0].applicant,
            recommending_unit=AUDIT[0].recommending_unit,
            period="2025年6月",
            due=dt.date(2025, 7, 11),
            indicator="焊缝气孔不良率",
        ),
    )


def test_checkin_filled_by_the_demo_reads_back_in_excel_and_here(tmp_path: Path) -> None:
    from simulation.middle import fill_checkin

    returned = fill_checkin(
        checkin_request(tmp_path),
        tmp_path / "returned.xlsx",
        {
            "phase": "检查",
            "percent": 62.5,
            "current": "1.8% <目标 1.0%> & 稳定",
            "reported_on": dt.date(2025, 7, 3),
        },
    )
    ws = load_workbook(returned)["进度报告"]  # still a valid workbook for Excel/openpyxl
    assert ws["B8"].value == "检查" and ws["B9"].value == 62.5
    assert ws["B19"].value == dt.datetime(2025, 7, 3)
    assert ws["B8"].fill.fgColor.rgb == ws["B14"].fill.fgColor.rgb  # input cells keep their shade
    back = read_checkin_response(returned)
    assert back["project_key"] == "TJZLGG-2025-0007" and back["period"] == "2025年6月"
    assert back["phase"] == "检查" and back["percent"] == 62.5
    assert back["current"] == "1.8% <目标 1.0%> & 稳定"
    assert back["reported_on"] == dt.datetime(2025, 7, 3)  # a date cell reads as a date
    assert back["problems"] is None


def test_checkin_reader_refuses_unsafe_or_foreign_files(tmp_path: Path) -> None:
    from documents.safety import UnreadableFile

    request = checkin_request(tmp_path)
    truncated = tmp_path / "截断.xlsx"
    truncated.write_bytes(request.read_bytes()[:-200])
    with pytest.raises(UnreadableFile, match="「截断.xlsx」文件不完整或已损坏，请重新保存后提交"):
        read_checkin_response(truncated)
    legacy = tmp_path / "旧格式.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(UnreadableFile, match="旧版 Word/Excel 格式.*另存为” .xlsx"):
        read_checkin_response(legacy)
    other = Workbook()
    other.active.title = "Sheet1"
    other.save(tmp_path / "别的表.xlsx")
    with pytest.raises(ValueError, match="没有“进度报告”工作表"):
        read_checkin_response(tmp_path / "别的表.xlsx")


def test_visit_coverage(tmp_path: Path) -> None:
    rows = [
        VisitCoverageRow(
            recommending_unit="北辰区市场监督管理局",
            projects=4,
            visited_projects=3,
            visits=5,
            last_visit=dt.date(2025, 7, 2),
            not_visited=["提高××一次交检合格率"],
        ),
        VisitCoverageRow(recommending_unit="天津市汽车工业协会", projects=2, visited_projects=2),
    ]
    path = write_visit_coverage(tmp_path / "cov.xlsx", rows, year=2025, as_of=dt.date(2025, 7, 31))
    ws = load_workbook(path).active
    assert ws["A1"].value == "2025年天津市质量攻关跟踪服务走访覆盖情况（截至2025年7月31日）"
    assert ws["F3"].value == pytest.approx(0.75) and ws["F3"].number_format == "0.0%"
    assert ws["E3"].value == 1
    assert ws["I3"].value == "提高××一次交检合格率"
    assert (
        ws["A5"].value == "合计" and ws["C5"].value == 6 and ws["F5"].value == pytest.approx(5 / 6)
    )


CRITERIA = [
    ("topic", "选题", 10),
    ("analysis", "现状调查与原因分析", 20),
    ("measures", "对策与实施", 25),
    ("effect", "效果", 25),
    ("standard", "标准化与推广", 10),
    ("presentation", "成果报告与发表", 10),
]
RESULTS = [
    ("R001", "降低高强钢气保焊丝焊缝气孔不良率", "天津市金桥焊材集团股份有限公司"),
    ("R002", "车用燃料全自动进气阀沉积物试验机研制", "中国汽车技术研究中心有限公司"),
]
EXPERTS = ["刘建国", "陈静", "王海燕", "孙立", "周明"]


def test_criterion_header() -> None:
    assert criterion_header("效果", 25) == "效果（25分）"
    assert criterion_header("选题", 7.5) == "选题（7.5分）"


def test_score_sheet(tmp_path: Path) -> None:
    path = write_score_sheet(tmp_path / "score.xlsx", "第一评定组", CRITERIA, RESULTS, EXPERTS)
    wb = load_workbook(path)
    assert wb.sheetnames == [*EXPERTS, "_meta"]
    ws = wb["陈静"]
    assert ws["A1"].value == "第一评定组评分表（专家：陈静）"
    headers = [c.value for c in ws[2]]
    assert headers[:4] == ["序号", "成果编号", "成果名称", "完成单位"]
    assert headers[4:10] == [
        "选题（10分）",
        "现状调查与原因分析（20分）",
        "对策与实施（25分）",
        "效果（25分）",
        "标准化与推广（10分）",
        "成果报告与发表（10分）",
    ]
    assert headers[10] == "合计（100分）"
    assert [ws.cell(row=r, column=2).value for r in (3, 4)] == ["R001", "R002"]
    assert ws["K3"].value == '=IF(COUNT(E3:J3)=0,"",SUM(E3:J3))'
    ranges = {
        str(dv.sqref): (dv.type, dv.operator, dv.formula1, dv.formula2) for dv in validations(ws)
    }
    assert ranges["E3:E4"] == ("decimal", "between", "0", "10")
    assert ranges["H3:H4"] == ("decimal", "between", "0", "25")
    assert len(ranges) == len(CRITERIA)


def test_score_sheet_round_trip(tmp_path: Path) -> None:
    path = write_score_sheet(tmp_path / "score.xlsx", "第一评定组", CRITERIA, RESULTS, EXPERTS)
    wb = load_workbook(path)
    for col, value in zip("EFGHIJ", (9, 18, 22.5, 23, 8, 9), strict=True):
        wb["刘建国"][f"{col}3"] = value
    wb["刘建国"]["L3"] = "效果数据翔实"
    wb.save(path)
    book = read_score_sheet(path)
    assert book.panel == "第一评定组"
    assert [(c.key, c.column, c.max_points) for c in book.criteria][:2] == [
        ("topic", "E", 10),
        ("analysis", "F", 20),
    ]
    rows = [r for sheet in book.sheets for r in sheet.rows]
    assert len(rows) == len(EXPERTS) * len(RESULTS)
    first = next(r for r in rows if r.expert == "刘建国" and r.result_key == "R001")
    assert first.scores == {
        "topic": 9,
        "analysis": 18,
        "measures": 22.5,
        "effect": 23,
        "standard": 8,
        "presentation": 9,
    }
    assert first.remark == "效果数据翔实"
    assert (first.sheet, first.row) == ("刘建国", 3)
    blank = next(r for r in rows if r.expert == "周明" and r.result_key == "R002")
    assert set(blank.scores.values()) == {None}

    # A score out of range is read as typed; the one check (domain.scoring) names its cell.
    wb["陈静"]["H4"] = 30
    wb.save(path)
    book = read_score_sheet(path)
    sheet = next(s for s in book.sheets if s.sheet == "陈静")
    columns = {
        c.column: Criterion(key=c.key, name=c.name, max_points=c.max_points) for c in book.criteria
    }
    cells = [
        (r.row, r.result_key, c.column, r.scores[c.key]) for r in sheet.rows for c in book.criteria
    ]
    _, problems = check_expert_sheet("score.xlsx", "陈静", "P001", cells, columns, ["R001", "R002"])
    assert any("工作表「陈静」第4行 H列" in p and "30 超出允许范围 0～25 分" in p for p in problems)


def test_score_sheet_is_checked_before_it_is_read(tmp_path: Path) -> None:
    path = write_score_sheet(tmp_path / "score.xlsx", "第一评定组", CRITERIA, RESULTS, EXPERTS)
    macro = tmp_path / "score.xlsm"
    macro.write_bytes(path.read_bytes())
    with pytest.raises(UnreadableFile, match="含宏"):
        read_score_sheet(macro)
    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    with pytest.raises(ValueError, match="_meta"):
        read_score_sheet(other)


def test_score_sheet_duplicate_expert_names(tmp_path: Path) -> None:
    path = write_score_sheet(
        tmp_path / "s.xlsx", "第二评定组", CRITERIA[:2], RESULTS[:1], ["王芳", "王芳"]
    )
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == ["王芳", "王芳(2)"]
    book = read_score_sheet(path)
    assert [s.sheet for s in book.sheets] == ["王芳", "王芳(2)"]
    assert {r.expert for s in book.sheets for r in s.rows} == {"王芳"}
    assert sum(len(s.rows) for s in book.sheets) == 2


def test_intake_feedback_counts_only_problems_and_fills_the_fix(tmp_path) -> None:
    """审核意见: 「形式审查通过，已受理」 is a note, not a problem; every problem has its 修改要求."""
    from openpyxl import load_workbook

    from documents.reports import write_intake_feedback
    from documents.rows import FeedbackRow
    from domain.models import Finding, Severity

    accepted = Finding(
        code="FORM_ACCEPTED", severity=Severity.INFO, message="形式审查通过，已受理。"
    )
    wrong = Finding(
        code="USCC_INVALID",
        severity=Severity.ERROR,
        field="统一社会信用代码",
        message="统一社会信用代码无效，请核对营业执照后填写",
    )
    rows = [FeedbackRow.from_finding(1, accepted), FeedbackRow.from_finding(2, wrong)]
    path = write_intake_feedback(tmp_path / "审核意见.xlsx", "天津市焊接协会", rows)
    ws = load_workbook(path).active
    assert [ws.cell(row=r, column=8).value for r in (3, 4)] == ["无需修改", "请核对营业执照后填写"]
    assert ws.cell(row=4, column=7).value == "统一社会信用代码无效。"
    note = "".join(str(c.value) for row in ws.iter_rows(min_row=5) for c in row if c.value)
    assert "共发现问题1项" in note and "须修改”1项" in note
