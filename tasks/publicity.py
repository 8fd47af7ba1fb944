"""Stage 8 公示公布: the public notice of the proposed excellent results for the period counted on
the Chinese working-day calendar, objections and their outcomes, and at the end of the period the
publication, certificates and commendation list."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from sqlalchemy import select

from documents.certificates import certificate_serial, to_pdfs, write_certificates
from documents.official import write_commendation_list, write_public_notice, write_publication
from documents.rows import (
    CertificateData,
    CertificateKind,
    CommendedPerson,
    CommendedUnit,
    NoticeEntry,
)
from domain.calendar import SHANGHAI
from domain.states import ProjectState
from domain.workdays import publicity_period
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.settings import get_settings
from storage.uow import UnitOfWork
from tasks.evaluation import EvaluationError, result_key

STAGE = "publicity"
UPHELD = "upheld"
DISMISSED = "dismissed"
OUTCOME_LABELS = {UPHELD: "异议成立", DISMISSED: "异议不成立"}


@dataclass(frozen=True)
class NoticePeriod:
    starts_on: dt.date
    ends_on: dt.date


PICKUP = "请推荐单位于公布后10个工作日内到市市场监管委质量发展处统一领取，并转交获证单位和个人"


def _notice(uow: UnitOfWork, ctx: CampaignContext, kind: str) -> orm.PublicNotice | None:
    return uow.session.scalar(
        select(orm.PublicNotice).where(
            orm.PublicNotice.campaign_id == ctx.campaign_id, orm.PublicNotice.kind == kind
        )
    )


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


def _ranked_excellent(uow: UnitOfWork, ctx: CampaignContext, states: list[ProjectState]):  # noqa: ANN202
    apps = uow.repo.applications(ctx.campaign_id, states, with_people=True)
    scores = {
        s.application_id: s
        for s in uow.session.scalars(
            select(orm.ResultScore).where(orm.ResultScore.application_id.in_([a.id for a in apps]))
        )
    }
    return sorted(
        apps, key=lambda a: (scores[a.id].rank if a.id in scores else 10**9, a.id)
    ), scores


def _entry(seq: int, app: orm.Application, score: orm.ResultScore | None) -> NoticeEntry:
    return NoticeEntry(
        seq=seq,
        title=app.title,
        unit=app.applicant_name,
        recommending_unit=app.recommending_unit.name,
        chain=app.chain,
        score=score.score if score else None,
        participants=[p.name for p in app.people],
    )


def _notice_start(uow: UnitOfWork, ctx: CampaignContext) -> dt.date:
    """The calendar's publicity start, or the day the evaluation finished when that was later."""
    start = ctx.calendar.publicity_start
    applied = uow.repo.step_done(ctx.campaign_id, "evaluation", "states_applied")
    if applied is not None:
        start = max(start, applied.as_of.astimezone(SHANGHAI).date())
    return start


@task(name="public-notice", task_run_name="public-notice-{ctx.year}")
def post_public_notice(ctx: CampaignContext, outcome: StageReport) -> NoticePeriod | None:
    """Once: the 公示 docx of the proposed excellent results and a message to each recommending
    unit concerned. Returns nothing useful before evaluation is complete."""
    with UnitOfWork() as uow:
        notice = _notice(uow, ctx, "publicity")
        if notice is not None:
            return NoticePeriod(notice.starts_on, notice.ends_on)
        if not uow.repo.step_done(ctx.campaign_id, "evaluation", "states_applied"):
            outcome.waiting.append("成果评定尚未完成（优秀成果名单未确认）")
            return None
        apps, scores = _ranked_excellent(uow, ctx, [ProjectState.EXCELLENT])
        if not apps:
            if not uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
                uow.repo.mark_step(
                    ctx.campaign_id, STAGE, "published", as_of=ctx.now, summary={"published": 0}
                )
                uow.commit()
                outcome.done.append("本年度无拟认定优秀成果，不发布公示")
            outcome.complete = True
            return None
        start, end = publicity_period(_notice_start(uow, ctx), ctx.rules.publicity_working_days)
        path = ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关优秀成果公示.docx"
        write_public_notice(
            path,
            ctx.year,
            [_entry(i, a, scores.get(a.id)) for i, a in enumerate(apps, start=1)],
            start,
            end,
            ctx.config.contact,
            ctx.config.phone,
            ctx.config.email,
            issued_on=start,
            issuer=ctx.config.issuer,
            working_days=ctx.rules.publicity_working_days,
            office=ctx.config.department,
        )
        notice = orm.PublicNotice(
            campaign_id=ctx.campaign_id,
            kind="publicity",
            starts_on=start,
            ends_on=end,
            posted_at=ctx.now,
            application_ids=[a.id for a in apps],
            document=str(path),
        )
        uow.session.add(notice)
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="public_notice", title="优秀成果公示", path=str(path)
        )
        by_unit: dict[int, list[orm.Application]] = defaultdict(list)
        for a in apps:
            by_unit[a.recommending_unit_id].append(a)
        sent = 0
        for unit in uow.repo.recommending_units():
            if unit.id not in by_unit:
                continue
            sent += send_message(
                uow,
                ctx,
                event="public_notice",
                recipient=Recipient.for_recommending_unit(unit),
                period="publicity",
                context={
                    "starts_on": start,
                    "ends_on": end,
                    "working_days": ctx.rules.publicity_working_days,
                    "projects": [f"{a.applicant_name}：{a.title}" for a in by_unit[unit.id]],
                },
                attachments=[path],
            )
        uow.commit()
    outcome.done.append(
        f"发布优秀成果公示：{len(apps)}项，公示期{start:%Y-%m-%d}至{end:%Y-%m-%d}"
        f"（{ctx.rules.publicity_working_days}个工作日），通知{sent}个推荐单位"
    )
    outcome.documents.append(str(path))
    return NoticePeriod(start, end)


def send_message(
    uow: UnitOfWork,
    ctx: CampaignContext,
    *,
    event: str,
    recipient: Recipient,
    period: str,
    context: dict[str, object],
    attachments: list[Path] | None = None,
) -> bool:
    return send(
        uow,
        ctx,
        event=event,
        recipient=recipient,
        period=period,
        context={"campaign_title": ctx.config.title, **context},
        attachments=attachments,
    )


# ---------------------------------------------------------------------------------------------
# objections


def _find_application(uow: UnitOfWork, ctx: CampaignContext, ref: int | str) -> orm.Application:
    apps = uow.repo.applications(ctx.campaign_id)
    text = str(ref).strip()
    for a in apps:
        if str(a.id) == text or (a.plan_number and a.plan_number == text) or result_key(a) == text:
            return a
    raise EvaluationError(
        f"{ctx.year}年没有编号为「{text}」的项目：请填写项目编号（计划编号）或记录号"
    )


def add_objection(
    ctx: CampaignContext,
    application: int | str,
    raised_by: str,
    content: str,
    received_at: dt.datetime | None = None,
) -> int:
    """异议登记: only for a result on the public notice, received within the period, with the
    name of whoever raised it (anonymous objections are not taken). Returns the objection's id."""
    received = received_at or ctx.now
    if received.tzinfo is None:
        received = received.replace(tzinfo=SHANGHAI)
    if not raised_by.strip():
        raise EvaluationError("匿名提出的异议不予受理：请填写异议人（单位或个人实名）")
    if not content.strip():
        raise EvaluationError("请填写异议内容")
    with UnitOfWork() as uow:
        notice = _notice(uow, ctx, "publicity")
        if notice is None:
            raise EvaluationError(f"{ctx.year}年优秀成果尚未公示，不能登记异议")
        app = _find_application(uow, ctx, application)
        if app.id not in (notice.application_ids or []):
            raise EvaluationError(f"项目「{app.title}」不在公示名单中：异议只针对公示成果")
        day = received.astimezone(SHANGHAI).date()
        if day > notice.ends_on:
            raise EvaluationError(
                f"异议收到日期 {day:%Y-%m-%d} 晚于公示期结束日 {notice.ends_on:%Y-%m-%d}，"
                "逾期提出的异议不予受理"
            )
        objection = orm.Objection(
            campaign_id=ctx.campaign_id,
            application_id=app.id,
            received_at=received,
            raised_by=raised_by.strip(),
            content=content.strip(),
            outcome=None,
        )
        uow.session.add(objection)
        uow.commit()
        return objection.id


def resolve_objection(
    ctx: CampaignContext,
    objection_id: int,
    outcome: str,
    reason: str,
    resolved_at: dt.datetime | None = None,
) -> None:
    """异议处理结果: upheld (the result is not recognised) or dismissed, with the reason."""
    if outcome not in OUTCOME_LABELS:
        raise EvaluationError(
            f"处理结果「{outcome}」无效：请填写 upheld（成立）或 dismissed（不成立）"
        )
    if not reason.strip():
        raise EvaluationError("请填写异议处理理由（--reason）")
    with UnitOfWork() as uow:
        objection = uow.session.get(orm.Objection, objection_id)
        if objection is None or objection.campaign_id != ctx.campaign_id:
            raise EvaluationError(f"{ctx.year}年没有编号为 {objection_id} 的异议：请核对异议编号")
        if objection.outcome is not None:
            raise EvaluationError(
                f"异议 {objection_id} 已处理（{OUTCOME_LABELS[objection.outcome]}），不能重复处理"
            )
        if uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
            raise EvaluationError(f"{ctx.year}年优秀成果已公布，异议处理结果不能再更改")
        objection.outcome = outcome
        objection.outcome_reason = reason.strip()
        objection.resolved_at = resolved_at or ctx.now
        uow.commit()


def open_objections(uow: UnitOfWork, ctx: CampaignContext) -> list[orm.Objection]:
    return list(
        uow.session.scalars(
            select(orm.Objection)
            .where(orm.Objection.campaign_id == ctx.campaign_id, orm.Objection.outcome.is_(None))
            .order_by(orm.Objection.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# publication and certificates


@dataclass
class IssuedCertificates:
    files: list[Path]
    count: int


def _issue_certificates(
    uow: UnitOfWork, ctx: CampaignContext, apps: list[orm.Application], issued_on: dt.date
) -> IssuedCertificates:
    """A certificate per excellent result for its unit and one per participant, numbered in
    rank order; one Word file per recommending unit (the unit hands them out), PDF where
    LibreOffice is installed."""
    folder = ctx.folder(STAGE) / "荣誉证书"
    folder.mkdir(parents=True, exist_ok=True)
    number = 0
    per_unit: dict[int, list[tuple[orm.Certificate, CertificateData]]] = defaultdict(list)
    for app in apps:
        holders: list[tuple[str, CertificateKind, str]] = [
            (app.applicant_name, CertificateKind.UNIT, "unit")
        ]
        seen: set[str] = set()
        for person in app.people:
            if person.name in seen:
                continue
            seen.add(person.name)
            holders.append((person.name, CertificateKind.PARTICIPANT, "person"))
        for holder, kind, holder_kind in holders:
            number += 1
            serial = certificate_serial(ctx.year, number, kind)
            cert = orm.Certificate(
                campaign_id=ctx.campaign_id,
                application_id=app.id,
                serial=serial,
                holder=holder,
                holder_kind=holder_kind,
                issued_on=issued_on,
            )
            data = CertificateData(
                serial=serial,
                kind=kind,
                recipient=holder,
                title=app.title,
                unit="" if kind is CertificateKind.UNIT else app.applicant_name,
            )
            per_unit[app.recommending_unit_id].append((cert, data))
    units = {u.id: u for u in uow.repo.recommending_units()}
    files: list[Path] = []
    written: dict[int, Path] = {}
    for unit_id, certs in per_unit.items():
        unit = units[unit_id]
        path = folder / f"{ctx.year}年质量攻关优秀成果证书_{unit.name}.docx"
        write_certificates(
            path, ctx.year, [d for _, d in certs], issued_on=issued_on, issuer=ctx.config.issuer
        )
        written[unit_id] = path
    # every unit's file converted by one LibreOffice run, where it is installed and wanted
    pdfs = to_pdfs(list(written.values())) if get_settings().certificate_pdf else None
    for (unit_id, certs), pdf in zip(per_unit.items(), pdfs or [None] * len(per_unit), strict=True):
        unit = units[unit_id]
        path = written[unit_id]
        files.append(path)
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="certificates",
            title=f"荣誉证书（{unit.name}）",
            path=str(path),
        )
        if pdf is not None:
            files.append(pdf)
            uow.repo.record_document(
                ctx.campaign_id,
                stage=STAGE,
                kind="certificates_pdf",
                title=f"荣誉证书PDF（{unit.name}）",
                path=str(pdf),
            )
        for cert, _ in certs:
            cert.document = str(pdf or path)
            uow.session.add(cert)
    uow.session.flush()
    return IssuedCertificates(files=files, count=number)


@task(name="publish-results", task_run_name="publish-{ctx.year}")
def publish_results(ctx: CampaignContext, outcome: StageReport, notice: NoticePeriod) -> None:
    """At the end of the period, once no objection is open: upheld objections take their result
    off the list, the rest are published, with certificates, commendation list and messages."""
    with UnitOfWork() as uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
            outcome.complete = True
            return
        if ctx.now < end_of_day(notice.ends_on):
            outcome.waiting.append(
                f"公示期{notice.starts_on:%Y-%m-%d}至{notice.ends_on:%Y-%m-%d}，期满后公布"
            )
            return
        still_open = open_objections(uow, ctx)
        if still_open:
            outcome.waiting.append(
                f"公示期已满，尚有{len(still_open)}件异议未处理，处理完毕前不予公布："
                + "；".join(f"异议{o.id}（{o.raised_by}）" for o in still_open)
            )
            return
        upheld = {
            o.application_id: o
            for o in uow.session.scalars(
                select(orm.Objection).where(
                    orm.Objection.campaign_id == ctx.campaign_id, orm.Objection.outcome == UPHELD
                )
            )
        }
        apps, scores = _ranked_excellent(uow, ctx, [ProjectState.EXCELLENT])
        published: list[orm.Application] = []
        for app in apps:
            objection = upheld.get(app.id)
            if objection is not None:
                uow.repo.move(
                    app,
                    ProjectState.EVALUATED,
                    at=ctx.now,
                    actor="rule:objection_upheld",
                    reason=f"公示期异议成立（异议{objection.id}，{objection.raised_by}）："
                    f"{objection.outcome_reason}",
                )
                continue
            uow.repo.move(
                app,
                ProjectState.PUBLISHED,
                at=ctx.now,
                actor="rule:publicity_ended",
                reason=f"公示期{notice.starts_on:%Y-%m-%d}至{notice.ends_on:%Y-%m-%d}期满，"
                "无成立的异议，予以公布",
            )
            published.append(app)
        issued_on = ctx.local_date()
        folder = ctx.folder(STAGE)
        entries = [_entry(i, a, scores.get(a.id)) for i, a in enumerate(published, start=1)]
        docx, xlsx = write_publication(
            folder / f"关于公布{ctx.year}年天津市质量攻关优秀成果的通知.docx",
            folder / f"{ctx.year}年天津市质量攻关优秀成果名单.xlsx",
            ctx.year,
            entries,
            issued_on,
            issuer=ctx.config.issuer,
            notice_period=(notice.starts_on, notice.ends_on),
        )
        uow.session.add(
            orm.PublicNotice(
                campaign_id=ctx.campaign_id,
                kind="publication",
                starts_on=issued_on,
                ends_on=issued_on,
                posted_at=ctx.now,
                application_ids=[a.id for a in published],
                document=str(docx),
            )
        )
        for path, title in ((docx, "优秀成果公布通知"), (xlsx, "优秀成果名单")):
            uow.repo.record_document(
                ctx.campaign_id, stage=STAGE, kind="publication", title=title, path=str(path)
            )
        documents = [docx, xlsx]
        certificates = IssuedCertificates(files=[], count=0)
        if published:
            certificates = _issue_certificates(uow, ctx, published, issued_on)
            documents += certificates.files
        units = {u.id: u for u in uow.repo.recommending_units()}
        organising = sorted({a.recommending_unit_id for a in published})
        commendation = write_commendation_list(
            folder / f"{ctx.year}年天津市质量攻关通报表扬名单.docx",
            ctx.year,
            [CommendedUnit(unit=a.applicant_name, title=a.title) for a in published],
            [
                CommendedPerson(name=p.name, unit=a.applicant_name, title=a.title)
                for a in published
                for p in a.people
            ],
            [
                CommendedPerson(name=units[u].contact or units[u].name, unit=units[u].name)
                for u in organising
            ],
            issuer=ctx.config.issuer,
            issued_on=issued_on,
        )
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="commendation",
            title="通报表扬名单",
            path=str(commendation),
        )
        documents.append(commendation)
        sent = _publication_messages(uow, ctx, published, units, docx, issued_on)
        uow.repo.mark_step(
            ctx.campaign_id,
            STAGE,
            "published",
            as_of=ctx.now,
            summary={
                "published": len(published),
                "withdrawn_by_objection": len(upheld),
                "certificates": certificates.count,
            },
        )
        uow.commit()
    outcome.done.append(
        f"公示期满无未决异议，公布优秀成果{len(published)}项"
        + (f"（{len(upheld)}项因异议成立不予认定）" if upheld else "")
        + f"，制作证书{certificates.count}张，发送通知{sent}条"
    )
    outcome.counts["公布优秀成果"] = len(published)
    outcome.counts["证书"] = certificates.count
    outcome.documents += [str(d) for d in documents]
    outcome.complete = True


def _publication_messages(
    uow: UnitOfWork,
    ctx: CampaignContext,
    published: list[orm.Application],
    units: dict[int, orm.RecommendingUnit],
    docx: Path,
    issued_on: dt.date,
) -> int:
    by_unit: dict[int, list[orm.Application]] = defaultdict(list)
    for a in published:
        by_unit[a.recommending_unit_id].append(a)
    sent = 0
    for unit_id, apps in by_unit.items():
        unit = units[unit_id]
        sent += send_message(
            uow,
            ctx,
            event="publication",
            recipient=Recipient.for_recommending_unit(unit),
            period="publication",
            context={
                "published_on": issued_on,
                "projects": [f"{a.applicant_name}：{a.title}" for a in apps],
            },
            attachments=[docx],
        )
    certs = uow.session.scalars(
        select(orm.Certificate)
        .where(orm.Certificate.campaign_id == ctx.campaign_id)
        .order_by(orm.Certificate.serial)
    ).all()
    apps_by_id = {a.id: a for a in published}
    for cert in certs:
        app = apps_by_id.get(cert.application_id)
        if app is None:
            continue
        context = {
            "holder": cert.holder,
            "project_title": app.title,
            "serial": cert.serial,
            "pickup": PICKUP,
        }
        attachments = [Path(cert.document)] if cert.document else []
        if cert.holder_kind == "unit":
            recipient = Recipient.for_recommending_unit(units[app.recommending_unit_id])
        else:
            person = next((p for p in app.people if p.name == cert.holder), None)
            if person is None:
                continue
            recipient = Recipient.for_project_person(person)
        sent += send_message(
            uow,
            ctx,
            event="certificate",
            recipient=recipient,
            period=cert.serial,
            context=context,
            attachments=attachments,
        )
    return sent
