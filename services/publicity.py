"""Stage 8 公示公布: the public notice of the proposed excellent results for the period counted on
the Chinese working-day calendar, objections and their outcomes, and at the end of the period the
publication, certificates and commendation list.

The publication runs in two transactions around the PDF conversion, so that LibreOffice never
runs while the database waits: the first records the states, the lists, the certificates and
their Word files; the second, after the conversion, records the PDFs, queues the messages and
marks the stage published. A run that stopped between the two finishes the second."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

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
from domain.publicity import (
    OUTCOME_LABELS,
    PICKUP,
    PUBLISHED_ACTOR,
    UPHELD_ACTOR,
    ObjectionError,
    end_of_day,
    names_project,
)
from domain.states import ProjectState
from domain.workdays import publicity_period
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from storage import orm
from storage.settings import get_settings
from storage.uow import UnitOfWork

STAGE = "publicity"


class NoticePeriod(BaseModel):
    """公示期: the first and last day of the public notice."""

    model_config = ConfigDict(frozen=True)

    starts_on: dt.date
    ends_on: dt.date


class NoticeReport(StageReport):
    """What posting the public notice did, with the notice's period once there is one."""

    notice: NoticePeriod | None = None


def ranked_excellent(
    uow: UnitOfWork, ctx: CampaignContext
) -> tuple[list[orm.Application], dict[int, orm.ResultScore]]:
    """The proposed excellent results (with their people) in rank order, and their scores."""
    apps = uow.repo.applications(ctx.campaign_id, [ProjectState.EXCELLENT], with_people=True)
    scores = uow.publicity.scores_of([a.id for a in apps])
    ranked = sorted(apps, key=lambda a: (scores[a.id].rank if a.id in scores else 10**9, a.id))
    return ranked, scores


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


def _by_unit(apps: list[orm.Application]) -> dict[int, list[orm.Application]]:
    """The projects grouped by recommending unit, in their order."""
    grouped: dict[int, list[orm.Application]] = defaultdict(list)
    for a in apps:
        grouped[a.recommending_unit_id].append(a)
    return grouped


# ---------------------------------------------------------------------------------------------
# the public notice (公示)


def _notice_start(uow: UnitOfWork, ctx: CampaignContext) -> dt.date:
    """The calendar's publicity start, or the day the evaluation finished when that was later."""
    start = ctx.calendar.publicity_start
    applied = uow.repo.step_done(ctx.campaign_id, "evaluation", "states_applied")
    if applied is not None:
        start = max(start, applied.as_of.astimezone(SHANGHAI).date())
    return start


def post_public_notice(uow: UnitOfWork, ctx: CampaignContext) -> NoticeReport:
    """Once: the 公示 docx of the proposed excellent results and a message to each recommending
    unit concerned. The report's `notice` stays None before evaluation is complete."""
    report = NoticeReport.start(STAGE, ctx)
    with uow:
        notice = uow.publicity.notice(ctx.campaign_id, "publicity")
        if notice is not None:
            report.notice = NoticePeriod(starts_on=notice.starts_on, ends_on=notice.ends_on)
            return report
        if not uow.repo.step_done(ctx.campaign_id, "evaluation", "states_applied"):
            report.waiting.append("成果评定尚未完成（优秀成果名单未确认）")
            return report
        apps, scores = ranked_excellent(uow, ctx)
        if not apps:
            _nothing_to_publish(uow, ctx, report)
            return report
        start, end = publicity_period(_notice_start(uow, ctx), ctx.rules.publicity_working_days)
        path = _write_notice(ctx, apps, scores, start, end)
        uow.add(
            orm.PublicNotice(
                campaign_id=ctx.campaign_id,
                kind="publicity",
                starts_on=start,
                ends_on=end,
                posted_at=ctx.now,
                application_ids=[a.id for a in apps],
                document=str(path),
            )
        )
        uow.repo.record_document(
            ctx.campaign_id, stage=STAGE, kind="public_notice", title="优秀成果公示", path=str(path)
        )
        sent = _notice_messages(uow, ctx, apps, start, end, path)
        uow.commit()
    report.done.append(
        f"发布优秀成果公示：{len(apps)}项，公示期{start:%Y-%m-%d}至{end:%Y-%m-%d}"
        f"（{ctx.rules.publicity_working_days}个工作日），通知{sent}个推荐单位"
    )
    report.documents.append(str(path))
    report.notice = NoticePeriod(starts_on=start, ends_on=end)
    return report


def _nothing_to_publish(uow: UnitOfWork, ctx: CampaignContext, report: StageReport) -> None:
    """No proposed excellent result: nothing is posted, and the stage is done."""
    if not uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
        uow.repo.mark_step(
            ctx.campaign_id, STAGE, "published", as_of=ctx.now, summary={"published": 0}
        )
        uow.commit()
        report.done.append("本年度无拟认定优秀成果，不发布公示")
    report.complete = True


def _write_notice(
    ctx: CampaignContext,
    apps: list[orm.Application],
    scores: dict[int, orm.ResultScore],
    start: dt.date,
    end: dt.date,
) -> Path:
    path = ctx.folder(STAGE) / f"{ctx.year}年天津市质量攻关优秀成果公示.docx"
    return write_public_notice(
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


def _notice_messages(
    uow: UnitOfWork,
    ctx: CampaignContext,
    apps: list[orm.Application],
    start: dt.date,
    end: dt.date,
    path: Path,
) -> int:
    """Each recommending unit with a result on the notice is told, with the notice attached."""
    by_unit = _by_unit(apps)
    sent = 0
    for unit in uow.repo.recommending_units():
        if unit.id not in by_unit:
            continue
        sent += send(
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
    return sent


# ---------------------------------------------------------------------------------------------
# objections (`qcamp objections add|resolve`)


def _find_application(uow: UnitOfWork, ctx: CampaignContext, ref: int | str) -> orm.Application:
    text = str(ref).strip()
    for a in uow.repo.applications(ctx.campaign_id):
        if names_project(text, a.id, a.plan_number):
            return a
    raise ObjectionError(
        f"{ctx.year}年没有编号为「{text}」的项目：请填写项目编号（计划编号）或记录号"
    )


def add_objection(
    uow: UnitOfWork,
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
        raise ObjectionError("匿名提出的异议不予受理：请填写异议人（单位或个人实名）")
    if not content.strip():
        raise ObjectionError("请填写异议内容")
    with uow:
        notice = uow.publicity.notice(ctx.campaign_id, "publicity")
        if notice is None:
            raise ObjectionError(f"{ctx.year}年优秀成果尚未公示，不能登记异议")
        app = _find_application(uow, ctx, application)
        if app.id not in (notice.application_ids or []):
            raise ObjectionError(f"项目「{app.title}」不在公示名单中：异议只针对公示成果")
        day = received.astimezone(SHANGHAI).date()
        if day > notice.ends_on:
            raise ObjectionError(
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
        uow.add(objection)
        uow.commit()
        return objection.id


def resolve_objection(
    uow: UnitOfWork,
    ctx: CampaignContext,
    objection_id: int,
    outcome: str,
    reason: str,
    resolved_at: dt.datetime | None = None,
) -> None:
    """异议处理结果: upheld (the result is not recognised) or dismissed, with the reason."""
    if outcome not in OUTCOME_LABELS:
        raise ObjectionError(
            f"处理结果「{outcome}」无效：请填写 upheld（成立）或 dismissed（不成立）"
        )
    if not reason.strip():
        raise ObjectionError("请填写异议处理理由（--reason）")
    with uow:
        objection = uow.publicity.objection(objection_id)
        if objection is None or objection.campaign_id != ctx.campaign_id:
            raise ObjectionError(f"{ctx.year}年没有编号为 {objection_id} 的异议：请核对异议编号")
        if objection.outcome is not None:
            raise ObjectionError(
                f"异议 {objection_id} 已处理（{OUTCOME_LABELS[objection.outcome]}），不能重复处理"
            )
        if uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
            raise ObjectionError(f"{ctx.year}年优秀成果已公布，异议处理结果不能再更改")
        objection.outcome = outcome
        objection.outcome_reason = reason.strip()
        objection.resolved_at = resolved_at or ctx.now
        uow.commit()


# ---------------------------------------------------------------------------------------------
# publication and certificates (公布)


@dataclass(frozen=True)
class CertificateFile:
    """One recommending unit's Word file of certificates (the unit hands them out)."""

    unit_id: int
    unit_name: str
    path: Path


def _publication_paths(ctx: CampaignContext) -> tuple[Path, Path, Path]:
    """The publication notice (docx), the list (xlsx) and the commendation list (docx)."""
    folder = ctx.folder(STAGE)
    return (
        folder / f"关于公布{ctx.year}年天津市质量攻关优秀成果的通知.docx",
        folder / f"{ctx.year}年天津市质量攻关优秀成果名单.xlsx",
        folder / f"{ctx.year}年天津市质量攻关通报表扬名单.docx",
    )


def _certificate_path(ctx: CampaignContext, unit_name: str) -> Path:
    return ctx.folder(STAGE) / "荣誉证书" / f"{ctx.year}年质量攻关优秀成果证书_{unit_name}.docx"


def publish_results(uow: UnitOfWork, ctx: CampaignContext, notice: NoticePeriod) -> StageReport:
    """At the end of the period, once no objection is open: upheld objections take their result
    off the list, the rest are published, with certificates, commendation list and messages.

    Step 1 (one transaction): the states, the lists, the certificates and their Word files;
    step 2 (no transaction): the certificates converted to PDF; step 3 (one transaction): the
    PDFs recorded, the messages queued, the stage marked published."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
            report.complete = True
            return report
        if uow.publicity.notice(ctx.campaign_id, "publication") is None:
            if _publication_waits(uow, ctx, notice, report):
                return report
            _record_publication(uow, ctx, notice)
            uow.commit()
        files = _certificate_files(uow, ctx)
    pdfs = _convert_certificates(files)
    with uow:
        _finish_publication(uow, ctx, files, pdfs, report)
        uow.commit()
    return report


def _publication_waits(
    uow: UnitOfWork, ctx: CampaignContext, notice: NoticePeriod, report: StageReport
) -> bool:
    """Whether the publication must wait: the period has not ended, or an objection is open."""
    if ctx.now < end_of_day(notice.ends_on):
        report.waiting.append(
            f"公示期{notice.starts_on:%Y-%m-%d}至{notice.ends_on:%Y-%m-%d}，期满后公布"
        )
        return True
    still_open = uow.publicity.open_objections(ctx.campaign_id)
    if still_open:
        report.waiting.append(
            f"公示期已满，尚有{len(still_open)}件异议未处理，处理完毕前不予公布："
            + "；".join(f"异议{o.id}（{o.raised_by}）" for o in still_open)
        )
        return True
    return False


def _record_publication(uow: UnitOfWork, ctx: CampaignContext, notice: NoticePeriod) -> None:
    """Step 1: upheld objections take their result off the list, the rest are published; the
    publication notice and list, the certificates (rows and Word files), the commendation list."""
    upheld = {o.application_id: o for o in uow.publicity.upheld_objections(ctx.campaign_id)}
    apps, scores = ranked_excellent(uow, ctx)
    published = _decide(uow, ctx, notice, apps, upheld)
    issued_on = ctx.local_date()
    docx, xlsx, _ = _publication_paths(ctx)
    write_publication(
        docx,
        xlsx,
        ctx.year,
        [_entry(i, a, scores.get(a.id)) for i, a in enumerate(published, start=1)],
        issued_on,
        issuer=ctx.config.issuer,
        notice_period=(notice.starts_on, notice.ends_on),
    )
    uow.add(
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
    if published:
        _issue_certificates(uow, ctx, published, issued_on)
    _write_commendation(uow, ctx, published, issued_on)


def _decide(
    uow: UnitOfWork,
    ctx: CampaignContext,
    notice: NoticePeriod,
    apps: list[orm.Application],
    upheld: dict[int, orm.Objection],
) -> list[orm.Application]:
    """Each proposed result published, or back to 已评定 where an objection was upheld; the
    published ones in rank order."""
    published: list[orm.Application] = []
    for app in apps:
        objection = upheld.get(app.id)
        if objection is not None:
            uow.repo.move(
                app,
                ProjectState.EVALUATED,
                at=ctx.now,
                actor=UPHELD_ACTOR,
                reason=f"公示期异议成立（异议{objection.id}，{objection.raised_by}）："
                f"{objection.outcome_reason}",
            )
            continue
        uow.repo.move(
            app,
            ProjectState.PUBLISHED,
            at=ctx.now,
            actor=PUBLISHED_ACTOR,
            reason=f"公示期{notice.starts_on:%Y-%m-%d}至{notice.ends_on:%Y-%m-%d}期满，"
            "无成立的异议，予以公布",
        )
        published.append(app)
    return published


def _issue_certificates(
    uow: UnitOfWork, ctx: CampaignContext, apps: list[orm.Application], issued_on: dt.date
) -> None:
    """A certificate per excellent result for its unit and one per participant, numbered in
    rank order; one Word file per recommending unit (the unit hands them out)."""
    number = 0
    per_unit: dict[int, list[tuple[orm.Certificate, CertificateData]]] = defaultdict(list)
    for app in apps:
        holders: list[tuple[str, CertificateKind, str]] = [
            (app.applicant_name, CertificateKind.UNIT, "unit")
        ]
        seen: set[str] = set()
        for person in app.people:
            if person.name not in seen:
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
    for unit_id, certs in per_unit.items():
        path = _certificate_path(ctx, units[unit_id].name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_certificates(
            path, ctx.year, [d for _, d in certs], issued_on=issued_on, issuer=ctx.config.issuer
        )
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="certificates",
            title=f"荣誉证书（{units[unit_id].name}）",
            path=str(path),
        )
        for cert, _ in certs:
            cert.document = str(path)
            uow.add(cert)
    uow.flush()


def _write_commendation(
    uow: UnitOfWork, ctx: CampaignContext, published: list[orm.Application], issued_on: dt.date
) -> None:
    """通报表扬名单: the units, participants and organising recommending units."""
    units = {u.id: u for u in uow.repo.recommending_units()}
    organising = sorted({a.recommending_unit_id for a in published})
    _, _, path = _publication_paths(ctx)
    write_commendation_list(
        path,
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
        ctx.campaign_id, stage=STAGE, kind="commendation", title="通报表扬名单", path=str(path)
    )


def _published(
    uow: UnitOfWork, ctx: CampaignContext
) -> tuple[orm.PublicNotice, list[orm.Application]]:
    """The publication and its results (with their people) in its order."""
    publication = uow.publicity.notice(ctx.campaign_id, "publication")
    if publication is None:
        raise RuntimeError(f"{ctx.year}年优秀成果公布记录缺失")  # step 1 records it first
    order = {app_id: i for i, app_id in enumerate(publication.application_ids or [])}
    apps = [
        a
        for a in uow.repo.applications(ctx.campaign_id, [ProjectState.PUBLISHED], with_people=True)
        if a.id in order
    ]
    return publication, sorted(apps, key=lambda a: order[a.id])


def _certificate_files(uow: UnitOfWork, ctx: CampaignContext) -> list[CertificateFile]:
    """The published results' certificate files, one per recommending unit, in rank order of
    each unit's first result."""
    _, apps = _published(uow, ctx)
    units = {u.id: u for u in uow.repo.recommending_units()}
    order = list(dict.fromkeys(a.recommending_unit_id for a in apps))
    return [CertificateFile(u, units[u].name, _certificate_path(ctx, units[u].name)) for u in order]


def _convert_certificates(files: list[CertificateFile]) -> list[Path | None]:
    """Step 2, with no transaction open: every unit's file converted by one LibreOffice run,
    where it is installed and wanted; None for a file not converted."""
    pdfs = to_pdfs([f.path for f in files]) if files and get_settings().certificate_pdf else None
    return list(pdfs) if pdfs is not None else [None] * len(files)


def _finish_publication(
    uow: UnitOfWork,
    ctx: CampaignContext,
    files: list[CertificateFile],
    pdfs: list[Path | None],
    report: StageReport,
) -> None:
    """Step 3: the PDFs recorded, the messages queued, the stage marked published, the report."""
    publication, published = _published(uow, ctx)
    certs = uow.publicity.certificates(ctx.campaign_id)
    by_app_unit = {a.id: a.recommending_unit_id for a in published}
    documents: list[Path] = []
    for file, pdf in zip(files, pdfs, strict=True):
        documents.append(file.path)
        if pdf is None:
            continue
        documents.append(pdf)
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="certificates_pdf",
            title=f"荣誉证书PDF（{file.unit_name}）",
            path=str(pdf),
        )
        for cert in certs:
            if by_app_unit.get(cert.application_id) == file.unit_id:
                cert.document = str(pdf)
    upheld = {o.application_id for o in uow.publicity.upheld_objections(ctx.campaign_id)}
    sent = _publication_messages(
        uow, ctx, published, Path(publication.document), publication.starts_on, certs
    )
    uow.repo.mark_step(
        ctx.campaign_id,
        STAGE,
        "published",
        as_of=ctx.now,
        summary={
            "published": len(published),
            "withdrawn_by_objection": len(upheld),
            "certificates": len(certs),
        },
    )
    docx, xlsx, commendation = _publication_paths(ctx)
    report.done.append(
        f"公示期满无未决异议，公布优秀成果{len(published)}项"
        + (f"（{len(upheld)}项因异议成立不予认定）" if upheld else "")
        + f"，制作证书{len(certs)}张，发送通知{sent}条"
    )
    report.counts["公布优秀成果"] = len(published)
    report.counts["证书"] = len(certs)
    report.documents += [str(d) for d in (docx, xlsx, *documents, commendation)]
    report.complete = True


def _publication_messages(
    uow: UnitOfWork,
    ctx: CampaignContext,
    published: list[orm.Application],
    docx: Path,
    issued_on: dt.date,
    certs: Sequence[orm.Certificate],
) -> int:
    """Each recommending unit told of its published results; each certificate's holder told."""
    units = {u.id: u for u in uow.repo.recommending_units()}
    sent = 0
    for unit_id, apps in _by_unit(published).items():
        sent += send(
            uow,
            ctx,
            event="publication",
            recipient=Recipient.for_recommending_unit(units[unit_id]),
            period="publication",
            context={
                "published_on": issued_on,
                "projects": [f"{a.applicant_name}：{a.title}" for a in apps],
            },
            attachments=[docx],
        )
    apps_by_id = {a.id: a for a in published}
    for cert in certs:
        app = apps_by_id.get(cert.application_id)
        if app is None:
            continue
        if cert.holder_kind == "unit":
            recipient = Recipient.for_recommending_unit(units[app.recommending_unit_id])
        else:
            person = next((p for p in app.people if p.name == cert.holder), None)
            if person is None:
                continue
            recipient = Recipient.for_project_person(person)
        sent += send(
            uow,
            ctx,
            event="certificate",
            recipient=recipient,
            period=cert.serial,
            context={
                "holder": cert.holder,
                "project_title": app.title,
                "serial": cert.serial,
                "pickup": PICKUP,
            },
            attachments=[Path(cert.document)] if cert.document else [],
        )
    return sent
