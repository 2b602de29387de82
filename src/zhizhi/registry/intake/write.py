"""The write step of an import (导入写入): the good records through the registry service, and the
refused rows checked further (:func:`probe_rows`) so that one run reports every error of every row.

A row refused by the pure checks (:mod:`.rows`) or by the service stops at its first refused
columns; the service's own checks run in stages (a record's fields, then sex and birth date against
the ID, then the tags' rules and the fields a new person needs, then the data scope), each stage
raising all its errors at once. So the refused rows go through the service again, without the
values already refused, inside a savepoint that is rolled back — round after round, until no round
finds a new error — and each new error is added to the row's issues, on the column of its field.
A clerk fixing the reject workbook then sees every problem of the row at once.

Touches the database through registry.service only (as :mod:`.service` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput, ZhizhiError
from zhizhi.registry import service as registry
from zhizhi.registry.intake.header import KEY_FIELDS, LOCATION_FIELDS, column_letter
from zhizhi.registry.intake.rows import BadRow, Prepared, Record, RowIssue, SheetPlan
from zhizhi.registry.intake.values import shown_value


@dataclass
class Outcome:
    """What the registry service did with the records: counts of entities created, updated (fields
    applied to a stored one), unchanged, conflicts recorded and rows that met one; ``refused``: the
    records it refused, as (index in the records given, error)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    rows_with_conflicts: int = 0
    refused: list[tuple[int, ZhizhiError]] = field(default_factory=list)

    def count(self, result: registry.UpsertResult) -> None:
        """Add one upsert's result."""
        if result.created:
            self.created += 1
        elif result.applied:
            self.updated += 1
        elif not result.conflicts:
            self.unchanged += 1
        self.conflicts += len(result.conflicts)
        self.rows_with_conflicts += bool(result.conflicts)


BULK: dict[str, Callable[..., registry.BulkResult]] = {
    "resident": registry.bulk_upsert_residents,
    "household": registry.bulk_upsert_households,
    "house": registry.bulk_upsert_houses,
}
"""Registers with a set-based bulk upsert (registry.service.bulk); the others are written row by row."""
ONE_BY_ONE: dict[str, Callable[..., Any]] = {"unit": registry.upsert_unit}
BATCH_ROWS = 50_000
"""Records handed to one bulk call: bounds the memory of the service's row mappings. The file's keys
are unique (a repeated key is refused before), so batches never split one entity's rows."""
PROBE_ROUNDS = 4
"""At most this many more passes over the refused rows (the service has four stages of checks)."""


def upsert_all(
    session: Session,
    actor: Actor,
    kind: str,
    n: int,
    data_of: Callable[[int], dict[str, Any]],
    source: str,
    valid_from: date | None,
    ref: str,
    ref_of: Callable[[int], str],
) -> Outcome:
    """Hand the ``n`` records ``data_of(0) … data_of(n - 1)`` (the service's mappings) to the registry
    service and count what it did. Residents, households and houses go through the set-based
    ``bulk_upsert_*`` in batches of :data:`BATCH_ROWS` (``ref``, the file, is the changes'
    reference); units through ``upsert_unit`` row by row (``ref_of(i)`` — file, sheet and row — is
    each change's reference). Refused records are listed with their error; they wrote nothing."""
    out = Outcome()
    bulk = BULK.get(kind)
    if bulk is not None:
        for start in range(0, n, BATCH_ROWS):
            rows = [data_of(i) for i in range(start, min(n, start + BATCH_ROWS))]
            res = bulk(session, actor, rows, source, valid_from, ref=ref, skip_invalid=True)
            del rows
            refused: dict[int, list[FieldError]] = {}
            for fe in res.rejected:
                refused.setdefault((fe.line or 1) - 1, []).append(fe)
            for i, r in enumerate(res.results):
                if r is not None:
                    out.count(r)
                    continue
                errors = refused.get(i) or [FieldError("row", "refused by the register")]
                out.refused.append((start + i, InvalidInput("; ".join(e.reason for e in errors), errors)))
        return out
    write = ONE_BY_ONE[kind]
    for i in range(n):
        try:
            r = write(session, actor, data_of(i), source, valid_from=valid_from, ref=ref_of(i))
        except (InvalidInput, Forbidden) as e:
            out.refused.append((i, e))
            continue
        out.count(r)
    return out


def write_records(
    session: Session,
    actor: Actor,
    kind: str,
    prep: Prepared,
    source: str,
    valid_from: date | None,
    ref: str,
    row_ref: Callable[[Record], str],
) -> Outcome:
    """Write the good records of ``prep`` through the registry service (:func:`upsert_all`) and count
    what it did; ``row_ref(record)`` is a unit change's reference. This is the one write step of an
    import; ``Outcome.refused`` indexes ``prep.records``."""
    recs = prep.records
    return upsert_all(
        session, actor, kind, len(recs), lambda i: prep.data(recs[i]), source, valid_from, ref,
        lambda i: row_ref(recs[i]),
    )  # fmt: skip


_SERVICE_FIELDS = {
    "village_code": ("village", "grid", "town"),
    "grid_code": ("grid", "village"),
    "scope": ("grid", "village", "town"),
}
"""Service fields → the import's columns that supply them (``scope``: outside the data scope)."""


def service_issues(plan: SheetPlan, row: int, cells: list[Any], err: ZhizhiError) -> list[RowIssue]:
    """The row issues of a record the registry service refused (``row``: its spreadsheet row number
    in the sheet of ``plan``), each on the column of its field."""
    assert plan.header is not None and plan.columns is not None
    fields = plan.columns.fields
    out = []
    for fe in err.errors or [FieldError("", err.detail)]:
        col = None
        for name in _SERVICE_FIELDS.get(fe.field, (fe.field,)):
            col = next((i for i, f in fields.items() if f == name), None)
            if col is not None:
                break
        if col is None and isinstance(err, Forbidden):
            col = next((i for i, f in fields.items() if f in LOCATION_FIELDS), None)
        value = cells[col] if col is not None and col < len(cells) else ""
        name = fields.get(col, fe.field) if col is not None else fe.field
        letter = column_letter(col) if col is not None else ""
        header = plan.header.texts[col] if col is not None else ""
        reason = fe.reason if err.errors else err.detail
        out.append(RowIssue(plan.name, row, letter, header, name, shown_value(name, value), reason))
    return out


PLACE_FIELDS = (*LOCATION_FIELDS, "village_code", "grid_code", "scope")
"""Issues about where a record is: the place columns, the service's codes, the data scope."""


def without_refused(data: dict[str, Any], errors: Sequence[FieldError], kind: str) -> dict[str, Any] | None:
    """``data`` without the fields ``errors`` refused (never the key), for another pass of
    :func:`probe_rows`; None when no field can be left out (another pass would find the same)."""
    drop = {fe.field for fe in errors if fe.field in data and fe.field not in KEY_FIELDS[kind]}
    return {k: v for k, v in data.items() if k not in drop} if drop else None


def _spot(issue: RowIssue) -> str:
    """Where an issue is: its column letter, else its field."""
    return issue.letter or issue.field


@dataclass
class _Probe:
    """A refused row checked again: the row, the service mapping still to check (refused values
    left out) and the places (columns, fields) that already have an issue."""

    bad: BadRow
    data: dict[str, Any]
    seen: set[str]
    located: bool
    """A place (镇街, 村, 网格 column, or the codes) already has an issue: the service's location and
    scope errors, which follow from it, are not repeated."""

    def add(self, found: list[RowIssue], errors: Sequence[FieldError], key_fields: Sequence[str]) -> bool:
        """Add the issues not reported yet and leave their fields out of the next pass. True when
        something new was found (another pass may find more)."""
        new = []
        for i in found:
            if _spot(i) in self.seen or (self.located and i.field in PLACE_FIELDS):
                continue
            new.append(i)
            self.seen.add(_spot(i))
        self.located = self.located or any(i.field in PLACE_FIELDS for i in new)
        self.bad.issues += new
        for fe in errors:
            if fe.field in self.data and fe.field not in key_fields:
                del self.data[fe.field]
        return bool(new)


def probe_rows(
    session: Session,
    actor: Actor,
    kind: str,
    plans: Sequence[SheetPlan],
    rows: Sequence[tuple[BadRow, dict[str, Any]]],
    source: str,
    valid_from: date | None,
    ref: str,
    ref_of: Callable[[BadRow], str],
) -> None:
    """Check refused rows further through the registry service, so that every error of a row is
    reported in one run (module docstring). ``rows``: each refused row with the service mapping of
    its values that were not refused. Each pass runs in a savepoint that is rolled back: nothing is
    written. The issues found are added to the rows (BadRow.sort_issues puts them in column order)."""
    keys = KEY_FIELDS[kind]
    active = [
        _Probe(b, dict(data), {_spot(i) for i in b.issues}, any(i.field in PLACE_FIELDS for i in b.issues))
        for b, data in rows
    ]
    for _ in range(PROBE_ROUNDS):
        if not active:
            break
        datas, refs = [p.data for p in active], [ref_of(p.bad) for p in active]
        nested = session.begin_nested()
        try:
            outcome = upsert_all(
                session, actor, kind, len(active), datas.__getitem__, source, valid_from, ref,
                refs.__getitem__,
            )  # fmt: skip
        finally:
            nested.rollback()
        again = []
        for i, err in outcome.refused:
            p = active[i]
            found = service_issues(plans[p.bad.sheet], p.bad.row, p.bad.cells, err)
            if p.add(found, err.errors or [], keys):
                again.append(p)
        active = again


__all__ = [
    "BATCH_ROWS", "BULK", "ONE_BY_ONE", "PLACE_FIELDS", "Outcome", "probe_rows", "service_issues",
    "upsert_all", "without_refused", "write_records",
]  # fmt: skip
