"""Shared pieces of the resources / response / grading / hazard tests (issue 5, part 3).

Every fire resource, hazard and patrol in these tests is GENERATED: no public list of Yongchuan's
fire teams, water points, towers, checkpoints or depots exists, so the tests place made-up ones
("测试" in their names) at chosen offsets from real points of the Yongchuan org model (conftest loads
the real district). Import the fixture ``clean_response`` into a test module to empty these tables
after each test.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

RESPONSE_TABLES = ("fire_hazard", "fire_patrol", "fire_event_record", "fire_resource")
"""Deleted in this order (hazards point at patrols; records at events, emptied by conftest after)."""

R_KM = 6371.0088
HOME = (105.898213, 29.352365)  # a point in 中山路街道 (500118001000), as tests/auth uses
HOME_TOWN, OTHER_TOWN = "500118001000", "500118002000"  # 中山路街道, 胜利路街道
ZHUTUO = (105.81419, 29.03551)  # the real 2022-05-31 Aqua detection in 朱沱镇 (tests/data/fire/firms)
SYS = {"X-Zhizhi-User": "500118.system"}
CENTER = {"X-Zhizhi-User": "500118.duty"}  # 城运中心值班员: fire.manage, fire.verify, event.preplan


def user(name: str) -> dict[str, str]:
    return {"X-Zhizhi-User": name}


def north_km(deg: float) -> float:
    """Great-circle km of ``deg`` degrees of latitude along a meridian: R·Δφ (exact on the sphere)."""
    return R_KM * math.radians(deg)


@pytest.fixture
def clean_response(engine: Engine) -> Iterator[None]:
    """Empty the resource, record, hazard and patrol tables after the test (before conftest empties
    the event tables the records point at)."""
    yield
    with engine.begin() as c:
        for t in RESPONSE_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def add_resource(
    client: TestClient, kind: str, name: str, lon: float, lat: float, **extra: Any
) -> dict[str, Any]:
    """Register a GENERATED resource through the API as the district center; returns its JSON."""
    body = {"kind": kind, "name": name, "lon": lon, "lat": lat, **extra}
    r = client.post("/api/v1/fire/resources", json=body, headers=CENTER)
    assert r.status_code == 201, r.text
    return dict(r.json())


def fire_event(client: TestClient, lon: float, lat: float, category: str = "2206") -> dict[str, Any]:
    """A 森林火情 (or 2207) event reported at a point by the platform; returns its JSON."""
    r = client.post(
        "/api/v1/events",
        json={"category_code": category, "title": "测试林区火情", "lon": lon, "lat": lat},
        headers=SYS,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
