"""项目申报受理: one recommending unit's batch of forms and its summary table, checked the way
the commission checks them, stored with its findings, and answered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from documents.application_form import read_form
from documents.inbox import content_hash, missing_paths, opened_batch
from documents.reports import write_intake_feedback
from documents.rows import FeedbackRow
from documents.safety import BatchItem, UnreadableFile
from documents.summary_table import read_summary
from domain import findings as texts
from domain.calendar import SHANGHAI
from domain.duplicates import PastResultIndex
from domain.eligibility import (
    USCC_INVALID,
    campaign_duplicates,
    check_form,
    missing_form_findings,
    reconcile,
)
from domain.intake import BATCH_LATE, BATCH_RECEIVED, BATCH_SUPERSEDED, project_people
from domain.models import ApplicationForm, Finding, Severity, SummaryRow
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

ACTOR = "rule:intake"
STAGE = "application"
BatchFile = tuple[str, Path, bytes]  # name in the batch, extracted path, the bytes checked
FormFile = tuple[str, ApplicationForm]
StoredForm = tuple[str, ApplicationForm, list[Finding]]  # file, form, its findings


class IntakeError(ValueError):
    """The batch cannot be taken at all (unknown unit, no files); nothing was stored."""


class FindingOut(BaseModel):
    code: str
    severity: str
    field: str
    message: str
    file: str = ""


class ApplicationOut(BaseModel):
    title: str
    applicant: str
    uscc: str
    file: str
    status: str
    findings: list[FindingOut] = Field(default_factory=list)


class BatchOut(BaseModel):
    unit: str
    unit_name: str
    version: int
    received_at: dt.datetime
    status: str  # received / late
    late: bool
    repeated: bool = False  # the same files were already taken; nothing changed
    files: list[str] = Field(default_factory=list)
    accepted: int = 0
    returned: int = 0
    findings: list[FindingOut] = Field(default_factory=list)
    feedback_document: str = ""


class IntakeResult(BaseModel):
    applications: list[ApplicationOut]
    batch: BatchOut


def _out(f: Finding) -> FindingOut:
    return FindingOut(
        code=f.code, severity=f.severity, field=f.field, message=f.message, file=f.file
    )


_PAST_INDEXES: dict[tuple[str, int, int], PastResultIndex] = {}
_PAST_INDEXES_KEPT = 4


def past_results_index(uow: UnitOfWork) -> PastResultIndex:
    """The index of past excellent results, built once for each state of the register."""
    key = uow.registry.past_results_version()
    index = _PAST_INDEXES.get(key)
    if index is None:
        index = PastResultIndex(uow.registry.past_results())
        while len(_PAST_INDEXES) >= _PAST_INDEXES_KEPT:
            _PAST_INDEXES.pop(next(iter(_PAST_INDEXES)))
        _PAST_INDEXES[key] = index
    return index


def intake_batch(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit_code: str,
    paths: Sequence[Path],
    *,
    received_at: dt.datetime | None = None,
) -> IntakeResult:
    """Take one recommending unit's batch; idempotent on the batch's content."""
    received_at = received_at or ctx.now
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=SHANGHAI)
    if missing := missing_paths(paths):
        raise IntakeError(f"找不到文件或文件夹：{missing[0]}。请检查路径是否正确。")
    max_bytes = ctx.rules.max_upload_mb * 1024 * 1024
    with opened_batch(paths, max_bytes) as items:
        files, file_findings = _split(items)
        if not files and not file_findings:
            raise IntakeError(
                f"所给路径中没有申报书（.docx）或汇总表（.xlsx）：{', '.join(map(str, paths))}。"
                "请提交申报书与汇总表。"
            )
        return _intake(uow, ctx, unit_code, files, file_findings, received_at)


def _split(items: list[BatchItem]) -> tuple[list[BatchFile], list[Finding]]:
    """Files of the batch (name, path, bytes as checked) and the findings for the ones refused
    before reading."""
    files: list[BatchFile] = []
    findings: list[Finding] = []
    for item in items:
        if item.error is not None:
            findings.append(texts.file_refused(item.error.code, item.error.message, item.name))
        else:
            assert item.path is not None
            files.append((item.name, item.path, item.data))
    return files, findings


def _intake(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit_code: str,
    files: list[BatchFile],
    file_findings: list[Finding],
    received_at: dt.datetime,
) -> IntakeResult:
    with uow:
        unit = uow.repo.recommending_unit(unit_code)
        if unit is None:
            raise IntakeError(
                f"推荐单位代码“{unit_code}”未登记。请先用 qcamp units import 登记推荐单位，"
                "或检查 --unit 参数。"
            )
        batch_hash = content_hash(files, [f.file for f in file_findings])
        previous = uow.intake.unit_batches(ctx.campaign_id, unit.id)
        for earlier in previous:
            if earlier.content_hash == batch_hash:
                return _stored_result(uow, earlier, repeated=True)

        late = texts.is_late(received_at, ctx.calendar.application_deadline)
        forms, summaries, batch_findings = _read_files(files)
        batch_findings = file_findings + batch_findings
        per_file = _check_forms(uow, ctx, unit, forms, summaries, batch_findings)
        if late:
            batch_findings.append(
                texts.late_submission(received_at, ctx.calendar.application_deadline)
            )

        version = (previous[-1].version + 1) if previous else 1
        batch = orm.SubmissionBatch(
            campaign_id=ctx.campaign_id,
            recommending_unit_id=unit.id,
            version=version,
            received_at=received_at,
            content_hash=batch_hash,
            status=BATCH_LATE if late else BATCH_RECEIVED,
            files=[name for name, _path, _data in files] + [f.file for f in file_findings],
            findings=[f.model_dump(mode="json") for f in batch_findings],
        )
        uow.add(batch)
        uow.flush()
        if not late:
            _supersede(uow, ctx, unit, batch, previous)
        to_store = _forms_to_store(forms, per_file, batch_findings, late=late)
        _store_applications(uow, ctx, unit, batch, to_store, received_at, current=not late)
        outs = [_app_out(name, form, findings) for name, form, findings in to_store]
        feedback = _write_feedback(ctx, unit, version, to_store, batch_findings)
        uow.repo.record_document(
            ctx.campaign_id,
            stage=STAGE,
            kind="intake_feedback",
            title=f"审核意见（{unit.name} 第{version}版）",
            path=str(feedback),
        )
        _answer(uow, ctx, unit, version, outs, feedback, received_at, late=late)
        accepted = sum(1 for o in outs if o.status == ProjectState.ACCEPTED)
        batch_out = BatchOut(
            unit=unit.code,
            unit_name=unit.name,
            version=version,
            received_at=received_at,
            status=batch.status,
            late=late,
            files=batch.files,
            accepted=accepted,
            returned=len(outs) - accepted,
            findings=[_out(f) for f in batch_findings],
            feedback_document=str(feedback),
        )
        uow.commit()
    return IntakeResult(applications=outs, batch=batch_out)


def _read_files(
    files: list[BatchFile],
) -> tuple[list[FormFile], list[tuple[str, list[SummaryRow]]], list[Finding]]:
    """The forms and summary tables of the batch, and a finding for each file not read."""
    forms: list[FormFile] = []
    summaries: list[tuple[str, list[SummaryRow]]] = []
    findings: list[Finding] = []
    for name, path, data in files:
        suffix = path.suffix.lower()
        try:
            # iter_batch already ran the safety checks on every file it yielded, and kept
            # the bytes it checked: they are read as they are, not from disk again.
            if suffix == ".docx":
                forms.append((name, read_form(data, name=name, check=False)))
            elif suffix == ".xlsx":
                summaries.append((name, read_summary(data, name=name, check=False)))
            else:
                findings.append(texts.not_a_form_or_summary(name))
        except UnreadableFile as exc:
            findings.append(texts.file_refused(exc.code, exc.message, name))
    return forms, summaries, findings


def _check_forms(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    forms: list[FormFile],
    summaries: list[tuple[str, list[SummaryRow]]],
    batch_findings: list[Finding],
) -> dict[str, list[Finding]]:
    """The forms against the rules, the summary table and the rest of the campaign: findings
    per form file; findings on the whole batch are appended to `batch_findings`."""
    past_index = past_results_index(uow)
    per_file: dict[str, list[Finding]] = {}
    for name, form in forms:
        per_file[name] = [
            f.model_copy(update={"file": name})
            for f in check_form(
                form,
                past_index=past_index,
                threshold=ctx.rules.duplicate_threshold,
                title_max_len=ctx.rules.title_max_length,
            )
        ]
    if not summaries:
        batch_findings.append(texts.summary_missing())
        for name, _form in forms:
            per_file[name].append(texts.form_without_summary(name))
    else:
        summary_file, rows = summaries[0][0], [r for _n, rs in summaries for r in rs]
        for name, found in reconcile(forms, rows, summary_file).items():
            per_file.setdefault(name, []).extend(found)
        batch_findings.extend(missing_form_findings(forms, rows, summary_file))
    for name, found in _campaign_duplicates(uow, ctx, unit, forms).items():
        per_file[name].extend(found)
    return per_file


def _campaign_duplicates(
    uow: UnitOfWork, ctx: CampaignContext, unit: orm.RecommendingUnit, forms: list[FormFile]
) -> dict[str, list[Finding]]:
    """DUPLICATE_IN_CAMPAIGN findings per form file: titles that nearly repeat another form of
    the batch or another unit's current application."""
    others = [
        (f"app:{app_id}", title)
        for app_id, title in uow.intake.other_units_titles(ctx.campaign_id, unit.id)
    ]
    mine = [(f"file:{name}", form.title) for name, form in forms if form.title]
    dupes = campaign_duplicates(
        others + mine, ctx.rules.duplicate_threshold, only={key for key, _t in mine}
    )
    titles = dict(others + mine)
    found: dict[str, list[Finding]] = {}
    for key, matches in dupes.items():
        if not key.startswith("file:"):
            continue
        for other_key, similarity in matches:
            found.setdefault(key[5:], []).append(
                texts.duplicate_in_campaign(
                    titles[other_key], similarity, same_batch=other_key.startswith("file:")
                )
            )
    return found


def _supersede(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    previous: Sequence[orm.SubmissionBatch],
) -> None:
    """An on-time batch replaces the unit's earlier one: its applications are current no more."""
    uow.intake.retire_applications(ctx.campaign_id, unit.id, batch.id)
    for old_batch in previous:
        if old_batch.status == BATCH_RECEIVED:
            old_batch.status = BATCH_SUPERSEDED


def _forms_to_store(
    forms: list[FormFile],
    per_file: dict[str, list[Finding]],
    batch_findings: list[Finding],
    *,
    late: bool,
) -> list[StoredForm]:
    """Every form with its findings (a late batch's finding on each), then each form file that
    could not be read, as a returned form named after its file."""
    to_store: list[StoredForm] = []
    for name, form in forms:
        findings = per_file.get(name, [])
        if late:
            findings = [*findings, batch_findings[-1].model_copy(update={"file": name})]
        to_store.append((name, form, findings))
    for f in batch_findings:
        if texts.is_unreadable_form(f):
            to_store.append((f.file, ApplicationForm(title=Path(f.file).stem), [f]))
    return to_store


def _app_out(name: str, form: ApplicationForm, findings: list[Finding]) -> ApplicationOut:
    status = (
        ProjectState.RETURNED
        if any(f.severity == Severity.ERROR for f in findings)
        else ProjectState.ACCEPTED
    )
    return ApplicationOut(
        title=form.title,
        applicant=form.applicant,
        uscc=form.uscc,
        file=name,
        status=status.value,
        findings=[_out(f) for f in findings],
    )


def _applicant_units(
    uow: UnitOfWork, wanted: dict[str, tuple[str, str, str]]
) -> dict[str, orm.ApplicantUnit]:
    """The applicant units of these USCCs (uscc -> (name, district, address)), created when new:
    one query and one insert for the batch instead of a query per form."""
    found = uow.registry.applicant_units(wanted)
    created = False
    for uscc in wanted:  # created in the order of the forms
        if uscc not in found:
            name, district, address = wanted[uscc]
            found[uscc] = orm.ApplicantUnit(
                uscc=uscc, name=name, district=district, address=address
            )
            uow.add(found[uscc])
            created = True
    if created:
        uow.flush()  # ids for the applications
    return found


def _new_application(
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    name: str,
    form: ApplicationForm,
    applicant: orm.ApplicantUnit | None,
    *,
    current: bool,
) -> orm.Application:
    uscc = form.uscc.strip().upper()
    return orm.Application(
        campaign_id=ctx.campaign_id,
        batch_id=batch.id,
        recommending_unit_id=unit.id,
        applicant_unit_id=applicant.id if applicant else None,
        source_file=name,
        title=form.title or Path(name).stem,
        applicant_name=form.applicant,
        uscc=uscc[:40],
        district=form.district,
        chain=form.chain,
        project_type=form.project_type,
        joint=form.is_joint,
        form=form.model_dump(mode="json"),
        state=ProjectState.SUBMITTED.value,
        is_current=current,
    )


def _store_applications(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    items: Sequence[StoredForm],
    received_at: dt.datetime,
    *,
    current: bool,
) -> list[orm.Application]:
    """Store the batch's applications with their findings, people and state changes, in the
    order given: the rows are built in memory and written in a few multi-row inserts."""
    wanted: dict[str, tuple[str, str, str]] = {}
    for _name, form, findings in items:
        if form.uscc and not any(f.code == USCC_INVALID for f in findings):
            wanted.setdefault(
                form.uscc.strip().upper(), (form.applicant, form.district, form.address)
            )
    applicants = _applicant_units(uow, wanted)
    apps = []
    for name, form, _findings in items:
        uscc = form.uscc.strip().upper()
        applicant = applicants.get(uscc) if uscc in wanted else None
        apps.append(_new_application(ctx, unit, batch, name, form, applicant, current=current))
    uow.add(*apps)
    uow.flush()  # ids for the rows below
    stored = list(zip(apps, items, strict=True))
    # Findings and people are plain rows: bulk inserts, without an ORM object per row.
    uow.intake.add_findings(
        [
            {
                "application_id": app.id,
                "code": f.code,
                "severity": f.severity,
                "field": f.field,
                "message": f.message,
                "detail": dict(f.detail),
            }
            for app, (_name, _form, findings) in stored
            for f in findings
        ]
    )
    uow.intake.add_people(
        [
            {"application_id": app.id, **person}
            for app, (_name, form, _findings) in stored
            for person in project_people(form, app.uscc or app.applicant_name)
        ]
    )
    reason = texts.batch_reason(unit.name, batch.version)
    for app, (_name, _form, findings) in stored:
        uow.repo.record_initial_state(app, at=received_at, actor=ACTOR, reason=reason)
        if returned := texts.returned_reason(findings):
            uow.repo.move(app, ProjectState.RETURNED, at=received_at, actor=ACTOR, reason=returned)
        else:
            uow.repo.move(
                app,
                ProjectState.ACCEPTED,
                at=received_at,
                actor=ACTOR,
                reason=texts.ACCEPTED_REASON,
            )
    return apps


def feedback_rows(items: Sequence[StoredForm], batch_findings: list[Finding]) -> list[FeedbackRow]:
    """审核意见: the batch's findings, then each form's (or the note that it was accepted)."""
    rows: list[FeedbackRow] = []
    for f in batch_findings:
        rows.append(FeedbackRow.from_finding(len(rows) + 1, f, title=texts.BATCH_TITLE))
    for name, form, findings in items:
        for f in findings or [texts.form_accepted(name)]:
            rows.append(
                FeedbackRow.from_finding(
                    len(rows) + 1,
                    f.model_copy(update={"file": name}),
                    title=form.title,
                    applicant=form.applicant,
                )
            )
    return rows


def _write_feedback(
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    version: int,
    items: Sequence[StoredForm],
    batch_findings: list[Finding],
) -> Path:
    path = ctx.folder(STAGE) / "审核意见" / f"审核意见_{unit.code}_{unit.name}_第{version}版.xlsx"
    return write_intake_feedback(path, unit.name, feedback_rows(items, batch_findings))


def _answer(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    version: int,
    outs: list[ApplicationOut],
    feedback: Path,
    received_at: dt.datetime,
    *,
    late: bool,
) -> None:
    """The unit's answer: late batch; or a receipt of the accepted forms and one message for
    each returned form, all with the feedback attached."""
    received = texts.local_time(received_at)
    recipient = Recipient.for_recommending_unit(unit)
    if late:
        send(
            uow,
            ctx,
            event="late_batch",
            recipient=recipient,
            period=f"v{version}",
            context={"received_at": received},
            attachments=[feedback],
        )
        return
    accepted_titles = [o.title for o in outs if o.status == ProjectState.ACCEPTED]
    if accepted_titles:
        send(
            uow,
            ctx,
            event="receipt",
            recipient=recipient,
            period=f"v{version}",
            attachments=[feedback],
            context={
                "version": version,
                "received_at": received,
                "project_count": len(accepted_titles),
                "projects": "\n".join(f"{n}. {t}" for n, t in enumerate(accepted_titles, 1)),
            },
        )
    resubmit_by = texts.local_time(ctx.calendar.application_deadline)
    for n, o in enumerate(outs, start=1):
        errors = [f for f in o.findings if f.severity == Severity.ERROR]
        if o.status != ProjectState.RETURNED or not errors:
            continue
        send(
            uow,
            ctx,
            event="returned",
            recipient=recipient,
            period=f"v{version}:{n:03d}",
            attachments=[feedback],
            context={
                "project_title": o.title or o.file,
                "applicant_name": o.applicant or texts.NOT_FILLED,
                "findings": "\n".join(
                    f"{i}. 【{f.code}】{f.field}" for i, f in enumerate(errors, 1)
                ),
                "fixes": "\n".join(f"{i}. {f.message}" for i, f in enumerate(errors, 1)),
                "resubmit_by": resubmit_by,
            },
        )


def _stored_result(uow: UnitOfWork, batch: orm.SubmissionBatch, *, repeated: bool) -> IntakeResult:
    outs = [
        ApplicationOut(
            title=a.title,
            applicant=a.applicant_name,
            uscc=a.uscc,
            file=a.source_file,
            status=ProjectState.RETURNED.value
            if a.state == ProjectState.RETURNED
            else ProjectState.ACCEPTED.value,
            findings=[
                FindingOut(
                    code=f.code,
                    severity=f.severity,
                    field=f.field,
                    message=f.message,
                    file=a.source_file,
                )
                for f in a.findings
            ],
        )
        for a in uow.intake.batch_applications(batch.id)
    ]
    batch_findings = [
        FindingOut(**{k: v for k, v in f.items() if k in FindingOut.model_fields})
        for f in batch.findings
    ]
    return IntakeResult(
        applications=outs,
        batch=BatchOut(
            unit=batch.recommending_unit.code,
            unit_name=batch.recommending_unit.name,
            version=batch.version,
            received_at=batch.received_at,
            status=batch.status,
            late=batch.status == BATCH_LATE,
            repeated=repeated,
            files=list(batch.files),
            accepted=sum(1 for o in outs if o.status == ProjectState.ACCEPTED),
            returned=sum(1 for o in outs if o.status == ProjectState.RETURNED),
            findings=batch_findings,
        ),
    )
