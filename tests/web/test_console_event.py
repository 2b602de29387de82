"""The duty console and the event page in a real browser (Debian's chromium through Playwright), as a
fresh town duty officer found them (issue 6): passing an event up to the district (上报区级) with a
dispatch picker that offers only what the user may do, results and Chinese errors next to what was
pressed, long text that wraps, photos inline with before/after side by side, no uploads once closed,
readable time limits and labels, a queue of open events with 我的待办, real-time sorting and years,
a Chinese 404 for another town's event. No page may log a console error.

Events are GENERATED test cases at a real Yongchuan point (中山路社区, town 中山路街道 500118001000).
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.web.conftest import HOME, TOWN, Console, Live, sign_in
from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.event import service as events
from zhizhi.event.schemas import EventCreate, TransitionIn

pytestmark = pytest.mark.slow

DESK = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}
PNG = base64.b64decode(  # a 1×1 PNG, GENERATED
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def make_event(live: Live, title: str, moves: tuple[str, ...] = (), who: str = "town_duty", **kw: Any) -> int:
    """A report by the town duty officer at HOME (or as ``kw`` says), moved by ``who`` through ``moves``
    (派遣 to the town's 民生服务 board); returns its id."""
    with session_factory(live.engine)() as s:
        ev = _report(s, live, title, **kw)
        actor = user_actor(s, live.users[who])
        for a in moves:
            unit = f"{TOWN}-MS" if a == "dispatch" else None
            events.transition(s, actor, ev, TransitionIn(action=a, unit_code=unit, comment="测试"))
        s.commit()
        return ev


def _report(s: Session, live: Live, title: str, **kw: Any) -> int:
    place = {"lon": HOME[0], "lat": HOME[1]} if "grid_code" not in kw else {}
    who = events.system_actor("500118") if "reported_at" in kw else user_actor(s, live.users["town_duty"])
    body = EventCreate(category_code="0101", title=title, **place, **kw)
    return events.create_event(s, who, body).id


def move(live: Live, eid: int, who: str, *actions: str, **kw: Any) -> None:
    with session_factory(live.engine)() as s:
        actor = user_actor(s, live.users[who])
        for a in actions:
            events.transition(s, actor, eid, TransitionIn(action=a, comment="测试", **kw))
        s.commit()


def open_event(page: Any, eid: int) -> None:
    page.goto(f"/console/events/{eid}")
    page.wait_for_selector("body[data-version]")


def test_a_town_officer_passes_an_event_up_and_the_district_dispatches_it(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    live = live_server
    eid = make_event(live, "区级职责的暴露垃圾(测试生成)", ("accept", "register"))
    duty = sign_in(browser, live, console, "town_duty", viewport=DESK)
    open_event(duty, eid)
    # the limit of this node, for this event's urgency, in words
    assert (
        duty.locator("#ev-deadline")
        .inner_text()
        .endswith("截止（时限 30 分钟（工作时间），按紧急程度“一般”）")
    )
    # the suggestion is a district department: 上报区级 comes with it
    assert "永川区城市管理局" in duty.locator("#ev-suggested").inner_text()
    assert duty.locator("#escalate-suggested").is_visible()
    duty.get_by_role("button", name="派遣", exact=True).click()
    duty.wait_for_selector(
        "#f-unit_code option", state="attached"
    )  # the picker is filled before the form shows
    options = duty.locator("#f-unit_code option").evaluate_all("os => os.map(o => o.value)")
    assert "auto" not in options and f"{TOWN}-MS" in options  # only what a town center may do
    assert options[0] == "" and all(o.startswith(TOWN) for o in options[1:])
    assert duty.locator("#f-unit_code").input_value() == ""  # 请选择, not the officer's own centre
    hint = duty.locator("#f-escalate-hint")
    assert "永川区城市管理局" in hint.inner_text() and "上报区级" in hint.inner_text()
    duty.screenshot(path=str(artifacts / "console-dispatch-escalate.png"), full_page=True)
    hint.get_by_role("button", name="上报区级").click()
    assert duty.locator("#ev-form h3").inner_text() == "上报区级"
    duty.locator("#f-submit").click()  # no reason given: said next to the button, in Chinese
    duty.locator("#f-status.error").filter(has_text="请填写：意见（上报理由，必填）").wait_for()
    version = duty.locator("body").get_attribute("data-version")
    duty.locator("#f-comment").fill("属区城管局职责，提请区级派遣")
    duty.locator("#f-submit").click()
    duty.wait_for_selector(f"body:not([data-version='{version}'])")
    assert duty.locator("#act-status").inner_text() == "已上报区级"  # where the buttons are
    assert duty.locator("#ev-held").is_visible()
    buttons = duty.locator("#ev-actions button").evaluate_all("bs => bs.map(b => b.dataset.action)")
    assert "dispatch" not in buttons and "escalate" not in buttons
    assert duty.locator("#ev-timeline tr").last.get_attribute("data-action") == "escalate"
    duty.goto("/console")  # the queue's 标记 says it was passed up
    duty.locator(f"#queue-body tr[data-id='{eid}'] .tag").filter(has_text="上报区级").wait_for()
    open_event(duty, eid)

    center = sign_in(browser, live, console, "center_duty", viewport=DESK)
    open_event(center, eid)
    center.get_by_role("button", name="派遣", exact=True).click()
    center.wait_for_selector("#f-unit_code option", state="attached")
    select = center.locator("#f-unit_code")
    assert select.input_value() == "auto"
    assert select.locator("option[value='auto']").inner_text() == "按权属配置：永川区城市管理局"
    center.locator("#f-submit").click()
    center.wait_for_selector("#ev-node[data-node='dispatched']")
    assert center.locator("#act-status").inner_text() == "已派遣"
    # the town's page followed live: the event is with the department now
    duty.wait_for_selector("#ev-node[data-node='dispatched']", timeout=5000)
    assert not duty.locator("#ev-held").is_visible()
    # the department's moves (签收, 回退, 延期申请) are not offered to the town (issue 6): only 催办
    duty.wait_for_function(
        "() => [...document.querySelectorAll('#ev-actions button')].map(b => b.dataset.action).join()"
        " === 'remind'"
    )


def test_results_and_errors_show_next_to_the_pressed_button_in_chinese(
    browser: Any, live_server: Live, console: Console
) -> None:
    live = live_server
    eid = make_event(live, "并发受理(测试生成)", ("accept",))
    duty = sign_in(browser, live, console, "town_duty", viewport=DESK)
    open_event(duty, eid)
    # at 待立案 the refusal is 不予立案, not 不予受理
    labels = duty.locator("#ev-actions button").evaluate_all("bs => bs.map(b => b.textContent)")
    assert "不予立案" in labels and "不予受理" not in labels
    assert labels.index("立案") + 1 == labels.index("不予立案")  # the positive move first
    duty.get_by_role("button", name="立案", exact=True).click()
    move(live, eid, "center_duty", "register")  # someone else is quicker
    duty.locator("#f-submit").click()
    status = duty.locator("#act-status.error")
    status.wait_for()
    assert status.inner_text() == "事件已被他人更新，已重新加载，请再试一次。"
    assert not re.search(r"[A-Za-z]{4,}", status.inner_text())  # no English sentence
    assert duty.locator("#ev-node").get_attribute("data-node") == "registered"
    assert duty.locator("#ev-status").inner_text() == ""  # nothing at the top of the page
    console.errors[:] = [e for e in console.errors if "409 (Conflict)" not in e]  # the refused move itself


def test_long_titles_and_urls_wrap_and_the_queue_fits_the_window(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    live = live_server
    title = "长" * 200
    url = "https://example.invalid/" + "a" * 5000
    eid = make_event(live, title, description=f"见 {url}\n" + "很长的描述。" * 2400)
    duty = sign_in(browser, live, console, "town_duty", viewport=DESK)
    duty.goto("/console")
    row = duty.locator(f"#queue-body tr[data-id='{eid}']")
    row.wait_for()
    width = duty.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    queue = duty.locator("#queue").bounding_box()
    assert queue is not None and queue["x"] + queue["width"] <= DESK["width"]
    cell = row.locator("td.title a")
    assert cell.get_attribute("title") == title  # the whole title as a tooltip
    assert (
        row.locator("td").nth(4).is_visible() and row.locator("td").nth(7).bounding_box()["x"] < DESK["width"]
    )
    duty.screenshot(path=str(artifacts / "console-long.png"))

    open_event(duty, eid)
    width = duty.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    actions = duty.locator("#h-actions").bounding_box()
    assert actions is not None and actions["y"] < 1600  # the description is folded, the moves stay near
    duty.get_by_role("button", name="展开全文").click()
    assert duty.locator("#ev-more").get_attribute("aria-expanded") == "true"

    phone = sign_in(browser, live, console, "grid_worker", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"/m/events/{eid}")
    phone.wait_for_selector("body[data-version]")
    width = phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]


def test_labels_times_and_the_timeline_read_as_words(
    browser: Any, live_server: Live, console: Console
) -> None:
    live = live_server
    eid = make_event(live, "标签与用时(测试生成)", ("accept",))
    duty = sign_in(browser, live, console, "town_duty", viewport=DESK)
    open_event(duty, eid)
    grid = duty.locator("#ev-grid")
    assert grid.get_attribute("title") == live.grid and grid.inner_text() != live.grid  # its name
    rows = duty.locator("#ev-timeline tr")
    assert rows.first.locator("td").nth(4).inner_text() == "来源：网页"
    used = rows.nth(1).locator("td").nth(5).inner_text()
    assert re.fullmatch(r"[\d.]+ 分钟 / 30 分钟（全天连续计时）", used), used


def test_the_queue_shows_open_events_mine_years_and_new_ones(
    browser: Any, live_server: Live, console: Console
) -> None:
    live = live_server
    done = make_event(live, "已办结(测试生成)", ("reject",))
    old = make_event(live, "往年事件(测试生成)", reported_at=ztime.utcnow() - timedelta(days=800))
    to_board = make_event(live, "派给板块(测试生成)", ("accept", "register", "dispatch"))
    board = sign_in(browser, live, console, "board_staff", viewport=DESK)
    board.goto("/console")
    board.wait_for_selector("body[data-loaded]")
    assert board.locator("#f-state").input_value() == "open"
    ids = board.locator("#queue-body tr[data-id]").evaluate_all("rs => rs.map(r => +r.dataset.id)")
    assert to_board in ids and old in ids and done not in ids
    old_date = board.locator(f"#queue-body tr[data-id='{old}'] td.when time").first.inner_text()
    assert re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d", old_date)  # not this year: with the year

    def reloaded(action: Any) -> list[int]:
        before = board.locator("body").get_attribute("data-loaded")
        action()
        board.wait_for_selector(f"body:not([data-loaded='{before}'])")
        return list(board.locator("#queue-body tr[data-id]").evaluate_all("rs => rs.map(r => +r.dataset.id)"))

    ids = reloaded(lambda: board.locator("#f-mine").check())
    assert "mine=true" in board.url and ids == [to_board]  # the board's own task only
    reloaded(lambda: board.locator("#f-mine").uncheck())
    ids = reloaded(lambda: board.locator("#f-state").select_option("all"))
    assert done in ids
    # oldest first by the real instant (2 years ago before today)
    ids = reloaded(lambda: board.get_by_role("button", name="上报时间").click())
    assert "sort=reported_at" in board.url
    assert board.locator("#th-reported_at").get_attribute("aria-sort") == "ascending"
    assert ids.index(old) < ids.index(done)
    # a new report appears highlighted (newest first again)
    board.get_by_role("button", name="上报时间").click()
    board.wait_for_selector("#th-reported_at[aria-sort='descending']")
    new = make_event(live, "新事件高亮(测试生成)")
    board.wait_for_selector(f"#queue-body tr.fresh[data-id='{new}']", timeout=5000)
    assert "新" in board.locator(f"#queue-body tr[data-id='{new}'] .tag.new").inner_text()


def test_another_towns_event_is_a_chinese_404_without_empty_sections(
    browser: Any, live_server: Live, console: Console
) -> None:
    eid = make_event(live_server, "本镇街事件(测试生成)")
    other = sign_in(browser, live_server, console, "other_worker", viewport=DESK)
    response = other.goto(f"/console/events/{eid}")
    assert response is not None and response.status == 404
    assert other.locator("#ev-missing").inner_text().endswith(f"事件 #{eid} 不存在或不在您的管辖范围。")
    assert other.locator("h2").count() == 0 and "event" not in other.locator("main").inner_text()
    # the browser logs the 404 of the page itself; nothing else
    console.errors[:] = [e for e in console.errors if "404" not in e]


def test_handling_with_the_after_photo_checking_side_by_side_and_no_upload_once_closed(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    live = live_server
    eid = make_event(live, "前后对照(测试生成)", ("accept", "register", "dispatch"))
    with session_factory(live.engine)() as s:
        events.add_attachment(
            s, user_actor(s, live.users["grid_worker"]), eid, "before", "前.png", "image/png", PNG
        )
        s.commit()
    move(live, eid, "board_staff", "sign")
    board = sign_in(browser, live, console, "board_staff", viewport=DESK)
    open_event(board, eid)
    board.get_by_role("button", name="处置反馈", exact=True).click()
    photo = board.get_by_label("处置后照片（建议上传，供核查对照）")
    assert "可不上传" in board.locator("#f-photo-hint").inner_text()
    photo.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"GENERATED"})
    board.locator("#f-comment").fill("已清运")
    board.locator("#f-submit").click()
    board.locator("#f-status.error").filter(has_text="只能上传 JPEG、PNG 或 WebP 图片").wait_for()
    assert board.locator("#ev-node").get_attribute("data-node") == "signed"  # nothing happened
    photo.set_input_files({"name": "后.png", "mimeType": "image/png", "buffer": PNG})
    board.locator("#f-submit").click()
    board.wait_for_selector("#ev-node[data-node='handled']")
    assert board.locator("#act-status").inner_text() == "已处置反馈"
    steps = board.locator("#ev-timeline tr").evaluate_all("rs => rs.map(r => r.dataset.action)")
    assert steps[-2:] == ["attach", "handle"]

    duty = sign_in(browser, live, console, "town_duty", viewport=DESK)
    open_event(duty, eid)
    duty.get_by_role("button", name="核查通过", exact=True).click()
    before = duty.locator("#f-compare [data-kind='before'] img")
    after = duty.locator("#f-compare [data-kind='after'] img")
    assert before.count() == 1 and after.count() == 1
    b, a = before.bounding_box(), after.bounding_box()
    assert b is not None and a is not None and abs(b["y"] - a["y"]) < 2 and a["x"] > b["x"]  # side by side
    duty.screenshot(path=str(artifacts / "console-verify-compare.png"), full_page=True)
    duty.locator("#f-submit").click()
    duty.wait_for_selector("#ev-node[data-node='verified']")
    duty.get_by_role("button", name="结案", exact=True).click()
    duty.locator("#f-submit").click()
    duty.wait_for_selector("#ev-node[data-node='closed']")
    assert duty.locator("#ev-upload").is_hidden()
    assert duty.locator("#up-closed").inner_text().startswith("事件已办结，不能再上传附件")
