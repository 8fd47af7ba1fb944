from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from notifications.recipients import Recipient, RecipientKind, mail_channel, safe_key
from notifications.secrets import SecretError, SecretResolver, redact


def test_redact_urls_and_texts() -> None:
    assert (
        redact("mailtos://bot:hunter2@smtp.tj.gov.cn:465?to=a@b.cn&pass=xyz")
        == "mailtos://bot:***@smtp.tj.gov.cn:465?to=a@b.cn&pass=***"
    )
    assert redact("wecombot://0123456789abcdef0123/?format=text") == "wecombot://***?format=text"
    assert redact("发送失败 dingtalk://sec@token12345/13800000000") == "发送失败 dingtalk://***"
    assert (
        redact("json://127.0.0.1:8080/hook?token=abc&x=1")
        == "json://127.0.0.1:8080/hook?token=***&x=1"
    )
    assert redact("Authorization: Bearer eyJhbGciOi") == "Authorization: Bearer ***"
    # placeholders are names, not secrets
    url = "mailtos://{env:QCAMP_SMTP_USER}:{env:QCAMP_SMTP_PASSWORD}@smtp.example.com"
    assert redact(url) == url
    # any value resolved in this run disappears from any text
    assert (
        redact("535 auth failed for p@ss/word!", secrets=["p@ss/word!"])
        == "535 auth failed for ***"
    )


def test_resolver_env_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCAMP_T_USER", "qcamp")
    monkeypatch.setenv("QCAMP_T_PASS", "p@ss/w:rd")
    r = SecretResolver()
    resolved = r.resolve("mailtos://{env:QCAMP_T_USER}:{env:QCAMP_T_PASS}@smtp.example.com")
    assert resolved == "mailtos://qcamp:p%40ss%2Fw%3Ard@smtp.example.com"
    # values resolved from placeholders (user names too) are masked wherever they appear
    assert r.redact(f"error at {resolved}") == "error at mailtos://***:***@smtp.example.com"
    monkeypatch.setenv("QCAMP_T_URL", "json://hooks.example.com/abc")
    assert r.resolve("{env:QCAMP_T_URL}") == "json://hooks.example.com/abc"  # whole URL verbatim
    with pytest.raises(SecretError, match="QCAMP_T_MISSING"):
        r.resolve("json://{env:QCAMP_T_MISSING}@x")


def test_resolver_secret_blocks_are_loaded_lazily_once() -> None:
    calls: list[str] = []

    def load(name: str) -> str:  # stands in for Prefect's Secret.load(name).get()
        calls.append(name)
        return "tok-" + name

    r = SecretResolver(secret_loader=load)
    assert calls == []
    assert r.resolve("wecombot://{secret:wecom-key}") == "wecombot://tok-wecom-key"
    r.resolve("wecombot://{secret:wecom-key}")
    assert calls == ["wecom-key"]


def test_recipient_rejects_literal_secrets() -> None:
    ok = Recipient(
        key="ru:DEPT01",
        name="天津市工业和信息化局",
        kind=RecipientKind.recommending_unit,
        channels=["mailtos://{env:U}:{env:P}@smtp.example.com?to=a@b.cn", "outbox:///tmp/x"],
    )
    assert ok.kind == "recommending_unit"
    with pytest.raises(ValidationError, match="明文"):
        Recipient(
            key="ru:X",
            name="x",
            kind="recommending_unit",
            channels=["mailtos://user:hunter2@smtp.example.com"],
        )
    with pytest.raises(ValidationError, match="明文"):
        Recipient(key="ru:X", name="x", kind="staff", channels=["json://h/x?token=abc"])
    with pytest.raises(ValidationError):
        Recipient(key="ru:X", name="x", kind="nobody")


def test_mail_channel_and_safe_key() -> None:
    server = "mailtos://{env:U}:{env:P}@smtp.example.com?from=zlfzc@tj.gov.cn"
    assert mail_channel(server, "a@b.cn") == server + "&to=a@b.cn"
    assert safe_key("ru:DEPT01") == "ru-DEPT01"
    assert safe_key("person:张三/138") == "person-张三-138"


def test_chat_channel_urls_are_understood_by_apprise(monkeypatch: pytest.MonkeyPatch) -> None:
    import apprise

    monkeypatch.setenv("QCAMP_T_WECOM", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("QCAMP_T_DING_TOKEN", "a" * 64)
    r = SecretResolver()
    for url in ("wecombot://{env:QCAMP_T_WECOM}", "dingtalk://{env:QCAMP_T_DING_TOKEN}/"):
        plugin = apprise.Apprise.instantiate(r.resolve(url))
        assert plugin is not None, url
        assert "0123456789abcdef0123456789abcdef" not in r.redact(f"failed: {r.resolve(url)}")


@pytest.mark.skipif(
    not os.environ.get("QCAMP_TEST_PREFECT"),
    reason="starts a temporary Prefect server (~45 s); set QCAMP_TEST_PREFECT=1",
)
def test_prefect_secret_block_placeholder() -> None:
    from prefect.blocks.system import Secret
    from prefect.testing.utilities import prefect_test_harness

    import tasks.secrets  # noqa: F401 - installs the Prefect loader, as delivery does

    with prefect_test_harness(server_startup_timeout=120):
        Secret(value="wk-0123456789").save("qcamp-test-wecom", overwrite=True)
        r = SecretResolver()
        assert r.resolve("wecombot://{secret:qcamp-test-wecom}") == "wecombot://wk-0123456789"
        assert r.redact("key wk-0123456789 rejected") == "key *** rejected"
