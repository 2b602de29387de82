"""The pre-plan tasks (联动任务) on the event page in a real browser (Debian's chromium through
Playwright): a town duty officer whose town center holds a fire team's task on another town's 森林火情
event sees the event only through that task. The page lists every task (text, unit, deadline, status,
an open task past its deadline marked 已超时), offers 完成 on its own task only and no move on the loop;
completing it with a comment turns the row to 已完成, which the API confirms. On the phone the grid
worker of the event's grid sees the same section with 完成 on its own task. Screenshots go to
test-artifacts/web/; no page may log a console error.

Data put into the test server's own database through the public API, as a user would:

- a GENERATED 森林火情 (2206) report at 105.95E 29.30N, a point of another town than the officer's
  (the conftest's ``other_grid``);
- a CONSTRUCTED fire team of the officer's town (owner 500118001000 → its town center), 0.003° (about
  330 m) north of the report, so the one-click response (一键启动预案) gives it the team task; deleted at
  the end. The remaining open tasks are completed by the district center at the end.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import TOWN, Console, Live, sign_in
from tests.web.test_fire_page import signed_in
from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.event.models import EventTask

pytestmark = pytest.mark.slow

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}
FIRE = (105.95, 29.30)  # the conftest's point of another town (other_grid)


def test_a_tasked_town_center_completes_its_task_on_the_event_page(
    browser: Any, live_server: Live, console: Console, artifacts: Path
) -> None:
    live = live_server
    with httpx.Client(base_url=live.url, timeout=30) as api:
        csrf = signed_in(api, live.users["center_duty"])
        team = {  # CONSTRUCTED: a made-up team of the officer's town, next to the report
            "kind": "team", "name": "测试中山路半专业扑火队(构造)", "owner": TOWN,
            "attrs": {"type": "semi_professional", "people": 12}, "lon": FIRE[0], "lat": FIRE[1] + 0.003,
        }  # fmt: skip
        added = api.post("/api/v1/fire/resources", json=team, headers=csrf)
        assert added.status_code == 201, added.text
        eid = None
        try:
            report = {"category_code": "2206", "title": "林下冒烟(测试生成)", "lon": FIRE[0], "lat": FIRE[1]}
            made = api.post("/api/v1/events", json=report, headers=csrf)
            assert made.status_code == 201, made.text
            eid = made.json()["id"]
            assert made.json()["town_code"] != TOWN and made.json()["grid_code"] == live.other_grid
            answer = api.post(f"/api/v1/fire/events/{eid}/respond", headers=csrf)
            assert answer.status_code == 200, answer.text
            run_the_page(browser, live, console, artifacts, api, eid, answer.json())
        finally:
            gone = api.delete(f"/api/v1/fire/resources/{added.json()['id']}", headers=csrf)
            assert gone.status_code == 204, gone.text
            if eid is not None:  # no open task left behind for the other page tests
                for t in api.get(f"/api/v1/events/{eid}").json()["tasks"]:
                    if t["status"] == "open":
                        done = api.post(f"/api/v1/tasks/{t['id']}/done", headers=csrf)
                        assert done.status_code == 200, done.text


def run_the_page(
    browser: Any,
    live: Live,
    console: Console,
    artifacts: Path,
    api: httpx.Client,
    eid: int,
    resp: dict[str, Any],
) -> None:
    center = f"{TOWN}-ZHZX"
    mine = resp["team_task_id"]
    tasks = {t["id"]: t for t in resp["tasks"]}
    assert tasks[mine]["unit_code"] == center, resp
    grid_task = next(t["id"] for t in resp["tasks"] if t["unit_code"] == live.other_grid)
    # one other unit's task already past its deadline (moved back in the test database): 已超时
    late = next(i for i, t in tasks.items() if t["unit_code"].endswith("-LYJ"))
    with session_factory(live.engine)() as s:
        row = s.get(EventTask, late)
        assert row is not None
        row.deadline = ztime.utcnow() - timedelta(minutes=5)
        s.commit()

    duty = sign_in(browser, live, console, "town_duty", viewport=DESK)
    duty.goto(f"/console/events/{eid}")
    duty.wait_for_selector("body[data-version]")
    section = duty.locator("#ev-tasks-section")
    assert section.is_visible()
    assert section.get_by_role("heading", name="联动任务").is_visible()
    headers = section.locator("th").all_inner_texts()
    assert headers == ["任务", "承担单位", "完成时限", "状态", "操作"], headers
    rows = section.locator("#ev-tasks tr")
    assert rows.count() == len(tasks)
    # the officer's own task: 完成; every other unit's: none
    own = section.locator(f"#ev-tasks tr[data-id='{mine}']")
    assert "扑火队出动" in own.inner_text() and "待完成" in own.inner_text()
    assert "中山路" in own.locator("td").nth(1).inner_text()  # the unit's name, not its code
    assert own.get_by_role("button", name="完成", exact=True).count() == 1
    for i in tasks:
        if i != mine:
            assert section.locator(f"#ev-tasks tr[data-id='{i}'] button").count() == 0, i
    overdue = section.locator(f"#ev-tasks tr[data-id='{late}']")
    assert overdue.get_attribute("data-late") == "true" and "已超时" in overdue.inner_text()
    assert own.get_attribute("data-late") == "false"
    # seen only through the task: no move on the loop
    assert duty.locator("#ev-actions button").count() == 0
    assert "没有可办理的操作" in duty.locator("#ev-actions").inner_text()

    # 完成 → a small form (optional comment) → the row turns 已完成, said in the status line
    own.get_by_role("button", name="完成", exact=True).click()
    form = duty.locator("#task-form")
    assert form.is_visible()
    duty.get_by_label("完成情况说明（选填）").fill("扑火队已出发(测试生成)")
    with duty.expect_response(lambda r: f"/api/v1/tasks/{mine}/done" in r.url) as done:
        form.get_by_role("button", name="确认完成").click()
    assert done.value.status == 200, done.value.text()
    duty.wait_for_selector("#task-status.ok")
    assert duty.locator("#task-status").inner_text().startswith("已完成任务：扑火队出动")
    own = section.locator(f"#ev-tasks tr[data-id='{mine}']")
    assert own.get_attribute("data-status") == "done"
    assert "已完成" in own.inner_text() and own.locator("button").count() == 0
    assert duty.locator("#task-form").count() == 0
    assert duty.locator("#ev-actions button").count() == 0
    duty.screenshot(path=str(artifacts / "event-tasks-done.png"), full_page=True)

    # the API agrees: done, with its time and the comment
    after = {t["id"]: t for t in api.get(f"/api/v1/events/{eid}").json()["tasks"]}
    assert after[mine]["status"] == "done" and after[mine]["done_at"], after[mine]
    assert after[mine]["comment"] == "扑火队已出发(测试生成)"
    # the page, reloaded after the move, shows the comment on the row
    done_row = section.locator(f"#ev-tasks tr[data-id='{mine}']").inner_text()
    assert "扑火队已出发(测试生成)" in done_row
    assert after[mine]["done_by"] and after[mine]["done_by"] in done_row  # who did it, on the row
    assert all(after[i]["status"] == "open" for i in tasks if i != mine)

    # the phone: the grid worker of the event's grid, 完成 on its own task
    phone = sign_in(browser, live, console, "other_worker", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"/m/events/{eid}")
    phone.wait_for_selector("body[data-version]")
    msection = phone.locator("#ev-tasks-section")
    assert msection.is_visible()
    grid_row = msection.locator(f"#ev-tasks tr[data-id='{grid_task}']")
    grid_row.get_by_role("button", name="完成", exact=True).click()
    assert phone.locator("#task-form").is_visible()
    assert phone.evaluate("document.activeElement.id") == "tf-comment"
    phone.screenshot(path=str(artifacts / "event-tasks-phone-form.png"), full_page=True)
    phone.locator("#task-form").get_by_role("button", name="取消").click()  # nothing sent
    assert phone.locator("#task-form").count() == 0
    assert grid_row.get_attribute("data-status") == "open"
    assert msection.locator(f"#ev-tasks tr[data-id='{mine}'] button").count() == 0
    assert "已完成" in msection.locator(f"#ev-tasks tr[data-id='{mine}']").inner_text()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # no sideways scrolling
    phone.screenshot(path=str(artifacts / "event-tasks-phone.png"), full_page=True)
