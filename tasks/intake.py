"""项目申报受理: one recommending unit's batch of forms and its summary table, checked the way
the commission checks them, stored with its findings, and answered."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select, update

from documents.application_form import read_form
from documents.reports import write_intake_feedback
from documents.rows import FeedbackRow
from documents.safety import UnreadableFile, iter_batch
from documents.summary_table import read_summary
from domain.calendar import SHANGHAI
from domain.duplicates import PastResultIndex
from domain.eligibility import campaign_duplicates, check_form, missing_form_findings, reconcile
from domain.models import ApplicationForm, Finding, PastResult, Severity, SummaryRow
from domain.states import ProjectState
from notifications.recipients import Recipient
from services.context import CampaignContext
from services.messaging import send
from storage import orm
from storage.uow import UnitOfWork

ACTOR = "rule:intake"
BatchFile = tuple[str, Path, bytes]  # name in the batch, extracted path, the bytes checked


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


@lru_cache(maxsize=4)
def _past_index(cache_key: tuple[str, int, int]) -> PastResultIndex:
    url, _count, _max_id = cache_key
    r = orm.PastExcellentResult
    with UnitOfWork() as uow:  # 20,000 rows: read as plain columns, not ORM objects
        rows = uow.session.execute(select(r.year, r.title, r.unit, r.abstract).order_by(r.id)).all()
        past = [PastResult(year=y, title=t, unit=u, abstract=a) for y, t, u, a in rows]
    return PastResultIndex(past)


def past_results_index(uow: UnitOfWork) -> PastResultIndex:
    count, max_id = uow.session.execute(
        select(func.count(orm.PastExcellentResult.id), func.max(orm.PastExcellentResult.id))
    ).one()
    return _past_index((str(uow.session.get_bind().url), count or 0, max_id or 0))


def _hash_files(files: Sequence[BatchFile]) -> str:
    digest = hashlib.sha256()
    for name, _path, data in sorted(files, key=lambda f: (f[0], f[1])):
        digest.update(name.encode())
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def intake_batch(
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
    for p in paths:
        if not Path(p).exists():
            raise IntakeError(f"找不到文件或文件夹：{p}。请检查路径是否正确。")
    max_bytes = ctx.rules.max_upload_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="qcamp-intake-") as tmp:
        files, file_findings = _expand(paths, Path(tmp), max_bytes)
        if not files and not file_findings:
            raise IntakeError(
                f"所给路径中没有申报书（.docx）或汇总表（.xlsx）：{', '.join(map(str, paths))}。"
                "请提交申报书与汇总表。"
            )
        return _intake(ctx, unit_code, files, file_findings, received_at)


def _expand(
    paths: Sequence[Path], tmp: Path, max_bytes: int
) -> tuple[list[BatchFile], list[Finding]]:
    """Files of the batch (name, path, bytes as checked) and the findings for the ones refused
    before reading."""
    files: list[BatchFile] = []
    findings: list[Finding] = []
    for item in iter_batch([Path(p) for p in paths], workdir=tmp, max_bytes=max_bytes):
        if item.error is not None:
            findings.append(
                Finding(
                    code=item.error.code,
                    severity=Severity.ERROR,
                    field="文件",
                    message=item.error.message,
                    file=item.name,
                )
            )
        else:
            assert item.path is not None
            files.append((item.name, item.path, item.data))
    return files, findings


def _intake(
    ctx: CampaignContext,
    unit_code: str,
    files: list[BatchFile],
    file_findings: list[Finding],
    received_at: dt.datetime,
) -> IntakeResult:
    with UnitOfWork() as uow:
        repo = uow.repo
        unit = repo.recommending_unit(unit_code)
        if unit is None:
            raise IntakeError(
                f"推荐单位代码“{unit_code}”未登记。请先用 qcamp units import 登记推荐单位，"
                "或检查 --unit 参数。"
            )
        content_hash = (
            _hash_files(files)
            if files
            else hashlib.sha256(
                "|".join(sorted(f.file for f in file_findings)).encode()
            ).hexdigest()
        )
        previous = uow.session.scalars(
            select(orm.SubmissionBatch)
            .where(
                orm.SubmissionBatch.campaign_id == ctx.campaign_id,
                orm.SubmissionBatch.recommending_unit_id == unit.id,
            )
            .order_by(orm.SubmissionBatch.version)
        ).all()
        for batch in previous:
            if batch.content_hash == content_hash:
                return _stored_result(uow, batch, repeated=True)

        late = received_at > ctx.calendar.application_deadline
        forms: list[tuple[str, ApplicationForm]] = []
        summaries: list[tuple[str, list[SummaryRow]]] = []
        per_file: dict[str, list[Finding]] = {}
        batch_findings = list(file_findings)
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
                    raise UnreadableFile(
                        "FILE_UNREADABLE",
                        f"文件“{name}”不是申报书（.docx）或汇总表（.xlsx），未能读取。"
                        "请用 Word/WPS 另存为 .docx 或 .xlsx 后重新提交。",
                    )
            except UnreadableFile as exc:
                batch_findings.append(
                    Finding(
                        code=exc.code,
                        severity=Severity.ERROR,
                        field="文件",
                        message=exc.message,
                        file=name,
                    )
                )

        # The forms against the rules, the summary table and the rest of the campaign.
        past_index = past_results_index(uow)
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
            batch_findings.append(
                Finding(
                    code="NOT_IN_SUMMARY",
                    severity=Severity.ERROR,
                    field="立项申报汇总表",
                    message="本批次缺少《立项申报汇总表》（.xlsx），所有申报书均无法与汇总表核对。"
                    "请按模板填写汇总表，与申报书一并重新报送。",
                )
            )
            for name, _form in forms:
                per_file[name].append(
                    Finding(
                        code="NOT_IN_SUMMARY",
                        severity=Severity.ERROR,
                        field="立项申报汇总表",
                        message=f"申报书“{name}”未列入汇总表（本批次没有汇总表）。请在汇总表中列出该项目。",
                        file=name,
                    )
                )
        else:
            summary_file, rows = summaries[0][0], [r for _n, rs in summaries for r in rs]
            for name, found in reconcile(forms, rows, summary_file).items():
                per_file.setdefault(name, []).extend(found)
            for f in missing_form_findings(forms, rows, summary_file):
                batch_findings.append(f)

        others = [
            (f"app:{app_id}", title)
            for app_id, title in uow.session.execute(
                select(orm.Application.id, orm.Application.title)
                .where(
                    orm.Application.campaign_id == ctx.campaign_id,
                    orm.Application.is_current.is_(True),
                    orm.Application.recommending_unit_id != unit.id,
                    orm.Application.state != ProjectState.RETURNED.value,
                )
                .order_by(orm.Application.id)
            )
        ]
        mine = [(f"file:{name}", form.title) for name, form in forms if form.title]
        dupes = campaign_duplicates(
            others + mine, ctx.rules.duplicate_threshold, only={key for key, _t in mine}
        )
        titles = dict(others + mine)
        for key, matches in dupes.items():
            if not key.startswith("file:"):
                continue
            for other_key, similarity in matches:
                where = (
                    "本批次另一份申报书"
                    if other_key.startswith("file:")
                    else "其他推荐单位已报送的项目"
                )
                per_file[key[5:]].append(
                    Finding(
                        code="DUPLICATE_IN_CAMPAIGN",
                        severity=Severity.ERROR,
                        field="项目名称",
                        message=f"与{where}“{titles[other_key]}”高度相似（相似度{similarity:.2f}），"
                        "疑似重复申报。请核实，同一项目只报送一次。",
                        detail={"other": titles[other_key], "similarity": round(similarity, 2)},
                    )
                )

        if late:
            deadline = ctx.calendar.application_deadline.astimezone(SHANGHAI)
            batch_findings.append(
                Finding(
                    code="LATE_SUBMISSION",
                    severity=Severity.ERROR,
                    field="报送时间",
                    message=f"本批次于{received_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}送达，"
                    f"已超过截止时间{deadline:%Y年%m月%d日 %H:%M}，按规定不予受理。"
                    "如有特殊情况，请与市市场监管委质量发展处联系。",
                )
            )

        # Store: a new version; on time, it supersedes the unit's earlier batch.
        version = (previous[-1].version + 1) if previous else 1
        batch = orm.SubmissionBatch(
            campaign_id=ctx.campaign_id,
            recommending_unit_id=unit.id,
            version=version,
            received_at=received_at,
            content_hash=content_hash,
            status="late" if late else "received",
            files=[name for name, _path, _data in files] + [f.file for f in file_findings],
            findings=[f.model_dump(mode="json") for f in batch_findings],
        )
        uow.session.add(batch)
        uow.session.flush()
        if not late:
            uow.session.execute(
                update(orm.Application)
                .where(
                    orm.Application.campaign_id == ctx.campaign_id,
                    orm.Application.recommending_unit_id == unit.id,
                    orm.Application.is_current.is_(True),
                    orm.Application.batch_id != batch.id,
                )
                .values(is_current=False)
                .execution_options(synchronize_session="fetch")
            )
            for old_batch in previous:
                if old_batch.status == "received":
                    old_batch.status = "superseded"

        unreadable_forms = [
            f
            for f in batch_findings
            if f.code in {"FILE_UNREADABLE", "FILE_TOO_LARGE"}
            and f.file.lower().endswith((".docx", ".doc", ".docm", ".wps"))
        ]
        to_store: list[tuple[str, ApplicationForm, list[Finding]]] = []
        for name, form in forms:
            findings = per_file.get(name, [])
            if late:
                findings = [*findings, batch_findings[-1].model_copy(update={"file": name})]
            to_store.append((name, form, findings))
        for f in unreadable_forms:
            to_store.append((f.file, ApplicationForm(title=Path(f.file).stem), [f]))
        _store_applications(uow, ctx, unit, batch, to_store, received_at, current=not late)
        outs = [_app_out(name, form, findings) for name, form, findings in to_store]

        accepted = sum(1 for o in outs if o.status == ProjectState.ACCEPTED)
        returned = len(outs) - accepted
        feedback = _write_feedback(ctx, unit, version, outs, batch_findings)
        repo.record_document(
            ctx.campaign_id,
            stage="application",
            kind="intake_feedback",
            title=f"审核意见（{unit.name} 第{version}版）",
            path=str(feedback),
        )
        received_text = f"{received_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}"
        recipient = Recipient.for_recommending_unit(unit)
        if late:
            send(
                uow,
                ctx,
                event="late_batch",
                recipient=recipient,
                period=f"v{version}",
                context={"received_at": received_text},
                attachments=[feedback],
            )
        else:
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
                        "received_at": received_text,
                        "project_count": len(accepted_titles),
                        "projects": "\n".join(
                            f"{n}. {t}" for n, t in enumerate(accepted_titles, 1)
                        ),
                    },
                )
            resubmit_by = ctx.calendar.application_deadline.astimezone(SHANGHAI)
            for n, o in enumerate(outs, start=1):
                errors = [f for f in o.findings if f.severity == "error"]
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
                        "applicant_name": o.applicant or "（未填写）",
                        "findings": "\n".join(
                            f"{i}. 【{f.code}】{f.field}" for i, f in enumerate(errors, 1)
                        ),
                        "fixes": "\n".join(f"{i}. {f.message}" for i, f in enumerate(errors, 1)),
                        "resubmit_by": f"{resubmit_by:%Y年%m月%d日 %H:%M}",
                    },
                )
        batch_out = BatchOut(
            unit=unit.code,
            unit_name=unit.name,
            version=version,
            received_at=received_at,
            status=batch.status,
            late=late,
            files=batch.files,
            accepted=accepted,
            returned=returned,
            findings=[_out(f) for f in batch_findings],
            feedback_document=str(feedback),
        )
        uow.commit()
    return IntakeResult(applications=outs, batch=batch_out)


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
    found: dict[str, orm.ApplicantUnit] = {}
    created = False
    codes = sorted(wanted)
    for i in range(0, len(codes), 500):
        chunk = codes[i : i + 500]
        for unit in uow.session.scalars(
            select(orm.ApplicantUnit).where(orm.ApplicantUnit.uscc.in_(chunk))
        ):
            found[unit.uscc] = unit
    for uscc in wanted:  # created in the order of the forms
        if uscc not in found:
            name, district, address = wanted[uscc]
            found[uscc] = orm.ApplicantUnit(
                uscc=uscc, name=name, district=district, address=address
            )
            uow.session.add(found[uscc])
            created = True
    if created:
        uow.session.flush()  # ids for the applications
    return found


def _store_applications(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    items: Sequence[tuple[str, ApplicationForm, list[Finding]]],
    received_at: dt.datetime,
    *,
    current: bool,
) -> list[orm.Application]:
    """Store the batch's applications with their findings, people and state changes, in the
    order given: the rows are built in memory and written in a few multi-row inserts."""
    repo = uow.repo
    wanted: dict[str, tuple[str, str, str]] = {}
    for _name, form, findings in items:
        if form.uscc and not any(f.code == "USCC_INVALID" for f in findings):
            wanted.setdefault(
                form.uscc.strip().upper(), (form.applicant, form.district, form.address)
            )
    applicants = _applicant_units(uow, wanted)
    apps: list[orm.Application] = []
    for name, form, _findings in items:
        uscc = form.uscc.strip().upper()
        applicant = applicants.get(uscc) if uscc in wanted else None
        app = orm.Application(
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
        apps.append(app)
    uow.session.add_all(apps)
    uow.session.flush()  # ids for the rows below
    # Findings and people are plain rows: bulk inserts, without an ORM object per row.
    finding_rows = [
        {
            "application_id": app.id,
            "code": f.code,
            "severity": f.severity,
            "field": f.field,
            "message": f.message,
            "detail": dict(f.detail),
        }
        for app, (_name, _form, findings) in zip(apps, items, strict=True)
        for f in findings
    ]
    if finding_rows:
        uow.session.execute(insert(orm.ApplicationFinding), finding_rows)
    people_rows = [
        {"application_id": app.id, **person}
        for app, (_name, form, _findings) in zip(apps, items, strict=True)
        for person in _people(form, app.uscc or app.applicant_name)
    ]
    if people_rows:
        uow.session.execute(insert(orm.ProjectPerson), people_rows)
    reason = f"{unit.name}第{batch.version}版报送"
    for app, (_name, _form, findings) in zip(apps, items, strict=True):
        repo.record_initial_state(app, at=received_at, actor=ACTOR, reason=reason)
        errors = sorted({f.code for f in findings if f.severity == Severity.ERROR})
        if errors:
            repo.move(
                app, ProjectState.RETURNED, at=received_at, actor=ACTOR, reason="；".join(errors)
            )
        else:
            repo.move(
                app, ProjectState.ACCEPTED, at=received_at, actor=ACTOR, reason="形式审查通过"
            )
    return apps


def _people(form: ApplicationForm, owner: str) -> list[dict[str, str]]:
    """项目人员 of a form, each once: quality lead, project lead, then the members."""
    people: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(name: str, role: str, title: str = "", phone: str = "", email: str = "") -> None:
        name = name.strip()
        if not name:
            return
        key = f"{owner}:{name}"
        if key in seen:
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

    add(
        form.quality_lead.name,
        "质量负责人",
        form.quality_lead.position,
        form.quality_lead.phone,
        form.quality_lead.email,
    )
    add(
        form.project_lead.name,
        "项目负责人",
        form.project_lead.position,
        form.project_lead.phone,
        form.project_lead.email,
    )
    for m in form.members:
        add(m.name, "技术骨干" if "技术" in m.role or "工程师" in m.title else "项目成员", m.title)
    return people


def _write_feedback(
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    version: int,
    outs: list[ApplicationOut],
    batch_findings: list[Finding],
) -> Path:
    rows: list[FeedbackRow] = []
    for f in batch_findings:
        rows.append(
            FeedbackRow(
                seq=len(rows) + 1,
                file=f.file,
                title="（整批）",
                severity=Severity(f.severity),
                field=f.field,
                message=f.message,
            )
        )
    for o in outs:
        if not o.findings:
            rows.append(
                FeedbackRow(
                    seq=len(rows) + 1,
                    file=o.file,
                    title=o.title,
                    applicant=o.applicant,
                    severity=Severity.INFO,
                    field="",
                    message="形式审查通过，已受理。",
                )
            )
        for f in o.findings:
            rows.append(
                FeedbackRow(
                    seq=len(rows) + 1,
                    file=o.file,
                    title=o.title,
                    applicant=o.applicant,
                    severity=Severity(f.severity),
                    field=f.field,
                    message=f.message,
                )
            )
    path = (
        ctx.folder("application")
        / "审核意见"
        / f"审核意见_{unit.code}_{unit.name}_第{version}版.xlsx"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_intake_feedback(path, unit.name, rows)


def _stored_result(uow: UnitOfWork, batch: orm.SubmissionBatch, *, repeated: bool) -> IntakeResult:
    apps = uow.session.scalars(
        select(orm.Application)
        .where(orm.Application.batch_id == batch.id)
        .order_by(orm.Application.id)
    ).all()
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
        for a in apps
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
            late=batch.status == "late",
            repeated=repeated,
            files=list(batch.files),
            accepted=sum(1 for o in outs if o.status == "accepted"),
            returned=sum(1 for o in outs if o.status == "returned"),
            findings=batch_findings,
        ),
    )


def copy_into_inbox(ctx: CampaignContext, unit_code: str, files: Sequence[Path]) -> Path:
    """Keep the files of a batch as received (the record must stay complete for years)."""
    target = ctx.inbox / unit_code / f"{ctx.now:%Y%m%d%H%M%S}"
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy2(f, target / f.name)
    return target
