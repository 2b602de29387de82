"""Bulk intake (批量导入) of events from CSV or JSONL files: ``zhizhi event import FILE``.

Columns (CSV header or JSON keys) are the fields of :class:`~zhizhi.event.schemas.EventCreate`:
``category_code, title`` (required), ``description, lon, lat, crs (wgs84|gcj02), address, grid_code,
village_code, town_code, urgency, reporter_name, reporter_phone, reporter_ref, external_id,
reported_at (ISO 8601; naive = Asia/Shanghai), source`` (default ``hotline_import``). A column (or
key) named ``error`` is ignored: it is where a reject file puts the reasons (below).

An empty cell (or JSON null) means "not given". A bad row is one that fails validation, has an
unknown category or area, lies outside the loaded districts, is dated in the future or before
2000-01-01, repeats a ``(source, external_id)`` of an earlier row or an existing event, or cannot
be read at all (invalid JSON line, more CSV values than columns). One transaction: with any bad row
nothing is written and every bad row is reported (line, column, reason).

Reject file (退回文件). With ``skip_invalid`` the good rows are imported and the bad ones written to
a reject file in the input's own format, so that a clerk can fix the rows and import the reject
file as it is (its ``error`` column is ignored):

* CSV input: a CSV (UTF-8 with BOM, which spreadsheet programs recognise) with the input's header
  preceded by an ``error`` column, then every bad row with its cells as read and, in ``error``,
  its reasons (``line 3, column lon: …; …``, lines of the input file). A row with more values
  than columns keeps all of them (delete the extra ones).
* JSONL input: every bad object as read, with an ``"error"`` key first; lines that were not a
  JSON object at all come last, copied as they were (their reasons are in the import summary).

The reject file is ``<input stem>.rejects<input suffix>`` beside the input unless given; it may
not be the input file itself nor a directory (:func:`reject_path_problem`).
Rows are validated, placed (vectorised point-in-polygon) and routed first, then inserted with
executemany; each event gets its ``report`` timeline row.

Modules: ``files`` (reading rows, reject files), ``store`` (placing, routing, the bulk insert).
Everything public is re-exported here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import service
from zhizhi.event.catalogue import CatalogueError
from zhizhi.event.intake.files import (
    ERROR_COLUMN,
    FIELDS,
    BadLine,
    SourceFormat,
    _given,
    default_reject_path,
    read_rows,
    reject_path_problem,
    write_rejects,
)
from zhizhi.event.intake.store import (
    EVENT,
    EVENT_STEP,
    ImportResult,
    Progress,
    _drop_existing,
    _place,
    insert_events,
)
from zhizhi.event.schemas import EARLIEST, EventCreate  # EARLIEST: 2000-01-01 北京时间

__all__ = [
    "ERROR_COLUMN",
    "EVENT",
    "EVENT_STEP",
    "FIELDS",
    "BadLine",
    "ImportResult",
    "Progress",
    "SourceFormat",
    "default_reject_path",
    "import_file",
    "insert_events",
    "read_rows",
    "reject_path_problem",
    "write_rejects",
]


def import_file(
    session: Session,
    path: Path,
    district6: str,
    skip_invalid: bool = False,
    reject_path: Path | None = None,
    progress: Progress | None = None,
    default_source: str = "hotline_import",
) -> ImportResult:
    """Validate, place, route and insert every row of ``path`` (see module docstring).

    Empty cells and JSON nulls count as not given. Besides field errors, a row is bad when its
    category is unknown, it cannot be placed, its ``reported_at`` is in the future or before
    :data:`EARLIEST`, or its ``(source, external_id)`` repeats an earlier row or an existing event.
    Raises InvalidInput listing every bad row (line, column, reason; sorted by line) when any row is
    bad and ``skip_invalid`` is false; nothing is written then. With ``skip_invalid`` the bad rows
    go to ``reject_path`` (default :func:`default_reject_path`) in the input's format (module
    docstring); InvalidInput if it is the input file or a directory, or cannot be written (nothing
    is imported then)."""
    if reject_path is not None:
        why = reject_path_problem(path, reject_path)
        if why:
            raise InvalidInput(f"reject file {reject_path}: {why}")
    res = ImportResult(file=str(path))
    fmt = SourceFormat()
    good: list[tuple[int, EventCreate]] = []
    bad_lines: dict[int, dict[str, Any] | BadLine] = {}  # line -> the row as read
    originals: dict[int, dict[str, Any]] = {}
    cat = service.catalogue()
    latest = ztime.utcnow() + timedelta(minutes=5)
    seen_ext: dict[tuple[str, str | None], int] = {}

    def bad(line: int, row: Any, col: str, reason: str) -> None:
        res.errors.append(FieldError(col, reason, line=line, column=col))
        bad_lines[line] = row

    for line, raw in read_rows(path, fmt):
        res.rows += 1
        if isinstance(raw, BadLine):
            res.errors.append(raw.error)
            bad_lines[line] = raw
            continue
        row = _given(raw)
        row.setdefault("source", default_source)
        try:
            data = EventCreate.model_validate(row)
        except ValidationError as e:
            for err in e.errors():
                col = ".".join(str(p) for p in err["loc"]) or "row"
                res.errors.append(FieldError(col, _reason(err), line=line, column=col))
            bad_lines[line] = raw
            continue
        except OverflowError:  # a date at the end of the calendar, converted to another zone
            col = "reported_at" if "reported_at" in row else "row"
            bad(line, raw, col, "date out of range")
            continue
        try:
            cat.leaf(data.category_code)
        except CatalogueError as e:
            bad(line, raw, "category_code", str(e))
            continue
        if data.reported_at is not None:
            # compare aware times without converting: year 1 or 9999 would overflow to_utc
            at = data.reported_at
            if at.tzinfo is None or at.utcoffset() is None:
                at = at.replace(tzinfo=ztime.LOCAL_TZ)
            if at > latest:
                bad(line, raw, "reported_at", "in the future")
                continue
            if at < EARLIEST:
                bad(line, raw, "reported_at", "must be on or after 2000-01-01")
                continue
        if data.external_id:
            key = (data.source, data.external_id)
            if key in seen_ext:
                bad(line, raw, "external_id", f'"{data.external_id}" repeats line {seen_ext[key]}')
                continue
            seen_ext[key] = line
        originals[line] = raw
        good.append((line, data))
    good = _drop_existing(session, good, originals, bad)
    placed = _place(session, good, res, bad_lines, originals)
    res.errors.sort(key=lambda e: e.line or 0)
    if res.errors and not skip_invalid:
        n = len(bad_lines)
        first = res.errors[0]
        raise InvalidInput(
            f"{path}: {n} bad row(s), nothing imported; first: line {first.line}, "
            f"column {first.column}: {first.reason}",
            res.errors,
        )
    if bad_lines:
        reject_path = reject_path or default_reject_path(path, fmt.kind)
        try:
            write_rejects(reject_path, fmt, bad_lines, res.errors)
        except OSError as e:
            raise InvalidInput(
                f"{reject_path}: cannot write the reject file ({e.strerror}); nothing imported"
            ) from None
        res.reject_file = str(reject_path)
    res.event_ids = insert_events(session, placed, district6, progress)
    res.imported = len(res.event_ids)
    return res


def _reason(err: Any) -> str:
    """A pydantic error's message, without the "Value error, " that pydantic puts before the
    message of a validator's ValueError."""
    if err.get("type") == "value_error" and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])
    return str(err["msg"])
