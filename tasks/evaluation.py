"""Stage 7 成果评定: the expert pool, the panel draw with recusal, score sheets, the import of the
experts' scores, aggregation and ranking, and the staff's decision on the excellent list."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from prefect import task
from pydantic import BaseModel
from sqlalchemy import select

from documents.reports import write_score_sheet
from domain.calendar import SHANGHAI
from domain.models import ExpertProfile
from domain.panels import (
    Panel,
    PanelDraw,
    Recusal,
    ResultToEvaluate,
    draw_panels,
    replace_decliner,
)
from domain.scoring import (
    DEFAULT_CRITERIA,
    ResultScore,
    aggregate,
    excellent,
    outliers,
    rank,
)
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "evaluation"
EXCELLENT = "excellent"
NOT_EXCELLENT = "not_excellent"
OUTLIER_POINTS = 15.0  # an expert this many points from the others' mean is flagged
MAX_RESULTS_PER_PANEL = 30
REVIEW_PLACE = "天津市市场监管委（河西区友谊路）评审会议室"
FIELD_SEPARATORS = re.compile(r"[、，,;；/\s]+")
PHONE = re.compile(r"^[0-9+\-（）() ]{7,20}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EXPERT_IN_SHEET = re.compile(r"（(E[0-9a-f]{8})）$")
PANEL_IN_SHEET = re.compile(r"评定组(P\d+)")


class EvaluationError(ValueError):
    """A user's input cannot be taken; `problems` names each one (file, row, column, fix)."""

    def __init__(self, summary: str, problems: Sequence[str] = ()) -> None:
        self.summary = summary
        self.problems = list(problems)
        text = summary if not self.problems else summary + "：\n" + "\n".join(self.problems)
        super().__init__(text)


# ---------------------------------------------------------------------------------------------
# keys


def result_key(app: orm.Application) -> str:
    """How a result is named on sheets and lists: its plan number, else its record number."""
    return app.plan_number or f"R{app.id:05d}"


def expert_key(name: str, phone: str) -> str:
    """A stable key for an expert: the same name and phone always give the same key."""
    norm = "".join(unicodedata.normalize("NFKC", name).split())
    digits = re.sub(r"\D", "", phone)
    return "E" + hashlib.sha1(f"{norm}|{digits}".encode()).hexdigest()[:8]


def expert_label(expert: orm.Expert) -> str:
    """`张三（E1a2b3c4d）`: the name experts see, with the key the import reads back."""
    return f"{expert.name}（{expert.key}）"


def panel_seed(ctx: CampaignContext) -> int:
    """The draw's seed: `[rules] panel_seed` in the campaign's config, else derived from the year."""
    if ctx.rules.panel_seed is not None:
        return ctx.rules.panel_seed
    digest = hashlib.sha256(f"天津市质量攻关-{ctx.year}-评定组抽取".encode()).hexdigest()
    return int(digest[:8], 16)


# ---------------------------------------------------------------------------------------------
# 1. expert pool


EXPERT_COLUMNS = ("姓名", "单位", "专业领域", "职称", "电话", "邮箱", "回避单位")
REQUIRED_EXPERT_COLUMNS = ("姓名", "单位", "专业领域", "电话")


@dataclass
class ExpertImport:
    created: int = 0
    updated: int = 0
    keys: list[str] = field(default_factory=list)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def split_list(text: str) -> list[str]:
    return [p for p in (s.strip() for s in FIELD_SEPARATORS.split(text)) if p]


def import_experts(xlsx: Path | str) -> ExpertImport:
    """专家库导入: one row per expert; every bad row is named, and nothing is stored if any is."""
    path = Path(xlsx)
    name = path.name
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise EvaluationError(f"找不到专家库文件 {path}：请检查路径") from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise EvaluationError(
            f"无法读取专家库文件 {name}：{exc}。请用 Excel 或 WPS 另存为 .xlsx 后重试"
        ) from exc
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    header_index = next(
        (i for i, r in enumerate(rows[:10]) if any(_cell_text(c) == "姓名" for c in r)), None
    )
    if header_index is None:
        raise EvaluationError(
            f"专家库文件 {name} 工作表「{ws.title}」前10行中没有表头「姓名」",
            [f"请在第一行填写表头：{'、'.join(EXPERT_COLUMNS)}"],
        )
    header = [_cell_text(c) for c in rows[header_index]]
    missing = [c for c in REQUIRED_EXPERT_COLUMNS if c not in header]
    if missing:
        raise EvaluationError(
            f"专家库文件 {name} 缺少必填列",
            [f"第{header_index + 1}行表头缺少列「{c}」：请添加该列并填写" for c in missing],
        )
    col = {h: i for i, h in enumerate(header) if h}
    problems: list[str] = []
    parsed: dict[str, dict[str, Any]] = {}
    first_row_of: dict[str, int] = {}
    for offset, raw in enumerate(rows[header_index + 1 :], start=header_index + 2):

        def get(column: str, raw: list[object] = raw) -> str:
            i = col.get(column)
            return _cell_text(raw[i]) if i is not None and i < len(raw) else ""

        if not any(_cell_text(c) for c in raw):
            continue
        where = f"{name} 第{offset}行"
        person = get("姓名")
        phone = get("电话")
        email = get("邮箱")
        fields = split_list(get("专业领域"))
        if not person:
            problems.append(f"{where}「姓名」列为空：请填写专家姓名")
        if not get("单位"):
            problems.append(f"{where}「单位」列为空：请填写专家所在单位全称（用于回避）")
        if not fields:
            problems.append(f"{where}「专业领域」列为空：请填写所属产业链或专业，多个用“、”分隔")
        if not phone:
            problems.append(f"{where}「电话」列为空：请填写专家联系电话")
        elif not PHONE.match(phone):
            problems.append(f"{where}「电话」列「{phone}」不是有效电话号码：请只填写数字和“-”")
        if email and not EMAIL.match(email):
            problems.append(
                f"{where}「邮箱」列「{email}」不是有效邮箱地址：请改为 name@example.com 形式"
            )
        if not person or not phone:
            continue
        key = expert_key(person, phone)
        if key in parsed:
            problems.append(
                f"{where}与第{first_row_of[key]}行为同一专家（姓名、电话相同）：请删除重复行"
            )
            continue
        first_row_of[key] = offset
        parsed[key] = {
            "name": person,
            "organisation": get("单位"),
            "fields": fields,
            "title": get("职称"),
            "phone": phone,
            "email": email,
            "recused_units": split_list(get("回避单位")),
        }
    if problems:
        raise EvaluationError(
            f"专家库文件 {name} 有{len(problems)}处错误，未导入任何专家", problems
        )
    if not parsed:
        raise EvaluationError(f"专家库文件 {name} 没有专家数据：请从表头下一行起逐行填写")
    result = ExpertImport()
    with UnitOfWork() as uow:
        existing = {
            e.key: e
            for e in uow.session.scalars(select(orm.Expert).where(orm.Expert.key.in_(list(parsed))))
        }
        for key, values in parsed.items():
            expert = existing.get(key)
            if expert is None:
                uow.session.add(orm.Expert(key=key, **values))
                result.created += 1
            else:
                for attr, value in values.items():
                    setattr(expert, attr, value)
                result.updated += 1
            result.keys.append(key)
        uow.commit()
    return result


# ---------------------------------------------------------------------------------------------
# 2. the draw


def _joint_units(app: orm.Application) -> list[str]:
    return split_list(str((app.form or {}).get("joint_units", "") or ""))


def _members(app: orm.Application) -> list[str]:
    names = {p.name for p in app.people}
    for m in (app.form or {}).get("members", []) or []:
        if isinstance(m, dict) and m.get("name"):
            names.add(str(m["name"]))
    for role in ("project_lead", "quality_lead"):
        lead = (app.form or {}).get(role) or {}
        if isinstance(lead, dict) and lead.get("name"):
            names.add(str(lead["name"]))
    return sorted(names)


def result_to_evaluate(app: orm.Application) -> ResultToEvaluate:
    return ResultToEvaluate(
        key=result_key(app),
        chain=app.chain,
        title=app.title,
        applicant=app.applicant_name,
        joint_units=_joint_units(app),
        recommending_unit=app.recommending_unit.name,
        members=_members(app),
    )


def expert_profile(expert: orm.Expert) -> ExpertProfile:
    return ExpertProfile(
        key=expert.key,
        name=expert.name,
        organisation=expert.organisation,
        fields=list(expert.fields or []),
        title=expert.title,
        recused_units=list(expert.recused_units or []),
    )


def _criteria() -> list[tuple[str, str, float]]:
    return [(c.key, c.name, c.max_points) for c in DEFAULT_CRITERIA]


def panel_title(panel: orm.ExpertPanel) -> str:
    return f"评定组{panel.key}（{panel.chain}）"


def panel_sheet_path(ctx: CampaignContext, panel: orm.ExpertPanel) -> Path:
    """Where the panel's current score sheet is (written when the panel is invited and again
    when a member is replaced)."""
    return ctx.folder(STAGE) / "评分表" / f"{ctx.year}年质量攻关成果评分表_评定组{panel.key}.xlsx"


def write_panel_sheet(ctx: CampaignContext, uow: UnitOfWork, panel: orm.ExpertPanel) -> Path:
    """评分表 of one panel: a sheet per current member, a row per result."""
    apps = {
        a.id: a
        for a in uow.session.scalars(
            select(orm.Application).where(orm.Application.id.in_(panel.application_ids))
        )
    }
    experts = {
        e.key: e
        for e in uow.session.scalars(select(orm.Expert).where(orm.Expert.key.in_(panel.members)))
    }
    path = panel_sheet_path(ctx, panel)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_score_sheet(
        path,
        panel_title(panel),
        _criteria(),
        [
            (result_key(apps[i]), apps[i].title, apps[i].applicant_name)
            for i in panel.application_ids
        ],
        [expert_label(experts[k]) for k in panel.members],
    )
    uow.repo.record_document(
        ctx.campaign_id,
        stage=STAGE,
        kind="score_sheet",
        title=f"评分表（评定组{panel.key}）",
        path=str(path),
    )
    return path


def invite(
    uow: UnitOfWork,
    ctx: CampaignContext,
    panel: orm.ExpertPanel,
    expert: orm.Expert,
    sheet: Path,
) -> bool:
    return send(
        uow,
        ctx,
        event="panel_invitation",
        recipient=Recipient.for_expert(expert),
        period=panel.key,
        context={
            "campaign_title": ctx.config.title,
            "panel_name": panel_title(panel),
            "review_at": ctx.calendar.panel_draw,
            "place": REVIEW_PLACE,
            "project_count": len(panel.application_ids),
            "scores_due": ctx.calendar.scores_due,
            "reply_by": (ctx.calendar.panel_draw + dt.timedelta(days=2)).date(),
        },
        attachments=[sheet],
    )


@task(name="draw-panels", task_run_name="draw-panels-{ctx.year}")
def draw_expert_panels(ctx: CampaignContext, outcome: StageReport) -> None:
    """Once: the panels over every submitted result, recorded with seed, reserves and recusals;
    a score sheet per panel, and an invitation to each member."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "panels_drawn"):
            return
        apps = uow.repo.applications(
            ctx.campaign_id, [ProjectState.RESULTS_SUBMITTED], with_form=True, with_people=True
        )
        if not apps:
            outcome.waiting.append("没有待评定的成果（已提交成果的项目为0）")
            return
        experts = uow.session.scalars(select(orm.Expert).order_by(orm.Expert.key)).all()
        if len(experts) < ctx.rules.panel_min_size:
            outcome.waiting.append(
                f"专家库仅有{len(experts)}名专家，不足{ctx.rules.panel_min_size}人："
                "请先导入专家库（qcamp experts import 专家库.xlsx）"
            )
            return
        seed = panel_seed(ctx)
        by_key = {result_key(a): a for a in apps}
        draw = draw_panels(
            [result_to_evaluate(a) for a in apps],
            [expert_profile(e) for e in experts],
            seed=seed,
            min_size=ctx.rules.panel_min_size,
            reserves=ctx.rules.panel_reserves,
            max_results=MAX_RESULTS_PER_PANEL,
        )
        recusals_by_result: dict[str, list[Recusal]] = {}
        for rc in draw.recusals:
            recusals_by_result.setdefault(rc.result_key, []).append(rc)
        for p in draw.panels:
            panel = orm.ExpertPanel(
                campaign_id=ctx.campaign_id,
                key=p.panel_id,
                chain=p.chain,
                seed=seed,
                members=list(p.members),
                reserves=list(p.reserves),
                application_ids=[by_key[k].id for k in p.result_keys],
                draw_record={
                    "drawn_at": ctx.now.isoformat(),
                    "inputs_digest": draw.inputs_digest,
                    "min_size": draw.min_size,
                    "reserves_asked": draw.reserves,
                    "result_keys": list(p.result_keys),
                    "match_tier": p.match_tier,
                    "match_note": p.match_note,
                    "shortfall_note": p.shortfall_note,
                    "excluded": [
                        rc.model_dump()
                        for k in p.result_keys
                        for rc in recusals_by_result.get(k, [])
                    ],
                    "declined": [],
                    "replacements": [],
                },
            )
            uow.session.add(panel)
        record = ctx.folder(STAGE) / f"{ctx.year}年质量攻关评定组抽取记录.json"
        record.write_text(
            json.dumps(draw.model_dump(mode="json"), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="panel_draw",
            title="评定组抽取记录",
            path=str(record),
        )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "panels_drawn",
            as_of=ctx.now,
            summary={
                "seed": seed,
                "panels": len(draw.panels),
                "results": len(apps),
                "experts": len(experts),
                "recusals": len(draw.recusals),
                "unassigned": [u.model_dump() for u in draw.unassigned],
                "inputs_digest": draw.inputs_digest,
            },
        )
        uow.commit()
    outcome.done.append(
        f"随机抽取评定组{len(draw.panels)}个（随机种子 {seed}），覆盖成果{len(apps) - len(draw.unassigned)}项，"
        f"回避情形{len(draw.recusals)}处"
    )
    for u in draw.unassigned:
        outcome.waiting.append(
            f"成果 {u.result_key}（{u.chain}）未能组成评定组：{u.reason}，需补充专家"
        )
    outcome.counts["评定组"] = len(draw.panels)
    outcome.documents.append(str(record))


@task(name="send-score-sheets", task_run_name="score-sheets-{ctx.year}")
def send_score_sheets(ctx: CampaignContext, outcome: StageReport) -> None:
    """Once per panel: its score sheet, and an invitation with the sheet to each member."""
    with UnitOfWork() as uow:
        panels = uow.session.scalars(
            select(orm.ExpertPanel)
            .where(orm.ExpertPanel.campaign_id == ctx.campaign_id)
            .order_by(orm.ExpertPanel.key)
        ).all()
        todo = [
            p for p in panels if not uow.repo.step_done(ctx.campaign_id, STAGE, f"sheet:{p.key}")
        ]
    sheets: list[Path] = []
    invited = 0
    for key in [p.key for p in todo]:
        with UnitOfWork() as uow:
            panel = _panel(uow, ctx, key)
            sheet = write_panel_sheet(ctx, uow, panel)
            members = uow.session.scalars(
                select(orm.Expert).where(orm.Expert.key.in_(panel.members))
            ).all()
            for expert in members:
                invited += invite(uow, ctx, panel, expert, sheet)
            uow.repo.mark_step(ctx.campaign_id, STAGE, f"sheet:{key}", as_of=ctx.now)
            uow.commit()
        sheets.append(sheet)
    if sheets:
        outcome.done.append(f"生成评分表{len(sheets)}份，向评定组专家发出评审邀请{invited}人次")
        outcome.documents += [str(s) for s in sheets]


def _panel(uow: UnitOfWork, ctx: CampaignContext, panel_key: str) -> orm.ExpertPanel:
    panel = uow.session.scalar(
        select(orm.ExpertPanel).where(
            orm.ExpertPanel.campaign_id == ctx.campaign_id, orm.ExpertPanel.key == panel_key
        )
    )
    if panel is None:
        raise EvaluationError(f"{ctx.year}年没有评定组「{panel_key}」：请核对评定组编号（如 P001）")
    return panel


def _as_draw(panel: orm.ExpertPanel) -> PanelDraw:
    record = panel.draw_record or {}
    return PanelDraw(
        seed=panel.seed,
        min_size=int(record.get("min_size", len(panel.members))),
        reserves=int(record.get("reserves_asked", len(panel.reserves))),
        max_load=None,
        max_results=MAX_RESULTS_PER_PANEL,
        inputs_digest=str(record.get("inputs_digest", "")),
        panels=[
            Panel(
                panel_id=panel.key,
                chain=panel.chain,
                result_keys=list(record.get("result_keys", [])),
                members=list(panel.members),
                reserves=list(panel.reserves),
                declined=[d["expert_key"] for d in record.get("declined", [])],
            )
        ],
        recusals=[Recusal.model_validate(r) for r in record.get("excluded", [])],
    )


def decline(ctx: CampaignContext, panel_key: str, expert_key: str, reason: str) -> str | None:
    """An expert declines a seat: the first conflict-free reserve takes it, is sent the rewritten
    score sheet and invited; the change is recorded on the panel. Returns the replacement's key,
    or None when no reserve is left (the panel then needs a supplementary draw)."""
    if not reason.strip():
        raise EvaluationError("请填写专家谢绝的原因（--reason）")
    with UnitOfWork() as uow:
        panel = _panel(uow, ctx, panel_key)
        if expert_key not in panel.members and expert_key not in panel.reserves:
            raise EvaluationError(
                f"专家 {expert_key} 不是评定组{panel_key}的成员或备选专家：请核对专家编号"
            )
        scored = uow.session.scalar(
            select(orm.PanelScore.id).where(
                orm.PanelScore.panel_id == panel.id, orm.PanelScore.expert_key == expert_key
            )
        )
        if scored is not None:
            raise EvaluationError(f"专家 {expert_key} 已提交评分，不能再谢绝")
        new, replacement = replace_decliner(_as_draw(panel), panel_key, expert_key)
        p = new.panel(panel_key)
        note = new.replacements[-1].note
        record = dict(panel.draw_record or {})
        record["declined"] = [
            *record.get("declined", []),
            {"expert_key": expert_key, "reason": reason, "at": ctx.now.isoformat()},
        ]
        record["replacements"] = [
            *record.get("replacements", []),
            {
                "declined": expert_key,
                "replacement": replacement,
                "reason": reason,
                "note": note,
                "at": ctx.now.isoformat(),
            },
        ]
        panel.draw_record = record
        panel.members = list(p.members)
        panel.reserves = list(p.reserves)
        uow.session.flush()
        if expert_key in p.declined and replacement is not None:
            sheet = write_panel_sheet(ctx, uow, panel)
            new_member = uow.session.scalar(select(orm.Expert).where(orm.Expert.key == replacement))
            if new_member is not None:
                invite(uow, ctx, panel, new_member, sheet)
        uow.commit()
    return replacement


# ---------------------------------------------------------------------------------------------
# 3. scores


@dataclass
class ScoreImport:
    panel_key: str
    experts: list[str]
    rows: int


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def import_scores(ctx: CampaignContext, xlsx: Path | str) -> ScoreImport:
    """Take one panel's filled score workbook. Every sheet an expert filled must be complete and
    in range; each wrong cell is named (sheet, row, column, value, allowed range) and nothing is
    stored if any is wrong. Blank sheets (experts who have not scored yet) are skipped."""
    from documents.reports import META_SHEET  # noqa: PLC0415 - the constant lives with the writer

    path = Path(xlsx)
    name = path.name
    try:
        wb = load_workbook(path, data_only=False)
    except FileNotFoundError as exc:
        raise EvaluationError(f"找不到评分表文件 {path}：请检查路径") from exc
    except Exception as exc:  # noqa: BLE001
        raise EvaluationError(
            f"无法读取评分表 {name}：{exc}。请用 Excel 或 WPS 另存为 .xlsx"
        ) from exc
    if META_SHEET not in wb.sheetnames:
        raise EvaluationError(
            f"{name} 不是本系统生成的评分表（缺少隐藏工作表 _meta）：请在下发的评分表上填写"
        )
    meta = [list(r) for r in wb[META_SHEET].iter_rows(values_only=True)]
    panel_name = next((str(r[1]) for r in meta if r and r[0] == "panel"), "")
    found = PANEL_IN_SHEET.search(panel_name)
    if not found:
        raise EvaluationError(f"{name} 的评定组信息缺失：请使用下发的原评分表")
    criteria = {str(r[4]): (str(r[1]), str(r[2]), float(r[3])) for r in meta if r[0] == "criterion"}
    sheets = [(str(r[1]), str(r[2])) for r in meta if r[0] == "expert"]
    problems: list[str] = []
    collected: dict[tuple[str, str], dict[str, float]] = {}
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated"):
            raise EvaluationError(f"{ctx.year}年成果评分已汇总，不再接收评分表 {name}")
        panel = _panel(uow, ctx, found.group(1))
        apps = {
            result_key(a): a
            for a in uow.session.scalars(
                select(orm.Application).where(orm.Application.id.in_(panel.application_ids))
            )
        }
        filled: list[str] = []
        for sheet, label in sheets:
            if sheet not in wb.sheetnames:
                continue
            ws = wb[sheet]
            m = EXPERT_IN_SHEET.search(label)
            key = m.group(1) if m else ""
            headers = [c.value for c in ws[2]]
            if "成果编号" not in headers:
                problems.append(f"{name} 工作表「{sheet}」第2行缺少表头「成果编号」：请勿修改表头")
                continue
            key_col = headers.index("成果编号") + 1
            cells: list[tuple[int, str, str, object]] = []
            for r in range(3, ws.max_row + 1):
                rk = _cell_text(ws.cell(row=r, column=key_col).value)
                if not rk or rk.startswith("专家签字"):
                    continue
                for letter in criteria:
                    cells.append((r, rk, letter, ws[f"{letter}{r}"].value))
            if all(v is None or (isinstance(v, str) and not v.strip()) for *_, v in cells):
                continue  # this expert has not scored yet
            if key not in panel.members:
                problems.append(
                    f"{name} 工作表「{sheet}」：专家 {label} 已不是评定组{panel.key}的成员"
                    "（已谢绝或被替换），其评分不予接收：请删除该工作表中的评分"
                )
                continue
            filled.append(key)
            seen_results: set[str] = set()
            for r, rk, letter, value in cells:
                ckey, cname, mx = criteria[letter]
                header = f"{cname}（{mx:g}分）"
                where = f"{name} 工作表「{sheet}」第{r}行 {letter}列「{header}」"
                if rk not in apps:
                    if letter == next(iter(criteria)):
                        problems.append(
                            f"{name} 工作表「{sheet}」第{r}行：成果编号「{rk}」不属于评定组{panel.key}，"
                            "请勿修改成果编号"
                        )
                    continue
                seen_results.add(rk)
                if value is None or (isinstance(value, str) and not value.strip()):
                    problems.append(f"{where}：未填写，应为 0～{mx:g} 分")
                    continue
                number = _number(value)
                if number is None:
                    problems.append(f"{where}：「{value}」不是数字，应为 0～{mx:g} 分")
                elif not 0 <= number <= mx:
                    problems.append(f"{where}：{number:g} 超出允许范围 0～{mx:g} 分")
                else:
                    collected.setdefault((key, rk), {})[ckey] = number
            for rk in sorted(set(apps) - seen_results):
                problems.append(f"{name} 工作表「{sheet}」：缺少成果「{rk}」的评分行，请勿删除行")
        if problems:
            raise EvaluationError(
                f"评分表 {name} 有{len(problems)}处错误，本次未保存任何评分", problems
            )
        if not filled:
            raise EvaluationError(f"评分表 {name} 中没有任何专家填写的评分：请填写后再导入")
        existing = {
            (s.expert_key, s.application_id): s
            for s in uow.session.scalars(
                select(orm.PanelScore).where(orm.PanelScore.panel_id == panel.id)
            )
        }
        for (ekey, rk), scores in collected.items():
            app = apps[rk]
            total = round(math.fsum(scores.values()), 2)
            row = existing.get((ekey, app.id))
            if row is None:
                uow.session.add(
                    orm.PanelScore(
                        panel_id=panel.id,
                        application_id=app.id,
                        expert_key=ekey,
                        scores=scores,
                        total=total,
                    )
                )
            else:
                row.scores = scores
                row.total = total
        uow.commit()
        return ScoreImport(panel_key=panel.key, experts=filled, rows=len(collected))


def missing_scores(uow: UnitOfWork, ctx: CampaignContext) -> dict[str, list[str]]:
    """Panel key -> the labels of members who have not scored every result of the panel."""
    panels = uow.session.scalars(
        select(orm.ExpertPanel)
        .where(orm.ExpertPanel.campaign_id == ctx.campaign_id)
        .order_by(orm.ExpertPanel.key)
    ).all()
    have: dict[int, dict[str, int]] = {}
    for panel_id, ekey in uow.session.execute(
        select(orm.PanelScore.panel_id, orm.PanelScore.expert_key)
        .join(orm.ExpertPanel, orm.ExpertPanel.id == orm.PanelScore.panel_id)
        .where(orm.ExpertPanel.campaign_id == ctx.campaign_id)
    ):
        per = have.setdefault(panel_id, {})
        per[ekey] = per.get(ekey, 0) + 1
    names = {k: n for k, n in uow.session.execute(select(orm.Expert.key, orm.Expert.name))}
    missing: dict[str, list[str]] = {}
    for panel in panels:
        need = len(panel.application_ids)
        lacking = [
            f"{names.get(k, k)}（{k}）"
            for k in panel.members
            if have.get(panel.id, {}).get(k, 0) < need
        ]
        if lacking:
            missing[panel.key] = lacking
    return missing


class _Aggregated(BaseModel):
    application_id: int
    key: str
    chain: str
    score: ResultScore


def aggregate_panels(
    rows: Iterable[tuple[int, str, str, str, dict[str, float]]],
) -> list[_Aggregated]:
    """`(application_id, result_key, chain, expert_key, scores)` rows -> each result's score."""
    by_app: dict[int, tuple[str, str, dict[str, dict[str, float]]]] = {}
    for app_id, key, chain, ekey, scores in rows:
        by_app.setdefault(app_id, (key, chain, {}))[2][ekey] = scores
    return [
        _Aggregated(
            application_id=app_id,
            key=key,
            chain=chain,
            score=aggregate(sheets, result_key=key),
        )
        for app_id, (key, chain, sheets) in by_app.items()
    ]


@task(name="aggregate-scores", task_run_name="aggregate-{ctx.year}")
def aggregate_scores(ctx: CampaignContext, outcome: StageReport) -> bool:
    """When every panel has scored (or at the scores deadline, with what is in): each result's
    score, ranks overall and per chain, the proposed excellent list; outliers flagged. True once
    aggregated."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated"):
            return True
        missing = missing_scores(uow, ctx)
        due = ctx.is_due(ctx.calendar.scores_due)
        if missing and not due:
            outcome.waiting.append(
                f"评分截止 {ctx.calendar.scores_due.astimezone(SHANGHAI):%Y-%m-%d %H:%M}，"
                f"尚有{len(missing)}个评定组未交齐评分："
                + "；".join(f"评定组{k}：{'、'.join(v)}" for k, v in list(missing.items())[:10])
            )
            return False
        panels = {
            p.id: p
            for p in uow.session.scalars(
                select(orm.ExpertPanel).where(orm.ExpertPanel.campaign_id == ctx.campaign_id)
            )
        }
        if not panels:
            return False
        apps = {
            a.id: a
            for a in uow.repo.applications(ctx.campaign_id, [ProjectState.RESULTS_SUBMITTED])
        }
        score_rows = uow.session.execute(
            select(
                orm.PanelScore.panel_id,
                orm.PanelScore.application_id,
                orm.PanelScore.expert_key,
                orm.PanelScore.scores,
            ).where(orm.PanelScore.panel_id.in_(list(panels)))
        ).all()
        members = {i: set(p.members) for i, p in panels.items()}
        if not score_rows:
            outcome.waiting.append("评分截止时间已过，但尚未收到任何评分表：请催交后导入")
            return False
        aggregated = aggregate_panels(
            (
                s.application_id,
                result_key(apps[s.application_id]),
                apps[s.application_id].chain,
                s.expert_key,
                dict(s.scores),
            )
            for s in score_rows
            if s.application_id in apps and s.expert_key in members[s.panel_id]
        )
        ranked = rank((a.key, a.chain, a.score) for a in aggregated)
        proposal = excellent(ranked, ctx.rules.excellent_threshold, ctx.rules.excellent_quota)
        proposed = {r.result_key for r in proposal.selected}
        by_key = {a.key: a for a in aggregated}
        existing = {
            r.application_id: r
            for r in uow.session.scalars(
                select(orm.ResultScore).where(
                    orm.ResultScore.application_id.in_([a.application_id for a in aggregated])
                )
            )
        }
        for row in ranked:
            agg = by_key[row.result_key]
            values = {
                "score": row.score,
                "effect_score": row.effect_score,
                "rank": row.overall_rank,
                "rank_in_chain": row.chain_rank,
                "excellent": row.result_key in proposed,
            }
            record = existing.get(agg.application_id)
            if record is None:
                uow.session.add(orm.ResultScore(application_id=agg.application_id, **values))
            else:
                for attr, value in values.items():
                    setattr(record, attr, value)
        flagged = outliers(
            {a.key: {e: t for e, t in a.score.expert_totals.items()} for a in aggregated},
            threshold=OUTLIER_POINTS,
        )
        unscored = sorted(
            result_key(a)
            for i, a in apps.items()
            if i not in {x.application_id for x in aggregated}
        )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "aggregated",
            as_of=ctx.now,
            summary={
                "results": len(ranked),
                "proposed": len(proposed),
                "over_quota": [r.result_key for r in proposal.over_quota],
                "threshold": ctx.rules.excellent_threshold,
                "quota": ctx.rules.excellent_quota,
                "missing": missing,
                "unscored": unscored,
                "outliers": [o.model_dump() for o in flagged],
            },
        )
        uow.commit()
    outcome.done.append(
        f"汇总评分：{len(ranked)}项成果（去掉一个最高分和一个最低分后取平均），"
        f"拟认定优秀成果{len(proposed)}项（{ctx.rules.excellent_threshold:g}分及以上"
        + (f"，名额{ctx.rules.excellent_quota}项" if ctx.rules.excellent_quota else "")
        + "）"
    )
    if missing:
        outcome.done.append(
            "评分截止时未交齐："
            + "；".join(f"评定组{k}：{'、'.join(v)}" for k, v in missing.items())
        )
    for o in flagged[:20]:
        outcome.done.append(f"评分偏离提示：{o.message}")
    if len(flagged) > 20:
        outcome.done.append(f"另有{len(flagged) - 20}处评分偏离提示，见评分汇总记录")
    outcome.counts["已评分成果"] = len(ranked)
    outcome.counts["拟认定优秀成果"] = len(proposed)
    outcome.counts["评分偏离提示"] = len(flagged)
    return True


# ---------------------------------------------------------------------------------------------
# 4. the decision on the excellent list


@dataclass
class Proposal:
    threshold: float
    quota: int | None
    rows: list[
        tuple[str, str, str, float, int, int, bool]
    ]  # key, title, chain, score, rank, chain rank, proposed

    @property
    def proposed(self) -> list[str]:
        return [r[0] for r in self.rows if r[6]]


def excellent_proposal(ctx: CampaignContext) -> Proposal | None:
    """The ranked results and the proposed list; None before aggregation."""
    with UnitOfWork() as uow:
        if not uow.repo.step_done(ctx.campaign_id, STAGE, "aggregated"):
            return None
        rows = uow.session.execute(
            select(orm.Application, orm.ResultScore)
            .join(orm.ResultScore, orm.ResultScore.application_id == orm.Application.id)
            .where(orm.Application.campaign_id == ctx.campaign_id, orm.Application.is_current)
            .order_by(orm.ResultScore.rank)
        ).all()
        return Proposal(
            threshold=ctx.rules.excellent_threshold,
            quota=ctx.rules.excellent_quota,
            rows=[
                (result_key(a), a.title, a.chain, s.score, s.rank, s.rank_in_chain, s.excellent)
                for a, s in rows
            ],
        )


def excellent_confirmed(ctx: CampaignContext) -> bool:
    with UnitOfWork() as uow:
        return uow.repo.step_done(ctx.campaign_id, STAGE, "excellent_confirmed") is not None


def confirm_excellent(
    ctx: CampaignContext,
    decided_by: str,
    *,
    source: str,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    reason: str = "",
) -> tuple[int, int]:
    """Staff confirm the excellent list: a Decision(kind="excellent") per scored result.
    `exclude` takes proposed results off the list, `include` adds scored ones (both by result
    key, with `reason`). Returns (excellent, not excellent)."""
    if not decided_by.strip():
        raise EvaluationError("请填写确认人姓名（--by）")
    proposal = excellent_proposal(ctx)
    if proposal is None:
        raise EvaluationError(f"{ctx.year}年成果评分尚未汇总，暂不能确认优秀成果名单")
    keys = {r[0] for r in proposal.rows}
    exclude_set, include_set = set(exclude), set(include)
    unknown = sorted((exclude_set | include_set) - keys)
    if unknown:
        raise EvaluationError(
            "以下成果编号不在评分结果中",
            [f"成果编号「{k}」：请核对（见评分汇总表）" for k in unknown],
        )
    if (exclude_set or include_set) and not reason.strip():
        raise EvaluationError("调整拟认定名单时请填写理由（--reason）")
    counts = [0, 0]
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "excellent_confirmed"):
            raise EvaluationError(f"{ctx.year}年优秀成果名单已确认，不能重复确认")
        apps = {result_key(a): a for a in uow.repo.applications(ctx.campaign_id)}
        for key, _title, _chain, score, rnk, chain_rank, proposed in proposal.rows:
            chosen = (proposed and key not in exclude_set) or key in include_set
            why = f"评定得分{score:g}分，总排名第{rnk}名，产业链内第{chain_rank}名"
            if key in exclude_set:
                why += f"；拟认定名单中调出：{reason}"
            elif key in include_set:
                why += f"；增补认定：{reason}"
            elif proposed:
                why += f"；达到优秀成果分数线{proposal.threshold:g}分"
            else:
                why += f"；未达到优秀成果分数线{proposal.threshold:g}分或超出名额"
            uow.session.add(
                orm.Decision(
                    campaign_id=ctx.campaign_id,
                    application_id=apps[key].id,
                    kind="excellent",
                    outcome=EXCELLENT if chosen else NOT_EXCELLENT,
                    reason=why,
                    decided_by=decided_by,
                    decided_at=ctx.now,
                    source=source,
                )
            )
            counts[0 if chosen else 1] += 1
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "excellent_confirmed",
            as_of=ctx.now,
            summary={"by": decided_by, "source": source, "excellent": counts[0], "not": counts[1]},
        )
        uow.commit()
    return counts[0], counts[1]


@task(name="apply-excellent-decisions", task_run_name="apply-decisions-{ctx.year}")
def apply_excellent_decisions(ctx: CampaignContext, outcome: StageReport) -> None:
    """Move each decided result: results_submitted -> excellent / evaluated, with its reason."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "states_applied"):
            outcome.complete = True
            return
        if not uow.repo.step_done(ctx.campaign_id, STAGE, "excellent_confirmed"):
            outcome.waiting.append(
                "等待质量发展处确认优秀成果名单（仪表盘确认表单，或 "
                f"qcamp evaluation confirm --year {ctx.year} --by 姓名）"
            )
            return
        decisions = {
            d.application_id: d
            for d in uow.session.scalars(
                select(orm.Decision).where(
                    orm.Decision.campaign_id == ctx.campaign_id, orm.Decision.kind == "excellent"
                )
            )
        }
        moved = [0, 0, 0]
        for app in uow.repo.applications(ctx.campaign_id, [ProjectState.RESULTS_SUBMITTED]):
            d = decisions.get(app.id)
            if d is None:
                uow.repo.move(
                    app,
                    ProjectState.EVALUATED,
                    at=ctx.now,
                    actor="rule:scores_due",
                    reason="评分截止时没有有效专家评分，未参加排名",
                )
                moved[2] += 1
                continue
            target = ProjectState.EXCELLENT if d.outcome == EXCELLENT else ProjectState.EVALUATED
            uow.repo.move(app, target, at=ctx.now, actor=d.decided_by, reason=d.reason)
            moved[0 if target == ProjectState.EXCELLENT else 1] += 1
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "states_applied",
            as_of=ctx.now,
            summary={"excellent": moved[0], "evaluated": moved[1], "unscored": moved[2]},
        )
        uow.commit()
    outcome.done.append(
        f"按确认的名单更新状态：拟认定优秀成果{moved[0]}项，已评定{moved[1]}项"
        + (f"，无评分{moved[2]}项" if moved[2] else "")
    )
    outcome.counts["拟认定优秀成果"] = moved[0]
    outcome.complete = True
