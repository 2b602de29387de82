"""The CLI during the first `make run` (issue 6): another process holding the SQLite write lock is
"数据库正忙", a one-line user error (exit 2), not an internal error with a traceback file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from zhizhi.cli import DATABASE_BUSY, run, user_error_message


def locked_error(tmp_path: Path) -> sqlite3.OperationalError:
    """SQLite's own "database is locked", made by writing while another connection holds the lock."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as e:
        return e
    finally:
        other.close()
        holder.execute("ROLLBACK")
        holder.close()
    raise AssertionError("the database was not locked")


def test_a_locked_database_is_a_clear_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIZHI_DATA_DIR", str(tmp_path / "data"))
    raw = locked_error(tmp_path)
    assert str(raw) == "database is locked"
    wrapped = OperationalError("INSERT INTO t VALUES (1)", {}, raw)
    for e in (raw, wrapped):
        assert user_error_message(e) == DATABASE_BUSY

        def body(e: BaseException = e) -> None:
            raise e

        with pytest.raises(typer.Exit) as ei:
            run(body)
        assert ei.value.exit_code == 2
        assert capsys.readouterr().err == f"error: {DATABASE_BUSY}\n"
    assert DATABASE_BUSY.startswith("数据库正忙（首次启动正在载入数据），请稍后重试")
    assert not (tmp_path / "data").exists()  # no traceback file: nothing went wrong inside


def test_a_real_lock_through_sqlalchemy_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "busy2.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(OperationalError) as ei, engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (1)"))
        assert user_error_message(ei.value) == DATABASE_BUSY
        other = OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error"))
        assert user_error_message(other) is None  # other database failures stay internal errors
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
