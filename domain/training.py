"""Training sessions (宣贯培训) for the people of approved projects.

Each approved project sends its 质量负责人, 项目负责人 and 技术骨干. A person may be on several
projects (same `person_key`): they need one seat, which covers all their projects. Rules:

* no session takes more people than its capacity;
* people are grouped by district (or by chain, `group_by="chain"`) and a group is kept in one
  session where possible; a session that states a district/chain preference is filled with people
  who fit it first, sessions without a preference next, and a session preferring someone else only
  as a last resort (the seat is then marked `matched=False`);
* a person is never placed in a session overlapping another of their seats or any `busy` period
  given for them;
* whoever cannot be placed is reported with the reason, in Chinese.

`reassign_absentees` marks absentees and invites them to a later session.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

GroupBy = Literal["district", "chain"]


class Role(StrEnum):
    QUALITY_LEAD = "质量负责人"
    PROJECT_LEAD = "项目负责人"
    KEY_STAFF = "技术骨干"


ROLE_ORDER = {Role.QUALITY_LEAD: 0, Role.PROJECT_LEAD: 1, Role.KEY_STAFF: 2}
# The roles of a project whose people are trained (a seat each).
TRAINED_ROLES: tuple[str, ...] = tuple(r.value for r in Role)
# The sign-in mark of a person who came; every other mark (缺席/请假) counts as absent.
ATTENDED_MARK = "已签到"


class TrainingSession(BaseModel):
    key: str
    title: str = ""
    start: dt.datetime
    end: dt.datetime
    place: str = ""  # 地点
    online_link: str = ""  # 线上会议链接
    capacity: int
    district: str | None = None  # preferred district, if any
    chain: str | None = None  # preferred chain, if any

    @model_validator(mode="after")
    def _check(self) -> TrainingSession:
        if self.end <= self.start:
            raise ValueError(f"培训场次 {self.key} 的结束时间须晚于开始时间")
        if self.capacity < 0:
            raise ValueError(f"培训场次 {self.key} 的容量不能为负数")
        if not self.place.strip() and not self.online_link.strip():
            raise ValueError(f"培训场次 {self.key} 须填写地点或线上链接")
        return self


class Attendee(BaseModel):
    """One person in one project's role; the same person on two projects appears twice."""

    person_key: str
    name: str
    project_key: str
    role: Role
    district: str = ""
    chain: str = ""


class SeatStatus(StrEnum):
    INVITED = "已通知"
    ABSENT = "缺席"
    REINVITED = "补训通知"


class Seat(BaseModel):
    session_key: str
    person_key: str
    name: str
    project_keys: list[str]
    roles: list[Role]
    district: str = ""
    chains: list[str] = Field(default_factory=list)
    matched: bool = True  # False: placed in a session meant for another district/chain
    status: SeatStatus = SeatStatus.INVITED


class Unplaced(BaseModel):
    person_key: str
    name: str
    project_keys: list[str]
    reason: str


class Assignment(BaseModel):
    group_by: GroupBy = "district"
    seats: list[Seat] = Field(default_factory=list)
    unplaced: list[Unplaced] = Field(default_factory=list)

    def seats_in(self, session_key: str) -> list[Seat]:
        return [s for s in self.seats if s.session_key == session_key]

    def active_seats_of(self, person_key: str) -> list[Seat]:
        return [
            s for s in self.seats if s.person_key == person_key and s.status != SeatStatus.ABSENT
        ]

    def occupied(self, session_key: str) -> int:
        return sum(
            1 for s in self.seats if s.session_key == session_key and s.status != SeatStatus.ABSENT
        )


class _Person:
    def __init__(self, first: Attendee) -> None:
        self.key = first.person_key
        self.name = first.name
        self.projects: list[str] = []
        self.roles: list[Role] = []
        self.district = ""
        self.chains: list[str] = []

    def add(self, a: Attendee) -> None:
        if a.project_key not in self.projects:
            self.projects.append(a.project_key)
        if a.role not in self.roles:
            self.roles.append(a.role)
        if not self.district and a.district.strip():
            self.district = a.district.strip()
        if a.chain.strip() and a.chain.strip() not in self.chains:
            self.chains.append(a.chain.strip())


def _fit_tier(session: TrainingSession, district: str, chains: Sequence[str]) -> int:
    """0: the session prefers this person; 1: it states no preference; 2: it prefers others."""
    prefs = []
    if session.district:
        prefs.append(session.district == district)
    if session.chain:
        prefs.append(session.chain in chains)
    if not prefs:
        return 1
    return 0 if all(prefs) else 2


def _overlaps(a: tuple[dt.datetime, dt.datetime], b: tuple[dt.datetime, dt.datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _merge(attendees: Iterable[Attendee]) -> list[_Person]:
    people: dict[str, _Person] = {}
    for a in attendees:
        person = people.setdefault(a.person_key, _Person(a))
        person.add(a)
    return list(people.values())


def assign(
    sessions: Sequence[TrainingSession],
    attendees: Iterable[Attendee],
    *,
    group_by: GroupBy = "district",
    busy: Mapping[str, Sequence[tuple[dt.datetime, dt.datetime]]] | None = None,
) -> Assignment:
    """Give each person one seat; see the module docstring for the rules.

    `busy` maps a person key to periods they cannot attend (e.g. seats in another training
    programme). Deterministic: the same input gives the same assignment.
    """
    _check_unique_sessions(sessions)
    busy = busy or {}
    people = _merge(attendees)
    result = Assignment(group_by=group_by)
    used: dict[str, int] = defaultdict(int)
    by_start = sorted(sessions, key=lambda s: (s.start, s.key))

    def group_of(p: _Person) -> str:
        return p.district if group_by == "district" else (p.chains[0] if p.chains else "")

    groups: dict[str, list[_Person]] = defaultdict(list)
    for p in people:
        groups[group_of(p)].append(p)
    # Groups that have sessions meant for them first, then the biggest groups.
    order = sorted(
        groups,
        key=lambda g: (
            not any(
                _fit_tier(s, groups[g][0].district, groups[g][0].chains) == 0 for s in sessions
            ),
            -len(groups[g]),
            g,
        ),
    )
    for g in order:
        members = sorted(groups[g], key=lambda p: (min(ROLE_ORDER[r] for r in p.roles), p.key))
        hosting: set[str] = set()
        for i, person in enumerate(members):
            still_to_place = len(members) - i
            blocked = list(busy.get(person.key, ()))
            candidates = []
            clash = False
            for s in by_start:
                if used[s.key] >= s.capacity:
                    continue
                if any(_overlaps((s.start, s.end), b) for b in blocked):
                    clash = True
                    continue
                tier = _fit_tier(s, person.district, person.chains)
                room = s.capacity - used[s.key]
                candidates.append((tier, s.key not in hosting, room < still_to_place, s))
            if not candidates:
                reason = (
                    "尚有空位的场次时间均与其其他安排冲突"
                    if clash
                    else "所有培训场次均已满员，请增开场次"
                )
                result.unplaced.append(
                    Unplaced(
                        person_key=person.key,
                        name=person.name,
                        project_keys=person.projects,
                        reason=reason,
                    )
                )
                continue
            tier, _, _, chosen = min(candidates, key=lambda c: c[:3])
            used[chosen.key] += 1
            hosting.add(chosen.key)
            result.seats.append(_seat(chosen, person, matched=tier < 2))
    position = {s.key: i for i, s in enumerate(by_start)}
    result.seats.sort(key=lambda s: (position[s.session_key], s.person_key))
    return result


def _seat(
    session: TrainingSession,
    person: _Person,
    *,
    matched: bool,
    status: SeatStatus = SeatStatus.INVITED,
) -> Seat:
    return Seat(
        session_key=session.key,
        person_key=person.key,
        name=person.name,
        project_keys=list(person.projects),
        roles=list(person.roles),
        district=person.district,
        chains=list(person.chains),
        matched=matched,
        status=status,
    )


def _check_unique_sessions(sessions: Sequence[TrainingSession]) -> None:
    keys = [s.key for s in sessions]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"培训场次编号重复：{'、'.join(dupes)}")


def reassign_absentees(
    assignment: Assignment,
    sessions: Sequence[TrainingSession],
    absentees: Iterable[str],
    *,
    busy: Mapping[str, Sequence[tuple[dt.datetime, dt.datetime]]] | None = None,
) -> Assignment:
    """Mark `absentees` (person keys) absent from the session they were invited to and invite
    each to the earliest fitting later session (starting after the missed one ended) with room,
    not overlapping their other seats or `busy` periods. Returns a new assignment; people with no
    later session are added to `unplaced`. Unknown person keys raise `ValueError`."""
    _check_unique_sessions(sessions)
    busy = busy or {}
    by_key = {s.key: s for s in sessions}
    new = assignment.model_copy(deep=True)
    absent = list(dict.fromkeys(absentees))
    unknown = [k for k in absent if not new.active_seats_of(k)]
    if unknown:
        raise ValueError(f"以下人员没有待参加的培训安排：{'、'.join(unknown)}")
    for person_key in absent:
        seats = sorted(new.active_seats_of(person_key), key=lambda s: by_key[s.session_key].start)
        missed = seats[-1]
        missed.status = SeatStatus.ABSENT
        missed_end = by_key[missed.session_key].end
        others = [
            (by_key[s.session_key].start, by_key[s.session_key].end)
            for s in new.active_seats_of(person_key)
        ] + list(busy.get(person_key, ()))
        candidates = [
            s
            for s in sorted(sessions, key=lambda s: (s.start, s.key))
            if s.start >= missed_end
            and new.occupied(s.key) < s.capacity
            and not any(_overlaps((s.start, s.end), o) for o in others)
        ]
        if not candidates:
            new.unplaced.append(
                Unplaced(
                    person_key=person_key,
                    name=missed.name,
                    project_keys=missed.project_keys,
                    reason=f"缺席 {missed.session_key} 场次，且无后续可参加的场次，请增开补训场次",
                )
            )
            continue
        chosen = min(
            candidates,
            key=lambda s: (_fit_tier(s, missed.district, missed.chains) == 2, s.start, s.key),
        )
        new.seats.append(
            missed.model_copy(
                update={
                    "session_key": chosen.key,
                    "matched": _fit_tier(chosen, missed.district, missed.chains) < 2,
                    "status": SeatStatus.REINVITED,
                }
            )
        )
    return new
