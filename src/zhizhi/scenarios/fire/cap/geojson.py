"""The daily bulletin as GeoJSON (火险等级地图, RFC 7946) for the map."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from zhizhi.core.time import LOCAL_TZ
from zhizhi.scenarios.fire.cap.policy import CapPolicy, Status, default_cap_policy
from zhizhi.scenarios.fire.cap.ratings import TownRating, check_ratings, valid_period
from zhizhi.scenarios.fire.rules import DangerPolicy, default_policy


def _round(coords: Any, nd: int) -> Any:
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return [round(float(c), nd) for c in coords]
        return [_round(c, nd) for c in coords]
    return coords


def bulletin_geojson(
    ratings: Sequence[TownRating],
    geometries: Mapping[str, BaseGeometry | None],
    *,
    generated: Mapping[str, bool] | None = None,
    status: Status = "Actual",
    policy: CapPolicy | None = None,
    danger: DangerPolicy | None = None,
    decimals: int = 6,
) -> bytes:
    """The daily bulletin as a GeoJSON FeatureCollection (RFC 7946; WGS-84 lon/lat) for the map.

    One Feature per town: its polygon from ``geometries[town_code]`` (shapely, WGS-84; ``None`` or
    missing → ``"geometry": null``), coordinates rounded to ``decimals`` places (6 ≈ 0.1 m), and
    properties town_code, town_name, county_code, date, level, label, name, colour (#RRGGBB),
    colour_name, warning_flag, valid_from/valid_to (ISO 8601, Beijing time), geometry_generated (the
    town polygon is zhizhi's approximation, not a surveyed boundary; from ``generated``). The
    collection's ``status`` member says Actual/Exercise/Test as in CAP. Returns UTF-8 JSON bytes.
    Raises ValueError for invalid ratings (:func:`check_ratings`).
    """
    pol = policy or default_cap_policy()
    dpol = danger or default_policy()
    check_ratings(ratings)
    feats = []
    for r in ratings:
        lv = dpol.level(r.level)
        start, end = (r.valid_from, r.valid_to) if r.valid_from and r.valid_to else valid_period(r.day, pol)
        g = geometries.get(r.town_code)
        geom = None
        if g is not None and not g.is_empty:
            m = dict(mapping(g))
            geom = {"type": m["type"], "coordinates": _round(m["coordinates"], decimals)}
        props: dict[str, Any] = {
            "town_code": r.town_code,
            "town_name": r.town_name,
            "county_code": r.county_code,
            "date": r.day.isoformat(),
            "level": r.level,
            "label": lv.label,
            "name": lv.name,
            "colour": lv.colour,
            "colour_name": lv.colour_name,
            "warning_flag": lv.warning_flag,
            "valid_from": start.astimezone(LOCAL_TZ).isoformat(),
            "valid_to": end.astimezone(LOCAL_TZ).isoformat(),
            "geometry_generated": bool((generated or {}).get(r.town_code, False)),
        }
        if r.index_name and r.index_value is not None:
            props["index_name"], props["index_value"] = r.index_name, r.index_value
        feats.append({"type": "Feature", "id": r.town_code, "geometry": geom, "properties": props})
    doc = {
        "type": "FeatureCollection",
        "name": f"森林火险气象等级 {ratings[0].county_code} {ratings[0].day.isoformat()}",
        "status": status,
        "features": feats,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
