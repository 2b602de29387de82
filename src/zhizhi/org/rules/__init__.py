"""Organisation geometry (组织区划几何): pure shapely 2 + numpy, no database.

Coordinates are WGS-84 longitude/latitude in degrees unless a name says ``gcj02`` (GCJ-02, 国测局坐标,
the offset system of AMap/Tencent maps). Lengths are metres and areas square metres.

No public town (乡镇街道), village (村/社区) or grid (网格) boundaries exist for Yongchuan, so
:func:`town_polygons`, :func:`village_polygons` and :func:`grid_polygons` *generate* approximate ones:
Voronoi cells (泰森多边形) of known seats, and equal-area cuts of a village. Each generator returns an
exact partition of its parent: the cells cover the parent and do not overlap, up to floating-point
rounding. The caller must flag the results as generated.

Metric work uses two local maps of the WGS-84 ellipsoid (a = 6 378 137 m, f = 1/298.257223563):

* :func:`area_m2` integrates the ellipsoid's cylindrical equal-area map along edges that are straight
  in lon/lat (Snyder 1987, eqs. 3-12 and 10-15). It is exact to about 1e-12, so the areas of a
  partition add up to the parent's area.
* Every other function uses a local equirectangular map: x = N0 cos(lat0) dlon, y = M0 dlat, with the
  ellipsoid's radii of curvature at the centre. The map is affine in lon/lat, so straight lines and
  cells map back exactly. The east-west scale is off by tan(lat0) dlat, which is 0.26 % at the edge of
  Yongchuan (29.0-29.6 deg N). That is harmless for generated cells. :func:`distance_m` measures the
  final distance with the mid-latitude formula, which is within 2e-6 of the geodesic below 50 km.

Modules: ``gcj`` (GCJ-02), ``metric`` (areas, distances), ``partition`` (generated boundaries),
``locate`` (point lookups), ``geojson`` (reading boundaries). Everything public is re-exported here.
"""

from zhizhi.org.rules.gcj import gcj02_to_wgs84, gcj02_to_wgs84_array, wgs84_to_gcj02, wgs84_to_gcj02_array
from zhizhi.org.rules.geojson import load_geojson_features, load_geojson_geometry
from zhizhi.org.rules.locate import PointLocator
from zhizhi.org.rules.metric import area_m2, distance_m
from zhizhi.org.rules.partition import grid_polygons, town_polygons, village_polygons

__all__ = [
    "PointLocator",
    "area_m2",
    "distance_m",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_array",
    "grid_polygons",
    "load_geojson_features",
    "load_geojson_geometry",
    "town_polygons",
    "village_polygons",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_array",
]
