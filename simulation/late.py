"""The demo's simulated participants for stages 7-8: the expert pool, an expert who declines, the
experts filling their score sheets (real .xlsx files imported like any other), the staff's
scripted confirmation of the excellent list, and one objection during the 公示, dismissed.

`simulate_late(world, rng, memory)` runs at every tick before the campaign; it does what the
participants would have done by `world.now` and have not done yet, learning it from the messages
they received (invitations with the score sheets, the public notice), the published draw record
and `qcamp status`, and acting through `qcamp` (decline, scores import, confirm, objections)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import random
import re
import zipfile
from pathlib import Path

from lxml import etree
from openpyxl import Workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from domain.calendar import SHANGHAI
from domain.models import DISTRICTS, FOCUS_CHAINS
from domain.workdays import next_working_day
from simulation.early import CITY_UNITS, person_name
from simulation.middle import Memory
from simulation.sheets import save_typed_register
from simulation.world import SimulationError, World

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
    return save_typed_register(wb, folder / "专家库.xlsx", [10, 30, 30, 14, 14, 26, 30])


def _unit(text: str) -> float:
    """A stable number in [0, 1) for a text (the same result always has the same quality)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0x100000000


def _fill(source: Path | bytes, target: Path, rng: random.Random, harsh_label: str | None) -> Path:
    """An expert's filled copy of the panel's score workbook: a number in every criterion cell
    of every result row on each expert's sheet, as Excel stores a typed number (``<v>`` in the
    cell the sheet already has). The sheets' XML is read and edited directly; everything else
    in the file is copied as it is."""
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    shared = _shared_strings(parts)
    sheet_parts = _sheet_parts(parts)
    meta = _rows(_cells(parts[sheet_parts["_meta"]], shared))

    def kind(row: list[object], index: int) -> str:  # the sheet's 课题类型 ("" for one rubric)
        return str(row[index] or "") if len(row) > index else ""

    experts = [(str(r[1]), str(r[2]), kind(r, 3)) for r in meta if r and r[0] == "expert"]
    for sheet, label, sheet_kind in experts:
        criteria = [
            (str(r[4]), float(r[3]))
            for r in meta
            if r and r[0] == "criterion" and kind(r, 5) == sheet_kind
        ]
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


def _first_invitation(world: World) -> dt.datetime | None:
    """When the experts were first invited to score."""
    invited = world.mailbox.of("panel_invitation")
    return invited[0].date if invited else None


def _draw_record(world: World) -> list[dict]:
    """The panels as the published draw record lists them (members, reserves, declined)."""
    path = world.folder("成果评定") / f"{world.year}年质量攻关评定组抽取记录.json"
    if not path.exists():
        return []
    panels = json.loads(path.read_text(encoding="utf-8")).get("panels", [])
    return sorted(panels, key=lambda p: p["panel_id"])


def _sheet_name(world: World, panel_key: str) -> str:
    return f"{world.year}年质量攻关成果评分表_评定组{panel_key}.xlsx"


def _simulate_evaluation(world: World, rng: random.Random, memory: Memory) -> None:
    """Two days after the draw, one expert declines and the experts return their filled sheets."""
    drawn = _first_invitation(world)
    if drawn is None or world.now < drawn + dt.timedelta(days=SCORING_DAYS):
        return
    panels = _draw_record(world)
    returned = world.out_dir / "simulation" / "专家回传评分表"
    missing = [
        p
        for p in panels
        if not (
            returned / _sheet_name(world, p["panel_id"]).replace(".xlsx", "_已填.xlsx")
        ).exists()
    ]
    if not missing:
        return
    declined_before = memory.declined or any(p.get("declined") for p in panels)
    first = next((p for p in panels if p.get("reserves")), None)
    if first is not None and not declined_before:
        world.run_now(
            "evaluation", "decline", "--panel", first["panel_id"], "--expert",
            first["members"][-1], "--reason", "评审期间出差在外，无法参加（演示）",
        )  # fmt: skip
        memory.declined = True
    returned.mkdir(parents=True, exist_ok=True)
    harsh_done = False
    for panel in missing:
        name = _sheet_name(world, panel["panel_id"])
        # as sent to the experts: the commission rewrites it when a member is replaced
        sheet = (world.folder("成果评定") / "评分表" / name).read_bytes()
        harsh = None
        if not harsh_done:
            harsh = _expert_label(sheet, panel["members"][0])
            harsh_done = True
        target = returned / name.replace(".xlsx", "_已填.xlsx")
        world.run_now("scores", "import", _fill(sheet, target, rng, harsh))


def _expert_label(sheet: bytes, expert_key: str) -> str | None:
    """How the score sheet names one expert: "姓名（编号）"."""
    with zipfile.ZipFile(io.BytesIO(sheet)) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    meta = _rows(_cells(parts[_sheet_parts(parts)["_meta"]], _shared_strings(parts)))
    labels = [str(r[2]) for r in meta if r and r[0] == "expert"]
    return next((label for label in labels if label.endswith(f"（{expert_key}）")), None)


def _evaluation_steps(world: World) -> set[str]:
    """The 成果评定 steps done, by their keys in `qcamp status --json`."""
    status = json.loads(world.run("status", "--json"))
    return set(status["stage_steps"].get("evaluation", []))


def _simulate_decision(world: World) -> None:
    if not world.is_due(world.calendar.excellent_decision):
        return
    steps = _evaluation_steps(world)
    if "excellent_confirmed" in steps or "aggregated" not in steps:
        return
    world.run_now("evaluation", "confirm", "--by", POLICY_BY)


PUBLICITY_START = re.compile(r"公示期为(\d{4})年(\d{1,2})月(\d{1,2})日至")
NOTICE_LINE = re.compile(r"^\d+\. (.+?)：(.+)$", re.MULTILINE)


def _publicity(world: World, memory: Memory) -> tuple[str, dt.date] | None:
    """The first result on the public notice (by 申报编号) and the day the notice starts, from
    the notice the units received."""
    notices = world.mailbox.of("public_notice")
    if not notices:
        return None
    found = PUBLICITY_START.search(notices[0].text)
    if found is None:
        return None
    listed = [
        memory.audit_keys[title, applicant]
        for msg in notices
        for applicant, title in NOTICE_LINE.findall(msg.text)
    ]
    if not listed:
        return None
    first = min(listed)
    plan = next((p.plan_number for p in memory.plan(world) if p.key == first), str(first))
    return plan, dt.date(*(int(x) for x in found.groups()))


def _simulate_objection(world: World, rng: random.Random, memory: Memory) -> None:
    notice = _publicity(world, memory)
    if notice is None:
        return
    ref, starts_on = notice
    received = dt.datetime.combine(
        next_working_day(starts_on, include_self=False), dt.time(10, 30), tzinfo=SHANGHAI
    )
    if not memory.objections and world.now >= received:
        printed = world.run_now(
            "objections", "add", "--project", ref,
            "--by", f"{person_name(rng)}（实名，联系电话 13{rng.randint(100000000, 999999999)}）",
            "--content", "反映该成果的经济效益数据与企业年报不一致，请核实。",
            "--received", received.isoformat(),
        )  # fmt: skip
        number = re.search(r"编号 (\d+)", printed)
        if number is None:
            raise SimulationError(f"异议登记未返回编号：{printed}")
        memory.objections[int(number.group(1))] = False
    resolve_at = received + dt.timedelta(days=2)
    for objection, resolved in list(memory.objections.items()):
        if not resolved and world.now >= resolve_at:
            world.qcamp(
                "objections", "resolve", "--id", objection, "--outcome", "dismissed",
                "--reason",
                "经核实，成果材料中的经济效益为攻关项目产生的直接效益，与年报口径不同，数据真实",
                "--year", world.year, "--as-of", resolve_at.isoformat(),
            )  # fmt: skip
            memory.objections[objection] = True


def simulate_late(world: World, rng: random.Random, memory: Memory) -> None:
    """What experts and staff would have done by `world.now`."""
    _simulate_evaluation(world, rng, memory)
    _simulate_decision(world)
    _simulate_objection(world, rng, memory)
