"""Locating points (点位落区): which district, town, village and grid a WGS-84 point falls in, with a
per-database cached :class:`Locator`."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.org import rules
from zhizhi.org.models import OrgUnit


@dataclass
class Place:
    """Where a point falls: codes of the district, town, village and grid (None outside), or the
    distance in metres to the nearest loaded district when outside all of them."""

    district_code: str | None
    town_code: str | None
    village_code: str | None
    grid_code: str | None
    distance_m: float = 0.0
    nearest_district: str | None = None


class Locator:
    """Point-in-polygon lookups over the loaded districts, towns, villages and grids (shapely STRtree)."""

    def __init__(self, units: Iterable[tuple[str, str, str, str | None, bytes]]) -> None:
        by_level: dict[str, list[tuple[str, BaseGeometry]]] = defaultdict(list)
        self.parent: dict[str, tuple[str, str | None]] = {}
        for code, level, district6, town, wkb in units:
            by_level[level].append((code, shapely.from_wkb(wkb)))
            self.parent[code] = (district6, town)
        self.district_geoms = dict(by_level["district"])
        self.levels = {lv: rules.PointLocator(items) for lv, items in by_level.items() if items}

    def locate(self, lon: float, lat: float) -> Place:
        """Resolve one WGS-84 point; see :class:`Place`."""

        def at(level: str) -> str | None:
            loc = self.levels.get(level)
            return loc.locate(lon, lat) if loc else None

        d = at("district")
        if d is None:
            if not self.district_geoms:
                return Place(None, None, None, None, float("inf"), None)
            code, dist = self.levels["district"].nearest(lon, lat)
            if dist > 50_000:  # far away the local projection is off: measure on the sphere
                near, _ = nearest_points(self.district_geoms[code], Point(lon, lat))
                dist = _great_circle_m(lon, lat, near.x, near.y)
            return Place(None, None, None, None, dist, self.parent[code][0])
        grid = at("grid")
        village = at("village")
        town = at("town")
        return Place(self.parent[d][0], town, village, grid)


_LOCATOR: dict[str, tuple[float, tuple[object, ...], Locator]] = {}
LOCATOR_CHECK_S = 30.0


def invalidate_locator() -> None:
    """Forget the cached locator (after loading districts or importing boundaries)."""
    _LOCATOR.clear()


def locator(session: Session) -> Locator:
    """The cached :class:`Locator` for the database behind ``session``.

    Rebuilt when the org's geometry changes: at once after a load or boundary import in this process,
    and within ``LOCATOR_CHECK_S`` seconds after one made by another process (e.g. ``zhizhi org load``
    while the server runs), found by a cheap count/max query."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    hit = _LOCATOR.get(key)
    if hit is not None and now - hit[0] < LOCATOR_CHECK_S:
        return hit[2]
    sig = tuple(
        session.execute(
            select(func.count(), func.max(OrgUnit.id)).where(
                OrgUnit.geom.is_not(None), OrgUnit.level.in_(["district", "town", "village", "grid"])
            )
        ).one()
    )
    if hit is not None and hit[1] == sig:
        _LOCATOR[key] = (now, sig, hit[2])
        return hit[2]
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.level, OrgUnit.district_code, OrgUnit.town_code, OrgUnit.geom).where(
            OrgUnit.geom.is_not(None), OrgUnit.level.in_(["district", "town", "village", "grid"])
        )
    ).all()
    loc = Locator([(r[0], r[1], r[2], r[3], r[4]) for r in rows if r[4] is not None])
    _LOCATOR[key] = (now, sig, loc)
    return loc


def _great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))
