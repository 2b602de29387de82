"""The closed loop through the HTTP API, as clients use it (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import as_user

# 中山路社区居民委员会 (500118001001): a real village point from villages_points.csv
LON, LAT = 105.898213, 29.352365
DUTY, CHIEF = as_user("500118.duty"), as_user("500118.chief")
CGJ = as_user("500118-CGJ.handler")


def report(client: TestClient, **kw: Any) -> dict[str, Any]:
    body = {
        "category_code": "0101",
        "title": "路边暴露垃圾",
        "lon": LON,
        "lat": LAT,
        "reporter_phone": "13812345678",
        **kw,
    }
    r = client.post("/api/v1/events", json=body, headers=DUTY)
    assert r.status_code == 201, r.text
    return r.json()


def move(client: TestClient, eid: int, headers: dict[str, str], action: str, **kw: Any) -> Any:
    return client.post(f"/api/v1/events/{eid}/transitions", json={"action": action, **kw}, headers=headers)


def test_report_is_placed_routed_and_masked(client: TestClient) -> None:
    ev = report(client)
    assert ev["node"] == "reported"
    assert ev["town_code"] == "500118001000"
    assert ev["village_code"] is not None and ev["village_code"].startswith("500118001")
    assert ev["grid_code"].startswith(ev["village_code"])
    # 暴露垃圾 → 区城市管理局 by the catalogue default; assigned only when dispatched
    assert ev["unit_code"] is None and ev["suggested_unit_code"] == "500118-CGJ"
    assert ev["reporter_phone"] == "138****5678"
    assert ev["node_limit"] == "0.5 continuous"


def test_full_loop_records_every_step(client: TestClient) -> None:
    eid = report(client)["id"]
    assert move(client, eid, DUTY, "accept").json()["node"] == "accepted"
    assert move(client, eid, DUTY, "register").json()["node"] == "registered"
    d = move(client, eid, DUTY, "dispatch", unit_code="auto").json()
    assert (d["node"], d["unit_code"], d["dispatch_mode"]) == ("dispatched", "500118-CGJ", "horizontal")
    assert move(client, eid, CGJ, "sign").json()["node"] == "signed"
    assert move(client, eid, CGJ, "handle", comment="已清运").json()["node"] == "handled"
    grid = d["grid_code"]
    assert move(client, eid, as_user(f"{grid}.worker"), "verify_pass").json()["node"] == "verified"
    done = move(client, eid, DUTY, "close").json()
    assert done["node"] == "closed"
    assert [s["action"] for s in done["timeline"]] == [
        "report",
        "accept",
        "register",
        "dispatch",
        "sign",
        "handle",
        "verify_pass",
        "close",
    ]
    assert [s["to_node"] for s in done["timeline"]][-1] == "closed"
    assert all(s["used"] is not None and s["used"] >= 0 for s in done["timeline"][1:])
    assert done["allowed_actions"] == ["evaluate", "reopen"]


def test_illegal_move_is_refused_and_changes_nothing(client: TestClient) -> None:
    ev = report(client)
    r = move(client, ev["id"], DUTY, "close")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["node"] == "reported" and 'at node "reported"' in body["detail"]
    assert move(client, ev["id"], CGJ, "accept").status_code == 404  # not dispatched to CGJ: out of scope
    r = move(client, ev["id"], as_user(f"{ev['grid_code']}.worker"), "accept")
    assert r.status_code == 403 and "may not 受理" in r.json()["detail"]
    after = client.get(f"/api/v1/events/{ev['id']}", headers=DUTY).json()
    assert after["node"] == "reported" and after["version"] == ev["version"]
    assert len(after["timeline"]) == 1


def test_stale_version_gets_409_with_current_state(client: TestClient) -> None:
    ev = report(client)
    assert move(client, ev["id"], DUTY, "accept", expected_version=ev["version"]).status_code == 200
    r = move(client, ev["id"], DUTY, "reject", comment="重复", expected_version=ev["version"])
    assert r.status_code == 409
    assert r.json()["node"] == "accepted" and r.json()["version"] == ev["version"] + 1


def test_handler_of_another_unit_cannot_sign(client: TestClient) -> None:
    eid = report(client)["id"]
    for a in ("accept", "register"):
        move(client, eid, DUTY, a)
    move(client, eid, DUTY, "dispatch", unit_code="500118-CGJ")
    r = move(client, eid, as_user("500118-STHJ.handler"), "sign")
    assert r.status_code == 404  # the event is outside that department's scope: existence does not leak


def test_return_and_rework_are_counted(client: TestClient) -> None:
    eid = report(client)["id"]
    for a in ("accept", "register"):
        move(client, eid, DUTY, a)
    move(client, eid, DUTY, "dispatch", unit_code="500118-CGJ")
    r = move(client, eid, CGJ, "return", comment="不属于本单位职责")
    assert r.json()["node"] == "registered" and r.json()["return_count"] == 1
    assert move(client, eid, CGJ, "sign").status_code == 409  # back at the dispatcher: nothing to sign
    move(client, eid, DUTY, "dispatch", unit_code="500118-CGJ")
    move(client, eid, CGJ, "sign")
    move(client, eid, CGJ, "handle", comment="已处理")
    r = move(client, eid, DUTY, "verify_fail", comment="现场仍有垃圾")
    assert r.json()["node"] == "signed" and r.json()["rework_count"] == 1


def test_bad_input_is_a_problem_naming_the_field(client: TestClient) -> None:
    r = client.post(
        "/api/v1/events", json={"category_code": "9999", "title": "x", "lon": LON, "lat": LAT}, headers=DUTY
    )
    assert r.status_code == 422 and 'unknown category "9999"' in r.json()["detail"]
    r = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "x", "lon": 104.06, "lat": 30.67},
        headers=DUTY,
    )  # Chengdu
    assert r.status_code == 422
    assert "outside every loaded district" in r.json()["detail"] and r.json()["distance_m"] > 100_000
    r = client.post("/api/v1/events", json={"category_code": "0101", "title": "x", "lat": 500}, headers=DUTY)
    assert r.status_code == 422 and any(e["field"] == "lat" for e in r.json()["errors"])
    r = client.post(
        "/api/v1/events", content=b"{not json", headers={**DUTY, "content-type": "application/json"}
    )
    assert r.status_code == 422
    r = client.post("/api/v1/events", json={"category_code": "0101", "title": "x"}, headers={})
    assert r.status_code == 401


def test_gcj02_input_is_converted(client: TestClient) -> None:
    # the same village point as AMap (GCJ-02) gives it: 105.901679, 29.349359
    ev = report(client, lon=105.901679, lat=29.349359, crs="gcj02")
    assert abs(ev["lon"] - LON) < 1e-5 and abs(ev["lat"] - LAT) < 1e-5
