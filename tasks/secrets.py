"""``{secret:name}`` placeholders in channel URLs are Prefect Secret blocks: installed here, in
the Prefect layer, as the notifications' secret loader."""

from __future__ import annotations

from notifications.secrets import SecretError, set_secret_loader


def prefect_secret(name: str) -> str:
    """The value of the Prefect Secret block `name`."""
    from prefect.blocks.system import Secret  # lazy: importing Prefect blocks is slow

    try:
        value = Secret.load(name).get()  # type: ignore[union-attr]
    except Exception as exc:  # noqa: BLE001 - Prefect raises many kinds; report uniformly
        raise SecretError(f"无法读取 Prefect 密钥块 {name!r}：{type(exc).__name__}") from None
    return value if isinstance(value, str) else str(value)


set_secret_loader(prefect_secret)
