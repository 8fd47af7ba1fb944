"""Stage 3 宣贯培训: sessions, seats for every in-progress project's people, invitations with
.ics, roster and sign-in sheets, attendance import and a later session for absentees."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from prefect import task
from pydantic import BaseModel
from sqlalchemy import Row, select, update

from documents.reports import read_signin_sheet, write_signin_sheet, write_training_roster
from documents.rows import RosterRow
from documents.rows import TrainingSession as SessionRow
from documents.safety import UnreadableFile
from domain import training as plan
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from notifications.ics import training_ics
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

STAGE = "training"
TRAINED_ROLES = ("质量负责人", "项目负责人", "技术骨干")
ATTENDED_MARK = "已签到"


class AttendanceError(ValueError):
    """A sign-in sheet that cannot be imported; the message names the file and the fix."""


class AttendanceResult(BaseModel):
    session_key: str
    attended: int
    absent: int
    unmarked: int


# ---------------------------------------------------------------------------------------------
# sessions


@task(name="training-sessions", task_run_name="training-sessions-{ctx.year}")
def store_sessions(ctx: CampaignContext, outcome: StageReport) -> None:
    """The configured sessions into the database, once each."""
    with UnitOfWork() as uow:
        have = {s.key for s in sessions_of(uow, ctx)}
        new = [s for s in ctx.config.training_sessions if s.key not in have]
        for s in new:
            uow.session.add(
                orm.TrainingSession(
                    campaign_id=ctx.campaign_id,
                    key=s.key,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    place=s.place,
                    capacity=s.capacity,
                )
            )
        uow.commit()
    if new:
        outcome.done.append(f"设置培训场次{len(new)}个：{'、'.join(s.key for s in new)}")


def sessions_of(uow: UnitOfWork, ctx: CampaignContext) -> list[orm.TrainingSession]:
    return list(
        uow.session.scalars(
            select(orm.TrainingSession)
            .where(orm.TrainingSession.campaign_id == ctx.campaign_id)
            .order_by(orm.TrainingSession.starts_at, orm.TrainingSession.key)
        )
    )


def assignments_of(uow: UnitOfWork, ctx: CampaignContext) -> list[orm.TrainingAssignment]:
    return list(
        uow.session.scalars(
            select(orm.TrainingAssignment)
            .join(orm.TrainingSession)
            .where(orm.TrainingSession.campaign_id == ctx.campaign_id)
            .order_by(orm.TrainingAssignment.id)
        )
    )


def seat_facts(uow: UnitOfWork, ctx: CampaignContext) -> list[Row[tuple[str, int, bool | None]]]:
    """(person_key, session_id, attended) of every seat: what the counts need, without loading
    the seats as records."""
    return list(
        uow.session.execute(
            select(
                orm.TrainingAssignment.person_key,
                orm.TrainingAssignment.session_id,
                orm.TrainingAssignment.attended,
            )
            .join(orm.TrainingSession)
            .where(orm.TrainingSession.campaign_id == ctx.campaign_id)
        )
    )


def session_name(session: orm.TrainingSession, index: int) -> str:
    return f"第{index}期质量攻关宣贯培训班（{session.key}）"


def _session_row(session: orm.TrainingSession, index: int) -> SessionRow:
    start, end = session.starts_at.astimezone(SHANGHAI), session.ends_at.astimezone(SHANGHAI)
    return SessionRow(
        key=session.key,
        name=session_name(session, index),
        date=start.date(),
        time=f"{start:%H:%M}-{end:%H:%M}",
        place=session.place,
    )


def ics_path(ctx: CampaignContext, session: orm.TrainingSession) -> Path:
    folder = ctx.folder(STAGE) / "日程文件"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"培训_{session.key}.ics"
    if not path.exists():
        path.write_bytes(
            training_ics(
                session.key,
                f"{ctx.config.title}宣贯培训（{session.key}场）",
                session.starts_at,
                session.ends_at,
                session.place,
                f"{ctx.config.issuer}{ctx.config.department}组织的质量攻关宣贯培训。",
            )
        )
    return path


# ---------------------------------------------------------------------------------------------
# seats and invitations


@task(name="training-assign", task_run_name="training-assign-{ctx.year}")
def assign_and_invite(ctx: CampaignContext, outcome: StageReport) -> None:
    """Seats for people of in-progress projects who have none yet, in sessions still to come."""
    with UnitOfWork() as uow:
        sessions = sessions_of(uow, ctx)
        seats = seat_facts(uow, ctx)
        seated = {a.person_key for a in seats}
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS])}
        if not apps:
            return
        people = uow.session.scalars(
            select(orm.ProjectPerson)
            .where(
                orm.ProjectPerson.application_id.in_(apps),
                orm.ProjectPerson.role.in_(TRAINED_ROLES),
            )
            .order_by(orm.ProjectPerson.id)
        ).all()
        waiting = [p for p in people if p.person_key not in seated]
        if not waiting:
            return
        occupied: dict[int, int] = defaultdict(int)
        for a in seats:
            if a.attended is not False:
                occupied[a.session_id] += 1
        upcoming = [s for s in sessions if s.starts_at > ctx.now]
        domain_sessions = [
            plan.TrainingSession(
                key=s.key,
                start=s.starts_at,
                end=s.ends_at,
                place=s.place,
                capacity=max(0, s.capacity - occupied[s.id]),
                district=s.district or None,
            )
            for s in upcoming
        ]
        attendees = [
            plan.Attendee(
                person_key=p.person_key,
                name=p.name,
                project_key=str(p.application_id),
                role=plan.Role(p.role),
                district=apps[p.application_id].district,
                chain=apps[p.application_id].chain,
            )
            for p in waiting
        ]
        result = plan.assign(domain_sessions, attendees, group_by="district")
        by_key = {s.key: s for s in upcoming}
        by_person: dict[str, list[orm.ProjectPerson]] = defaultdict(list)
        for p in waiting:
            by_person[p.person_key].append(p)
        invited = 0
        ics: dict[str, Path] = {}
        for seat in result.seats:
            session = by_key[seat.session_key]
            first = by_person[seat.person_key][0]
            uow.session.add(
                orm.TrainingAssignment(
                    session_id=session.id,
                    person_key=seat.person_key,
                    name=seat.name,
                    application_id=first.application_id,
                    role=first.role,
                )
            )
            if session.key not in ics:
                ics[session.key] = ics_path(ctx, session)
            invited += _invite(
                uow, ctx, session, by_person[seat.person_key], apps, ics[session.key]
            )
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            f"assigned:{ctx.now.astimezone(SHANGHAI):%Y%m%dT%H%M%S}",
            as_of=ctx.now,
            summary={"seats": len(result.seats), "unplaced": len(result.unplaced)},
        )
        uow.commit()
    outcome.done.append(
        f"安排培训{len(result.seats)}人（按所属区分组），发送培训邀请{invited}份（附日程文件）"
    )
    outcome.counts["已安排培训人数"] = len(result.seats)
    if result.unplaced:
        outcome.waiting.append(
            f"{len(result.unplaced)}人未能安排培训场次（{result.unplaced[0].reason}），请增开场次"
        )
        outcome.counts["未安排培训人数"] = len(result.unplaced)
    if result.seats or not roster_path(ctx).exists():
        write_rosters(ctx, outcome)  # a pass that seats nobody leaves the rosters as they are


def roster_path(ctx: CampaignContext) -> Path:
    return ctx.folder(STAGE) / f"{ctx.year}年质量攻关宣贯培训名单.xlsx"


def _invite(
    uow: UnitOfWork,
    ctx: CampaignContext,
    session: orm.TrainingSession,
    persons: list[orm.ProjectPerson],
    apps: dict[int, orm.Application],
    ics: Path | None = None,
) -> int:
    person = persons[0]
    titles = "、".join(
        dict.fromkeys(apps[p.application_id].title for p in persons if p.application_id in apps)
    )
    roles = "、".join(dict.fromkeys(p.role for p in persons))
    return int(
        send(
            uow,
            ctx,
            event="training_invitation",
            recipient=Recipient.for_project_person(person),
            period=session.key,
            context={
                "campaign_title": ctx.config.title,
                "project_title": titles,
                "role": roles,
                "session_key": session.key,
                "starts_at": session.starts_at.astimezone(SHANGHAI),
                "ends_at": session.ends_at.astimezone(SHANGHAI),
                "place": session.place,
            },
            attachments=[ics or ics_path(ctx, session)],
        )
    )


def write_rosters(ctx: CampaignContext, outcome: StageReport) -> None:
    """培训名单 (all sessions) and the sign-in sheets of sessions still to come."""
    with UnitOfWork() as uow:
        sessions = sessions_of(uow, ctx)
        seats = assignments_of(uow, ctx)
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        phones = {
            p.person_key: p.phone
            for p in uow.session.scalars(
                select(orm.ProjectPerson).where(orm.ProjectPerson.application_id.in_(apps))
            )
        }
        key_of = {s.id: s.key for s in sessions}
        rows = [
            RosterRow(
                session_key=key_of[a.session_id],
                person_key=a.person_key,
                name=a.name,
                unit=apps[a.application_id].applicant_name,
                role=a.role,
                project=apps[a.application_id].title,
                phone=phones.get(a.person_key, ""),
            )
            for a in seats
        ]
        session_rows = [_session_row(s, i) for i, s in enumerate(sessions, start=1)]
        folder = ctx.folder(STAGE)
        roster = write_training_roster(roster_path(ctx), ctx.year, session_rows, rows)
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="training_roster", title="培训名单", path=str(roster)
        )
        written = [roster]
        for session, row in zip(sessions, session_rows, strict=True):
            if session.starts_at <= ctx.now:
                continue
            path = write_signin_sheet(folder / f"签到表_{session.key}.xlsx", row, rows)
            uow.repo.record_document(
                ctx.campaign_id,
                stage=STAGE,
                kind="signin_sheet",
                title=f"{session.key}签到表",
                path=str(path),
            )
            written.append(path)
        uow.commit()
    outcome.documents += [str(p) for p in written]


# ---------------------------------------------------------------------------------------------
# attendance


def import_attendance(ctx: CampaignContext, xlsx: Path) -> AttendanceResult:
    """A marked sign-in sheet: 已签到 → attended, 缺席/请假 → absent. Nothing stored on error."""
    try:
        session_key, marks = read_signin_sheet(xlsx)
    except FileNotFoundError as exc:
        raise AttendanceError(f"找不到文件 {xlsx}：请检查路径") from exc
    except UnreadableFile as exc:  # too large, macros, encrypted, old format, broken
        raise AttendanceError(f"{exc.message}（{xlsx}）") from exc
    except (ValueError, KeyError) as exc:
        raise AttendanceError(
            f"文件 {xlsx} 无法读取：{exc}。请使用系统生成的签到表，在“签到情况”列（G列）"
            "从下拉列表选择“已签到/缺席/请假”后导入。"
        ) from exc
    except Exception as exc:  # not an xlsx at all
        raise AttendanceError(f"文件 {xlsx} 不是有效的 .xlsx 签到表：{exc}") from exc
    with UnitOfWork() as uow:
        session = next((s for s in sessions_of(uow, ctx) if s.key == session_key), None)
        if session is None:
            raise AttendanceError(
                f"文件 {xlsx} 的培训场次 {session_key} 不是{ctx.year}年的场次：请确认年度或使用本年度签到表"
            )
        # The seats as plain columns, and one UPDATE per mark rather than an ORM object per
        # person (850 people a session at 1,200 projects).
        seats: dict[str, bool | None] = {
            key: attended
            for key, attended in uow.session.execute(
                select(orm.TrainingAssignment.person_key, orm.TrainingAssignment.attended).where(
                    orm.TrainingAssignment.session_id == session.id
                )
            )
        }
        unknown = sorted(set(marks) - seats.keys())
        if unknown:
            raise AttendanceError(
                f"文件 {xlsx} 中以下人员编号（B列）不在 {session_key} 场次名单中："
                f"{'、'.join(unknown[:10])}{'等' if len(unknown) > 10 else ''}。"
                "请勿修改人员编号，临时增加的人员请另行登记。"
            )
        for present in (True, False):
            keys = [k for k, mark in marks.items() if (mark == ATTENDED_MARK) is present]
            for start in range(0, len(keys), 500):
                uow.session.execute(
                    update(orm.TrainingAssignment)
                    .where(
                        orm.TrainingAssignment.session_id == session.id,
                        orm.TrainingAssignment.person_key.in_(keys[start : start + 500]),
                    )
                    .values(attended=present)
                    .execution_options(synchronize_session=False)
                )
            seats.update(dict.fromkeys(keys, present))
        if not uow.repo.step_done(ctx.campaign_id, STAGE, f"attendance:{session_key}"):
            uow.repo.mark_step(
                ctx.campaign_id,
                STAGE,
                f"attendance:{session_key}",
                as_of=ctx.now,
                summary={"file": str(xlsx)},
            )
        uow.commit()
        attended = sum(1 for a in seats.values() if a is True)
        absent = sum(1 for a in seats.values() if a is False)
    return AttendanceResult(
        session_key=session_key,
        attended=attended,
        absent=absent,
        unmarked=len(seats) - attended - absent,
    )


@task(name="training-absentees", task_run_name="training-absentees-{ctx.year}")
def reinvite_absentees(ctx: CampaignContext, outcome: StageReport) -> None:
    """After a session's attendance is in: its absentees invited to the next later session, once."""
    changed = False
    with UnitOfWork() as uow:
        sessions = sessions_of(uow, ctx)
        due = [
            s
            for s in sessions
            if s.ends_at <= ctx.now
            and not uow.repo.step_done(ctx.campaign_id, STAGE, f"reinvited:{s.key}")
            and uow.repo.step_done(ctx.campaign_id, STAGE, f"attendance:{s.key}")
        ]
        if not due:
            return
        seats = assignments_of(uow, ctx)
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        occupied: dict[int, int] = defaultdict(int)
        seats_of: dict[str, list[orm.TrainingAssignment]] = defaultdict(list)
        for a in seats:
            seats_of[a.person_key].append(a)
            if a.attended is not False:
                occupied[a.session_id] += 1
        for session in sessions:
            step = f"reinvited:{session.key}"
            if session.ends_at > ctx.now or uow.repo.step_done(ctx.campaign_id, STAGE, step):
                continue
            if not uow.repo.step_done(ctx.campaign_id, STAGE, f"attendance:{session.key}"):
                continue
            later = [
                s for s in sessions if s.starts_at >= session.ends_at and s.starts_at > ctx.now
            ]
            absent = [a for a in seats if a.session_id == session.id and a.attended is False]
            moved = unplaced = 0
            persons_of: dict[str, list[orm.ProjectPerson]] = defaultdict(list)
            if absent:
                for p in uow.session.scalars(
                    select(orm.ProjectPerson)
                    .where(
                        orm.ProjectPerson.person_key.in_({a.person_key for a in absent}),
                        orm.ProjectPerson.application_id.in_(apps),
                    )
                    .order_by(orm.ProjectPerson.id)
                ):
                    persons_of[p.person_key].append(p)
            for seat in absent:
                others = [
                    a
                    for a in seats_of[seat.person_key]
                    if a is not seat and a.attended is not False
                ]
                if others:  # already has another seat
                    continue
                target = next((s for s in later if occupied[s.id] < s.capacity), None)
                if target is None:
                    unplaced += 1
                    continue
                new = orm.TrainingAssignment(
                    session_id=target.id,
                    person_key=seat.person_key,
                    name=seat.name,
                    application_id=seat.application_id,
                    role=seat.role,
                )
                uow.session.add(new)
                seats.append(new)
                seats_of[new.person_key].append(new)
                occupied[target.id] += 1
                _invite(uow, ctx, target, persons_of[seat.person_key], apps)
                moved += 1
            uow.repo.mark_step(
                ctx.campaign_id,
                STAGE,
                step,
                as_of=ctx.now,
                summary={"absent": len(absent), "reinvited": moved, "unplaced": unplaced},
            )
            if absent:
                outcome.done.append(
                    f"{session.key}场次缺席{len(absent)}人：{moved}人已通知参加后续补训场次"
                )
            if unplaced:
                outcome.waiting.append(
                    f"{session.key}场次缺席人员中{unplaced}人无后续场次可安排，请增开补训场次"
                )
            changed = changed or moved > 0
        uow.commit()
    if changed:
        write_rosters(ctx, outcome)


def training_status(ctx: CampaignContext, outcome: StageReport) -> None:
    """Counts for the dashboard; complete when the last session is past and attendance is in."""
    with UnitOfWork() as uow:
        sessions = sessions_of(uow, ctx)
        seats = seat_facts(uow, ctx)
        missing = [
            s.key
            for s in sessions
            if s.ends_at <= ctx.now
            and not uow.repo.step_done(ctx.campaign_id, STAGE, f"attendance:{s.key}")
        ]
        outcome.counts["培训人次"] = len(seats)
        outcome.counts["已签到"] = sum(1 for a in seats if a.attended is True)
        outcome.counts["缺席"] = sum(1 for a in seats if a.attended is False)
        last_end = max((s.ends_at for s in sessions), default=None)
    if missing:
        outcome.waiting.append(
            f"待导入签到表：{'、'.join(missing)}场次（qcamp training attendance 文件.xlsx）"
        )
    if last_end is None:
        outcome.waiting.append("活动配置中没有培训场次：请在 config/campaign-YYYY.toml 中设置")
        return
    if last_end > ctx.now:
        outcome.waiting.append(
            f"最后一期培训结束时间 {last_end.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
    outcome.complete = last_end <= ctx.now and not missing


def session_by_key(ctx: CampaignContext, key: str) -> orm.TrainingSession | None:
    with UnitOfWork() as uow:
        return next((s for s in sessions_of(uow, ctx) if s.key == key), None)
