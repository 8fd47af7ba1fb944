"""Who a message goes to, and through which channels.

A channel is an apprise URL (``mailtos://…``, ``wecombot://…``, ``dingtalk://…``, ``json://…``)
or our own ``outbox:///abs/folder`` (a folder of ``.eml`` files). A recipient with no channel
gets its messages in the run's default outbox.

Credentials never appear in a channel URL literally: write ``{env:NAME}`` or ``{secret:name}``
(see `notifications.secrets`); the URL is stored as written and resolved only at send time.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import BaseModel, Field, field_validator

from domain.intake import LEAD_ROLES
from notifications.secrets import PLACEHOLDER, redact

if TYPE_CHECKING:
    from storage import orm


class RecipientKind(StrEnum):
    recommending_unit = "recommending_unit"  # 推荐单位
    project_unit = "project_unit"  # 项目单位
    project_person = "project_person"  # 项目人员
    expert = "expert"  # 专家
    staff = "staff"  # 工作人员


_SECRET_QUERY = re.compile(r"^(pass|password|passwd|pwd|token|secret|apikey|api_key)$", re.I)


def _literal_secret(url: str) -> str | None:
    """The part of `url` that is a literal credential (not a placeholder), if any."""
    masked = PLACEHOLDER.sub("PLACEHOLDER", url)
    try:
        parts = urlsplit(masked)
    except ValueError:
        return None
    if parts.password and parts.password != "PLACEHOLDER":
        return "password"
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_QUERY.match(key) and value and value != "PLACEHOLDER":
            return key
    return None


def _names_mail_recipient(url: str) -> bool:
    """A ``mailto``/``mailtos`` URL names whom it writes to: a ``to=`` address, or a user@host
    without a password (apprise then writes to that address). With a password and no ``to=``,
    apprise writes to the sender's own mailbox."""
    masked = PLACEHOLDER.sub("PLACEHOLDER", url)
    try:
        parts = urlsplit(masked)
    except ValueError:
        return False
    if any(k.lower() == "to" and v.strip() for k, v in parse_qsl(parts.query)):
        return True
    return bool(parts.username) and parts.password is None and bool(parts.hostname)


def channel_problem(url: str) -> str | None:
    """What is wrong with a channel URL as written in a register (Chinese, with the fix), or
    None: not an apprise URL, a literal password or token, a mail channel that names no
    recipient."""
    if "://" not in url and not url.startswith("outbox:"):
        return (
            f"渠道地址格式有误：{redact(url)}。应为 apprise 地址（如 mailtos://…?to=收件邮箱、"
            "wecombot://…）或 outbox:///目录"
        )
    part = _literal_secret(url)
    if part:
        return (
            f"渠道地址 {redact(url)} 含明文{part}：请改用 {{env:变量名}} 或 {{secret:密钥块名}}，"
            "如 mailtos://{env:QCAMP_SMTP_USER}:{env:QCAMP_SMTP_PASSWORD}@smtp.example.cn"
            "?to=收件邮箱；密钥不得写入名录或数据库"
        )
    if url.lower().startswith(("mailto://", "mailtos://")) and not _names_mail_recipient(url):
        return (
            f"邮件渠道 {redact(url)} 没有写收件人，邮件会发回发件人自己的邮箱："
            "请在地址后加上 ?to=收件邮箱（已有参数时用 &to=收件邮箱）"
        )
    return None


class Recipient(BaseModel):
    """收件人: a unit, a person, an expert or the campaign staff."""

    key: str = Field(
        min_length=1, max_length=120
    )  # "ru:DEPT01", "person:…", "expert:E001", "staff"
    name: str = Field(min_length=1, max_length=200)
    kind: RecipientKind
    email: str = ""
    channels: list[str] = Field(default_factory=list)
    # reached through someone else's mailbox (项目负责人 or the unit's contact): who that is, and
    # the line that tells them whom to hand the message to
    via_name: str = ""
    forward_note: str = ""

    @property
    def display_name(self) -> str:
        """The name on the envelope: the recipient, and who hands it on when reached via someone."""
        return f"{self.name}（经{self.via_name}转交）" if self.via_name else self.name

    @property
    def reachable(self) -> bool:
        """Has an address or a channel: a message to it reaches a person."""
        return bool(self.email or self.channels)

    @field_validator("channels")
    @classmethod
    def _no_literal_secrets(cls, channels: list[str]) -> list[str]:
        for url in channels:
            if "://" not in url and not url.startswith("outbox:"):
                raise ValueError(
                    f"渠道地址格式有误：{redact(url)}（应为 apprise 地址或 outbox:///目录）"
                )
            part = _literal_secret(url)
            if part:
                raise ValueError(
                    f"渠道地址 {redact(url)} 含明文{part}：请改用 {{env:变量名}} 或 {{secret:密钥块名}}，"
                    "密钥不得写入配置或数据库"
                )
        return channels

    # constructors from the campaign's records ---------------------------------------------------
    @classmethod
    def for_recommending_unit(
        cls, unit: orm.RecommendingUnit, *, mail_server: str | None = None
    ) -> Recipient:
        return cls(
            key=f"ru:{unit.code}",
            name=unit.name,
            kind=RecipientKind.recommending_unit,
            email=unit.email,
            channels=_with_mail(list(unit.channels or []), unit.email, mail_server),
        )

    @classmethod
    def for_project_person(
        cls, person: orm.ProjectPerson, *, mail_server: str | None = None
    ) -> Recipient:
        """A project person at their own address, else through their project's lead (项目负责人,
        else 质量负责人) or the recommending unit's contact, the message saying whom it is for;
        with no route at all, a recipient without address (recorded as 无法送达)."""
        email, via_name = person.email, ""
        if not email:
            email, via_name = _relay(person)
        return cls(
            key=f"person:{person.person_key}",
            name=person.name,
            kind=RecipientKind.project_person,
            email=email,
            channels=_with_mail([], email, mail_server),
            via_name=via_name,
            forward_note=f"{person.name}（{person.role}）" if via_name else "",
        )

    @classmethod
    def for_expert(cls, expert: orm.Expert, *, mail_server: str | None = None) -> Recipient:
        return cls(
            key=f"expert:{expert.key}",
            name=expert.name,
            kind=RecipientKind.expert,
            email=expert.email,
            channels=_with_mail([], expert.email, mail_server),
        )

    @classmethod
    def staff(
        cls, *, name: str = "质量攻关工作组", email: str = "", channels: list[str] | None = None
    ) -> Recipient:
        return cls(
            key="staff", name=name, kind=RecipientKind.staff, email=email, channels=channels or []
        )


def _relay(person: orm.ProjectPerson) -> tuple[str, str]:
    """(address, who) of the person who hands a message on to `person`: the project's lead,
    else its quality lead, else the recommending unit's contact; ("", "") when nobody."""
    app = person.application
    people = list(app.people) if app is not None else []
    for role in LEAD_ROLES:
        for other in people:
            if other.role == role and other.email and other.id != person.id:
                return other.email, f"{other.name}（{role}）"
    unit = app.recommending_unit if app is not None else None
    if unit is not None and unit.email:
        contact = unit.contact or "联系人"
        return unit.email, f"{unit.name}{contact}"
    return "", ""


def mail_channel(mail_server: str, email: str) -> str:
    """A ``mailto``/``mailtos`` server URL (with placeholders) addressed to `email`.

    `mail_server` is e.g. ``mailtos://{env:QCAMP_SMTP_USER}:{env:QCAMP_SMTP_PASSWORD}@smtp.tj.gov.cn
    ?from=scjgzlfzc@tj.gov.cn&name=质量发展处``.
    """
    sep = "&" if "?" in mail_server else "?"
    return f"{mail_server}{sep}to={quote(email, safe='@')}"


def _with_mail(channels: list[str], email: str, mail_server: str | None) -> list[str]:
    if mail_server and email and not any(c.startswith(("mailto", "mailtos")) for c in channels):
        channels.append(mail_channel(mail_server, email))
    return channels


def safe_key(key: str) -> str:
    """A recipient key usable in a file name ("ru:DEPT01" -> "ru-DEPT01")."""
    return re.sub(r"[^\w.\-]+", "-", key, flags=re.UNICODE).strip("-.") or "recipient"
