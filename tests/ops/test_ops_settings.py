"""Operations settings: the database password apart from the URL, and .env kept out of git."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.settings import get_settings

REPO = Path(__file__).resolve().parents[2]


def test_a_password_with_url_characters_reaches_the_database_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = "p@ss:w/rd%#?&="
    monkeypatch.setenv("QCAMP_DATABASE_URL", "postgresql://qcamp@postgres:5432/qcamp")
    monkeypatch.setenv("QCAMP_DATABASE_PASSWORD", raw)
    url = make_url(get_settings().database_url)
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "qcamp",
        raw,
        "postgres",
        5432,
        "qcamp",
    )


def test_env_file_is_ignored_by_git() -> None:
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored
