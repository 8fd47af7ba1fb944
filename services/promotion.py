"""Stage 9 宣传推广: after publication, the exchange meeting of excellent results — its agenda
grouped by industry chain, and invitations to the units and their recommending units."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from documents.official import write_exchange_agenda
from documents.rows import AgendaEntry
from domain.calendar import SHANGHAI
from domain.publicity import (
    OTHER_CHAIN,
    REPLY_DAYS_BEFORE_MEETING,
    TALK_MINUTES,
    TALKS_PER_CHAIN,
    speaker_of,
)
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "promotion"

Speakers = dict[int, orm.ProjectPerson | None]


def plan_exchange_meeting(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """Once, after publication: the agenda (top results of each chain, in chain-rank order) and
    the invitations to the published results' units (their project leads) and recommending units."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        planned = uow.repo.step_done(ctx.campaign_id, STAGE, "meeting_planned")
        if planned is not None:
            report.complete = True
            if planned.summary.get("talks") and not agenda_path(ctx).exists():
                _rewrite_agenda(uow, ctx, report)
            return report
        if not uow.repo.step_done(ctx.campaign_id, "publicity", "published"):
            report.waiting.append("等待优秀成果公布")
            return report
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED], with_people=True)
        speakers: Speakers = {a.id: speaker_of(a.people) for a in apps}
        groups = _agenda(uow, apps, speakers)
        path = agenda_path(ctx)
        sent = 0
        if groups:
            sent = _announce(uow, ctx, apps, speakers, groups, path)
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "meeting_planned",
            as_of=ctx.now,
            summary={"talks": sum(len(g) for g in groups.values()), "invitations": sent},
        )
        uow.commit()
    if groups:
        report.done.append(
            f"制定优秀成果交流会议程：{len(groups)}个产业链、{sum(len(g) for g in groups.values())}项交流成果，"
            f"发出邀请{sent}份"
        )
        report.documents.append(str(path))
    else:
        report.done.append("本年度无公布的优秀成果，不召开交流会")
    report.complete = True
    return report


def agenda_path(ctx: CampaignContext) -> Path:
    return ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关优秀成果交流会议程.docx"


def _write_agenda(ctx: CampaignContext, groups: dict[str, list[AgendaEntry]], path: Path) -> None:
    meeting = ctx.calendar.exchange_meeting.astimezone(SHANGHAI)
    write_exchange_agenda(
        path,
        ctx.year,
        groups,
        meeting.date(),
        ctx.rules.meeting_place,
        start_time=meeting.time().replace(tzinfo=None),
        host=ctx.config.issuer,
    )


def _rewrite_agenda(uow: UnitOfWork, ctx: CampaignContext, report: StageReport) -> None:
    """The planned meeting's agenda written again from the database when it is missing on
    disk; nobody is invited again."""
    apps = uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED], with_people=True)
    groups = _agenda(uow, apps, {a.id: speaker_of(a.people) for a in apps})
    path = agenda_path(ctx)
    _write_agenda(ctx, groups, path)
    report.done.append("重新生成缺失的优秀成果交流会议程")
    report.documents.append(str(path))


def _agenda(
    uow: UnitOfWork, apps: list[orm.Application], speakers: Speakers
) -> dict[str, list[AgendaEntry]]:
    """The talks by chain (chains with most results first), each chain's best results first."""
    scores = uow.publicity.scores_of([a.id for a in apps])
    by_chain: dict[str, list[orm.Application]] = defaultdict(list)
    for a in sorted(
        apps, key=lambda a: (scores[a.id].rank_in_chain if a.id in scores else 10**9, a.id)
    ):
        by_chain[a.chain or OTHER_CHAIN].append(a)
    return {
        chain: [
            AgendaEntry(
                title=a.title,
                unit=a.applicant_name,
                speaker=(speakers[a.id].name if speakers[a.id] else ""),
                minutes=TALK_MINUTES,
            )
            for a in chain_apps[:TALKS_PER_CHAIN]
        ]
        for chain, chain_apps in sorted(by_chain.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    }


def _announce(
    uow: UnitOfWork,
    ctx: CampaignContext,
    apps: list[orm.Application],
    speakers: Speakers,
    groups: dict[str, list[AgendaEntry]],
    path: Path,
) -> int:
    """The agenda written and recorded; each unit, recommending unit and speaker invited once."""
    meeting = ctx.calendar.exchange_meeting.astimezone(SHANGHAI)
    _write_agenda(ctx, groups, path)
    uow.repo.record_document(
        ctx.campaign_id,
        stage=STAGE,
        kind="exchange_agenda",
        title="优秀成果交流会议程",
        path=str(path),
    )
    context: dict[str, object] = {
        "meeting_at": meeting,
        "place": ctx.rules.meeting_place,
        "agenda": [
            f"{chain}：{'；'.join(f'{e.unit}《{e.title}》' for e in entries)}"
            for chain, entries in groups.items()
        ],
        "reply_by": (meeting - dt.timedelta(days=REPLY_DAYS_BEFORE_MEETING)).date(),
    }
    recipients: dict[str, Recipient] = {}
    for a in apps:
        unit = Recipient.for_recommending_unit(a.recommending_unit)
        recipients.setdefault(unit.key, unit)
        speaker = speakers[a.id]
        if speaker is not None:
            person = Recipient.for_project_person(speaker)
            recipients.setdefault(person.key, person)
    sent = 0
    for recipient in recipients.values():
        sent += send(
            uow,
            ctx,
            event="exchange_invitation",
            recipient=recipient,
            period="exchange",
            context=context,
            attachments=[path],
        )
    return sent
