"""Configuration from the environment (prefix QCAMP_)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QCAMP_", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'qcamp.sqlite'}"
    config_dir: Path = PROJECT_ROOT / "config"
    out_dir: Path = PROJECT_ROOT / "out"
    # When set, this campaign's documents go straight here instead of out_dir/<year> (the demo).
    campaign_dir: Path | None = None
    # Where the demo's and trial runs' messages go when a recipient has no channel of its own.
    outbox_dir: Path | None = None
    # Certificates also as PDF, where LibreOffice is installed (one soffice run per publication).
    certificate_pdf: bool = True
    # The mail setting for every recipient with an address (apprise mailto:// or mailtos://,
    # secrets as {env:…}/{secret:…}); overrides `[messages] mail_url` of the year's config.
    mail_url: str | None = None
    # Overrides `[messages] hold_mass_mail` (the demo turns it off).
    hold_mass_mail: bool | None = None


def get_settings() -> Settings:
    """The settings for the environment as it is now (cached per QCAMP_* environment)."""
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("QCAMP_")))
    return _settings_for(key)


@functools.lru_cache(maxsize=32)
def _settings_for(_environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()
