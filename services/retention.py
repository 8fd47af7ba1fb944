"""How long Prefect's run history is kept (运行记录保留期限): the window of the maintenance flow.

The window is installation-wide, not per campaign year: `QCAMP_PREFECT_RETENTION_DAYS` wins,
else `[maintenance] retention_days` in `config/maintenance.toml`, else 400 days (a year's runs
plus a margin, so last year's runs stay visible while this year's campaign is planned).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

DEFAULT_RETENTION_DAYS = 400
ENV_RETENTION_DAYS = "QCAMP_PREFECT_RETENTION_DAYS"
CONFIG_FILE = "maintenance.toml"


class RetentionConfigError(ValueError):
    """A retention window that is not a whole number of days ≥ 1 (Chinese message)."""


def _checked(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RetentionConfigError(
            f"{where}：保留天数应为不小于 1 的整数（如 400），当前为 {value!r}"
        )
    try:
        days = int(value)
    except ValueError:
        raise RetentionConfigError(
            f"{where}：保留天数应为不小于 1 的整数（如 400），当前为 {value!r}"
        ) from None
    if days < 1:
        raise RetentionConfigError(f"{where}：保留天数应不小于 1，当前为 {days}；请改为如 400")
    return days


def retention_days(config_dir: Path, environ: dict[str, str] | None = None) -> int:
    """The configured window in days (environment, then config file, then 400)."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(ENV_RETENTION_DAYS, "").strip():
        return _checked(environ[ENV_RETENTION_DAYS].strip(), f"环境变量 {ENV_RETENTION_DAYS}")
    path = config_dir / CONFIG_FILE
    if not path.exists():
        return DEFAULT_RETENTION_DAYS
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RetentionConfigError(f"配置文件 {path} 不是有效的 TOML：{exc}；请修正格式") from None
    value = (raw.get("maintenance") or {}).get("retention_days", DEFAULT_RETENTION_DAYS)
    return _checked(value, f"配置文件 {path} 的 [maintenance] retention_days")
