"""What the phone and sign-in pages rely on, over HTTP (TestClient, the suite's database; issue 6, a
duty officer's findings): bad coordinates are refused naming the field, the errors the pages show
carry a stable ``code`` with ``params`` (outside the grid by the grid's name, photo type and size,
validation, a locked account with its minutes), unknown page addresses get a Chinese HTML 404 while
API addresses keep problem details, and the phone's event page marks 网格员, not 值班台."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.conftest import as_user
from zhizhi.core.db import session_factory
from zhizhi.web import i18n

HOME = {"lon": 105.898213, "lat": 29.352365}  # 中山路社区, town 500118001000, grid 500118001001003
GRID = "500118001001003"
NEIGHBOUR = "500118001001001"  # 中山路社区居民委员会第1网格, next to GRID
WORKER = as_user(f"{GRID}.worker")
PNG = bytes.fromhex("89504e470d0a1a0a") + b"\x00" * 16  # a PNG signature (GENERATED stand-in)


def post_report(client: TestClient, **body: Any) -> Any:
    return client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "手机页测试(生成)", "source": "grid_app", **body},
        headers=WORKER,
    )


@pytest.mark.parametrize(
    ("coords", "field"),
    [
        ({"lon": "abc", "lat": 29.35}, "lon"),
        ({"lon": 105.9, "lat": 999}, "lat"),
        ({"lon": 105.9, "lat": "29,35"}, "lat"),
        ({"lon": True, "lat": 29.35}, "lon"),
        ({"lon": 105.9}, "lat"),
        ({"lat": 29.35}, "lon"),
    ],
)
def test_bad_coordinates_are_refused_naming_the_field(
    client: TestClient, coords: dict[str, Any], field: str
) -> None:
    r = post_report(client, **coords)
    assert r.status_code == 422, r.text
    body = r.json()
    assert [e["field"] for e in body["errors"]] == [field]
    assert field in body["detail"]
    assert client.get("/api/v1/events", headers=WORKER).json()["total"] == 0  # nothing filed


def test_a_validation_problem_has_the_code_the_pages_translate(client: TestClient) -> None:
    body = post_report(client, lon="abc", lat=29.35).json()
    assert body["code"] == "validation"
    t = i18n.messages("m")
    assert t["problem"]["validation"] == "以下内容填写有误：{fields}" and t["field"]["lon"] == "经度"


def test_a_point_in_the_neighbouring_grid_is_refused_naming_both_grids(client: TestClient) -> None:
    unit = client.get(f"/api/v1/org/units/{NEIGHBOUR}").json()
    place = client.get("/api/v1/org/locate", params={"lon": unit["lon"], "lat": unit["lat"]}).json()
    assert place["grid_code"] == NEIGHBOUR  # the unit's point lies in it
    r = post_report(client, lon=unit["lon"], lat=unit["lat"])
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "event.outside_grid"
    assert body["params"] == {
        "where": NEIGHBOUR,
        "where_name": "中山路社区居民委员会第1网格",
        "own": GRID,
        "own_name": "中山路社区居民委员会第3网格",
    }
    assert body["detail"] == f"the report would land in {NEIGHBOUR}, outside your grid {GRID}"
    text = i18n.messages("m")["problem"]["event"]["outside_grid"]
    assert "{where_name}" in text and "{own_name}" in text and "{where}" not in text  # names, not codes
    # the README's example point lies in the worker's own grid: accepted
    assert post_report(client, **HOME).status_code == 201


def test_a_point_outside_the_district_has_its_code_and_distance(client: TestClient) -> None:
    r = post_report(client, lon=106.5, lat=29.55)  # 重庆 city centre, outside 永川区
    assert r.status_code == 422
    assert r.json()["code"] == "event.outside_district" and r.json()["params"]["distance_km"] > 10


def test_refused_photos_have_codes_and_a_too_large_body_says_the_limit(client: TestClient) -> None:
    eid = post_report(client, **HOME).json()["id"]
    url = f"/api/v1/events/{eid}/attachments"
    cases = [
        (("a.txt", b"hello", "text/plain"), "attachment.type", {"type": "text/plain"}),
        (("fake.png", b"not a png at all", "image/png"), "attachment.content", {"type": "image/png"}),
        (("empty.png", b"", "image/png"), "attachment.empty", None),
    ]
    for file, code, params in cases:
        r = client.post(url, files={"file": file}, data={"kind": "before"}, headers=WORKER)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert r.json().get("params") == params
    big = PNG + b"\x00" * 5_000_001
    r = client.post(url, files={"file": ("big.png", big, "image/png")}, headers=WORKER)
    assert r.status_code == 413
    assert r.json()["code"] == "request.too_large" and r.json()["params"] == {"limit_bytes": 5_000_000}
    ok = client.post(
        url, files={"file": ("ok.png", PNG, "image/png")}, data={"kind": "before"}, headers=WORKER
    )
    assert ok.status_code == 201 and ok.json()["kind"] == "before"


def _user(engine: Engine, username: str) -> None:
    from zhizhi.auth import service as auth
    from zhizhi.org.models import Staff

    with session_factory(engine)() as s:
        if s.scalar(select(Staff).where(Staff.username == username)) is None:
            auth.add_user(s, username, "锁定测试(生成)", "grid_worker", GRID, "Locked2026safe")
            s.commit()


def test_a_locked_account_is_told_for_how_long_and_unknown_names_lock_alike(
    client: TestClient, engine: Engine
) -> None:
    from zhizhi.auth import service as auth

    _user(engine, "web.lockme")
    from zhizhi.core.http import RateLimiter

    client.app.state.login_limiter = RateLimiter(6000, burst=100)  # type: ignore[attr-defined]
    for name in ("web.lockme", "web.nobody-here"):
        answers = [
            client.post("/api/v1/auth/login", json={"username": name, "password": "Wrong2026password"})
            for _ in range(6)
        ]
        assert [a.status_code for a in answers] == [401] * 6
        assert [a.json()["detail"] for a in answers[:4]] == [auth.BAD_LOGIN] * 4
        for a in answers[4:]:  # the 5th failure locks for a minute, like for any name
            assert a.json()["code"] == "auth.locked" and a.json()["params"] == {"minutes": 1}, a.text
            assert "locked" in a.json()["detail"]
        assert "code" not in answers[0].json()
    # locked: even the right password is refused, with the lock's minutes
    r = client.post("/api/v1/auth/login", json={"username": "web.lockme", "password": "Locked2026safe"})
    assert r.status_code == 401 and r.json()["code"] == "auth.locked"
    assert i18n.messages("login")["problem"]["auth"]["locked"].count("{minutes}") == 1


@pytest.mark.parametrize("path", ["/kpis", "/no/such/page", "/m/events/abc", "/console/events/0"])
def test_an_unknown_page_address_gets_a_chinese_page(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text and 'href="/login"' in r.text and '<html lang="zh-CN">' in r.text
    assert "Content-Security-Policy" in r.headers
    # a client asking for JSON still gets the problem details
    r = client.get(path, headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/events/abc", "/open311/v2/nothing.json"])
def test_api_addresses_keep_problem_details(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Accept": "text/html", **WORKER})
    assert r.status_code in (404, 422)
    assert "页面不存在" not in r.text and "json" in r.headers["content-type"]


def _signed_in(client: TestClient, engine: Engine) -> None:
    _user(engine, "web.phone")
    from zhizhi.auth import service as auth
    from zhizhi.org.models import Staff

    with session_factory(engine)() as s:  # a fresh account each time (an earlier test may lock it)
        staff = s.scalar(select(Staff).where(Staff.username == "web.phone"))
        assert staff is not None
        auth.set_password(s, "web.phone", "Phone2026safe")
        s.commit()
    r = client.post("/api/v1/auth/login", json={"username": "web.phone", "password": "Phone2026safe"})
    assert r.status_code == 200, r.text


def test_the_phone_page_states_the_photo_limit_and_its_event_page_is_the_phones(
    client: TestClient, engine: Engine
) -> None:
    eid = post_report(client, **HOME).json()["id"]
    _signed_in(client, engine)
    html = client.get("/m").text
    assert "JPEG、PNG 或 WebP 照片，最大 4.9 MB" in html
    assert re.search(r'"max_photo_bytes": ?4900000', html)
    html = client.get(f"/m/events/{eid}").text
    assert re.search(r'<a href="/m" aria-current="page">网格员</a>', html)
    assert 'href="/console" aria-current' not in html
    assert "返回队列" not in html.split('id="zz-messages"')[0] and "返回网格员首页" in html
    console = client.get(f"/console/events/{eid}").text
    assert re.search(r'<a href="/console" aria-current="page">值班台</a>', console) and "返回队列" in console


def test_chinese_messages_of_these_pages_use_full_width_punctuation() -> None:
    for page in ("m", "login"):
        for key, text in _strings(i18n.messages(page)):
            assert not re.search(r"[\u4e00-\u9fff][,:;?!]|[,:;?!][\u4e00-\u9fff]", text), (page, key, text)


def _strings(d: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _strings(v, f"{prefix}{k}.")
        else:
            out.append((prefix + k, v))
    return out


def test_no_message_key_shadows_a_dict_method() -> None:
    """Templates read ``t.report.clear`` as the dict's ``clear`` method, not the string: such keys
    would print "<built-in method …>" on the page."""
    shadowing = set(dir({}))
    for page in i18n.PAGES:
        keys = {part for k, _ in _strings(i18n.messages(page)) for part in k.split(".")}
        assert keys & shadowing == set(), page
