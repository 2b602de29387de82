"""Placing and storing intake rows (落点与入库): rows already in the database, vectorised placing in
the org tree, routing and the bulk insert of events with their ``report`` timeline rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import rules, service
from zhizhi.event.models import Event, EventStep
from zhizhi.event.rules import Node
from zhizhi.event.schemas import EventCreate
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit

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
        return {
            "file": self.file,
            "rows": self.rows,
            "imported": self.imported,
            "rejected_rows": len({e.line for e in self.errors}),
            "reject_file": self.reject_file,
            "errors": [e.as_dict() for e in self.errors[:200]],
        }


def _drop_existing(
    session: Session,
    good: list[tuple[int, EventCreate]],
    originals: dict[int, dict[str, Any]],
    bad: Callable[[int, Any, str, str], None],
) -> list[tuple[int, EventCreate]]:
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
                Event.source == source, Event.external_id.in_(ext[i : i + 900])
            )
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


def _place(
    session: Session,
    good: list[tuple[int, EventCreate]],
    res: ImportResult,
    bad_lines: dict[int, Any],
    originals: dict[int, dict[str, Any]],
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
        levels = {
            lv: loc.levels[lv].locate_many(lons, lats) if lv in loc.levels else [None] * len(coords)
            for lv in ("district", "town", "village", "grid")
        }
        for k, (i, _) in enumerate(coords):
            places[i] = {
                "lon": float(lons[k]),
                "lat": float(lats[k]),
                "district": levels["district"][k],
                "town_code": levels["town"][k],
                "village_code": levels["village"][k],
                "grid_code": levels["grid"][k],
            }
    codes = {d.grid_code or d.village_code or d.town_code for _, d in good if d.lon is None} - {None}
    units = (
        {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))} if codes else {}
    )
    village_of_grid: dict[str, str | None] = {}
    if units:
        parent_ids = {u.parent_id for u in units.values() if u.level == "grid" and u.parent_id is not None}
        pmap = dict(session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(parent_ids))).all())
        village_of_grid = {
            u.code: pmap.get(u.parent_id) if u.parent_id is not None else None
            for u in units.values()
            if u.level == "grid"
        }
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
                    res.errors.append(
                        FieldError("lon/lat", "outside every loaded district", line=line, column="lon")
                    )
                    bad_lines[line] = originals[line]
                    continue
                area = {
                    "district_code": None,
                    "town_code": None,
                    "village_code": None,
                    "grid_code": None,
                    "out_of_area": True,
                }
            else:
                area = {
                    "district_code": loc.parent[p["district"]][0],
                    "town_code": p["town_code"],
                    "village_code": p["village_code"],
                    "grid_code": p["grid_code"],
                    "out_of_area": False,
                }
            area["lon"], area["lat"] = p["lon"], p["lat"]
        else:
            code = d.grid_code or d.village_code or d.town_code
            colname = "grid_code" if d.grid_code else "village_code" if d.village_code else "town_code"
            u = units.get(code) if code else None
            if code is None or u is None or u.level != colname.split("_")[0]:
                level = colname.split("_")[0]
                why = "give lon/lat or an area code" if code is None else f'unknown {level} "{code}"'
                res.errors.append(
                    FieldError(colname if code else "lon", why, line=line, column=colname if code else "lon")
                )
                bad_lines[line] = originals[line]
                continue
            area = {
                "district_code": u.district_code,
                "town_code": u.town_code,
                "village_code": village_of_grid.get(u.code)
                if u.level == "grid"
                else (u.code if u.level == "village" else None),
                "grid_code": u.code if u.level == "grid" else None,
                "out_of_area": False,
                "lon": None,
                "lat": None,
            }
        out.append((d, area))
    return out


def insert_events(
    session: Session,
    placed: list[tuple[EventCreate, dict[str, Any]]],
    district6: str,
    progress: Progress | None = None,
    batch: int = 20_000,
) -> list[int]:
    """Insert placed rows as events at node ``reported`` plus their ``report`` timeline rows;
    returns the new ids in input order. Routing (权属配置) fills the responsible unit."""
    now = ztime.utcnow()
    cat = service.catalogue()
    frac = get_settings().due_soon_fraction
    routers: dict[str, service.Router] = {}
    ids: list[int] = []
    total = len(placed)
    for start in range(0, total, batch):
        chunk = placed[start : start + batch]
        rows = []
        for d, area in chunk:
            d6 = area["district_code"] or district6
            r = routers.get(d6) or routers.setdefault(d6, service.router_for(session, d6))
            try:
                unit, mode = r.route(
                    d.category_code, area["town_code"], area["village_code"], area["grid_code"]
                )
            except InvalidInput:
                unit, mode = None, None
            at = ztime.to_utc(d.reported_at) if d.reported_at else now
            amount, clock = cat.limit(d.category_code, "accept", d.urgency)
            rows.append(
                {
                    "source": d.source,
                    "external_id": d.external_id,
                    "category_code": d.category_code,
                    "title": d.title,
                    "description": d.description,
                    "lon": area["lon"],
                    "lat": area["lat"],
                    "address": d.address,
                    "location_generated": False,
                    "out_of_area": area["out_of_area"],
                    "district_code": d6,
                    "town_code": area["town_code"],
                    "village_code": area["village_code"],
                    "grid_code": area["grid_code"],
                    "reporter_ref": d.reporter_ref,
                    "reporter_name": d.reporter_name,
                    "reporter_phone": d.reporter_phone,
                    "urgency": d.urgency or cat.leaf(d.category_code).urgency,
                    "node": Node.REPORTED.value,
                    "suggested_unit_code": unit,
                    "dispatch_mode": mode,
                    "reported_at": at,
                    "node_seq": 1,
                    "node_entered_at": at,
                    "node_limit": f"{float(amount):g} {clock}",
                    "node_deadline": (deadline := ztime.deadline(at, float(amount), clock)),
                    "next_check_at": rules.next_check(at, deadline, at, float(amount), clock, 0.0, frac),
                    "is_drill": d.is_drill,
                    "version": 1,
                    "colour": "green",
                }
            )
        new_ids = _insert_returning_ids(session, EVENT, rows)
        session.execute(
            insert(EVENT_STEP),
            [
                {
                    "event_id": eid,
                    "at": row["reported_at"],
                    "action": "report",
                    "from_node": None,
                    "to_node": Node.REPORTED.value,
                    "actor_name": "系统导入",
                    "actor_role": "system",
                    "comment": f"来源 {row['source']}",
                    "limit": row["node_limit"],
                    "overdue": False,
                    "data": {},
                }
                for eid, row in zip(new_ids, rows, strict=True)
            ],
        )
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
