"""Organisation API (组织): stats, units with GeoJSON geometry, point lookup."""

from __future__ import annotations

from typing import Any, Literal

import shapely
from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.core.http import get_session
from zhizhi.org import rules, service
from zhizhi.org.models import OrgUnit

router = APIRouter(prefix="/api/v1/org", tags=["org"])
LEVELS = ("district", "town", "village", "grid", "center", "department", "board", "post")


@router.get("/stats")
def org_stats(session: Session = Depends(get_session)) -> dict[str, Any]:
    """Counts per level (generated vs real boundaries) for every loaded district."""
    return service.stats(session)


def _unit(u: OrgUnit, geometry: bool) -> dict[str, Any]:
    out = {
        "code": u.code,
        "name": u.name,
        "level": u.level,
        "district_code": u.district_code,
        "town_code": u.town_code,
        "lon": u.lon,
        "lat": u.lat,
        "generated": u.generated,
        "point_generated": u.point_generated,
        "attrs": u.attrs,
    }
    if geometry and u.geom is not None:
        out["geometry"] = shapely.geometry.mapping(shapely.from_wkb(u.geom))
    return out


@router.get("/units")
def list_units(
    level: str | None = None,
    parent: str | None = Query(default=None, description="parent code"),
    district: str | None = None,
    geometry: bool = False,
    limit: int = Query(500, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10**7),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Org units filtered by level, parent code and district; ``geometry=true`` adds GeoJSON."""
    if level is not None and level not in LEVELS:
        why = f'unknown level "{level}"; one of {", ".join(LEVELS)}'
        raise InvalidInput(why, [FieldError("level", why)])
    q = select(OrgUnit)
    if level:
        q = q.where(OrgUnit.level == level)
    if district:
        q = q.where(OrgUnit.district_code == district)
    if parent:
        p = service.get_unit(session, parent)
        q = q.where(OrgUnit.parent_id == p.id)
    rows = session.scalars(q.order_by(OrgUnit.code).limit(limit).offset(offset)).all()
    return {"items": [_unit(u, geometry) for u in rows], "limit": limit, "offset": offset}


@router.get("/units/{code}")
def get_unit(code: str, session: Session = Depends(get_session)) -> dict[str, Any]:
    """One org unit with its geometry (GeoJSON, WGS-84)."""
    return _unit(service.get_unit(session, code), True)


@router.get("/locate")
def locate(
    lon: float = Query(ge=-180, le=180),
    lat: float = Query(ge=-90, le=90),
    crs: Literal["wgs84", "gcj02"] = "wgs84",
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Which district/town/village/grid a point falls in (GCJ-02 input converted with ``crs=gcj02``)."""
    if crs == "gcj02":
        lon, lat = rules.gcj02_to_wgs84(lon, lat)
    place = service.locator(session).locate(lon, lat)
    if place.district_code is None and place.nearest_district is None:
        raise NotFound("no district is loaded")
    return {"lon": lon, "lat": lat, **place.__dict__}
