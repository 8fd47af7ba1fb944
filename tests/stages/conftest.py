"""A fresh SQLite database and output folder per test; the Prefect test harness per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from storage.db import get_engine, upgrade
from storage.orm import Base


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def campaign_db(prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tasks called outside a flow still talk to a Prefect API: the harness's."""
    monkeypatch.setenv("QCAMP_DATABASE_URL", f"sqlite:///{tmp_path / 'qcamp.sqlite'}")
    monkeypatch.setenv("QCAMP_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("QCAMP_OUTBOX_DIR", str(tmp_path / "outbox"))
    upgrade()
    # Tables appended to storage/orm.py after the last migration (none of ours so far).
    Base.metadata.create_all(get_engine())
    return tmp_path
