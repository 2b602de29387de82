"""Set-based SQL of the register writes (批量写入): one executemany ``INSERT`` of many rows.

``insert_rows`` sends exactly the parameters SQLAlchemy would send for ``session.execute(insert(table),
rows)``, the statement SQLAlchemy compiles for the session's dialect, converted by the same bind
processors of the column types (dates, UTC timestamps, JSON, booleans). On SQLite it converts them
column by column — a column holding one value in every row (the recording instant, the source, the
actor) is converted once — and hands the tuples to the driver's ``executemany``: SQLAlchemy's own
per-row, per-parameter conversion costs about as much as SQLite's insert itself (measured in
bench/registry_bulk.py). Other dialects (PostgreSQL) take SQLAlchemy's own path (its
``insertmanyvalues`` batching), unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@lru_cache(maxsize=64)
def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> tuple[str, list[tuple[int, Any]]] | None:
    """The compiled statement and, in its parameter order, (position in ``keys``, bind processor or
    None); None when the statement's parameters are not exactly ``keys``."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = compiled.positiontup if compiled.positional else None
    if order is None or sorted(order) != sorted(keys):
        return None
    return compiled.string, [
        (keys.index(k), table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in order
    ]


def insert_rows(session: Session, table: Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` into ``table`` with one executemany statement (see the module docstring).

    keys: the column keys; rows: one sequence of Python values per row, in the order of ``keys``.
    A single row, or a statement needing parameters beyond ``keys`` (Python-side column defaults),
    takes SQLAlchemy's own path."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    plan = _plan(table, tuple(keys), dialect) if len(rows) > 1 and dialect.name == "sqlite" else None
    if plan is None:
        conn.execute(insert(table), [dict(zip(keys, r, strict=True)) for r in rows])
        return
    statement, order = plan
    columns = list(zip(*rows, strict=True))
    params: list[Sequence[Any]] = []
    for at, process in order:
        values: Sequence[Any] = columns[at]
        if process is not None:
            first = values[0]
            if all(v is first for v in values):
                values = [process(first)] * len(values)  # one value in every row: converted once
            else:
                values = list(map(process, values))
        params.append(values)
    form = dialect.execute_sequence_format
    conn.exec_driver_sql(statement, [form(p) for p in zip(*params, strict=True)])


__all__ = ["insert_rows"]
