"""Organisation API (组织): stats, units with GeoJSON geometry, boundaries as one GeoJSON
FeatureCollection (for maps), point lookup."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any, Literal

import shapely
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.core.http import get_session, permit
from zhizhi.org import rules, service
from zhizhi.org.models import OrgUnit

router = APIRouter(prefix="/api/v1/org", tags=["org"])
LEVELS = ("district", "town", "village", "grid", "center", "department", "board", "post")


@router.get("/stats")
def org_stats(session: Session = Depends(get_session, scope="function")) -> dict[str, Any]:
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
    session: Session = Depends(get_session, scope="function"),
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
def get_unit(code: str, session: Session = Depends(get_session, scope="function")) -> dict[str, Any]:
    """One org unit with its geometry (GeoJSON, WGS-84)."""
    return _unit(service.get_unit(session, code), True)


@router.get("/locate")
def locate(
    lon: float = Query(ge=-180, le=180),
    lat: float = Query(ge=-90, le=90),
    crs: Literal["wgs84", "gcj02"] = "wgs84",
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    """Which district/town/village/grid a point falls in (GCJ-02 input converted with ``crs=gcj02``)."""
    if crs == "gcj02":
        lon, lat = rules.gcj02_to_wgs84(lon, lat)
    place = service.locator(session).locate(lon, lat)
    if place.district_code is None and place.nearest_district is None:
        raise NotFound("no district is loaded")
    return {"lon": lon, "lat": lat, **place.__dict__}


_GEOJSON_CACHE: dict[tuple[Any, ...], tuple[bytes, str]] = {}
_GEOJSON_LOCK = threading.Lock()
METRES_PER_DEGREE = 111_320.0  # one degree of latitude, metres (WGS-84 mean, good to 0.5 %)


def _feature_collection(rows: list[OrgUnit], simplify_m: float) -> dict[str, Any]:
    features = []
    for u in rows:
        g = shapely.from_wkb(u.geom)
        if simplify_m > 0:
            g = shapely.simplify(g, simplify_m / METRES_PER_DEGREE, preserve_topology=True)
        g = shapely.set_precision(g, 1e-5)  # 5 decimals: about 1 m, a third of the bytes
        features.append(
            {
                "type": "Feature",
                "id": u.code,
                "properties": {
                    "code": u.code,
                    "name": u.name,
                    "level": u.level,
                    "town_code": u.town_code,
                    "generated": u.generated,
                },
                "geometry": shapely.geometry.mapping(g),
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get("/geojson", responses={200: {"content": {"application/geo+json": {}}}})
def boundaries(
    request: Request,
    level: Literal["district", "town", "village", "grid"] = "town",
    district: str | None = Query(None, pattern=r"^[0-9]{6}$", description="default: the caller's"),
    town: str | None = Query(None, pattern=r"^[0-9]{12}$", description="only this town's units"),
    simplify_m: float = Query(25.0, ge=0, le=1000, description="simplification tolerance, metres"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.read")),
) -> Response:
    """Boundaries of one level of a district (towns by default) as a GeoJSON FeatureCollection
    (WGS-84 lon/lat, 5 decimals), each feature with its code and name: the base map of the pages.
    Boundaries only, no event data. Built once per database content and cached; ``ETag`` and
    ``If-None-Match`` let the browser reuse its copy (304)."""
    d6 = district or actor.district_code
    conds = [OrgUnit.level == level, OrgUnit.district_code == d6, OrgUnit.geom.is_not(None)]
    if town:
        conds.append(OrgUnit.town_code == town)
    n, last = session.execute(select(func.count(), func.max(OrgUnit.id)).where(*conds)).one()
    if not n:
        raise NotFound(f"no {level} boundaries loaded for district {d6}")
    bind = session.get_bind()
    key = (str(getattr(bind, "url", id(bind))), level, d6, town, simplify_m, n, last)
    hit = _GEOJSON_CACHE.get(key)
    if hit is None:
        rows = list(session.scalars(select(OrgUnit).where(*conds).order_by(OrgUnit.code)))
        body = json.dumps(_feature_collection(rows, simplify_m), ensure_ascii=False, separators=(",", ":"))
        data = body.encode("utf-8")
        hit = (data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
        with _GEOJSON_LOCK:
            if len(_GEOJSON_CACHE) > 64:
                _GEOJSON_CACHE.clear()
            _GEOJSON_CACHE[key] = hit
    data, etag = hit
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/geo+json", headers=headers)
