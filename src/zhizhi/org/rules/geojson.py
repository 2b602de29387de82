"""Reading GeoJSON features and geometries of boundaries."""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry


# ----------------------------------------------------------------------------------------- GeoJSON
def load_geojson_features(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    geometry_types: Collection[str] = ("Polygon", "MultiPolygon"),
    require_valid: bool = True,
    name: str | None = None,
) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """Read a GeoJSON FeatureCollection, or a single Feature, into (properties, geometry) pairs.

    source: a file path (UTF-8 JSON), or the already parsed object. geometry_types: the GeoJSON
    geometry types accepted. require_valid: reject invalid geometries (OGC validity). name: what
    messages call the source; the default is the file name, or "<dict>".
    Returns [(properties dict, shapely geometry)] in file order. The coordinates must be WGS-84 lon/lat
    (RFC 7946); only ranges can be checked, so a GCJ-02 file passes unnoticed.
    Raises ValueError naming the source, the feature index and the reason when the JSON is bad, a
    member is missing or has the wrong type, a geometry is null, empty, of an unaccepted type or
    invalid, a coordinate is outside lon -180..180 / lat -90..90 (projected or swapped?), or a legacy
    ``crs`` member names anything but WGS-84. OSError propagates for unreadable files.
    """
    if isinstance(source, Mapping):
        label, doc = name or "<dict>", source
    else:
        label = name or Path(source).name
        try:
            doc = json.loads(Path(source).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{label}: not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, Mapping) or doc.get("type") not in ("FeatureCollection", "Feature"):
        got = doc.get("type") if isinstance(doc, Mapping) else type(doc).__name__
        raise ValueError(f"{label}: expected a GeoJSON FeatureCollection or Feature, got {got!r}")
    crs = json.dumps(doc.get("crs") or "", ensure_ascii=False)
    if doc.get("crs") and not any(k in crs.upper() for k in ("CRS84", "EPSG::4326", "EPSG:4326")):
        raise ValueError(f"{label}: crs {crs} is not WGS-84 lon/lat")
    feats = [doc] if doc["type"] == "Feature" else doc.get("features")
    if not isinstance(feats, list):
        raise ValueError(f"{label}: 'features' must be a list")
    out = []
    for i, feat in enumerate(feats):
        where = f"{label}: feature {i}"
        if not isinstance(feat, Mapping) or feat.get("type") != "Feature":
            raise ValueError(f"{where}: not a GeoJSON Feature object")
        props = feat.get("properties") or {}
        if not isinstance(props, Mapping):
            raise ValueError(f"{where}: properties must be an object or null")
        gj = feat.get("geometry")
        if not isinstance(gj, Mapping):
            raise ValueError(f"{where}: geometry is null or not an object")
        if gj.get("type") not in geometry_types:
            raise ValueError(f"{where}: geometry type {gj.get('type')!r} not in {sorted(geometry_types)}")
        try:
            geom = shape(gj)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise ValueError(f"{where}: bad coordinates: {exc}") from exc
        if geom.is_empty:
            raise ValueError(f"{where}: geometry is empty")
        x0, y0, x1, y1 = geom.bounds
        if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
            raise ValueError(f"{where}: coordinates {geom.bounds} are not WGS-84 lon/lat (projected?)")
        if require_valid and not geom.is_valid:
            raise ValueError(f"{where}: invalid geometry: {shapely.is_valid_reason(geom)}")
        out.append((dict(props), geom))
    return out


def load_geojson_geometry(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    geometry_types: Collection[str] = ("Polygon", "MultiPolygon"),
    name: str | None = None,
) -> BaseGeometry:
    """The union of all feature geometries of a GeoJSON file or object, e.g. a district boundary.

    Arguments and errors are as for :func:`load_geojson_features`; it also raises ValueError if there
    are no features. Returns the single feature's geometry unchanged, or the union of several.
    """
    feats = load_geojson_features(source, geometry_types=geometry_types, name=name)
    if not feats:
        label = name or ("<dict>" if isinstance(source, Mapping) else Path(source).name)
        raise ValueError(f"{label}: no features")
    return feats[0][1] if len(feats) == 1 else shapely.union_all([g for _, g in feats])
