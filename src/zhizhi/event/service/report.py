"""Reporting (上报): placing, validating and recording a new event; proposing similar-event merges."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, has_permission, scope_of
from zhizhi.core.config import get_settings
from zhizhi.core.errors import Conflict, FieldError, InvalidInput
from zhizhi.event import rules
from zhizhi.event.models import (
    Event,
    EventStep,
    MergeProposal,
)
from zhizhi.event.rules import Node
from zhizhi.event.schemas import EventCreate
from zhizhi.event.service.common import SYSTEM, _enter, validate_category
from zhizhi.event.service.notify import changed
from zhizhi.event.service.routing import router_for
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit


def _resolve_area(
    session: Session,
    data: EventCreate,
    lon: float | None,
    lat: float | None,
    allow_out: bool,
    district6: str | None,
) -> dict[str, Any]:
    loc = org.locator(session)
    if lon is not None and lat is not None:
        place = loc.locate(lon, lat)
        if place.district_code is None:
            if not allow_out:
                where = f" (nearest district {place.nearest_district})" if place.nearest_district else ""
                raise InvalidInput(
                    f"location {lon:.6f},{lat:.6f} is outside every loaded district, "
                    f"{place.distance_m:,.0f} m from the boundary{where}",
                    [FieldError("lon/lat", f"outside the district by {place.distance_m:,.0f} m")],
                    extra={
                        "distance_m": round(place.distance_m, 1),
                        "params": {"distance_km": round(place.distance_m / 1000, 1)},
                    },
                    code="event.outside_district",
                )
            d6 = district6 or place.nearest_district or get_settings().district_code
            return {
                "district_code": d6,
                "out_of_area": True,
                "town_code": None,
                "village_code": None,
                "grid_code": None,
            }
        return {
            "district_code": place.district_code,
            "town_code": place.town_code,
            "village_code": place.village_code,
            "grid_code": place.grid_code,
            "out_of_area": False,
        }
    code = data.grid_code or data.village_code or data.town_code
    if not code:
        raise InvalidInput(
            "give lon/lat or an area code (grid_code, village_code or town_code)",
            [FieldError("lon", "required when no area code is given")],
        )
    field = "grid_code" if data.grid_code else "village_code" if data.village_code else "town_code"
    level = field.split("_")[0]
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == level))
    if unit is None:
        raise InvalidInput(f'unknown {level} "{code}"', [FieldError(field, f'unknown {level} "{code}"')])
    out = {
        "district_code": unit.district_code,
        "town_code": unit.town_code,
        "village_code": None,
        "grid_code": None,
        "out_of_area": False,
    }
    if level == "grid":
        out["grid_code"] = unit.code
        parent = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
        out["village_code"] = parent.code if parent else None
    elif level == "village":
        out["village_code"] = unit.code
    return out


def create_event(
    session: Session,
    actor: Actor | None,
    data: EventCreate,
    propose_merges: bool = True,
    file_in: str | None = None,
) -> Event:
    """Record a report (上报) as an event at node ``reported`` with its 受理 deadline.

    Resolves the town/village/grid by point-in-polygon; GCJ-02 input (``crs="gcj02"``) is converted to
    WGS-84 first. Refuses (InvalidInput) unknown categories and areas, points outside the loaded
    districts (with the distance) unless the category allows out-of-area reports, and reports outside
    a grid worker's own scope. Proposes merges with similar open events (rules.is_similar).
    ``file_in`` (a loaded district, for the platform and out-of-area categories only) files the report
    there as out-of-area even when the point lies in another loaded district: a neighbour alert.
    """
    leaf = validate_category(data.category_code)
    lon, lat = data.lon, data.lat
    if (lon is None) != (lat is None):
        missing = "lat" if lat is None else "lon"
        raise InvalidInput(f"{missing} is missing (give both lon and lat)", [FieldError(missing, "required")])
    if lon is not None and lat is not None and data.crs == "gcj02":
        lon, lat = org_rules.gcj02_to_wgs84(lon, lat)
    area = _resolve_area(
        session, data, lon, lat, bool(leaf.allow_out_of_area), actor.district_code if actor else None
    )
    if file_in is not None and area["district_code"] != file_in:
        # 邻区通报 (neighbour alert): the platform files a located report in another loaded district
        if actor is None or not has_permission(actor, "event.any_district") or not leaf.allow_out_of_area:
            why = f"only the platform may file a report in district {file_in} for a point outside it"
            raise InvalidInput(why, [FieldError("district", why)])
        area = {
            "district_code": file_in,
            "out_of_area": True,
            "town_code": None,
            "village_code": None,
            "grid_code": None,
        }
    if (
        actor is not None
        and not has_permission(actor, "event.any_district")
        and actor.district_code
        and area["district_code"] != actor.district_code
    ):
        raise InvalidInput(
            f"the location is in district {area['district_code']}, outside your district",
            [FieldError("lon/lat", "outside your district")],
        )
    if actor is not None:
        _check_report_scope(session, actor, area)
    now = ztime.utcnow()
    district_role = actor is None or has_permission(actor, "event.backdate_report")
    if actor is not None and not district_role:
        if data.reported_at is not None:
            why = "only the district center may back-date a report (reported_at); leave it out"
            raise InvalidInput(why, [FieldError("reported_at", why)])
        if data.source not in STAFF_SOURCES:
            allowed = ", ".join(STAFF_SOURCES)
            why = f'source "{data.source}" is for the district center and imports; use one of {allowed}'
            raise InvalidInput(why, [FieldError("source", why)])
    reported_at = ztime.to_utc(data.reported_at) if data.reported_at else now
    if reported_at > now + timedelta(minutes=5):
        raise InvalidInput("reported_at is in the future", [FieldError("reported_at", "in the future")])
    if data.external_id:
        dup = session.scalar(
            select(Event.id).where(Event.source == data.source, Event.external_id == data.external_id)
        )
        if dup is not None:
            # say which event only to those who may see every event of the district
            which = f" as event {dup}" if district_role else ""
            raise Conflict(
                f'{data.source} report "{data.external_id}" already exists{which}',
                extra={"event_id": dup} if district_role else {},
            )
    ev = Event(
        source=data.source,
        external_id=data.external_id,
        category_code=data.category_code,
        title=data.title,
        description=data.description,
        lon=lon,
        lat=lat,
        address=data.address,
        reporter_id=actor.id if actor else None,
        reporter_ref=data.reporter_ref,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        urgency=data.urgency or leaf.urgency,
        reported_at=reported_at,
        is_drill=data.is_drill,
        node_seq=0,
        dispatch_count=0,
        return_count=0,
        rework_count=0,
        reopen_count=0,
        escalation_level=0,
        **area,
    )
    try:
        ev.suggested_unit_code, ev.dispatch_mode = router_for(session, area["district_code"]).route(
            data.category_code, area["town_code"], area["village_code"], area["grid_code"]
        )
    except InvalidInput:
        ev.suggested_unit_code, ev.dispatch_mode = None, None
    _enter(ev, Node.REPORTED, reported_at)
    session.add(ev)
    session.flush()
    who = actor or SYSTEM
    session.add(
        EventStep(
            event_id=ev.id,
            at=reported_at,
            action="report",
            from_node=None,
            to_node=ev.node,
            actor_id=who.id,
            actor_name=who.name,
            actor_role=who.role,
            unit_code=who.unit_code or None,
            comment=f"来源 {data.source}",
            limit=ev.node_limit,
            data={},
        )
    )
    if propose_merges and lon is not None and lat is not None:
        _propose_merges(session, ev)
    changed(session, ev, "report")  # announced to live pages after the commit
    return ev


STAFF_SOURCES = ("grid_app", "web")


def _check_report_scope(session: Session, actor: Actor, area: dict[str, Any]) -> None:
    """A grid worker reports in their own grid, a town's staff in their own town (data scope of the
    permission table); district and department staff anywhere in their district. Raises
    InvalidInput naming where the report would land (code ``event.outside_grid`` /
    ``event.outside_town``, ``params``: ``{"where", "where_name", "own", "own_name"}``, codes and
    names of the units; ``where`` may be None)."""
    sc = scope_of(actor)

    def refuse(code: str, why: str, where: str | None) -> InvalidInput:
        wanted = [where or "", sc.code]
        names = {
            c: n
            for c, n in session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(wanted)))
        }
        params = {
            "where": where,
            "where_name": names.get(where or ""),
            "own": sc.code,
            "own_name": names.get(sc.code),
        }
        return InvalidInput(why, [FieldError("lon/lat", why)], extra={"params": params}, code=code)

    if sc.kind == "grid" and area.get("grid_code") != sc.code:
        where = area.get("grid_code") or area.get("town_code")
        why = f"the report would land in {where or 'no grid'}, outside your grid {sc.code}"
        raise refuse("event.outside_grid", why, where)
    if sc.kind == "town" and area.get("town_code") != sc.code:
        where = area.get("town_code")
        why = f"the report would land in {where or 'no town'}, outside your town {sc.code}"
        raise refuse("event.outside_town", why, where)


def _propose_merges(session: Session, ev: Event) -> None:
    """Propose merging ``ev`` with the earliest similar open event (same category, within the merge
    radius and window; rules.is_similar). One proposal per new report, so a burst of reports of the
    same thing all point at the first one instead of at each other."""
    if ev.lon is None or ev.lat is None:
        return
    s = get_settings()
    window = timedelta(hours=s.merge_window_h)
    dlat = s.merge_radius_m / 111_000.0
    dlon = dlat / max(0.2, math.cos(math.radians(ev.lat)))
    rows = session.execute(
        select(Event.id, Event.lon, Event.lat, Event.reported_at)
        .where(
            Event.id != ev.id,
            Event.category_code == ev.category_code,
            Event.merged_into_id.is_(None),
            Event.node.notin_([Node.REJECTED.value, Node.MERGED.value]),
            Event.reported_at.between(ev.reported_at - window, ev.reported_at + window),
            Event.lat.between(ev.lat - dlat, ev.lat + dlat),
            Event.lon.between(ev.lon - dlon, ev.lon + dlon),
        )
        .order_by(Event.reported_at, Event.id)
        .limit(50)
    ).all()
    for cid, clon, clat, cat in rows:
        if clon is None or clat is None:
            continue
        d = rules.haversine_m(ev.lon, ev.lat, clon, clat)
        hours = (ev.reported_at - cat).total_seconds() / 3600
        if rules.is_similar(ev.category_code, ev.category_code, d, hours, s.merge_radius_m, s.merge_window_h):
            parent_id, child_id = (cid, ev.id) if cat <= ev.reported_at else (ev.id, cid)
            session.add(
                MergeProposal(
                    event_id=child_id,
                    parent_id=parent_id,
                    distance_m=d,
                    hours_apart=abs(hours),
                    created_at=ztime.utcnow(),
                )
            )
            session.flush()
            return
