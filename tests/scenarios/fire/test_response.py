"""The response to a fire event: the nearest resources of each kind with straight-line distances, and
the one-click pre-plan start with a task for the nearest team's unit.

Resources are GENERATED at chosen offsets north of a real point of 中山路街道 (response_support.py), so
their distances are known exactly: R·Δφ along the meridian (R = 6371.0088 km).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.scenarios.fire.response_support import (
    CENTER,
    HOME,
    HOME_TOWN,
    OTHER_TOWN,
    SYS,
    add_resource,
    clean_response,  # noqa: F401  (fixture)
    fire_event,
    north_km,
    user,
)

pytestmark = pytest.mark.usefixtures("clean_response")
LON, LAT = HOME


@pytest.fixture
def layers(client: TestClient) -> dict[str, dict[str, Any]]:
    """GENERATED resources north (+) and south (−) of HOME: two teams, a water point, a lookout."""
    return {
        "semi": add_resource(
            client, "team", "测试胜利路半专业扑火队", LON, LAT + 0.01, owner=OTHER_TOWN,
            attrs={"type": "semi_professional", "people": 20, "equipment": ["风力灭火机", "二号工具"]},
        ),
        "pro": add_resource(
            client, "team", "测试区专业扑火队", LON, LAT + 0.02, owner="LYJ",
            attrs={"type": "professional", "people": 35},
        ),
        "pond": add_resource(
            client, "water", "测试山坪塘", LON, LAT + 0.005, attrs={"type": "pond", "capacity_m3": 800}
        ),
        "tower": add_resource(client, "lookout", "测试瞭望塔", LON, LAT - 0.03, attrs={"type": "tower"}),
    }  # fmt: skip


def test_nearest_of_each_kind_with_exact_straight_line_distances(
    client: TestClient, layers: dict[str, dict[str, Any]]
) -> None:
    ev = fire_event(client, LON, LAT)
    r = client.get(f"/api/v1/fire/events/{ev['id']}/nearest", headers=user(f"{HOME_TOWN}.duty"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert (
        got["distance"].startswith("straight-line (great-circle, haversine")
        and "road network" in got["distance"]
    )
    kinds = {k["kind"]: k for k in got["kinds"]}
    assert list(kinds) == ["team", "water", "lookout", "checkpoint", "depot", "drone_dock"]
    assert [(x["name"], x["distance_km"]) for x in kinds["team"]["resources"]] == [
        ("测试胜利路半专业扑火队", round(north_km(0.01), 3)),
        ("测试区专业扑火队", round(north_km(0.02), 3)),
    ]
    assert (round(north_km(0.01), 3), round(north_km(0.02), 3)) == (1.112, 2.224)
    assert kinds["water"]["resources"][0]["distance_km"] == round(north_km(0.005), 3) == 0.556
    assert kinds["lookout"]["resources"][0]["distance_km"] == round(north_km(0.03), 3) == 3.336
    assert kinds["depot"]["resources"] == [] and kinds["team"]["colour"] == "#D62728"
    one = client.get(f"/api/v1/fire/events/{ev['id']}/nearest?per_kind=1", headers=CENTER).json()
    assert [len(k["resources"]) for k in one["kinds"]] == [1, 1, 1, 0, 0, 0]
    assert (
        client.get(f"/api/v1/fire/events/{ev['id']}/nearest?per_kind=50", headers=CENTER).status_code == 422
    )
    hot = fire_event(client, LON, LAT + 0.03, category="2207")  # a hotspot check is a fire event too
    near = client.get(f"/api/v1/fire/events/{hot['id']}/nearest?per_kind=1", headers=CENTER).json()
    assert near["kinds"][0]["resources"][0]["name"] == "测试区专业扑火队"


def test_respond_starts_the_preplan_and_sends_the_nearest_team(
    client: TestClient, layers: dict[str, dict[str, Any]]
) -> None:
    ev = fire_event(client, LON, LAT)
    grid = ev["grid_code"]
    assert ev["town_code"] == HOME_TOWN and grid
    r = client.post(f"/api/v1/fire/events/{ev['id']}/respond", headers=user(f"{HOME_TOWN}.duty"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["preplan"], got["team"]["id"], got["team"]["distance_km"], got["notes"]) == (
        "forest-fire-alarm", layers["semi"]["id"], 1.112, [],
    )  # fmt: skip
    assert [(t["unit_code"], t["role"]) for t in got["tasks"]] == [
        (f"{OTHER_TOWN}-ZHZX", "town_duty"),  # the team's town center: its own task, first
        ("500118-LYJ", "dept_handler"),
        (f"{HOME_TOWN}-ZHZX", "town_duty"),
        (grid, "grid_worker"),
        ("500118-YJJ", "dept_handler"),
    ]
    assert got["team_task_id"] == got["tasks"][0]["id"]
    assert got["tasks"][0]["task"] == (
        "扑火队出动：测试胜利路半专业扑火队（半专业扑火队，20 人，装备：风力灭火机、二号工具）立即赶赴火点，"
        "距火点直线约 1.1 km（直线距离，道路距离需路网数据）"
    )
    detail = client.get(f"/api/v1/events/{ev['id']}", headers=SYS).json()
    assert len(detail["tasks"]) == 5 and detail["node"] == "reported"  # the event stays at its node
    steps = [(s["action"], s["comment"]) for s in detail["timeline"] if s["action"] == "preplan"]
    assert steps == [
        ("preplan", "启动预案 森林火情处置预案"),
        ("preplan", "派出最近扑火队 测试胜利路半专业扑火队（直线约 1.1 km）"),
    ]
    again = client.post(f"/api/v1/fire/events/{ev['id']}/respond", headers=CENTER)
    assert again.status_code == 409 and "already running" in again.json()["detail"]
    # nearer to the professional team: its department (林业局) gets the team task, addressed to its handler
    north = fire_event(client, LON, LAT + 0.025)
    got = client.post(f"/api/v1/fire/events/{north['id']}/respond", headers=CENTER).json()
    assert (got["team"]["name"], got["tasks"][0]["unit_code"], got["tasks"][0]["role"]) == (
        "测试区专业扑火队", "500118-LYJ", "dept_handler",
    )  # fmt: skip
    assert got["team"]["distance_km"] == round(north_km(0.005), 3)


def test_respond_without_any_team_still_starts_the_preplan(client: TestClient) -> None:
    ev = fire_event(client, LON, LAT)
    got = client.post(f"/api/v1/fire/events/{ev['id']}/respond", headers=CENTER).json()
    assert got["team"] is None and got["team_task_id"] is None and len(got["tasks"]) == 4
    assert got["notes"] == ["district 500118 has no fire team registered: no team task was created"]


def test_scope_and_bad_events(client: TestClient, layers: dict[str, dict[str, Any]]) -> None:
    ev = fire_event(client, LON, LAT)
    other = user(f"{OTHER_TOWN}.duty")
    for method, path in (("GET", "nearest"), ("POST", "respond"), ("GET", "record")):
        r = client.request(method, f"/api/v1/fire/events/{ev['id']}/{path}", headers=other)
        assert r.status_code == 404, (path, r.text)
    r = client.post(f"/api/v1/fire/events/{ev['id']}/respond", headers=user(f"{ev['grid_code']}.worker"))
    assert r.status_code == 403 and "(event.preplan)" in r.json()["detail"]
    assert client.get(f"/api/v1/events/{ev['id']}", headers=SYS).json()["tasks"] == []
    road = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "道路破损", "lon": LON, "lat": LAT},
        headers=SYS,
    ).json()
    r = client.get(f"/api/v1/fire/events/{road['id']}/nearest", headers=CENTER)
    assert r.status_code == 422 and "is not a fire event" in r.json()["detail"]
    nowhere = client.post(
        "/api/v1/events", json={"category_code": "2206", "title": "山火", "town_code": HOME_TOWN}, headers=SYS
    ).json()
    r = client.post(f"/api/v1/fire/events/{nowhere['id']}/respond", headers=CENTER)
    assert r.status_code == 422 and "has no point" in r.json()["detail"]
    assert client.get("/api/v1/fire/events/999999/nearest", headers=CENTER).status_code == 404
