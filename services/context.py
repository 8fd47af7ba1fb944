"""What every stage needs to know: the campaign, its calendar and rules, the clock, the folders."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from domain.calendar import SHANGHAI, CampaignConfig, holiday_warning, load_campaign_config
from storage.settings import get_settings
from storage.uow import UnitOfWork

STAGES: dict[str, str] = {
    "application": "项目申报",
    "audit": "立项审核",
    "training": "宣贯培训",
    "implementation": "项目实施",
    "follow_up": "跟踪服务",
    "results": "提交成果",
    "evaluation": "成果评定",
    "publicity": "公示公布",
    "promotion": "宣传推广",
}

log = logging.getLogger(__name__)


def markdown_table(header: Sequence[str], rows: Iterable[Iterable[object]]) -> list[str]:
    """The lines of a markdown table; a `|` or a line break inside a cell would break the table,
    so they are replaced."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = (str(cell).replace("|", "｜").replace("\n", " ") for cell in row)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


STAGE_FOLDERS: dict[str, str] = {
    key: f"{n:02d}_{label}" for n, (key, label) in enumerate(STAGES.items(), start=1)
}


def parse_as_of(as_of: str | dt.date | dt.datetime | None) -> dt.datetime:
    """The campaign's clock: `None` is now; a date means the end of that day in Shanghai."""
    if as_of is None:
        return dt.datetime.now(SHANGHAI)
    if isinstance(as_of, str):
        as_of = (
            dt.datetime.fromisoformat(as_of)
            if "T" in as_of or " " in as_of
            else dt.date.fromisoformat(as_of)
        )
    if isinstance(as_of, dt.datetime):
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=SHANGHAI)
    return dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=SHANGHAI)


@dataclass
class CampaignContext:
    year: int
    config: CampaignConfig
    campaign_id: int
    now: dt.datetime
    out_dir: Path
    actor: str = "rule"
    documents: list[Path] = field(default_factory=list)

    @property
    def calendar(self):  # noqa: ANN201 - a CampaignCalendar
        return self.config.calendar

    @property
    def rules(self):  # noqa: ANN201 - CampaignRules
        return self.config.rules

    def folder(self, stage: str) -> Path:
        path = self.out_dir / STAGE_FOLDERS[stage]
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def outbox(self) -> Path:
        configured = get_settings().outbox_dir
        path = configured if configured else self.out_dir / "outbox"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def inbox(self) -> Path:
        return self.out_dir / "inbox"

    def is_due(self, moment: dt.datetime | dt.date) -> bool:
        if isinstance(moment, dt.datetime):
            return self.now >= moment
        return self.now.astimezone(SHANGHAI).date() >= moment

    def local_date(self) -> dt.date:
        return self.now.astimezone(SHANGHAI).date()


def open_campaign(year: int, as_of: str | dt.date | dt.datetime | None = None) -> CampaignContext:
    """Load the year's config, make sure the campaign exists in the database, set the clock."""
    settings = get_settings()
    config = load_campaign_config(year, settings.config_dir)
    if warning := holiday_warning(config):
        log.warning(warning)
    with UnitOfWork() as uow:
        campaign = uow.repo.ensure_campaign(config)
        uow.commit()
        campaign_id = campaign.id
    out_dir = settings.campaign_dir or settings.out_dir / str(year)
    out_dir.mkdir(parents=True, exist_ok=True)
    return CampaignContext(
        year=year, config=config, campaign_id=campaign_id, now=parse_as_of(as_of), out_dir=out_dir
    )


class StageReport(BaseModel):
    """阶段运行报告: what one run of a stage (or one service of it) did, waits for and failed at,
    for the dashboard's markdown artifact and the CLI. Services return one; a stage flow merges
    its tasks' reports into the stage's."""

    stage: str
    as_of: dt.datetime
    done: list[str] = Field(default_factory=list)  # what this run did (Chinese)
    waiting: list[str] = Field(default_factory=list)  # what it waits for (Chinese)
    failed: list[str] = Field(default_factory=list)  # what it could not do, and why (Chinese)
    counts: dict[str, int] = Field(default_factory=dict)
    documents: list[str] = Field(default_factory=list)
    complete: bool = False

    @classmethod
    def start(cls, stage: str, ctx: CampaignContext) -> StageReport:
        """An empty report of `stage` at the campaign's clock."""
        return cls(stage=stage, as_of=ctx.now)

    def merge(self, *others: StageReport) -> StageReport:
        """This report with the others' lines and documents added (in order), their counts
        taken over, and complete when any of them is."""
        merged = self.model_copy(deep=True)
        for other in others:
            merged.done += other.done
            merged.waiting += other.waiting
            merged.failed += other.failed
            merged.documents += [d for d in other.documents if d not in merged.documents]
            merged.counts.update(other.counts)  # a count is a state: the latest says it
            merged.complete = merged.complete or other.complete
        return merged

    @property
    def label(self) -> str:
        return STAGES[self.stage]

    def markdown(self) -> str:
        lines = [f"## {self.label}（截至 {self.as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）", ""]
        if self.done:
            lines += ["本次完成：", *[f"- {d}" for d in self.done], ""]
        else:
            lines += ["本次无到期事项，未做任何更改。", ""]
        if self.waiting:
            lines += ["等待中：", *[f"- {w}" for w in self.waiting], ""]
        if self.failed:
            lines += ["未能完成：", *[f"- {f}" for f in self.failed], ""]
        if self.counts:
            lines += markdown_table(("项目", "数量"), self.counts.items())
            lines.append("")
        if self.documents:
            lines += ["生成文档：", *[f"- `{d}`" for d in self.documents]]
        return "\n".join(lines)
