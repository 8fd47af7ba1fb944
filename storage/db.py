"""Engines, sessions and schema upgrades."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.settings import PROJECT_ROOT, get_settings

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


DATABASE_URL_HELP = (
    "请把环境变量 QCAMP_DATABASE_URL 设为可用的数据库地址，如 "
    "postgresql://用户名@主机:5432/数据库名 或 sqlite:////绝对路径/qcamp.sqlite；"
    "不设置则使用项目目录下的 var/qcamp.sqlite"
)


class DatabaseUnusable(RuntimeError):
    """QCAMP_DATABASE_URL names no database this program can use (the message is Chinese)."""


def _shown(url: str) -> str:
    """The URL without its password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, sep, credentials = head.partition("://")
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}@{tail}"


def normalise_url(url: str) -> str:
    """Accept `postgresql://` URLs and route them through psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@functools.cache
def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg://")):
        raise DatabaseUnusable(
            f"QCAMP_DATABASE_URL 的值“{_shown(url)}”不是支持的数据库地址（只支持 PostgreSQL 和 SQLite）。"
            + DATABASE_URL_HELP
        )
    try:
        return _create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError, OSError) as exc:
        raise DatabaseUnusable(
            f"QCAMP_DATABASE_URL 的值“{_shown(url)}”无法使用（{exc}）。" + DATABASE_URL_HELP
        ) from exc


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def is_retryable(error: BaseException) -> bool:
    """Whether an error is the database's, not the input's: unreachable, locked, gone away, or
    a write that collided with another run's (a unique key taken meanwhile). Worth a retry,
    never a reason to refuse what was being stored. A database error reported as another run's
    work (`storage.locks.RunInProgress`, raised from the unique-key error) counts too."""
    if error.__cause__ is not None and is_retryable(error.__cause__):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.IntegrityError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,
    )


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


@functools.cache
def _sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


def session_factory() -> sessionmaker[Session]:
    return _sessionmaker(get_settings().database_url)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url or get_settings().database_url))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """`qcamp db upgrade`: bring the schema to the newest migration."""
    url = normalise_url(url or get_settings().database_url)
    engine_for(url)  # creates the SQLite folder
    try:
        command.upgrade(alembic_config(url), revision)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0] if (exc.orig or exc) else ""
        raise DatabaseUnusable(
            f"无法连接或打开数据库 {_shown(url)}（{reason}）。请确认数据库服务已启动、"
            f"地址和用户名正确、文件所在目录可写；{DATABASE_URL_HELP}"
        ) from exc


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine_for(normalise_url(url or get_settings().database_url)).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def row_counts(url: str | None = None) -> dict[str, int]:
    """Rows per table of the campaign's database (the ORM's tables, alembic's own left out)."""
    from sqlalchemy import func, select

    from storage.orm import Base

    engine = engine_for(normalise_url(url)) if url else get_engine()
    with engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
        }
