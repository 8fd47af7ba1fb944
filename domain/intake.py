"""申报受理的规则: a batch's status, the people a form names, and which units still owe a batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from domain.models import ApplicationForm, TeamMember
from domain.states import ProjectState

BATCH_RECEIVED = "received"  # on time; its applications are the unit's current ones
BATCH_LATE = "late"  # after the deadline: recorded, not accepted
BATCH_SUPERSEDED = "superseded"  # an on-time batch replaced by the unit's later one
BATCH_REFUSED = "refused"  # no readable form, or it could not be processed: never current

QUALITY_LEAD = "质量负责人"
PROJECT_LEAD = "项目负责人"
TECHNICAL_MEMBER = "技术骨干"
MEMBER = "项目成员"
LEAD_ROLES = (PROJECT_LEAD, QUALITY_LEAD)  # who answers for a project, in this order


class _Person(Protocol):
    role: str


P = TypeVar("P", bound=_Person)


def project_lead(people: Sequence[P]) -> P | None:
    """Who answers for a project: its 项目负责人, else its 质量负责人 (None without either)."""
    for role in LEAD_ROLES:
        for person in people:
            if person.role == role:
                return person
    return None


def member_role(member: TeamMember) -> str:
    """技术骨干 for members whose role is technical or who are engineers, else 项目成员."""
    return TECHNICAL_MEMBER if "技术" in member.role or "工程师" in member.title else MEMBER


def project_people(form: ApplicationForm, owner: str) -> list[dict[str, str]]:
    """项目人员 of a form, each once: quality lead, project lead, then the members.

    `owner` (the applicant's USCC or name) makes each person's key unique in the campaign."""
    people: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(name: str, role: str, title: str = "", phone: str = "", email: str = "") -> None:
        name = name.strip()
        key = f"{owner}:{name}"
        if not name or key in seen:
            return
        seen.add(key)
        people.append(
            {
                "person_key": key,
                "name": name,
                "role": role,
                "title": title,
                "phone": phone,
                "email": email,
            }
        )

    for lead, role in ((form.quality_lead, QUALITY_LEAD), (form.project_lead, PROJECT_LEAD)):
        add(lead.name, role, lead.position, lead.phone, lead.email)
    for m in form.members:
        add(m.name, member_role(m), m.title)
    return people


def owes_batch(states: Iterable[str]) -> bool:
    """A unit owes a batch when it has no current application yet, or one of them was returned."""
    states = list(states)
    return not states or any(s == ProjectState.RETURNED for s in states)
