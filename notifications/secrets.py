"""Secret placeholders in channel URLs, and redaction of anything that may carry a secret.

Channel URLs are stored in the database exactly as configured, with placeholders instead of
credentials; the placeholders are resolved only in memory, at send time:

* ``{env:NAME}``    the environment variable NAME (e.g. ``{env:QCAMP_SMTP_PASSWORD}``);
* ``{secret:name}`` the Prefect Secret block ``name`` (loaded lazily, once per delivery run, by
  the loader the Prefect layer installs with `set_secret_loader`: `tasks.secrets`).

A placeholder that is the whole URL is replaced verbatim (a complete URL kept in a secret);
a placeholder inside a URL is percent-quoted so that passwords with ``@``, ``/`` or ``:`` do not
break the URL.

`redact` removes passwords, tokens and any resolved secret value from a URL or a text before
it is logged or stored (errors are stored in ``NotificationRecord.last_error``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{(env|secret):([A-Za-z0-9_.\-/]+)\}")

MASK = "***"


class SecretError(RuntimeError):
    """A placeholder cannot be resolved (the message names it, never its value)."""


def _no_secret_store(name: str) -> str:
    raise SecretError(
        f"无法读取密钥块 {name!r}：本进程没有配置密钥存储（{{secret:…}} 由 Prefect 密钥块提供，"
        "请在 Prefect 流程中发送，或改用 {env:变量名}）"
    )


_secret_loader: Callable[[str], str] = _no_secret_store


def set_secret_loader(loader: Callable[[str], str]) -> None:
    """Install how ``{secret:name}`` placeholders are loaded (the Prefect layer installs Prefect's
    Secret blocks; this package knows nothing of Prefect)."""
    global _secret_loader
    _secret_loader = loader


class SecretResolver:
    """Resolves placeholders; remembers every value it produced so that it can redact them."""

    def __init__(self, secret_loader: Callable[[str], str] | None = None) -> None:
        self._load_secret = secret_loader or _secret_loader
        self._cache: dict[tuple[str, str], str] = {}

    @property
    def values(self) -> list[str]:
        return [v for v in self._cache.values() if v]

    def _value(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self._cache:
            if kind == "env":
                value = os.environ.get(name)
                if value is None:
                    raise SecretError(f"未设置环境变量 {name}（渠道地址中的 {{env:{name}}}）")
            else:
                value = self._load_secret(name)
            self._cache[key] = value
        return self._cache[key]

    def resolve(self, url: str) -> str:
        whole = PLACEHOLDER.fullmatch(url.strip())
        if whole:
            return self._value(whole.group(1), whole.group(2))
        return PLACEHOLDER.sub(lambda m: quote(self._value(m.group(1), m.group(2)), safe=""), url)

    def redact(self, text: str) -> str:
        return redact(text, secrets=self.values)


def has_placeholder(url: str) -> bool:
    return bool(PLACEHOLDER.search(url))


# Services whose URL host/path *is* the credential (bot keys, access tokens).
TOKEN_SCHEMES = frozenset(
    {
        "wecombot",
        "dingtalk",
        "feishu",
        "lark",
        "tgram",
        "discord",
        "slack",
        "msteams",
        "pushplus",
        "serverchan",
        "schan",
        "bark",
        "barks",
        "ntfy",
        "ntfys",
        "gchat",
        "apprise",
        "apprises",
    }
)

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>[^\s\"'<>]*)")
_SECRET_PARAMS = re.compile(
    r"(?P<k>(?:^|[?&;])(?:pass|password|passwd|pwd|token|access_token|secret|apikey|api_key|"
    r"key|botkey|auth|signature|sign)=)(?P<v>[^&#\s]*)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)\S+")
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9_\-]{32,}(?![A-Za-z0-9])")


def _redact_url(match: re.Match[str]) -> str:
    scheme = match.group("scheme")
    rest = match.group("rest")
    if scheme.lower() == "outbox":
        return match.group(0)
    if scheme.lower() in TOKEN_SCHEMES:
        # Keep the query (options), drop the host/path: it is the credential.
        query = rest.split("?", 1)[1] if "?" in rest else ""
        rest = MASK + (
            f"?{_SECRET_PARAMS.sub(lambda m: m.group('k') + MASK, query)}" if query else ""
        )
        return f"{scheme}://{rest}"
    path_start = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:path_start], rest[path_start:]
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            user, password = userinfo.split(":", 1)
            if not re.fullmatch(r"\x00\d+\x00", password):  # a kept placeholder
                password = MASK
            userinfo = f"{user}:{password}"
        netloc = f"{userinfo}@{host}"
    if "?" in tail:
        path, query = tail.split("?", 1)
        tail = path + "?" + _SECRET_PARAMS.sub(lambda m: m.group("k") + MASK, query)
    tail = _LONG_TOKEN.sub(MASK, tail)
    return f"{scheme}://{netloc}{tail}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` (a URL, an error message, a log line) with credentials replaced by ``***``.

    Removes: the password of ``user:password@host``; ``pass=``/``token=``/``key=``-style query
    values; the whole host/path of bot-key services (``wecombot://``, ``dingtalk://`` …); bearer
    and basic authorisation headers; very long opaque tokens in URL paths; and every value in
    `secrets` (the values resolved from placeholders in this run), wherever it appears.
    Placeholders such as ``{env:NAME}`` are not secrets and are kept.
    """
    out = text
    for value in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        out = out.replace(value, MASK)
        quoted = quote(value, safe="")
        if quoted != value:
            out = out.replace(quoted, MASK)
    # Placeholders name secrets without containing them: keep them readable.
    kept: list[str] = []

    def _keep(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    out = PLACEHOLDER.sub(_keep, out)
    out = _URL.sub(_redact_url, out)
    out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], out)
