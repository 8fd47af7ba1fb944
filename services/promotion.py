"""Stage 9 宣传推广: after publication, the exchange meeting of excellent results — its agenda
grouped by industry chain, and invitations to the units and their recommending units."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from documents.official import Timetable, write_exchange_agenda
from documents.rows import AgendaEntry
from domain.calendar import SHANGHAI
from domain.notices import fair_share, talks_that_fit
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
from services.notices import doc_number, issuing
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
        groups = _agenda(uow, ctx, apps, speakers)
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


def _write_agenda(
    uow: UnitOfWork, ctx: CampaignContext, groups: dict[str, list[AgendaEntry]], path: Path
) -> None:
    """交流会通知 with its 议程 as the attachment, numbered once (a rerun reuses the number)."""
    meeting = ctx.calendar.exchange_meeting.astimezone(SHANGHAI)
    settings = ctx.config.documents
    write_exchange_agenda(
        path,
        ctx.year,
        groups,
        meeting.date(),
        ctx.rules.meeting_place,
        start_time=meeting.time().replace(tzinfo=None),
        timetable=Timetable(
            break_minutes=settings.meeting_break_minutes,
            talks_between_breaks=settings.meeting_talks_between_breaks,
        ),
        host=ctx.config.issuer,
        issued_on=ctx.local_date(),
        issuing=issuing(ctx, doc_number(uow, ctx, "exchange_meeting")),
        reply_by=meeting.date() - dt.timedelta(days=REPLY_DAYS_BEFORE_MEETING),
    )


def _rewrite_agenda(uow: UnitOfWork, ctx: CampaignContext, report: StageReport) -> None:
    """The planned meeting's agenda written again from the database when it is missing on
    disk; nobody is invited again."""
    apps = uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED], with_people=True)
    groups = _agenda(uow, ctx, apps, {a.id: speaker_of(a.people) for a in apps})
    path = agenda_path(ctx)
    _write_agenda(uow, ctx, groups, path)
    uow.commit()
    report.done.append("重新生成缺失的优秀成果交流会议程")
    report.documents.append(str(path))


def _agenda(
    uow: UnitOfWork, ctx: CampaignContext, apps: list[orm.Application], speakers: Speakers
) -> dict[str, list[AgendaEntry]]:
    """The talks by chain (chains with most results first), each chain's best results first,
    as many as fit in the meeting before ``[documents] meeting_ends_at`` (each chain's best
    first, then the second best, ...)."""
    scores = uow.publicity.scores_of([a.id for a in apps])
    by_chain: dict[str, list[orm.Application]] = defaultdict(list)
    for a in sorted(
        apps, key=lambda a: (scores[a.id].rank_in_chain if a.id in scores else 10**9, a.id)
    ):
        by_chain[a.chain or OTHER_CHAIN].append(a)
    ordered = {
        chain: chain_apps[:TALKS_PER_CHAIN]
        for chain, chain_apps in sorted(by_chain.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    }
    settings = ctx.config.documents
    timetable = Timetable()
    limit = talks_that_fit(
        ctx.calendar.exchange_meeting.astimezone(SHANGHAI).time().replace(tzinfo=None),
        settings.meeting_ends_at,
        fixed_minutes=timetable.opening + timetable.review + timetable.closing,
        talk_minutes=TALK_MINUTES,
        break_minutes=settings.meeting_break_minutes,
        talks_between_breaks=settings.meeting_talks_between_breaks,
    )
    kept = fair_share({c: [a.title for a in group] for c, group in ordered.items()}, limit)
    return {
        chain: [
            AgendaEntry(
                title=a.title,
                unit=a.applicant_name,
                speaker=(speakers[a.id].name if speakers[a.id] else ""),
                minutes=TALK_MINUTES,
            )
            for a in group[: kept[chain]]
        ]
        for chain, group in ordered.items()
        if kept[chain]
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
    _write_agenda(uow, ctx, groups, path)
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
