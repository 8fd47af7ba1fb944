"""Campaign records for the middle stages' tests and benchmark, inserted through the repo."""

from __future__ import annotations

import datetime as dt
import random

from domain.calendar import SHANGHAI
from domain.states import ProjectState
from services.context import CampaignContext, open_campaign
from storage import orm
from storage.uow import UnitOfWork

DISTRICTS = ("和平区", "河西区", "南开区", "河北区", "滨海新区", "西青区", "津南区", "东丽区")
CHAINS = ("信创", "集成电路", "车联网", "生物医药", "新能源", "新材料", "高端装备", "汽车")
VERBS = ("降低", "提高", "缩短")
OBJECTS = ("焊缝气孔不良率", "一次交检合格率", "产品交付周期", "注塑件缩痕缺陷率", "设备综合效率")


def at(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=SHANGHAI)


def context(as_of: str | dt.datetime, year: int = 2025) -> CampaignContext:
    return open_campaign(year, as_of)


def seed(
    n_projects: int,
    *,
    n_units: int = 6,
    state: ProjectState = ProjectState.ACCEPTED,
    year: int = 2025,
    rng_seed: int = 7,
) -> list[int]:
    """`n_projects` applications over `n_units` recommending units, each with a quality lead, a
    project lead and one or two technical staff; in `state` (plan numbers once approved)."""
    rng = random.Random(rng_seed)
    ctx = context(f"{year}-04-21", year)
    received = at(f"{year}-04-18")
    ids: list[int] = []
    with UnitOfWork() as uow:
        units = []
        for u in range(n_units):
            unit = uow.repo.recommending_unit(f"RU{u:02d}")
            if unit is None:
                unit = orm.RecommendingUnit(
                    code=f"RU{u:02d}",
                    name=f"{DISTRICTS[u % len(DISTRICTS)]}市场监督管理局{u:02d}",
                    kind="district",
                    email=f"ru{u:02d}@example.cn",
                )
                uow.session.add(unit)
            units.append(unit)
        uow.session.flush()
        batches = {}
        for unit in units:
            batch = orm.SubmissionBatch(
                campaign_id=ctx.campaign_id,
                recommending_unit_id=unit.id,
                version=1,
                received_at=received,
                content_hash=f"h{unit.code}",
                status="received",
            )
            uow.session.add(batch)
            batches[unit.id] = batch
        uow.session.flush()
        numbered = state not in (ProjectState.ACCEPTED, ProjectState.SUBMITTED)
        for i in range(n_projects):
            unit = units[i % n_units]
            district = DISTRICTS[i % len(DISTRICTS)]
            uscc = f"9112{i:014d}"
            app = orm.Application(
                campaign_id=ctx.campaign_id,
                batch_id=batches[unit.id].id,
                recommending_unit_id=unit.id,
                source_file=f"申报书_{i:04d}.docx",
                title=f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}（{i:04d}）",
                applicant_name=f"天津市示范制造有限公司{i:04d}",
                uscc=uscc,
                district=district,
                chain=CHAINS[i % len(CHAINS)],
                project_type="提质增效",
                form={
                    "recommendation_opinion": "同意推荐",
                    "goal": "不良率由3%降至1%",
                },
                state=state.value,
                plan_number=f"TJZLGG-{year}-{i + 1:04d}" if numbered else None,
            )
            uow.session.add(app)
            uow.session.flush()
            uow.repo.record_initial_state(app, at=received, actor="test", reason="测试数据")
            people = [("质量负责人", "质量"), ("项目负责人", "项目")]
            people += [("技术骨干", f"骨干{k}") for k in range(1 + i % 2)]
            for role, tag in people:
                app.people.append(
                    orm.ProjectPerson(
                        person_key=f"{uscc}:{tag}{i}",
                        name=f"{tag}{i:04d}",
                        role=role,
                        phone="13800000000",
                        email=f"p{i}@example.cn",
                    )
                )
            ids.append(app.id)
        uow.commit()
    return ids
