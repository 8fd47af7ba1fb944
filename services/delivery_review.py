"""送达前复核: a queued message is checked again on its delivery day, before it is sent.

A message states only what is true on the day it arrives. Its facts were stored when it was
queued (`NotificationRecord.context`); here, for every message due now:

* reminders of one recipient that would arrive on the same day collapse into the most current
  one (a T-14 held over a holiday and the T-7 arrive as one message);
* a message whose point has gone is superseded (``superseded``, with the reason in
  ``last_error``): a deadline reminder on or after its deadline, a reminder to a unit that has
  since submitted, a check-in reminder for a report that came in, an invitation to an event
  that has begun;
* the rest are rendered again for the delivery day: "截至" is the delivery day, days left are
  counted from it, a "于…前" reply date is never before it, and the lists name only what is
  still missing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.checkins import ESCALATION_REPLY_DAYS
from domain.intake import owes_batch
from domain.reminders import (
    days_left,
    left_phrase,
    most_current,
    reminder_days_of,
    reply_by_on,
)
from domain.states import ProjectState
from domain.workdays import to_shanghai
from notifications.service import with_forward_note
from notifications.templates import decode_context, encode_context, render
from services.context import CampaignContext
from storage import orm
from storage.uow import UnitOfWork

SUPERSEDED = "superseded"
REMINDERS = ("application_reminder", "results_reminder")
# invitations and the context key of the moment their event begins
INVITATIONS = {
    "panel_invitation": "review_at",
    "training_invitation": "starts_at",
    "exchange_invitation": "meeting_at",
}

Verdict = str | dict[str, Any]  # a reason to supersede, or the facts to render again with


@dataclass
class ReviewReport:
    """What the review did to the messages due: superseded (with the reasons) and rendered again."""

    superseded: int = 0
    rerendered: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return f"送达前复核：作废 {self.superseded} 条，按送达日重新生成 {self.rerendered} 条"


def deadline_facts(deadline: dt.datetime, on: dt.date) -> dict[str, Any]:
    """``days``, ``left`` (``3天后``/``明天``/``今天``) and ``countdown`` (``距截止还有3天`` /
    ``今天截止``) for a deadline seen on day `on`."""
    days = days_left(deadline, on)
    return {
        "days": days,
        "left": left_phrase(days),
        "countdown": f"距截止还有{days}天" if days > 0 else "今天截止",
    }


def batch_owing(as_of: dt.datetime, returned: Sequence[str]) -> str:
    """What a unit still owes for the call, in plain words: nothing received at all, or the
    applications returned to it and not yet sent back."""
    day = to_shanghai(as_of)
    on = f"{day.year}年{day.month}月{day.day}日"
    if not returned:
        return f"截至{on}，我处尚未收到贵单位报送的申报材料。"
    items = "\n".join(f"{n}. {t}" for n, t in enumerate(returned, 1))
    return f"截至{on}，贵单位以下{len(returned)}个项目已退回修改，尚未重新报送：\n{items}\n"


def resubmit_phrase(resubmit_by: str, closed: bool) -> str:
    """How returned applications come back: by the deadline, or (delivered after it) not."""
    if closed:
        return f"申报已于{resubmit_by}截止，退回的项目本年度不再受理"
    return f"请按意见修改后于{resubmit_by}前重新报送，逾期未报送的视为放弃申报"


def returned_section(returned: Sequence[str], resubmit: str) -> str:
    """A receipt's part about the batch's returned applications (empty when none)."""
    if not returned:
        return ""
    items = "\n".join(returned)
    return f"退回修改项目（{len(returned)}项，{resubmit}）：\n{items}\n"


class _Facts:
    """The database's answers the review needs, each read once per review."""

    def __init__(self, uow: UnitOfWork, ctx: CampaignContext) -> None:
        self.uow, self.ctx = uow, ctx
        self._apps: list[orm.Application] | None = None

    def applications(self) -> list[orm.Application]:
        if self._apps is None:
            self._apps = list(self.uow.repo.applications(self.ctx.campaign_id))
        return self._apps

    def of_unit(self, recipient_key: str) -> list[orm.Application]:
        code = recipient_key.removeprefix("ru:")
        return [a for a in self.applications() if a.recommending_unit.code == code]

    def reported(self, app_ids: list[int], period: str) -> set[int]:
        submitted = self.uow.implementation.reported(app_ids)
        return {i for i in app_ids if submitted.get(i, {}).get(period)}


def _application_reminder(rec: orm.NotificationRecord, facts: _Facts, c: dict) -> Verdict:
    ctx = facts.ctx
    deadline = ctx.calendar.application_deadline
    if ctx.now >= deadline:
        return "申报已截止：截止后不再发送截止提醒"
    apps = facts.of_unit(rec.recipient_key)
    if not owes_batch(a.state for a in apps):
        return "该单位的申报材料已收到并受理，无需再提醒"
    returned = [a.title for a in apps if a.state == ProjectState.RETURNED]
    return {**deadline_facts(deadline, ctx.local_date()), "owing": batch_owing(ctx.now, returned)}


def _batch_answer(rec: orm.NotificationRecord, facts: _Facts, c: dict) -> Verdict:
    """A receipt or return notice delivered after the deadline does not ask for resubmission."""
    if facts.ctx.now < facts.ctx.calendar.application_deadline or "resubmit" not in c:
        return {}
    resubmit = resubmit_phrase(str(c.get("resubmit_by", "")), closed=True)
    returned = [line for line in str(c.get("returned", "")).split("\n") if line]
    return {"resubmit": resubmit, "returned_section": returned_section(returned, resubmit)}


def _results_reminder(rec: orm.NotificationRecord, facts: _Facts, c: dict) -> Verdict:
    ctx = facts.ctx
    deadline = ctx.calendar.results_deadline
    if ctx.now >= deadline:
        return "成果材料已截止：截止后不再发送截止提醒"
    owing = [a for a in facts.of_unit(rec.recipient_key) if a.state == ProjectState.IN_PROGRESS]
    if not owing:
        return "该单位推荐的项目已全部提交成果材料，无需再提醒"
    return {
        **deadline_facts(deadline, ctx.local_date()),
        "projects": "\n".join(f"{a.plan_number} {a.title}" for a in owing),
    }


def _checkin_overdue(rec: orm.NotificationRecord, facts: _Facts, c: dict) -> Verdict:
    period, _, app_id = rec.period.partition(":")
    if app_id.isdigit() and facts.reported([int(app_id)], period):
        return "该项目的进度报告已收到，无需再提醒"
    due = c.get("due_at")
    if isinstance(due, dt.datetime):
        return {"days_overdue": max((facts.ctx.local_date() - to_shanghai(due).date()).days, 1)}
    return {}


def _escalation(rec: orm.NotificationRecord, facts: _Facts, c: dict) -> Verdict:
    items = [(int(i), line) for i, line in c.get("project_items") or []]
    today = facts.ctx.local_date()
    updates: dict[str, Any] = {"reply_by": today + dt.timedelta(days=ESCALATION_REPLY_DAYS)}
    if not items:
        return updates
    done = facts.reported([i for i, _ in items], rec.period)
    silent = [line for i, line in items if i not in done]
    if not silent:
        return "督办所列项目的进度报告均已收到，无需督办"
    return {**updates, "count": len(silent), "projects": "\n".join(silent)}


def _invitation(rec: orm.NotificationRecord, facts: _Facts, c: dict) -> Verdict:
    starts = c.get(INVITATIONS[rec.event])
    if isinstance(starts, dt.datetime) and facts.ctx.now >= starts:
        return "活动已开始：邀请不再发送"
    asked = c.get("reply_by")
    if isinstance(asked, dt.date) and not isinstance(asked, dt.datetime):
        return {"reply_by": reply_by_on(facts.ctx.local_date(), asked)}
    return {}


JUDGES: dict[str, Callable[[orm.NotificationRecord, _Facts, dict], Verdict]] = {
    "application_reminder": _application_reminder,
    "results_reminder": _results_reminder,
    "checkin_overdue": _checkin_overdue,
    "receipt": _batch_answer,
    "returned": _batch_answer,
    "escalation": _escalation,
    **{event: _invitation for event in INVITATIONS},
}


def _supersede(rec: orm.NotificationRecord, reason: str, report: ReviewReport) -> None:
    rec.status = SUPERSEDED
    rec.last_error = reason
    report.superseded += 1
    report.reasons[reason] = report.reasons.get(reason, 0) + 1


def _collapse(
    records: Sequence[orm.NotificationRecord], report: ReviewReport
) -> list[orm.NotificationRecord]:
    """Reminders of one event to one recipient, due together: the most current stays."""
    groups: dict[tuple[str, str], list[orm.NotificationRecord]] = defaultdict(list)
    for rec in records:
        if rec.event in REMINDERS and reminder_days_of(rec.period) is not None:
            groups[(rec.event, rec.recipient_key)].append(rec)
    for group in groups.values():
        keep = most_current(r.period for r in group)
        for rec in group:
            if rec.period != keep:
                _supersede(rec, f"与同日送达的{keep}提醒合并为一条", report)
    return [r for r in records if r.status != SUPERSEDED]


def _rerender(rec: orm.NotificationRecord, context: dict, updates: dict, now: dt.datetime) -> bool:
    fresh = {**context, **updates, "as_of": now}
    message = render(rec.event, fresh)
    subject = message.subject[:300]
    body = with_forward_note(message.body, fresh)
    changed = (subject, body) != (rec.subject, rec.body)
    rec.subject, rec.body, rec.context = subject, body, encode_context(fresh)
    return changed


def _bundle_same_address(records: Sequence[orm.NotificationRecord], report: ReviewReport) -> None:
    """Messages of one event due together at one address go as ONE mail: several projects'
    certificates to their unit, several panels' invitations to one expert, several people's
    notices relayed through one lead or unit contact (naming each person it is for). The mail
    carries every attachment; the others are recorded as merged into it (superseded, with the
    carrier's number). Replies to a mail (threaded receipts) stay one per mail."""
    groups: dict[tuple[str, str], list[orm.NotificationRecord]] = defaultdict(list)
    for rec in records:
        if rec.status != SUPERSEDED and rec.channels and not rec.in_reply_to:
            address = json.dumps(sorted(c.get("url", "") for c in rec.channels))
            groups[(rec.event, address)].append(rec)
    for group in groups.values():
        if len(group) > 1:
            _bundle(sorted(group, key=lambda r: r.id), report)


def _bundle(group: list[orm.NotificationRecord], report: ReviewReport) -> None:
    carrier, *others = group
    notes = [decode_context(r.context or {}).get("forward_note", "") for r in group]
    relayed = [n for n in notes if n]
    intro = f"本邮件包含{len(group)}份通知"
    if relayed:
        intro += f"，其中请分别转交：{'、'.join(relayed)}"
    carrier.subject = f"{carrier.subject}（共{len(group)}份）"[:300]
    carrier.body = f"{intro}。\n\n" + "\n\n————————————\n\n".join(
        [carrier.body, *(r.body for r in others)]
    )
    attachments = list(carrier.attachments or [])
    for rec in others:
        attachments += [a for a in rec.attachments or [] if a not in attachments]
        _supersede(rec, f"与同日发往同一地址的同类通知合并为一封（#{carrier.id}）送达", report)
    carrier.attachments = attachments
    # the carrier now holds the others' text: never rendered again from its own facts alone
    carrier.context = {**(carrier.context or {}), "bundled_ids": [r.id for r in others]}


def review_due(uow: UnitOfWork, ctx: CampaignContext) -> ReviewReport:
    """Review every message due at the campaign's clock (see the module docstring); one
    transaction, before the delivery engine claims them."""
    report = ReviewReport()
    with uow:
        facts = _Facts(uow, ctx)
        due = _collapse(uow.messages.due(ctx.campaign_id, ctx.now), report)
        for rec in due:
            if not rec.context:
                continue  # queued before contexts were kept: sent as rendered
            context = decode_context(rec.context)
            if "bundled_ids" in context:
                continue  # already carries several notices (`_bundle_same_address`)
            judge = JUDGES.get(rec.event)
            verdict = judge(rec, facts, context) if judge else {}
            if isinstance(verdict, str):
                _supersede(rec, verdict, report)
            elif "as_of" in context and _rerender(rec, context, verdict, ctx.now):
                report.rerendered += 1
        _bundle_same_address(due, report)  # skips what the review has just superseded
        uow.commit()
    return report
