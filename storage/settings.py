"""Configuration from the environment (prefix QCAMP_)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QCAMP_", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'qcamp.sqlite'}"
    # The database password apart from the URL (QCAMP_DATABASE_PASSWORD): any characters, no
    # URL escaping; it replaces a password in the URL.
    database_password: str | None = None
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

    @model_validator(mode="after")
    def _password_into_url(self) -> Settings:
        if self.database_password and "://" in self.database_url:
            from sqlalchemy.engine import make_url

            url = make_url(self.database_url).set(password=self.database_password)
            self.database_url = url.render_as_string(hide_password=False)
        return self


def get_settings() -> Settings:
    """The settings for the environment as it is now (cached per QCAMP_* environment)."""
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("QCAMP_")))
    return _settings_for(key)


@functools.lru_cache(maxsize=32)
def _settings_for(_environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()
