"""The fire API (``/api/v1/fire``) through HTTP as the demo staff (``X-Zhizhi-User``): danger ratings and
their map, hotspot import, clusters and detections in scope, verification, static heat sources.

Data: the DERIVED daily weather of tests/data/fire/danger (real records moved into Yongchuan, see its
SOURCES.md) and the real 2022 FIRMS MODIS file, whose one Yongchuan detection falls in 朱沱镇, grid
500118118207001 (tests/data/fire/firms/SOURCES.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from zhizhi.core.db import session_factory
from zhizhi.event import service as events
from zhizhi.org.models import OrgUnit
from zhizhi.scenarios.fire import service

TESTS = Path(__file__).resolve().parents[2]
WEATHER = TESTS / "data" / "fire" / "danger" / "derived_yongchuan_stations_daily_2007-05.csv"
FIRMS = TESTS / "data" / "fire" / "firms" / "modis_c61_nrt_global7d_20220528-20220604_box102-110E_26-33N.csv"
ZHONGSHAN, ZHUTUO = "500118001000", "500118118000"  # 中山路街道, 朱沱镇
ZT_GRID = "500118118207001"  # where the 2022 detection falls
CENTER, LEADER = "500118.duty", "500118.leader"
TABLES = (
    "fire_danger_rating",
    "fire_station_day",
    "fire_danger_run",
    "fire_hotspot",
    "fire_hotspot_alert",
    "fire_static_source",
    "fire_hotspot_cluster",
    "fire_hotspot_import",
)


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    """Empty the fire tables after each test (before conftest empties the event tables)."""
    yield
    with engine.begin() as c:
        for t in TABLES:
            c.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def rated(engine: Engine) -> None:
    """2007-05-24 rated from the derived weather file and committed."""
    with session_factory(engine)() as s:
        service.rate_danger(
            s,
            events.system_actor("500118"),
            WEATHER.read_bytes(),
            WEATHER.name,
            date(2007, 5, 24),
            wind_unit="km/h",
        )
        s.commit()


def as_(user: str) -> dict[str, str]:
    return {"X-Zhizhi-User": user}


def get(client: TestClient, url: str, user: str, **params: Any) -> Any:
    r = client.get(url, params=params, headers=as_(user))
    assert r.status_code == 200, r.text
    return r.json()


def first_grid(engine: Engine, town: str) -> str:
    with session_factory(engine)() as s:
        return str(
            s.scalar(
                select(OrgUnit.code)
                .where(OrgUnit.level == "grid", OrgUnit.town_code == town)
                .order_by(OrgUnit.code)
            )
        )


def upload(
    client: TestClient, user: str, path: Path = FIRMS, data: bytes | None = None, **params: Any
) -> Any:
    body = data if data is not None else path.read_bytes()
    return client.post(
        "/api/v1/fire/hotspots/import",
        params=params,
        files={"file": (path.name, body, "text/csv")},
        headers=as_(user),
    )


# --- danger ---------------------------------------------------------------------------------------------


def test_danger_ratings_in_each_callers_scope(client: TestClient, engine: Engine, rated: None) -> None:
    everything = get(client, "/api/v1/fire/danger", CENTER, date="2007-05-24")
    assert len(everything) == 3180 and everything[0]["unit_level"] == "town"
    towns = get(client, "/api/v1/fire/danger", CENTER, date="2007-05-24", level="town")
    assert [t["unit_code"] for t in towns][:2] == [ZHONGSHAN, "500118002000"] and len(towns) == 23
    zs = towns[0]
    assert {k: zs[k] for k in ("unit_name", "level", "label", "name", "colour_name", "colour", "htz")} == {
        "unit_name": "中山路街道",
        "level": 5,
        "label": "五级",
        "name": "极高火险",
        "colour_name": "红色",
        "colour": "#D7191C",
        "htz": 95.0,
    }
    assert (zs["scores"], zs["station"], zs["distance_km"], round(zs["fwi"]["fwi"], 4)) == (
        {"A": 20.0, "B": 20.0, "C": 40.0, "D": 15.0, "E": 0.0},
        "YC-A",
        3.204,
        15.4845,
    )
    town = get(client, "/api/v1/fire/danger", f"{ZHONGSHAN}.duty", date="2007-05-24")
    assert len(town) == 142 and {r["town_code"] for r in town} == {ZHONGSHAN}
    grid = first_grid(engine, ZHONGSHAN)
    mine = get(client, "/api/v1/fire/danger", f"{grid}.worker", date="2007-05-24")
    assert [(r["unit_code"], r["level"]) for r in mine] == [(ZHONGSHAN, 5), (grid, 5)]
    assert get(client, "/api/v1/fire/danger", LEADER, date="2007-05-25") == []
    r = client.get("/api/v1/fire/danger", params={"date": "2007-13-01"}, headers=as_(CENTER))
    assert r.status_code == 422
    r = client.get(
        "/api/v1/fire/danger", params={"date": "2007-05-24", "level": "village"}, headers=as_(CENTER)
    )
    assert r.status_code == 422


def test_danger_geojson_for_the_map(client: TestClient, rated: None) -> None:
    fc = get(client, "/api/v1/fire/danger/geojson", CENTER, date="2007-05-24")
    assert fc["type"] == "FeatureCollection" and fc["date"] == "2007-05-24" and len(fc["features"]) == 23
    by = {f["id"]: f["properties"] for f in fc["features"]}
    assert (by[ZHUTUO]["label"], by[ZHUTUO]["colour"], by[ZHONGSHAN]["colour"]) == (
        "二级",
        "#1F6FD1",
        "#D7191C",
    )
    (only,) = get(client, "/api/v1/fire/danger/geojson", f"{ZHUTUO}.duty", date="2007-05-24")["features"]
    assert only["id"] == ZHUTUO and only["geometry"]["type"] == "Polygon"


# --- hotspots -------------------------------------------------------------------------------------------


def test_import_returns_the_cli_summary_and_only_managers_may(client: TestClient) -> None:
    r = upload(client, f"{ZHUTUO}.duty")
    assert r.status_code == 403 and "(fire.manage)" in r.json()["detail"]
    r = upload(client, CENTER)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["file"], s["rows_read"], s["in_area"], s["new"], s["clusters_new"], s["events_opened"]) == (
        FIRMS.name,
        99,
        1,
        1,
        1,
        1,
    )
    (ev,) = s["events"]
    assert (ev["role"], ev["town_code"], ev["grid_code"]) == ("primary", ZHUTUO, ZT_GRID)
    again = upload(client, CENTER).json()
    assert (again["duplicates"], again["events_opened"]) == (1, 0)


def test_a_bad_file_is_refused_whole_unless_bad_rows_are_skipped(client: TestClient) -> None:
    lines = FIRMS.read_text("utf-8").splitlines()
    yc = next(i for i, ln in enumerate(lines) if ln.startswith("29.03551,105.81419"))
    bad = lines[: yc + 1] + [lines[yc].replace(",0603,", ",2460,")]
    data = ("\n".join(bad) + "\n").encode()
    r = upload(client, CENTER, data=data)
    assert r.status_code == 422
    assert r.json()["detail"] == (
        f"{FIRMS.name}: 1 of {yc + 1} rows are invalid "
        f'(first: line {yc + 2}, column acq_time: acq_time "2460": hour 24 is not 00-23)'
    )
    assert get(client, "/api/v1/fire/hotspots", CENTER) == []  # nothing stored
    r = upload(client, CENTER, data=data, skip_bad_rows="true")
    assert r.status_code == 200 and (r.json()["bad_rows"], r.json()["new"]) == (1, 1)
    assert upload(client, CENTER, data=b"").status_code == 422


def test_clusters_and_detections_follow_the_events_scope(client: TestClient, engine: Engine) -> None:
    upload(client, CENTER)
    (cl,) = get(client, "/api/v1/fire/clusters", CENTER)
    assert (cl["district_code"], cl["town_code"], cl["grid_code"], cl["n_detections"], cl["outcome"]) == (
        "500118",
        ZHUTUO,
        ZT_GRID,
        1,
        None,
    )
    assert [(a["role"], a["district_code"]) for a in cl["alerts"]] == [("primary", "500118")]
    for user in (f"{ZHUTUO}.duty", f"{ZT_GRID}.worker", LEADER):
        assert [c["id"] for c in get(client, "/api/v1/fire/clusters", user)] == [cl["id"]]
        one = get(client, f"/api/v1/fire/clusters/{cl['id']}", user)
        (h,) = one["hotspots"]
        assert (h["lat"], h["lon"], h["acq_at"], h["satellite"], h["confidence"]) == (
            29.03551,
            105.81419,
            "2022-05-31T06:03:00Z",
            "Aqua",
            39,
        )
        assert [x["id"] for x in get(client, "/api/v1/fire/hotspots", user)] == [h["id"]]
    other_grid = first_grid(engine, ZHUTUO)
    assert other_grid != ZT_GRID
    for user in (f"{ZHONGSHAN}.duty", f"{other_grid}.worker", "500118-CGJ.handler"):
        assert get(client, "/api/v1/fire/clusters", user) == []
        assert get(client, "/api/v1/fire/hotspots", user) == []
        r = client.get(f"/api/v1/fire/clusters/{cl['id']}", headers=as_(user))
        assert (r.status_code, r.json()["detail"]) == (404, f"hotspot cluster {cl['id']} not found")
    # time window: the detection was acquired 2022-05-31 06:03 UTC = 14:03 Beijing time
    assert get(client, "/api/v1/fire/hotspots", CENTER, since="2022-05-31T14:04:00") == []
    assert len(get(client, "/api/v1/fire/hotspots", CENTER, since="2022-05-31T14:03:00+08:00")) == 1
    assert get(client, "/api/v1/fire/clusters", CENTER, until="2022-05-31T06:00:00Z") == []
    assert get(client, "/api/v1/fire/clusters", CENTER, drill="true") == []


def test_verification_in_scope_once(client: TestClient) -> None:
    upload(client, CENTER)
    (cl,) = get(client, "/api/v1/fire/clusters", CENTER)
    url = f"/api/v1/fire/clusters/{cl['id']}/verify"
    body = {"outcome": "农事用火", "note": "村民烧秸秆"}
    r = client.post(url, json=body, headers=as_(LEADER))
    assert r.status_code == 403 and "(fire.verify)" in r.json()["detail"]
    # out of scope: the cluster's "not found", as for an unknown cluster (not its event's id)
    r = client.post(url, json=body, headers=as_(f"{ZHONGSHAN}.duty"))
    assert (r.status_code, r.json()["detail"]) == (404, f"hotspot cluster {cl['id']} not found")
    unknown = client.post("/api/v1/fire/clusters/999999/verify", json=body, headers=as_(f"{ZHONGSHAN}.duty"))
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "hotspot cluster 999999 not found")
    r = client.post(url, json={"outcome": "野火"}, headers=as_(f"{ZT_GRID}.worker"))
    assert r.status_code == 422 and r.json()["detail"].startswith('unknown outcome "野火"; one of: 真实火情')
    r = client.post(url, json=body, headers=as_(f"{ZT_GRID}.worker"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["outcome"], got["outcome_note"], got["verified_on_time"]) == (
        "agricultural",
        "村民烧秸秆",
        True,
    )
    assert got["verified_by"] == "转龙村村民委员会第1网格网格员(生成)"  # the demo worker's (generated) name
    r = client.post(url, json={"outcome": "误报"}, headers=as_(f"{ZHUTUO}.duty"))
    assert r.status_code == 409 and "already has the outcome 农事用火" in r.json()["detail"]
    # the outcome is its own step on the event's timeline, with who and when
    ev = get(client, f"/api/v1/events/{cl['event_id']}", f"{ZHUTUO}.duty")
    (note,) = [s for s in ev["timeline"] if s["action"] == "note"]
    assert (note["comment"], note["actor_name"], note["actor_role"], note["from_node"], note["to_node"]) == (
        "核查结论：农事用火（按时）：村民烧秸秆",
        "转龙村村民委员会第1网格网格员(生成)",
        "grid_worker",
        "reported",
        "reported",
    )
    noted, verified = (datetime.fromisoformat(x) for x in (note["at"], got["verified_at"]))
    assert timedelta(0) <= noted - verified < timedelta(seconds=5)
    # a grid worker lacks event.reject: the platform ends the event (不予受理), naming the verifier
    assert ev["node"] == "rejected"
    assert (
        ev["timeline"][-1]["action"],
        ev["timeline"][-1]["actor_name"],
        ev["timeline"][-1]["comment"],
    ) == (
        "reject",
        "系统",
        "核查结论：农事用火，非森林火情：村民烧秸秆（转龙村村民委员会第1网格网格员(生成) 核查）",
    )


def test_the_on_site_verifier_is_named_instead_of_the_desk_user(client: TestClient) -> None:
    """``by`` (核查人, optional): the person who checked on site, as the CLI's --by; the note's step
    stays the signed-in desk user's."""
    upload(client, CENTER)
    (cl,) = get(client, "/api/v1/fire/clusters", CENTER)
    url = f"/api/v1/fire/clusters/{cl['id']}/verify"
    r = client.post(url, json={"outcome": "误报", "by": "x" * 65}, headers=as_(CENTER))
    assert r.status_code == 422 and "by" in r.text
    r = client.post(url, json={"outcome": "误报", "note": "云反光", "by": " 李四 "}, headers=as_(CENTER))
    assert r.status_code == 200, r.text
    assert r.json()["verified_by"] == "李四"
    ev = get(client, f"/api/v1/events/{cl['event_id']}", CENTER)
    (note,) = [s for s in ev["timeline"] if s["action"] == "note"]
    assert note["comment"] == "核查结论：误报（按时，李四 现场核查）：云反光"
    assert (note["actor_name"], note["actor_role"]) == ("城运中心值班员(生成)", "center_duty")
    assert ev["timeline"][-1]["comment"] == "核查结论：误报，非森林火情：云反光（李四 核查）"


def test_a_real_fire_clusters_view_names_its_fire_event(client: TestClient) -> None:
    upload(client, CENTER)
    (cl,) = get(client, "/api/v1/fire/clusters", CENTER)
    assert cl["fire_event_id"] is None
    url = f"/api/v1/fire/clusters/{cl['id']}/verify"
    r = client.post(url, json={"outcome": "真实火情"}, headers=as_(CENTER))
    assert r.status_code == 200, r.text
    fid = r.json()["fire_event_id"]
    assert isinstance(fid, int) and fid != cl["event_id"]
    (listed,) = get(client, "/api/v1/fire/clusters", CENTER)
    one = get(client, f"/api/v1/fire/clusters/{cl['id']}", CENTER)
    assert listed["fire_event_id"] == one["fire_event_id"] == fid
    assert listed["event_id"] == cl["event_id"]  # the check event, merged into the fire event
    # a town out of the fire's scope sees neither
    assert get(client, "/api/v1/fire/clusters", f"{ZHONGSHAN}.duty") == []


def test_static_sources_are_proposed_accepted_and_listed(client: TestClient) -> None:
    upload(client, CENTER)
    (cl,) = get(client, "/api/v1/fire/clusters", CENTER)
    r = client.post(
        f"/api/v1/fire/clusters/{cl['id']}/verify",
        json={"outcome": "工业热源", "note": "砖窑"},
        headers=as_(CENTER),
    )
    assert r.status_code == 200
    (src,) = get(client, "/api/v1/fire/static-sources", CENTER, status="proposed")
    assert (src["origin"], src["radius_m"], src["cluster_id"], src["lon"], src["lat"]) == (
        "verification",
        850.0,
        cl["id"],
        105.81419,
        29.03551,
    )
    r = client.get("/api/v1/fire/static-sources", headers=as_(f"{ZHUTUO}.duty"))
    assert r.status_code == 403 and "(fire.manage)" in r.json()["detail"]
    r = client.post(
        f"/api/v1/fire/static-sources/{src['id']}/accept", json={"until": "2030-01-01"}, headers=as_(CENTER)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["snoozed_until"]) == ("active", "2030-01-01T16:00:00Z")
    r = client.post(f"/api/v1/fire/static-sources/{src['id']}/reject", headers=as_(CENTER))
    assert (
        r.status_code == 409
        and r.json()["detail"] == f"static heat source {src['id']} is active, not proposed"
    )
    assert client.post("/api/v1/fire/static-sources/999999/reject", headers=as_(CENTER)).status_code == 404
    manual = {
        "name": "某电厂",
        "kind": "power_plant",
        "lon": 105.9,
        "lat": 29.3,
        "radius_m": 800,
        "source": "现场核实",
    }
    r = client.post("/api/v1/fire/static-sources", json=manual, headers=as_(CENTER))
    assert r.status_code == 201 and (r.json()["status"], r.json()["origin"]) == ("active", "manual")
    assert [s["status"] for s in get(client, "/api/v1/fire/static-sources", CENTER)] == ["active", "active"]


def test_a_drill_runs_end_to_end_and_its_node_timings_show_in_the_api(client: TestClient) -> None:
    town = "500118001000"
    r = client.post(
        "/api/v1/fire/drills",
        json={"town_code": town, "simulate": True},
        headers={"X-Zhizhi-User": f"{town}.duty"},
    )
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["town_code"] == town and run["mode"] == "simulate" and run["finished"] and run["all_met"]
    keys = [n["key"] for n in run["nodes"]]
    shown = client.get(f"/api/v1/fire/drills/{run['event_id']}", headers={"X-Zhizhi-User": "500118.duty"})
    assert shown.status_code == 200
    assert [n["key"] for n in shown.json()["nodes"]] == keys
    assert [n["elapsed"] for n in shown.json()["nodes"]] == [n["elapsed"] for n in run["nodes"]]
    # another town's duty officer may not start a drill here, nor see this one
    other = {"X-Zhizhi-User": "500118002000.duty"}
    assert client.post("/api/v1/fire/drills", json={"town_code": town}, headers=other).status_code == 404
    assert client.get(f"/api/v1/fire/drills/{run['event_id']}", headers=other).status_code == 404
    # a grid worker may read (fire.read) but not start drills (fire.drill)
    grid = client.get("/api/v1/org/locate", params={"lon": 105.898213, "lat": 29.352365}).json()["grid_code"]
    r = client.post(
        "/api/v1/fire/drills", json={"town_code": town}, headers={"X-Zhizhi-User": f"{grid}.worker"}
    )
    assert r.status_code == 403 and "(fire.drill)" in r.json()["detail"]
