"""The migrations are the schema: `qcamp db upgrade` builds exactly what the ORM describes, on
SQLite and on PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from typer.testing import CliRunner

from deployments.cli import app
from storage.db import alembic_config, current_revision


def test_upgraded_database_matches_the_tables_in_code(database: str) -> None:
    command.check(alembic_config(database))  # raises when autogenerate would find a difference
    assert current_revision(database) is not None


def test_db_upgrade_command_reports_the_revision(database: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "数据库已升级到版本" in result.output
