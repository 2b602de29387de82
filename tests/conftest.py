"""Test fixtures: one migrated database per run (SQLite file, or PostgreSQL when
ZHIZHI_TEST_DATABASE_URL is set), Yongchuan loaded once, event tables emptied after every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core.config import get_settings
from zhizhi.core.db import make_engine, session_factory
from zhizhi.core.migrate import upgrade

EVENT_TABLES = (
    "event_step",
    "event_attachment",
    "supervision",
    "merge_proposal",
    "event_task",
    "preplan",
    "routing_rule",
    "job_run",
    "event",
)


def _reset_postgres(url: str) -> None:
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("ZHIZHI_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    os.environ["ZHIZHI_DATABASE_URL"] = db_url
    os.environ["ZHIZHI_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    os.environ["ZHIZHI_SWEEP_INTERVAL_S"] = "0"  # tests run the sweep themselves, at chosen times
    os.environ["ZHIZHI_TRUST_USER_HEADER"] = "1"  # tests act as demo staff through X-Zhizhi-User
    get_settings.cache_clear()
    eng = make_engine(db_url)
    upgrade(eng)
    from zhizhi.org import service as org

    with session_factory(eng)() as s:
        org.load_district(s, "500118")
        s.commit()
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _clean_events(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as c:
        for t in EVENT_TABLES:
            c.execute(text(f"DELETE FROM {t}"))
    from zhizhi.event.service import invalidate_routing

    invalidate_routing()  # routing rules were deleted behind the router cache


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    s = session_factory(engine)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    from zhizhi.app import create_app

    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        yield c


def as_user(username: str) -> dict[str, str]:
    """Headers acting as a demo staff member."""
    return {"X-Zhizhi-User": username}


REPO = Path(__file__).resolve().parents[1]
