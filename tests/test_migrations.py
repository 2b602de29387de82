"""Migrations (Alembic): one head, a database migrated to head matches the models exactly (no
autogenerate drift) on the test engine's dialect, and the chain goes down to base and up again."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from zhizhi.core.db import Base, make_engine
from zhizhi.core.migrate import alembic_config, upgrade
from zhizhi.models import import_all

import_all()


def _drift(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(mc, Base.metadata))


def test_one_head(engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    assert len(script.get_heads()) == 1
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(script.get_heads())


def test_head_matches_the_models(engine: Engine) -> None:
    """The test database (migrated to head by conftest) on its own dialect: SQLite or PostgreSQL."""
    assert _drift(engine) == []
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)


def test_fresh_sqlite_down_to_base_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    eng = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        upgrade(eng)
        assert _drift(eng) == []
        cfg = alembic_config(eng.url.render_as_string(hide_password=False))
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
        upgrade(eng)
        assert _drift(eng) == []
    finally:
        eng.dispose()
