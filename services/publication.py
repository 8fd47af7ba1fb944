"""Stage 8 公示公布, its end: once the notice period has ended with no open objection, the
publication (公布), the certificates and the commendation list.

The publication runs in two transactions around the PDF conversion, so that LibreOffice never
runs while the database waits: the first records the states, the lists, the certificates and
their Word files; the second, after the conversion, records the PDFs, queues the messages and
marks the stage published. A run that stopped between the two finishes the second."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from documents.certificates import certificate_serial, to_pdfs, write_certificates
from documents.official import write_commendation_list, write_publication
from documents.rows import CertificateData, CertificateKind, CommendedPerson, CommendedUnit
from domain.models import PastResult
from domain.publicity import PICKUP, PUBLISHED_ACTOR, UPHELD_ACTOR, end_of_day
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext, StageReport
from services.messaging import send
from services.notices import doc_number, issuing
from services.outbox_hold import note_held
from services.publicity import STAGE, NoticePeriod, group_by_unit, notice_entry, ranked_excellent
from storage import orm
from storage.settings import get_settings
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


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
    """公布; mass mail held for staff is previewed (`services.outbox_hold`)."""
    report = _publish_results(uow, ctx, notice)
    note_held(uow, ctx, report, ("publication", "certificate"))
    return report


def _publish_results(uow: UnitOfWork, ctx: CampaignContext, notice: NoticePeriod) -> StageReport:
    """At the end of the period, once no objection is open: upheld objections take their result
    off the list, the rest are published, with certificates, commendation list and messages.

    Step 1 (one transaction): the states, the lists, the certificates and their Word files;
    step 2 (no transaction): the certificates converted to PDF; step 3 (one transaction): the
    PDFs recorded, the messages queued, the stage marked published."""
    report = StageReport.start(STAGE, ctx)
    with uow:
        if uow.repo.step_done(ctx.campaign_id, STAGE, "published"):
            report.complete = True
            _rewrite_publication(uow, ctx, notice, report)
            return report
        if uow.publicity.notice(ctx.campaign_id, "publication") is None:
            if _publication_waits(uow, ctx, notice, report):
                return report
            _record_publication(uow, ctx, notice)
            uow.commit()
        else:  # a run that stopped after step 1: its Word files must be there for step 2
            _rewrite_publication(uow, ctx, notice, report)
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
        [notice_entry(i, a, scores.get(a.id)) for i, a in enumerate(published, start=1)],
        issued_on,
        notice_period=(notice.starts_on, notice.ends_on),
        issuing=issuing(ctx, doc_number(uow, ctx, "publication")),
        objections=_objection_counts(uow, ctx),
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
    _add_to_past_results(uow, ctx, published)


def _add_to_past_results(
    uow: UnitOfWork, ctx: CampaignContext, published: list[orm.Application]
) -> None:
    """The published results join the past-results base (历年优秀成果) in the same transaction,
    so that next year's duplicate check (不得与历年优秀成果项目雷同) sees them."""
    submissions = uow.results.submissions_of([a.id for a in published])
    added = uow.registry.add_past_results(
        PastResult(
            year=ctx.year,
            title=a.title,
            unit=a.applicant_name,
            abstract=past_summary(a, submissions.get(a.id)),
        )
        for a in published
    )
    log.info("%d年优秀成果%d项已加入历年优秀成果库", ctx.year, added)


def past_summary(app: orm.Application, submission: orm.ResultSubmission | None) -> str:
    """What the past-results base keeps of a result: what it achieved, else the form's goal,
    measures and benefit (the text the duplicate check compares)."""
    if submission is not None and submission.achieved.strip():
        return submission.achieved.strip()
    form = app.form or {}
    parts = (form.get(k, "") for k in ("goal", "measures", "economic_benefit"))
    return "；".join(str(p).strip() for p in parts if str(p).strip())


def _objection_counts(uow: UnitOfWork, ctx: CampaignContext) -> tuple[int, int]:
    """(upheld, dismissed): the 公示's settled objections, as the publication states them."""
    upheld = len(uow.publicity.upheld_objections(ctx.campaign_id))
    settled = uow.publicity.settled_objections(ctx.campaign_id)
    return upheld, len(settled) - upheld


def _rewrite_publication(
    uow: UnitOfWork, ctx: CampaignContext, notice: NoticePeriod, report: StageReport
) -> None:
    """Step 1's files written again from the database where they are missing on disk: the
    publication notice and list, the commendation list, each unit's certificates (Word). No
    state, row or message changes; PDFs are made only by the publication's own step 2."""
    publication, published = _published(uow, ctx)
    issued_on = publication.starts_on
    docx, xlsx, commendation = _publication_paths(ctx)
    written: list[Path] = []
    if not (docx.exists() and xlsx.exists()):
        scores = uow.publicity.scores_of([a.id for a in published])
        entries = [notice_entry(i, a, scores.get(a.id)) for i, a in enumerate(published, 1)]
        period = (notice.starts_on, notice.ends_on)
        write_publication(
            docx,
            xlsx,
            ctx.year,
            entries,
            issued_on,
            notice_period=period,
            issuing=issuing(ctx, doc_number(uow, ctx, "publication")),
            objections=_objection_counts(uow, ctx),
        )
        written += [docx, xlsx]
    if not commendation.exists():
        _write_commendation(uow, ctx, published, issued_on)
        written.append(commendation)
    written += _rewrite_certificates(uow, ctx, published, issued_on)
    if written:
        report.done.append(f"重新生成缺失的公布文件{len(written)}份")
        report.documents += [str(p) for p in written]


def _rewrite_certificates(
    uow: UnitOfWork, ctx: CampaignContext, published: list[orm.Application], issued_on: dt.date
) -> list[Path]:
    """Each unit's certificate Word file that is missing, from the stored certificates."""
    apps = {a.id: a for a in published}
    per_unit: dict[int, list[orm.Certificate]] = defaultdict(list)
    for cert in sorted(uow.publicity.certificates(ctx.campaign_id), key=lambda c: c.id):
        if cert.application_id in apps:
            per_unit[apps[cert.application_id].recommending_unit_id].append(cert)
    units = {u.id: u for u in uow.repo.recommending_units()}
    written = []
    for unit_id, certs in per_unit.items():
        path = _certificate_path(ctx, units[unit_id].name)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        data = [
            CertificateData(
                serial=c.serial,
                kind=CertificateKind.UNIT
                if c.holder_kind == "unit"
                else CertificateKind.PARTICIPANT,
                recipient=c.holder,
                title=apps[c.application_id].title,
                unit="" if c.holder_kind == "unit" else apps[c.application_id].applicant_name,
            )
            for c in certs
        ]
        write_certificates(path, ctx.year, data, issued_on=issued_on, issuer=ctx.config.issuer)
        written.append(path)
    return written


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
    rank order; one Word file per recommending unit (the unit prints and hands them out) and one
    per certificate, which is what its holder's mail carries (nobody else's certificate)."""
    per_unit: dict[int, list[tuple[orm.Certificate, CertificateData]]] = defaultdict(list)
    number = 0
    for app in apps:
        for holder, kind, holder_kind in _holders(app):
            number += 1
            serial = certificate_serial(
                ctx.year, number, kind, ctx.config.documents.certificate_prefix
            )
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
        for cert, data in certs:
            own = _own_certificate_path(ctx, units[unit_id].name, data)
            write_certificates(own, ctx.year, [data], issued_on=issued_on, issuer=ctx.config.issuer)
            cert.document = str(own)
            uow.add(cert)
    uow.flush()


def _holders(app: orm.Application) -> list[tuple[str, CertificateKind, str]]:
    """The project's certificate holders: its unit, then each participant once."""
    holders: list[tuple[str, CertificateKind, str]] = [
        (app.applicant_name, CertificateKind.UNIT, "unit")
    ]
    seen: set[str] = set()
    for person in app.people:
        if person.name not in seen:
            seen.add(person.name)
            holders.append((person.name, CertificateKind.PARTICIPANT, "person"))
    return holders


def _own_certificate_path(ctx: CampaignContext, unit_name: str, data: CertificateData) -> Path:
    """One certificate's own file, beside its recommending unit's file of all of them."""
    holder = re.sub(r'[\\/:*?"<>|\s]+', "_", data.recipient).strip("_") or "证书"
    return ctx.folder(STAGE) / "荣誉证书" / unit_name / f"{data.serial}_{holder}.docx"


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
        issued_on=issued_on,
        issuing=issuing(ctx, doc_number(uow, ctx, "commendation")),
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
    documents: list[Path] = []
    unit_files: dict[int, Path] = {}
    for file, pdf in zip(files, pdfs, strict=True):
        documents.append(file.path)
        unit_files[file.unit_id] = pdf or file.path
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
    upheld = {o.application_id for o in uow.publicity.upheld_objections(ctx.campaign_id)}
    sent = _publication_messages(
        uow, ctx, published, Path(publication.document), publication.starts_on, certs, unit_files
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
    unit_files: dict[int, Path],
) -> int:
    """Each recommending unit told of its published results, with the file of its own projects'
    certificates to hand out; each certificate's holder told, with that certificate alone."""
    units = {u.id: u for u in uow.repo.recommending_units()}
    sent = 0
    for unit_id, apps in group_by_unit(published).items():
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
            attachments=[docx, *([unit_files[unit_id]] if unit_id in unit_files else [])],
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
