"""From and Reply-To: every mail of a campaign comes from the commission's mailbox in the year's
config (display name: issuer and department), and replies go to its contact mailbox; checked on
mail received by a real SMTP server (aiosmtpd) and on the outbox's .eml files."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
from pathlib import Path
from typing import Any

import pytest
from notifications_testkit import EVENT_CONTEXT, SmtpSink
from sqlalchemy.orm import Session, sessionmaker

from domain.calendar import CampaignConfigError, load_campaign_config
from notifications.recipients import Recipient
from notifications.service import deliver_due, queue_message_record
from services.delivery import campaign_sender
from storage.settings import PROJECT_ROOT

SH = dt.timezone(dt.timedelta(hours=8))
WORKDAY = dt.datetime(2025, 10, 9, 10, 0, tzinfo=SH)
CONFIG_DIR = PROJECT_ROOT / "config"


def _queue(factory: sessionmaker[Session], campaign_id: int, r: Recipient, ctx: dict[str, Any]):  # noqa: ANN202
    with factory() as s:
        queue_message_record(
            s,
            campaign_id=campaign_id,
            event="application_reminder",
            rule="rule:application_reminder:T-7",
            recipient=r,
            period="T-7",
            context={**ctx, **EVENT_CONTEXT["application_reminder"]},
            now=WORKDAY,
        )
        s.commit()


@pytest.mark.parametrize("transport", ["batch", "apprise"])
def test_smtp_mail_is_from_the_commission_and_replies_go_to_its_mailbox(
    smtp: SmtpSink,
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    transport: str,
) -> None:
    # The channel's own from= (the SMTP account) does not show as the sender.
    r = Recipient(
        key="ru:DEPT07",
        name="天津市第7推荐单位",
        kind="recommending_unit",
        channels=[smtp.url("dept07@example.cn", name="someone")],
    )
    _queue(session_factory, campaign_id, r, base_context)
    sender = campaign_sender(load_campaign_config(2025, CONFIG_DIR))
    report = deliver_due(
        session_factory,
        now=WORKDAY,
        default_outbox=None,
        mail_transport=transport,  # type: ignore[arg-type]
        sender=sender,
    )
    assert report.sent == 1, report.failures
    (msg,) = smtp.messages
    assert msg["From"].addresses[0].addr_spec == "scjgzlfzc@tj.gov.cn"
    if transport == "batch":  # apprise's own writer cannot take this Chinese name
        assert msg["From"].addresses[0].display_name == "天津市市场监督管理委员会质量发展处"
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == ["scjgzlfzc@tj.gov.cn"]
    assert "noreply" not in str(msg["From"]) and smtp.envelopes[0][1] == ["dept07@example.cn"]


def test_a_separate_sending_address_keeps_replies_on_the_contact_mailbox(
    session_factory: sessionmaker[Session],
    campaign_id: int,
    base_context: dict[str, Any],
    tmp_path: Path,
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    text = (CONFIG_DIR / "campaign-2025.toml").read_text(encoding="utf-8")
    text = text.replace("[calendar]", 'sender_email = "tongzhi@tj.gov.cn"\n\n[calendar]', 1)
    (config_dir / "campaign-2025.toml").write_text(text, encoding="utf-8")
    sender = campaign_sender(load_campaign_config(2025, config_dir))
    r = Recipient(key="ru:DEPT08", name="天津市第8推荐单位", kind="recommending_unit")
    _queue(session_factory, campaign_id, r, base_context)
    outbox = tmp_path / "outbox"
    assert deliver_due(session_factory, now=WORKDAY, default_outbox=outbox, sender=sender).sent == 1
    (eml,) = outbox.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == "tongzhi@tj.gov.cn"
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == ["scjgzlfzc@tj.gov.cn"]


def test_a_wrong_sending_address_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    shutil.copy(CONFIG_DIR / "campaign-2025.toml", config_dir / "campaign-2025.toml")
    path = config_dir / "campaign-2025.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[calendar]", 'sender_email = "质量发展处"\n\n[calendar]', 1))
    with pytest.raises(CampaignConfigError) as caught:
        load_campaign_config(2025, config_dir)
    message = str(caught.value)
    assert str(path) in message and "sender_email" in message and "不是有效的邮箱地址" in message
