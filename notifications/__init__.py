"""Notifications: the one way anything reaches a person (templates, channels, exactly-once delivery).

Public API::

    from notifications import Recipient, queue_message_record, queue_message, deliver_due, failed_deliveries
"""

from notifications.channels import Dispatcher, OutgoingMessage, SendResult
from notifications.ics import training_ics
from notifications.recipients import Recipient, RecipientKind, mail_channel
from notifications.secrets import SecretResolver, redact
from notifications.service import (
    DeliveryFailure,
    DeliveryReport,
    deliver_due,
    failed_deliveries,
    idempotency_key,
    queue_message,
    queue_message_record,
    retry_failed,
    staff_digest_context,
)
from notifications.templates import EVENTS, TemplateError, config_facts, render, rule_id

__all__ = [
    "EVENTS",
    "DeliveryFailure",
    "DeliveryReport",
    "Dispatcher",
    "OutgoingMessage",
    "Recipient",
    "RecipientKind",
    "SecretResolver",
    "SendResult",
    "TemplateError",
    "config_facts",
    "deliver_due",
    "queue_message",
    "failed_deliveries",
    "idempotency_key",
    "mail_channel",
    "queue_message_record",
    "redact",
    "render",
    "retry_failed",
    "rule_id",
    "staff_digest_context",
    "training_ics",
]
