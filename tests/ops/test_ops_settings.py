"""Operations settings: the database password apart from the URL, and .env kept out of git."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
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


def test_compose_derives_the_ui_address_from_the_port_and_writes_no_password_into_a_url() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    server = compose["services"]["prefect-server"]["environment"]
    assert "${PREFECT_PORT:-4200}" in server["PREFECT_UI_API_URL"]
    assert server["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert server["PREFECT_SERVER_DATABASE_PASSWORD"] == "${POSTGRES_PASSWORD}"
    app = compose["services"]["qcamp"]["environment"]
    assert app["QCAMP_DATABASE_PASSWORD"] == "${POSTGRES_PASSWORD}"
    for env in (server, app):
        for value in env.values():
            if "://" in str(value):
                assert "PASSWORD" not in str(value), value
