"""Fire resources (防火资源): kinds and attributes, CSV/GeoJSON files, distances, the API with its
scope, import all-or-nothing, the CLI, and every new route against every role of the permission table.

All resources here are GENERATED (response_support.py): no public list of Yongchuan's exists.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.scenarios.fire.response_support import (
    CENTER,
    HOME,
    HOME_TOWN,
    OTHER_TOWN,
    R_KM,
    add_resource,
    clean_response,  # noqa: F401  (fixture)
    north_km,
    user,
)
from zhizhi.cli import app
from zhizhi.core.access import permission_table
from zhizhi.core.db import session_factory
from zhizhi.org import rules as org_rules
from zhizhi.scenarios.fire import api_hazards, api_response
from zhizhi.scenarios.fire import resource_files as files
from zhizhi.scenarios.fire import resources as rules
from zhizhi.scenarios.fire.rules import PolicyError

pytestmark = pytest.mark.usefixtures("clean_response")


# --- policy and attributes (pure) -----------------------------------------------------------------


def test_the_shipped_policy_has_every_kind_and_no_resource() -> None:
    pol = rules.default_resource_policy()
    assert [k.key for k in pol.kinds] == ["team", "water", "lookout", "checkpoint", "depot", "drone_dock"]
    assert pol.kind("team").subtype("semi_professional").name == "半专业扑火队"
    assert pol.response.preplan == "forest-fire-alarm" and pol.response.per_kind_default == 3
    data = Path(rules.RESOURCE_FILE).parent
    assert not list(data.glob("*resource*.csv")) and not list(data.glob("*.geojson"))  # ships none


def test_a_broken_policy_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "resources.yaml"
    f.write_text(rules.RESOURCE_FILE.read_text("utf-8").replace('"#1F77B4"', '"blue"'), "utf-8")
    with pytest.raises(PolicyError, match=r"resources.yaml: kinds\.1\.colour: String should match pattern"):
        rules.load_resource_policy(f)
    f.write_text(rules.RESOURCE_FILE.read_text("utf-8").replace("key: drone_dock", "key: balloon"), "utf-8")
    with pytest.raises(PolicyError, match=r"kinds must be exactly team, water, lookout"):
        rules.load_resource_policy(f)


def test_attributes_are_checked_per_kind() -> None:
    ok, errs = rules.check_attrs(
        "team", {"type": "professional", "people": "12", "equipment": "风力灭火机；水泵、油锯"}
    )
    assert (ok, errs) == (
        {"type": "professional", "people": 12, "equipment": ["风力灭火机", "水泵", "油锯"]},
        [],
    )
    _, errs = rules.check_attrs("team", {"type": "professional", "people": 12, "capacity_m3": 5})
    assert [(e.field, e.reason) for e in errs] == [
        ("capacity_m3", "not an attribute of a team (its attributes: type, people, equipment)")
    ]
    _, errs = rules.check_attrs("team", {"type": "professional"})
    assert [(e.field, e.reason) for e in errs] == [("people", "Field required")]
    _, errs = rules.check_attrs("water", {"type": "lake"})
    assert errs[0].reason.startswith('unknown water type "lake"; known: pond, tank, reservoir')
    ok, _ = rules.check_attrs("depot", {"type": "town", "items": "风力灭火机:20:台;二号工具：100"})
    assert ok["items"] == [
        {"name": "风力灭火机", "quantity": 20.0, "unit": "台"},
        {"name": "二号工具", "quantity": 100.0, "unit": ""},
    ]
    _, errs = rules.check_attrs("depot", {"type": "town", "items": "风力灭火机"})
    assert errs[0].reason == 'item "风力灭火机": write name:quantity[:unit], e.g. 风力灭火机:20:台'
    assert rules.check_attrs("checkpoint", {"type": "gate", "staffed": "否"})[0] == {
        "type": "gate",
        "staffed": False,
    }
    assert rules.check_attrs("drone_dock", {"drones": "2", "type": ""})[0] == {"drones": 2}
    assert rules.check_attrs("balloon", {})[1][0].field == "kind"


# --- files (pure) -------------------------------------------------------------------------------------

GOOD_CSV = """类别,编号,名称,经度,纬度,类型,人数,装备,所属单位,联系人,联系电话
team,T-01,测试中山路半专业扑火队,105.898213,29.362365,半专业扑火队,25,风力灭火机;水泵,500118001000,张测试,138-0000-1234
water,W-01,测试山坪塘,105.898213,29.372365,pond,,,,,
"""


def test_a_csv_with_chinese_headers_reads_into_checked_rows() -> None:
    rows, errs = files.read_resource_file(GOOD_CSV.encode("gb18030"), "ledger.csv")
    assert errs == []
    team, water = rows
    assert (team.line, team.kind, team.code, team.owner, team.contact_phone) == (
        2, "team", "T-01", "500118001000", "138-0000-1234",
    )  # fmt: skip
    assert team.attrs == {"type": "semi_professional", "people": 25, "equipment": ["风力灭火机", "水泵"]}
    assert (water.line, water.kind, water.attrs, water.lon, water.lat) == (
        3,
        "water",
        {"type": "pond"},
        105.898213,
        29.372365,
    )


def test_every_bad_cell_is_reported_with_line_and_column() -> None:
    bad = (
        "kind,name,lon,lat,type,people,contact_phone\n"
        "team,,105.9,29.3,professional,0,\n"  # no name, no people
        "water,x,200,29.3,pond,3,not-a-phone\n"  # lon out of range, people is no water attribute
        "\n"
        "tower,y,105.9,29.3,,,\n"  # unknown kind
    )
    rows, errs = files.read_resource_file(bad.encode(), "bad.csv")
    # every row comes back as far as it was read, for the service's own checks (owner, code, town)
    assert [(r.line, r.kind, r.lon) for r in rows] == [
        (2, "team", 105.9),
        (3, "water", None),
        (5, None, 105.9),
    ]
    assert [(e.line, e.column, e.reason) for e in errs] == [
        (2, "name", "missing"),
        (2, "people", "Input should be greater than or equal to 1"),
        (3, "lon", "must be -180..180 degrees (WGS-84 or GCJ-02 lon)"),
        (3, "contact_phone", "not a phone number (digits, spaces and '-' only)"),
        (3, "people", "not an attribute of a water (its attributes: type, capacity_m3)"),
        (5, "kind", 'unknown kind "tower"; known: team (扑火队伍), water (水源/取水点), '
         "lookout (瞭望与监控), checkpoint (防火检查站/卡口), depot (物资库), drone_dock (无人机机场)"),
    ]  # fmt: skip
    assert all(e.value != "not-a-phone" for e in errs)  # a phone is never echoed


def test_every_attribute_is_checked_once_whatever_the_others_errors() -> None:
    text_ = (
        "kind,name,lon,lat,type,people,capacity_m3\n"
        "water,x,105.9,29.3,lake,3,-1\n"  # an attribute water has not, a bad capacity, a bad type
        "team,y,105.9,29.3,,x,\n"  # an empty cell of another kind's column is no error
    )
    _, errs = files.read_resource_file(text_.encode(), "a.csv")
    assert [(e.line, e.column) for e in errs] == [
        (2, "people"), (2, "capacity_m3"), (2, "type"), (3, "type"), (3, "people")
    ]  # fmt: skip
    assert errs[2].reason.startswith('unknown water type "lake"')


@pytest.mark.parametrize(
    ("text_", "kind", "expected"),
    [
        ("name,lon,lat\nx,105.9,29.3\n", None, [(1, "kind", 'missing column "kind"')]),
        ("kind,name,lon,lat,colour\n", None, [(1, "colour", 'unknown column "colour"; known: ')]),
        ("kind,name,lon,lon,lat\n", None, [(1, "lon", 'column "lon" appears more than once')]),
        ("kind,name,lon,lat\n", None, [(2, "file", "a.csv: no resource rows under the header")]),
        ("", None, [(1, "file", "a.csv: the file is empty")]),
        ("name,lon,lat\nx,105.9,29.3\n", "boat", [(None, "kind", 'unknown kind "boat"')]),
    ],
)
def test_bad_headers_and_files_are_refused(text_: str, kind: str | None, expected: list[Any]) -> None:
    rows, errs = files.read_resource_file(text_.encode(), "a.csv", kind=kind)
    assert rows == []
    got = [(e.line, e.column or e.field, e.reason) for e in errs]
    assert len(got) == len(expected)
    for (gl, gc, gr), (el, ec, er) in zip(got, expected, strict=True):
        assert (gl, gc) == (el, ec) and gr.startswith(er)


def test_a_geojson_in_gcj02_is_converted_to_wgs84() -> None:
    gj: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [105.9, 29.35]},
                "properties": {"名称": "测试消防水池", "类型": "消防水池", "capacity_m3": 200},
            }
        ],
    }
    rows, errs = files.read_resource_file(json.dumps(gj).encode(), "w.geojson", kind="water", crs="gcj02")
    assert errs == []
    assert (rows[0].lon, rows[0].lat) == org_rules.gcj02_to_wgs84(105.9, 29.35)
    assert rows[0].attrs == {"type": "tank", "capacity_m3": 200.0}
    gj["features"][0]["geometry"] = {"type": "LineString", "coordinates": [[105.9, 29.35], [105.91, 29.35]]}
    _, errs = files.read_resource_file(json.dumps(gj).encode(), "w.geojson", kind="water")
    assert errs[0].line == 1 and "geometry type 'LineString' not in ['Point']" in errs[0].reason


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (
            {"type": "Point", "coordinates": [105.9]},
            "Point coordinates must be [lon, lat] (two numbers, a height optional), got [105.9]",
        ),
        (
            {"type": "Point", "coordinates": ["a", "b"]},
            'Point coordinates must be [lon, lat] (two numbers, a height optional), got ["a", "b"]',
        ),
        (
            {"type": "Point", "coordinates": [[105.9, 29.35]]},
            "Point coordinates must be [lon, lat] (two numbers, a height optional), got [[105.9, 29.35]]",
        ),
        (
            {"type": "Point"},
            "Point coordinates must be [lon, lat] (two numbers, a height optional), got null",
        ),
        (None, 'no geometry: give {"type": "Point", "coordinates": [lon, lat]}'),
    ],
)
def test_a_bad_geojson_point_names_feature_and_field_without_numpy(geometry: Any, reason: str) -> None:
    good = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.9, 29.35]},
            "properties": {"名称": "好", "类型": "pond"}}  # fmt: skip
    bad = {"type": "Feature", "geometry": geometry, "properties": {"名称": "坏", "类型": "pond"}}
    gj = {"type": "FeatureCollection", "features": [good, bad, bad]}
    rows, errs = files.read_resource_file(json.dumps(gj).encode(), "w.geojson", kind="water")
    assert [(r.line, r.lon, r.lat) for r in rows] == [(1, 105.9, 29.35), (2, None, None), (3, None, None)]
    assert [(e.line, e.column, e.reason) for e in errs] == [
        (2, "geometry", f"feature 2: {reason}"), (3, "geometry", f"feature 3: {reason}")
    ]  # fmt: skip
    assert not any("gufunc" in e.reason or "np." in e.reason for e in errs)


# --- distances (pure) -----------------------------------------------------------------------------------


def test_haversine_distances_are_exact_for_known_points() -> None:
    c = rules.Candidate
    got = rules.nearest_by_kind(0.0, 0.0, [c(1, "team", 1.0, 0.0), c(2, "water", 0.0, 1.0)], 3)
    # one degree of a great circle on the sphere of radius 6371.0088 km: R·π/180 = 111.1950802… km
    assert got["team"][0][1] == pytest.approx(111.1950802335, abs=1e-9)
    assert got["water"][0][1] == pytest.approx(R_KM * math.pi / 180, abs=1e-12)
    lon, lat = HOME
    cands = [c(7, "team", lon, lat + 0.02), c(3, "team", lon, lat + 0.01), c(5, "team", lon, lat - 0.01)]
    near = rules.nearest_by_kind(lon, lat, cands, 2)["team"]
    # along the meridian: R·Δφ; ties (3 and 5 at 0.01°) by id
    assert [i for i, _ in near] == [3, 5]
    assert near[0][1] == pytest.approx(north_km(0.01), abs=1e-9) == pytest.approx(1.1119508023, abs=1e-9)
    east = rules.nearest_by_kind(lon, lat, [c(1, "depot", lon + 0.01, lat)], 1)["depot"][0][1]
    # along a parallel: 2R·asin(cos φ · sin(Δλ/2))
    assert east == pytest.approx(
        2 * R_KM * math.asin(math.cos(math.radians(lat)) * math.sin(math.radians(0.005))), abs=1e-9
    )
    assert east == pytest.approx(0.9692004, abs=1e-7)
    with pytest.raises(ValueError, match="per_kind must be >= 1, got 0"):
        rules.nearest_by_kind(lon, lat, cands, 0)


# --- the API ------------------------------------------------------------------------------------------------


def test_create_read_list_map_change_delete(client: TestClient) -> None:
    lon, lat = HOME
    team = add_resource(
        client, "team", "测试扑火队", lon, lat + 0.01, owner="LYJ", contact_name="张测试",
        contact_phone="13800001234", code="T-9",
        attrs={"type": "专业扑火队", "people": 30, "equipment": ["风力灭火机"]},
    )  # fmt: skip
    assert team["owner_unit_code"] == "500118-LYJ" and team["town_code"] == HOME_TOWN
    assert (team["contact_name"], team["contact_phone"]) == ("张**", "138****1234")
    assert (team["kind_name"], team["type_name"], team["attrs"]["type"]) == (
        "扑火队伍",
        "专业扑火队",
        "professional",
    )
    tank = add_resource(client, "water", "测试消防水池", lon, lat, attrs={"type": "tank", "capacity_m3": 300})
    town_duty = user(f"{HOME_TOWN}.duty")
    listed = client.get("/api/v1/fire/resources", headers=town_duty).json()
    assert [r["id"] for r in listed] == [team["id"], tank["id"]]  # by kind then id: team < water
    assert [r["id"] for r in client.get("/api/v1/fire/resources?kind=water", headers=town_duty).json()] == [
        tank["id"]
    ]
    fc = client.get("/api/v1/fire/resources/geojson", headers=user("500118.leader")).json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    f0 = fc["features"][0]
    assert f0["geometry"] == {"type": "Point", "coordinates": [lon, round(lat + 0.01, 6)]}
    assert f0["properties"]["colour"] == "#D62728" and "contact_phone" not in f0["properties"]
    r = client.patch(
        f"/api/v1/fire/resources/{tank['id']}", json={"attrs": {"type": "tank", "people": 3}}, headers=CENTER
    )
    assert r.status_code == 422 and "people: not an attribute of a water" in r.json()["detail"]
    r = client.patch(
        f"/api/v1/fire/resources/{tank['id']}",
        json={"lon": 105.95, "lat": 29.33, "name": "测试改名"},
        headers=CENTER,
    )
    assert r.status_code == 200 and r.json()["name"] == "测试改名"
    assert r.json()["town_code"] != HOME_TOWN or r.json()["lon"] == 105.95
    r = client.post("/api/v1/fire/resources", json={"kind": "water", "name": "重号", "lon": lon, "lat": lat,
                    "code": "T-9", "attrs": {"type": "pond"}}, headers=CENTER)  # fmt: skip
    assert r.status_code == 409 and 'code "T-9" is already resource' in r.json()["detail"]
    assert client.delete(f"/api/v1/fire/resources/{tank['id']}", headers=CENTER).status_code == 204
    assert client.get(f"/api/v1/fire/resources/{tank['id']}", headers=CENTER).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "team", "attrs": {"type": "professional", "people": 5}}, "a team needs its owner unit"),
        (
            {"kind": "team", "owner": "NOPE", "attrs": {"type": "professional", "people": 5}},
            '"NOPE": no such unit',
        ),
        (
            {"kind": "team", "owner": "500116001000", "attrs": {"type": "professional", "people": 5}},
            "no such unit",
        ),
        (
            {"kind": "water", "lon": 106.5, "lat": 29.56, "attrs": {"type": "pond"}},
            "is outside district 500118",
        ),
        ({"kind": "lorry", "attrs": {}}, 'unknown resource kind "lorry"'),
    ],
)
def test_bad_resources_are_refused(client: TestClient, body: dict[str, Any], message: str) -> None:
    full = {"name": "测试", "lon": HOME[0], "lat": HOME[1], **body}
    r = client.post("/api/v1/fire/resources", json=full, headers=CENTER)
    assert r.status_code == 422 and message in r.json()["detail"], r.text


def test_another_districts_resource_is_404_and_writes_need_fire_manage(
    client: TestClient, engine: Engine
) -> None:
    with engine.begin() as c:  # a GENERATED resource of 江津区 (500116), written behind the API
        c.execute(
            text(
                "INSERT INTO fire_resource (kind, name, lon, lat, district_code, note, attrs, source, "
                "created_at, updated_at, updated_by) VALUES ('water', '测试江津水池', 106.25, 29.28, "
                "'500116', '', '{}', 'test', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'test')"
            )
        )
        far = c.execute(text("SELECT id FROM fire_resource WHERE district_code = '500116'")).scalar_one()
    assert client.get(f"/api/v1/fire/resources/{far}", headers=CENTER).status_code == 404
    assert (
        client.patch(f"/api/v1/fire/resources/{far}", json={"name": "x"}, headers=CENTER).status_code == 404
    )
    assert client.delete(f"/api/v1/fire/resources/{far}", headers=CENTER).status_code == 404
    assert client.get("/api/v1/fire/resources", headers=CENTER).json() == []
    own = add_resource(
        client, "lookout", "测试瞭望塔", HOME[0], HOME[1], attrs={"type": "tower", "height_m": 18}
    )
    # a grid worker reads the district's resources (one operational picture) but may not write
    grid = client.get(f"/api/v1/fire/resources/{own['id']}", headers=user(f"{OTHER_TOWN}.duty"))
    assert grid.status_code == 200
    r = client.delete(f"/api/v1/fire/resources/{own['id']}", headers=user(f"{HOME_TOWN}.duty"))
    assert r.status_code == 403 and "(fire.manage)" in r.json()["detail"]


def _csv(rows: str) -> dict[str, Any]:
    return {"file": ("ledger.csv", rows.encode("utf-8"), "text/csv")}


def test_import_is_all_or_nothing_and_codes_update(client: TestClient) -> None:
    bad = (
        GOOD_CSV
        + "depot,D-1,测试物资库,105.898213,29.352365,town,,,,,\n"
        + "team,T-02,测试无单位队,105.9,29.35,professional,8,,,,\n"
    )
    r = client.post("/api/v1/fire/resources/import", files=_csv(bad), headers=CENTER)
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith(
        "ledger.csv: 1 error, nothing imported; first: line 5, column owner: a team needs"
    )
    assert [(e["line"], e["column"]) for e in body["errors"]] == [(5, "owner")]
    assert client.get("/api/v1/fire/resources", headers=CENTER).json() == []
    r = client.post("/api/v1/fire/resources/import", files=_csv(GOOD_CSV), headers=CENTER)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "file": "ledger.csv", "format": "csv", "crs": "wgs84", "rows": 2, "created": 2, "updated": 0,
        "by_kind": {"team": 1, "water": 1},
    }  # fmt: skip
    again = GOOD_CSV.replace(",25,", ",40,")
    r = client.post("/api/v1/fire/resources/import", files=_csv(again), headers=CENTER)
    assert (r.json()["created"], r.json()["updated"]) == (0, 2)
    teams = client.get("/api/v1/fire/resources?kind=team", headers=CENTER).json()
    assert [(t["code"], t["attrs"]["people"], t["owner_unit_code"]) for t in teams] == [
        ("T-01", 40, f"{HOME_TOWN}-ZHZX")
    ]
    clash = "kind,code,name,lon,lat,type\nwater,T-01,测试,105.898213,29.352365,pond\n"
    r = client.post("/api/v1/fire/resources/import", files=_csv(clash), headers=CENTER)
    assert r.status_code == 422 and 'code "T-01" is a team' in r.json()["errors"][0]["reason"]
    r = client.post("/api/v1/fire/resources/import", files=_csv(GOOD_CSV), headers=user(f"{HOME_TOWN}.duty"))
    assert r.status_code == 403


def test_every_field_of_a_row_is_checked_whatever_the_others_errors(client: TestClient) -> None:
    # the user trial's row: a bad lon used to hide the owner and type errors until it was fixed
    trial = "kind,name,lon,lat,type,people,owner\nteam,甲队,abc,29.362365,nonsense,-3,NOPE\n"
    r = client.post("/api/v1/fire/resources/import", files=_csv(trial), headers=CENTER)
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("ledger.csv: 4 errors, nothing imported; first: line 2, column lon: ")
    got = [(e["line"], e["column"], e["reason"]) for e in body["errors"]]
    assert [g[:2] for g in got] == [(2, "lon"), (2, "owner"), (2, "people"), (2, "type")]
    assert got[0][2] == "not a number" and got[1][2].startswith('"NOPE": no such unit')
    assert got[2][2] == "Input should be greater than or equal to 1"
    assert got[3][2] == 'unknown team type "nonsense"; known: professional, semi_professional'
    # a GeoJSON feature whose point cannot be read: its unknown owner is reported with it
    gj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", 29.35]},
         "properties": {"名称": "测试队", "类型": "professional", "人数": 5, "所属单位": "NOPE",
                        "颜色": "红"}},
    ]}  # fmt: skip
    files_ = {"file": ("teams.geojson", json.dumps(gj).encode(), "application/geo+json")}
    r = client.post("/api/v1/fire/resources/import?kind=team", files=files_, headers=CENTER)
    assert r.status_code == 422
    got = [(e["line"], e["column"], e["reason"]) for e in r.json()["errors"]]
    assert [g[:2] for g in got] == [(1, "geometry"), (1, "owner"), (1, "颜色")]
    assert got[0][2].startswith("feature 1: Point coordinates must be [lon, lat]")
    assert got[1][2].startswith('"NOPE": no such unit') and got[2][2] == "unknown property"
    assert client.get("/api/v1/fire/resources", headers=CENTER).json() == []  # nothing stored


def test_cli_imports_and_lists(engine: Engine, tmp_path: Path) -> None:
    f = tmp_path / "ledger.csv"
    f.write_text(GOOD_CSV, encoding="utf-8")
    res = CliRunner().invoke(app, ["fire", "resources", "import", str(f)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["created"] == 2
    res = CliRunner().invoke(app, ["fire", "resources", "list"])
    assert res.exit_code == 0 and "测试中山路半专业扑火队" in res.stdout and "半专业扑火队" in res.stdout
    f.write_text("kind,name,lon,lat\nteam,x,105.9,29.35,1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["fire", "resources", "import", str(f)])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        "error: ledger.csv: 1 error, nothing imported; first: line 2: 5 cells, expected 4 (as the header)",
        "  line 2: 5 cells, expected 4 (as the header)",
    ]
    res = CliRunner().invoke(app, ["fire", "resources", "import", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and res.stderr.startswith("error: ") and "no such file" in res.stderr
    # every error of every row in one pass: a bad cell and an unknown owner on one line, both listed
    f.write_text(
        "kind,name,lon,lat,type,people,owner\n"
        "team,甲队,105.898213,29.362365,professional,-3,NOPE\n"
        "team,乙队,105.898213,29.362365,professional,5,NOPE2\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["fire", "resources", "import", str(f)])
    assert (res.exit_code, res.stdout) == (2, "")
    lines = res.stderr.splitlines()
    assert lines[0].startswith("error: ledger.csv: 3 errors, nothing imported; first: line 2, column owner: ")
    assert [ln.split(":")[0] for ln in lines[1:]] == [
        "  line 2, column owner", "  line 2, column people", "  line 3, column owner"
    ]  # fmt: skip
    assert '"NOPE": no such unit' in lines[1] and "greater than or equal to 1" in lines[2]
    res = CliRunner().invoke(app, ["fire", "resources", "list", "--json"])
    assert len(json.loads(res.stdout)) == 2  # the two rows of the first import, nothing more
    res = CliRunner().invoke(app, ["fire", "resources", "import", str(f), "--district", "500119"])
    assert res.exit_code == 2 and res.stderr.startswith('error: --district "500119": not a loaded district')


# --- every new route × every role -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def role_users(engine: Engine) -> dict[str, str]:
    """One user per role (demo staff, plus a grid leader, an admin and a clerk made here)."""
    from zhizhi.auth import service as auth
    from zhizhi.org.models import Staff
    from zhizhi.org.service import locator

    with session_factory(engine)() as s:
        grid = locator(s).locate(*HOME).grid_code
        for name, role, unit in (
            ("f3.gridleader", "grid_leader", grid),
            ("f3.admin", "admin", "500118-CYZX"),
            ("f3.clerk", "clerk", f"{HOME_TOWN}-ZHZX"),
        ):
            if s.scalar(select(Staff).where(Staff.username == name)) is None:
                auth.add_user(s, name, name, role, str(unit))
        s.commit()
    users = {
        "grid_worker": f"{grid}.worker", "grid_leader": "f3.gridleader", "town_duty": f"{HOME_TOWN}.duty",
        "board_staff": f"{HOME_TOWN}-MS.staff", "clerk": "f3.clerk", "dept_handler": "500118-CGJ.handler",
        "center_duty": "500118.duty", "center_chief": "500118.chief", "leader": "500118.leader",
        "admin": "f3.admin", "system": "500118.system",
    }  # fmt: skip
    assert set(users) == set(permission_table().roles)
    return users


def _routes() -> list[tuple[str, str, str]]:
    out = []
    for router in (api_response.router, api_hazards.router):
        for r in router.routes:
            assert isinstance(r, APIRoute)
            perms = [getattr(d.call, "permission", None) for d in r.dependant.dependencies]
            perm = str(next(p for p in perms if p))
            out += [(m, "/api/v1/fire" + r.path, perm) for m in sorted(r.methods or ())]
    return out


def test_every_new_route_refuses_exactly_the_roles_without_its_permission(
    client: TestClient, role_users: dict[str, str]
) -> None:
    """As tests/auth/test_permissions.py does for the whole app (whose route walk does not see routes
    included through routers under FastAPI 0.165): a role is refused with 403 naming the permission
    exactly when the table does not grant it, and never gets 401 or 500."""
    table = permission_table()
    routes = _routes()
    assert len(routes) == 19
    wrong = []
    for method, path, perm in routes:
        url = re.sub(r"\{\w+\}", "1", path)
        for role, name in role_users.items():
            kw: dict[str, Any] = {"headers": user(name)}
            if method in ("POST", "PUT", "PATCH"):
                kw["json"] = {"unexpected": True}  # refused (422) where allowed: nothing is written
            r = client.request(method, url, **kw)
            refused = r.status_code == 403 and f"({perm})" in r.json().get("detail", "")
            if refused == table.allows(role, perm) or r.status_code in (401, 500):
                wrong.append((method, path, role, perm, r.status_code, r.text[:100]))
    assert wrong == []
    assert client.get("/api/v1/fire/resources", headers=CENTER).json() == []
