"""The demo's simulated participants for stages 7-8: the expert pool, an expert who declines, the
experts filling their score sheets (real .xlsx files imported like any other), the staff's
scripted confirmation of the excellent list, and one objection during the 公示, dismissed.

`simulate_late(ctx, rng)` runs at every tick before the campaign; it does what the participants
would have done by `ctx.now` and has not been done yet, so running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import zipfile
from pathlib import Path

from lxml import etree
from openpyxl import Workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from sqlalchemy import select

from domain.calendar import SHANGHAI
from domain.models import DISTRICTS, FOCUS_CHAINS
from domain.workdays import next_working_day
from services.context import CampaignContext
from simulation.early import CITY_UNITS, person_name
from storage import orm
from storage.uow import UnitOfWork
from tasks.evaluation import (
    confirm_excellent,
    decline,
    excellent_confirmed,
    import_scores,
    missing_scores,
    panel_sheet_path,
    write_panel_sheet,
)
from tasks.publicity import add_objection, resolve_objection

POLICY_BY = "质量发展处（演示脚本）"
SCORING_DAYS = 2  # experts return their sheets this many days after the draw

UNIVERSITIES = ["天津大学", "南开大学", "天津工业大学", "天津科技大学", "河北工业大学", "天津理工大学",
                "中国民航大学", "天津职业技术师范大学", "天津中医药大学", "天津医科大学"]  # fmt: skip
INSTITUTES = ["天津市产品质量监督检测技术研究院", "天津市标准化研究院", "天津市计量监督检测科学研究院",
              "中国汽车技术研究中心有限公司", "天津市特种设备监督检验技术研究院",
              "天津市药品检验研究院", "中国电子科技集团公司第四十六研究所",
              "天津市质量管理协会", "天津市质量奖审定委员会办公室",
              "天津市工业和信息化研究院"]  # fmt: skip
TITLES = ["教授", "研究员", "正高级工程师", "高级工程师", "副教授", "高级经济师"]


def make_expert_pool(rng: random.Random, n: int, folder: Path) -> Path:
    """专家库.xlsx: experts of universities, institutes and quality-technical bodies covering
    every chain, plus a few from recommending units, so that recusal is exercised."""
    folder.mkdir(parents=True, exist_ok=True)
    recommending = [name for _, name, _ in CITY_UNITS] + [
        f"天津市{d}市场监督管理局" for d in DISTRICTS[:4]
    ]
    wb = Workbook()
    ws = wb.active
    ws.title = "专家库"
    ws.append(["姓名", "单位", "专业领域", "职称", "电话", "邮箱", "回避单位"])
    used: set[str] = set()
    for i in range(n):
        name = person_name(rng)
        while name in used:
            name = person_name(rng)
        used.add(name)
        if i % 9 == 4:
            organisation = rng.choice(recommending)
        elif i % 2 == 0:
            organisation = rng.choice(UNIVERSITIES)
        else:
            organisation = rng.choice(INSTITUTES)
        primary = FOCUS_CHAINS[i % len(FOCUS_CHAINS)]
        fields = [
            primary,
            *rng.sample([c for c in FOCUS_CHAINS if c != primary], rng.randint(0, 2)),
        ]
        recused = rng.choice(recommending) if i % 11 == 7 else ""
        ws.append(
            [
                name,
                organisation,
                "、".join(fields),
                rng.choice(TITLES),
                f"13{rng.randint(100000000, 999999999)}",
                f"expert{i:03d}@tj.example.cn",
                recused,
            ]
        )
    path = folder / "专家库.xlsx"
    wb.save(path)
    return path


def _unit(text: str) -> float:
    """A stable number in [0, 1) for a text (the same result always has the same quality)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0x100000000


def _fill(source: Path, target: Path, rng: random.Random, harsh_label: str | None) -> Path:
    """An expert's filled copy of the panel's score workbook: a number in every criterion cell
    of every result row on each expert's sheet, as Excel stores a typed number (``<v>`` in the
    cell the sheet already has). The sheets' XML is read and edited directly; everything else
    in the file is copied as it is."""
    with zipfile.ZipFile(source) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    shared = _shared_strings(parts)
    sheet_parts = _sheet_parts(parts)
    meta = _rows(_cells(parts[sheet_parts["_meta"]], shared))
    criteria = [(str(r[4]), float(r[3])) for r in meta if r and r[0] == "criterion"]
    for sheet, label in [(str(r[1]), str(r[2])) for r in meta if r and r[0] == "expert"]:
        part = sheet_parts[sheet]
        rows = _rows(_cells(parts[part], shared))
        key_col = rows[1].index("成果编号")
        bias = (_unit(label) - 0.5) * 0.06
        if label == harsh_label:
            bias -= 0.25
        scores: dict[str, float] = {}
        for r, row in enumerate(rows[2:], start=3):
            key = row[key_col] if key_col < len(row) else None
            if not key or str(key).startswith("专家签字"):
                continue
            latent = 0.68 + 0.28 * _unit(f"quality:{key}")
            for letter, mx in criteria:
                share = latent + bias + rng.gauss(0, 0.03)
                scores[f"{letter}{r}"] = round(min(mx, max(0.0, mx * share)) * 2) / 2
        parts[part] = _put_numbers(parts[part].decode("utf-8"), scores).encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, blob in parts.items():
            package.writestr(name, blob)
    return target


def _shared_strings(parts: dict[str, bytes]) -> list[str]:
    blob = parts.get("xl/sharedStrings.xml")
    if blob is None:
        return []
    return ["".join(si.itertext()) for si in etree.fromstring(blob).iter(f"{_MAIN}si")]


def _cells(blob: bytes, shared: list[str]) -> dict[tuple[int, int], object]:
    """(row, column) -> value of a sheet's cells that have one (1-based, as Excel numbers)."""
    out: dict[tuple[int, int], object] = {}
    for c in etree.fromstring(blob).iter(f"{_MAIN}c"):
        kind = c.get("t", "n")
        v = c.find(f"{_MAIN}v")
        if kind == "inlineStr":
            value: object = "".join(c.itertext())
        elif v is None or v.text is None:
            continue
        elif kind == "s":
            value = shared[int(v.text)]
        elif kind == "n":
            number = float(v.text)
            value = int(number) if number.is_integer() else number
        else:
            value = v.text
        column, row = coordinate_from_string(c.get("r", ""))
        out[row, column_index_from_string(column)] = value
    return out


def _rows(cells: dict[tuple[int, int], object]) -> list[list[object]]:
    """The cells as rows from row 1 (missing cells are None)."""
    if not cells:
        return []
    rows: list[list[object]] = [[] for _ in range(max(r for r, _ in cells))]
    for (r, c), value in cells.items():
        row = rows[r - 1]
        row.extend([None] * (c - len(row)))
        row[c - 1] = value
    return rows


_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> its part in the package (from the workbook and its relationships)."""
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in etree.fromstring(parts["xl/_rels/workbook.xml.rels"]).iter(
            f"{_RELS}Relationship"
        )
    }
    out: dict[str, str] = {}
    for sheet in etree.fromstring(parts["xl/workbook.xml"]).iter(f"{_MAIN}sheet"):
        target = targets[sheet.get(_REL_ID)]
        out[sheet.get("name", "")] = (
            target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        )
    return out


_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|></c>)')


def _put_numbers(xml: str, numbers: dict[str, float]) -> str:
    """Give the empty cells named in ``numbers`` their value; every one must be in the sheet."""
    done: set[str] = set()

    def fill(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref not in numbers:
            return m.group(0)
        done.add(ref)
        attributes = re.sub(r' t="[^"]*"', "", m.group(2))
        return f'<c r="{ref}"{attributes}><v>{numbers[ref]!r}</v></c>'

    xml = _CELL.sub(fill, xml)
    missing = numbers.keys() - done
    if missing:
        raise ValueError(f"评分表中没有这些单元格：{'、'.join(sorted(missing)[:5])}")
    return xml


def _simulate_evaluation(ctx: CampaignContext, rng: random.Random) -> None:
    with UnitOfWork() as uow:
        step = uow.repo.step_done(ctx.campaign_id, "evaluation", "panels_drawn")
        if step is None or uow.repo.step_done(ctx.campaign_id, "evaluation", "aggregated"):
            return
        if ctx.now < step.as_of + dt.timedelta(days=SCORING_DAYS):
            return
        panels = uow.session.scalars(
            select(orm.ExpertPanel)
            .where(orm.ExpertPanel.campaign_id == ctx.campaign_id)
            .order_by(orm.ExpertPanel.key)
        ).all()
        declined_before = any((p.draw_record or {}).get("declined") for p in panels)
        first = next((p for p in panels if p.reserves), None)
        decliner = (first.key, first.members[-1]) if first and not declined_before else None
        missing = missing_scores(uow, ctx)
    if decliner is not None:
        decline(ctx, decliner[0], decliner[1], "评审期间出差在外，无法参加（演示）")
        with UnitOfWork() as uow:
            missing = missing_scores(uow, ctx)
    returned = ctx.out_dir / "simulation" / "专家回传评分表"
    returned.mkdir(parents=True, exist_ok=True)
    harsh_done = False
    for panel_key in sorted(missing):
        with UnitOfWork() as uow:
            panel = uow.session.scalar(
                select(orm.ExpertPanel).where(
                    orm.ExpertPanel.campaign_id == ctx.campaign_id,
                    orm.ExpertPanel.key == panel_key,
                )
            )
            assert panel is not None
            sheet = panel_sheet_path(ctx, panel)  # as sent to the experts (rewritten on decline)
            if not sheet.exists():
                sheet = write_panel_sheet(ctx, uow, panel)
            harsh = None
            if not harsh_done:
                member = uow.session.scalar(
                    select(orm.Expert).where(orm.Expert.key == panel.members[0])
                )
                harsh = f"{member.name}（{member.key}）" if member else None
                harsh_done = True
            uow.commit()
        target = returned / sheet.name.replace(".xlsx", "_已填.xlsx")
        import_scores(ctx, _fill(sheet, target, rng, harsh))


def _simulate_decision(ctx: CampaignContext) -> None:
    if not ctx.is_due(ctx.calendar.excellent_decision) or excellent_confirmed(ctx):
        return
    with UnitOfWork() as uow:
        if not uow.repo.step_done(ctx.campaign_id, "evaluation", "aggregated"):
            return
    confirm_excellent(ctx, POLICY_BY, source="policy")


def _simulate_objection(ctx: CampaignContext, rng: random.Random) -> None:
    with UnitOfWork() as uow:
        notice = uow.session.scalar(
            select(orm.PublicNotice).where(
                orm.PublicNotice.campaign_id == ctx.campaign_id,
                orm.PublicNotice.kind == "publicity",
            )
        )
        if notice is None or not notice.application_ids:
            return
        objections = uow.session.scalars(
            select(orm.Objection).where(orm.Objection.campaign_id == ctx.campaign_id)
        ).all()
        target = uow.session.get(orm.Application, sorted(notice.application_ids)[0])
        assert target is not None
        ref = target.plan_number or str(target.id)
        starts_on = notice.starts_on
    received = dt.datetime.combine(
        next_working_day(starts_on, include_self=False), dt.time(10, 30), tzinfo=SHANGHAI
    )
    if not objections and ctx.now >= received:
        add_objection(
            ctx,
            ref,
            f"{person_name(rng)}（实名，联系电话 13{rng.randint(100000000, 999999999)}）",
            "反映该成果的经济效益数据与企业年报不一致，请核实。",
            received,
        )
        with UnitOfWork() as uow:
            objections = uow.session.scalars(
                select(orm.Objection).where(orm.Objection.campaign_id == ctx.campaign_id)
            ).all()
    resolve_at = received + dt.timedelta(days=2)
    for objection in objections:
        if objection.outcome is None and ctx.now >= resolve_at:
            resolve_objection(
                ctx,
                objection.id,
                "dismissed",
                "经核实，成果材料中的经济效益为攻关项目产生的直接效益，与年报口径不同，数据真实",
                resolved_at=resolve_at,
            )


def simulate_late(ctx: CampaignContext, rng: random.Random) -> None:
    """What experts and staff would have done by `ctx.now` (idempotent)."""
    _simulate_evaluation(ctx, rng)
    _simulate_decision(ctx)
    _simulate_objection(ctx, rng)
