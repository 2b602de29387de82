"""Verifying a hotspot cluster on the fire page (森林防火, /fire) in a real browser (Debian's chromium
through Playwright): a district center duty officer (holds fire.verify, sees every town) records
真实火情 (real fire); by policy the platform opens a 森林火情 event and starts its response at once,
and the page says so with the event's id and the number of tasks dispatched; the event pages show the
merge and the response. Recording it again is refused (409) and the page no longer offers 核查.
Screenshots go to test-artifacts/web/; no page may log a console error.

Data put into the test server's own database through the public API, as a user would:

- a DERIVED FIRMS file: line 89 of the real 2022 MODIS file (tests/data/fire/firms, the Aqua detection
  in 朱沱镇) with its acquisition date and time **moved** to two hours ago, every other value the
  source row's. A recent detection opens a 卫星热点核查 event, as in production; the real file as is
  would be historical (no event) and is already imported by test_pages.py on the same server, whose
  cluster this test must leave unverified;
- a CONSTRUCTED fire team 1.1 km north of the detection (no public list of Yongchuan's fire teams
  exists), deleted at the end so the other page tests see the resources they put in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import PASSWORD, Console, Live, sign_in

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]
FIRMS = TESTS / "data" / "fire" / "firms" / "modis_c61_nrt_global7d_20220528-20220604_box102-110E_26-33N.csv"
LINE = 89  # the Yongchuan detection (朱沱镇), 29.03551N 105.81419E
ZHUTUO = "500118118000"
DESK = {"width": 1366, "height": 900}


def derived_firms(now: datetime) -> bytes:
    """The header and line 89 of the real 2022 file, acquired two hours before ``now`` (UTC): DERIVED."""
    lines = FIRMS.read_text(encoding="utf-8").splitlines()
    header, row = lines[0].split(","), lines[LINE - 1].split(",")
    assert row[:2] == ["29.03551", "105.81419"], "line 89 of the 2022 file moved"
    at = now - timedelta(hours=2)
    row[header.index("acq_date")] = at.strftime("%Y-%m-%d")
    row[header.index("acq_time")] = at.strftime("%H%M")
    return ("\n".join([lines[0], ",".join(row)]) + "\n").encode()


def signed_in(c: httpx.Client, username: str) -> dict[str, str]:
    """Sign ``c`` in; returns the CSRF header once the session is usable (the session row is committed
    just after the sign-in answer is sent, see test_pages.signed_in)."""
    login = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    deadline = time.monotonic() + 5
    while c.get("/api/v1/auth/me").status_code != 200:
        assert time.monotonic() < deadline, "the new session never became usable"
        time.sleep(0.02)
    return {"X-CSRF-Token": login.json()["csrf_token"]}


def test_verifying_a_real_fire_on_the_page_starts_the_response(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    live = live_server
    with httpx.Client(base_url=live.url, timeout=30) as api:
        csrf = signed_in(api, live.users["center_duty"])
        team = {  # CONSTRUCTED: a made-up team of 朱沱镇, 0.01° (1.1 km) north of the detection
            "kind": "team", "name": "测试朱沱半专业扑火队(构造)", "owner": ZHUTUO,
            "attrs": {"type": "semi_professional", "people": 20}, "lon": 105.81419, "lat": 29.04551,
        }  # fmt: skip
        added = api.post("/api/v1/fire/resources", json=team, headers=csrf)
        assert added.status_code == 201, added.text
        try:
            run_the_page(browser, live, console, artifacts, api, csrf)
        finally:
            gone = api.delete(f"/api/v1/fire/resources/{added.json()['id']}", headers=csrf)
            assert gone.status_code == 204, gone.text


def run_the_page(
    browser: Any, live: Live, console: Console, artifacts: Path, api: httpx.Client, csrf: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    imported = api.post(
        "/api/v1/fire/hotspots/import",
        files={"file": ("derived_yongchuan_recent_modis_nrt.csv", derived_firms(now), "text/csv")},
        headers=csrf,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["clusters_new"] == 1
    (check,) = imported.json()["events"]  # the 卫星热点核查 event of the new cluster
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    until = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = api.get(f"/api/v1/fire/clusters?since={since}&until={until}&drill=false").json()
    (cl,) = [c for c in recent if c["event_id"] == check["event_id"]]
    cid = cl["id"]
    assert (cl["event_id"], cl["town_code"], cl["outcome"]) == (check["event_id"], ZHUTUO, None)

    # the duty officer opens the page (today): the cluster is there, pending, with 核查
    page = sign_in(browser, live, console, "center_duty", viewport=DESK)
    page.goto("/fire")
    page.wait_for_selector("body[data-loaded]")
    row = page.locator(f"#cluster-body tr[data-id='{cid}']")
    assert "朱沱镇" in row.inner_text() and "待核查" in row.inner_text()
    assert row.get_attribute("data-outcome") == ""
    row.get_by_role("button", name="核查", exact=True).click()
    assert page.locator("#verify-heading").inner_text() == f"核查 #{cid}"
    page.get_by_label("核查结论").select_option(label="真实火情")
    page.get_by_label("现场情况").fill("林下明火，面积约 0.5 亩(测试生成)")
    page.get_by_label("核查人").fill("王五(测试生成)")  # the on-site verifier, not the desk user
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/fire/clusters/{cid}/verify")) as answer:
        page.get_by_role("button", name="提交核查结论").click()
    assert answer.value.status == 200, answer.value.text()
    fid = answer.value.json()["fire_event_id"]
    assert isinstance(fid, int) and fid != check["event_id"]
    assert answer.value.json()["verified_by"] == "王五(测试生成)"

    # the tasks dispatched, counted by the API afterwards
    fire = api.get(f"/api/v1/events/{fid}").json()
    n = len(fire["tasks"])
    assert n >= 1 and fire["category_code"] == "2206"
    assert n == len(answer.value.json()["response"]["tasks"])

    # the status line, the row now showing the outcome without 核查
    status = page.locator("#fire-status")
    expected = f"已记录核查结论；已立森林火情事件 #{fid}，已自动启动扑救响应，派出任务 {n} 项"
    page.wait_for_selector("#fire-status.ok")
    assert status.inner_text().startswith(expected), status.inner_text()
    row = page.locator(f"#cluster-body tr[data-id='{cid}']")
    assert row.get_attribute("data-outcome") == "real_fire"
    assert "真实火情" in row.locator("td.cluster-state").inner_text()
    assert row.locator("button.verify").count() == 0
    assert not page.locator("#verify-form").is_visible()
    page.screenshot(path=str(artifacts / "fire-verify-real.png"), full_page=True)

    # the row's event links: the 森林火情 event first, the check event (merged into it) after it
    links = row.locator("td.cluster-events a")
    assert links.evaluate_all("as => as.map(a => [a.className, a.innerText])") == [
        ["fire-event", f"森林火情 #{fid}"],
        ["check-event small", f"核查事件 #{check['event_id']}"],
    ]
    link = row.get_by_role("link", name=f"核查事件 #{check['event_id']}", exact=True)
    assert link.get_attribute("href") == f"/console/events/{check['event_id']}"
    assert row.get_by_role("link", name=f"森林火情 #{fid}").get_attribute("href") == f"/console/events/{fid}"
    # the status line's link: the 森林火情 event with the response on its timeline
    to_fire = status.get_by_role("link", name="查看森林火情事件")
    assert to_fire.get_attribute("href") == f"/console/events/{fid}"
    to_fire.click()
    page.wait_for_url(f"**/console/events/{fid}")
    page.wait_for_selector("body[data-version]")
    assert page.locator("#ev-title").inner_text().startswith(f"#{fid} 森林火情")
    assert "森林火情" in page.locator("#ev-facts").inner_text()
    steps = page.locator("#ev-timeline tr").evaluate_all("rs => rs.map(r => [r.dataset.action, r.innerText])")
    assert "preplan" in [a for a, _ in steps]
    assert any(f"派发任务 {n} 项" in text for _, text in steps), steps
    page.screenshot(path=str(artifacts / "fire-verify-event.png"), full_page=True)

    page.goto("/fire")
    page.wait_for_selector("body[data-loaded]")
    # reloaded: the clusters API names the fire event (fire_event_id), the row links it first
    row = page.locator(f"#cluster-body tr[data-id='{cid}']")
    assert row.locator("a.fire-event").get_attribute("href") == f"/console/events/{fid}"
    row.get_by_role("link", name=f"核查事件 #{check['event_id']}", exact=True).click()
    page.wait_for_url(f"**/console/events/{check['event_id']}")
    page.wait_for_selector("#ev-node[data-node='merged']")
    assert f"已立森林火情事件 {fid}" in page.locator("#ev-timeline").inner_text()

    # refused: the same cluster again (409), and the page no longer offers 核查 for it
    again = api.post(f"/api/v1/fire/clusters/{cid}/verify", json={"outcome": "误报"}, headers=csrf)
    assert again.status_code == 409, again.text
    assert len(api.get(f"/api/v1/events/{fid}").json()["tasks"]) == n  # nothing more dispatched
    page.goto("/fire")
    page.wait_for_selector("body[data-loaded]")
    row = page.locator(f"#cluster-body tr[data-id='{cid}']")
    assert row.get_attribute("data-outcome") == "real_fire"
    assert row.locator("button.verify").count() == 0
