"""The web API and page shells over HTTP (TestClient, the suite's database): the big screen's
aggregates within each scope, town boundaries as GeoJSON, who-am-I with permissions and scope, and
the pages' sign-in redirect, CSRF token and headers."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.conftest import as_user
from zhizhi.core import time as ztime
from zhizhi.core.access import permission_table
from zhizhi.core.db import session_factory
from zhizhi.web import pages

HOME = {"lon": 105.898213, "lat": 29.352365}  # 中山路社区, town 500118001000, grid 500118001001003
HOME_TOWN, OTHER_TOWN = "500118001000", "500118002000"
HOME_GRID = "500118001001003"
SYSTEM = as_user("500118.system")
VENDOR = Path(pages.STATIC_DIR) / "vendor" / "echarts"


def report(client: TestClient, **body: Any) -> dict[str, Any]:
    who = SYSTEM
    r = client.post(
        "/api/v1/events", json={"category_code": "0101", "title": "大屏测试", **body}, headers=who
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def move(client: TestClient, eid: int, *actions: str) -> None:
    extra = {"dispatch": {"unit_code": f"{HOME_TOWN}-MS"}, "handle": {"comment": "已处置"}}
    for a in actions:
        r = client.post(
            f"/api/v1/events/{eid}/transitions", json={"action": a, **extra.get(a, {})}, headers=SYSTEM
        )
        assert r.status_code == 200, r.text


def test_the_screen_summary_counts_today_the_month_and_30_days_within_the_scope(client: TestClient) -> None:
    now = ztime.utcnow()
    today = ztime.to_local(now).date()
    three_days_ago = ztime.to_utc(ztime.to_local(now) - timedelta(days=3))
    a = report(client, **HOME)
    b = report(client, **HOME, urgency="urgent")
    c = report(client, town_code=OTHER_TOWN)
    old = report(client, **HOME, reported_at=three_days_ago.isoformat(), source="hotline_import")
    move(client, a["id"], "accept", "register", "dispatch", "sign", "handle", "verify_pass", "close")

    s = client.get("/api/v1/screen/summary", headers=as_user("500118.leader")).json()
    assert s["district"] == {"code": "500118", "name": "永川区"}
    assert s["today"] == {"reported": 3, "closed": 1, "open": 3, "overdue": 0, "urgent": 1}
    assert s["trend"]["days"][-1] == today.isoformat() and len(s["trend"]["days"]) == 30
    assert s["trend"]["reported"][-1] == 3 and s["trend"]["closed"][-1] == 1
    assert s["trend"]["reported"][-4] == 1 and sum(s["trend"]["reported"]) == 4
    same_month = ztime.to_local(three_days_ago).month == today.month
    assert s["towns"][HOME_TOWN] == {
        "today": 2,
        "month": 3 if same_month else 2,
        "close_rate": 1.0,  # the one registered is closed
        "ontime_close_rate": 1.0,
    }
    assert s["towns"][OTHER_TOWN] == {"today": 1, "month": 1, "close_rate": None, "ontime_close_rate": None}
    assert s["replay"] is False and s["day"] == today.isoformat()
    assert s["month"]["period"] == f"{today.year}-{today.month:02d}"
    assert s["month"]["reported"] == (4 if same_month else 3)
    assert s["month"]["close_rate"] == 1.0  # 结案/应结案: only the closed one was registered
    assert {p["id"] for p in s["points"]} == {a["id"], b["id"]}  # located, reported today
    assert next(p for p in s["points"] if p["id"] == b["id"])["urgency"] == "urgent"
    assert [r["id"] for r in s["recent"]] == [c["id"], b["id"], a["id"], old["id"]]
    assert s["recent"][0] == {
        "id": c["id"],
        "category_code": "0101",
        "category_name": "暴露垃圾",
        "town_code": OTHER_TOWN,
        "node": "reported",
        "colour": "green",
        "urgency": "normal",
        "reported_at": s["recent"][0]["reported_at"],
    }
    assert {r["code"] for r in s["ranking"]} == {HOME_TOWN, OTHER_TOWN}
    # no free text or personal data leaves for the screen
    assert "大屏测试" not in json.dumps(s, ensure_ascii=False)

    town = client.get("/api/v1/screen/summary", headers=as_user(f"{HOME_TOWN}.duty")).json()
    assert town["today"]["reported"] == 2 and set(town["towns"]) == {HOME_TOWN}
    assert c["id"] not in {r["id"] for r in town["recent"]}
    outsider = client.get("/api/v1/screen/summary", headers=as_user("500118006207008.worker")).json()
    assert outsider["today"] == {"reported": 0, "closed": 0, "open": 0, "overdue": 0, "urgent": 0}
    assert outsider["points"] == [] and outsider["recent"] == [] and outsider["towns"] == {}


def test_the_summary_is_computed_once_per_audience_and_dropped_on_a_change(client: TestClient) -> None:
    leader, center = as_user("500118.leader"), as_user("500118.duty")
    first = client.get("/api/v1/screen/summary", headers=leader)
    assert first.headers["x-cache"] == "miss" and first.json()["today"]["reported"] == 0
    # the district center duty officer sees every confidential category as well: not the same audience
    assert client.get("/api/v1/screen/summary", headers=center).headers["x-cache"] == "miss"
    again = client.get("/api/v1/screen/summary", headers=leader)
    assert again.headers["x-cache"] == "hit" and again.json() == first.json()
    report(client, **HOME)  # a committed change drops every entry
    after = client.get("/api/v1/screen/summary", headers=leader)
    assert after.headers["x-cache"] == "miss" and after.json()["today"]["reported"] == 1
    town = client.get("/api/v1/screen/summary", headers=as_user(f"{HOME_TOWN}.duty"))
    assert town.headers["x-cache"] == "miss" and set(town.json()["towns"]) == {HOME_TOWN}
    past = client.get("/api/v1/screen/summary", params={"as_of": "2020-01-01"}, headers=leader)
    assert past.headers["x-cache"] == "miss" and past.json()["replay"] is True


def test_the_summary_cache_keeps_nothing_computed_across_a_change() -> None:
    from zhizhi.web.cache import SummaryCache

    cache, engine, calls = SummaryCache(), object(), []

    def compute() -> int:
        calls.append(1)
        cache.changed(engine)  # type: ignore[arg-type]  # a change commits while computing
        return len(calls)

    assert cache.get(engine, "k", 60, compute) == (1, False)  # type: ignore[arg-type]
    assert cache.get(engine, "k", 60, lambda: 7) == (7, False)  # type: ignore[arg-type]  # not kept
    assert cache.get(engine, "k", 60, lambda: 8) == (7, True)  # type: ignore[arg-type]
    assert cache.get(engine, "other", 60, lambda: 1) == (1, False)  # type: ignore[arg-type]  # per key
    cache.changed(engine)  # type: ignore[arg-type]
    assert cache.get(engine, "k", -1, lambda: 9) == (9, False)  # type: ignore[arg-type]  # kept, expired
    assert cache.get(engine, "k", 60, lambda: 10) == (10, False)  # type: ignore[arg-type]


def test_town_boundaries_come_as_one_cached_geojson_collection(client: TestClient) -> None:
    who = as_user("500118.leader")
    r = client.get("/api/v1/org/geojson", headers=who)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 23
    first = fc["features"][0]
    assert first["properties"] == {
        "code": "500118001000",
        "name": "中山路街道",
        "level": "town",
        "town_code": "500118001000",
        "generated": True,
    }
    assert first["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    again = client.get("/api/v1/org/geojson", headers={**who, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    grids = client.get("/api/v1/org/geojson", params={"level": "grid", "town": HOME_TOWN}, headers=who).json()
    assert grids["features"] and all(f["properties"]["town_code"] == HOME_TOWN for f in grids["features"])
    assert client.get("/api/v1/org/geojson", params={"district": "110101"}, headers=who).status_code == 404
    assert client.get("/api/v1/org/geojson", params={"level": "nation"}, headers=who).status_code == 422


def test_me_lists_the_callers_permissions_and_scope(client: TestClient) -> None:
    me = client.get("/api/v1/auth/me", headers=as_user(f"{HOME_GRID}.worker")).json()
    assert me["scope"] == {"kind": "grid", "code": HOME_GRID}
    assert me["role_label"] == "网格员"
    assert me["permissions"] == sorted(permission_table().roles["grid_worker"].permissions)
    assert "event.report" in me["permissions"] and "event.dispatch" not in me["permissions"]
    duty = client.get("/api/v1/auth/me", headers=as_user(f"{HOME_TOWN}.duty")).json()
    assert duty["scope"] == {"kind": "town", "code": HOME_TOWN} and "event.dispatch" in duty["permissions"]


def data_block(html: str, block_id: str) -> str:
    """The text of the page's ``<script type="application/json" id=…>`` data block."""
    m = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', html, re.S)
    assert m is not None, block_id
    return m[1]


@pytest.fixture
def signed_in(client: TestClient, engine: Engine) -> tuple[TestClient, str]:
    """``client`` signed in as a town duty officer (GENERATED account); returns the CSRF token."""
    from zhizhi.auth import service as auth
    from zhizhi.org.models import Staff

    with session_factory(engine)() as s:
        if s.scalar(select(Staff).where(Staff.username == "web.pages")) is None:
            name = "页面测试(生成)</script><script>alert(1)</script>"  # must stay text in the page
            auth.add_user(s, "web.pages", name, "town_duty", f"{HOME_TOWN}-ZHZX", "Pages2026safe")
            s.commit()
    r = client.post("/api/v1/auth/login", json={"username": "web.pages", "password": "Pages2026safe"})
    assert r.status_code == 200, r.text
    return client, str(r.json()["csrf_token"])


@pytest.mark.parametrize("path", ["/screen", "/console", "/m", "/console/events/7", "/m/events/7"])
def test_every_page_sends_a_stranger_to_the_sign_in(client: TestClient, path: str) -> None:
    client.cookies.clear()
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


def test_a_page_carries_the_sessions_csrf_token_strings_and_headers(
    signed_in: tuple[TestClient, str],
) -> None:
    client, csrf = signed_in
    r = client.get("/console")
    assert r.status_code == 200
    assert f'<meta name="csrf-token" content="{csrf}">' in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text  # no inline script: only data blocks and files from this server
    messages = json.loads(data_block(r.text, "zz-messages"))
    assert messages["node"]["reported"] == "待受理" and messages["heading"] == "事件队列"
    me = json.loads(data_block(r.text, "zz-me"))
    assert me["scope"] == {"kind": "town", "code": HOME_TOWN} and "event.dispatch" in me["permissions"]
    assert me["name"].endswith("<script>alert(1)</script>") and "<script>alert(1)" not in r.text
    # a signed-in user asking for the sign-in page goes on (never off-site)
    assert client.get("/login?next=/m", follow_redirects=False).headers["location"] == "/m"
    assert client.get("/login?next=//evil.example", follow_redirects=False).headers["location"] == "/console"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/screen", "/screen"),
        ("/console?node=reported", "/console?node=reported"),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example", None),
        ("/x\r\nSet-Cookie: a=b", None),
        ("", None),
        (None, None),
    ],
)
def test_the_sign_in_page_only_redirects_within_the_site(target: str | None, expected: str | None) -> None:
    assert pages.safe_next(target) == expected


def test_homes_follow_the_role() -> None:
    assert [
        pages.home_of(r) for r in ("grid_worker", "grid_leader", "leader", "town_duty", "center_duty")
    ] == [
        "/m",
        "/m",
        "/screen",
        "/console",
        "/console",
    ]


def test_echarts_is_served_by_the_platform_as_vendored(client: TestClient) -> None:
    note = (VENDOR / "SOURCES.md").read_text("utf-8")
    digest = re.search(r"sha256 `([0-9a-f]{64})`", note)[1]  # type: ignore[index]
    r = client.get("/static/web/vendor/echarts/echarts.min.js")
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == digest
    assert (VENDOR / "VERSION").read_text().strip() == "6.1.0" and "echarts@6.1.0" in note
    assert "Apache License" in (VENDOR / "LICENSE").read_text("utf-8")
