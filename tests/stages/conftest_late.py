"""Helpers for the stage 7-9 tests and the benchmark: records built through the repository, an
expert pool, and filled score sheets (no demo, no intake)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from openpyxl import Workbook, load_workbook

from domain.calendar import SHANGHAI
from domain.states import ProjectState
from services.context import CampaignContext, open_campaign
from storage import orm
from storage.uow import UnitOfWork

CHAINS = ("焊材", "汽车及新能源汽车", "生物医药", "信创")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def make_context(year: int, as_of: str) -> CampaignContext:
    return open_campaign(year, as_of)


def late_context(year: int, as_of: str, publicity_start: dt.date) -> CampaignContext:
    """The campaign at `as_of`, with its evaluation calendar moved into late September, before
    `publicity_start` (so stages 7-9 run without waiting for the real October dates)."""
    ctx = make_context(year, as_of)
    tz = ctx.calendar.panel_draw.tzinfo
    ctx.config.calendar = ctx.calendar.model_copy(
        update={
            "panel_draw": dt.datetime(year, 9, 20, 9, tzinfo=tz),
            "scores_due": dt.datetime(year, 9, 25, 18, tzinfo=tz),
            "excellent_decision": dt.datetime(year, 9, 26, 9, tzinfo=tz),
            "publicity_start": publicity_start,
        }
    )
    return ctx


def build_results(
    ctx: CampaignContext, n: int, *, seed: int = 7, units: int = 6, people: int = 4
) -> list[int]:
    """`n` applications in state results_submitted, spread over chains and recommending units,
    each with its project people; some joint. Returns their ids."""
    rng = random.Random(seed)
    ids: list[int] = []
    with UnitOfWork() as uow:
        ru = []
        for i in range(units):
            unit = orm.RecommendingUnit(
                code=f"RU{i:02d}",
                name=f"天津市第{i + 1}推荐单位",
                kind="行业协会",
                contact=person_name(rng),
                email=f"ru{i}@example.cn",
            )
            uow.session.add(unit)
            ru.append(unit)
        uow.session.flush()
        batches = {}
        for unit in ru:
            batch = orm.SubmissionBatch(
                campaign_id=ctx.campaign_id,
                recommending_unit_id=unit.id,
                version=1,
                received_at=dt.datetime(ctx.year, 4, 10, tzinfo=SHANGHAI),
                content_hash="x",
                status="received",
            )
            uow.session.add(batch)
            batches[unit.id] = batch
        uow.session.flush()
        for i in range(n):
            unit = ru[i % len(ru)]
            joint = i % 5 == 0
            app = orm.Application(
                campaign_id=ctx.campaign_id,
                batch_id=batches[unit.id].id,
                recommending_unit_id=unit.id,
                source_file=f"form{i}.docx",
                title=f"提高第{i + 1}号产品一次交检合格率",
                applicant_name=f"天津市申报企业{i % (n // 2 + 1)}有限公司",
                uscc="",
                chain=CHAINS[i % len(CHAINS)],
                joint=joint,
                form={
                    "joint_units": f"天津大学、天津市联合单位{i}" if joint else "",
                    "kind": "创新型" if i % 3 == 2 else "问题解决型",  # 课题类型 on the form
                },
                state=ProjectState.RESULTS_SUBMITTED.value,
                plan_number=f"ZLGG{ctx.year}{i + 1:04d}",
            )
            for k in range(people):
                app.people.append(
                    orm.ProjectPerson(
                        person_key=f"p{i}-{k}",
                        name=person_name(rng) + (str(k) if k else ""),
                        role=("项目负责人", "质量负责人", "技术骨干", "技术骨干")[k % 4],
                        email=f"p{i}-{k}@example.cn",
                    )
                )
            uow.session.add(app)
            uow.session.flush()
            ids.append(app.id)
        uow.commit()
    return ids


def write_expert_pool(path: Path, n: int, *, seed: int = 11, conflicts: bool = True) -> Path:
    """An experts .xlsx; with `conflicts`, some experts sit in applicants, joint units or
    recommending units, and one is named like a project member."""
    rng = random.Random(seed)
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "单位", "专业领域", "职称", "电话", "邮箱", "回避单位"])
    for i in range(n):
        org = f"某高校{i % 7}"
        recused = ""
        if conflicts and i % 6 == 0:
            org = f"天津市申报企业{i % 4}有限公司"
        elif conflicts and i % 6 == 1:
            org = f"天津市第{i % 3 + 1}推荐单位"
        elif conflicts and i % 6 == 2:
            org = "天津大学"
        elif conflicts and i % 6 == 3:
            recused = f"天津市申报企业{(i + 1) % 4}有限公司"
        fields = "、".join(rng.sample(CHAINS, 2))
        ws.append(
            [
                f"专家{i:03d}",
                org,
                fields,
                "正高级工程师",
                f"1380000{i:04d}",
                f"e{i}@example.cn",
                recused,
            ]
        )
    wb.save(path)
    return path


def fill_score_sheet(
    source: Path,
    target: Path,
    *,
    rng: random.Random,
    quality: dict[str, float] | None = None,
    harsh: str | None = None,
) -> Path:
    """Fill every expert sheet of a score workbook like the experts would."""
    wb = load_workbook(source)
    meta = [list(r) for r in wb["_meta"].iter_rows(values_only=True)]

    def kind(row: list[object], index: int) -> str:
        return str(row[index] or "") if len(row) > index else ""

    experts = [(str(r[1]), str(r[2]), kind(r, 3)) for r in meta if r[0] == "expert"]
    for sheet, label, sheet_kind in experts:
        criteria = [
            (str(r[4]), float(r[3]))
            for r in meta
            if r[0] == "criterion" and kind(r, 5) == sheet_kind
        ]
        ws = wb[sheet]
        headers = [c.value for c in ws[2]]
        key_col = headers.index("成果编号") + 1
        for r in range(3, ws.max_row + 1):
            key = ws.cell(row=r, column=key_col).value
            if not key or str(key).startswith("专家"):
                continue
            q = (quality or {}).get(str(key), 0.8)
            if harsh and harsh in label:
                q -= 0.3
            for letter, mx in criteria:
                value = round(min(mx, max(0.0, mx * (q + rng.gauss(0, 0.04)))), 1)
                ws[f"{letter}{r}"] = value
    wb.save(target)
    return target


def ensure_tables() -> None:
    """Tables appended to the ORM after the last migration (the lead regenerates it)."""
    from storage.db import get_engine

    orm.Base.metadata.create_all(get_engine())


def outcome_for(stage: str, ctx: CampaignContext):  # noqa: ANN201 - a StageReport
    from services.context import StageReport

    return StageReport(stage=stage, as_of=ctx.now)


def score_all_panels(ctx: CampaignContext, folder: Path, *, seed: int = 3) -> None:
    """Every panel's sheet filled (results of varied quality, one harsh expert) and imported."""
    from services.scores import import_scores

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sheets = sorted((ctx.folder("evaluation") / "评分表").glob("*.xlsx"))
    for n, sheet in enumerate(sheets):
        wb = load_workbook(sheet, read_only=True)
        meta = [list(r) for r in wb["_meta"].iter_rows(values_only=True)]
        wb.close()
        harsh = next(str(r[2]) for r in meta if r[0] == "expert") if n == 0 else None
        keys = [f"ZLGG{ctx.year}{i:04d}" for i in range(1, 2000)]
        quality = {k: 0.72 + 0.25 * ((i * 37) % 11) / 10 for i, k in enumerate(keys)}
        import_scores(
            UnitOfWork(),
            ctx,
            fill_score_sheet(sheet, folder / sheet.name, rng=rng, quality=quality, harsh=harsh),
        )
