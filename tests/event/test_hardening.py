"""Defects found by a new user trying to break the API, kept as tests (see the closing note of issue 2)."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import as_user
from tests.event.test_api import CGJ, DUTY, LAT, LON, move, report

from zhizhi.event import tasks

TOWN = "500118001000"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def dispatched(client: TestClient, unit: str = "500118-CGJ", **kw: Any) -> dict[str, Any]:
    ev = report(client, **kw)
    for a in ("accept", "register"):
        move(client, ev["id"], DUTY, a)
    r = move(client, ev["id"], DUTY, "dispatch", unit_code=unit)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_reminder_does_not_show_an_undispatched_event_to_the_suggested_department(
    client: TestClient, session: Session
) -> None:
    ev = report(client)
    assert ev["suggested_unit_code"] == "500118-CGJ" and ev["unit_code"] is None
    tasks.sweep(session)  # nothing due yet; then force a reminder by hand
    session.commit()
    assert move(client, ev["id"], DUTY, "remind").status_code == 200
    assert client.get(f"/api/v1/events/{ev['id']}", headers=CGJ).status_code == 404
    assert client.get("/api/v1/events", headers=CGJ).json()["total"] == 0


def test_board_staff_cannot_act_for_a_department(client: TestClient) -> None:
    ev = dispatched(client)
    r = move(client, ev["id"], as_user(f"{TOWN}-DJ.staff"), "sign")
    assert r.status_code == 403 and "assigned to 500118-CGJ" in r.json()["detail"]
    own = dispatched(client, unit=f"{TOWN}-DJ")
    assert move(client, own["id"], as_user(f"{TOWN}-DJ.staff"), "sign").status_code == 200


def test_town_duty_acts_only_for_units_of_its_town(client: TestClient) -> None:
    ev = dispatched(client)
    assert move(client, ev["id"], as_user(f"{TOWN}.duty"), "sign").status_code == 403
    own = dispatched(client, unit=f"{TOWN}-MS")
    assert move(client, own["id"], as_user(f"{TOWN}.duty"), "sign").status_code == 200


def test_dispatch_only_to_units_that_take_events(client: TestClient) -> None:
    ev = report(client)
    for a in ("accept", "register"):
        move(client, ev["id"], DUTY, a)
    for bad, needle in (
        ("500118000000", "cannot take events"),
        (TOWN, "cannot take events"),
        ("500118-CYZX", "cannot take events"),
        ("500118002000-ZHZX", "belongs to town"),
    ):
        r = move(client, ev["id"], DUTY, "dispatch", unit_code=bad)
        assert r.status_code == 422 and needle in r.json()["detail"], (bad, r.text)
    r = client.post(
        "/api/v1/routing-rules",
        json={"category_code": "0101", "unit_code": "500118000000"},
        headers=as_user("500118.chief"),
    )
    assert r.status_code == 422 and "cannot take events" in r.json()["detail"]


def test_staff_report_within_their_own_scope_and_see_their_reports(client: TestClient) -> None:
    """A town's staff report in their town, a grid worker in their grid (a report elsewhere would
    write into another town's queue and KPIs); what they report they can read, not move."""
    other_town = as_user("500118002000.duty")
    body = {"category_code": "0101", "title": "外镇所见", "lon": LON, "lat": LAT}
    r = client.post("/api/v1/events", json=body, headers=other_town)
    assert r.status_code == 422
    assert r.json()["detail"] == f"the report would land in {TOWN}, outside your town 500118002000"
    grid = report(client)["grid_code"]
    r = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "外镇", "town_code": "500118002000"},
        headers=as_user(f"{grid}.worker"),
    )
    assert r.status_code == 422 and "outside your grid" in r.json()["detail"]
    # a department's staff report anywhere in the district and read their report, but it is not
    # theirs to move until it is dispatched to them
    cgj = as_user("500118-STHJ.handler")
    r = client.post("/api/v1/events", json=body, headers=cgj)
    assert r.status_code == 201
    eid = r.json()["id"]
    assert client.get(f"/api/v1/events/{eid}", headers=cgj).status_code == 200
    moved = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "sign"}, headers=cgj)
    assert moved.status_code == 404


def test_only_the_district_center_back_dates_or_claims_machine_sources(client: TestClient) -> None:
    town = as_user(f"{TOWN}.duty")
    body = {"category_code": "0101", "title": "x", "lon": LON, "lat": LAT}
    r = client.post("/api/v1/events", json={**body, "reported_at": "2019-11-05T10:00:00"}, headers=town)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reported_at"
    r = client.post("/api/v1/events", json={**body, "source": "satellite"}, headers=town)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "source"
    assert (
        client.post(
            "/api/v1/events", json={**body, "reported_at": "2019-11-05T10:00:00"}, headers=DUTY
        ).status_code
        == 201
    )


def test_duplicate_external_id_does_not_reveal_the_event_to_others(client: TestClient) -> None:
    grid = report(client)["grid_code"]
    worker = as_user(f"{grid}.worker")
    body = {
        "category_code": "0101",
        "title": "x",
        "lon": LON,
        "lat": LAT,
        "external_id": "E-1",
        "source": "grid_app",
    }
    assert client.post("/api/v1/events", json=body, headers=DUTY).status_code == 201
    r = client.post("/api/v1/events", json=body, headers=worker)
    assert r.status_code == 409 and "as event" not in r.json()["detail"] and "event_id" not in r.json()


def test_bad_values_are_422_naming_the_field(client: TestClient) -> None:
    cases = [
        ({"title": "a\x00b"}, "title", "control character"),
        ({"lon": True}, "lon", "not true/false"),
        ({"reported_at": "0001-01-01T00:00:00"}, "reported_at", "2000-01-01"),
        ({"reported_at": "2999-01-01T00:00:00"}, "reported_at", "in the future"),
    ]
    for extra, field, needle in cases:
        body = {"category_code": "0101", "title": "x", "lon": LON, "lat": LAT, **extra}
        r = client.post("/api/v1/events", json=body, headers=DUTY)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field and needle in r.json()["detail"], r.text
    r = client.post(
        "/api/v1/events", content=b'{"title": ', headers={**DUTY, "content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    assert "malformed JSON" in r.json()["detail"]


def test_out_of_range_numbers_in_paths_and_queries_are_422(client: TestClient) -> None:
    for url in (
        "/api/v1/events/2147483648",
        "/api/v1/events?offset=99999999999999999999",
        "/api/v1/kpis?period=0001",
        "/api/v1/kpis?period=9999",
        "/api/v1/events?node=bogus",
    ):
        r = client.get(url, headers=DUTY)
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(600):
            yield b"x" * 10_000

    r = client.post("/api/v1/events", content=chunks(), headers={**DUTY, "content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_attachments_are_checked_by_content(client: TestClient) -> None:
    eid = report(client)["id"]
    url = f"/api/v1/events/{eid}/attachments"
    ok = client.post(
        url, files={"file": ("../../etc/p.png", PNG, "image/png")}, data={"kind": "before"}, headers=DUTY
    )
    assert ok.status_code == 201 and ok.json()["filename"] == "p.png" and ok.json()["size"] == len(PNG)
    fake = client.post(url, files={"file": ("x.png", b"#!/bin/sh\necho hi\n", "image/png")}, headers=DUTY)
    assert fake.status_code == 422 and "content is not image/png" in fake.json()["detail"]
    assert (
        client.post(url, files={"file": ("x.sh", b"#!/bin/sh", "text/x-sh")}, headers=DUTY).status_code == 422
    )
    assert client.post(url, files={"file": ("e.png", b"", "image/png")}, headers=DUTY).status_code == 422
    detail = client.get(f"/api/v1/events/{eid}", headers=DUTY).json()
    assert [a["filename"] for a in detail["attachments"]] == ["p.png"]


def test_extension_cannot_grant_more_than_asked_and_buttons_follow_the_request(client: TestClient) -> None:
    ev = dispatched(client)
    move(client, ev["id"], CGJ, "sign")
    assert (
        "approve_extension"
        not in client.get(f"/api/v1/events/{ev['id']}", headers=DUTY).json()["allowed_actions"]
    )
    r = move(client, ev["id"], CGJ, "request_extension", comment="需协调", extra_amount=2)
    assert (
        "request_extension"
        not in client.get(f"/api/v1/events/{ev['id']}", headers=CGJ).json()["allowed_actions"]
    )
    r = move(client, ev["id"], DUTY, "approve_extension", extra_amount=1000)
    assert r.status_code == 422 and "cannot grant more than was asked" in r.json()["detail"]
    r = move(client, ev["id"], DUTY, "approve_extension", extra_amount=2)
    assert r.status_code == 200


def test_a_preplan_runs_once_at_a_time(client: TestClient) -> None:
    eid = report(client, category_code="0401", title="路面积水")["id"]
    assert client.post(f"/api/v1/events/{eid}/preplans/waterlogging", headers=DUTY).status_code == 201
    r = client.post(f"/api/v1/events/{eid}/preplans/waterlogging", headers=DUTY)
    assert r.status_code == 409 and "already running" in r.json()["detail"]


def test_swagger_ui_is_served_locally(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page and "cdn." not in page
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_the_sweep_does_not_bump_the_version_but_still_respects_it(
    client: TestClient, session: Session, engine: Any
) -> None:
    from datetime import timedelta

    import pytest
    from sqlalchemy.orm.exc import StaleDataError

    from zhizhi.core import time as ztime
    from zhizhi.core.db import session_factory
    from zhizhi.event.models import Event

    ev = report(client)
    r = move(client, ev["id"], DUTY, "accept", expected_version=ev["version"])
    version = r.json()["version"]
    assert version == ev["version"] + 1
    tasks.sweep(session, ztime.utcnow())  # recolours/flags, but it is not a person's move
    session.commit()
    assert client.get(f"/api/v1/events/{ev['id']}", headers=DUTY).json()["version"] == version
    assert move(client, ev["id"], DUTY, "register", expected_version=version).status_code == 200
    # a stale writer is still refused: the version stays in the UPDATE's WHERE clause
    with session_factory(engine)() as a, session_factory(engine)() as b:
        ea, eb = a.get(Event, ev["id"]), b.get(Event, ev["id"])
        assert ea is not None and eb is not None
        ea.version += 1
        ea.colour = "blue"
        a.commit()
        eb.colour = "red"
        eb.node_entered_at = eb.node_entered_at - timedelta(seconds=1)
        with pytest.raises(StaleDataError):
            b.flush()


def test_a_town_dispatcher_completes_tasks_of_its_own_town_only(client: TestClient) -> None:
    """A pre-plan task of a district department is that department's (or the district center's) to
    finish; a town center finishes the tasks of units in its own town."""
    ev = report(client, category_code="0401")
    r = client.post(f"/api/v1/events/{ev['id']}/preplans/waterlogging", headers=DUTY)
    assert r.status_code == 201, r.text
    tasks = {
        t["unit_code"]: t["id"]
        for t in client.get(f"/api/v1/events/{ev['id']}", headers=DUTY).json()["tasks"]
    }
    town = as_user(f"{TOWN}.duty")
    r = client.post(f"/api/v1/tasks/{tasks['500118-CGJ']}/done", json={"comment": "x"}, headers=town)
    assert r.status_code == 403 and "belongs to 500118-CGJ" in r.json()["detail"]
    town_task = next(i for u, i in tasks.items() if u.startswith(TOWN))
    assert (
        client.post(f"/api/v1/tasks/{town_task}/done", json={"comment": "已转移"}, headers=town).status_code
        == 200
    )
    cgj = as_user("500118-CGJ.handler")
    assert (
        client.post(
            f"/api/v1/tasks/{tasks['500118-CGJ']}/done", json={"comment": "已抽排"}, headers=cgj
        ).status_code
        == 200
    )
