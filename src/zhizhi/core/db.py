"""Database (数据库): declarative Base with a naming convention, engine and session factory.

SQLite is the embedded default, PostgreSQL the production backend; only portable column types are
used. Services ``flush``; the request (or CLI command) commits or rolls back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from zhizhi.core.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names follow :data:`NAMING`."""

    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (only power loss can drop the last commits).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for ``url`` (default: settings). Creates the SQLite file's folder."""
    url = url or get_settings().database_url
    # hide_parameters: errors and logs never carry row values (reporter names, phones)
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured URL."""
    return make_engine()


@lru_cache
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (default: :func:`get_engine`)."""
    return _factory(engine or get_engine())


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (UTC), on SQLite and PostgreSQL.

    Binding a naive datetime raises ValueError: callers convert at the edges (core.time.to_utc).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_WRITE_LOCKS: dict[str, threading.Lock] = {}


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """Serialise writers inside this process on SQLite (one lock per database file).

    SQLite allows one writer at a time; without this, concurrent request threads wait in SQLite's
    busy handler, which sleeps in steps of up to 100 ms. A Python lock wakes the next writer at once.
    PostgreSQL needs no such lock: a null context is returned.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    lock = _WRITE_LOCKS.get(key)
    if lock is None:
        lock = _WRITE_LOCKS.setdefault(key, threading.Lock())
    return lock
