"""Stage 3 宣贯培训: 培训场次, seats for every in-progress project's people, invitations with
.ics, roster and sign-in sheets, attendance import and a later 培训场次 for absentees.

Plain functions over a unit of work not yet entered; no Prefect here. A 培训场次 is called
`training_session` (the record class is `orm.TrainingSession`), never `session`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from documents.reports import (
    read_signin_sheet,
    write_calendar_file,
    write_signin_sheet,
    write_training_roster,
)
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
from services.operators import SYSTEM_ACTOR, record_action
from storage import orm
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from storage.repositories.training import SeatFact

__all__ = [
    "STAGE",
    "AttendanceError",
    "AttendanceResult",
    "SeatingReport",
    "assign_and_invite",
    "import_attendance",
    "reinvite_absentees",
    "roster_path",
    "rosters_missing",
    "signin_sheet_path",
    "store_sessions",
    "training_status",
    "write_rosters",
]

STAGE = "training"


class AttendanceError(ValueError):
    """A sign-in sheet that cannot be imported; the message names the file and the fix."""


class AttendanceResult(BaseModel):
    session_key: str
    attended: int
    absent: int
    unmarked: int


class SeatingReport(StageReport):
    """The report of a pass that gives seats, and whether the rosters and sign-in sheets must
    be written again after it (`write_rosters`, its own step)."""

    rosters_due: bool = False


# ---------------------------------------------------------------------------------------------
# 培训场次


def store_sessions(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """The configured 培训场次 into the database, once each."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        have = {s.key for s in uow.training.training_sessions(ctx.campaign_id)}
        new = [s for s in ctx.config.training_sessions if s.key not in have]
        uow.add(
            *(
                orm.TrainingSession(
                    campaign_id=ctx.campaign_id,
                    key=s.key,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    place=s.place,
                    capacity=s.capacity,
                )
                for s in new
            )
        )
        uow.commit()
    if new:
        report.done.append(f"设置培训场次{len(new)}个：{'、'.join(s.key for s in new)}")
    return report


def training_session_name(training_session: orm.TrainingSession, index: int) -> str:
    return f"第{index}期质量攻关宣贯培训班（{training_session.key}）"


def _session_row(training_session: orm.TrainingSession, index: int) -> SessionRow:
    start = training_session.starts_at.astimezone(SHANGHAI)
    end = training_session.ends_at.astimezone(SHANGHAI)
    return SessionRow(
        key=training_session.key,
        name=training_session_name(training_session, index),
        date=start.date(),
        time=f"{start:%H:%M}-{end:%H:%M}",
        place=training_session.place,
    )


def ics_path(ctx: CampaignContext, training_session: orm.TrainingSession) -> Path:
    """The 培训场次's calendar file, attached to its invitations (written once)."""
    path = ctx.folder(STAGE) / "日程文件" / f"培训_{training_session.key}.ics"
    if path.exists():
        return path
    return write_calendar_file(
        path,
        training_ics(
            training_session.key,
            f"{ctx.config.title}宣贯培训（{training_session.key}场）",
            training_session.starts_at,
            training_session.ends_at,
            training_session.place,
            f"{ctx.config.issuer}{ctx.config.department}组织的质量攻关宣贯培训。",
        ),
    )


# ---------------------------------------------------------------------------------------------
# seats and invitations


def _occupied(seats: Sequence[SeatFact] | Sequence[orm.TrainingAssignment]) -> dict[int, int]:
    """Seats taken per 培训场次 id: every seat but an absentee's."""
    occupied: dict[int, int] = defaultdict(int)
    for a in seats:
        if a.attended is not False:
            occupied[a.session_id] += 1
    return occupied


def _planned_sessions(
    upcoming: Sequence[orm.TrainingSession], seats: Sequence[SeatFact]
) -> list[plan.TrainingSession]:
    """The 培训场次 still to come with the room they have left, for the seating rules."""
    occupied = _occupied(seats)
    return [
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


def _attendees(
    waiting: Sequence[orm.ProjectPerson], apps: dict[int, orm.Application]
) -> list[plan.Attendee]:
    return [
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


def _give_seats(
    uow: UnitOfWork,
    ctx: CampaignContext,
    seats: Sequence[plan.Seat],
    upcoming: Sequence[orm.TrainingSession],
    waiting: Sequence[orm.ProjectPerson],
    apps: dict[int, orm.Application],
) -> int:
    """Store the planned seats and invite each person once; returns the invitations queued."""
    by_key = {s.key: s for s in upcoming}
    by_person: dict[str, list[orm.ProjectPerson]] = defaultdict(list)
    for p in waiting:
        by_person[p.person_key].append(p)
    invited = 0
    ics: dict[str, Path] = {}
    for seat in seats:
        training_session = by_key[seat.session_key]
        first = by_person[seat.person_key][0]
        uow.add(
            orm.TrainingAssignment(
                session_id=training_session.id,
                person_key=seat.person_key,
                name=seat.name,
                application_id=first.application_id,
                role=first.role,
            )
        )
        if training_session.key not in ics:
            ics[training_session.key] = ics_path(ctx, training_session)
        invited += _invite(
            uow, ctx, training_session, by_person[seat.person_key], apps, ics[training_session.key]
        )
    return invited


def assign_and_invite(uow: UnitOfWork, ctx: CampaignContext) -> SeatingReport:
    """Seats for people of in-progress projects who have none yet, in 培训场次 still to come.

    The rosters are due after it when it seated someone, and also whenever a roster or sign-in
    sheet that should exist does not (a run that failed after its seats were committed): the
    documents are rewritten from the database, nothing is given or sent twice."""
    report = SeatingReport(stage=STAGE, as_of=ctx.now)
    seated = _seat_waiting(uow, ctx, report)
    report.rosters_due = seated > 0 or rosters_missing(uow, ctx)
    return report


def _seat_waiting(uow: UnitOfWork, ctx: CampaignContext, report: SeatingReport) -> int:
    """Seats and invitations for whoever has none yet; how many seats were given."""
    with uow:
        training_sessions = uow.training.training_sessions(ctx.campaign_id)
        seats = uow.training.seat_facts(ctx.campaign_id)
        seated = {a.person_key for a in seats}
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id, [ProjectState.IN_PROGRESS])}
        if not apps:
            return 0
        people = uow.training.people_to_train(apps, plan.TRAINED_ROLES)
        waiting = [p for p in people if p.person_key not in seated]
        if not waiting:
            return 0
        upcoming = [s for s in training_sessions if s.starts_at > ctx.now]
        result = plan.assign(
            _planned_sessions(upcoming, seats), _attendees(waiting, apps), group_by="district"
        )
        invited = _give_seats(uow, ctx, result.seats, upcoming, waiting, apps)
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            f"assigned:{ctx.now.astimezone(SHANGHAI):%Y%m%dT%H%M%S}",
            as_of=ctx.now,
            summary={"seats": len(result.seats), "unplaced": len(result.unplaced)},
        )
        uow.commit()
    report.done.append(
        f"安排培训{len(result.seats)}人（按所属区分组），发送培训邀请{invited}份（附日程文件）"
    )
    report.counts["已安排培训人数"] = len(result.seats)
    if result.unplaced:
        report.waiting.append(
            f"{len(result.unplaced)}人未能安排培训场次（{result.unplaced[0].reason}），请增开场次"
        )
        report.counts["未安排培训人数"] = len(result.unplaced)
    return len(result.seats)


def roster_path(ctx: CampaignContext) -> Path:
    return ctx.folder(STAGE) / f"{ctx.year}年质量攻关宣贯培训名单.xlsx"


def signin_sheet_path(ctx: CampaignContext, session_key: str) -> Path:
    return ctx.folder(STAGE) / f"签到表_{session_key}.xlsx"


def _sheet_due(
    uow: UnitOfWork, ctx: CampaignContext, training_session: orm.TrainingSession
) -> bool:
    """A sign-in sheet is (re)written for a 培训场次 still to come, and for one that has begun
    whose sheet is missing while its attendance is still to be imported (staff need it)."""
    if training_session.starts_at > ctx.now:
        return True
    return not signin_sheet_path(ctx, training_session.key).exists() and not uow.repo.step_done(
        ctx.campaign_id, STAGE, f"attendance:{training_session.key}"
    )


def rosters_missing(uow: UnitOfWork, ctx: CampaignContext) -> bool:
    """Whether the campaign has seats but its 培训名单 or a sign-in sheet due is not on disk."""
    with uow:
        if not uow.training.seat_facts(ctx.campaign_id):
            return False
        if not roster_path(ctx).exists():
            return True
        return any(
            _sheet_due(uow, ctx, s) and not signin_sheet_path(ctx, s.key).exists()
            for s in uow.training.training_sessions(ctx.campaign_id)
        )


def _invite(
    uow: UnitOfWork,
    ctx: CampaignContext,
    training_session: orm.TrainingSession,
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
            period=training_session.key,
            context={
                "campaign_title": ctx.config.title,
                "project_title": titles,
                "role": roles,
                "session_key": training_session.key,
                "starts_at": training_session.starts_at.astimezone(SHANGHAI),
                "ends_at": training_session.ends_at.astimezone(SHANGHAI),
                "place": training_session.place,
            },
            attachments=[ics or ics_path(ctx, training_session)],
        )
    )


def write_rosters(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """培训名单 (all 培训场次) and the sign-in sheets of 培训场次 still to come (and of a begun
    one whose sheet is missing before its attendance is in), all from the database."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        training_sessions = uow.training.training_sessions(ctx.campaign_id)
        seats = uow.training.seats(ctx.campaign_id)
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        phones = uow.training.phones(apps)
        key_of = {s.id: s.key for s in training_sessions}
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
        session_rows = [_session_row(s, i) for i, s in enumerate(training_sessions, start=1)]
        roster = write_training_roster(roster_path(ctx), ctx.year, session_rows, rows)
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="training_roster", title="培训名单", path=str(roster)
        )
        written = [roster]
        for training_session, row in zip(training_sessions, session_rows, strict=True):
            if not _sheet_due(uow, ctx, training_session):
                continue
            path = write_signin_sheet(signin_sheet_path(ctx, training_session.key), row, rows)
            uow.repo.record_document(
                ctx.campaign_id,
                stage=STAGE,
                kind="signin_sheet",
                title=f"{training_session.key}签到表",
                path=str(path),
            )
            written.append(path)
        uow.commit()
    report.documents += [str(p) for p in written]
    return report


# ---------------------------------------------------------------------------------------------
# attendance


def _read_marks(xlsx: Path) -> tuple[str, dict[str, str]]:
    """The sheet's 培训场次 key and marks, after the file's safety checks; `AttendanceError`
    names the file and the fix."""
    try:
        return read_signin_sheet(xlsx)
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


def import_attendance(
    uow: UnitOfWork, ctx: CampaignContext, xlsx: Path, *, actor: str = SYSTEM_ACTOR
) -> AttendanceResult:
    """A marked sign-in sheet: 已签到 → attended, 缺席/请假 → absent. Nothing stored on error."""
    session_key, marks = _read_marks(xlsx)
    with uow:
        training_session = next(
            (s for s in uow.training.training_sessions(ctx.campaign_id) if s.key == session_key),
            None,
        )
        if training_session is None:
            raise AttendanceError(
                f"文件 {xlsx} 的培训场次 {session_key} 不是{ctx.year}年的场次：请确认年度或使用本年度签到表"
            )
        seats = uow.training.attendance(training_session.id)
        unknown = sorted(set(marks) - seats.keys())
        if unknown:
            raise AttendanceError(
                f"文件 {xlsx} 中以下人员编号（B列）不在 {session_key} 场次名单中："
                f"{'、'.join(unknown[:10])}{'等' if len(unknown) > 10 else ''}。"
                "请勿修改人员编号，临时增加的人员请另行登记。"
            )
        for present in (True, False):
            keys = [k for k, mark in marks.items() if (mark == plan.ATTENDED_MARK) is present]
            uow.training.mark_attendance(training_session.id, keys, present)
            seats.update(dict.fromkeys(keys, present))
        step = f"attendance:{session_key}"
        if not uow.repo.step_done(ctx.campaign_id, STAGE, step):
            uow.repo.mark_step(
                ctx.campaign_id, STAGE, step, as_of=ctx.now, summary={"file": str(xlsx)}
            )
        detail = {"file": Path(xlsx).name, "session": session_key}
        record_action(uow, "attendance_import", actor, detail, ctx)
        uow.commit()
    attended = sum(1 for a in seats.values() if a is True)
    absent = sum(1 for a in seats.values() if a is False)
    return AttendanceResult(
        session_key=session_key,
        attended=attended,
        absent=absent,
        unmarked=len(seats) - attended - absent,
    )


def _reinvitation_due(
    uow: UnitOfWork, ctx: CampaignContext, training_session: orm.TrainingSession
) -> bool:
    """A 培训场次 that is over, has its attendance in and its absentees not yet reinvited."""
    return (
        training_session.ends_at <= ctx.now
        and not uow.repo.step_done(ctx.campaign_id, STAGE, f"reinvited:{training_session.key}")
        and uow.repo.step_done(ctx.campaign_id, STAGE, f"attendance:{training_session.key}")
        is not None
    )


class _Seating:
    """The campaign's seats while absentees are moved: who sits where, and the room left."""

    def __init__(self, seats: list[orm.TrainingAssignment]) -> None:
        self.seats = seats
        self.of_person: dict[str, list[orm.TrainingAssignment]] = defaultdict(list)
        for a in seats:
            self.of_person[a.person_key].append(a)
        self.occupied = _occupied(seats)

    def add(self, seat: orm.TrainingAssignment) -> None:
        self.seats.append(seat)
        self.of_person[seat.person_key].append(seat)
        self.occupied[seat.session_id] += 1


def _reinvite_from(
    uow: UnitOfWork,
    ctx: CampaignContext,
    training_session: orm.TrainingSession,
    later: list[orm.TrainingSession],
    seating: _Seating,
    apps: dict[int, orm.Application],
) -> tuple[int, int, int]:
    """The absentees of one 培训场次 seated in the first later one with room, and invited:
    (absent, moved, unplaced)."""
    absent = [
        a for a in seating.seats if a.session_id == training_session.id and a.attended is False
    ]
    persons_of: dict[str, list[orm.ProjectPerson]] = defaultdict(list)
    if absent:
        for p in uow.training.people_named({a.person_key for a in absent}, apps):
            persons_of[p.person_key].append(p)
    moved = unplaced = 0
    for seat in absent:
        others = [
            a
            for a in seating.of_person[seat.person_key]
            if a is not seat and a.attended is not False
        ]
        if others:  # already has another seat
            continue
        target = next((s for s in later if seating.occupied[s.id] < s.capacity), None)
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
        uow.add(new)
        seating.add(new)
        _invite(uow, ctx, target, persons_of[seat.person_key], apps)
        moved += 1
    return len(absent), moved, unplaced


def reinvite_absentees(uow: UnitOfWork, ctx: CampaignContext) -> SeatingReport:
    """After a 培训场次's attendance is in: its absentees invited to the next later 培训场次, once."""
    report = SeatingReport(stage=STAGE, as_of=ctx.now)
    with uow:
        training_sessions = uow.training.training_sessions(ctx.campaign_id)
        due = [s for s in training_sessions if _reinvitation_due(uow, ctx, s)]
        if not due:
            return report
        seating = _Seating(uow.training.seats(ctx.campaign_id))
        apps = {a.id: a for a in uow.repo.applications(ctx.campaign_id)}
        for training_session in due:
            later = [
                s
                for s in training_sessions
                if s.starts_at >= training_session.ends_at and s.starts_at > ctx.now
            ]
            absent, moved, unplaced = _reinvite_from(
                uow, ctx, training_session, later, seating, apps
            )
            uow.repo.mark_step(
                ctx.campaign_id,
                STAGE,
                f"reinvited:{training_session.key}",
                as_of=ctx.now,
                summary={"absent": absent, "reinvited": moved, "unplaced": unplaced},
            )
            if absent:
                report.done.append(
                    f"{training_session.key}场次缺席{absent}人：{moved}人已通知参加后续补训场次"
                )
            if unplaced:
                report.waiting.append(
                    f"{training_session.key}场次缺席人员中{unplaced}人无后续场次可安排，请增开补训场次"
                )
            report.rosters_due = report.rosters_due or moved > 0
        uow.commit()
    return report


def training_status(uow: UnitOfWork, ctx: CampaignContext) -> StageReport:
    """Counts for the dashboard; complete when the last 培训场次 is past and attendance is in."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        training_sessions = uow.training.training_sessions(ctx.campaign_id)
        seats = uow.training.seat_facts(ctx.campaign_id)
        missing = [
            s.key
            for s in training_sessions
            if s.ends_at <= ctx.now
            and not uow.repo.step_done(ctx.campaign_id, STAGE, f"attendance:{s.key}")
        ]
    report.counts["培训人次"] = len(seats)
    report.counts["已签到"] = sum(1 for a in seats if a.attended is True)
    report.counts["缺席"] = sum(1 for a in seats if a.attended is False)
    last_end = max((s.ends_at for s in training_sessions), default=None)
    if missing:
        report.waiting.append(
            f"待导入签到表：{'、'.join(missing)}场次（qcamp training attendance 文件.xlsx）"
        )
    if last_end is None:
        report.waiting.append("活动配置中没有培训场次：请在 config/campaign-YYYY.toml 中设置")
        return report
    if last_end > ctx.now:
        report.waiting.append(
            f"最后一期培训结束时间 {last_end.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )
    report.complete = last_end <= ctx.now and not missing
    return report
