"""The campaign's mail setting (邮件设置): the one mail server URL every recipient with an address
is written through, whether mass mail waits for staff to release it, and the staff list
(工作人员名单) that gets the daily digest. The `[messages]` section of the year's config."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MAILBOX = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
_PLACEHOLDER = re.compile(r"\{(env|secret):[A-Za-z0-9_.\-/]+\}")
_LITERAL_PASSWORD = re.compile(r"^[a-z]+://[^/@?]*:[^/@?]+@", re.I)


def mail_url_problem(url: str) -> str | None:
    """What is wrong with a mail server URL (Chinese, with the fix), or None."""
    if not url.lower().startswith(("mailto://", "mailtos://")):
        return (
            "应为 apprise 邮件地址 mailto://… 或 mailtos://…，"
            "如 mailtos://{env:QCAMP_SMTP_USER}:{env:QCAMP_SMTP_PASSWORD}@smtp.example.cn"
        )
    if _LITERAL_PASSWORD.match(_PLACEHOLDER.sub("PLACEHOLDER", url).replace(":PLACEHOLDER@", "@")):
        return "含明文密码：请改用 {env:变量名} 或 {secret:密钥块名}，密钥不得写入配置文件"
    return None


class StaffMember(BaseModel):
    """工作人员: one member of the campaign staff, with the mailbox the digest goes to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    email: str

    @field_validator("email")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        value = value.strip()
        if not _MAILBOX.fullmatch(value):
            raise ValueError(f"“{value}”不是有效的邮箱地址，请写成 zhangsan@tj.gov.cn 这样的格式")
        return value


class MessagesConfig(BaseModel):
    """`[messages]`: how the campaign's messages reach people."""

    model_config = ConfigDict(extra="forbid")

    # apprise mailto:// or mailtos:// URL of the SMTP server; "" writes .eml files to the outbox
    mail_url: str = ""
    # 征集通知, 公示 and 公布 wait (held) until staff release them
    hold_mass_mail: bool = True
    staff: list[StaffMember] = Field(default_factory=list)

    @field_validator("mail_url")
    @classmethod
    def _mail_url(cls, value: str) -> str:
        value = value.strip()
        problem = mail_url_problem(value) if value else None
        if problem:
            raise ValueError(f"邮件服务器地址有误：{problem}")
        return value
