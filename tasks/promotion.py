"""Stage 9 宣传推广: after publication, the exchange meeting of excellent results — its agenda
grouped by industry chain, and invitations to the units and their recommending units."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from prefect import task
from sqlalchemy import select

from documents.official import write_exchange_agenda
from documents.rows import AgendaEntry
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from storage import orm
from storage.uow import UnitOfWork
from tasks.publicity import send_message

STAGE = "promotion"
TALKS_PER_CHAIN = 3  # the best results of each chain present; the rest are in the printed list
TALK_MINUTES = 10
MEETING_PLACE = "天津市市场监管委（河西区友谊路）一号报告厅"
LEAD_ROLES = ("项目负责人", "质量负责人")


def _speaker(app: orm.Application) -> orm.ProjectPerson | None:
    for role in LEAD_ROLES:
        for p in app.people:
            if p.role == role:
                return p
    return app.people[0] if app.people else None


@task(name="exchange-meeting", task_run_name="exchange-meeting-{ctx.year}")
def plan_exchange_meeting(ctx: CampaignContext, outcome: StageReport) -> None:
    """Once, after publication: the agenda (top results of each chain, in chain-rank order) and
    the invitations to the published results' units (their project leads) and recommending units."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "meeting_planned"):
            outcome.complete = True
            return
        if not uow.repo.step_done(ctx.campaign_id, "publicity", "published"):
            outcome.waiting.append("等待优秀成果公布")
            return
        apps = uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED], with_people=True)
        scores = {
            s.application_id: s
            for s in uow.session.scalars(
                select(orm.ResultScore).where(
                    orm.ResultScore.application_id.in_([a.id for a in apps])
                )
            )
        }
        by_chain: dict[str, list[orm.Application]] = defaultdict(list)
        for a in sorted(
            apps, key=lambda a: (scores[a.id].rank_in_chain if a.id in scores else 10**9, a.id)
        ):
            by_chain[a.chain or "其他"].append(a)
        speakers = {a.id: _speaker(a) for a in apps}
        groups = {
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
        meeting = ctx.calendar.exchange_meeting.astimezone(SHANGHAI)
        path = ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关优秀成果交流会议程.docx"
        sent = 0
        if groups:
            write_exchange_agenda(
                path,
                ctx.year,
                groups,
                meeting.date(),
                MEETING_PLACE,
                start_time=meeting.time().replace(tzinfo=None),
                host=ctx.config.issuer,
            )
            uow.repo.record_document(
                ctx.campaign_id,
                stage=STAGE,
                kind="exchange_agenda",
                title="优秀成果交流会议程",
                path=str(path),
            )
            agenda = [
                f"{chain}：{'；'.join(f'{e.unit}《{e.title}》' for e in entries)}"
                for chain, entries in groups.items()
            ]
            context: dict[str, object] = {
                "meeting_at": meeting,
                "place": MEETING_PLACE,
                "agenda": agenda,
                "reply_by": (meeting - dt.timedelta(days=5)).date(),
            }
            recipients: dict[str, Recipient] = {}
            for a in apps:
                unit = Recipient.for_recommending_unit(a.recommending_unit)
                recipients.setdefault(unit.key, unit)
                speaker = speakers[a.id]
                if speaker is not None:
                    person = Recipient.for_project_person(speaker)
                    recipients.setdefault(person.key, person)
            for recipient in recipients.values():
                sent += send_message(
                    uow,
                    ctx,
                    event="exchange_invitation",
                    recipient=recipient,
                    period="exchange",
                    context=context,
                    attachments=[path],
                )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "meeting_planned",
            as_of=ctx.now,
            summary={"talks": sum(len(g) for g in groups.values()), "invitations": sent},
        )
        uow.commit()
    if groups:
        outcome.done.append(
            f"制定优秀成果交流会议程：{len(groups)}个产业链、{sum(len(g) for g in groups.values())}项交流成果，"
            f"发出邀请{sent}份"
        )
        outcome.documents.append(str(path))
    else:
        outcome.done.append("本年度无公布的优秀成果，不召开交流会")
    outcome.complete = True
