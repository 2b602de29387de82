"""The phone page (/m), its event page and the sign-in page in a real browser (Debian's chromium through
Playwright), after a duty officer's findings (issue 6): bad coordinates, an unusable photo and an
empty title are caught before anything is sent, with Chinese messages; the map shows the worker's
grid, its neighbours, the GPS point and a pin that can be tapped or typed, and says whether the pin is
in the grid; the server's refusal of a point in the next grid names that grid in Chinese; long text
wraps at 375 px; the sign-in page asks for what is missing and tells a locked account for how long;
an unknown address gets a Chinese page. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.web.conftest import HOME, PASSWORD, Console, Live, sign_in
from zhizhi.core.db import session_factory

pytestmark = pytest.mark.slow

PHONE = {"width": 375, "height": 740}
# a 1×1 PNG, GENERATED (a stand-in for a site photo)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f00f0004850180848c9821"
    "0000000049454e44ae426082"
)


def phone(browser: Any, live: Live, console: Console) -> Any:
    page = sign_in(
        browser,
        live,
        console,
        "grid_worker",
        viewport=PHONE,
        geolocation={"longitude": HOME[0], "latitude": HOME[1], "accuracy": 30},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    page.wait_for_selector("#r-map[data-ready]")
    return page


def said(page: Any, text: str) -> None:
    """Wait until the message next to the submit button is the error starting with ``text``."""
    page.locator("#r-status.error").filter(has_text=text).wait_for(timeout=3000)
    assert page.locator("#r-status").inner_text().startswith(text)


def posts_of_events(page: Any) -> list[str]:
    """Collects every POST to /api/v1/events… the page makes from now on."""
    seen: list[str] = []
    page.on(
        "request", lambda r: seen.append(r.url) if r.method == "POST" and "/api/v1/events" in r.url else None
    )
    return seen


def neighbour_point(live: Live) -> tuple[float, float, str]:
    """A point in a grid next to the worker's (same village), and that grid's name."""
    with httpx.Client(base_url=live.url) as c:
        grids = c.get(
            "/api/v1/org/units", params={"level": "grid", "parent": live.grid[:12], "geometry": "false"}
        )
        for u in grids.json()["items"]:
            if u["code"] != live.grid:
                place = c.get("/api/v1/org/locate", params={"lon": u["lon"], "lat": u["lat"]}).json()
                if place["grid_code"] == u["code"]:
                    return u["lon"], u["lat"], u["name"]
    raise AssertionError("no neighbouring grid with its point inside")


def test_bad_input_is_caught_in_the_browser_before_anything_is_sent(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    page = phone(browser, live_server, console)
    sent = posts_of_events(page)
    submit = page.get_by_role("button", name="上报", exact=True)

    submit.click()
    said(page, "请选择事件分类")
    assert page.get_by_label("事件分类").evaluate("e => e.validationMessage") == "请选择事件分类"
    page.get_by_label("事件分类").select_option("0101")
    title = page.get_by_label("标题")
    title.fill("   ")
    submit.click()
    said(page, "标题不能为空")
    assert title.evaluate("e => e.validationMessage") == "标题不能为空"

    # the counter appears near the limit and a title over it is refused (not cut silently)
    title.fill("井" * 190)
    assert page.locator("#r-title-count").inner_text() == "还可输入 10 字"
    title.fill("井" * 203)
    assert page.locator("#r-title-count").inner_text() == "最多 200 字，已超出 3 字"
    submit.click()
    said(page, "最多 200 字，已超出 3 字")
    title.fill("路灯不亮(测试生成)")

    lon, lat = page.get_by_label("经度"), page.get_by_label("纬度")
    for lon_text, lat_text, message in [
        ("abc", "29.35", "经度必须是数字（十进制度数），例如 105.898213"),
        ("105.9", "999", "纬度超出本区范围"),
        ("120.1", "29.35", "经度超出本区范围"),
        ("105.9", "", "经度和纬度要同时填写（或都不填，按本网格上报）"),
    ]:
        lon.fill(lon_text)
        lat.fill(lat_text)
        submit.click()
        said(page, message)
    page.screenshot(path=str(artifacts / "m-bad-coordinates.png"), full_page=True)
    lon.fill("")
    lat.fill("")

    # photos: content that is not an image, and one over the limit the form states
    assert "最大 4.9 MB" in page.locator("#r-photo-status").inner_text()
    photo = page.get_by_label("现场照片（可选）")
    photo.set_input_files({"name": "fake.png", "mimeType": "image/png", "buffer": b"this is text, not a PNG"})
    page.locator("#r-photo-status.error").filter(has_text="这不是 JPEG、PNG 或 WebP 照片").wait_for()
    submit.click()
    said(page, "这不是 JPEG、PNG 或 WebP 照片（fake.png）")
    photo.set_input_files(
        {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" + b"\0" * 5_000_000}
    )
    page.locator("#r-photo-status.error").filter(has_text="照片太大（5.0 MB），最大 4.9 MB").wait_for()
    submit.click()
    said(page, "照片太大（5.0 MB），最大 4.9 MB")
    page.screenshot(path=str(artifacts / "m-bad-photo.png"), full_page=True)
    assert sent == []  # nothing reached the server: no event without its photo


def test_the_map_shows_the_grid_the_pin_and_a_refusal_names_the_next_grid(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    page = phone(browser, live_server, console)
    svg = page.locator("#r-map")
    assert svg.locator("path.own").count() == 1 and svg.locator("path.nb").count() >= 1
    assert not page.locator("#r-grid-hint").is_hidden()
    page.get_by_role("button", name="使用当前位置").click()
    page.wait_for_selector("#r-loc-status.ok")
    assert svg.locator("[data-role=gps]").count() == 1 and svg.locator("[data-role=pin]").count() == 1
    assert svg.get_attribute("data-inside") == "true"
    assert page.locator("#r-map-status").inner_text().startswith("图钉在本网格内")
    assert page.locator("#r-grid-hint").is_hidden()  # located: the hint about no location is gone
    page.screenshot(path=str(artifacts / "m-map.png"), full_page=True)

    # a tap on the map moves the pin there and fills the point
    box = svg.bounding_box()
    svg.click(position={"x": box["width"] * 0.2, "y": box["height"] * 0.5})
    lon = float(page.get_by_label("经度").input_value())
    assert lon < HOME[0] and lon != pytest.approx(HOME[0], abs=1e-6)

    # a typed point in the next grid: the map says so, and the server's refusal is Chinese with names
    nlon, nlat, name = neighbour_point(live_server)
    page.get_by_label("经度").fill(f"{nlon:.6f}")
    page.get_by_label("纬度").fill(f"{nlat:.6f}")
    page.get_by_label("纬度").dispatch_event("change")
    assert svg.get_attribute("data-inside") == "false"
    assert page.locator("#r-map-status").inner_text() == (
        f"图钉不在本网格内（在{name}）：这样上报会被拒绝，请在蓝框内选点"
    )
    page.get_by_label("事件分类").select_option("0101")
    page.get_by_role("button", name="上报", exact=True).click()
    status = page.locator("#r-status.error")
    status.wait_for()
    text = status.inner_text()
    assert f"而在{name}" in text and "该位置不在您的网格（" in text, text
    assert "500118" not in text and "outside" not in text
    assert status.is_visible() and status.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    )  # next to the button, scrolled into view
    page.screenshot(path=str(artifacts / "m-outside-grid.png"), full_page=True)
    console.errors[:] = [e for e in console.errors if "422" not in e]  # the refusal the browser logs


def test_a_report_with_a_photo_and_long_text_reads_well_at_375_px(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    page = phone(browser, live_server, console)
    page.get_by_label("事件分类").select_option("0101")
    page.get_by_label("标题").fill("长" * 200)
    page.get_by_label("情况描述").fill("见 https://example.org/" + "a" * 3000 + "(测试生成)")
    page.get_by_label("现场照片（可选）").set_input_files(
        {"name": "site.jpg", "mimeType": "image/jpeg", "buffer": PNG}
    )
    page.locator("#r-photo-status.ok").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/attachments") and r.request.method == "POST") as up:
        page.get_by_role("button", name="上报", exact=True).click()
    assert up.value.status == 201
    status = page.locator("#r-status.ok")
    status.filter(has_text="照片已上传").wait_for()
    assert status.evaluate("e => { const r = e.getBoundingClientRect(); return r.bottom <= innerHeight; }")
    eid = int(status.get_attribute("data-event-id"))
    with httpx.Client(base_url=live_server.url) as c:
        c.post(
            "/api/v1/auth/login", json={"username": live_server.users["grid_worker"], "password": PASSWORD}
        )
        atts = c.get(f"/api/v1/events/{eid}").json()["attachments"]
    # 处置前; declared as what its bytes are (a PNG named .jpg)
    assert [(a["kind"], a["filename"], a["content_type"]) for a in atts] == [
        ("before", "site.jpg", "image/png")
    ]

    page.get_by_role("tab", name="本网格事件").click()
    page.wait_for_selector(f"#area li[data-id='{eid}']")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    header = page.locator("header.top").bounding_box()
    assert header["height"] < 60  # the menu on one line
    page.screenshot(path=str(artifacts / "m-area-long.png"), full_page=True)

    page.goto(f"/m/events/{eid}")
    page.wait_for_selector("body[data-version]")
    assert page.locator("nav a[aria-current=page]").inner_text() == "网格员"
    assert page.title().startswith("网格员 ·")  # not 值班台
    assert page.locator("#back").inner_text() == "返回网格员首页"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row = page.locator("#ev-timeline tr").first.bounding_box()
    assert row["width"] <= PHONE["width"] and row["height"] < 200  # not one character per line
    page.screenshot(path=str(artifacts / "m-event.png"), full_page=True)


def test_the_sign_in_page_asks_for_what_is_missing_and_tells_a_lock(
    browser: Any, live_server: Live, artifacts: Path
) -> None:
    from zhizhi.auth import service as auth
    from zhizhi.org.models import Staff

    with session_factory(live_server.engine)() as s:
        if s.scalar(select(Staff).where(Staff.username == "web.locked")) is None:
            auth.add_user(s, "web.locked", "锁定测试(生成)", "grid_worker", live_server.grid, PASSWORD)
            s.commit()
    ctx = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    logins: list[str] = []
    page.on("request", lambda r: logins.append(r.url) if "/auth/login" in r.url else None)
    page.goto("/login")
    alert = page.get_by_role("alert")
    page.get_by_role("button", name="登录").click()
    assert alert.inner_text() == "请输入用户名"
    assert page.get_by_label("用户名").evaluate("e => e.validationMessage") == "请输入用户名"
    page.get_by_label("用户名").fill("web.locked")
    page.get_by_role("button", name="登录").click()
    assert alert.inner_text() == "请输入密码"
    assert logins == []  # nothing sent for an empty form

    with httpx.Client(base_url=live_server.url) as c:
        for _ in range(5):
            c.post("/api/v1/auth/login", json={"username": "web.locked", "password": "Wrong2026password"})
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    alert.filter(has_text="锁定").wait_for()
    assert alert.inner_text() == "连续多次密码错误，账号已暂时锁定，请 1 分钟后再试"
    page.screenshot(path=str(artifacts / "login-locked.png"))
    ctx.close()


def test_an_unknown_address_gets_a_chinese_page(browser: Any, live_server: Live, artifacts: Path) -> None:
    ctx = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    r = page.goto("/kpis")
    assert r is not None and r.status == 404
    assert page.get_by_role("heading").inner_text() == "页面不存在（404）"
    page.get_by_role("link", name="返回首页").click()
    page.wait_for_url("**/login")
    ctx.close()
