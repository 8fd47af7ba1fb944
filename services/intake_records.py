"""申报受理的记录: what taking a batch answers (`IntakeResult`), and how a batch's applications
are stored with their findings, people and first state changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from domain import findings as texts
from domain import limits
from domain.eligibility import USCC_INVALID
from domain.intake import BATCH_LATE, project_people
from domain.limits import fit
from domain.models import ApplicationForm, Finding, Severity
from domain.states import ProjectState
from domain.uscc import normalize_uscc
from services.context import CampaignContext
from storage import orm
from storage.uow import UnitOfWork

ACTOR = "rule:intake"
StoredForm = tuple[str, ApplicationForm, list[Finding]]  # file, form, its findings


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
    exception_id: int | None = None  # the deadline exception a late batch was taken under


class IntakeResult(BaseModel):
    applications: list[ApplicationOut]
    batch: BatchOut


def finding_out(f: Finding) -> FindingOut:
    return FindingOut(
        code=f.code, severity=f.severity, field=f.field, message=f.message, file=f.file
    )


def application_out(name: str, form: ApplicationForm, findings: list[Finding]) -> ApplicationOut:
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
        findings=[finding_out(f) for f in findings],
    )


_PERSON_LIMITS = {
    "person_key": limits.PERSON_KEY_MAX,
    "name": limits.PERSON_NAME_MAX,
    "title": limits.PERSON_TITLE_MAX,
    "phone": limits.PHONE_MAX,
    "email": limits.EMAIL_MAX,
}


def fit_person(person: dict[str, str]) -> dict[str, str]:
    """A project person's row cut to its columns (an over-long value was returned at the door)."""
    return {k: fit(v, _PERSON_LIMITS[k]) if k in _PERSON_LIMITS else v for k, v in person.items()}


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
    # Over-long values were found and returned at the door; the record keeps what fits, the
    # stored form keeps every character.
    return orm.Application(
        campaign_id=ctx.campaign_id,
        batch_id=batch.id,
        recommending_unit_id=unit.id,
        applicant_unit_id=applicant.id if applicant else None,
        source_file=fit(name, limits.FILE_NAME_MAX),
        title=fit(form.title or Path(name).stem, limits.TITLE_MAX),
        applicant_name=fit(form.applicant, limits.UNIT_NAME_MAX),
        uscc=fit(normalize_uscc(form.uscc), limits.APPLICATION_USCC_MAX),
        district=fit(form.district, limits.DISTRICT_MAX),
        chain=fit(form.chain, limits.CHAIN_MAX),
        project_type=fit(form.project_type, limits.PROJECT_TYPE_MAX),
        joint=form.is_joint,
        form=form.model_dump(mode="json"),
        state=ProjectState.SUBMITTED.value,
        is_current=current,
    )


def store_applications(
    uow: UnitOfWork,
    ctx: CampaignContext,
    unit: orm.RecommendingUnit,
    batch: orm.SubmissionBatch,
    items: Sequence[StoredForm],
    received_at: dt.datetime,
    *,
    current: bool,
    actor: str = ACTOR,
) -> list[orm.Application]:
    """Store the batch's applications with their findings, people and state changes, in the
    order given: the rows are built in memory and written in a few multi-row inserts."""
    wanted: dict[str, tuple[str, str, str]] = {}
    for _name, form, findings in items:
        uscc = normalize_uscc(form.uscc)
        if (
            uscc
            and len(uscc) <= limits.USCC_MAX
            and not any(f.code == USCC_INVALID for f in findings)
        ):
            wanted.setdefault(
                uscc,
                (
                    fit(form.applicant, limits.UNIT_NAME_MAX),
                    fit(form.district, limits.DISTRICT_MAX),
                    fit(form.address, limits.ADDRESS_MAX),
                ),
            )
    applicants = _applicant_units(uow, wanted)
    apps = []
    for name, form, _findings in items:
        uscc = normalize_uscc(form.uscc)
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
            {"application_id": app.id, **fit_person(person)}
            for app, (_name, form, _findings) in stored
            for person in project_people(form, app.uscc or app.applicant_name)
        ]
    )
    reason = texts.batch_reason(unit.name, batch.version)
    for app, (_name, _form, findings) in stored:
        uow.repo.record_initial_state(app, at=received_at, actor=actor, reason=reason)
        if returned := texts.returned_reason(findings):
            uow.repo.move(app, ProjectState.RETURNED, at=received_at, actor=actor, reason=returned)
        else:
            uow.repo.move(
                app,
                ProjectState.ACCEPTED,
                at=received_at,
                actor=actor,
                reason=texts.ACCEPTED_REASON,
            )
    return apps


def stored_result(uow: UnitOfWork, batch: orm.SubmissionBatch, *, repeated: bool) -> IntakeResult:
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
            exception_id=batch.exception_id,
        ),
    )
