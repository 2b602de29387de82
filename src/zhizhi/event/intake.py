"""Bulk intake (批量导入) of events from CSV or JSONL files: ``zhizhi event import FILE``.

Columns (CSV header or JSON keys) are the fields of :class:`~zhizhi.event.schemas.EventCreate`:
``category_code, title`` (required), ``description, lon, lat, crs (wgs84|gcj02), address, grid_code,
village_code, town_code, urgency, reporter_name, reporter_phone, reporter_ref, external_id,
reported_at (ISO 8601; naive = Asia/Shanghai), source`` (default ``hotline_import``).

One transaction: with any bad row nothing is written and every bad row is reported (line, column,
reason). With ``skip_invalid`` the good rows are imported and the bad ones written to a reject file.
Rows are validated, placed (vectorised point-in-polygon) and routed first, then inserted with
executemany; each event gets its ``report`` timeline row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import service
from zhizhi.event.catalogue import CatalogueError
from zhizhi.event.models import Event, EventStep
from zhizhi.event.rules import Node
from zhizhi.event.schemas import EventCreate
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit

FIELDS = set(EventCreate.model_fields)
Progress = Callable[[int, int], None]


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


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` from a CSV (UTF-8, optional BOM) or JSONL file.

    The kind is taken from the content: a first non-blank character ``{`` means JSONL. Raises
    InvalidInput naming the file (and line) when it cannot be read."""
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
    if text.lstrip()[0] == "{":
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"{path}: line {i}, column {e.colno}: invalid JSON ({e.msg})",
                                   [FieldError("json", e.msg, line=i)]) from None
            if not isinstance(obj, dict):
                raise InvalidInput(f"{path}: line {i}: each line must be a JSON object")
            yield i, obj
        return
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h and h not in FIELDS]
    if unknown:
        raise InvalidInput(f'{path}: line 1: unknown column(s) {", ".join(unknown)}; known: {", ".join(sorted(FIELDS))}',
                           [FieldError(h, "unknown column", line=1, column=h) for h in unknown])
    for missing in ("category_code", "title"):
        if missing not in header:
            raise InvalidInput(f'{path}: line 1: required column "{missing}" is missing',
                               [FieldError(missing, "required column missing", line=1, column=missing)])
    for i, row in enumerate(reader, start=2):
        if None in row:
            raise InvalidInput(f"{path}: line {i}: more values than columns",
                               [FieldError("row", "more values than columns", line=i)])
        yield i, {k.strip(): (v if v != "" else None) for k, v in row.items() if k}


def import_file(session: Session, path: Path, district6: str, skip_invalid: bool = False,
                reject_path: Path | None = None, progress: Progress | None = None,
                default_source: str = "hotline_import") -> ImportResult:
    """Validate, place, route and insert every row of ``path`` (see module docstring).

    Raises InvalidInput listing every bad row (line, column, reason) when any row is bad and
    ``skip_invalid`` is false; nothing is written then."""
    res = ImportResult(file=str(path))
    good: list[tuple[int, EventCreate]] = []
    bad_lines: dict[int, dict[str, Any]] = {}
    cat = service.catalogue()
    for line, row in read_rows(path):
        res.rows += 1
        row.setdefault("source", default_source)
        try:
            data = EventCreate.model_validate(row)
        except ValidationError as e:
            for err in e.errors():
                col = ".".join(str(p) for p in err["loc"]) or "row"
                res.errors.append(FieldError(col, err["msg"], line=line, column=col))
            bad_lines[line] = row
            continue
        try:
            cat.leaf(data.category_code)
        except CatalogueError as e:
            res.errors.append(FieldError("category_code", str(e), line=line, column="category_code"))
            bad_lines[line] = row
            continue
        good.append((line, data))
    placed = _place(session, good, res, bad_lines)
    if res.errors and not skip_invalid:
        n = len(bad_lines)
        first = res.errors[0]
        raise InvalidInput(f"{path}: {n} bad row(s), nothing imported; first: line {first.line}, "
                           f"column {first.column}: {first.reason}", res.errors)
    if bad_lines:
        reject_path = reject_path or path.with_name(path.stem + ".rejects.jsonl")
        with reject_path.open("w", encoding="utf-8") as fh:
            by_line: dict[int, list[str]] = {}
            for e in res.errors:
                by_line.setdefault(e.line or 0, []).append(f"{e.column}: {e.reason}")
            for line, row in sorted(bad_lines.items()):
                fh.write(json.dumps({"line": line, "errors": by_line.get(line, []), "row": row},
                                    ensure_ascii=False, default=str) + "\n")
        res.reject_file = str(reject_path)
    res.event_ids = insert_events(session, placed, district6, progress)
    res.imported = len(res.event_ids)
    return res


def _place(session: Session, good: list[tuple[int, EventCreate]], res: ImportResult,
           bad_lines: dict[int, dict[str, Any]]) -> list[tuple[EventCreate, dict[str, Any]]]:
    """Resolve the area of every good row (vectorised); rows that cannot be placed become errors."""
    loc = org.locator(session)
    coords = [(i, d) for i, (_, d) in enumerate(good) if d.lon is not None and d.lat is not None]
    places: dict[int, dict[str, Any]] = {}
    if coords:
        lons = np.array([d.lon for _, d in coords], dtype=float)
        lats = np.array([d.lat for _, d in coords], dtype=float)
        gcj = np.array([d.crs == "gcj02" for _, d in coords])
        for k in np.nonzero(gcj)[0]:
            lons[k], lats[k] = org_rules.gcj02_to_wgs84(float(lons[k]), float(lats[k]))
        levels = {lv: loc.levels[lv].locate_many(lons, lats) if lv in loc.levels else [None] * len(coords)
                  for lv in ("district", "town", "village", "grid")}
        for k, (i, _) in enumerate(coords):
            places[i] = {"lon": float(lons[k]), "lat": float(lats[k]), "district": levels["district"][k],
                         "town_code": levels["town"][k], "village_code": levels["village"][k],
                         "grid_code": levels["grid"][k]}
    codes = {d.grid_code or d.village_code or d.town_code for _, d in good if d.lon is None} - {None}
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))} if codes else {}
    village_of_grid = {}
    if units:
        parent_ids = {u.parent_id for u in units.values() if u.level == "grid"}
        pmap = dict(session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(parent_ids))).all())
        village_of_grid = {u.code: pmap.get(u.parent_id) for u in units.values() if u.level == "grid"}
    out = []
    cat = service.catalogue()
    for i, (line, d) in enumerate(good):
        if (d.lon is None) != (d.lat is None):
            col = "lat" if d.lat is None else "lon"
            res.errors.append(FieldError(col, "give both lon and lat", line=line, column=col))
            bad_lines[line] = d.model_dump(mode="json")
            continue
        if i in places:
            p = places[i]
            if p["district"] is None:
                if not cat.leaf(d.category_code).allow_out_of_area:
                    res.errors.append(FieldError("lon/lat", "outside every loaded district", line=line,
                                                 column="lon"))
                    bad_lines[line] = d.model_dump(mode="json")
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
                why = "give lon/lat or an area code" if code is None else f'unknown {colname.split("_")[0]} "{code}"'
                res.errors.append(FieldError(colname if code else "lon", why, line=line,
                                             column=colname if code else "lon"))
                bad_lines[line] = d.model_dump(mode="json")
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
                unit, mode = r.route(d.category_code, area["town_code"], area["village_code"], area["grid_code"])
            except InvalidInput:
                unit, mode = None, None
            at = ztime.to_utc(d.reported_at) if d.reported_at else now
            amount, clock = cat.limit(d.category_code, "accept")
            rows.append({
                "source": d.source, "external_id": d.external_id, "category_code": d.category_code,
                "title": d.title, "description": d.description, "lon": area["lon"], "lat": area["lat"],
                "address": d.address, "location_generated": False, "out_of_area": area["out_of_area"],
                "district_code": d6, "town_code": area["town_code"], "village_code": area["village_code"],
                "grid_code": area["grid_code"], "reporter_ref": d.reporter_ref, "reporter_name": d.reporter_name,
                "reporter_phone": d.reporter_phone, "urgency": d.urgency or cat.leaf(d.category_code).urgency,
                "node": Node.REPORTED.value, "unit_code": unit, "dispatch_mode": mode, "reported_at": at,
                "node_seq": 1, "node_entered_at": at, "node_limit": f"{float(amount):g} {clock}",
                "node_deadline": ztime.deadline(at, float(amount), clock), "is_drill": d.is_drill,
                "version": 1, "colour": "green",
            })
        new_ids = list(session.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), rows))
        session.execute(insert(EventStep), [
            {"event_id": eid, "at": row["reported_at"], "action": "report", "from_node": None,
             "to_node": Node.REPORTED.value, "actor_name": "系统导入", "actor_role": "system",
             "comment": f"来源 {row['source']}", "limit": row["node_limit"], "overdue": False, "data": {}}
            for eid, row in zip(new_ids, rows, strict=True)])
        ids.extend(new_ids)
        if progress:
            progress(len(ids), total)
    return ids
