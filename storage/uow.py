"""The one repository / unit-of-work seam between the campaign's services and the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, selectinload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

import faults
from domain.calendar import CampaignConfig
from domain.states import ProjectState, check_transition
from storage import orm, repositories
from storage.db import session_factory
from storage.locks import BUSY_MESSAGE, RunInProgress
from storage.orm import utcnow


class CampaignRepository:
    """Loads and stores the campaign's records; knows nothing of Prefect or documents."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # campaigns --------------------------------------------------------------------------------
    def campaign(self, year: int) -> orm.Campaign | None:
        return self.session.scalar(select(orm.Campaign).where(orm.Campaign.year == year))

    def ensure_campaign(self, config: CampaignConfig) -> orm.Campaign:
        campaign = self.campaign(config.year)
        if campaign is None:
            campaign = orm.Campaign(
                year=config.year, title=config.title, config=config.model_dump(mode="json")
            )
            self.session.add(campaign)
            self.session.flush()
        return campaign

    # units ------------------------------------------------------------------------------------
    def recommending_unit(self, code: str) -> orm.RecommendingUnit | None:
        return self.session.scalar(
            select(orm.RecommendingUnit).where(orm.RecommendingUnit.code == code)
        )

    def recommending_units(self) -> Sequence[orm.RecommendingUnit]:
        return self.session.scalars(
            select(orm.RecommendingUnit).order_by(orm.RecommendingUnit.code)
        ).all()

    def applicant_unit(
        self, uscc: str, name: str, district: str, address: str
    ) -> orm.ApplicantUnit:
        unit = self.session.scalar(select(orm.ApplicantUnit).where(orm.ApplicantUnit.uscc == uscc))
        if unit is None:
            unit = orm.ApplicantUnit(uscc=uscc, name=name, district=district, address=address)
            self.session.add(unit)
            self.session.flush()
        return unit

    # applications -----------------------------------------------------------------------------
    def applications(
        self,
        campaign_id: int,
        states: Iterable[ProjectState] | None = None,
        *,
        current_only: bool = True,
        with_form: bool = False,
        with_findings: bool = False,
        with_people: bool = False,
    ) -> Sequence[orm.Application]:
        """The campaign's applications in id order, each with its `recommending_unit` set.

        The stored form (`Application.form`, a few KB of JSON a row) is left unloaded unless
        `with_form`: decoding it for every row was most of the cost of this query, and most
        callers never read it. Reading `.form` of an application loaded without it costs one
        query per row inside the unit of work, and fails once the unit of work has closed; so a
        caller that reads the form asks for it. `with_findings` and `with_people` load those
        collections for all rows in one query each, for callers that walk them.
        """
        query = select(orm.Application).where(orm.Application.campaign_id == campaign_id)
        if current_only:
            query = query.where(orm.Application.is_current.is_(True))
        if states is not None:
            query = query.where(orm.Application.state.in_([s.value for s in states]))
        if not with_form:
            query = query.options(defer(orm.Application.form))
        if with_findings:
            query = query.options(selectinload(orm.Application.findings))
        if with_people:
            query = query.options(selectinload(orm.Application.people))
        apps = self.session.scalars(query.order_by(orm.Application.id)).all()
        self._attach_recommending_units(apps)
        return apps

    def _attach_recommending_units(self, apps: Sequence[orm.Application]) -> None:
        """Set each application's `recommending_unit` from one query of the (few) units.

        Most callers walk `app.recommending_unit`; a lazy load per row (an identity-map lookup
        at best, a query per unit and session at worst) cost more than the rows themselves, and
        `selectinload` is about twice as dear as this for a many-to-one onto a small table. An
        application whose unit is already loaded, or changed and not yet flushed, is left as is.
        """
        todo = [a for a in apps if "recommending_unit" not in a.__dict__]
        if not todo:
            return
        units = {u.id: u for u in self.recommending_units()}
        for app in todo:
            unit = units.get(app.recommending_unit_id)
            if unit is not None:
                set_committed_value(app, "recommending_unit", unit)

    def application_ids(
        self, campaign_id: int, states: Iterable[ProjectState] | None = None
    ) -> list[int]:
        """Ids of the campaign's current applications (optionally in `states`), in id order."""
        query = select(orm.Application.id).where(
            orm.Application.campaign_id == campaign_id, orm.Application.is_current.is_(True)
        )
        if states is not None:
            query = query.where(orm.Application.state.in_([s.value for s in states]))
        return list(self.session.scalars(query.order_by(orm.Application.id)))

    def state_counts(self, campaign_id: int) -> dict[tuple[int, str], int]:
        """How many current applications each recommending unit has in each state:
        {(recommending_unit_id, state): count}, counted by the database."""
        rows = self.session.execute(
            select(
                orm.Application.recommending_unit_id,
                orm.Application.state,
                func.count(orm.Application.id),
            )
            .where(orm.Application.campaign_id == campaign_id, orm.Application.is_current.is_(True))
            .group_by(orm.Application.recommending_unit_id, orm.Application.state)
        ).all()
        return {(unit_id, state): n for unit_id, state, n in rows}

    def move(
        self,
        application: orm.Application,
        target: ProjectState,
        *,
        at: dt.datetime,
        actor: str,
        reason: str = "",
    ) -> None:
        """Change a project's state and record when, by whom or which rule, and why."""
        check_transition(application.state, target)
        self.session.add(
            orm.StateChange(
                application_id=application.id,
                from_state=application.state,
                to_state=target.value,
                at=at,
                actor=actor,
                reason=reason,
            )
        )
        application.state = target.value

    def record_initial_state(
        self, application: orm.Application, *, at: dt.datetime, actor: str, reason: str
    ) -> None:
        self.session.add(
            orm.StateChange(
                application_id=application.id,
                from_state=None,
                to_state=application.state,
                at=at,
                actor=actor,
                reason=reason,
            )
        )

    def last_state_change_id(self) -> int:
        """The id of the newest recorded state change (0 when there is none)."""
        return self.session.scalar(select(func.max(orm.StateChange.id))) or 0

    def state_changes_since(self, after_id: int) -> list[tuple[orm.StateChange, str]]:
        """State changes recorded after `after_id`, each with its project's title, in order."""
        rows = self.session.execute(
            select(orm.StateChange, orm.Application.title)
            .join(orm.Application, orm.Application.id == orm.StateChange.application_id)
            .where(orm.StateChange.id > after_id)
            .order_by(orm.StateChange.id)
        ).all()
        return [(change, title) for change, title in rows]

    def state_changes(self, application_id: int) -> Sequence[orm.StateChange]:
        return self.session.scalars(
            select(orm.StateChange)
            .where(orm.StateChange.application_id == application_id)
            .order_by(orm.StateChange.id)
        ).all()

    # stage steps ------------------------------------------------------------------------------
    def step_done(self, campaign_id: int, stage: str, step: str) -> orm.StageStep | None:
        return self.session.scalar(
            select(orm.StageStep).where(
                orm.StageStep.campaign_id == campaign_id,
                orm.StageStep.stage == stage,
                orm.StageStep.step == step,
            )
        )

    def mark_step(
        self,
        campaign_id: int,
        stage: str,
        step: str,
        *,
        as_of: dt.datetime,
        summary: dict[str, Any] | None = None,
    ) -> orm.StageStep:
        record = orm.StageStep(
            campaign_id=campaign_id,
            stage=stage,
            step=step,
            done_at=utcnow(),
            as_of=as_of,
            summary=summary or {},
        )
        self.session.add(record)
        self.session.flush()
        return record

    def steps(self, campaign_id: int, stage: str | None = None) -> Sequence[orm.StageStep]:
        query = select(orm.StageStep).where(orm.StageStep.campaign_id == campaign_id)
        if stage is not None:
            query = query.where(orm.StageStep.stage == stage)
        return self.session.scalars(query.order_by(orm.StageStep.id)).all()

    # messages ---------------------------------------------------------------------------------
    def message_counts_by_status(self, campaign_id: int) -> dict[str, int]:
        """How many of the campaign's messages are in each delivery status (sent, pending …)."""
        record = orm.NotificationRecord
        rows = self.session.execute(
            select(record.status, func.count(record.id))
            .where(record.campaign_id == campaign_id)
            .group_by(record.status)
        ).all()
        return {status: n for status, n in rows}

    # documents --------------------------------------------------------------------------------
    def record_document(
        self, campaign_id: int, *, stage: str, kind: str, title: str, path: str
    ) -> None:
        existing = self.session.scalar(
            select(orm.DocumentRecord).where(
                orm.DocumentRecord.campaign_id == campaign_id, orm.DocumentRecord.path == path
            )
        )
        if existing is None:
            self.session.add(
                orm.DocumentRecord(
                    campaign_id=campaign_id,
                    stage=stage,
                    kind=kind,
                    title=title,
                    path=path,
                    written_at=utcnow(),
                )
            )
        else:
            existing.written_at = utcnow()

    def documents(self, campaign_id: int) -> Sequence[orm.DocumentRecord]:
        return self.session.scalars(
            select(orm.DocumentRecord)
            .where(orm.DocumentRecord.campaign_id == campaign_id)
            .order_by(orm.DocumentRecord.id)
        ).all()


CONCURRENT_TABLES = ("campaigns", "stage_steps", "notification_records")


def _concurrent_insert(exc: IntegrityError) -> bool:
    """A unique key of a stage step or a message taken by a concurrent transaction."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        diag = getattr(orig, "diag", None)
        return getattr(diag, "table_name", None) in CONCURRENT_TABLES
    message = str(orig)
    return "UNIQUE constraint failed" in message and any(
        f"{table}." in message for table in CONCURRENT_TABLES
    )


class UnitOfWork:
    """`with UnitOfWork() as uow:` … `uow.commit()`; anything not committed is rolled back.

    Services receive a unit of work not yet entered and open it (`with uow:`) as often as they
    need, one block per transaction; inside, they reach the records only through the
    repositories (`uow.repo` for what every stage shares, `uow.<area>` for each area) and
    `add`/`flush`/`commit`, never through the session itself.
    """

    def __init__(self, factory: sessionmaker[Session] | None = None) -> None:
        self._factory = factory or session_factory()

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.repo = CampaignRepository(self.session)
        self.registry = repositories.RegistryRepository(self.session)
        self.intake = repositories.IntakeRepository(self.session)
        self.audit = repositories.AuditRepository(self.session)
        self.training = repositories.TrainingRepository(self.session)
        self.implementation = repositories.ImplementationRepository(self.session)
        self.follow_up = repositories.FollowUpRepository(self.session)
        self.results = repositories.ResultsRepository(self.session)
        self.evaluation = repositories.EvaluationRepository(self.session)
        self.publicity = repositories.PublicityRepository(self.session)
        self.messages = repositories.MessagesRepository(self.session)
        self.notices = repositories.NoticesRepository(self.session)
        self.exceptions = repositories.ExceptionsRepository(self.session)
        self.operations = repositories.OperationsRepository(self.session)
        self.mailbox = repositories.MailboxRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the loaded objects with
        # their attributes intact, so callers may read them after the block.
        self.session.close()
        if isinstance(exc, IntegrityError) and _concurrent_insert(exc):
            # Another run recorded the same step or message first: nothing is duplicated, and
            # a rerun finds it done.
            raise RunInProgress(BUSY_MESSAGE.format(what="同一步骤")) from exc

    def add(self, *records: object) -> None:
        """Store new records (ORM objects) in this unit of work."""
        self.session.add_all(records)

    def flush(self) -> None:
        """Send pending changes to the database (ids assigned), without committing."""
        self.session.flush()

    def commit(self) -> None:
        self.session.commit()
        faults.hit("commit")  # the chaos demo's fault point (nothing unless QCAMP_FAULTS is set)

    def rollback(self) -> None:
        self.session.rollback()
