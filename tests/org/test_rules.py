"""Tests for zhizhi.org.rules (组织区划几何) on the real Yongchuan data in src/zhizhi/org/data.

Reference values not taken from the shipped data were computed with GeographicLib 2.1
(``Geodesic.WGS84``; Karney 2013, J. Geodesy 87:43-55), quoted to the digits shown.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from zhizhi.org import rules

DATA = Path(rules.__file__).parents[1] / "data"
YC = DATA / "yongchuan"
TARGET = 500_000.0


def _csv(name: str) -> list[dict[str, str]]:
    with (YC / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


TOWN_ROWS = _csv("towns_points.csv")
VILLAGE_ROWS = _csv("villages_points.csv")
DIVISIONS = _csv("divisions.csv")
SEATS = {r["code"]: (float(r["lon"]), float(r["lat"])) for r in TOWN_ROWS}
VPOINTS = {r["code"]: (float(r["lon"]), float(r["lat"])) for r in VILLAGE_ROWS}
VILLAGES: dict[str, list[str]] = defaultdict(list)
for _r in DIVISIONS:
    if _r["level"] == "village":
        VILLAGES[_r["parent_code"]].append(_r["code"])
ANCHORS: dict[str, list[tuple[float, float]]] = defaultdict(list)
for _r in VILLAGE_ROWS:
    ANCHORS[_r["parent_code"]].append(VPOINTS[_r["code"]])
ZHONGSHANLU = "500118001000"


@pytest.fixture(scope="module")
def district() -> MultiPolygon:
    return rules.load_geojson_geometry(YC / "boundary_district_wgs84.geojson")


def _generate(district: MultiPolygon, anchors: bool = True) -> tuple[dict, dict, dict]:
    towns = rules.town_polygons(district, SEATS, anchors=ANCHORS if anchors else None)
    villages = {}
    for tc, tg in towns.items():
        villages.update(rules.village_polygons(tg, [(c, VPOINTS.get(c)) for c in VILLAGES[tc]]))
    grids = {vc: rules.grid_polygons(vg, TARGET) for vc, vg in villages.items()}
    return towns, villages, grids


@pytest.fixture(scope="module")
def generated(district: MultiPolygon) -> tuple[dict, dict, dict, float]:
    t0 = time.perf_counter()
    towns, villages, grids = _generate(district)
    return towns, villages, grids, time.perf_counter() - t0


def _assert_partition(parent, parts, rel: float = 1e-6) -> None:
    """Every part non-empty and polygonal, areas add up, no overlaps, union equals the parent."""
    parts = list(parts)
    assert all(isinstance(p, Polygon | MultiPolygon) and not p.is_empty and p.is_valid for p in parts)
    total = rules.area_m2(parent)
    assert sum(rules.area_m2(p) for p in parts) == pytest.approx(total, rel=rel)
    arr = np.array(parts, dtype=object)
    a, b = shapely.STRtree(arr).query(arr, predicate="intersects")
    keep = a < b
    overlap = shapely.area(shapely.intersection(arr[a[keep]], arr[b[keep]])).sum()
    assert overlap <= 1e-12 * parent.area
    assert shapely.symmetric_difference(shapely.union_all(arr), parent).area <= 1e-9 * parent.area


# ------------------------------------------------------------------------------------------- GCJ-02
# towns_points.csv / villages_points.csv hold both columns rounded to 6 decimals. The AMap rows carry the
# raw GCJ-02 value, and their WGS-84 value is its exact inverse rounded. 茶山竹海 carries a GeoNames WGS-84
# point and its forward value rounded. Either way, one column is within 0.5e-6 deg of the exact image
# of the other. The offset's gradient is about 1e-3, so it adds at most 0.2 %. Tolerance: 5.1e-7 deg
# (5.7 cm).
GCJ_TOL = 5.1e-7
POINT_ROWS = TOWN_ROWS + VILLAGE_ROWS


@pytest.mark.parametrize("row", POINT_ROWS, ids=[r["code"] for r in POINT_ROWS])
def test_gcj02_matches_the_amap_pairs(row: dict[str, str]) -> None:
    wgs = float(row["lon"]), float(row["lat"])
    gcj = float(row["lon_gcj02"]), float(row["lat_gcj02"])
    assert rules.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=GCJ_TOL)
    assert rules.gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=GCJ_TOL)


def test_gcj02_offset_in_yongchuan_is_a_few_hundred_metres() -> None:
    lon, lat = SEATS[ZHONGSHANLU]
    glon, glat = rules.wgs84_to_gcj02(lon, lat)
    assert 300 < rules.distance_m(Point(glon, glat), lon, lat) < 500  # SOURCES.md: roughly 300-500 m


def test_gcj02_round_trip_over_china_is_below_a_millimetre() -> None:
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 60), np.linspace(18.0, 53.5, 40))
    glon, glat = rules.wgs84_to_gcj02_array(lon, lat)
    assert glon.shape == lon.shape
    back_lon, back_lat = rules.gcj02_to_wgs84_array(glon, glat)
    assert np.abs(back_lon - lon).max() < 1e-9  # 1e-9 deg = 0.1 mm, well under the 0.01 m asked
    assert np.abs(back_lat - lat).max() < 1e-9
    one = rules.gcj02_to_wgs84(*rules.wgs84_to_gcj02(105.93, 29.37))
    assert one == pytest.approx((105.93, 29.37), abs=1e-10)
    assert all(type(v) is float for v in one)


def test_gcj02_leaves_points_outside_china_unchanged() -> None:
    assert rules.wgs84_to_gcj02(2.3522, 48.8566) == (2.3522, 48.8566)
    assert rules.gcj02_to_wgs84(-74.006, 40.7128) == (-74.006, 40.7128)
    lon, lat = rules.wgs84_to_gcj02_array([2.3522, 105.93], [48.8566, 29.37])
    assert (lon[0], lat[0]) == (2.3522, 48.8566) and lon[1] != 105.93


def test_gcj02_array_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="same shape"):
        rules.wgs84_to_gcj02_array([1.0, 2.0], [1.0])


# ------------------------------------------------------------------------------------ metric helpers
def test_area_of_a_one_degree_cell() -> None:
    # GeographicLib Polygon with both parallels densified to 4,000 points (converged to 0.01 m^2).
    assert rules.area_m2(box(105, 29, 106, 30)) == pytest.approx(10_748_000_427.36, rel=1e-11)
    # A 0.01 deg cell; geodesic and parallel edges differ by < 1e-9 at this size.
    assert rules.area_m2(box(105.9, 29.3, 105.91, 29.31)) == pytest.approx(1_076_835.0032, rel=1e-9)


def test_area_of_yongchuan(district: MultiPolygon) -> None:
    area = rules.area_m2(district)
    assert area == pytest.approx(1_577_464_958.97, rel=1e-11)
    # GeographicLib with geodesic edges gives 1,577,464,868.5 m^2; lon/lat-straight edges differ by 6e-8.
    assert area == pytest.approx(1_577_464_868.5, rel=1e-7)
    assert area / 1e6 == pytest.approx(1576, rel=2e-3)  # published figure, 1,576 km^2
    assert rules.area_m2(LineString([(105, 29), (106, 30)])) == 0.0
    assert rules.area_m2(Polygon()) == 0.0


@pytest.mark.parametrize(
    ("target", "origin", "expected"),
    [
        (Point(106.0, 29.45), (105.9, 29.35), 14_733.2775),  # GeographicLib s12
        (Point(105.9005, 29.3505), (105.9, 29.35), 73.6816),
        (box(105.8, 29.0, 106.0, 29.2), (105.9, 29.3), 11_083.9901),  # due north of a parallel edge
    ],
)
def test_distance_matches_geographiclib(target, origin: tuple[float, float], expected: float) -> None:
    assert rules.distance_m(target, *origin) == pytest.approx(expected, rel=2e-6, abs=1e-3)


def test_distance_is_zero_inside_and_on_the_edge() -> None:
    cell = box(105.8, 29.0, 106.0, 29.2)
    assert rules.distance_m(cell, 105.9, 29.1) == 0.0
    assert rules.distance_m(cell, 106.0, 29.1) == 0.0
    with pytest.raises(ValueError):
        rules.distance_m(Polygon(), 105.9, 29.1)
    with pytest.raises(ValueError):
        rules.distance_m(cell, float("nan"), 29.1)


# -------------------------------------------------------------------------------------------- towns
def test_towns_partition_the_district(district: MultiPolygon, generated) -> None:
    towns = generated[0]
    assert sorted(towns) == sorted(r["code"] for r in DIVISIONS if r["level"] == "town")
    assert len(towns) == 23
    _assert_partition(district, towns.values())
    assert all(t.geom_type == "Polygon" for t in towns.values())  # detached pieces were handed over


def test_each_seat_and_village_point_lies_in_its_town(generated) -> None:
    towns = generated[0]
    for code, (lon, lat) in SEATS.items():
        assert towns[code].contains(Point(lon, lat)), code
    for r in VILLAGE_ROWS:
        assert towns[r["parent_code"]].contains(Point(VPOINTS[r["code"]])), r["code"]


def test_without_anchors_three_village_points_fall_into_a_neighbour_town(district: MultiPolygon) -> None:
    towns = rules.town_polygons(district, SEATS)
    _assert_partition(district, towns.values())
    assert all(towns[c].contains(Point(p)) for c, p in SEATS.items())
    outside = sorted(r["code"] for r in VILLAGE_ROWS
                     if not towns[r["parent_code"]].contains(Point(VPOINTS[r["code"]])))
    assert outside == ["500118001001", "500118001006", "500118002001"]  # old-town communities


def test_towns_are_deterministic_and_ignore_input_order(district: MultiPolygon, generated) -> None:
    again = rules.town_polygons(district, dict(reversed(list(SEATS.items()))), anchors=ANCHORS)
    assert {c: g.wkt for c, g in again.items()} == {c: g.wkt for c, g in generated[0].items()}
    assert list(again) == list(reversed(list(SEATS)))


def test_town_polygons_rejects_bad_seats(district: MultiPolygon) -> None:
    with pytest.raises(ValueError, match="500118999000.*outside the district"):
        rules.town_polygons(district, {**SEATS, "500118999000": (104.0, 29.0)})
    first, second = list(SEATS)[:2]
    with pytest.raises(ValueError, match=f"{first} and {second} share"):
        rules.town_polygons(district, {first: SEATS[first], second: SEATS[first]})
    with pytest.raises(ValueError, match="no seat"):
        rules.town_polygons(district, {first: SEATS[first]}, anchors={second: [SEATS[second]]})
    with pytest.raises(ValueError, match="empty"):
        rules.town_polygons(district, {})
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        rules.town_polygons(Point(105.9, 29.3), {first: SEATS[first]})


def test_single_seat_gets_the_whole_district(district: MultiPolygon) -> None:
    assert rules.town_polygons(district, {ZHONGSHANLU: SEATS[ZHONGSHANLU]})[ZHONGSHANLU].equals(district)


# ----------------------------------------------------------------------------------------- villages
def test_zhongshanlu_villages_keep_their_real_points(generated) -> None:
    towns, villages = generated[0], generated[1]
    codes = VILLAGES[ZHONGSHANLU]
    assert len(codes) == 22
    _assert_partition(towns[ZHONGSHANLU], [villages[c] for c in codes])
    real = [c for c in codes if c in VPOINTS]
    assert real == ["500118001001", "500118001004", "500118001006", "500118001007"]
    for c in real:
        assert villages[c].contains(Point(VPOINTS[c])), c


def test_every_village_is_generated_and_partitions_its_town(generated) -> None:
    towns, villages = generated[0], generated[1]
    assert len(villages) == 267
    for tc, codes in VILLAGES.items():
        _assert_partition(towns[tc], [villages[c] for c in codes])
    assert all(villages[c].contains(Point(p)) for c, p in VPOINTS.items())
    assert all(v.geom_type == "Polygon" for v in villages.values())


def test_villages_are_deterministic_and_ignore_input_order(generated) -> None:
    town = generated[0][ZHONGSHANLU]
    items = [(c, VPOINTS.get(c)) for c in VILLAGES[ZHONGSHANLU]]
    first = rules.village_polygons(town, items)
    second = rules.village_polygons(town, list(reversed(items)))
    assert {c: g.wkt for c, g in first.items()} == {c: g.wkt for c, g in second.items()}
    assert {c: g.wkt for c, g in first.items()} == {c: generated[1][c].wkt for c in first}


def test_village_points_outside_the_town_or_repeated_are_replaced(generated) -> None:
    town = generated[0][ZHONGSHANLU]
    inside = VPOINTS["500118001004"]
    got = rules.village_polygons(town, [("a", (104.0, 29.0)), ("b", inside), ("c", inside), ("d", None)])
    _assert_partition(town, got.values())
    assert got["b"].contains(Point(inside)) and not got["c"].contains(Point(inside))
    assert rules.village_polygons(town, [("only", None)])["only"].equals(town)


def test_village_polygons_rejects_bad_input(generated) -> None:
    town = generated[0][ZHONGSHANLU]
    with pytest.raises(ValueError, match="repeated village codes"):
        rules.village_polygons(town, [("a", None), ("a", None)])
    with pytest.raises(ValueError, match="empty"):
        rules.village_polygons(town, [])


# -------------------------------------------------------------------------------------------- grids
def test_grids_partition_a_village_into_equal_cells(generated) -> None:
    village = generated[1]["500118001004"]
    area = rules.area_m2(village)
    cells = rules.grid_polygons(village, TARGET)
    assert len(cells) == math.floor(area / TARGET + 0.5) == 6  # 2.82 km^2
    _assert_partition(village, cells)
    for cell in cells:  # planar cut vs ellipsoidal area: within 1e-3
        assert rules.area_m2(cell) == pytest.approx(area / len(cells), rel=1e-3)
    first, last = cells[0].centroid, cells[-1].centroid
    assert first.x < last.x or first.y > last.y  # numbering starts in the north-west
    assert [c.wkt for c in rules.grid_polygons(village, TARGET)] == [c.wkt for c in cells]


def test_whole_yongchuan_grids(district: MultiPolygon, generated) -> None:
    towns, villages, grids, seconds = generated
    cells = [g for gs in grids.values() for g in gs]
    assert len(cells) == 3157  # about 1,577 km^2 / 0.5 km^2
    for vc, gs in grids.items():
        assert len(gs) == max(1, math.floor(rules.area_m2(villages[vc]) / TARGET + 0.5))
        _assert_partition(villages[vc], gs)
    areas = np.array([rules.area_m2(g) for g in cells])
    # n = round(area / target) keeps n >= 2 cells within 0.75-1.25 x target, plus up to 5 % from merged
    # slivers; a village of one cell is whole; here every cell is within a factor 1.5 of the target.
    assert areas.min() > TARGET / 1.5 and areas.max() < 1.5 * TARGET
    assert sum(g.geom_type == "MultiPolygon" for g in cells) == 3


def test_grid_polygons_small_village_and_bad_target(generated) -> None:
    village = generated[1]["500118001004"]
    assert rules.grid_polygons(village, 1e12) == [village]
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="target_area_m2"):
            rules.grid_polygons(village, bad)


# --------------------------------------------------------------------------------------- locator
def test_locator_finds_each_town_seat(generated) -> None:
    towns = generated[0]
    loc = rules.PointLocator(list(towns.items()))
    assert len(loc) == 23
    assert {c: loc.locate(*p) for c, p in SEATS.items()} == {c: c for c in SEATS}
    lons, lats = np.array(list(SEATS.values())).T
    assert loc.locate_many(lons, lats) == list(SEATS)
    assert loc.locate(104.0, 29.0) is None
    assert loc.locate_many(np.array([np.nan, 104.0]), np.array([np.nan, 29.0])) == [None, None]


def test_locator_finds_villages_and_grids(generated) -> None:
    _, villages, grids, _ = generated
    vloc = rules.PointLocator(list(villages.items()))
    assert {c: vloc.locate(*p) for c, p in VPOINTS.items()} == {c: c for c in VPOINTS}
    gloc = rules.PointLocator([(f"{vc}{k:03d}", g) for vc, gs in grids.items() for k, g in enumerate(gs, 1)])
    pts = [g.representative_point() for gs in grids.values() for g in gs]
    codes = [f"{vc}{k:03d}" for vc, gs in grids.items() for k in range(1, len(gs) + 1)]
    assert gloc.locate_many(np.array([p.x for p in pts]), np.array([p.y for p in pts])) == codes


def test_locator_resolves_shared_edges_to_the_smallest_code(generated) -> None:
    towns = generated[0]
    for a, b in itertools.combinations(sorted(towns), 2):
        shared = towns[a].boundary.intersection(towns[b].boundary)
        if shared.length > 0:
            break
    x, y = shapely.get_coordinates(shared)[0]
    assert towns[a].intersects(Point(x, y)) and towns[b].intersects(Point(x, y))
    assert rules.PointLocator([(b, towns[b]), (a, towns[a])]).locate(x, y) == a
    assert rules.PointLocator([(a, towns[a]), (b, towns[b])]).locate_many([x], [y]) == [a]


def test_locator_nearest_is_metric(generated) -> None:
    towns = generated[0]
    loc = rules.PointLocator(list(towns.items()))
    assert loc.nearest(*SEATS[ZHONGSHANLU]) == (ZHONGSHANLU, 0.0)
    for lon, lat in [(105.5, 29.3), (106.2, 29.6), (105.9, 28.9), (106.1, 29.2)]:
        code, dist = loc.nearest(lon, lat)
        brute = min((rules.distance_m(g, lon, lat), c) for c, g in towns.items())
        assert (code, dist) == (brute[1], brute[0])
    assert loc.nearest(105.5, 29.3)[0] == "500118115000"  # 永荣镇, at the western edge


def test_locator_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        rules.PointLocator([])
    with pytest.raises(ValueError, match="X"):
        rules.PointLocator([("X", Polygon())])
    loc = rules.PointLocator([("A", box(0, 0, 1, 1))])
    with pytest.raises(ValueError, match="same shape"):
        loc.locate_many(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError):
        loc.nearest(float("nan"), 0.0)


def test_locate_many_agrees_with_contains(generated, district: MultiPolygon) -> None:
    loc = rules.PointLocator(list(generated[0].items()))
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = district.bounds
    lons, lats = rng.uniform(x0, x1, 200_000), rng.uniform(y0, y1, 200_000)
    got = loc.locate_many(lons, lats)
    assert sum(g is not None for g in got) == int(shapely.contains_xy(district, lons, lats).sum())


# ---------------------------------------------------------------------------------------- GeoJSON
def test_load_the_shipped_boundaries(district: MultiPolygon) -> None:
    [(props, geom)] = rules.load_geojson_features(YC / "boundary_district_wgs84.geojson")
    assert (props["adcode"], props["name"]) == (500118, "永川区")
    assert geom.geom_type == "MultiPolygon" and geom.equals(district)
    cq_path = DATA / "chongqing" / "districts_wgs84.geojson"
    cq = rules.load_geojson_features(str(cq_path), require_valid=False)
    with (DATA / "chongqing" / "districts.csv").open(encoding="utf-8") as fh:
        assert sorted(str(p["adcode"]) for p, _ in cq) == sorted(r["code"] for r in csv.DictReader(fh))
    # DataV's simplified outlines self-intersect in 6 of the 38 districts (Yongchuan is not one).
    invalid = [p["adcode"] for p, g in cq if not g.is_valid]
    assert invalid == [500107, 500115, 500151, 500152, 500233, 500236]
    with pytest.raises(ValueError, match=r"^districts_wgs84.geojson: feature 6: invalid geometry: Self"):
        rules.load_geojson_features(cq_path)


def _fc(*geoms) -> dict:
    features = [{"type": "Feature", "properties": {"i": i}, "geometry": g} for i, g in enumerate(geoms)]
    return {"type": "FeatureCollection", "features": features}


SQUARE = {"type": "Polygon", "coordinates": [[[105, 29], [106, 29], [106, 30], [105, 30], [105, 29]]]}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_fc(SQUARE, None), "feature 1: geometry is null"),
        (_fc(SQUARE, {"type": "Point", "coordinates": [105, 29]}), "feature 1: geometry type 'Point'"),
        (_fc({"type": "Polygon", "coordinates": [[[1e6, 3e6], [1.1e6, 3e6], [1e6, 3.1e6], [1e6, 3e6]]]}),
         "feature 0: coordinates .* are not WGS-84"),
        (_fc({"type": "Polygon", "coordinates": [[[105, 29], [106, 30], [106, 29], [105, 30], [105, 29]]]}),
         "feature 0: invalid geometry: Self-intersection"),
        (_fc({"type": "Polygon", "coordinates": [[[105, 29]]]}), "feature 0: bad coordinates"),
        (_fc({"type": "Polygon", "coordinates": []}), "feature 0: geometry is empty"),
        ({"type": "FeatureCollection", "features": [{"type": "Point"}]}, "feature 0: not a GeoJSON Feature"),
        ({"type": "Polygon", "coordinates": []}, "expected a GeoJSON FeatureCollection or Feature, got 'P"),
        ({**_fc(SQUARE), "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
         "crs .*EPSG:3857.* is not WGS-84"),
    ],
)
def test_load_geojson_names_file_feature_and_reason(tmp_path: Path, doc: dict, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=f"^bad.geojson: {message}"):
        rules.load_geojson_features(path)
    with pytest.raises(ValueError, match=f"^towns: {message}"):
        rules.load_geojson_features(doc, name="towns")


def test_load_geojson_other_inputs(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="^broken.json: not valid UTF-8 JSON"):
        rules.load_geojson_features(path)
    feature = {"type": "Feature", "properties": None, "geometry": SQUARE}
    assert rules.load_geojson_features(feature)[0][0] == {}
    two = _fc(SQUARE, {"type": "Polygon", "coordinates": [[[106, 29], [107, 29], [107, 30], [106, 29]]]})
    assert rules.load_geojson_geometry(two).area == pytest.approx(1.5)
    with pytest.raises(ValueError, match="^<dict>: no features"):
        rules.load_geojson_geometry({"type": "FeatureCollection", "features": []})
    point = _fc({"type": "Point", "coordinates": [105, 29]})
    points = rules.load_geojson_features(point, geometry_types={"Point"})
    assert points[0][1].equals(Point(105, 29))
