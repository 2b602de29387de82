"""Audit log (审计日志): an append-only, hash-chained record of sensitive acts.

Every full view (完整查看) or export (导出) of personal data, every sign-in (登录) and failed sign-in,
every token issued, writes one :class:`AuditRow` through :func:`record`. Each row carries the
SHA-256 of its predecessor (``prev_hash``) and its own ``hash``, so changing, inserting or deleting a
row anywhere breaks the chain, which :func:`verify` finds and names. Design, canonical form and the
PostgreSQL privileges that make the table append-only in production: docs/adr/0004-audit-hash-chain.md.

Canonical form (规范形式) of a row, the bytes that are hashed
----------------------------------------------------------------
``hash = lowercase hex SHA-256 of (prev_hash as 64 ASCII hex digits) + (canonical JSON, UTF-8)``;
the first row's ``prev_hash`` is :data:`GENESIS` (64 zeros). The canonical JSON is one object with
exactly the keys of :data:`HASHED_FIELDS` (``id`` to ``detail``; ``prev_hash`` and ``hash`` are not
in it), absent values as ``null``, written as Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)``:
keys sorted by code point, no whitespace, non-ASCII characters as themselves (UTF-8), ``id`` a JSON
integer, ``object_id`` a string, ``at`` the UTC instant as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always
six fraction digits). ``detail`` is JSON made of objects, arrays, strings, integers, booleans and
null only: floats are refused (their text differs between languages), so every tool that writes
compact sorted JSON recomputes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint, cast, select, text, type_coerce
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhizhi.core.db import Base, UTCDateTime
from zhizhi.core.time import utcnow

__all__ = [
    "GENESIS",
    "HASHED_FIELDS",
    "LOCK_KEY",
    "Action",
    "AuditRow",
    "VerifyResult",
    "canonical_json",
    "chain_hash",
    "format_at",
    "record",
    "search",
    "verify",
]

GENESIS = "0" * 64
"""``prev_hash`` of the first row (创世行): 64 zeros."""

HASHED_FIELDS = (
    "id",
    "at",
    "actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "scope",
    "reason",
    "client",
    "detail",
)
"""The keys of a row's canonical JSON (see the module docstring)."""

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""``json.dumps`` with the canonical options, built once (verify calls it a million times)."""

LOCK_KEY = 1032089305692180660
"""PostgreSQL advisory-lock key of the chain head: the first 8 bytes of SHA-256("zhizhi.audit_log")
as a signed big-endian integer. Only :func:`record` takes it."""


class Action(StrEnum):
    """Audited acts (审计事项). :func:`record` accepts any dotted lower-case name; these are the
    ones the platform writes."""

    personal_full_view = "personal.full_view"
    """完整查看个人信息: personal fields shown unmasked."""
    export = "export"
    """导出: rows written to a file or download."""
    login = "login"
    """登录成功."""
    login_failed = "login_failed"
    """登录失败 (``actor`` is the name that was typed)."""
    token_create = "token.create"
    """签发 API 令牌."""
    grant = "user.grant"
    """授予保密类事件查看权限."""
    revoke_grant = "user.revoke_grant"
    """收回保密类事件查看权限."""


class AuditRow(Base):
    """One audit row (审计记录). Never updated or deleted: see docs/adr/0004-audit-hash-chain.md.

    ``id`` is 1, 2, 3… with no gap, assigned by :func:`record` under the chain lock. ``object_id`` is
    the object's internal id, never a personal identifier (身份证号, phone): the log is kept for
    years and cannot be edited. ``scope`` is the data scope the act covered (``town:500118001``, a
    filter); ``client`` the caller's network address.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        # safety net under the lock: two rows can never share a predecessor (no fork of the chain)
        UniqueConstraint("prev_hash"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[Any] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def fields(self) -> dict[str, Any]:
        """This row's canonical fields (the object :func:`canonical_json` writes)."""
        values = [getattr(self, k) for k in HASHED_FIELDS]
        values[1] = format_at(self.at)
        return dict(zip(HASHED_FIELDS, values, strict=True))


def format_at(at: datetime) -> str:
    """The canonical text of a timestamp: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    Parameters
    ----------
    at : datetime
        Timezone-aware instant, any zone.

    Returns
    -------
    str
        E.g. ``2026-12-01T06:20:00.000000Z`` for 14:20 北京时间; always six fraction digits.

    Raises
    ------
    ValueError
        If ``at`` is naive.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"audit time must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a row's fields, UTF-8 encoded (the module docstring gives the rules).

    Parameters
    ----------
    fields : mapping
        The :data:`HASHED_FIELDS` of one row, ``at`` already formatted by :func:`format_at`.

    Returns
    -------
    bytes
        Compact JSON, keys sorted by code point, non-ASCII as UTF-8.

    Raises
    ------
    ValueError
        If a value is NaN/infinite, or a string cannot be encoded (a lone surrogate).
    TypeError
        If a value is not JSON-serialisable.
    """
    return _ENCODER.encode(fields).encode("utf-8")


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """A row's hash: SHA-256 of ``prev_hash`` (64 ASCII hex digits) followed by the canonical JSON.

    Parameters
    ----------
    prev_hash : str
        The predecessor's hash (lower-case hex), or :data:`GENESIS` for the first row.
    fields : mapping
        The row's canonical fields, as for :func:`canonical_json`.

    Returns
    -------
    str
        64 lower-case hex digits.

    Raises
    ------
    ValueError, TypeError
        As :func:`canonical_json`; ValueError if ``prev_hash`` is not ASCII.
    """
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(fields)).hexdigest()


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


def search(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Audit rows matching every given filter, newest first (查询审计记录).

    Parameters
    ----------
    session : Session
        Any session; only a SELECT is issued.
    actor, action, object_type, object_id : str, optional
        Exact matches; an int ``object_id`` is matched as its decimal string.
    since, until : datetime, optional
        Timezone-aware bounds on ``at``: ``since <= at < until``.
    before_id : int, optional
        Keyset paging: only rows with a smaller id (pass the last id of the previous page).
    limit : int
        Page size, 1 to 1000.

    Returns
    -------
    list of AuditRow
        At most ``limit`` rows, by id descending.

    Raises
    ------
    ValueError
        If ``limit`` is outside 1-1000 or a bound is naive.
    """
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if actor is not None:
        q = q.where(AuditRow.actor == actor)
    if action is not None:
        q = q.where(AuditRow.action == action)
    if object_type is not None:
        q = q.where(AuditRow.object_type == object_type)
    if object_id is not None:
        q = q.where(AuditRow.object_id == str(object_id))
    for bound in (since, until):
        if bound is not None:
            format_at(bound)  # refuses a naive bound
    if since is not None:
        q = q.where(AuditRow.at >= since)
    if until is not None:
        q = q.where(AuditRow.at < until)
    if before_id is not None:
        q = q.where(AuditRow.id < before_id)
    return list(session.scalars(q))


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify` (校验结果).

    ``rows`` counts the rows found intact, from the first up to (not including) ``first_bad_id``;
    ``last_id``/``last_hash`` are the last intact row's (the head when ``ok``: write them down
    somewhere else to detect later truncation, see ``anchor``). ``reason`` says what is wrong.
    """

    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str | None = None
    last_id: int | None = None
    last_hash: str | None = None


def _at_text(value: Any) -> str:
    """Canonical text of a stored timestamp: a datetime (PostgreSQL) or SQLite's naive UTC text."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            # SQLAlchemy's SQLite form "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): a malformed date here
            # yields a text no record() wrote, so the hash check names the row
            return f"{value[:10]}T{value[11:]}Z"
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"not a timestamp: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_at(value)


def _stream(session: Session, batch: int) -> Iterator[Any]:
    """All rows in id order, ``batch`` at a time (keyset pages: memory stays flat), raw: ``at`` and
    ``detail`` unconverted so that a tampered value cannot make the read itself fail."""
    t = AuditRow.__table__.c
    cols = [
        t.id,
        type_coerce(t.at, String).label("at"),
        t.actor,
        t.actor_role,
        t.action,
        t.object_type,
        t.object_id,
        t.scope,
        t.reason,
        t.client,
        cast(t.detail, Text).label("detail"),
        t.prev_hash,
        t.hash,
    ]
    after: int | None = None
    while True:
        q = select(*cols).order_by(t.id).limit(batch)
        if after is not None:
            q = q.where(t.id > after)
        rows = [tuple(r) for r in session.execute(q).all()]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def verify(session: Session, *, batch: int = 10_000, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the whole chain in id order and report the first row that is not as written (校验审计链).

    For each row, in this order: its id follows the previous id by one (the first is 1), else rows
    were deleted before it; its ``prev_hash`` equals the previous row's hash (:data:`GENESIS` for
    the first), else the link was broken; its stored ``hash`` equals :func:`chain_hash` recomputed
    from its fields, else its content (or hash) was changed. A row whose timestamp or detail cannot
    even be read is reported too. Deleting rows at the very end cannot be seen from the chain alone:
    pass a previously recorded head as ``anchor``.

    Parameters
    ----------
    session : Session
        Any session; only SELECTs are issued.
    batch : int
        Rows per query (bounds memory); default 10,000.
    anchor : (int, str), optional
        ``(id, hash)`` of a row noted earlier (a previous result's ``last_id``/``last_hash``): that
        row must still exist with that hash.

    Returns
    -------
    VerifyResult
        ``ok`` with the row count and the head, or the first bad row's id and the reason. Never
        raises on a broken or tampered chain (database errors still raise).

    Raises
    ------
    ValueError
        If ``batch`` < 1.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    prev_id, prev_hash, count = 0, GENESIS, 0

    def bad(row_id: int, why: str) -> VerifyResult:
        last = prev_id or None
        return VerifyResult(False, count, row_id, why, last, prev_hash if last else None)

    for row in _stream(session, batch):
        (id_, at, actor, role, action, otype, oid, scope, reason, client, detail, link, stored) = row
        if id_ != prev_id + 1:
            if id_ <= prev_id:  # only a row forged with id 0 or below can come first like this
                return bad(id_, f"id {id_} is out of sequence (expected {prev_id + 1})")
            if prev_id == 0:
                return bad(id_, f"rows 1 to {id_ - 1} are missing (deleted from the start)")
            return bad(id_, f"rows {prev_id + 1} to {id_ - 1} are missing (deleted after row {prev_id})")
        if link != prev_hash:
            return bad(id_, f"link broken: prev_hash is not the hash of row {prev_id}")
        try:
            loaded = None if detail is None else json.loads(detail)
            values = (id_, _at_text(at), actor, role, action, otype, oid, scope, reason, client, loaded)
            fields = dict(zip(HASHED_FIELDS, values, strict=True))
            digest = chain_hash(prev_hash, fields)
        except (ValueError, TypeError) as e:
            return bad(id_, f"unreadable row ({type(e).__name__}: {e})")
        if digest != stored:
            return bad(id_, "content changed: the stored hash does not match the row")
        if anchor is not None and id_ == anchor[0] and stored != anchor[1]:
            return bad(id_, f"row {id_} no longer has the anchored hash")
        prev_id, prev_hash, count = id_, stored, count + 1
    if anchor is not None and prev_id < anchor[0]:
        return bad(prev_id + 1, f"the log ends at row {prev_id}, before anchored row {anchor[0]}")
    return VerifyResult(True, count, None, None, prev_id or None, prev_hash if prev_id else None)
