"""Appending to the audit log (写审计记录): checks, the chain lock and :func:`record`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from zhizhi.core.audit.canonical import GENESIS, HASHED_FIELDS, canonical_json, chain_hash, format_at
from zhizhi.core.audit.models import AuditRow
from zhizhi.core.time import utcnow

LOCK_KEY = 1032089305692180660
"""PostgreSQL advisory-lock key of the chain head: the first 8 bytes of SHA-256("zhizhi.audit_log")
as a signed big-endian integer. Only :func:`record` takes it."""


def _check_text(name: str, value: str | None, limit: int | None, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ValueError(f"audit {name} is required")
        return
    if not isinstance(value, str):
        raise ValueError(f"audit {name} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ValueError(f"audit {name} is empty")
    if limit is not None and len(value) > limit:
        raise ValueError(f"audit {name} is longer than {limit} characters")
    if "\x00" in value:
        raise ValueError(f"audit {name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"audit {name} holds a lone surrogate, which is not UTF-8") from None


def _check_detail(value: Any, path: str) -> None:
    """Refuse what would not survive a round trip through both databases unchanged."""
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        _check_text(path, value, None)
    elif isinstance(value, float):
        raise ValueError(f"audit {path} is a float; pass decimals as strings")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_detail(v, f"{path}[{i}]")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"audit {path} has a non-string key {k!r}")
            _check_text(f"{path} key", k, None)
            _check_detail(v, f"{path}.{k}")
    else:
        raise ValueError(f"audit {path} holds a {type(value).__name__}, which is not JSON")


def _lock_head(session: Session) -> None:
    """Make this transaction the only appender until it ends, and let it see the newest head.

    PostgreSQL: a transaction-level advisory lock (released by COMMIT/ROLLBACK); at READ COMMITTED
    the next statement's snapshot then includes the previous appender's committed row.
    SQLite: a write that inserts nothing. Any write takes the database's single write lock (RESERVED
    lock, or the WAL write lock) until the transaction ends, and pysqlite issues ``BEGIN`` before it;
    in WAL mode a transaction can only start writing from the newest snapshot (otherwise SQLite
    refuses with SQLITE_BUSY_SNAPSHOT), so the head read after it is current. An INSERT is used, not
    UPDATE or DELETE, so it runs under append-only privileges or triggers.
    Other dialects: no lock; the primary key and the unique ``prev_hash`` turn a race into an error.
    """
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(text("INSERT INTO audit_log (id) SELECT NULL WHERE 0"))
        raw = session.connection().connection.driver_connection
        if raw is not None and not raw.in_transaction:  # an AUTOCOMMIT engine would drop the lock
            raise RuntimeError("the audit chain lock needs a transaction; the SQLite connection has none")


def record(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    scope: str | None = None,
    reason: str | None = None,
    client: str | None = None,
    detail: Any = None,
    at: datetime | None = None,
) -> AuditRow:
    """Append one row to the audit log (写审计记录) and flush it; the caller commits.

    Takes the chain lock (:func:`_lock_head`), reads the last row, and inserts the new row with
    ``id = last id + 1``, ``prev_hash = last hash`` (:data:`GENESIS` on an empty log) and
    ``hash = chain_hash(prev_hash, fields)``. The lock is held until the caller's transaction
    ends, so commit soon after (record late in the unit of work). If the transaction rolls back the
    row is gone and the next append reuses its id: ids never have gaps.

    Parameters
    ----------
    session : Session
        An open session; on PostgreSQL at READ COMMITTED (the default), see the ADR.
    actor : str
        Username (用户名) of who acted, at most 64 characters; for ``login_failed`` the name typed.
    actor_role : str
        Their role code at the time (角色), at most 32 characters.
    action : str
        What was done, a :class:`Action` value or another dotted name, at most 64 characters.
    object_type, object_id : str, optional
        The object acted on (``event``, ``42``); an int id is stored as its decimal string.
        At most 64 characters each. Never a personal identifier.
    scope : str, optional
        The data scope or filter the act covered (``town:500118001``).
    reason : str, optional
        Why (事由), as the user gave it; required by policy for ``personal.full_view`` and exports.
    client : str, optional
        The caller's network address, at most 64 characters.
    detail : JSON, optional
        Extra facts (row counts, columns exported): objects with string keys, arrays, strings,
        integers, booleans, null. Tuples are stored as arrays.
    at : datetime, optional
        Timezone-aware instant of the act; default now. Stored in UTC with microseconds.

    Returns
    -------
    AuditRow
        The flushed row, ``id``, ``prev_hash`` and ``hash`` set.

    Raises
    ------
    ValueError
        If ``at`` is naive, a required text is empty, a text is too long or holds a NUL character
        or a lone surrogate, or ``detail`` holds a float, a non-string key or a non-JSON value.
    sqlalchemy.exc.IntegrityError
        If another appender got past the lock anyway (REPEATABLE READ snapshot taken before the
        lock, an engine without transactions): the unique ``prev_hash``/``id`` refuse the fork.
    """
    at = utcnow() if at is None else at
    at_text = format_at(at)
    if isinstance(object_id, bool):
        raise ValueError("audit object_id must be a string or an integer")
    oid: str | None = str(object_id) if isinstance(object_id, int) else object_id
    columns = AuditRow.__table__.c
    for name, value, required in (
        ("actor", actor, True),
        ("actor_role", actor_role, True),
        ("action", action, True),
        ("object_type", object_type, False),
        ("object_id", oid, False),
        ("scope", scope, False),
        ("reason", reason, False),
        ("client", client, False),
    ):
        _check_text(name, value, getattr(columns[name].type, "length", None), required=required)
    _check_detail(detail, "detail")
    detail = json.loads(canonical_json({"detail": detail}))["detail"]  # tuples -> lists, as stored

    _lock_head(session)
    last = session.execute(select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)).first()
    new_id, prev = (1, GENESIS) if last is None else (last.id + 1, last.hash)
    values = (new_id, at_text, actor, actor_role, action, object_type, oid, scope, reason, client, detail)
    fields = dict(zip(HASHED_FIELDS, values, strict=True))
    row = AuditRow(
        id=new_id,
        at=at.astimezone(UTC),
        actor=actor,
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_id=oid,
        scope=scope,
        reason=reason,
        client=client,
        detail=detail,
        prev_hash=prev,
        hash=chain_hash(prev, fields),
    )
    session.add(row)
    session.flush()
    return row
