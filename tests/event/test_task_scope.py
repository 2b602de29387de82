"""A unit tasked on another town's event (联动任务 outside its own town).

The fire pre-plan gives the nearest fire team's task to the unit owning the team, which can be the
center (镇街指挥中心) of another town: a user trial found that town's duty officer got "event N not
found" and "task N not found". Now a town or grid unit sees what a pre-plan tasked it with: it reads
the event, adds notes and photos, finds its open tasks (我的待办, GET /api/v1/tasks) and completes its
task; it makes no move on the loop (403 ``event.task_only``: it sees the event anyway) and is offered
none. A town with no task still gets 404 everywhere (existence does not leak).

The event sits in 中山路街道 (500118001000); the tasked town is 胜利路街道 (500118002000), the untasked
one 松溉镇 (500118107000).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.core.errors import Forbidden
from zhizhi.event import service
from zhizhi.event.models import EventStep, EventTask
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org.models import OrgUnit

LON, LAT = 105.898213, 29.352365  # 中山路社区, town 500118001000
HOME, TASKED, OTHER = "500118001000", "500118002000", "500118107000"
DUTY = as_user("500118.duty")
HOME_DUTY, TASKED_DUTY, OTHER_DUTY = (as_user(f"{t}.duty") for t in (HOME, TASKED, OTHER))
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f00f0004850180"
    "84a9c3210000000049454e44ae426082"
)


def _add_task(engine: Engine, event_id: int, unit: str, text: str = "扑火队出动") -> int:
    """A task for ``unit`` on event ``event_id``, written as the fire response writes the team's task."""
    with session_factory(engine)() as s:
        now = ztime.utcnow()
        t = EventTask(
            event_id=event_id, unit_code=unit, role="town_duty", task=text, status="open",
            created_at=now, deadline=now, comment="",
        )  # fmt: skip
        s.add(t)
        s.commit()
        return t.id


def _event(client: TestClient, **body: Any) -> dict[str, Any]:
    payload = {"category_code": "0101", "title": "中山路的事件", "lon": LON, "lat": LAT, **body}
    r = client.post("/api/v1/events", json=payload, headers=DUTY)
    assert r.status_code == 201, r.text
    assert r.json()["town_code"] == HOME
    return dict(r.json())


def _state(client: TestClient, eid: int) -> tuple[str, int, int]:
    d = client.get(f"/api/v1/events/{eid}", headers=DUTY).json()
    moves = [s for s in d["timeline"] if s["action"] not in ("note", "attach", "task_done")]
    return d["node"], d["version"], len(moves)


def test_a_tasked_town_center_reads_lists_and_completes_but_does_not_move(
    client: TestClient, engine: Engine
) -> None:
    ev = _event(client)
    eid = ev["id"]
    tid = _add_task(engine, eid, f"{TASKED}-ZHZX")
    home_tid = _add_task(engine, eid, f"{HOME}-ZHZX", "组织转移群众")
    # it reads the event, with no move offered, and may complete only its own task
    r = client.get(f"/api/v1/events/{eid}", headers=TASKED_DUTY)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["allowed_actions"] == [] and d["action_labels"] == {}
    assert {t["id"]: t["can_complete"] for t in d["tasks"]} == {tid: True, home_tid: False}
    # the home town's officer still has its moves and may complete its town's task, not the other's
    home = client.get(f"/api/v1/events/{eid}", headers=HOME_DUTY).json()
    assert "accept" in home["allowed_actions"]
    assert {t["id"]: t["can_complete"] for t in home["tasks"]} == {tid: False, home_tid: True}
    # it finds the event in its 我的待办 and the task in its task list
    mine = client.get("/api/v1/events", params={"mine": True}, headers=TASKED_DUTY).json()
    assert eid in [e["id"] for e in mine["items"]]
    assert eid in [e["id"] for e in client.get("/api/v1/events", headers=TASKED_DUTY).json()["items"]]
    tasks = client.get("/api/v1/tasks", headers=TASKED_DUTY).json()
    assert tasks["total"] == 1 and [(t["id"], t["event_id"]) for t in tasks["items"]] == [(tid, eid)]
    item = tasks["items"][0]
    assert (item["status"], item["can_complete"], item["event_town_code"], item["event_node"]) == (
        "open", True, HOME, "reported",
    )  # fmt: skip
    # no move on the loop: 403 naming why (it sees the event anyway), nothing changes
    before = _state(client, eid)
    for body in (
        {"action": "accept"},
        {"action": "reject", "comment": "重复"},
        {"action": "register"},
        {"action": "dispatch", "unit_code": f"{TASKED}-ZHZX"},
        {"action": "close"},
        {"action": "escalate", "comment": "x"},
        {"action": "remind"},
    ):
        r = client.post(f"/api/v1/events/{eid}/transitions", json=body, headers=TASKED_DUTY)
        assert r.status_code == 403 and r.json()["code"] == "event.task_only", (body, r.text)
    other = _event(client, title="另一事件")
    for url in (
        f"/api/v1/events/{eid}/merge?parent_id={other['id']}",
        f"/api/v1/events/{other['id']}/merge?parent_id={eid}",
        f"/api/v1/events/{eid}/preplans/waterlogging",
    ):
        r = client.post(url, headers=TASKED_DUTY)
        assert r.status_code in (403, 404), (url, r.text)
        assert r.status_code == 404 or r.json()["code"] == "event.task_only", (url, r.text)
    assert _state(client, eid) == before
    # a photo is fine (the detail page offers it to viewers)
    r = client.post(
        f"/api/v1/events/{eid}/attachments", files={"file": ("p.png", PNG, "image/png")},
        headers=TASKED_DUTY,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    # its task: done
    r = client.post(f"/api/v1/tasks/{tid}/done", params={"comment": "已出动"}, headers=TASKED_DUTY)
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    assert client.post(f"/api/v1/tasks/{home_tid}/done", headers=TASKED_DUTY).status_code == 403
    assert client.get("/api/v1/tasks", headers=TASKED_DUTY).json()["total"] == 0
    done = client.get("/api/v1/tasks", params={"status": "done"}, headers=TASKED_DUTY).json()
    assert [(t["id"], t["comment"], t["can_complete"]) for t in done["items"]] == [(tid, "已出动", False)]
    mine = client.get("/api/v1/events", params={"mine": True}, headers=TASKED_DUTY).json()
    assert eid not in [e["id"] for e in mine["items"]]  # nothing left to do there
    assert client.get(f"/api/v1/events/{eid}", headers=TASKED_DUTY).status_code == 200  # still readable
    assert _state(client, eid) == before


def test_an_untasked_town_gets_404_everywhere(client: TestClient, engine: Engine) -> None:
    ev = _event(client, title="外镇事件")
    eid = ev["id"]
    tid = _add_task(engine, eid, f"{TASKED}-ZHZX")
    r = client.get(f"/api/v1/events/{eid}", headers=OTHER_DUTY)
    assert r.status_code == 404 and r.json()["detail"] == f"event {eid} not found"
    r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": "accept"}, headers=OTHER_DUTY)
    assert r.status_code == 404 and r.json()["detail"] == f"event {eid} not found"
    r = client.post(f"/api/v1/tasks/{tid}/done", headers=OTHER_DUTY)
    assert r.status_code == 404 and r.json()["detail"] == f"task {tid} not found"
    for status in ("open", "done", "closed", ""):
        got = client.get("/api/v1/tasks", params={"status": status}, headers=OTHER_DUTY).json()
        assert got["total"] == 0 and got["items"] == []
    mine = client.get("/api/v1/events", params={"mine": True}, headers=OTHER_DUTY).json()
    assert eid not in [e["id"] for e in mine["items"]]
    assert eid not in [e["id"] for e in client.get("/api/v1/events", headers=OTHER_DUTY).json()["items"]]


def test_the_task_list_for_the_district_center_and_bad_input(client: TestClient, engine: Engine) -> None:
    ev = _event(client)
    tid = _add_task(engine, ev["id"], f"{TASKED}-ZHZX")
    got = client.get("/api/v1/tasks", params={"limit": 500}, headers=DUTY).json()  # event.task_any
    assert tid in [t["id"] for t in got["items"]] and got["total"] >= 1
    assert all(t["can_complete"] for t in got["items"] if t["status"] == "open")
    r = client.get("/api/v1/tasks", params={"status": "nope"}, headers=DUTY)
    assert r.status_code == 422 and 'unknown status "nope"' in r.json()["detail"]
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert client.get("/api/v1/tasks", params=bad, headers=DUTY).status_code == 422


def test_a_tasked_grid_worker_of_another_grid_reads_and_completes_but_does_not_move(
    session: Session,
) -> None:
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0101", title="测试", lon=LON, lat=LAT)
    )
    grid = session.scalar(
        select(OrgUnit.code)
        .where(OrgUnit.town_code == TASKED, OrgUnit.level == "grid")
        .order_by(OrgUnit.code)
    )
    assert grid is not None and grid != ev.grid_code
    now = ztime.utcnow()
    task = EventTask(
        event_id=ev.id, unit_code=grid, role="grid_worker", task="协助", status="open", created_at=now,
        deadline=now, comment="",
    )  # fmt: skip
    session.add(task)
    session.flush()
    worker = user_actor(session, f"{grid}.worker")
    d = service.detail(session, worker, service.get_event(session, worker, ev.id))
    assert d.allowed_actions == [] and [t["can_complete"] for t in d.tasks] == [True]
    assert service.add_note(session, worker, ev.id, "已到场协助").comment == "已到场协助"  # a note is fine
    for action in ("accept", "reject", "verify_pass", "sign", "handle"):
        with pytest.raises(Forbidden) as e:
            service.transition(session, worker, ev.id, TransitionIn(action=action, comment="x"))
        assert e.value.code == "event.task_only", action
    total, items = service.list_tasks(session, worker)
    assert total == 1 and [i.id for i in items] == [task.id]
    assert service.complete_task(session, worker, task.id, "完成").status == "done"
    moves = session.scalars(select(EventStep.action).where(EventStep.event_id == ev.id)).all()
    assert list(moves) == ["report", "note", "task_done"]  # a completed task is recorded, moves nothing


def test_a_department_keeps_its_tasked_events_as_before(session: Session) -> None:
    """A department sees and acts on what it is tasked with as it did (its scope always held them)."""
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    tasks = service.start_preplan(session, duty, ev.id, "waterlogging")
    cgj = user_actor(session, "500118-CGJ.handler")
    assert service.get_event(session, cgj, ev.id, own_reports=False, own_tasks=False).id == ev.id
    t = next(t for t in tasks if t.unit_code == "500118-CGJ")
    assert service.complete_task(session, cgj, t.id).status == "done"
