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
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import rules, service
from zhizhi.event.catalogue import CatalogueError
from zhizhi.event.models import Event, EventStep
from zhizhi.event.rules import Node
from zhizhi.event.schemas import EARLIEST, EventCreate  # EARLIEST: 2000-01-01 北京时间
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit

FIELDS = set(EventCreate.model_fields)
ERROR_COLUMN = "error"
"""The column (CSV) or key (JSONL) of a reject file that holds a row's reasons; import ignores it."""
Progress = Callable[[int, int], None]
# Core tables: a bulk INSERT through them skips the ORM's per-row bookkeeping (~8 µs a row).
EVENT: Table = Event.metadata.tables[Event.__tablename__]
EVENT_STEP: Table = EventStep.metadata.tables[EventStep.__tablename__]


@dataclass
class ImportResult:
    """What an import did: ``imported`` events, ``rejected`` rows with their errors."""

    file: str
    rows: int = 0
    imported: int = 0
    errors: list[FieldError] = field(default_factory=list)
    reject_file: str | None = None
    event_ids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "imported": self.imported,
                "rejected_rows": len({e.line for e in self.errors}), "reject_file": self.reject_file,
                "errors": [e.as_dict() for e in self.errors[:200]]}


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read as a row at all (invalid JSON, not an object, too many CSV
    values): its raw ``text``, the ``error`` and, for CSV, the ``values`` as read."""

    text: str
    error: FieldError
    values: tuple[str, ...] = ()


@dataclass
class SourceFormat:
    """What :func:`read_rows` found: ``kind`` "csv" or "jsonl" and, for CSV, the ``header`` as
    written (stripped names, blank ones kept) without the ``error`` column."""

    kind: str = "csv"
    header: list[str] = field(default_factory=list)


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"{path}: cannot read the file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    if not text.strip():
        raise InvalidInput(f"{path}: the file is empty")
    return text


def _given(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its empty cells and JSON nulls: an empty value means "not given", so the
    field's default applies (``description`` "", ``source`` the import's default …)."""
    return {k: v for k, v in row.items() if v is not None and not (isinstance(v, str) and not v.strip())}


def read_rows(path: Path, fmt: SourceFormat | None = None) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """Yield ``(line_number, row)`` from a CSV (UTF-8, optional BOM) or JSONL file.

    The kind is taken from the content: a first non-blank character ``{`` means JSONL. Line numbers
    are 1-based physical lines of the file (a CSV record spanning lines is numbered by its first
    line; blank lines are skipped but counted). The ``error`` column or key (:data:`ERROR_COLUMN`)
    is dropped. A line that cannot be read as a row is yielded as a :class:`BadLine`. ``fmt``, if
    given, is filled with the kind and CSV header once they are known. Raises InvalidInput naming
    the file (and line) when the file as a whole cannot be read: unreadable, not UTF-8, empty, a
    JSON array, CSV header problems (unknown, duplicate or missing required columns) or malformed
    CSV quoting."""
    text = _decode(path)
    fmt = fmt if fmt is not None else SourceFormat()
    first = text.lstrip()[0]
    if first == "[":
        raise InvalidInput(f"{path}: a JSON array; write one JSON object per line (JSONL) instead")
    if first == "{":
        fmt.kind = "jsonl"
        # split on \n only: U+2028 and friends are legal inside JSON strings (str.splitlines breaks them)
        for i, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                why = f"invalid JSON at column {e.colno} ({e.msg})"
                yield i, BadLine(line, FieldError("json", why, line=i, column="json"))
                continue
            if not isinstance(obj, dict):
                why = "each line must be a JSON object"
                yield i, BadLine(line, FieldError("json", why, line=i, column="json"))
                continue
            obj.pop(ERROR_COLUMN, None)
            yield i, obj
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last_end = 0
    try:
        header: list[str] = []
        while not header:
            header = [h.strip() for h in next(reader)]
        hline = last_end = reader.line_num
        unknown = [h for h in header if h and h not in FIELDS and h != ERROR_COLUMN]
        if unknown:
            raise InvalidInput(f'{path}: line {hline}: unknown column(s) {", ".join(unknown)}; '
                               f'known: {", ".join(sorted(FIELDS))}',
                               [FieldError(h, "unknown column", line=hline, column=h) for h in unknown])
        dups = sorted({h for h in header if h and header.count(h) > 1})
        if dups:
            raise InvalidInput(f'{path}: line {hline}: duplicate column(s) {", ".join(dups)}',
                               [FieldError(h, "duplicate column", line=hline, column=h) for h in dups])
        for missing in ("category_code", "title"):
            if missing not in header:
                raise InvalidInput(f'{path}: line {hline}: required column "{missing}" is missing', [
                    FieldError(missing, "required column missing", line=hline, column=missing)])
        fmt.header = [h for h in header if h != ERROR_COLUMN]
        keep = [h != ERROR_COLUMN for h in header]
        for values in reader:
            last_end = reader.line_num
            if not values:
                continue
            i = reader.line_num - sum(v.count("\n") for v in values)
            if len(values) > len(header):
                own = tuple(v for v, k in zip(values, keep + [True] * len(values), strict=False) if k)
                yield i, BadLine(",".join(values), FieldError(
                    "row", f"{len(values)} values for {len(header)} columns", line=i, column="row"), own)
                continue
            yield i, {h: v for h, v in zip(header, values, strict=False) if h and h != ERROR_COLUMN}
    except StopIteration:
        return
    except csv.Error as e:
        raise InvalidInput(f"{path}: line {last_end + 1}: malformed CSV ({e})") from None


def reject_path_problem(path: Path, reject_path: Path) -> str | None:
    """Why ``reject_path`` cannot take the rejects of importing ``path``, or None if it can.

    Refused: the input file itself (same resolved path, or the same file through a link), which
    the rejects would overwrite, and an existing directory."""
    if reject_path.is_dir():
        return "is a directory; give a file name"
    same = reject_path.resolve() == path.resolve()
    if not same and reject_path.exists() and path.exists():
        try:
            same = reject_path.samefile(path)
        except OSError:
            same = False
    if same:
        return "is the input file; the rejects would overwrite it, give another name"
    return None


def default_reject_path(path: Path, kind: str) -> Path:
    """``<stem>.rejects<suffix>`` beside ``path`` (suffix ``.csv``/``.jsonl`` by ``kind`` if none)."""
    suffix = path.suffix or (".jsonl" if kind == "jsonl" else ".csv")
    return path.with_name(f"{path.stem}.rejects{suffix}")


def import_file(session: Session, path: Path, district6: str, skip_invalid: bool = False,
                reject_path: Path | None = None, progress: Progress | None = None,
                default_source: str = "hotline_import") -> ImportResult:
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
        raise InvalidInput(f"{path}: {n} bad row(s), nothing imported; first: line {first.line}, "
                           f"column {first.column}: {first.reason}", res.errors)
    if bad_lines:
        reject_path = reject_path or default_reject_path(path, fmt.kind)
        try:
            write_rejects(reject_path, fmt, bad_lines, res.errors)
        except OSError as e:
            raise InvalidInput(f"{reject_path}: cannot write the reject file ({e.strerror}); "
                               "nothing imported") from None
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


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def write_rejects(reject_path: Path, fmt: SourceFormat, bad_lines: dict[int, dict[str, Any] | BadLine],
                  errors: list[FieldError]) -> None:
    """Write the bad rows to ``reject_path`` in the input's format (see module docstring): rows as
    read, each with its reasons in the ``error`` column or key. Raises OSError if it cannot."""
    why: dict[int, list[str]] = {}
    for fe in errors:
        why.setdefault(fe.line or 0, []).append(_one_line(str(fe)))
    if fmt.kind == "jsonl":
        # objects first: a reject file that starts with a non-object line would not read as JSONL
        order = sorted(bad_lines.items(), key=lambda kv: (isinstance(kv[1], BadLine), kv[0]))
        with reject_path.open("w", encoding="utf-8", newline="\n") as fh:
            for line, row in order:
                if isinstance(row, BadLine):
                    fh.write(row.text + "\n")
                else:
                    obj = {ERROR_COLUMN: "; ".join(why.get(line, [])), **row}
                    fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        return
    with reject_path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([ERROR_COLUMN, *fmt.header])
        for line, row in sorted(bad_lines.items()):
            values = list(row.values) if isinstance(row, BadLine) else [row.get(h, "") for h in fmt.header]
            w.writerow(["; ".join(why.get(line, [])), *values])


def _drop_existing(session: Session, good: list[tuple[int, EventCreate]],
                   originals: dict[int, dict[str, Any]],
                   bad: Callable[[int, Any, str, str], None]) -> list[tuple[int, EventCreate]]:
    """Rows whose ``(source, external_id)`` is already an event become errors (not a database
    integrity error at insert time)."""
    keys = {(d.source, d.external_id) for _, d in good if d.external_id}
    if not keys:
        return good
    have: dict[tuple[str, str | None], int] = {}
    by_source: dict[str, list[str]] = {}
    for src_, xid_ in keys:
        by_source.setdefault(src_, []).append(str(xid_))
    for source, ext in ((k, sorted(v)) for k, v in by_source.items()):
        for i in range(0, len(ext), 900):
            # (source, external_id) is the unique index: both columns make it a direct lookup
            q = select(Event.id, Event.source, Event.external_id).where(
                Event.source == source, Event.external_id.in_(ext[i:i + 900]))
            for eid, src, xid in session.execute(q):
                have[(src, xid)] = eid
    out = []
    for line, d in good:
        dup = have.get((d.source, d.external_id)) if d.external_id else None
        if dup is not None:
            why = f'{d.source} report "{d.external_id}" already exists as event {dup}'
            bad(line, originals[line], "external_id", why)
            continue
        out.append((line, d))
    return out


def _place(session: Session, good: list[tuple[int, EventCreate]], res: ImportResult,
           bad_lines: dict[int, Any], originals: dict[int, dict[str, Any]]
           ) -> list[tuple[EventCreate, dict[str, Any]]]:
    """Resolve the area of every good row (vectorised); rows that cannot be placed become errors."""
    loc = org.locator(session)
    coords = [(i, d) for i, (_, d) in enumerate(good) if d.lon is not None and d.lat is not None]
    places: dict[int, dict[str, Any]] = {}
    if coords:
        lons = np.array([d.lon for _, d in coords], dtype=float)
        lats = np.array([d.lat for _, d in coords], dtype=float)
        gcj = np.array([d.crs == "gcj02" for _, d in coords])
        for k in np.nonzero(gcj)[0].tolist():
            lons[k], lats[k] = org_rules.gcj02_to_wgs84(float(lons[k]), float(lats[k]))
        levels = {lv: loc.levels[lv].locate_many(lons, lats) if lv in loc.levels else [None] * len(coords)
                  for lv in ("district", "town", "village", "grid")}
        for k, (i, _) in enumerate(coords):
            places[i] = {"lon": float(lons[k]), "lat": float(lats[k]), "district": levels["district"][k],
                         "town_code": levels["town"][k], "village_code": levels["village"][k],
                         "grid_code": levels["grid"][k]}
    codes = {d.grid_code or d.village_code or d.town_code for _, d in good if d.lon is None} - {None}
    units = ({u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
             if codes else {})
    village_of_grid: dict[str, str | None] = {}
    if units:
        parent_ids = {u.parent_id for u in units.values() if u.level == "grid" and u.parent_id is not None}
        pmap = dict(session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(parent_ids))).all())
        village_of_grid = {u.code: pmap.get(u.parent_id) if u.parent_id is not None else None
                           for u in units.values() if u.level == "grid"}
    out = []
    cat = service.catalogue()
    for i, (line, d) in enumerate(good):
        area: dict[str, Any]
        if (d.lon is None) != (d.lat is None):
            col = "lat" if d.lat is None else "lon"
            res.errors.append(FieldError(col, "give both lon and lat", line=line, column=col))
            bad_lines[line] = originals[line]
            continue
        if i in places:
            p = places[i]
            if p["district"] is None:
                if not cat.leaf(d.category_code).allow_out_of_area:
                    res.errors.append(FieldError("lon/lat", "outside every loaded district", line=line,
                                                 column="lon"))
                    bad_lines[line] = originals[line]
                    continue
                area = {"district_code": None, "town_code": None, "village_code": None, "grid_code": None,
                        "out_of_area": True}
            else:
                area = {"district_code": loc.parent[p["district"]][0], "town_code": p["town_code"],
                        "village_code": p["village_code"], "grid_code": p["grid_code"], "out_of_area": False}
            area["lon"], area["lat"] = p["lon"], p["lat"]
        else:
            code = d.grid_code or d.village_code or d.town_code
            colname = "grid_code" if d.grid_code else "village_code" if d.village_code else "town_code"
            u = units.get(code) if code else None
            if code is None or u is None or u.level != colname.split("_")[0]:
                level = colname.split("_")[0]
                why = "give lon/lat or an area code" if code is None else f'unknown {level} "{code}"'
                res.errors.append(FieldError(colname if code else "lon", why, line=line,
                                             column=colname if code else "lon"))
                bad_lines[line] = originals[line]
                continue
            area = {"district_code": u.district_code, "town_code": u.town_code,
                    "village_code": village_of_grid.get(u.code) if u.level == "grid" else
                    (u.code if u.level == "village" else None),
                    "grid_code": u.code if u.level == "grid" else None, "out_of_area": False,
                    "lon": None, "lat": None}
        out.append((d, area))
    return out


def insert_events(session: Session, placed: list[tuple[EventCreate, dict[str, Any]]], district6: str,
                  progress: Progress | None = None, batch: int = 20_000) -> list[int]:
    """Insert placed rows as events at node ``reported`` plus their ``report`` timeline rows;
    returns the new ids in input order. Routing (权属配置) fills the responsible unit."""
    now = ztime.utcnow()
    cat = service.catalogue()
    frac = get_settings().due_soon_fraction
    routers: dict[str, service.Router] = {}
    ids: list[int] = []
    total = len(placed)
    for start in range(0, total, batch):
        chunk = placed[start:start + batch]
        rows = []
        for d, area in chunk:
            d6 = area["district_code"] or district6
            r = routers.get(d6) or routers.setdefault(d6, service.router_for(session, d6))
            try:
                unit, mode = r.route(d.category_code, area["town_code"], area["village_code"],
                                     area["grid_code"])
            except InvalidInput:
                unit, mode = None, None
            at = ztime.to_utc(d.reported_at) if d.reported_at else now
            amount, clock = cat.limit(d.category_code, "accept", d.urgency)
            rows.append({
                "source": d.source, "external_id": d.external_id, "category_code": d.category_code,
                "title": d.title, "description": d.description, "lon": area["lon"], "lat": area["lat"],
                "address": d.address, "location_generated": False, "out_of_area": area["out_of_area"],
                "district_code": d6, "town_code": area["town_code"], "village_code": area["village_code"],
                "grid_code": area["grid_code"], "reporter_ref": d.reporter_ref,
                "reporter_name": d.reporter_name,
                "reporter_phone": d.reporter_phone, "urgency": d.urgency or cat.leaf(d.category_code).urgency,
                "node": Node.REPORTED.value, "suggested_unit_code": unit, "dispatch_mode": mode,
                "reported_at": at,
                "node_seq": 1, "node_entered_at": at, "node_limit": f"{float(amount):g} {clock}",
                "node_deadline": (deadline := ztime.deadline(at, float(amount), clock)),
                "next_check_at": rules.next_check(at, deadline, at, float(amount), clock, 0.0, frac),
                "is_drill": d.is_drill,
                "version": 1, "colour": "green",
            })
        new_ids = _insert_returning_ids(session, EVENT, rows)
        session.execute(insert(EVENT_STEP), [
            {"event_id": eid, "at": row["reported_at"], "action": "report", "from_node": None,
             "to_node": Node.REPORTED.value, "actor_name": "系统导入", "actor_role": "system",
             "comment": f"来源 {row['source']}", "limit": row["node_limit"], "overdue": False, "data": {}}
            for eid, row in zip(new_ids, rows, strict=True)])
        ids.extend(new_ids)
        if progress:
            progress(len(ids), total)
    return ids


def _insert_returning_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """INSERT ``rows`` into ``table`` and return their new ids in input order.

    PostgreSQL batches ``INSERT … RETURNING`` in parameter order. SQLite cannot order RETURNING rows,
    so SQLAlchemy would fall back to one statement per row (6x slower in bench/intake.py). On SQLite
    the first row is therefore inserted alone with RETURNING, which takes the database's single write
    lock, and the rest with one executemany: while the lock is held each row gets rowid max + 1, so
    the ids follow the first one in input order. Raises RuntimeError if they do not (checked)."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "sqlite":
        return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
    first = session.execute(insert(table).returning(table.c.id), rows[0]).scalar_one()
    if len(rows) > 1:
        session.execute(insert(table), rows[1:])
    last = first + len(rows) - 1
    if session.scalar(select(func.max(table.c.id))) != last:
        raise RuntimeError(f"{table.name}: bulk insert did not get consecutive ids from {first}")
    return list(range(first, last + 1))
