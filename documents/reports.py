"""The commission's working workbooks: audit, merged summary, intake feedback, training rosters
and sign-in sheets, progress-report requests, visit coverage and expert score sheets.

Sheets that come back to the system (audit decisions, sign-in, progress report, score sheets)
carry their keys in the sheet itself (a key column or a hidden ``_meta`` sheet), so that the
matching readers here can read them back without guessing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from documents.docx_style import arabic_date
from documents.rows import (
    DECISIONS,
    PDCA_PHASES,
    SIGNIN_MARKS,
    AuditRow,
    CheckinRequest,
    ExpertScoreSheet,
    FeedbackRow,
    RosterRow,
    ScoreCriterion,
    ScoreSheetRow,
    ScoreWorkbook,
    SummaryRow,
    TrainingSession,
    VisitCoverageRow,
)
from documents.xlsx_reader import LightWorkbook, column_index
from documents.xlsx_style import (
    FIRST_DATA_ROW,
    HEADER_ROW,
    INPUT_FILL,
    Column,
    add_decimal_validation,
    add_list_validation,
    new_workbook,
    safe_sheet_title,
    save_workbook,
    setup_print,
    style_data_cell,
    style_title,
    style_total_row,
    write_table,
)
from domain.audit import application_id_from_number
from domain.evaluation import EXPERT_IN_SHEET
from domain.rubrics import KINDS

__all__ = [
    "AUDIT_SHEET",
    "AuditDecisionRow",
    "AuditWorkbookError",
    "CHECKIN_LABELS",
    "CHECKIN_SHEET",
    "META_SHEET",
    "SIGNIN_MARK_COL",
    "SIGNIN_SHEET",
    "criterion_header",
    "read_audit_workbook",
    "read_checkin_response",
    "read_score_sheet",
    "read_signin_sheet",
    "write_audit_workbook",
    "write_calendar_file",
    "write_checkin_request",
    "write_intake_feedback",
    "write_score_sheet",
    "write_signin_sheet",
    "write_summary_workbook",
    "write_training_roster",
    "write_visit_coverage",
]

CAMPAIGN = "天津市质量攻关"
META_SHEET = "_meta"
AUDIT_SHEET = "立项审核"


def _add_meta(wb: Workbook, pairs: Sequence[Sequence[object]]) -> Worksheet:
    """A hidden sheet of key/value rows that the readers use."""
    ws = wb.create_sheet(META_SHEET)
    for row in pairs:
        ws.append(list(row))
    ws.sheet_state = "hidden"
    return ws


def _note(ws: Worksheet, row: int, ncols: int, text: str) -> None:
    ws.cell(row=row, column=1, value=text)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    cell = ws.cell(row=row, column=1)
    cell.font = Font(name="宋体", size=11)
    cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.row_dimensions[row].height = 32


# ---------------------------------------------------------------------------------------------
# 1. 立项审核表


AUDIT_COLUMNS = (
    Column("序号", 6),
    Column("项目名称", 34, align="left"),
    Column("申报单位", 28, align="left"),
    Column("统一社会信用代码", 21),
    Column("所属区", 9),
    Column("所属产业链", 11),
    Column("项目类型", 10),
    Column("推荐单位", 22, align="left"),
    Column("审核发现", 42, align="left"),
    Column("推荐单位意见", 24, align="left"),
    Column("建议结论", 10),
    Column("决定", 10, input=True),
    Column("理由", 26, align="left", input=True),
    Column("申报编号", 22),  # SB2025-DIST-03-0017, whole on one line
    Column("课题类型", 12, input=True),  # 问题解决型 / 创新型: which rubric scores the result
    Column("优先推荐", 16, align="left"),  # 联合申报 / 链主牵头
)
AUDIT_KIND_COL = 15
AUDIT_DECISION_COL = 12
AUDIT_SUGGESTION_COL = 11
AUDIT_UNIT_COL = 8
AUDIT_KEY_COL = 14  # 申报编号: hidden, the key the import matches on


EXCEPTION_COLUMNS = (
    Column("例外编号", 10),
    Column("推荐单位", 28, align="left"),
    Column("阶段", 10),
    Column("准许报送至", 18),
    Column("批准人", 12),
    Column("批准时间", 18),
    Column("理由", 36, align="left"),
    Column("撤销情况", 30, align="left"),
)


def write_audit_workbook(
    path: Path | str,
    year: int,
    rows: Sequence[AuditRow],
    kinds: Sequence[str] = KINDS,
    exceptions: Sequence[Sequence[object]] = (),
) -> Path:
    """立项审核表: every application with findings, unit opinion, suggested and empty decision.

    Sheet "立项审核" (决定 is a 通过/不通过 drop-down, 理由 free text, 申报编号 the key the
    import matches on) and sheet "按推荐单位统计" (counts per recommending unit; the decision
    counts are COUNTIFS formulas so they follow what the commission fills in).
    """
    wb = new_workbook()
    ws = wb.active
    ws.title = AUDIT_SHEET
    values = [
        [
            r.seq,
            r.title,
            r.applicant,
            r.uscc,
            r.district,
            r.chain,
            r.project_type,
            r.recommending_unit,
            r.findings_text,
            r.unit_opinion,
            r.suggested_decision,
            r.decision or None,
            r.reason or None,
            r.key,
            r.kind or None,
            r.priority or None,
        ]
        for r in rows
    ]
    last = write_table(ws, f"{year}年{CAMPAIGN}项目立项审核表", AUDIT_COLUMNS, values)
    ws.freeze_panes = "C3"
    ws.column_dimensions[get_column_letter(AUDIT_KEY_COL)].hidden = True
    add_list_validation(
        ws, AUDIT_DECISION_COL, FIRST_DATA_ROW, max(last, FIRST_DATA_ROW), DECISIONS
    )
    add_list_validation(ws, AUDIT_KIND_COL, FIRST_DATA_ROW, max(last, FIRST_DATA_ROW), kinds)
    _audit_stats_sheet(wb, year, rows, last)
    if exceptions:  # 截止后例外: who let which unit hand in after the deadline, and why
        sheet = wb.create_sheet("截止后例外")
        write_table(sheet, f"{year}年{CAMPAIGN}截止后例外", EXCEPTION_COLUMNS, exceptions)
    return save_workbook(wb, path)


def _audit_stats_sheet(wb: Workbook, year: int, rows: Sequence[AuditRow], last: int) -> None:
    """Sheet "按推荐单位统计": suggested counts per unit, decided counts as COUNTIFS formulas
    over the 立项审核 sheet's rows up to `last`."""
    stats = wb.create_sheet("按推荐单位统计")
    units: dict[str, Counter[str]] = {}
    for r in rows:
        counter = units.setdefault(r.recommending_unit, Counter())
        counter["total"] += 1
        counter[r.suggested_decision] += 1
    first, lastr = FIRST_DATA_ROW, max(last, FIRST_DATA_ROW)
    u = get_column_letter(AUDIT_UNIT_COL)
    d = get_column_letter(AUDIT_DECISION_COL)
    unit_range = f"'{AUDIT_SHEET}'!${u}${first}:${u}${lastr}"
    decision_range = f"'{AUDIT_SHEET}'!${d}${first}:${d}${lastr}"
    stat_rows: list[list[object]] = []
    for i, (unit, counter) in enumerate(units.items(), start=1):  # rows come in listing order
        r = FIRST_DATA_ROW + i - 1
        passed = f'=COUNTIFS({unit_range},$B{r},{decision_range},"{DECISIONS[0]}")'
        failed = f'=COUNTIFS({unit_range},$B{r},{decision_range},"{DECISIONS[1]}")'
        stat_rows.append(
            [
                i,
                unit,
                counter["total"],
                counter[DECISIONS[0]],
                counter[DECISIONS[1]],
                passed,
                failed,
                f"=C{r}-F{r}-G{r}",
            ]
        )
    stat_columns = [
        Column("序号", 6),
        Column("推荐单位", 30, align="left"),
        Column("申报项目数", 12),
        Column("建议通过", 11),
        Column("建议不通过", 11),
        Column("决定通过", 11, formula=True),
        Column("决定不通过", 11, formula=True),
        Column("待决定", 10, formula=True),
    ]
    stats_last = write_table(
        stats, f"{year}年{CAMPAIGN}立项审核情况统计（按推荐单位）", stat_columns, stat_rows
    )
    total = stats_last + 1
    stats.cell(row=total, column=1, value="合计")
    stats.merge_cells(start_row=total, start_column=1, end_row=total, end_column=2)
    for col in range(3, 9):
        letter = get_column_letter(col)
        stats.cell(
            row=total, column=col, value=f"=SUM({letter}{FIRST_DATA_ROW}:{letter}{stats_last})"
        )
    style_total_row(stats, total, len(stat_columns))


class AuditDecisionRow(NamedTuple):
    """One decided row of a filled 立项审核表."""

    application_id: int  # 申报编号
    decision: str  # 决定: 通过 / 不通过
    reason: str  # 理由
    kind: str = ""  # 课题类型 as staff left it ("" in workbooks without the column)


class AuditWorkbookError(ValueError):
    """A filled 立项审核表 that cannot be read; the message names the file, every bad row, the
    column and the fix."""


AUDIT_READ_COLUMNS = ("决定", "理由", "申报编号")


def read_audit_workbook(path: Path | str, kinds: Sequence[str] = KINDS) -> list[AuditDecisionRow]:
    """决定/理由 of a filled 立项审核表; rows left blank are skipped (still undecided).

    The file passes the safety checks first (``UnreadableFile`` names the file and the fix;
    ``FileNotFoundError`` is the caller's to word); any bad row raises
    :class:`AuditWorkbookError` naming every bad row, so that nothing is stored from it.
    """
    wb = LightWorkbook(path)
    try:
        if AUDIT_SHEET not in wb.sheetnames:
            raise AuditWorkbookError(
                f"文件 {path} 中没有“{AUDIT_SHEET}”工作表：请使用系统生成的立项审核表填写决定。"
            )
        rows = wb.rows(AUDIT_SHEET, min_row=HEADER_ROW)
    finally:
        wb.close()
    header = rows.get(HEADER_ROW, ())
    headers = [str(h).strip() if h is not None else "" for h in header]
    missing = [h for h in AUDIT_READ_COLUMNS if h not in headers]
    if missing:
        raise AuditWorkbookError(
            f"文件 {path} 的“{AUDIT_SHEET}”工作表缺少列：{'、'.join(missing)}。"
            "请勿删除或改名表头，使用系统生成的立项审核表重新填写。"
        )
    columns = tuple(headers.index(h) for h in AUDIT_READ_COLUMNS)
    kind_col = headers.index("课题类型") if "课题类型" in headers else None
    decisions: list[AuditDecisionRow] = []
    problems: list[str] = []
    for number, row in sorted(rows.items()):
        if number < FIRST_DATA_ROW:
            continue
        values = list(row) + [None] * (len(headers) - len(row))
        result = _audit_decision(number, values, columns)
        if isinstance(result, str):
            problems.append(result)
        elif result is not None and kind_col is not None:
            kind = str(values[kind_col] or "").strip()
            if kind and kind not in kinds:
                problems.append(
                    f"第{number}行 {get_column_letter(kind_col + 1)}列（课题类型）“{kind}”无效："
                    f"请从下拉列表选择{'或'.join(f'“{k}”' for k in kinds)}"
                )
            decisions.append(result._replace(kind=kind))
        elif result is not None:
            decisions.append(result)
    if problems:
        raise AuditWorkbookError(
            f"文件 {path} 有{len(problems)}处错误，未保存任何决定：" + "；".join(problems)
        )
    return decisions


def _audit_decision(
    number: int, values: list[object], columns: tuple[int, int, int]
) -> AuditDecisionRow | str | None:
    """One row of the 立项审核表: its decision, the problem (Chinese) or None when undecided."""
    c_dec, c_reason, c_key = columns
    key, decision, reason = values[c_key], values[c_dec], values[c_reason]
    decision_text = str(decision).strip() if decision is not None else ""
    reason_text = str(reason).strip() if reason is not None else ""
    if key is None or str(key).strip() == "":
        if decision_text:
            return (
                f"第{number}行 {get_column_letter(c_key + 1)}列（申报编号）为空：请勿删除申报编号，"
                "可从原审核表复制该行"
            )
        return None
    if not decision_text:
        return None
    key_text = str(key).strip().removesuffix(".0")
    application_id = application_id_from_number(key_text)
    if application_id is None:
        return (
            f"第{number}行 {get_column_letter(c_key + 1)}列（申报编号）“{key_text}”无效："
            "应为系统生成的编号（如 SB2025-DIST-03-0017），请从原审核表复制"
        )
    if decision_text not in DECISIONS:
        return (
            f"第{number}行 {get_column_letter(c_dec + 1)}列（决定）“{decision_text}”无效："
            "请从下拉列表选择“通过”或“不通过”"
        )
    if decision_text == DECISIONS[1] and not reason_text:
        return (
            f"第{number}行 {get_column_letter(c_reason + 1)}列（理由）为空：不通过的项目须填写理由"
        )
    return AuditDecisionRow(application_id, decision_text, reason_text)


# ---------------------------------------------------------------------------------------------
# 3. merged summary and intake feedback

SUMMARY_COLUMNS = (
    Column("序号", 6),
    Column("项目名称", 34, align="left"),
    Column("申报单位", 28, align="left"),
    Column("统一社会信用代码", 21),
    Column("所属区", 9),
    Column("所属产业链", 11),
    Column("项目类型", 10),
    Column("是否联合申报", 8),
    Column("项目负责人", 10),
    Column("联系电话", 14),
    Column("推荐单位", 24, align="left"),
    Column("备注", 18, align="left"),
)


def _count_sheet(wb: Workbook, title: str, heading: str, label: str, counts: Counter[str]) -> None:
    ws = wb.create_sheet(title)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [[i, name or "（未填）", n] for i, (name, n) in enumerate(ordered, start=1)]
    last = write_table(
        ws,
        heading,
        [Column("序号", 6), Column(label, 32, align="left"), Column("项目数", 10)],
        rows,
    )
    total = last + 1
    ws.cell(row=total, column=1, value="合计")
    ws.merge_cells(start_row=total, start_column=1, end_row=total, end_column=2)
    ws.cell(row=total, column=3, value=sum(counts.values()))
    style_total_row(ws, total, 3)


def write_summary_workbook(path: Path | str, year: int, rows: Sequence[SummaryRow]) -> Path:
    """立项申报汇总表 merged across all recommending units, renumbered, with counts per
    recommending unit, chain and district on further sheets."""
    wb = new_workbook()
    ws = wb.active
    ws.title = "立项申报汇总"
    values = [
        [
            i,
            r.title,
            r.applicant,
            r.uscc,
            r.district,
            r.chain,
            r.project_type,
            r.joint,
            r.project_lead,
            r.phone,
            r.recommending_unit,
            r.remark,
        ]
        for i, r in enumerate(rows, start=1)
    ]
    write_table(ws, f"{year}年{CAMPAIGN}项目立项申报汇总表", SUMMARY_COLUMNS, values)
    ws.freeze_panes = "C3"
    for col in (4, 10):  # keep codes and phone numbers as text
        for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(values)):
            ws.cell(row=r, column=col).number_format = "@"
    _count_sheet(
        wb,
        "按推荐单位",
        f"{year}年立项申报情况（按推荐单位）",
        "推荐单位",
        Counter(r.recommending_unit for r in rows),
    )
    _count_sheet(
        wb,
        "按产业链",
        f"{year}年立项申报情况（按产业链）",
        "所属产业链",
        Counter(r.chain for r in rows),
    )
    _count_sheet(
        wb,
        "按所属区",
        f"{year}年立项申报情况（按所属区）",
        "所属区",
        Counter(r.district for r in rows),
    )
    return save_workbook(wb, path)


SEVERITY_LABELS = {"error": "须修改", "warning": "请核实", "info": "提示"}

FEEDBACK_COLUMNS = (
    Column("序号", 6),
    Column("文件名", 24, align="left"),
    Column("项目名称", 30, align="left"),
    Column("申报单位", 24, align="left"),
    Column("类别", 9),
    Column("涉及内容", 14),
    Column("问题说明", 40, align="left"),
    Column("修改要求", 40, align="left"),
)


def write_intake_feedback(
    path: Path | str,
    unit: str,
    batch_rows: Sequence[FeedbackRow],
    *,
    batch_label: str = "",
    resubmit_by: dt.date | None = None,
) -> Path:
    """审核意见 for one recommending unit's batch: every finding with its fix."""
    wb = new_workbook()
    ws = wb.active
    ws.title = "审核意见"
    label = f"（{batch_label}）" if batch_label else ""
    values = [
        [
            r.seq,
            r.file,
            r.title,
            r.applicant,
            SEVERITY_LABELS.get(str(r.severity), str(r.severity)),
            r.field,
            r.message,
            r.fix,
        ]
        for r in batch_rows
    ]
    last = write_table(ws, f"{unit}立项申报材料审核意见{label}", FEEDBACK_COLUMNS, values)
    # 提示 rows (受理说明, 联合申报…) are notes, not problems
    problems = [r for r in batch_rows if str(r.severity) in ("error", "warning")]
    errors = sum(1 for r in problems if str(r.severity) == "error")
    files = len({r.file for r in problems if r.file})
    if not problems:
        text = "经审核，本批次申报材料未发现问题。"
    else:
        text = (
            f"本批次共发现问题{len(problems)}项（涉及{files}个文件），其中“须修改”{errors}项，"
            "修改后方可受理；“请核实”项请核实后说明情况。"
        )
        if resubmit_by is not None:
            text += f"请于{arabic_date(resubmit_by)}前重新报送。"
    _note(ws, last + 2, len(FEEDBACK_COLUMNS), text)
    return save_workbook(wb, path)


# ---------------------------------------------------------------------------------------------
# 4. training roster and sign-in sheet

ROSTER_COLUMNS = (
    Column("序号", 6),
    Column("姓名", 10),
    Column("单位", 30, align="left"),
    Column("角色", 12),
    Column("项目名称", 36, align="left"),
    Column("联系电话", 14),
    Column("签到", 14, input=True),
)


def _session_heading(session: TrainingSession) -> str:
    when = arabic_date(session.date) + (f" {session.time}" if session.time else "")
    where = f"，{session.place}" if session.place else ""
    return f"{session.name}（{when}{where}）"


def write_training_roster(
    path: Path | str,
    year: int,
    sessions: Sequence[TrainingSession],
    rows: Sequence[RosterRow],
) -> Path:
    """培训名单: an overview sheet, then one sheet per session (named by the session) with an
    empty 签到 column for signatures."""
    by_key = {s.key: s for s in sessions}
    unknown = sorted({r.session_key for r in rows} - by_key.keys())
    if unknown:
        raise ValueError(f"名单中有未知的培训场次：{'、'.join(unknown)}")
    wb = new_workbook()
    overview = wb.active
    overview.title = "场次汇总"
    counts = Counter(r.session_key for r in rows)
    last = write_table(
        overview,
        f"{year}年{CAMPAIGN}培训场次汇总",
        [
            Column("序号", 6),
            Column("场次", 30, align="left"),
            Column("日期", 14),
            Column("时间", 14),
            Column("地点", 44, align="left"),
            Column("人数", 8),
        ],
        [
            [i, s.name, arabic_date(s.date), s.time, s.place, counts[s.key]]
            for i, s in enumerate(sessions, start=1)
        ],
    )
    # Places are long (an address, or a video meeting with its number): room for two lines.
    for r in range(FIRST_DATA_ROW, last + 1):
        overview.row_dimensions[r].height = 34
    used = {overview.title, META_SHEET}
    for session in sessions:
        ws = wb.create_sheet(safe_sheet_title(session.name, used))
        people = [r for r in rows if r.session_key == session.key]
        write_table(
            ws,
            f"{year}年{CAMPAIGN}培训名单——{_session_heading(session)}",
            ROSTER_COLUMNS,
            [
                [i, p.name, p.unit, p.role, p.project, p.phone, None]
                for i, p in enumerate(people, start=1)
            ],
        )
        ws.row_dimensions[1].height = 48
        for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(people)):
            ws.row_dimensions[r].height = 28
    return save_workbook(wb, path)


SIGNIN_COLUMNS = (
    Column("序号", 6),
    Column("人员编号", 12),
    Column("姓名", 10),
    Column("单位", 30, align="left"),
    Column("角色", 12),
    Column("项目名称", 34, align="left"),
    Column("签到情况", 12, input=True),
    Column("备注", 20, align="left", input=True),
)
SIGNIN_MARK_COL = 7
SIGNIN_SHEET = "签到表"


def write_signin_sheet(
    path: Path | str, session: TrainingSession, rows: Sequence[RosterRow]
) -> Path:
    """签到表 for one session, to be marked (已签到/缺席/请假) and imported back.

    Layout: sheet "签到表", header in row 2, 人员编号 in column B, 签到情况 in column G (drop-down),
    备注 in column H; the hidden ``_meta`` sheet holds the session key.
    """
    people = [r for r in rows if r.session_key == session.key]
    wb = new_workbook()
    ws = wb.active
    ws.title = SIGNIN_SHEET
    last = write_table(
        ws,
        f"{CAMPAIGN}培训签到表——{_session_heading(session)}",
        SIGNIN_COLUMNS,
        [
            [i, p.person_key, p.name, p.unit, p.role, p.project, None, None]
            for i, p in enumerate(people, start=1)
        ],
    )
    ws.row_dimensions[1].height = 48
    add_list_validation(
        ws, SIGNIN_MARK_COL, FIRST_DATA_ROW, max(last, FIRST_DATA_ROW), SIGNIN_MARKS
    )
    _add_meta(
        wb,
        [
            ("kind", "signin"),
            ("session_key", session.key),
            ("session_name", session.name),
            ("date", session.date.isoformat()),
        ],
    )
    return save_workbook(wb, path)


def write_calendar_file(path: Path | str, content: bytes) -> Path:
    """A calendar file (.ics) attached to invitations, written once: a re-sent invitation
    attaches the same file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(content)
    return path


def read_signin_sheet(path: Path | str) -> tuple[str, dict[str, str]]:
    """Read a marked sign-in sheet back: ``(session_key, {person_key: mark})``.

    Unmarked people are left out; unknown marks raise ``ValueError``. The file passes the safety
    checks first (``UnreadableFile`` names the file and the fix); the values are read from the
    sheet XML (``documents.xlsx_reader``: ~15 ms for 850 people instead of openpyxl's ~1 s).
    """
    wb = LightWorkbook(path)
    try:
        if META_SHEET not in wb.sheetnames:
            raise ValueError("工作簿缺少 _meta 工作表，不是本系统生成的表格")
        meta = {r[0]: r[1] if len(r) > 1 else None for r in wb.rows(META_SHEET).values() if r[0]}
        if meta.get("kind") != "signin" or not meta.get("session_key"):
            raise ValueError("不是签到表")
        if SIGNIN_SHEET not in wb.sheetnames:
            raise ValueError(f"工作簿中没有“{SIGNIN_SHEET}”工作表")
        rows = wb.rows(SIGNIN_SHEET, min_row=HEADER_ROW)
        headers = list(rows.get(HEADER_ROW, ()))
        for needed in ("人员编号", "签到情况"):
            if needed not in headers:
                raise ValueError(f"第{HEADER_ROW}行表头缺少“{needed}”列")
        key_col = headers.index("人员编号")
        mark_col = headers.index("签到情况")
        marks: dict[str, str] = {}
        for number, row in rows.items():
            if number < FIRST_DATA_ROW:
                continue
            key = row[key_col] if key_col < len(row) else None
            mark = row[mark_col] if mark_col < len(row) else None
            if not key or mark is None or str(mark).strip() == "":
                continue
            mark_text = str(mark).strip()
            if mark_text not in SIGNIN_MARKS:
                raise ValueError(f"人员 {key} 的签到情况“{mark_text}”无效")
            marks[str(key)] = mark_text
        return str(meta["session_key"]), marks
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------
# 5. progress report request and visit coverage

CHECKIN_SHEET = "进度报告"
CHECKIN_LABELS: dict[str, str] = {
    "project_key": "项目编号",
    "title": "项目名称",
    "applicant": "项目单位",
    "recommending_unit": "推荐单位",
    "period": "报告期",
    "due": "报送截止日期",
    "phase": "当前PDCA阶段",
    "percent": "完成进度（%）",
    "indicator": "攻关指标",
    "baseline": "基线值",
    "target": "目标值",
    "current": "当前值",
    "problems": "存在问题",
    "next_steps": "下一步工作计划",
    "help": "需要协调解决的事项",
    "reporter": "填报人",
    "phone": "联系电话",
    "reported_on": "填报日期",
}
_CHECKIN_INPUTS = (
    "phase",
    "percent",
    "current",
    "problems",
    "next_steps",
    "help",
    "reporter",
    "phone",
    "reported_on",
)


def write_checkin_request(path: Path | str, project: CheckinRequest) -> Path:
    """进度报告 for one project unit to fill and return.

    One sheet "进度报告": labels in column A (fixed, see ``CHECKIN_LABELS``), values in column B.
    Shaded cells are to be filled; the sheet is protected (no password) so the labels stay put.
    """
    wb = new_workbook()
    ws = wb.active
    ws.title = CHECKIN_SHEET
    period = f"（{project.period}）" if project.period else ""
    style_title(ws, f"{CAMPAIGN}项目进度报告{period}", 2)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 70
    unit = f"（{project.indicator_unit}）" if project.indicator_unit else ""
    prefilled: dict[str, object] = {
        "project_key": project.project_key,
        "title": project.title,
        "applicant": project.applicant,
        "recommending_unit": project.recommending_unit,
        "period": project.period,
        "due": arabic_date(project.due) if project.due else "",
        "indicator": project.indicator + unit,
        "baseline": project.baseline,
        "target": project.target,
    }
    label_column = Column("", align="center")
    value_column = Column("", align="left", wrap=True)
    row_of: dict[str, int] = {}
    for r, (field, label) in enumerate(CHECKIN_LABELS.items(), start=HEADER_ROW):
        row_of[field] = r
        ws.cell(row=r, column=1, value=label)
        style_data_cell(ws, r, 1, label_column)
        ws.cell(row=r, column=1).font = Font(name="黑体", size=11, bold=True)
        ws.cell(row=r, column=2, value=prefilled.get(field))
        style_data_cell(ws, r, 2, value_column)
        cell = ws.cell(row=r, column=2)
        if field in _CHECKIN_INPUTS:
            cell.fill = INPUT_FILL
            cell.protection = Protection(locked=False)
        ws.row_dimensions[r].height = 60 if field in {"problems", "next_steps", "help"} else 24
    phase_row, percent_row = row_of["phase"], row_of["percent"]
    add_list_validation(ws, 2, phase_row, phase_row, PDCA_PHASES, prompt_title="PDCA阶段")
    add_decimal_validation(ws, 2, percent_row, percent_row, 0, 100)
    ws.cell(row=row_of["reported_on"], column=2).number_format = "yyyy-mm-dd"
    note_row = max(row_of.values()) + 2
    _note(
        ws,
        note_row,
        2,
        "填报说明：黄色单元格为填报项；PDCA阶段从下拉列表选择（计划/执行/检查/处理）；"
        "完成进度填0～100之间的数值；当前值与目标值使用相同计量单位。",
    )
    ws.protection.sheet = True
    ws.protection.formatCells = False
    ws.protection.formatRows = False
    setup_print(ws, landscape=False, title_rows=None)
    _add_meta(wb, [("kind", "checkin"), ("project_key", project.project_key)])
    return save_workbook(wb, path)


def read_checkin_response(path: Path | str) -> dict[str, object]:
    """Read a returned progress report: ``{field: value}`` by the labels in column A.

    The file passes the safety checks first (``UnreadableFile`` names the file and the fix); the
    values are read from the sheet's XML (``documents.xlsx_reader``, ~1 ms instead of openpyxl's
    ~11 ms). A workbook without the sheet raises ``ValueError``.
    """
    wb = LightWorkbook(path)
    try:
        if CHECKIN_SHEET not in wb.sheetnames:
            raise ValueError(f"工作簿中没有“{CHECKIN_SHEET}”工作表")
        by_label = {label: field for field, label in CHECKIN_LABELS.items()}
        result: dict[str, object] = {}
        for row in wb.rows(CHECKIN_SHEET, min_row=HEADER_ROW, max_col=2).values():
            label, value = (row + (None, None))[:2]
            if isinstance(label, str) and label.strip() in by_label:
                result[by_label[label.strip()]] = value
        return result
    finally:
        wb.close()


def write_visit_coverage(
    path: Path | str,
    rows: Sequence[VisitCoverageRow],
    *,
    year: int | None = None,
    as_of: dt.date | None = None,
) -> Path:
    """跟踪服务走访覆盖情况 per recommending unit, with a total row."""
    wb = new_workbook()
    ws = wb.active
    ws.title = "走访覆盖"
    prefix = f"{year}年" if year else ""
    suffix = f"（截至{arabic_date(as_of)}）" if as_of else ""
    columns = [
        Column("序号", 6),
        Column("推荐单位", 28, align="left"),
        Column("项目数", 9),
        Column("已走访项目数", 11),
        Column("未走访项目数", 11),
        Column("覆盖率", 9, number_format="0.0%"),
        Column("走访次数", 9),
        Column("最近走访日期", 14, number_format="yyyy-mm-dd"),
        Column("未走访项目", 50, align="left"),
    ]
    values = [
        [
            i,
            r.recommending_unit,
            r.projects,
            r.visited_projects,
            r.projects - r.visited_projects,
            (r.visited_projects / r.projects) if r.projects else None,
            r.visits,
            r.last_visit,
            "\n".join(r.not_visited),
        ]
        for i, r in enumerate(rows, start=1)
    ]
    last = write_table(ws, f"{prefix}{CAMPAIGN}跟踪服务走访覆盖情况{suffix}", columns, values)
    total = last + 1
    projects = sum(r.projects for r in rows)
    visited = sum(r.visited_projects for r in rows)
    totals: list[object] = [
        "合计",
        None,
        projects,
        visited,
        projects - visited,
        (visited / projects) if projects else None,
        sum(r.visits for r in rows),
        None,
        None,
    ]
    for col, value in enumerate(totals, start=1):
        ws.cell(row=total, column=col, value=value)
    ws.merge_cells(start_row=total, start_column=1, end_row=total, end_column=2)
    style_total_row(ws, total, len(columns))
    ws.cell(row=total, column=6).number_format = "0.0%"
    return save_workbook(wb, path)


# ---------------------------------------------------------------------------------------------
# 6. score sheets


def criterion_header(name: str, maximum: float) -> str:
    """选题 + 10 -> "选题（10分）"."""
    shown = str(int(maximum)) if float(maximum).is_integer() else f"{maximum:g}"
    return f"{name}（{shown}分）"


_SCORE_FIXED = ("序号", "成果编号", "成果名称", "完成单位")


@dataclass(frozen=True)
class ScoreGroup:
    """The results of one project kind (课题类型) on a panel's score workbook, with that kind's
    rubric: `criteria` are `(key, name, maximum)` or `(key, name, maximum, guidance)`."""

    kind: str
    criteria: Sequence[tuple[Any, ...]]
    results: Sequence[tuple[str, str, str]]


def write_score_sheet(
    path: Path | str,
    panel_name: str,
    criteria: Sequence[tuple[Any, ...]],
    results: Sequence[tuple[str, str, str]],
    experts: Sequence[str],
) -> Path:
    """评分表 over one rubric: `write_score_workbook` with a single group."""
    return write_score_workbook(path, panel_name, [ScoreGroup("", criteria, results)], experts)


def _score_columns(criteria: Sequence[tuple[Any, ...]]) -> list[Column]:
    return [
        Column("序号", 6),
        Column("成果编号", 18),  # e.g. TJZLGG-2025-0005, whole on one line
        Column("成果名称", 36, align="left"),
        Column("完成单位", 26, align="left"),
        *[Column(criterion_header(c[1], c[2]), 12, input=True) for c in criteria],
        Column(criterion_header("合计", sum(c[2] for c in criteria)), 12, formula=True),
        Column("备注", 20, align="left", input=True),
    ]


def _guidance(criteria: Sequence[tuple[Any, ...]]) -> str:
    lines = [f"{c[1]}（{c[2]:g}分）：{c[3]}" for c in criteria if len(c) > 3 and c[3]]
    return "评分要点：" + "；".join(lines) if lines else ""


def _expert_score_sheet(ws: Worksheet, title: str, group: ScoreGroup) -> None:
    """One expert's sheet of one kind: a row per result, a column per criterion."""
    criteria = group.criteria
    columns = _score_columns(criteria)
    first_crit = len(_SCORE_FIXED) + 1
    last_crit = first_crit + len(criteria) - 1
    total_col = last_crit + 1
    values: list[list[object]] = []
    for r, (key, result_title, applicant) in enumerate(group.results, start=FIRST_DATA_ROW):
        span = f"{get_column_letter(first_crit)}{r}:{get_column_letter(last_crit)}{r}"
        total = f'=IF(COUNT({span})=0,"",SUM({span}))'
        row = [r - FIRST_DATA_ROW + 1, key, result_title, applicant, *[None] * len(criteria)]
        values.append([*row, total, None])
    last = write_table(ws, title, columns, values)
    ws.row_dimensions[HEADER_ROW].height = 46  # criterion headers take up to three lines
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=first_crit)
    for i, c in enumerate(criteria):
        add_decimal_validation(
            ws, first_crit + i, FIRST_DATA_ROW, max(last, FIRST_DATA_ROW), 0, c[2]
        )
    for r in range(FIRST_DATA_ROW, last + 1):
        ws.cell(row=r, column=total_col).number_format = "0.0"
        ws.row_dimensions[r].height = 30
    note_row = last + 2
    if guidance := _guidance(criteria):
        _note(ws, note_row, len(columns), guidance)
        ws.row_dimensions[note_row].height = 15 * (2 + len(guidance) // 90)
        note_row += 1
    _note(ws, note_row, len(columns), "专家签字：                              日期：")


def write_score_workbook(
    path: Path | str, panel_name: str, groups: Sequence[ScoreGroup], experts: Sequence[str]
) -> Path:
    """评分表: for each expert, one sheet per project kind on the panel (named by the expert, and
    the kind when the panel scores more than one).

    On each sheet: a row per result (成果编号 = the result key), a column per criterion of the
    kind's rubric headed "名称（N分）" with a 0..N decimal validation, a 合计 formula, 备注 and
    the rubric's guidance under the table. The hidden ``_meta`` sheet maps sheet names to experts
    and kinds, and each kind's criterion columns to criterion keys.
    """
    if not experts:
        raise ValueError("评定组至少需要一名专家")
    groups = [g for g in groups if g.results] or list(groups[:1])
    if not groups or any(not g.criteria for g in groups):
        raise ValueError("评分标准不能为空")
    for g in groups:
        keys = [c[0] for c in g.criteria]
        if len(set(keys)) != len(keys):
            raise ValueError("评分标准编号重复")
    first_crit = len(_SCORE_FIXED) + 1
    wb = new_workbook()
    used: set[str] = {META_SHEET}
    meta: list[list[object]] = [["kind", "score"], ["panel", panel_name]]
    for g in groups:
        for i, c in enumerate(g.criteria):
            meta.append(["criterion", c[0], c[1], c[2], get_column_letter(first_crit + i), g.kind])
    several = len(groups) > 1
    index = 0
    for expert in experts:
        for g in groups:
            ws = wb.active if index == 0 else wb.create_sheet()
            index += 1
            shown = EXPERT_IN_SHEET.sub("", expert)  # the name people read; _meta keeps the key
            ws.title = safe_sheet_title(f"{shown}{g.kind}" if several else shown, used)
            meta.append(["expert", ws.title, expert, g.kind])
            kind = f"（{g.kind}）" if g.kind else ""
            _expert_score_sheet(ws, f"{panel_name}评分表{kind}（专家：{shown}）", g)
    _add_meta(wb, meta)
    return save_workbook(wb, path)


def _score_sheet(
    wb: LightWorkbook, sheet: str, expert: str, criteria: list[ScoreCriterion], kind: str = ""
) -> ExpertScoreSheet:
    """One expert's sheet: a row per result key under the 成果编号 header."""
    rows = wb.rows(sheet, min_row=HEADER_ROW)
    headers = [None if v is None else str(v) for v in rows.get(HEADER_ROW, ())]
    if "成果编号" not in headers:
        return ExpertScoreSheet(sheet=sheet, expert=expert, kind=kind, has_result_keys=False)
    key_col = headers.index("成果编号")
    remark_col = headers.index("备注") if "备注" in headers else None
    columns = [(c.key, column_index(c.column) - 1) for c in criteria]
    out: list[ScoreSheetRow] = []
    for number, row in rows.items():
        if number < FIRST_DATA_ROW:
            continue
        cell = row[key_col] if key_col < len(row) else None
        key = "" if cell is None else str(cell).strip()
        if not key or key.startswith("专家签字"):
            continue
        remark = row[remark_col] if remark_col is not None and remark_col < len(row) else None
        out.append(
            ScoreSheetRow(
                expert=expert,
                result_key=key,
                scores={ckey: row[i] if i < len(row) else None for ckey, i in columns},
                remark="" if remark is None else str(remark),
                sheet=sheet,
                row=number,
            )
        )
    return ExpertScoreSheet(sheet=sheet, expert=expert, kind=kind, rows=out)


def _meta_kind(row: Sequence[object], index: int) -> str:
    """The project kind a `_meta` row names ("" in workbooks of one rubric)."""
    return str(row[index]) if len(row) > index and row[index] is not None else ""


def read_score_sheet(path: Path | str) -> ScoreWorkbook:
    """Read a returned score workbook: its panel, criteria and each expert's rows, the cells as
    typed (blank cells None). Whether a score is good is `domain.scoring`'s to say.

    The file passes the safety checks first (``UnreadableFile`` names the file and the fix);
    ``ValueError`` when it is not a score workbook written by this system."""
    wb = LightWorkbook(path)
    try:
        if META_SHEET not in wb.sheetnames:
            raise ValueError("工作簿缺少 _meta 工作表，不是本系统生成的表格")
        meta = [list(r) for r in wb.rows(META_SHEET).values()]
        if not meta or meta[0][:2] != ["kind", "score"]:
            raise ValueError("不是评分表")
        panel = next((str(r[1]) for r in meta if r[0] == "panel" and len(r) > 1), "")
        criteria = [
            ScoreCriterion(
                key=str(r[1]),
                name=str(r[2]),
                max_points=float(r[3]),
                column=str(r[4]),
                kind=_meta_kind(r, 5),
            )
            for r in meta
            if r[0] == "criterion"
        ]
        sheets = [
            _score_sheet(
                wb,
                str(r[1]),
                str(r[2]),
                [c for c in criteria if c.kind == _meta_kind(r, 3)],
                _meta_kind(r, 3),
            )
            for r in meta
            if r[0] == "expert" and str(r[1]) in wb.sheetnames
        ]
        return ScoreWorkbook(panel=panel, criteria=criteria, sheets=sheets)
    finally:
        wb.close()
