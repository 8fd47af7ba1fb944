"""`poll-mailbox`: the commission's mailbox read every 10 minutes (`qcamp serve`), each new mail
taken through the door of its kind, and the receipts and return notices it caused delivered at
once, threaded as replies."""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.runtime import flow_run

from services.context import open_campaign
from services.mailbox import PollReport
from services.mailbox_settings import mailbox_url
from tasks.delivery import deliver_messages
from tasks.mailbox import take_mail


def mailbox_run_name() -> str:
    """`2025-收件邮箱-2025-04-05T10:10`: year, what, and the clock."""
    params = flow_run.parameters
    as_of = params.get("as_of") or dt.datetime.now().isoformat(timespec="minutes")
    return f"{params.get('year')}-收件邮箱-{str(as_of)[:16]}"


@flow(name="poll-mailbox", flow_run_name=mailbox_run_name, log_prints=True)
def poll_mailbox(year: int, as_of: str | None = None, mailbox: str | None = None) -> PollReport:
    """收件邮箱: take the new mails, then deliver the replies due."""
    ctx = open_campaign(year, as_of)
    report = take_mail(ctx, mailbox_url(ctx, mailbox))
    deliver_messages(ctx)
    print(f"收件邮箱 {report.mailbox}：新来信 {len(report.mails)} 封。")
    return report


def poll_directly(year: int, as_of: str | None = None, mailbox: str | None = None) -> PollReport:
    """The same without Prefect (`qcamp inbox poll --direct`)."""
    from notifications.inbound import open_source
    from services import mailbox as service
    from services.delivery import deliver_messages as deliver
    from storage.uow import UnitOfWork

    ctx = open_campaign(year, as_of)
    source = open_source(mailbox_url(ctx, mailbox))
    try:
        report = service.poll_mailbox(UnitOfWork(), ctx, source)
    finally:
        source.close()
    deliver(ctx)
    return report
