"""The big screen's words and figures in a real browser (issue 6): the two rates say what they divide
and move with the counters, town names do not overlap, today's events without coordinates are
counted and listed, and the latest reports carry their date when they are not of the day shown.

Events are GENERATED test cases at a real Yongchuan point (中山路社区, town 中山路街道 500118001000).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.web.conftest import HOME, Console, Live, sign_in
from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.event import service as events
from zhizhi.event.schemas import EventCreate, TransitionIn

pytestmark = pytest.mark.slow

WALL = {"width": 1920, "height": 1080}
LOOP = ("accept", "register", "dispatch", "sign", "handle", "verify_pass", "close")

# every visible text of the map's canvas with its box on screen (zrender's display list)
LABEL_BOXES = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById("map"));
  const out = [];
  for (const el of chart.getZr().storage.getDisplayList(true)) {  // ignored (hidden) ones are left out
    if (!["text", "tspan"].includes(el.type) || !el.style || !el.style.text || el.invisible) continue;
    if (el.style.opacity !== undefined && el.style.opacity < 0.05) continue;  // drawn, but not seen
    const r = el.getBoundingRect().clone();
    const m = el.getComputedTransform();
    if (m) r.applyTransform(m);
    out.push({ text: String(el.style.text), x: r.x, y: r.y, w: r.width, h: r.height });
  }
  return out;
}"""


def report(live: Live, title: str, **kw: Any) -> int:
    with session_factory(live.engine)() as s:
        place = {} if "grid_code" in kw else {"lon": HOME[0], "lat": HOME[1]}
        who = events.system_actor("500118") if "reported_at" in kw else user_actor(s, live.users["town_duty"])
        ev = events.create_event(s, who, EventCreate(category_code="0101", title=title, **place, **kw))
        s.commit()
        return ev.id


def close(live: Live, eid: int) -> None:
    with session_factory(live.engine)() as s:
        sys = events.system_actor("500118")
        for a in LOOP:
            unit = "500118-CGJ" if a == "dispatch" else None
            events.transition(s, sys, eid, TransitionIn(action=a, unit_code=unit, comment="测试"))
        s.commit()


def note_counts(page: Any) -> tuple[int, int]:
    text = page.locator("#kpi-close_rate-note").inner_text()
    m = re.fullmatch(r"结案 (\d+) ÷ 应结案 (\d+) 件", text)
    assert m, text
    return int(m[1]), int(m[2])


def test_rates_say_what_they_divide_and_follow_the_counters(
    browser: Any, live_server: Live, console: Console
) -> None:
    live = live_server
    eid = report(live, "结案率跟随(测试生成)")
    screen = sign_in(browser, live, console, "leader", viewport=WALL)
    screen.wait_for_selector("body[data-live='on'][data-refreshed]")
    assert "应结案" in (screen.locator(".kpi-close_rate").get_attribute("title") or "")
    assert "缓办" in (screen.locator(".kpi-ontime_close_rate").get_attribute("title") or "")
    assert re.fullmatch(
        r"按期 \d+ ÷（应结案 \d+ − 缓办 \d+）件", screen.locator("#kpi-ontime_close_rate-note").inner_text()
    )
    closed, should = note_counts(screen)
    summary = screen.context.request.get("/api/v1/screen/summary").json()["month"]
    assert (closed, should) == (summary["counts"]["closed"], summary["counts"]["should_close"])
    today_closed = int(screen.locator("#kpi-closed").inner_text())
    close(live, eid)
    # the counters and the rate made of them change together, within a couple of seconds
    screen.wait_for_selector(f"#kpi-closed:text-is('{today_closed + 1}')", timeout=3000)
    assert note_counts(screen) == (closed + 1, should + 1)


def test_town_names_do_not_overlap_and_unlocated_events_are_listed(
    browser: Any, live_server: Live, console: Console
) -> None:
    live = live_server
    screen = sign_in(browser, live, console, "leader", viewport=WALL)
    screen.wait_for_selector("body[data-painted]")
    screen.wait_for_timeout(400)  # the map's label layout runs after the first frame
    boxes = [b for b in screen.evaluate(LABEL_BOXES) if re.search(r"(街道|镇)$", b["text"])]
    assert len(boxes) >= 18, boxes  # most of the 23 towns are named; a hidden one shows on hover
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or (b["y"] + b["h"] <= a["y"])
            )
            assert apart, (a, b)
    names = {b["text"] for b in boxes}
    assert {"中山路街道", "胜利路街道", "茶山竹海街道"} <= names  # the small urban towns too

    before = int(screen.locator("#unlocated").get_attribute("data-count") or 0)
    eid = report(live, "无坐标事件(测试生成)", grid_code=live.grid)
    screen.wait_for_selector(f"#unlocated-list li[data-id='{eid}']", timeout=3000)
    screen.wait_for_selector(f"#unlocated[data-count='{before + 1}']", timeout=3000)
    assert screen.locator("#unlocated-count").inner_text() == f"{before + 1} 件未标注位置，不在地图上"


def test_latest_reports_carry_their_date_when_not_of_the_day_shown(
    browser: Any, live_server: Live, console: Console
) -> None:
    live = live_server
    day = (ztime.to_local(ztime.utcnow()) - timedelta(days=420)).date()
    at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=ztime.LOCAL_TZ)
    a = report(live, "当日(测试生成)", reported_at=at)
    b = report(live, "前一日(测试生成)", reported_at=at - timedelta(days=1))
    screen = sign_in(browser, live, console, "leader", viewport=WALL)
    screen.goto(f"/screen?as_of={day.isoformat()}")
    screen.wait_for_selector("body[data-painted]")
    assert screen.locator(f"#recent li[data-id='{a}'] time").inner_text() == "10:00"
    earlier = (at - timedelta(days=1)).date()
    want = f"{earlier.month:02d}-{earlier.day:02d} 10:00"
    if earlier.year != day.year:
        want = f"{earlier.year}-{want}"
    assert screen.locator(f"#recent li[data-id='{b}'] time").inner_text() == want
