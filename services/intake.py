"""项目申报受理: one recommending unit's batch of forms and its summary table, checked the way
the commission checks them, stored with its findings, and answered."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from documents.application_form import read_form
from documents.inbox import content_hash, folder_file_names, missing_paths, opened_batch
from documents.reports import write_intake_feedback
from documents.rows import FeedbackRow
from documents.safety import BatchItem, UnreadableFile
from documents.summary_table import read_summary
from domain import findings as texts
from domain.calendar import SHANGHAI
from domain.duplicates import PastResultIndex
from domain.eligibility import (
    campaign_duplicates,
    check_form,
    missing_form_findings,
    reconcile,
)
from domain.intake import BATCH_LATE, BATCH_RECEIVED, BATCH_REFUSED, BATCH_SUPERSEDED
from domain.limits import DOCUMENT_TITLE_MAX, fit, form_length_findings
from domain.models import ApplicationForm, Finding, Severity, SummaryRow
from domain.states import ProjectState
from domain.uscc import normalize_uscc
from notifications.recipients import Recipient
from services.context import CampaignContext
from services.delivery_review import resubmit_phrase, returned_section
from services.exceptions import closed_arrival, covering
from services.intake_records import (
    ACTOR,
    ApplicationOut,
    BatchOut,
    FindingOut,
    IntakeResult,
    StoredForm,
    application_out,
    finding_out,
    store_applications,
    stored_result,
)
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

__all__ = [
    "ApplicationOut",
    "BatchOut",
    "FindingOut",
    "IntakeError",
    "IntakeResult",
    "feedback_rows",
    "intake_batch",
    "past_results_index",
    "set_batch_aside",
]

STAGE = "application"
BatchFile = tuple[str, Path, bytes]  # name in the batch, extracted path, the bytes checked
FormFile = tuple[str, ApplicationForm]


class IntakeError(ValueError):
    """The batch cannot be taken at all (unknown unit, no files); nothing was stored."""


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
    actor: str = ACTOR,
    source_dir: str | None = None,
) -> IntakeResult:
    """Take one recommending unit's batch; idempotent on the batch's content.

    `received_at` is when the batch arrived (the mail's arrival, the file's; default now);
    `actor` who handed it in to the campaign (the staff member at the CLI, the mail's sender).
    A batch arriving after the deadline, or after the stage was closed, is refused unless an
    exception covers it; it never makes the unit's accepted applications stop being current.
    `source_dir` (the inbox folder it came from) is recorded with the batch, in the same
    transaction, so that a run breaking off right after never takes the folder again."""
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
        return _intake(uow, ctx, unit_code, files, file_findings, received_at, actor, source_dir)


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
    actor: str,
    source_dir: str | None = None,
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
                return stored_result(uow, earlier, repeated=True)

        received_at = closed_arrival(uow, ctx, STAGE, received_at)
        late = texts.is_late(received_at, ctx.calendar.application_deadline)
        exception = covering(uow, ctx, unit.id, STAGE, received_at) if late else None
        forms, summaries, batch_findings = _read_files(files)
        batch_findings = file_findings + batch_findings
        per_file = _check_forms(uow, ctx, unit, forms, summaries, batch_findings)
        status = BATCH_RECEIVED
        if exception is not None:  # taken, marked with the exception; replaces nothing accepted
            late = False
            batch_findings.append(
                texts.taken_under_exception(
                    received_at, ctx.calendar.application_deadline, exception.id, exception.until
                )
            )
        if late:
            status = BATCH_LATE
            batch_findings.append(
                texts.late_submission(received_at, ctx.calendar.application_deadline)
            )
        elif not forms:  # a resubmission replaces the current version only with a readable form
            status = BATCH_REFUSED
            has_current = bool(uow.intake.current_application_ids(ctx.campaign_id, unit.id))
            batch_findings.append(texts.no_readable_form(has_current=has_current))
        batch = orm.SubmissionBatch(
            campaign_id=ctx.campaign_id,
            recommending_unit_id=unit.id,
            version=(previous[-1].version + 1) if previous else 1,
            received_at=received_at,
            content_hash=batch_hash,
            status=status,
            files=[name for name, _path, _data in files] + [f.file for f in file_findings],
            findings=[f.model_dump(mode="json") for f in batch_findings],
            exception_id=exception.id if exception is not None else None,
            source_dir=source_dir,
        )
        uow.add(batch)
        uow.flush()
        if status == BATCH_RECEIVED:
            _supersede(uow, ctx, unit, batch, previous, keep_accepted=exception is not None)
        to_store = _forms_to_store(forms, per_file, batch_findings, late=late)
        store_applications(
            uow,
            ctx,
            unit,
            batch,
            to_store,
            received_at,
            current=status == BATCH_RECEIVED,
            actor=actor,
        )
        result = _record_and_answer(uow, ctx, unit, batch, to_store, batch_findings)
        uow.commit()
    return result


def _record_and_answer(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    to_store: list[StoredForm],
    batch_findings: list[Finding],
) -> IntakeResult:
    """The batch's 审核意见, recorded, and the unit's answer; what taking the batch did."""
    version = batch.version
    outs = [application_out(name, form, findings) for name, form, findings in to_store]
    feedback = _write_feedback(ctx, unit, version, to_store, batch_findings)
    uow.repo.record_document(
        ctx.campaign_id,
        stage=STAGE,
        kind="intake_feedback",
        title=fit(f"审核意见（{unit.name} 第{version}版）", DOCUMENT_TITLE_MAX),
        path=str(feedback),
    )
    if batch.status == BATCH_REFUSED:
        tell_batch_refused(uow, ctx, unit, batch, batch_findings, feedback)
    else:
        _answer(
            uow,
            ctx,
            unit,
            version,
            outs,
            feedback,
            batch.received_at,
            late=batch.status == BATCH_LATE,
        )
    accepted = sum(1 for o in outs if o.status == ProjectState.ACCEPTED)
    return IntakeResult(
        applications=outs,
        batch=BatchOut(
            unit=unit.code,
            unit_name=unit.name,
            version=version,
            received_at=batch.received_at,
            status=batch.status,
            late=batch.status == BATCH_LATE,
            files=batch.files,
            accepted=accepted,
            returned=len(outs) - accepted,
            findings=[finding_out(f) for f in batch_findings],
            feedback_document=str(feedback),
            exception_id=batch.exception_id,
        ),
    )


def tell_batch_refused(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    batch_findings: list[Finding],
    feedback: Path | None,
) -> None:
    """批次未受理: the unit is told why its whole batch was not taken, with its 审核意见."""
    reasons = [f.message for f in batch_findings if f.severity == Severity.ERROR]
    if len(reasons) > 6:  # the attached 审核意见 lists every one
        reasons = [*reasons[:4], f"……另有{len(reasons) - 5}条，详见所附审核意见", reasons[-1]]
    send(
        uow,
        ctx,
        event="batch_refused",
        recipient=Recipient.for_recommending_unit(unit),
        period=f"v{batch.version}",
        attachments=[feedback] if feedback is not None else [],
        context={
            "version": batch.version,
            "received_at": texts.local_time(batch.received_at),
            "reasons": reasons[-5:],
            "resubmit_by": texts.local_time(ctx.calendar.application_deadline),
        },
    )


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
                form = read_form(data, name=name, check=False)
                forms.append((name, form.model_copy(update={"uscc": normalize_uscc(form.uscc)})))
            elif suffix == ".xlsx":
                rows = read_summary(data, name=name, check=False)
                summaries.append(
                    (name, [r.model_copy(update={"uscc": normalize_uscc(r.uscc)}) for r in rows])
                )
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
            for f in [
                *form_length_findings(form),
                *check_form(
                    form,
                    past_index=past_index,
                    threshold=ctx.rules.duplicate_threshold,
                    title_max_len=ctx.rules.title_max_length,
                    chain_leaders=ctx.rules.chain_leaders,
                ),
            ]
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
    *,
    keep_accepted: bool,
) -> None:
    """An on-time batch replaces the unit's earlier one: its applications are current no more.
    A batch taken under an exception, after the stage closed, replaces only the returned ones:
    what the closed stage accepted stays current (`keep_accepted`)."""
    if keep_accepted:
        uow.intake.retire_returned_applications(ctx.campaign_id, unit.id, batch.id)
        return
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
    # A file name holds 255 bytes: a unit's name is cut to 40 characters here.
    name = f"审核意见_{unit.code[:40]}_{unit.name[:40]}_第{version}版.xlsx"
    path = ctx.folder(STAGE) / "审核意见" / name
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
    """The unit's one answer to a batch, with the feedback (审核意见) attached: late batch (once
    a day, however many late batches arrive); else a receipt of the accepted forms that also
    lists the returned ones, or, when nothing was accepted, one return notice for them all."""
    received = texts.local_time(received_at)
    recipient = Recipient.for_recommending_unit(unit)
    if late:
        send(
            uow,
            ctx,
            event="late_batch",
            recipient=recipient,
            period=f"late:{ctx.local_date().isoformat()}",
            context={"received_at": received},
            attachments=[feedback],
        )
        return
    accepted_titles = [o.title for o in outs if o.status == ProjectState.ACCEPTED]
    returned = returned_items(outs)
    resubmit_by = texts.local_time(ctx.calendar.application_deadline)
    resubmit = resubmit_phrase(resubmit_by, closed=ctx.now >= ctx.calendar.application_deadline)
    facts = {
        "version": version,
        "received_at": received,
        "returned_count": len(returned),
        "returned": "\n".join(returned),
        "resubmit_by": resubmit_by,
        "resubmit": resubmit,
        "returned_section": returned_section(returned, resubmit),
    }
    if accepted_titles:
        facts |= {
            "project_count": len(accepted_titles),
            "projects": "\n".join(f"{n}. {t}" for n, t in enumerate(accepted_titles, 1)),
        }
    elif not returned:
        return
    send(
        uow,
        ctx,
        event="receipt" if accepted_titles else "returned",
        recipient=recipient,
        period=f"v{version}",
        attachments=[feedback],
        context=facts,
    )


def returned_items(outs: Sequence[ApplicationOut]) -> list[str]:
    """Each returned application with what is wrong and how to fix it, in plain words (the
    finding codes stay in the feedback workbook)."""
    items = []
    for o in outs:
        errors = [f for f in o.findings if f.severity == Severity.ERROR]
        if o.status != ProjectState.RETURNED or not errors:
            continue
        head = f"{len(items) + 1}. “{o.title or o.file}”（申报单位：{o.applicant or texts.NOT_FILLED}）"
        lines = [f"   （{i}）{_plain(f)}" for i, f in enumerate(errors, 1)]
        items.append("\n".join([head, *lines]))
    return items


def _plain(finding: FindingOut) -> str:
    if finding.field and not finding.message.startswith(finding.field):
        return f"{finding.field}：{finding.message}"
    return finding.message


def set_batch_aside(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit_code: str,
    folder: Path,
    received_at: dt.datetime,
    error: Exception,
) -> IntakeResult:
    """A batch of the inbox that could not be taken (`error`): recorded as refused with its
    finding, so that it is not tried again on every run, and the unit told; nothing else of
    the batch is stored. A batch of an unknown unit cannot be recorded: the staff are told."""
    problem = (
        str(error) if isinstance(error, IntakeError) else f"处理时出错（{type(error).__name__}）。"
    )
    with uow:
        unit = uow.repo.recommending_unit(unit_code)
        if unit is None:
            finding = texts.batch_unprocessable(problem, has_current=False)
            return IntakeResult(
                applications=[],
                batch=BatchOut(
                    unit=unit_code,
                    unit_name="",
                    version=0,
                    received_at=received_at,
                    status=BATCH_REFUSED,
                    late=False,
                    findings=[finding_out(finding)],
                ),
            )
        previous = uow.intake.unit_batches(ctx.campaign_id, unit.id)
        has_current = bool(uow.intake.current_application_ids(ctx.campaign_id, unit.id))
        finding = texts.batch_unprocessable(problem, has_current=has_current)
        batch = orm.SubmissionBatch(
            campaign_id=ctx.campaign_id,
            recommending_unit_id=unit.id,
            version=(previous[-1].version + 1) if previous else 1,
            received_at=received_at,
            content_hash=hashlib.sha256(f"set-aside:{folder}".encode()).hexdigest(),
            status=BATCH_REFUSED,
            files=folder_file_names(folder),
            findings=[finding.model_dump(mode="json")],
            source_dir=str(folder),
        )
        uow.add(batch)
        uow.flush()
        result = _record_and_answer(uow, ctx, unit, batch, [], [finding])
        uow.commit()
    return result
