"""Hazard ledger (隐患台账) with close-out (销号) and ranger patrols (护林员巡护): the state machine,
deadlines, track lengths, the API with its scope and close-out rule, and the CLI.

Hazards and patrols here are GENERATED test cases (made-up descriptions, points near real places of
the Yongchuan org model); the rangers are the demo grid workers the org loader creates.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.scenarios.fire.response_support import (
    CENTER,
    HOME,
    HOME_TOWN,
    OTHER_TOWN,
    clean_response,  # noqa: F401  (fixture)
    north_km,
    user,
)
from zhizhi.cli import app
from zhizhi.core.db import session_factory
from zhizhi.core.time import LOCAL_TZ
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import Staff
from zhizhi.scenarios.fire import hazards as rules
from zhizhi.scenarios.fire.rules import PolicyError
from zhizhi.scenarios.fire.service.drill import town_point

pytestmark = pytest.mark.usefixtures("clean_response")
LON, LAT = HOME


# --- pure -----------------------------------------------------------------------------------------------


def test_status_moves_and_refusals() -> None:
    assert rules.next_status("open", "rectify") == "rectifying"
    assert rules.next_status("open", "close") == "closed"
    assert rules.next_status("rectifying", "close") == "closed"
    with pytest.raises(
        ValueError, match=r"^cannot close a hazard that is closed \(已销号\); allowed from: open, rectifying$"
    ):
        rules.next_status("closed", "close")
    with pytest.raises(
        ValueError, match=r"^cannot rectify a hazard that is rectifying \(整改中\); allowed from: open$"
    ):
        rules.next_status("rectifying", "rectify")
    with pytest.raises(ValueError, match='unknown action "reopen"'):
        rules.next_status("closed", "reopen")


def test_deadlines_are_beijing_dates_and_the_deadline_day_is_on_time() -> None:
    late_utc = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 2026-12-01 01:00 in Beijing
    assert rules.default_deadline(late_utc, 3) == date(2026, 12, 4)
    assert rules.default_deadline(datetime(2026, 11, 30, 15, 59, tzinfo=UTC), 0) == date(2026, 11, 30)
    due = date(2026, 12, 4)
    assert rules.is_overdue("open", due, datetime(2026, 12, 4, 15, 59, tzinfo=UTC)) is False  # 23:59 Beijing
    assert rules.is_overdue("open", due, datetime(2026, 12, 4, 16, 0, tzinfo=UTC)) is True  # 12-05 00:00
    assert rules.is_overdue("closed", due, datetime(2027, 1, 1, tzinfo=UTC)) is False
    with pytest.raises(ValueError, match="found_at must be timezone-aware"):
        rules.default_deadline(datetime(2026, 11, 30), 1)


def test_track_length_is_the_sum_of_great_circle_legs() -> None:
    pts = [(LON, LAT), (LON, LAT + 0.01), (LON, LAT + 0.02)]
    assert rules.track_length_km(pts) == pytest.approx(2 * north_km(0.01), abs=1e-9)
    assert rules.track_length_km(pts[:1]) == 0.0
    assert rules.check_track([[LON, LAT, 320.0], [LON, LAT + 0.01]], 10) == [(LON, LAT), (LON, LAT + 0.01)]
    for bad, message in (
        ([[LON, LAT]], "track: needs 2 to 10 points, got 1"),
        ([[LON, LAT], [LON, 95]], r"track\[1\]: \(105.898213, 95.0\) is not a lon/lat point"),
        ([[LON, LAT], ["a", 1]], r"track\[1\]: lon and lat must be numbers"),
        ("LINESTRING", "track: give a list of"),
    ):
        with pytest.raises(ValueError, match=message):
            rules.check_track(bad, 10)


def test_the_shipped_policy_and_a_broken_one(tmp_path: Path) -> None:
    pol = rules.default_hazard_policy()
    assert pol.kind("输配电线路隐患").key == "power_line" and pol.kind("ritual_fire").days == 3
    assert pol.close.scopes == ["town", "district"] and pol.patrol.ranger_roles == [
        "grid_worker",
        "grid_leader",
    ]
    f = tmp_path / "hazards.yaml"
    f.write_text(
        rules.HAZARD_FILE.read_text("utf-8").replace("scopes: [town, district]", "scopes: [planet]"), "utf-8"
    )
    with pytest.raises(
        PolicyError, match=r"hazards.yaml: close: unknown scope 'planet'; known: district, town"
    ):
        rules.load_hazard_policy(f)


# --- the API ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def people(engine: Engine) -> dict[str, Any]:
    """The demo grid worker of HOME's grid and names of the staff used."""
    with session_factory(engine)() as s:
        grid = org.locator(s).locate(LON, LAT).grid_code
        worker = f"{grid}.worker"
        name = s.scalar(select(Staff.name).where(Staff.username == worker))
        _, olon, olat = town_point(s, OTHER_TOWN)
    return {"grid": grid, "worker": worker, "worker_name": name, "other_point": (olon, olat)}


def _hazard(client: TestClient, who: str, lon: float = LON, lat: float = LAT, **kw: Any) -> dict[str, Any]:
    body = {"kind": "fuel_load", "lon": lon, "lat": lat, "description": "测试：林下枯枝落叶堆积", **kw}
    r = client.post("/api/v1/fire/hazards", json=body, headers=user(who))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_grid_worker_reports_a_hazard_and_the_town_closes_it(
    client: TestClient, people: dict[str, Any]
) -> None:
    worker, town = people["worker"], f"{HOME_TOWN}.duty"
    h = _hazard(client, worker)
    assert (h["town_code"], h["grid_code"], h["found_by"], h["status"], h["status_name"]) == (
        HOME_TOWN, people["grid"], people["worker_name"], "open", "待整改",
    )  # fmt: skip
    found = datetime.fromisoformat(h["found_at"])
    assert h["deadline"] == (found.astimezone(LOCAL_TZ).date() + timedelta(days=15)).isoformat()
    assert h["overdue"] is False and h["kind_name"] == "林下可燃物堆积"
    assert client.get(f"/api/v1/fire/hazards/{h['id']}", headers=user(town)).status_code == 200
    assert (
        client.get(f"/api/v1/fire/hazards/{h['id']}", headers=user(f"{OTHER_TOWN}.duty")).status_code == 404
    )
    r = client.post(
        f"/api/v1/fire/hazards/{h['id']}/rectify", json={"note": "已通知村民清理"}, headers=user(worker)
    )
    assert r.status_code == 200 and r.json()["status"] == "rectifying"
    r = client.post(f"/api/v1/fire/hazards/{h['id']}/rectify", json={"note": "再次"}, headers=user(worker))
    assert r.status_code == 409 and "cannot rectify a hazard that is rectifying" in r.json()["detail"]
    r = client.post(
        f"/api/v1/fire/hazards/{h['id']}/close", json={"evidence": "已清理，照片 3 张"}, headers=user(worker)
    )
    assert r.status_code == 403 and "may not close hazards out" in r.json()["detail"]
    r = client.post(
        f"/api/v1/fire/hazards/{h['id']}/close",
        json={"evidence": "已清理"},
        headers=user(f"{OTHER_TOWN}.duty"),
    )
    assert r.status_code == 404
    assert (
        client.post(
            f"/api/v1/fire/hazards/{h['id']}/close", json={"evidence": ""}, headers=user(town)
        ).status_code
        == 422
    )
    r = client.post(
        f"/api/v1/fire/hazards/{h['id']}/close",
        json={"evidence": "现场复核：已清理，照片 3 张"},
        headers=user(town),
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (closed["status"], closed["evidence"], closed["closed_by"] is not None) == (
        "closed",
        "现场复核：已清理，照片 3 张",
        True,
    )
    r = client.post(f"/api/v1/fire/hazards/{h['id']}/close", json={"evidence": "再销号"}, headers=CENTER)
    assert r.status_code == 409


@pytest.mark.parametrize(
    "who",
    ["500118001000-MS.staff", "500118-CGJ.handler", "500118.leader"],  # 板块, 部门, 领导: read-only here
)
def test_ledger_writes_need_fire_hazard_and_patrols_fire_record(
    client: TestClient, people: dict[str, Any], who: str
) -> None:
    h = _hazard(client, people["worker"])  # a grid worker holds fire.hazard
    body = {"kind": "fuel_load", "lon": LON, "lat": LAT, "description": "测试"}
    for url, payload in (
        ("/api/v1/fire/hazards", body),
        (f"/api/v1/fire/hazards/{h['id']}/rectify", {"note": "清理"}),
        (f"/api/v1/fire/hazards/{h['id']}/close", {"evidence": "已清理"}),
    ):
        r = client.post(url, json=payload, headers=user(who))
        assert r.status_code == 403 and r.json()["detail"].endswith("(fire.hazard)"), (url, r.text)
    patrol = {"started_at": "2026-11-20T08:00:00", "ended_at": "2026-11-20T09:00:00",
              "points": [[LON, LAT], [LON, LAT + 0.01]], "ranger": people["worker"]}  # fmt: skip
    r = client.post("/api/v1/fire/patrols", json=patrol, headers=user(who))
    assert r.status_code == 403 and r.json()["detail"].endswith("(fire.record)"), r.text
    assert client.get(f"/api/v1/fire/hazards/{h['id']}", headers=user(who)).json()["status"] == "open"
    assert client.get("/api/v1/fire/patrols", headers=CENTER).json() == []


def test_a_patrol_with_hazards_needs_fire_hazard_too(
    client: TestClient, engine: Engine, people: dict[str, Any]
) -> None:
    from zhizhi.auth import service as auth

    with session_factory(engine)() as s:  # tokens of the grid worker: patrols only, and patrols + ledger
        _, patrols_only = auth.create_token(s, people["worker"], "巡护", scopes=["fire.record", "fire.read"])
        _, both = auth.create_token(s, people["worker"], "巡护+隐患", scopes=["fire.record", "fire.hazard"])
        s.commit()
    found = {"kind": "illegal_fire", "lon": LON, "lat": LAT, "description": "测试：烧荒"}
    patrol = {"started_at": "2026-11-20T08:00:00", "ended_at": "2026-11-20T09:00:00",
              "points": [[LON, LAT], [LON, LAT + 0.01]], "hazards": [found]}  # fmt: skip
    r = client.post("/api/v1/fire/patrols", json=patrol, headers={"Authorization": f"Bearer {patrols_only}"})
    assert (
        r.status_code == 403 and r.json()["detail"] == 'this API token\'s scopes do not include "fire.hazard"'
    )
    assert client.get("/api/v1/fire/patrols", headers=CENTER).json() == []
    r = client.post(
        "/api/v1/fire/patrols",
        json={**patrol, "hazards": []},
        headers={"Authorization": f"Bearer {patrols_only}"},
    )
    assert r.status_code == 201 and r.json()["hazard_ids"] == [], r.text
    r = client.post("/api/v1/fire/patrols", json=patrol, headers={"Authorization": f"Bearer {both}"})
    assert r.status_code == 201 and len(r.json()["hazard_ids"]) == 1, r.text


def test_scope_lists_filters_and_what_one_found(client: TestClient, people: dict[str, Any]) -> None:
    worker = people["worker"]
    here = _hazard(client, worker)
    olon, olat = people["other_point"]
    there = _hazard(client, worker, olon, olat, kind="祭祀用火隐患")  # found by him in another town
    old = _hazard(
        client, f"{HOME_TOWN}.duty", kind="power_line", found_at="2026-01-05T09:00:00", deadline="2026-01-20",
        found_by=worker,
    )  # fmt: skip

    def ids(who: str, q: str = "") -> list[int]:
        return [h["id"] for h in client.get(f"/api/v1/fire/hazards{q}", headers=user(who)).json()]

    assert ids(worker) == [there["id"], here["id"], old["id"]]  # newest found first; his own included
    assert ids(f"{HOME_TOWN}.duty") == [here["id"], old["id"]]
    assert ids(f"{OTHER_TOWN}.duty") == [there["id"]]
    assert ids("500118.duty", "?overdue=true") == [old["id"]]
    assert ids("500118.duty", "?kind=ritual_fire") == [there["id"]]
    assert ids("500118.duty", "?status=closed") == []
    assert ids("500118-LYJ.handler") == [there["id"], here["id"], old["id"]]  # departments: the district
    assert client.get("/api/v1/fire/hazards?kind=ghost", headers=CENTER).status_code == 422
    assert (
        client.get(f"/api/v1/fire/hazards/{there['id']}", headers=user(f"{HOME_TOWN}.duty")).status_code
        == 404
    )
    r = client.post(
        "/api/v1/fire/hazards",
        json={"kind": "other", "lon": 106.5, "lat": 29.56, "description": "x"},
        headers=CENTER,
    )
    assert r.status_code == 422 and "outside district 500118" in r.json()["detail"]
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = client.post(
        "/api/v1/fire/hazards",
        json={"kind": "other", "lon": LON, "lat": LAT, "description": "x", "found_at": future},
        headers=CENTER,
    )
    assert r.status_code == 422 and "is in the future" in r.json()["detail"]


def test_a_patrol_with_its_track_and_the_hazards_found(client: TestClient, people: dict[str, Any]) -> None:
    worker = people["worker"]
    body = {
        "started_at": "2026-11-20T08:00:00",
        "ended_at": "2026-11-20T11:30:00",
        "points": [[LON, LAT], [LON, LAT + 0.01], [LON, LAT + 0.02]],
        "note": "测试巡护",
        "hazards": [{"kind": "illegal_fire", "lon": LON, "lat": LAT + 0.01, "description": "测试：田边烧荒"}],
    }
    r = client.post("/api/v1/fire/patrols", json=body, headers=user(worker))
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["ranger_name"], p["grid_code"], p["town_code"], p["hours"], p["n_points"]) == (
        people["worker_name"], people["grid"], HOME_TOWN, 3.5, 3,
    )  # fmt: skip
    assert p["length_km"] == round(2 * north_km(0.01), 3) == 2.224
    assert p["track"]["coordinates"][1] == [LON, round(LAT + 0.01, 6)]
    (hid,) = p["hazard_ids"]
    h = client.get(f"/api/v1/fire/hazards/{hid}", headers=user(worker)).json()
    assert (h["patrol_id"], h["found_by"], h["found_at"]) == (
        p["id"],
        people["worker_name"],
        "2026-11-20T03:30:00Z",
    )
    assert h["deadline"] == "2026-11-21"  # 违规野外用火: 1 day
    listed = client.get(
        "/api/v1/fire/patrols?since=2026-11-20T00:00&until=2026-11-21", headers=user(f"{HOME_TOWN}.duty")
    )
    assert [x["id"] for x in listed.json()] == [p["id"]] and listed.json()[0]["track"] is None
    assert client.get("/api/v1/fire/patrols", headers=user(f"{OTHER_TOWN}.duty")).json() == []
    assert (
        client.get(f"/api/v1/fire/patrols/{p['id']}", headers=user(f"{OTHER_TOWN}.duty")).status_code == 404
    )
    line = {"type": "LineString", "coordinates": [[LON, LAT], [LON, LAT + 0.01]]}
    gcj = {**body, "points": None, "track": line, "crs": "gcj02", "hazards": []}
    q = client.post("/api/v1/fire/patrols", json=gcj, headers=user(worker)).json()
    want = org_rules.gcj02_to_wgs84(LON, LAT)
    assert q["track"]["coordinates"][0] == [round(want[0], 6), round(want[1], 6)]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"ended_at": "2026-11-20T07:00:00"}, 422, "the patrol must end after it starts"),
        ({"ended_at": "2026-11-22T09:00:00"}, 422, "a patrol lasts at most 24 h"),
        ({"points": [[LON, LAT]]}, 422, "track: needs 2 to 20000 points, got 1"),
        ({"ranger": f"{HOME_TOWN}.duty"}, 422, "the ranger must be one of grid_worker, grid_leader"),
        ({"ranger": "nobody"}, 422, 'unknown staff "nobody" in district 500118'),
        (
            {"track": {"type": "Point", "coordinates": [LON, LAT]}, "points": None},
            422,
            "track must be a GeoJSON LineString",
        ),
        (
            {"hazards": [{"kind": "ufo", "lon": LON, "lat": LAT, "description": "x"}]},
            422,
            'hazards[0]: unknown hazard kind "ufo"',
        ),
    ],
)
def test_bad_patrols_are_refused(
    client: TestClient, people: dict[str, Any], change: dict[str, Any], status: int, message: str
) -> None:
    body = {"started_at": "2026-11-20T08:00:00", "ended_at": "2026-11-20T09:00:00",
            "points": [[LON, LAT], [LON, LAT + 0.01]], **change}  # fmt: skip
    r = client.post(
        "/api/v1/fire/patrols", json=body, headers=CENTER if "ranger" in change else user(people["worker"])
    )
    assert r.status_code == status and message in r.json()["detail"], r.text
    assert client.get("/api/v1/fire/patrols", headers=CENTER).json() == []


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_add_list_close_and_patrols(engine: Engine, people: dict[str, Any]) -> None:
    run = CliRunner().invoke
    res = run(app, ["fire", "hazards", "add", "--kind", "坟头祭祀", "--lon", str(LON), "--lat", str(LAT),
                    "--description", "测试", "--by", people["worker"]])  # fmt: skip
    assert res.exit_code == 2 and res.stderr.startswith(
        'error: unknown hazard kind "坟头祭祀"; known: ritual_fire'
    )
    res = run(app, ["fire", "hazards", "add", "--kind", "祭祀用火隐患", "--lon", str(LON), "--lat", str(LAT),
                    "--description", "测试：坟前烧纸", "--by", people["worker"],
                    "--deadline", "2026-12-31"])  # fmt: skip
    assert res.exit_code == 0, res.output
    h = json.loads(res.stdout)
    assert (h["kind"], h["found_by"], h["deadline"], h["grid_code"]) == (
        "ritual_fire", people["worker_name"], "2026-12-31", people["grid"],
    )  # fmt: skip
    res = run(app, ["fire", "hazards", "list"])
    assert res.exit_code == 0 and "祭祀用火隐患" in res.stdout and "待整改" in res.stdout
    res = run(
        app, ["fire", "hazards", "close", str(h["id"]), "--evidence", "已劝导", "--by", people["worker"]]
    )
    assert (
        res.exit_code == 2 and "may not close hazards out (销号 needs a town or district role)" in res.stderr
    )
    res = run(
        app,
        ["fire", "hazards", "close", str(h["id"]), "--evidence", "已劝导并清理", "--by", f"{HOME_TOWN}.duty"],
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["status"] == "closed"
    res = run(app, ["fire", "hazards", "list", "--status", "closed", "--json"])
    assert [x["id"] for x in json.loads(res.stdout)] == [h["id"]]
    res = run(app, ["fire", "patrols", "list"])
    assert res.exit_code == 0 and res.stdout.strip() == "no patrols"
    res = run(app, ["fire", "patrols", "list", "--since", "2026-13-01"])
    assert res.exit_code == 2 and res.stderr.startswith('error: --since "2026-13-01": not a date YYYY-MM-DD')
