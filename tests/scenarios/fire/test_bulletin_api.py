"""``GET /api/v1/fire/bulletin`` (json, cap, geojson) in the caller's scope, the CAP validated against
tests/data/standards/CAP-v1.2.xsd; reading it opens no prevention task.

Towns are the 23 real Yongchuan towns (org/data/yongchuan/divisions.csv); their levels are GENERATED
test values stored with ``store`` of test_cap.py. (The KPI route is tested in test_fire_kpis.py.)
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import xmlschema
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.scenarios.fire.test_cap import DANGER_TABLES, DAY, HONGLU, NS, STANDARDS, ZHUTUO, store, txt
from zhizhi.event.models import Event

URL = "/api/v1/fire/bulletin"
ZHONGSHAN = "500118001000"  # 中山路街道


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(STANDARDS / "CAP-v1.2.xsd"))


@pytest.fixture(autouse=True)
def _clean_danger(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as c:
        for t in DANGER_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def rated(session: Session) -> None:
    """DAY stored: 朱沱镇 四级, 红炉镇 五级, the other 21 towns 一级 (GENERATED levels)."""
    store(session, {ZHUTUO: 4, HONGLU: 5})
    session.commit()


def as_(user: str) -> dict[str, str]:
    return {"X-Zhizhi-User": user}


def test_json_bulletin_of_the_district(client: TestClient, rated: None) -> None:
    r = client.get(URL, params={"date": DAY.isoformat(), "format": "json"}, headers=as_("500118.leader"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    b = r.json()
    assert (b["date"], b["status"], b["district_code"], b["district_name"], len(b["towns"])) == (
        "2026-11-28", "Actual", "500118", "永川区", 23,
    )  # fmt: skip
    assert (b["valid_from"], b["valid_to"]) == ("2026-11-28T00:00:00+08:00", "2026-11-29T00:00:00+08:00")
    assert b["towns_per_level"] == {"1": 21, "2": 0, "3": 0, "4": 1, "5": 1}
    assert b["prevention_min_level"] == 4
    by_town = {t["town_code"]: t for t in b["towns"]}
    assert by_town[HONGLU] == {
        "town_code": HONGLU, "town_name": "红炉镇", "level": 5, "label": "五级", "name": "极高火险",
        "colour": "#D7191C", "colour_name": "红色", "index_name": "HTZ", "index_value": 95.0,
    }  # fmt: skip


def test_cap_bulletin_validates_and_geojson_maps_the_towns(
    client: TestClient, rated: None, schema: xmlschema.XMLSchema, session: Session
) -> None:
    r = client.get(URL, params={"date": "2026-11-28"}, headers=as_("500118.duty"))  # CAP by default
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/cap+xml")
    schema.validate(r.text)
    root = ET.fromstring(r.content)
    assert txt(root, "c:status") == "Actual" and len(root.findall("c:info", NS)) == 23
    r = client.get(
        URL, params={"date": "2026-11-28", "format": "cap", "status": "Exercise"}, headers=as_("500118.duty")
    )
    schema.validate(r.text)
    assert txt(ET.fromstring(r.content), "c:status") == "Exercise"
    r = client.get(URL, params={"date": "2026-11-28", "format": "geojson"}, headers=as_("500118.duty"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    gj = json.loads(r.content)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 23
    # reading the bulletin (even with towns rated 四级 and 五级) opens no prevention task
    assert session.scalar(select(Event.id).where(Event.category_code == "2208")) is None


def test_a_town_role_gets_its_town_and_a_grid_role_its_grids_town(
    client: TestClient, rated: None, schema: xmlschema.XMLSchema
) -> None:
    json_of = {"date": "2026-11-28", "format": "json"}
    r = client.get(URL, params=json_of, headers=as_(f"{ZHUTUO}.duty"))
    assert r.status_code == 200, r.text
    assert [(t["town_code"], t["level"]) for t in r.json()["towns"]] == [(ZHUTUO, 4)]
    r = client.get(URL, params={"date": "2026-11-28", "format": "cap"}, headers=as_(f"{ZHUTUO}.duty"))
    schema.validate(r.text)
    infos = ET.fromstring(r.content).findall("c:info", NS)
    assert [txt(i, "c:area/c:geocode[2]/c:value") for i in infos] == [ZHUTUO]
    r = client.get(URL, params=json_of, headers=as_("500118118207001.worker"))
    assert [t["town_code"] for t in r.json()["towns"]] == [ZHUTUO]
    r = client.get(URL, params=json_of, headers=as_("500118-CGJ.handler"))  # a department
    assert len(r.json()["towns"]) == 23


def test_missing_day_bad_format_and_no_credentials(client: TestClient, rated: None) -> None:
    r = client.get(URL, params={"date": "2026-11-27"}, headers=as_("500118.duty"))
    assert r.status_code == 404
    assert r.json()["detail"].startswith(
        "no town of district 500118 has a stored fire danger rating for 2026-11-27: rate the day first"
    )
    r = client.get(URL, params={"date": "2026-11-27"}, headers=as_(f"{ZHONGSHAN}.duty"))
    assert r.status_code == 404 and r.json()["detail"].startswith(
        f"town {ZHONGSHAN} has no stored fire danger rating for 2026-11-27"
    )
    r = client.get(URL, params={"date": "2026-11-28", "format": "kml"}, headers=as_("500118.duty"))
    assert r.status_code == 422
    assert client.get(URL, params={"date": "28/11/2026"}, headers=as_("500118.duty")).status_code == 422
