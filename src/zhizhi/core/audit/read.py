"""Reading the audit log: :func:`search` (查询审计记录) and :func:`verify` (校验审计链)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session

from zhizhi.core.audit.canonical import GENESIS, HASHED_FIELDS, chain_hash, format_at
from zhizhi.core.audit.models import AuditRow


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
