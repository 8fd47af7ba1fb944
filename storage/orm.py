"""SQLAlchemy 2 tables: the only place the database's shape is written down.

Alembic's migrations in `migrations/` are generated from these classes; the same code and
migrations run on SQLite (embedded default) and PostgreSQL (psycopg 3).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from domain import limits

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; attach a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Campaign(Base):
    """年度质量攻关活动: one year's campaign and its calendar."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RecommendingUnit(Base):
    """推荐单位: a city department, industry association or district regulator."""

    __tablename__ = "recommending_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(limits.UNIT_CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(limits.UNIT_NAME_MAX))
    kind: Mapped[str] = mapped_column(String(limits.UNIT_KIND_MAX), default="")
    contact: Mapped[str] = mapped_column(String(limits.CONTACT_MAX), default="")
    phone: Mapped[str] = mapped_column(String(limits.PHONE_MAX), default="")
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), default="")
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ApplicantUnit(Base):
    """申报单位 / 项目单位: the enterprise or institution that runs a project."""

    __tablename__ = "applicant_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(limits.USCC_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(limits.UNIT_NAME_MAX))
    district: Mapped[str] = mapped_column(String(limits.DISTRICT_MAX), default="")
    address: Mapped[str] = mapped_column(String(limits.ADDRESS_MAX), default="")


class SubmissionBatch(Base):
    """报送批次: one recommending unit's batch of forms and its summary table."""

    __tablename__ = "submission_batches"
    __table_args__ = (UniqueConstraint("campaign_id", "recommending_unit_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    recommending_unit_id: Mapped[int] = mapped_column(ForeignKey("recommending_units.id"))
    version: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # received / late / superseded
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)  # batch-level findings
    source_dir: Mapped[str] = mapped_column(String(limits.PATH_MAX), default="")
    # the deadline exception (截止后例外) a late batch was taken under
    exception_id: Mapped[int | None] = mapped_column(Integer)

    recommending_unit: Mapped[RecommendingUnit] = relationship()


class Application(Base):
    """申报项目: an application, and once approved the project it becomes.

    Each resubmission before the deadline stores a new row; the earlier rows are kept with
    `is_current` false. The state machine lives in `domain.states`.
    """

    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("submission_batches.id"), index=True)
    recommending_unit_id: Mapped[int] = mapped_column(ForeignKey("recommending_units.id"))
    applicant_unit_id: Mapped[int | None] = mapped_column(ForeignKey("applicant_units.id"))
    source_file: Mapped[str] = mapped_column(String(limits.FILE_NAME_MAX))
    title: Mapped[str] = mapped_column(String(limits.TITLE_MAX))
    applicant_name: Mapped[str] = mapped_column(String(limits.UNIT_NAME_MAX), default="")
    uscc: Mapped[str] = mapped_column(String(limits.APPLICATION_USCC_MAX), default="")
    district: Mapped[str] = mapped_column(String(limits.DISTRICT_MAX), default="")
    chain: Mapped[str] = mapped_column(String(limits.CHAIN_MAX), default="")
    project_type: Mapped[str] = mapped_column(String(limits.PROJECT_TYPE_MAX), default="")
    joint: Mapped[bool] = mapped_column(Boolean, default=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(30), index=True)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    plan_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    batch: Mapped[SubmissionBatch] = relationship()
    recommending_unit: Mapped[RecommendingUnit] = relationship()
    findings: Mapped[list[ApplicationFinding]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    people: Mapped[list[ProjectPerson]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )


class ApplicationFinding(Base):
    """审核发现 stored with its application."""

    __tablename__ = "application_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    field: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    application: Mapped[Application] = relationship(back_populates="findings")


class StateChange(Base):
    """状态变更记录: when, by whom or which rule, and why a project changed state."""

    __tablename__ = "state_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))  # a person's name or "rule:<name>"
    reason: Mapped[str] = mapped_column(Text, default="")


class Decision(Base):
    """人工决定: a recorded human decision (approval audit, excellent list), HotCRP style."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("application_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(20))  # approval / excellent
    outcome: Mapped[str] = mapped_column(String(20))  # approve / reject / excellent / not_excellent
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime]
    source: Mapped[str] = mapped_column(String(40), default="")  # dashboard / workbook / policy


class ProjectPerson(Base):
    """项目人员: quality lead, project lead, technical staff and members of a project."""

    __tablename__ = "project_people"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(limits.PERSON_KEY_MAX), index=True)
    name: Mapped[str] = mapped_column(String(limits.PERSON_NAME_MAX))
    role: Mapped[str] = mapped_column(String(20))  # 质量负责人 / 项目负责人 / 技术骨干
    title: Mapped[str] = mapped_column(String(limits.PERSON_TITLE_MAX), default="")
    phone: Mapped[str] = mapped_column(String(limits.PHONE_MAX), default="")
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), default="")

    application: Mapped[Application] = relationship(back_populates="people")


class Expert(Base):
    """专家: a member of the expert pool (专家库)."""

    __tablename__ = "experts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(limits.EXPERT_KEY_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(limits.PERSON_NAME_MAX))
    organisation: Mapped[str] = mapped_column(String(limits.UNIT_NAME_MAX), default="")
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(limits.PERSON_TITLE_MAX), default="")
    phone: Mapped[str] = mapped_column(String(limits.PHONE_MAX), default="")
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), default="")
    recused_units: Mapped[list[Any]] = mapped_column(JSON, default=list)


class TrainingSession(Base):
    """培训场次."""

    __tablename__ = "training_sessions"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    district: Mapped[str] = mapped_column(String(40), default="")


class TrainingAssignment(Base):
    """培训安排: one person invited to one session, and whether they came."""

    __tablename__ = "training_assignments"
    __table_args__ = (UniqueConstraint("session_id", "person_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(60))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    role: Mapped[str] = mapped_column(String(20))
    attended: Mapped[bool | None] = mapped_column(Boolean)


class CheckIn(Base):
    """进度报告: a project's progress report for one period."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("application_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))  # YYYY-MM
    requested_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    submitted_at: Mapped[dt.datetime | None]
    phase: Mapped[str] = mapped_column(String(10), default="")  # 计划/执行/检查/处理
    percent_done: Mapped[float | None] = mapped_column(Float)
    indicator_value: Mapped[str] = mapped_column(String(100), default="")
    problems: Mapped[str] = mapped_column(Text, default="")


class FollowUpVisit(Base):
    """跟踪服务记录: a recommending unit's visit to a project."""

    __tablename__ = "follow_up_visits"
    __table_args__ = (UniqueConstraint("application_id", "visited_on", "visitor"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    visited_on: Mapped[dt.date]
    visitor: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text, default="")


class ResultSubmission(Base):
    """成果材料: a project's result submission, forwarded by its recommending unit."""

    __tablename__ = "result_submissions"
    __table_args__ = (UniqueConstraint("application_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    received_at: Mapped[dt.datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    missing_parts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    achieved: Mapped[str] = mapped_column(Text, default="")
    # the deadline exception (截止后例外) late material was taken under
    exception_id: Mapped[int | None] = mapped_column(Integer)


class ExpertPanel(Base):
    """评定组: a panel of experts drawn for one chain's results."""

    __tablename__ = "expert_panels"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    chain: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(BigInteger)  # a draw seed may exceed 32 bits
    members: Mapped[list[Any]] = mapped_column(JSON)
    reserves: Mapped[list[Any]] = mapped_column(JSON)
    application_ids: Mapped[list[Any]] = mapped_column(JSON)
    draw_record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PanelScore(Base):
    """评分: one expert's scores for one result."""

    __tablename__ = "panel_scores"
    __table_args__ = (UniqueConstraint("panel_id", "application_id", "expert_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("expert_panels.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    expert_key: Mapped[str] = mapped_column(String(60))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)


class ResultScore(Base):
    """评定结果: a result's aggregated score and rank."""

    __tablename__ = "result_scores"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    score: Mapped[float] = mapped_column(Float)
    effect_score: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int] = mapped_column(Integer)
    rank_in_chain: Mapped[int] = mapped_column(Integer)
    excellent: Mapped[bool] = mapped_column(Boolean, default=False)


class PublicNotice(Base):
    """公示 / 公布: a posted list and its period."""

    __tablename__ = "public_notices"
    __table_args__ = (UniqueConstraint("campaign_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # publicity / publication
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    posted_at: Mapped[dt.datetime]
    application_ids: Mapped[list[Any]] = mapped_column(JSON)
    document: Mapped[str] = mapped_column(String(500), default="")


class Objection(Base):
    """异议: an objection raised during the publicity period, and its outcome."""

    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    received_at: Mapped[dt.datetime]
    raised_by: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(20))  # upheld / dismissed
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None]
    recorded_by: Mapped[str] = mapped_column(String(100), default="")  # the staff member
    resolved_by: Mapped[str] = mapped_column(String(100), default="")


class Certificate(Base):
    """证书: a certificate for an excellent result's unit or one of its participants."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("application_id", "holder_kind", "holder"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    holder: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[str] = mapped_column(String(10))  # unit / person
    issued_on: Mapped[dt.date]
    document: Mapped[str] = mapped_column(String(500), default="")


class PastExcellentResult(Base):
    """历年优秀成果: earlier years' excellent results, for the duplicate check."""

    __tablename__ = "past_results"
    __table_args__ = (UniqueConstraint("year", "title", "unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(limits.TITLE_MAX))
    unit: Mapped[str] = mapped_column(String(limits.UNIT_NAME_MAX), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")


class StageStep(Base):
    """阶段步骤: a once-only step of a stage that has been done (the idempotency ledger)."""

    __tablename__ = "stage_steps"
    __table_args__ = (UniqueConstraint("campaign_id", "stage", "step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(80))
    done_at: Mapped[dt.datetime]
    as_of: Mapped[dt.datetime]
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DocumentRecord(Base):
    """文档: every document the campaign wrote, where it lies, and for what."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("campaign_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(limits.DOCUMENT_TITLE_MAX))
    path: Mapped[str] = mapped_column(String(limits.PATH_MAX))
    written_at: Mapped[dt.datetime]


class NoticeNumber(Base):
    """发文字号: the number a notice of the campaign was given (津市场监管质发〔2025〕4号), once."""

    __tablename__ = "notice_numbers"
    __table_args__ = (
        UniqueConstraint("campaign_id", "kind"),
        UniqueConstraint("campaign_id", "seq"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # call / plan / publication / ...
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(60))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotificationRecord(Base):
    """发送记录: one message to one recipient, keyed so that it is never sent twice."""

    __tablename__ = "notification_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    event: Mapped[str] = mapped_column(String(60), index=True)
    rule: Mapped[str] = mapped_column(String(120))
    recipient_key: Mapped[str] = mapped_column(String(120))
    recipient_name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the facts the message was rendered from (re-rendered for the delivery day)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending/sending/sent/failed/superseded (no longer true on its delivery day: see last_error)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    scheduled_for: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    # the Message-ID of the mail this message answers (a receipt threaded as a reply), or ""
    in_reply_to: Mapped[str] = mapped_column(String(300), default="", server_default="")


class DeadlineException(Base):
    """截止后例外: one recommending unit may hand in one stage's material after its deadline,
    until a time, granted (and perhaps revoked) by a named person with a reason."""

    __tablename__ = "deadline_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    recommending_unit_id: Mapped[int] = mapped_column(ForeignKey("recommending_units.id"))
    stage: Mapped[str] = mapped_column(String(20))  # application / results
    until: Mapped[dt.datetime]
    granted_by: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text)
    revoked_by: Mapped[str] = mapped_column(String(100), default="")
    revoked_at: Mapped[dt.datetime | None]
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    recommending_unit: Mapped[RecommendingUnit] = relationship()


class OperatorAction(Base):
    """经办记录: a staff action (or a mail-borne one) that moved no project state — a register,
    sign-in sheet, score sheet, visit or progress-report import, an expert's decline — with
    who did it."""

    __tablename__ = "operator_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InboundMail(Base):
    """来信: one mail taken from the commission's mailbox, recorded so it is handled exactly once
    (by the mailbox's UIDVALIDITY and UID, and by its Message-ID)."""

    __tablename__ = "inbound_mails"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    mailbox: Mapped[str] = mapped_column(String(300))  # the source, without credentials
    uidvalidity: Mapped[str] = mapped_column(String(40))
    uid: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(300), index=True)
    sender: Mapped[str] = mapped_column(String(limits.EMAIL_MAX))
    subject: Mapped[str] = mapped_column(String(300), default="")
    received_at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(40), default="")  # application / results / ...
    outcome: Mapped[str] = mapped_column(String(20), index=True)  # taking / taken / refused / ...
    detail: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    handled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
