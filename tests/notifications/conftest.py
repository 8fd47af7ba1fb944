"""Fixtures: a database (SQLite in tmp, or QCAMP_TEST_DATABASE_URL), a real SMTP server
(aiosmtpd on 127.0.0.1) and a real HTTP webhook receiver. No mocks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from notifications_testkit import SmtpSink, WebhookSink
from sqlalchemy.orm import Session, sessionmaker

from storage import orm
from storage.db import engine_for, normalise_url

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


# -- database ------------------------------------------------------------------------------------
@pytest.fixture
def db_url(database: str) -> str:
    """The shared `database` fixture: SQLite, or PostgreSQL with QCAMP_TEST_DB=postgres."""
    return normalise_url(database)


@pytest.fixture
def session_factory(db_url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(db_url), expire_on_commit=False)


@pytest.fixture
def campaign_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        c = orm.Campaign(year=2099, title="2099年天津市质量攻关（测试）", config={})
        s.add(c)
        s.commit()
        return c.id


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink


# -- campaign facts --------------------------------------------------------------------------------
@pytest.fixture
def base_context() -> dict[str, Any]:
    return {
        "campaign_title": "2025年天津市质量攻关",
        "year": 2025,
        "issuer": "天津市市场监督管理委员会",
        "department": "质量发展处",
        "contact": "郭丽坤 陈莹",
        "phone": "27182036 58950677",
        "email": "scjgzlfzc@tj.gov.cn",
        "application_deadline": dt.datetime(2025, 4, 20, 23, 59, 59, tzinfo=SHANGHAI),
        "results_deadline": dt.datetime(2025, 9, 30, 23, 59, 59, tzinfo=SHANGHAI),
        "plan_published": dt.datetime(2025, 5, 15, 9, 0, tzinfo=SHANGHAI),
        "scores_due": dt.datetime(2025, 10, 24, 18, 0, tzinfo=SHANGHAI),
    }
