import datetime as dt

import pytest

from domain.training import (
    Attendee,
    Role,
    SeatStatus,
    TrainingSession,
    assign,
    reassign_absentees,
)


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2025, 5, day, hour)


def session(key, day, capacity, *, district=None, chain=None, hours=(9, 12), **kw):
    return TrainingSession(
        key=key,
        start=at(day, hours[0]),
        end=at(day, hours[1]),
        place=kw.pop("place", "天津市市场监管委培训中心"),
        capacity=capacity,
        district=district,
        chain=chain,
        **kw,
    )


def person(key, district, project="P1", role=Role.KEY_STAFF, chain="新材料"):
    return Attendee(
        person_key=key,
        name=f"姓名{key}",
        project_key=project,
        role=role,
        district=district,
        chain=chain,
    )


def test_capacity_is_respected_and_overflow_reported():
    sessions = [session("S1", 10, 2), session("S2", 11, 1)]
    people = [person(f"U{i}", "河西区") for i in range(5)]
    result = assign(sessions, people)
    assert len(result.seats_in("S1")) == 2 and len(result.seats_in("S2")) == 1
    assert len(result.unplaced) == 2
    assert all("满员" in u.reason for u in result.unplaced)


def test_district_sessions_get_their_district_and_groups_stay_together():
    sessions = [
        session("BH", 10, 3, district="滨海新区"),
        session("ANY1", 11, 4),
        session("ANY2", 12, 4),
    ]
    people = [person(f"B{i}", "滨海新区") for i in range(3)]
    people += [person(f"X{i}", "西青区") for i in range(3)]
    people += [person(f"N{i}", "南开区") for i in range(2)]
    result = assign(sessions, people)
    assert {s.person_key for s in result.seats_in("BH")} == {"B0", "B1", "B2"}
    districts_by_session = {
        key: {s.district for s in result.seats_in(key)} for key in ("ANY1", "ANY2")
    }
    # Each of the other districts sits together in one session.
    sessions_of = {
        d: {s.session_key for s in result.seats if s.district == d} for d in ("西青区", "南开区")
    }
    assert all(len(v) == 1 for v in sessions_of.values()), districts_by_session
    assert result.unplaced == []
    assert all(s.matched for s in result.seats)


def test_mismatched_session_used_only_as_last_resort():
    sessions = [session("BH", 10, 5, district="滨海新区"), session("ANY", 11, 1)]
    people = [person("X0", "西青区"), person("X1", "西青区")]
    result = assign(sessions, people)
    seats = {s.person_key: s for s in result.seats}
    assert sum(s.session_key == "ANY" for s in seats.values()) == 1
    spill = [s for s in seats.values() if s.session_key == "BH"]
    assert len(spill) == 1 and spill[0].matched is False


def test_person_on_two_projects_gets_one_seat_covering_both():
    sessions = [session("S1", 10, 10)]
    people = [
        person("U1", "河西区", project="P1", role=Role.PROJECT_LEAD),
        person("U1", "河西区", project="P2", role=Role.QUALITY_LEAD),
        person("U2", "河西区", project="P2"),
    ]
    result = assign(sessions, people)
    (seat,) = [s for s in result.seats if s.person_key == "U1"]
    assert seat.project_keys == ["P1", "P2"]
    assert set(seat.roles) == {Role.PROJECT_LEAD, Role.QUALITY_LEAD}
    assert len(result.seats) == 2


def test_never_placed_in_overlapping_session():
    sessions = [
        session("AM", 10, 5, hours=(9, 12)),
        session("ALSO_AM", 10, 5, hours=(10, 11)),
        session("PM", 10, 5, hours=(14, 17)),
    ]
    busy = {"U1": [(at(10, 8), at(10, 13))]}  # booked elsewhere the morning of 10 May
    result = assign(sessions, [person("U1", "河西区")], busy=busy)
    assert [s.session_key for s in result.seats] == ["PM"]
    full_day = {"U2": [(at(10, 0), at(11, 0))]}
    result = assign(sessions, [person("U2", "河西区")], busy=full_day)
    assert result.seats == []
    assert "冲突" in result.unplaced[0].reason


def test_group_by_chain():
    sessions = [session("XC", 10, 5, chain="信创"), session("GD", 11, 5, chain="高端装备")]
    people = [person("A", "河西区", chain="高端装备"), person("B", "河西区", chain="信创")]
    result = assign(sessions, people, group_by="chain")
    assert {s.person_key: s.session_key for s in result.seats} == {"A": "GD", "B": "XC"}


def test_absentees_invited_to_a_later_session():
    sessions = [
        session("S1", 10, 2),
        session("S2", 12, 1),
        session("S3", 14, 5, district="滨海新区"),
        session("S0", 9, 5),  # earlier than S1: never a make-up session for S1
    ]
    people = [person("U1", "河西区"), person("U2", "河西区")]
    first = assign([sessions[0]], people)
    again = reassign_absentees(first, sessions, ["U1", "U2"])
    u1 = [s for s in again.seats if s.person_key == "U1"]
    assert [(s.session_key, s.status) for s in u1] == [
        ("S1", SeatStatus.ABSENT),
        ("S2", SeatStatus.REINVITED),
    ]
    u2 = [s for s in again.seats if s.person_key == "U2"]
    assert u2[-1].session_key == "S3" and u2[-1].matched is False  # S2 full: next later one
    assert first.seats_in("S1")[0].status == SeatStatus.INVITED  # original untouched
    # Absent again from S2: S3 is the only later session with room.
    third = reassign_absentees(again, sessions, ["U1"])
    assert [s.session_key for s in third.seats if s.person_key == "U1"][-1] == "S3"
    fourth = reassign_absentees(third, sessions, ["U1"])
    assert any("无后续" in u.reason for u in fourth.unplaced)
    with pytest.raises(ValueError, match="NOBODY"):
        reassign_absentees(first, sessions, ["NOBODY"])


def test_session_needs_place_or_link_and_valid_times():
    with pytest.raises(ValueError, match="地点或线上链接"):
        TrainingSession(key="S", start=at(10, 9), end=at(10, 12), capacity=5)
    with pytest.raises(ValueError, match="结束时间"):
        TrainingSession(key="S", start=at(10, 9), end=at(10, 9), capacity=5, place="x")
    online = TrainingSession(
        key="S", start=at(10, 9), end=at(10, 12), capacity=5, online_link="https://meeting/1"
    )
    assert online.online_link
