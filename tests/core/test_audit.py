"""Tests for zhizhi.core.audit: the canonical form, appending, verification of a tampered chain, and
concurrent appends, on SQLite and PostgreSQL.

The audit log is shared by the whole test session and never wiped, so no test counts all rows: each
works on the rows it appended, and a test that tampers with a row puts it back as it was.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from zhizhi.core.audit import (
    GENESIS,
    Action,
    AuditRow,
    VerifyResult,
    canonical_json,
    chain_hash,
    format_at,
    record,
    search,
    verify,
)
from zhizhi.core.db import session_factory

TABLE = cast(Table, AuditRow.__table__)


@pytest.fixture
def audit(engine: Engine) -> Engine:
    """The test engine with the audit table present (created here until its migration exists)."""
    TABLE.create(engine, checkfirst=True)
    return engine


def append(engine: Engine, n: int, **kw: Any) -> list[AuditRow]:
    """Append ``n`` rows in one committed transaction; returns them."""
    with session_factory(engine)() as s:
        rows = [
            record(
                s,
                actor=kw.get("actor", "zhang.wei"),
                actor_role="center_duty",
                action=Action.personal_full_view,
                object_type="event",
                object_id=1000 + i,
                reason=kw.get("reason", "核实来电人身份"),
                client="127.0.0.1",
                detail={"fields": ["reporter_name", "reporter_phone"], "i": i},
            )
            for i in range(n)
        ]
        s.commit()
    return rows


def check(engine: Engine, **kw: Any) -> VerifyResult:
    with session_factory(engine)() as s:
        return verify(s, **kw)


@contextmanager
def tampered(engine: Engine, ids: int | tuple[int, ...], *sql: str, **params: Any) -> Iterator[None]:
    """Run raw ``sql`` statements against the log (``:id`` is the first of ``ids``), then put rows
    ``ids`` back exactly as they were."""
    ids = (ids,) if isinstance(ids, int) else ids
    with engine.connect() as c:
        saved = [dict(m) for m in c.execute(select(TABLE).where(TABLE.c.id.in_(ids))).mappings()]
    with engine.begin() as c:
        for statement in sql:
            c.execute(text(statement), {"id": ids[0], **params})
    try:
        yield
    finally:
        with engine.begin() as c:
            c.execute(delete(TABLE).where(TABLE.c.id.in_(ids)))
            c.execute(insert(TABLE), saved)


# --- canonical form (no database) ----------------------------------------------------


def test_canonical_form_of_a_known_row_gives_a_known_hash() -> None:
    fields = {
        "id": 1,
        "at": format_at(datetime(2026, 12, 1, 14, 20, 0, 5, tzinfo=timezone(timedelta(hours=8)))),
        "actor": "zhang.wei",
        "actor_role": "center_duty",
        "action": "personal.full_view",
        "object_type": "event",
        "object_id": "42",
        "scope": "town:500118001",
        "reason": "核实来电人身份",
        "client": "10.0.0.7",
        "detail": {"fields": ["reporter_phone", "reporter_name"], "count": 1},
    }
    expected = (
        '{"action":"personal.full_view","actor":"zhang.wei","actor_role":"center_duty",'
        '"at":"2026-12-01T06:20:00.000005Z","client":"10.0.0.7",'
        '"detail":{"count":1,"fields":["reporter_phone","reporter_name"]},"id":1,'
        '"object_id":"42","object_type":"event","reason":"核实来电人身份","scope":"town:500118001"}'
    ).encode()
    assert canonical_json(fields) == expected
    # independently, per the documented form: sha256(prev_hash ASCII + canonical UTF-8 JSON)
    independent = hashlib.sha256(
        b"0" * 64
        + json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert chain_hash(GENESIS, fields) == independent
    # the same bytes through coreutils: printf %s "$PREV$JSON" | sha256sum
    assert independent == "a48df282f22365bae7e4b613d9c0ba40c6952fadf3dfad175bbbee1323a2c5e1"


def test_format_at_is_utc_with_six_fraction_digits() -> None:
    assert format_at(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    beijing = timezone(timedelta(hours=8))
    assert format_at(datetime(2026, 1, 1, 7, 59, 59, 999999, tzinfo=beijing)) == "2025-12-31T23:59:59.999999Z"
    with pytest.raises(ValueError, match="naive"):
        format_at(datetime(2026, 1, 1))


# --- appending --------------------------------------------------------------------------


def test_record_links_to_the_previous_row_and_hashes_what_is_stored(audit: Engine) -> None:
    a, b = append(audit, 2)
    assert b.id == a.id + 1
    assert b.prev_hash == a.hash
    assert chain_hash(a.hash, b.fields()) == b.hash
    with audit.connect() as c:
        stored = c.execute(select(TABLE).where(TABLE.c.id == b.id)).mappings().one()
    assert stored["reason"] == "核实来电人身份"
    assert stored["object_id"] == "1001"
    assert stored["detail"] == {"fields": ["reporter_name", "reporter_phone"], "i": 1}
    fields = {k: stored[k] for k in stored if k not in ("prev_hash", "hash")}
    fields["at"] = stored["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raw = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert stored["hash"] == hashlib.sha256(a.hash.encode() + raw).hexdigest()


def test_first_row_chains_to_genesis(audit: Engine) -> None:
    append(audit, 1)
    with audit.connect() as c:
        first = c.execute(select(TABLE.c.id, TABLE.c.prev_hash).order_by(TABLE.c.id).limit(1)).one()
    assert (first.id, first.prev_hash) == (1, GENESIS)


def test_at_keeps_microseconds_and_is_stored_in_utc(audit: Engine) -> None:
    at = datetime(2026, 12, 1, 14, 20, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    with session_factory(audit)() as s:
        row = record(s, actor="li.na", actor_role="leader", action=Action.export, at=at, detail=(1, 2))
        s.commit()
    with audit.connect() as c:
        stored = c.execute(select(TABLE.c.at, TABLE.c.detail).where(TABLE.c.id == row.id)).one()
    assert stored.at == datetime(2026, 12, 1, 6, 20, 0, 123456, tzinfo=UTC)
    assert stored.detail == [1, 2] == row.detail
    assert check(audit).ok


def test_two_rows_in_one_transaction_chain(audit: Engine) -> None:
    with session_factory(audit)() as s:
        a = record(s, actor="li.na", actor_role="leader", action=Action.login)
        b = record(s, actor="li.na", actor_role="leader", action=Action.token_create)
        s.commit()
    assert (b.id, b.prev_hash) == (a.id + 1, a.hash)
    assert check(audit).ok


def test_a_rolled_back_row_leaves_no_gap(audit: Engine) -> None:
    with session_factory(audit)() as s:
        lost = record(s, actor="li.na", actor_role="leader", action=Action.login)
        s.rollback()
    (kept,) = append(audit, 1)
    assert kept.id == lost.id
    assert check(audit).ok


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"at": datetime(2026, 1, 1)}, "naive"),
        ({"actor": " "}, "actor is empty"),
        ({"actor": "x" * 65}, "longer than 64"),
        ({"reason": "a\x00b"}, "NUL"),
        ({"detail": {"ratio": 0.5}}, r"detail\.ratio is a float"),
        ({"detail": {1: "a"}}, "non-string key"),
        ({"detail": {"when": datetime(2026, 1, 1, tzinfo=UTC)}}, "not JSON"),
        ({"reason": "\ud800"}, "surrogate"),
    ],
)
def test_record_refuses_values_that_would_not_hash_the_same_everywhere(
    audit: Engine, kw: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"actor": "li.na", "actor_role": "leader", "action": "login", **kw}
    with session_factory(audit)() as s, pytest.raises(ValueError, match=message):
        record(s, **args)


def test_search_filters_and_pages_newest_first(audit: Engine) -> None:
    rows = append(audit, 3, actor="search.me")
    with session_factory(audit)() as s:
        found = search(s, actor="search.me", action=Action.personal_full_view)
        assert [r.id for r in found] == [r.id for r in reversed(rows)]
        assert [r.id for r in search(s, actor="search.me", object_type="event", object_id=1001)] == [
            rows[1].id
        ]
        page = search(s, actor="search.me", before_id=rows[2].id, limit=1)
        assert [r.id for r in page] == [rows[1].id]
        at = rows[0].at
        assert (
            search(s, actor="search.me", since=at, until=at + timedelta(microseconds=1))[-1].id == rows[0].id
        )
        assert search(s, actor="search.me", until=at) == []
        with pytest.raises(ValueError, match="limit"):
            search(s, limit=0)
        with pytest.raises(ValueError, match="naive"):
            search(s, since=datetime(2026, 1, 1))


# --- verification -----------------------------------------------------------------------


def test_an_untouched_chain_verifies(audit: Engine) -> None:
    rows = append(audit, 5)
    for batch in (1, 2, 5000):
        result = check(audit, batch=batch)
        assert result.ok, result
        assert result.first_bad_id is None and result.reason is None
        assert result.rows >= 5 and result.last_id == result.rows
        assert result.last_id >= rows[-1].id


@pytest.mark.parametrize("batch", [1, 2, 5000])
def test_a_changed_reason_names_the_row(audit: Engine, batch: int) -> None:
    rows = append(audit, 3)
    victim = rows[1].id
    with tampered(audit, victim, "UPDATE audit_log SET reason = :r WHERE id = :id", r="例行检查"):
        result = check(audit, batch=batch)
        assert (result.ok, result.first_bad_id) == (False, victim)
        assert result.reason == "content changed: the stored hash does not match the row"
        assert result.rows == victim - 1 and result.last_id == victim - 1
    assert check(audit).ok


def test_a_changed_detail_or_time_names_the_row(audit: Engine) -> None:
    victim = append(audit, 2)[0].id
    with tampered(audit, victim, "UPDATE audit_log SET detail = NULL WHERE id = :id"):
        assert check(audit).first_bad_id == victim
    later = (
        datetime(2030, 1, 1, tzinfo=UTC)
        if audit.dialect.name == "postgresql"
        else "2030-01-01 00:00:00.000000"
    )
    with tampered(audit, victim, "UPDATE audit_log SET at = :at WHERE id = :id", at=later):
        assert check(audit).first_bad_id == victim
    assert check(audit).ok


def test_a_deleted_middle_row_names_the_row_after_the_gap(audit: Engine) -> None:
    rows = append(audit, 3)
    with tampered(audit, rows[1].id, "DELETE FROM audit_log WHERE id = :id"):
        result = check(audit, batch=2)
        assert (result.ok, result.first_bad_id) == (False, rows[2].id)
        assert (
            result.reason == f"rows {rows[1].id} to {rows[1].id} are missing (deleted after row {rows[0].id})"
        )
    assert check(audit).ok


def test_a_deleted_and_renumbered_row_breaks_the_link(audit: Engine) -> None:
    """Closing the id gap is not enough: the next row still points at the deleted one."""
    rows = append(audit, 3)
    a, b, c = (r.id for r in rows)
    renumber = "UPDATE audit_log SET id = :id WHERE id = :c"
    with tampered(audit, (b, c), "DELETE FROM audit_log WHERE id = :id", renumber, c=c):
        result = check(audit)
        assert (result.first_bad_id, result.reason) == (
            b,
            f"link broken: prev_hash is not the hash of row {a}",
        )


def test_a_changed_hash_names_the_row(audit: Engine) -> None:
    victim = append(audit, 2)[0].id
    with tampered(audit, victim, "UPDATE audit_log SET hash = :h WHERE id = :id", h="f" * 64):
        result = check(audit)
        assert (result.ok, result.first_bad_id) == (False, victim)
        assert result.reason == "content changed: the stored hash does not match the row"


def test_a_changed_first_row_is_named(audit: Engine) -> None:
    append(audit, 1)
    with tampered(audit, 1, "UPDATE audit_log SET actor = 'someone.else' WHERE id = :id"):
        result = check(audit)
        assert (result.ok, result.first_bad_id, result.rows, result.last_id) == (False, 1, 0, None)


def test_unreadable_values_are_reported_not_raised(audit: Engine) -> None:
    """SQLite stores anything in any column: garbage in ``at`` or ``detail`` is a bad row."""
    if audit.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses a non-timestamp or non-JSON value itself")
    victim = append(audit, 1)[0].id
    with tampered(audit, victim, "UPDATE audit_log SET detail = '{not json' WHERE id = :id"):
        result = check(audit)
        assert result.first_bad_id == victim and result.reason is not None
        assert result.reason.startswith("unreadable row (JSONDecodeError")
    with tampered(audit, victim, "UPDATE audit_log SET at = 'yesterday' WHERE id = :id"):
        assert check(audit).first_bad_id == victim
    assert check(audit).ok


def test_an_anchor_detects_deletion_at_the_end(audit: Engine) -> None:
    append(audit, 2)
    head = check(audit)
    assert head.last_id is not None and head.last_hash is not None
    anchor = (head.last_id, head.last_hash)
    assert check(audit, anchor=anchor).ok
    with tampered(audit, head.last_id, "DELETE FROM audit_log WHERE id = :id"):
        assert check(audit).ok  # the chain alone cannot see a cut tail
        result = check(audit, anchor=anchor)
        assert (result.ok, result.first_bad_id) == (False, head.last_id)
        assert result.reason == f"the log ends at row {head.last_id - 1}, before anchored row {head.last_id}"
    wrong = check(audit, anchor=(head.last_id, "0" * 64))
    assert (wrong.ok, wrong.first_bad_id) == (False, head.last_id)


def test_verify_refuses_a_zero_batch(audit: Engine) -> None:
    with session_factory(audit)() as s, pytest.raises(ValueError, match="batch"):
        verify(s, batch=0)


# --- concurrency --------------------------------------------------------------------------


def test_a_forked_chain_is_refused_by_the_database(audit: Engine) -> None:
    """The safety net under the lock: a second row with the same predecessor cannot be stored."""
    (last,) = append(audit, 1)
    forged = {c.name: getattr(last, c.name) for c in TABLE.columns} | {"id": last.id + 1000, "hash": "e" * 64}
    with pytest.raises(IntegrityError), audit.begin() as c:
        c.execute(insert(TABLE).values(**forged))
    assert check(audit).ok


def test_concurrent_appends_keep_one_chain(audit: Engine) -> None:
    threads_n, per_thread = 4, 15
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with session_factory(audit)() as s:
                    record(s, actor=f"worker{k}", actor_role="system", action="concurrency.test", object_id=i)
                    s.commit()
        except BaseException as e:  # reported below: a thread's exception would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory(audit)() as s:
        mine = s.scalars(select(AuditRow).where(AuditRow.action == "concurrency.test")).all()
        assert len(mine) == threads_n * per_thread
    result = check(audit)
    assert result.ok, result


def test_a_session_waits_for_the_other_appender(audit: Engine) -> None:
    """While one transaction holds the chain head, a second append waits and then chains after it."""
    first = session_factory(audit)()
    try:
        a = record(first, actor="li.na", actor_role="leader", action=Action.login)
        done: list[AuditRow] = []

        def second() -> None:
            with session_factory(audit)() as s:
                done.append(record(s, actor="wang.fang", actor_role="leader", action=Action.login))
                s.commit()

        t = threading.Thread(target=second)
        t.start()
        t.join(timeout=0.5)
        assert t.is_alive() and done == []  # blocked on the lock, not chained to a stale head
        first.commit()
        t.join(timeout=10)
        assert [(r.id, r.prev_hash) for r in done] == [(a.id + 1, a.hash)]
    finally:
        first.close()
    assert check(audit).ok
