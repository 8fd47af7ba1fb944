"""The repositories behind the unit of work, one per area of the campaign.

Every query the services need is a method here; services never build SQL."""

from __future__ import annotations

from storage.repositories.audit import AuditRepository
from storage.repositories.evaluation import EvaluationRepository
from storage.repositories.exceptions import ExceptionsRepository
from storage.repositories.follow_up import FollowUpRepository
from storage.repositories.implementation import ImplementationRepository
from storage.repositories.intake import IntakeRepository
from storage.repositories.mailbox import MailboxRepository
from storage.repositories.messages import MessagesRepository
from storage.repositories.notices import NoticesRepository
from storage.repositories.operations import OperationsRepository
from storage.repositories.publicity import PublicityRepository
from storage.repositories.registry import RegistryRepository
from storage.repositories.results import ResultsRepository
from storage.repositories.training import TrainingRepository

__all__ = [
    "RegistryRepository",
    "IntakeRepository",
    "AuditRepository",
    "TrainingRepository",
    "ImplementationRepository",
    "FollowUpRepository",
    "ResultsRepository",
    "EvaluationRepository",
    "PublicityRepository",
    "MessagesRepository",
    "NoticesRepository",
    "ExceptionsRepository",
    "OperationsRepository",
    "MailboxRepository",
]
