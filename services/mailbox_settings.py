"""Where the commission's mailbox is: ``--mailbox``, else ``QCAMP_MAILBOX_URL``, else the
Maildir folder ``mailbox/`` of the campaign's folder (the embedded default and the demo)."""

from __future__ import annotations

import os

from notifications.inbound import MAILBOX_URL_ENV
from services.context import CampaignContext


def mailbox_url(ctx: CampaignContext, given: str | None = None) -> str:
    url = (given or os.environ.get(MAILBOX_URL_ENV, "")).strip()
    return url or f"maildir://{ctx.out_dir / 'mailbox'}"
